/**
 * h's affine prefix (onnx/affine.ts) and the reconstruction pushed through it
 * (withReconstruction `through`): the same logits as the M full reconstructions through h.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { parseModel, type OnnxModel } from '../../src/craft/onnx/model';
import { DataType } from '../../src/craft/onnx/fields';
import type { NodeSpec, TensorSpec } from '../../src/craft/onnx/editor';
import { extractSubgraph } from '../../src/craft/onnx/subgraph';
import { buildModel, withReconstruction } from '../../src/craft/onnx/build';
import { affinePrefix } from '../../src/craft/onnx/affine';
import { ModelEditor } from '../../src/craft/onnx/editor';
import { SessionFactory } from '../../src/craft/onnx/sessions';
import { perturbedLogits } from '../../src/craft/onnx/perturbed';
import { fromFlat } from '../../src/craft/math/matrix';
import { maxAbs, maxAbsDiff, randomArray } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const FULL = path.join(ROOT, 'sample/model/fmnist_cnn.onnx');
const LAYER = '/g/MaxPool_1_output_0';

const session = (m: OnnxModel) => ort.InferenceSession.create(m.bytes, { logSeverityLevel: 3 });
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const floats = (name: string, dims: number[], seed: number): TensorSpec => ({
  name,
  dataType: DataType.FLOAT,
  dims,
  values: randomArray(
    dims.reduce((a, b) => a * b, 1),
    seed,
  ).map((v) => v - 0.5),
});

/** A small NCHW head on a (batch, 4, 3, 3) input: the given nodes, reading `x`, writing `y`. */
function head(nodes: NodeSpec[], initializers: TensorSpec[], outputs = ['y'], extraInputs: string[] = []): OnnxModel {
  return buildModel({
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['n', 4, 3, 3] }, ...extraInputs.map((name) => ({ name, elemType: DataType.FLOAT }))],
    outputs: outputs.map((name) => ({ name, elemType: DataType.FLOAT })),
    initializers,
    nodes,
  });
}

const convW = floats('cw', [5, 4, 3, 3], 1);
const convB = floats('cb', [5], 2);
const gemmW = floats('gw', [3, 5], 3);
const gemmB = floats('gb', [3], 4);

test('affinePrefix: the chain of affine nodes at the start of h, and where it stops', () => {
  const h = extractSubgraph(parseModel(new Uint8Array(fs.readFileSync(FULL))), [LAYER], ['logits']);
  const fm = affinePrefix(h);
  assert.deepEqual(
    fm?.nodes.map((n) => n.opType),
    ['Conv'],
    'the sample h: Conv, then Relu stops it',
  );
  assert.equal(fm?.output, h.nodes[0].outputs[0]);

  // A whole classifier head that is affine (GlobalAveragePool → Flatten → Gemm, as MobileNetV2's).
  const linearHead = head(
    [
      { opType: 'GlobalAveragePool', inputs: ['x'], outputs: ['gap'] },
      { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
      { opType: 'Gemm', inputs: ['flat', 'gw', 'gb'], outputs: ['y'], attributes: [{ name: 'transB', int: 1 }] },
    ],
    [floats('gw', [3, 4], 3), gemmB],
  );
  assert.deepEqual(affinePrefix(linearHead), { nodes: linearHead.nodes, output: 'y' });

  // A Constant node's output counts as a constant; BatchNormalization in inference form is affine.
  const withConstant = head(
    [
      {
        opType: 'Constant',
        inputs: [],
        outputs: ['two'],
        attributes: [{ name: 'value', tensor: { name: 'v', dataType: DataType.FLOAT, dims: [], values: [2] } }],
      },
      { opType: 'Mul', inputs: ['two', 'x'], outputs: ['a'] },
      { opType: 'BatchNormalization', inputs: ['a', 's', 'b', 'mu', 'var'], outputs: ['bn'] },
      { opType: 'Relu', inputs: ['bn'], outputs: ['y'] },
    ],
    ['s', 'b', 'mu', 'var'].map((name, i) => floats(name, [4], 10 + i)).map((t) => (t.name === 'var' ? { ...t, values: [1, 2, 3, 4] } : t)),
  );
  assert.deepEqual(
    affinePrefix(withConstant)?.nodes.map((n) => n.opType),
    ['Mul', 'BatchNormalization'],
  );

  // Not affine in x: a non-linear first node, x as a denominator, weights that are not constants,
  // training-mode batch norm.
  assert.equal(affinePrefix(head([{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }], [])), null);
  assert.equal(affinePrefix(head([{ opType: 'Div', inputs: ['cb', 'x'], outputs: ['y'] }], [convB])), null);
  assert.equal(affinePrefix(head([{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }], [], ['y'], ['w'])), null);
  assert.equal(
    affinePrefix(
      head(
        [{ opType: 'BatchNormalization', inputs: ['x', 's', 'b', 'mu', 'var'], outputs: ['y'], attributes: [{ name: 'training_mode', int: 1 }] }],
        ['s', 'b', 'mu', 'var'].map((name, i) => floats(name, [4], 10 + i)),
      ),
    ),
    null,
  );
  // x · x is quadratic.
  assert.equal(affinePrefix(head([{ opType: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }], [])), null);

  // The chain stops at a tensor read twice (a skip connection) and at a graph output.
  const fanOut = head(
    [
      { opType: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attributes: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
      { opType: 'Mul', inputs: ['c', 'cb2'], outputs: ['m'] },
      { opType: 'Add', inputs: ['c', 'm'], outputs: ['y'] },
    ],
    [convW, convB, { name: 'cb2', dataType: DataType.FLOAT, dims: [5, 1, 1], values: [1, 2, 3, 4, 5] }],
  );
  assert.deepEqual(affinePrefix(fanOut), { nodes: [fanOut.nodes[0]], output: 'c' });
  const exposed = head(
    [
      { opType: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'] },
      { opType: 'Relu', inputs: ['c'], outputs: ['y'] },
    ],
    [convW, convB],
    ['c', 'y'],
  );
  assert.deepEqual(affinePrefix(exposed)?.output, 'c');
});

/** Logits of h on the M full reconstructions (the plain withReconstruction) and through its affine prefix. */
async function bothWays(
  h: OnnxModel,
  W: Float32Array,
  r: number,
  p: number,
  spatial: { height: number; width: number } | null,
  U: Float32Array,
  masks: Float32Array,
) {
  const M = masks.length / r;
  const prefix = affinePrefix(h);
  assert.ok(prefix, 'h has an affine prefix');
  const plain = withReconstruction(h, { W: { data: W, rows: r, cols: p }, spatial });
  const through = withReconstruction(h, { W: { data: W, rows: r, cols: p }, spatial, through: prefix.output });
  const coeffDims = spatial ? [1, spatial.height, spatial.width, r] : [1, r];
  const feeds = { coeffs: f32(U, coeffDims), masks: f32(masks, [M, r]) };
  const out = h.outputs[0].name;
  const a = (await (await session(plain)).run(feeds))[out];
  const b = (await (await session(through)).run(feeds))[out];
  assert.deepEqual(b.dims, a.dims);
  return { plain: a.data as Float32Array, through: b.data as Float32Array };
}

test('reconstruction through the affine prefix gives the logits of the full reconstructions', async (t) => {
  // The sample's h (Conv | Relu → ReduceMean → Gemm), r = 4, masks with sums from 0 to 4.
  const h = extractSubgraph(parseModel(new Uint8Array(fs.readFileSync(FULL))), [LAYER], ['logits']);
  const r = 4,
    p = 64;
  const masks = Float32Array.from([...randomArray(9 * r, 7), 0, 0, 0, 0, 1, 1, 1, 1]);
  const sample = await bothWays(
    h,
    randomArray(r * p, 5),
    r,
    p,
    { height: 7, width: 7 },
    randomArray(49 * r, 6).map((v) => 3 * v),
    masks,
  );
  const d = maxAbsDiff(sample.through, sample.plain);
  t.diagnostic(`sample h: max |Δ logit| ${d} (logits up to ${maxAbs(sample.plain).toFixed(2)})`);
  assert.ok(d <= 1e-5 * Math.max(1, maxAbs(sample.plain)), `max diff ${d}`);
  assert.ok(maxAbs(sample.plain) > 0.1, 'the logits are not trivially zero');

  // A wholly affine head: the mixing produces the logits themselves.
  const linearHead = head(
    [
      { opType: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attributes: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
      { opType: 'GlobalAveragePool', inputs: ['c'], outputs: ['gap'] },
      { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
      { opType: 'Gemm', inputs: ['flat', 'gw', 'gb'], outputs: ['y'], attributes: [{ name: 'transB', int: 1 }] },
    ],
    [convW, convB, gemmW, gemmB],
  );
  const lin = await bothWays(linearHead, randomArray(3 * 4, 8), 3, 4, { height: 3, width: 3 }, randomArray(9 * 3, 9), randomArray(5 * 3, 10));
  assert.ok(maxAbsDiff(lin.through, lin.plain) <= 1e-5 * Math.max(1, maxAbs(lin.plain)));

  // Vector activations (N, p): MatMul + bias, then a non-linearity.
  const vectorHead = buildModel({
    inputs: [{ name: 'feat', elemType: DataType.FLOAT, shape: ['batch', 4] }],
    outputs: [{ name: 'score', elemType: DataType.FLOAT }],
    initializers: [floats('wh', [4, 2], 11), floats('bh', [2], 12)],
    nodes: [
      { opType: 'MatMul', inputs: ['feat', 'wh'], outputs: ['z'] },
      { opType: 'Add', inputs: ['z', 'bh'], outputs: ['zb'] },
      { opType: 'Sigmoid', inputs: ['zb'], outputs: ['score'] },
    ],
  });
  const vec = await bothWays(vectorHead, randomArray(2 * 4, 13), 2, 4, null, Float32Array.from([0.5, 2]), randomArray(6 * 2, 14));
  assert.ok(maxAbsDiff(vec.through, vec.plain) <= 1e-6, `vector: ${maxAbsDiff(vec.through, vec.plain)}`);
});

test('perturbedLogits: uses the affine start when it agrees, falls back to the full reconstruction when it cannot run', async () => {
  const factory = await SessionFactory.open('cpu');
  const h = extractSubgraph(parseModel(new Uint8Array(fs.readFileSync(FULL))), [LAYER], ['logits']);
  const r = 3,
    p = 64;
  const W = fromFlat(Float64Array.from(randomArray(r * p, 21)), r, p);
  const coefficients = randomArray(49 * r, 22);
  const masks = randomArray(10 * r, 23);
  const setup = (model: OnnxModel, lines: string[]) => ({
    h: model,
    W,
    spatial: [7, 7] as [number, number],
    layout: 'NCHW' as const,
    classes: 10,
    batch: 5,
    designRows: 10,
    capBlock: (requested: number) => requested,
    probe: { coefficients, masks },
    factory,
    log: (l: string) => lines.push(l),
  });
  const lines: string[] = [];
  const used = await perturbedLogits(setup(h, lines));
  assert.equal(used.through, '/h/c5/Conv_output_0');
  assert.equal(used.logits.maxBlock, 10, 'the whole design in one call once the mixed tensor is small');
  assert.match(lines.join('\n'), /affine start \(Conv\)/);
  const fast = await used.logits.run(coefficients, masks, 10);

  // The same h with a Reshape to a fixed batch of 5 after the Conv: it runs on blocks of 5 masks, but
  // not on the r + 1 = 4 maps the affine start would feed it.
  const ed = new ModelEditor(h);
  ed.addInitializer({ name: 'fixed_shape', dataType: DataType.INT64, dims: [4], values: [5, 128, 7, 7] });
  ed.renameNodeOutput('/h/c5/Conv_output_0', 'conv_raw');
  ed.addNode({ opType: 'Reshape', inputs: ['conv_raw', 'fixed_shape'], outputs: ['/h/c5/Conv_output_0'] }, { after: 'conv_raw' });
  const fixed = ed.toModel();
  const fellBack: string[] = [];
  const plain = await perturbedLogits(setup(fixed, fellBack));
  assert.equal(plain.through, undefined);
  assert.equal(plain.logits.maxBlock, 5);
  assert.match(fellBack.join('\n'), /full reconstruction goes through h/);
  const slow: number[] = [];
  for (let start = 0; start < 10; start += 5) slow.push(...(await plain.logits.run(coefficients, masks.subarray(start * r, (start + 5) * r), 5)));
  assert.ok(maxAbsDiff(fast, slow) <= 1e-5 * Math.max(1, maxAbs(slow)), `through vs plain: ${maxAbsDiff(fast, slow)}`);
  for (const s of [...used.sessions, ...plain.sessions]) await s.release();
});

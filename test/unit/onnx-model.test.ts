import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { OnnxModel, OnnxModelError, opsetVersion, parseModel, readInitializer, serializeModel } from '../../src/craft/onnx/model';
import { DataType } from '../../src/craft/onnx/fields';
import { ModelEditor } from '../../src/craft/onnx/editor';
import { NotACleanCutError, extractSubgraph, isCleanCut, withOutputs } from '../../src/craft/onnx/subgraph';
import { buildMatMulModel, buildModel, withInputResize, withReconstruction, withSpatialMean } from '../../src/craft/onnx/build';
import { encodeMessage, messageField, stringField, varintField, floatField, lenField } from '../../src/craft/onnx/protobuf';
import { maxAbs, maxAbsDiff, randomArray, rng } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const FULL = path.join(ROOT, 'sample/model/fmnist_cnn.onnx');
const G_FIXTURE = path.join(ROOT, 'test/fixtures/fashion-mnist/fmnist_g.onnx');
const H_FIXTURE = path.join(ROOT, 'test/fixtures/fashion-mnist/fmnist_h.onnx');
// A second exporter's file (Python onnx) with metadata_props, value_info and residual blocks.
const CLIPART = path.join(ROOT, 'test/fixtures/clipart-mobilenetv2/clipart_mobilenetv2.onnx');
const LAYER = '/g/MaxPool_1_output_0';

const load = (p: string) => parseModel(new Uint8Array(fs.readFileSync(p)));
const session = (m: OnnxModel) => ort.InferenceSession.create(m.bytes, { logSeverityLevel: 3 });
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

/** The first `n` ankle boots as one NCHW batch: grey 28×28 replicated to 3 channels, /255. */
async function loadImages(n: number): Promise<Float32Array> {
  const dir = path.join(ROOT, 'sample/images/ankle_boot');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .slice(0, n);
  assert.equal(files.length, n);
  const out = new Float32Array(n * 3 * 28 * 28);
  for (let k = 0; k < n; k++) {
    const { data, info } = await sharp(path.join(dir, files[k])).greyscale().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [28, 28, 1]);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 784; i++) out[k * 3 * 784 + c * 784 + i] = data[i] / 255;
  }
  return out;
}

/** torch F.interpolate(bilinear, align_corners=False, antialias=False) of one NCHW batch, in float64. */
function resizeBilinearJs(src: Float32Array, n: number, c: number, inH: number, inW: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(n * c * outH * outW);
  const coord = (dst: number, inSize: number, outSize: number): [number, number, number] => {
    const s = Math.max(0, ((dst + 0.5) * inSize) / outSize - 0.5);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return [i0, i1, s - i0];
  };
  for (let p = 0; p < n * c; p++) {
    const base = p * inH * inW;
    for (let y = 0; y < outH; y++) {
      const [y0, y1, ly] = coord(y, inH, outH);
      for (let x = 0; x < outW; x++) {
        const [x0, x1, lx] = coord(x, inW, outW);
        const top = (1 - lx) * src[base + y0 * inW + x0] + lx * src[base + y0 * inW + x1];
        const bot = (1 - lx) * src[base + y1 * inW + x0] + lx * src[base + y1 * inW + x1];
        out[p * outH * outW + y * outW + x] = (1 - ly) * top + ly * bot;
      }
    }
  }
  return out;
}

/** Square crops of size p at (y, x) from one NCHW image with 3 channels. */
function cropBatch(img: Float32Array, H: number, W: number, p: number, at: [number, number][]): Float32Array {
  const out = new Float32Array(at.length * 3 * p * p);
  at.forEach(([y0, x0], k) => {
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) out[((k * 3 + c) * p + y) * p + x] = img[c * H * W + (y0 + y) * W + x0 + x];
  });
  return out;
}

test('decodes the fixture models: opsets, io, nodes, initializers', () => {
  const m = load(FULL);
  assert.equal(m.irVersion, 7);
  assert.equal(m.producerName, 'pytorch');
  assert.deepEqual(m.opsets, [{ domain: '', version: 13 }]);
  assert.equal(opsetVersion(m), 13);
  assert.deepEqual(m.inputs, [{ name: 'input', elemType: DataType.FLOAT, shape: ['batch', 3, 'height', 'width'] }]);
  assert.deepEqual(m.outputs, [{ name: 'logits', elemType: DataType.FLOAT, shape: ['batch', 10] }]);
  assert.equal(m.nodes.length, 19);
  assert.deepEqual(
    m.nodes.slice(0, 3).map((n) => n.opType),
    ['ReduceMean', 'Constant', 'Sub'],
  );
  const pool = m.nodes.find((n) => n.outputs.includes(LAYER))!;
  assert.equal(pool.opType, 'MaxPool');
  assert.equal(pool.name, '/g/MaxPool_1');
  assert.deepEqual(pool.inputs, ['/g/Relu_3_output_0']);
  assert.deepEqual(pool.attributeNames, ['ceil_mode', 'kernel_shape', 'pads', 'strides']);
  assert.equal(m.nodes[m.nodes.length - 1].opType, 'Gemm');
  assert.equal(m.initializers.length, 12);
  const fc = m.initializers.find((i) => i.name === 'h.fc.weight')!;
  assert.deepEqual([fc.dataType, fc.dims, fc.external], [DataType.FLOAT, [10, 128], false]);
  assert.equal(m.hasExternalData, false);
  assert.deepEqual(m.metadata, []);

  // The same fc bias, read from two independently exported files.
  const bias = readInitializer(m, 'h.fc.bias');
  assert.deepEqual(bias.dims, [10]);
  assert.ok(bias.values instanceof Float32Array);
  const hBias = readInitializer(load(H_FIXTURE), 'fc.bias');
  assert.deepEqual(Array.from(bias.values as Float32Array), Array.from(hBias.values as Float32Array));
  assert.ok(maxAbs(bias.values as Float32Array) > 0);
  assert.throws(() => readInitializer(m, 'nope'), /no initializer named 'nope'/);
});

test('an untouched model re-encodes byte-identical (also through a no-op editor)', () => {
  for (const f of [FULL, G_FIXTURE, H_FIXTURE, CLIPART]) {
    const bytes = new Uint8Array(fs.readFileSync(f));
    const m = parseModel(bytes);
    assert.ok(Buffer.from(serializeModel(m)).equals(Buffer.from(bytes)), `${f}: serializeModel differs`);
    assert.ok(Buffer.from(new ModelEditor(m).toBytes()).equals(Buffer.from(bytes)), `${f}: editor round trip differs`);
  }
});

test('clipart MobileNetV2: metadata, value_info, and a clean split at out_relu', async (t) => {
  const m = load(CLIPART);
  assert.deepEqual(
    m.metadata.find((e) => e.key === 'split_tensor'),
    { key: 'split_tensor', value: 'out_relu' },
  );
  assert.deepEqual(
    m.valueInfo.find((v) => v.name === 'out_relu'),
    { name: 'out_relu', elemType: DataType.FLOAT, shape: ['batch', 1280, 7, 7] },
  );
  assert.deepEqual(m.inputs[0].shape, ['batch', 3, 224, 224]);
  const g = extractSubgraph(m, ['input'], ['out_relu']);
  const h = extractSubgraph(m, ['out_relu'], ['logits']);
  assert.deepEqual(h.inputs, [{ name: 'out_relu', elemType: DataType.FLOAT, shape: ['batch', 1280, 7, 7] }]);
  assert.deepEqual(
    h.nodes.map((n) => n.opType),
    ['GlobalAveragePool', 'Flatten', 'Gemm'],
  );
  assert.equal(g.nodes.length + h.nodes.length, m.nodes.length);
  const x = f32(randomArray(2 * 3 * 224 * 224, 7), [2, 3, 224, 224]);
  const [sf, sg, sh] = await Promise.all([session(m), session(g), session(h)]);
  const a = (await sg.run({ input: x })).out_relu;
  assert.deepEqual(a.dims, [2, 1280, 7, 7]);
  const viaSplit = (await sh.run({ out_relu: a })).logits.data as Float32Array;
  const direct = (await sf.run({ input: x })).logits.data as Float32Array;
  const dClip = maxAbsDiff(viaSplit, direct);
  t.diagnostic(`clipart h(g(x)) vs full model: max abs diff ${dClip}`);
  assert.ok(dClip <= 1e-5);

  // A cut inside a residual block (at the branch, after the block input): the Add still needs the skip.
  const add = m.nodes.find((n) => n.opType === 'Add')!;
  const producerIndex = (name: string) => m.nodes.find((n) => n.outputs.includes(name))!.index;
  const branch = add.inputs.reduce((a, b) => (producerIndex(a) > producerIndex(b) ? a : b));
  assert.throws(
    () => extractSubgraph(m, [branch], ['logits']),
    (e: unknown) => e instanceof NotACleanCutError && /'input' \(a graph input\)/.test(e.message) && e.missing.includes('input'),
  );
  assert.equal(isCleanCut(m, [branch], ['logits']), false);
  assert.equal(isCleanCut(m, ['out_relu'], ['logits']), true);
});

test('split of fmnist_cnn at the pooled feature map equals the exported g and h and the full model', async (t) => {
  const full = load(FULL);
  const g = extractSubgraph(full, ['input'], [LAYER]);
  const h = extractSubgraph(full, [LAYER], ['logits']);
  assert.equal(g.nodes.length, 15);
  assert.equal(h.nodes.length, 4);
  assert.equal(g.initializers.length, 8);
  assert.deepEqual(h.initializers.map((i) => i.name).sort(), ['h.fc.bias', 'h.fc.weight', 'onnx::Conv_75', 'onnx::Conv_76']);
  assert.deepEqual(g.inputs, full.inputs);
  assert.deepEqual(
    g.outputs.map((o) => o.name),
    [LAYER],
  );
  assert.equal(h.inputs[0].name, LAYER);
  assert.equal(h.inputs[0].elemType, DataType.FLOAT);

  const [sFull, sG, sH, sGRef, sHRef] = await Promise.all([full, g, h, load(G_FIXTURE), load(H_FIXTURE)].map(session));
  const images = await loadImages(5);
  for (const n of [1, 5]) {
    const x = f32(images.subarray(0, n * 3 * 784), [n, 3, 28, 28]);
    const a = (await sG.run({ input: x }))[LAYER];
    assert.deepEqual(a.dims, [n, 64, 7, 7]);
    const aRef = (await sGRef.run({ input: x })).activations;
    const dG = maxAbsDiff(a.data as Float32Array, aRef.data as Float32Array);
    assert.ok(dG <= 1e-5, 'g differs from fmnist_g.onnx');
    assert.ok(maxAbs(a.data as Float32Array) > 0.1);
    const logits = (await sH.run({ [LAYER]: a })).logits.data as Float32Array;
    const logitsRef = (await sHRef.run({ activations: a })).logits.data as Float32Array;
    const logitsFull = (await sFull.run({ input: x })).logits.data as Float32Array;
    assert.equal(logits.length, n * 10);
    const dH = maxAbsDiff(logits, logitsRef);
    const dFull = maxAbsDiff(logits, logitsFull);
    t.diagnostic(`batch ${n}: g vs fmnist_g ${dG}, h vs fmnist_h ${dH}, h(g(x)) vs full ${dFull}`);
    assert.ok(dH <= 1e-5, 'h differs from fmnist_h.onnx');
    assert.ok(dFull <= 1e-5, 'h(g(x)) differs from the full model');
    assert.ok(maxAbs(logitsFull) > 1, 'logits are not trivial');
  }
});

test('withOutputs exposes an intermediate tensor equal to the split g output', async () => {
  const full = load(FULL);
  const probe = withOutputs(full, [LAYER, 'logits', '/h/Relu_output_0']);
  assert.deepEqual(
    probe.outputs.map((o) => o.name),
    ['logits', LAYER, '/h/Relu_output_0'],
  );
  assert.equal(probe.nodes.length, full.nodes.length);
  assert.throws(() => withOutputs(full, ['no/such/tensor']), /'no\/such\/tensor'/);
  const g = extractSubgraph(full, ['input'], [LAYER]);
  const x = f32(await loadImages(3), [3, 3, 28, 28]);
  const [sP, sG, sF] = await Promise.all([probe, g, full].map(session));
  const out = await sP.run({ input: x });
  const a = (await sG.run({ input: x }))[LAYER];
  assert.deepEqual(out[LAYER].dims, [3, 64, 7, 7]);
  assert.deepEqual(out['/h/Relu_output_0'].dims, [3, 128, 7, 7]);
  assert.equal(maxAbsDiff(out[LAYER].data as Float32Array, a.data as Float32Array), 0);
  const logits = (await sF.run({ input: x })).logits.data as Float32Array;
  assert.equal(maxAbsDiff(out.logits.data as Float32Array, logits), 0);
});

test('a cut that is not clean throws naming the missing tensor', async () => {
  const full = load(FULL);
  assert.throws(
    () => extractSubgraph(full, [LAYER], ['logits', '/g/Relu_output_0']),
    (e: unknown) => e instanceof NotACleanCutError && e.missing.includes('input') && /'input'/.test(e.message),
  );
  assert.throws(() => extractSubgraph(full, ['nope'], ['logits']), /no tensor named 'nope'/);

  // A skip connection built here: y = sigmoid(relu(x)) + x.
  const skip = buildModel({
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 4] }],
    outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 4] }],
    nodes: [
      { opType: 'Relu', inputs: ['x'], outputs: ['a'] },
      { opType: 'Sigmoid', inputs: ['a'], outputs: ['b'] },
      { opType: 'Add', inputs: ['b', 'x'], outputs: ['y'] },
    ],
  });
  assert.throws(
    () => extractSubgraph(skip, ['a'], ['y']),
    (e: unknown) => e instanceof NotACleanCutError && e.missing.length === 1 && e.missing[0] === 'x' && /'x' \(a graph input\)/.test(e.message),
  );
  assert.equal(isCleanCut(skip, ['a'], ['y']), false);
  assert.equal(isCleanCut(skip, ['a', 'x'], ['y']), true);
  // isCleanCut (used to vet every probed layer) agrees with extractSubgraph at every tensor of the CNN.
  for (const name of full.nodes.flatMap((n) => n.outputs)) {
    let extracts = true;
    try {
      extractSubgraph(full, [name], ['logits', '/g/Relu_output_0']);
    } catch (e) {
      if (!(e instanceof NotACleanCutError)) throw e;
      extracts = false;
    }
    assert.equal(isCleanCut(full, [name], ['logits', '/g/Relu_output_0']), extracts, name);
  }
  // The cut after the Add's inputs are both available is fine, and runs.
  const tail = extractSubgraph(skip, ['a', 'x'], ['y']);
  assert.deepEqual(
    tail.nodes.map((n) => n.opType),
    ['Sigmoid', 'Add'],
  );
  const s = await session(tail);
  const out = (await s.run({ a: f32(Float32Array.from([0, 1, 2, 3]), [1, 4]), x: f32(Float32Array.from([1, 1, 1, 1]), [1, 4]) })).y;
  const want = [0, 1, 2, 3].map((v) => 1 / (1 + Math.exp(-v)) + 1);
  assert.ok(maxAbsDiff(out.data as Float32Array, want) < 1e-6);
});

test('subgraph attributes: outer-scope reads count as dependencies, and renaming reaches into them', async () => {
  // out = If(c) then -relu(x) else relu(x)*2; the branches read 'a' = relu(x) from the outer graph.
  const m = buildModel({
    inputs: [
      { name: 'x', elemType: DataType.FLOAT, shape: [3] },
      { name: 'c', elemType: DataType.BOOL, shape: [] },
    ],
    outputs: [{ name: 'out', elemType: DataType.FLOAT, shape: [3] }],
    initializers: [{ name: 'two', dataType: DataType.FLOAT, dims: [], values: [2] }],
    nodes: [
      { opType: 'Relu', inputs: ['x'], outputs: ['a'] },
      {
        opType: 'If',
        inputs: ['c'],
        outputs: ['out'],
        attributes: [
          {
            name: 'then_branch',
            graph: { inputs: [], outputs: [{ name: 't', elemType: DataType.FLOAT, shape: [3] }], nodes: [{ opType: 'Neg', inputs: ['a'], outputs: ['t'] }] },
          },
          {
            name: 'else_branch',
            graph: {
              inputs: [],
              outputs: [{ name: 'e', elemType: DataType.FLOAT, shape: [3] }],
              nodes: [{ opType: 'Mul', inputs: ['a', 'two'], outputs: ['e'] }],
            },
          },
        ],
      },
    ],
  });
  const ifNode = m.nodes[1];
  assert.deepEqual(ifNode.inputs, ['c']);
  assert.deepEqual([...ifNode.outerInputs].sort(), ['a', 'two']);
  const sub = extractSubgraph(m, ['x', 'c'], ['out']);
  assert.deepEqual(
    sub.nodes.map((n) => n.opType),
    ['Relu', 'If'],
  );
  assert.deepEqual(
    sub.initializers.map((i) => i.name),
    ['two'],
  );
  assert.throws(
    () => extractSubgraph(m, ['c'], ['out']),
    (e: unknown) => e instanceof NotACleanCutError && e.missing.includes('x'),
  );

  const ed = new ModelEditor(sub);
  ed.renameTensor('a', 'renamed_a');
  assert.throws(() => ed.renameTensor('x', 'c'), /already used/);
  const renamed = ed.toModel();
  assert.deepEqual(renamed.nodes[1].outerInputs.sort(), ['renamed_a', 'two']);
  assert.ok(!Buffer.from(renamed.bytes).includes(Buffer.from([0x0a, 0x01, 0x61])), "no input field 'a' is left");
  const s = await session(renamed);
  const x = f32(Float32Array.from([-1, 0.5, 2]), [3]);
  const yes = (await s.run({ x, c: new ort.Tensor('bool', [true], []) })).out.data as Float32Array;
  const no = (await s.run({ x, c: new ort.Tensor('bool', [false], []) })).out.data as Float32Array;
  assert.deepEqual(Array.from(yes), [-0, -0.5, -2]);
  assert.deepEqual(Array.from(no), [0, 1, 4]);
});

test('Resize in front of g equals g on JS half-pixel bilinear crops; the spatial mean is appended', async (t) => {
  const full = load(FULL);
  const g = extractSubgraph(full, ['input'], [LAYER]);
  const sG = await session(g);
  const img = (await loadImages(1)).subarray(0, 3 * 784);
  for (const P of [14, 17]) {
    const gr = withSpatialMean(withInputResize(g, { height: 28, width: 28, cropHeight: P, cropWidth: P }));
    assert.deepEqual(gr.inputs, [{ name: 'crops', elemType: DataType.FLOAT, shape: ['batch', 3, P, P] }]);
    assert.deepEqual(
      gr.outputs.map((o) => o.name),
      [LAYER, 'pooled'],
    );
    const at: [number, number][] = [
      [0, 0],
      [0, 11],
      [11, 0],
      [28 - P, 28 - P],
    ];
    const crops = cropBatch(img, 28, 28, P, at);
    const sR = await session(gr);
    const out = await sR.run({ crops: f32(crops, [at.length, 3, P, P]) });
    const resized = resizeBilinearJs(crops, at.length, 3, P, P, 28, 28);
    const ref = (await sG.run({ input: f32(resized, [at.length, 3, 28, 28]) }))[LAYER].data as Float32Array;
    const act = out[LAYER].data as Float32Array;
    assert.deepEqual(out[LAYER].dims, [at.length, 64, 7, 7]);
    const d = maxAbsDiff(act, ref);
    assert.ok(d <= 1e-5, `P=${P}: resize mismatch ${d}`);
    // pooled = mean over the 7×7 positions of each channel
    const pooled = out.pooled.data as Float32Array;
    assert.deepEqual(out.pooled.dims, [at.length, 64]);
    const mean = new Float64Array(at.length * 64);
    for (let k = 0; k < at.length * 64; k++) {
      let s = 0;
      for (let i = 0; i < 49; i++) s += act[k * 49 + i];
      mean[k] = s / 49;
    }
    const dMean = maxAbsDiff(pooled, mean);
    t.diagnostic(`P=${P}: g(resize) vs g(JS resize) ${d}, ReduceMean vs JS mean ${dMean}`);
    assert.ok(dMean <= 1e-5);
    assert.ok(maxAbs(mean) > 0.01);
  }
  // A taken name is refused rather than silently changed.
  assert.throws(() => withInputResize(g, { height: 28, width: 28, inputName: 'input' }), /already used/);
});

test('Resize in front of an NHWC input', async () => {
  const m = buildModel({
    opset: 13,
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['n', 5, 6, 2] }],
    outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['n', 5, 6, 2] }],
    nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  const r = withInputResize(m, { height: 5, width: 6, layout: 'NHWC', inputName: 'small' });
  assert.deepEqual(r.inputs[0].shape, ['n', 'crop_height', 'crop_width', 2]);
  const n = 2,
    h = 3,
    w = 4,
    c = 2;
  const src = randomArray(n * h * w * c, 21);
  const out = (await (await session(r)).run({ small: f32(src, [n, h, w, c]) })).y;
  assert.deepEqual(out.dims, [n, 5, 6, c]);
  // The JS resize is NCHW: move channels first, resize, move back.
  const nchw = new Float32Array(src.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) nchw[((b * c + k) * h + y) * w + x] = src[((b * h + y) * w + x) * c + k];
  const res = resizeBilinearJs(nchw, n, c, h, w, 5, 6);
  const want = new Float32Array(res.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 6; x++) for (let k = 0; k < c; k++) want[((b * 5 + y) * 6 + x) * c + k] = res[((b * c + k) * 5 + y) * 6 + x];
  assert.ok(maxAbsDiff(out.data as Float32Array, want) < 1e-6);
});

test('ReduceMean takes axes as an input from opset 18 on', async () => {
  for (const opset of [13, 18]) {
    const m = buildModel({
      opset,
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['n', 2, 2, 3] }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['n', 2, 2, 3] }],
      nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
    });
    const nhwc = withSpatialMean(m, { layout: 'NHWC', replace: true, outputName: 'm' });
    assert.equal(nhwc.nodes[1].inputs.length, opset >= 18 ? 2 : 1);
    assert.deepEqual(
      nhwc.outputs.map((o) => o.shape),
      [['n', 3]],
    );
    const x = Float32Array.from({ length: 12 }, (_, i) => i - 3);
    const out = (await (await session(nhwc)).run({ x: f32(x, [1, 2, 2, 3]) })).m.data as Float32Array;
    const want = [0, 1, 2].map((c) => [0, 1, 2, 3].reduce((s, p) => s + Math.max(0, x[p * 3 + c]), 0) / 4);
    assert.ok(maxAbsDiff(out, want) < 1e-6);
  }
});

test('reconstruction in front of h equals h on the JS (U ⊙ mask)·W', async (t) => {
  const full = load(FULL);
  const h = extractSubgraph(full, [LAYER], ['logits']);
  const sH = await session(h);
  const r = 3,
    p = 64,
    hh = 7,
    ww = 7,
    M = 5;
  const U = randomArray(hh * ww * r, 1);
  const masks = randomArray(M * r, 2);
  const W = randomArray(r * p, 3).map((v) => v * 0.5);
  // Ap[m, c, y, x] = Σ_k U[y, x, k]·mask[m, k]·W[k, c]  (docs/method.md §5.2, moved to NCHW)
  const Ap = new Float32Array(M * p * hh * ww);
  for (let m = 0; m < M; m++)
    for (let c = 0; c < p; c++)
      for (let q = 0; q < hh * ww; q++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += U[q * r + k] * masks[m * r + k] * W[k * p + c];
        Ap[(m * p + c) * hh * ww + q] = s;
      }
  const ref = (await sH.run({ [LAYER]: f32(Ap, [M, p, hh, ww]) })).logits.data as Float32Array;
  const tol = 1e-5 * Math.max(1, maxAbs(ref));

  const baked = withReconstruction(h, { W: { data: W, rows: r, cols: p }, masks: { data: masks, rows: M, cols: r }, spatial: { height: hh, width: ww } });
  assert.deepEqual(baked.inputs, [{ name: 'coeffs', elemType: DataType.FLOAT, shape: [1, hh, ww, r] }]);
  const out1 = (await (await session(baked)).run({ coeffs: f32(U, [1, hh, ww, r]) })).logits;
  assert.deepEqual(out1.dims, [M, 10]);
  const dRec = maxAbsDiff(out1.data as Float32Array, ref);
  t.diagnostic(`reconstruction+h vs h(JS reconstruction): max abs diff ${dRec} (logits up to ${maxAbs(ref).toFixed(2)})`);
  assert.ok(dRec <= tol);

  const fed = withReconstruction(h, { W: { data: W, rows: r, cols: p }, spatial: { height: 'h', width: 'w' } });
  assert.deepEqual(
    fed.inputs.map((i) => i.name),
    ['coeffs', 'masks'],
  );
  const out2 = (await (await session(fed)).run({ coeffs: f32(U, [1, hh, ww, r]), masks: f32(masks, [M, r]) })).logits;
  assert.ok(maxAbsDiff(out2.data as Float32Array, ref) <= tol);

  // Vector case: h takes (N, p) features.
  const hv = buildModel({
    inputs: [{ name: 'feat', elemType: DataType.FLOAT, shape: ['batch', 4] }],
    outputs: [{ name: 'score', elemType: DataType.FLOAT, shape: ['batch', 2] }],
    initializers: [{ name: 'Wh', dataType: DataType.FLOAT, dims: [4, 2], values: [1, -1, 2, 0, 0, 3, -1, 1] }],
    nodes: [
      { opType: 'MatMul', inputs: ['feat', 'Wh'], outputs: ['z'] },
      { opType: 'Relu', inputs: ['z'], outputs: ['score'] },
    ],
  });
  const U2 = Float32Array.from([0.5, 2]);
  const W2 = Float32Array.from([1, 0, 2, 1, 0, 1, 1, 3]); // 2×4
  const masks2 = Float32Array.from([1, 1, 0, 1, 0.5, 0.25]); // 3×2
  const vec = withReconstruction(hv, { W: { data: W2, rows: 2, cols: 4 }, masks: { data: masks2, rows: 3, cols: 2 }, spatial: null });
  const got = (await (await session(vec)).run({ coeffs: f32(U2, [1, 2]) })).score.data as Float32Array;
  const Wh = [1, -1, 2, 0, 0, 3, -1, 1];
  const want: number[] = [];
  for (let m = 0; m < 3; m++) {
    const a = [0, 1, 2, 3].map((c) => U2[0] * masks2[m * 2] * W2[c] + U2[1] * masks2[m * 2 + 1] * W2[4 + c]);
    for (let j = 0; j < 2; j++)
      want.push(
        Math.max(
          0,
          a.reduce((s, v, c) => s + v * Wh[c * 2 + j], 0),
        ),
      );
  }
  assert.ok(maxAbsDiff(got, want) < 1e-5);
});

test('MatMul / Gemm graphs equal the JS products', async () => {
  const n = 37,
    p = 19,
    k = 6;
  const X = randomArray(n * p, 11);
  const B = randomArray(p * k, 12);
  const prod = (a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number, transA: boolean) => {
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let q = 0; q < inner; q++) s += (transA ? a[q * rows + i] : a[i * inner + q]) * b[q * cols + j];
        out[i * cols + j] = s;
      }
    return out;
  };
  const xb = buildMatMulModel({ a: { name: 'X', data: X, rows: n, cols: p }, b: { name: 'B', rows: p, cols: 'k' } });
  assert.deepEqual(
    xb.inputs.map((i) => i.name),
    ['B'],
  );
  const y1 = (await (await session(xb)).run({ B: f32(B, [p, k]) })).Y;
  assert.deepEqual(y1.dims, [n, k]);
  assert.ok(maxAbsDiff(y1.data as Float32Array, prod(X, B, n, p, k, false)) < 1e-4);

  // Xᵀ·C with C (n × k): Gemm transA=1.
  const C = randomArray(n * k, 13);
  const xtc = buildMatMulModel({ a: { name: 'X', data: X, rows: n, cols: p }, b: { name: 'C', rows: 'n', cols: 'k' }, transA: true });
  assert.equal(xtc.nodes[0].opType, 'Gemm');
  const y2 = (await (await session(xtc)).run({ C: f32(C, [n, k]) })).Y;
  assert.deepEqual(y2.dims, [p, k]);
  assert.ok(maxAbsDiff(y2.data as Float32Array, prod(X, C, p, n, k, true)) < 1e-4);

  // float64 operands stay float64.
  const X64 = Float64Array.from(X);
  const d = buildMatMulModel({ a: { name: 'X', data: X64, rows: n, cols: p }, b: { name: 'B', rows: p, cols: k }, dtype: 'float64' });
  const y3 = (await (await session(d)).run({ B: new ort.Tensor('float64', Float64Array.from(B), [p, k]) })).Y;
  assert.equal(y3.type, 'float64');
  assert.ok(maxAbsDiff(y3.data as Float64Array, prod(X64, B, n, p, k, false)) < 1e-12);
});

test('wire-level details: unpacked repeated fields, float_data, external data', () => {
  // Hand-encoded: dims written unpacked (one varint field each) and values in float_data, not raw_data.
  const inline = messageField(5, [
    varintField(1, 2),
    varintField(1, 3),
    varintField(2, DataType.FLOAT),
    floatField(4, 1.5),
    lenField(4, new Uint8Array(new Float32Array([2, 3, 4, 5, 6]).buffer)),
    stringField(8, 'w'),
  ]);
  const external = messageField(5, [
    varintField(1, 4),
    varintField(2, DataType.FLOAT),
    stringField(8, 'big'),
    messageField(13, [stringField(1, 'location'), stringField(2, 'big.bin')]),
    varintField(14, 1),
  ]);
  const bytes = encodeMessage([
    varintField(1, 8),
    messageField(7, [inline, external, stringField(2, 'g')]),
    messageField(8, [stringField(1, ''), varintField(2, 17)]),
  ]);
  const m = parseModel(bytes);
  assert.deepEqual(
    m.initializers.map((i) => [i.name, i.dims, i.external]),
    [
      ['w', [2, 3], false],
      ['big', [4], true],
    ],
  );
  assert.equal(m.hasExternalData, true);
  assert.deepEqual(Array.from(readInitializer(m, 'w').values as Float32Array), [1.5, 2, 3, 4, 5, 6]);
  assert.throws(() => readInitializer(m, 'big'), /external data/);
  assert.ok(Buffer.from(serializeModel(m)).equals(Buffer.from(bytes)));
  // Re-encoded by the editor (an output added), the hand-written initializers pass through byte for byte.
  const ed = new ModelEditor(m);
  ed.addOutput({ name: 'w' });
  const out = ed.toBytes();
  assert.ok(Buffer.from(out).includes(Buffer.from(inline.raw)) && Buffer.from(out).includes(Buffer.from(external.raw)));
  assert.deepEqual(parseModel(out).outputs, [{ name: 'w', elemType: null, shape: null }]);
});

test('garbage and truncated files give a clear error', () => {
  const good = new Uint8Array(fs.readFileSync(FULL));
  const bad = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(
      () => parseModel(bytes),
      (e: unknown) => e instanceof OnnxModelError && /^Not a valid ONNX model: /.test(e.message) && re.test(e.message),
    );
  bad(good.subarray(0, 5000), /truncated/);
  bad(good.subarray(0, good.length - 1), /truncated/);
  bad(new Uint8Array(0), /empty/);
  bad(new TextEncoder().encode('this is not a model'), /./);
  bad(new TextEncoder().encode('{"json": true}'), /./);
  const r = rng(5);
  for (let i = 0; i < 20; i++)
    bad(
      Uint8Array.from({ length: 1000 }, () => Math.floor(r() * 256)),
      /./,
    );
  // A valid protobuf without a graph.
  bad(Uint8Array.from([0x08, 0x07]), /no graph/);
});

test('reconstruction in front of an NHWC h lays the activations out channels-last', async () => {
  const r = 2,
    p = 3,
    hh = 2,
    ww = 3,
    M = 4;
  const hn = buildModel({
    inputs: [{ name: 'act', elemType: DataType.FLOAT, shape: ['batch', hh, ww, p] }],
    outputs: [{ name: 'flat', elemType: DataType.FLOAT, shape: ['batch', hh * ww * p] }],
    initializers: [{ name: 'shape', dataType: DataType.INT64, dims: [2], values: [-1, hh * ww * p] }],
    nodes: [{ opType: 'Reshape', inputs: ['act', 'shape'], outputs: ['flat'] }],
    opset: 13,
  });
  const U = randomArray(hh * ww * r, 7);
  const masks = randomArray(M * r, 8);
  const W = randomArray(r * p, 9);
  const recon = withReconstruction(hn, { W: { data: W, rows: r, cols: p }, spatial: { height: hh, width: ww }, layout: 'NHWC' });
  const out = (await (await session(recon)).run({ coeffs: f32(U, [1, hh, ww, r]), masks: f32(masks, [M, r]) })).flat.data as Float32Array;
  for (let m = 0; m < M; m++)
    for (let q = 0; q < hh * ww; q++)
      for (let c = 0; c < p; c++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += U[q * r + k] * masks[m * r + k] * W[k * p + c];
        assert.ok(Math.abs(out[(m * hh * ww + q) * p + c] - s) < 1e-5);
      }
});

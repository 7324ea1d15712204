/**
 * The model stage on odd classifiers (test/models/odd-models.ts, built with the project's ONNX writer and
 * run with the real onnxruntime-node): the default split layer, and a clear CraftError of the right
 * kind, before any heavy work, for every model CRAFT cannot explain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { explain } from '../../src/craft/explain';
import { listLayers } from '../../src/craft/layers';
import { CraftError, type ErrorKind } from '../../src/craft/errors';
import { DEFAULTS, type ExplainOptions, type Stage } from '../../src/craft/options';
import { describeModel, probeLayers } from '../../src/craft/onnx/inspect';
import { DataType } from '../../src/craft/onnx/fields';
import { parseModel, type OnnxModel } from '../../src/craft/onnx/model';
import { withOutputs, withTensorStats } from '../../src/craft/onnx/subgraph';
import { SessionFactory } from '../../src/craft/onnx/sessions';
import { MAX_INPUT_SIDE } from '../../src/craft/images/preprocess';
import * as odd from '../models/odd-models';

const ROOT = path.resolve(__dirname, '../../..');
const SAMPLE = path.join(ROOT, 'sample');
const CLIPART = '/work/shared/fixtures/clipart-mobilenetv2/clipart_mobilenetv2.onnx';
const MODELS = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-odd-models-'));

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `craft-odd-${prefix}-`));
}

const save = (name: string, m: odd.OddModel | OnnxModel) => odd.save(MODELS, name, 'model' in m ? m.model : m);

/** A small explain() run on the first sample ankle boots; records the stages that reported progress. */
function options(model: string, overrides: Partial<ExplainOptions> = {}, stages: Stage[] = []): ExplainOptions {
  return {
    ...DEFAULTS,
    model,
    images: path.join(SAMPLE, 'images/ankle_boot'),
    classId: 0,
    size: [32, 32],
    concepts: 3,
    patch: 16,
    designs: 4,
    maxImages: 4,
    provider: 'cpu',
    out: tempDir('out'),
    onProgress: (p) => {
      if (!stages.includes(p.stage)) stages.push(p.stage);
    },
    ...overrides,
  };
}

/**
 * explain() fails with a CraftError of `kind` whose message matches `re`, in the model stage (no later
 * stage started), and leaves no results behind.
 */
async function refuses(o: ExplainOptions, kind: ErrorKind, re: RegExp, hint?: RegExp): Promise<CraftError> {
  const stages: Stage[] = [];
  let caught: unknown;
  try {
    await explain({
      ...o,
      onProgress: (p) => {
        if (!stages.includes(p.stage)) stages.push(p.stage);
      },
    });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CraftError, `expected a CraftError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.kind, kind, caught.full);
  assert.match(caught.message, re);
  if (hint) assert.match(caught.hint ?? '', hint);
  assert.deepEqual(
    stages.filter((s) => s !== 'model'),
    [],
    `refused after the model stage: ${caught.full}`,
  );
  assert.deepEqual(fs.existsSync(o.out) ? fs.readdirSync(o.out) : [], [], 'nothing written');
  return caught;
}

test('the odd models load and run in ONNX Runtime, with the outputs they declare', async () => {
  const image = (elem: 'float32' | 'uint8' | 'float16', size = 32) => {
    const n = 2 * 3 * size * size;
    if (elem === 'uint8')
      return new ort.Tensor(
        'uint8',
        Uint8Array.from({ length: n }, (_, k) => (k * 37) % 256),
        [2, 3, size, size],
      );
    if (elem === 'float16') return new ort.Tensor('float16', new Uint16Array(n).fill(0x3800), [2, 3, size, size]); // 0.5
    return new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, k) => (k % 17) / 17),
      [2, 3, size, size],
    );
  };
  const cases: [string, odd.OddModel, 'float32' | 'uint8' | 'float16', number[]][] = [
    ['se-gap', odd.seCnn('GlobalAveragePool'), 'float32', [2, 4]],
    ['se-reducemean', odd.seCnn('ReduceMean'), 'float32', [2, 4]],
    ['normalising-mean', odd.normalisingCnn('ReduceMean'), 'float32', [2, 4]],
    ['normalising-max', odd.normalisingCnn('ReduceMax'), 'float32', [2, 4]],
    ['mobilenet-like', odd.mobilenetLike(), 'float32', [2, 6]],
    ['opset7', odd.plainCnn({ opset: 7, irVersion: 3 }), 'float32', [2, 3]],
    ['uint8', odd.plainCnn({ input: 'uint8' }), 'uint8', [2, 3]],
    ['float16', odd.plainCnn({ input: 'float16' }), 'float16', [2, 3]],
    ['one-channel', odd.plainCnn({ channels: 1 }), 'float32', [2, 3]],
    ['map-output', odd.plainCnn({ output: 'map' }), 'float32', [2, 8, 32, 32]],
  ];
  for (const [name, m, elem, dims] of cases) {
    const s = await ort.InferenceSession.create(m.model.bytes, { logSeverityLevel: 3 });
    const out = (await s.run({ input: image(elem) }))[s.outputNames[0]];
    assert.deepEqual(out.dims, dims, name);
    assert.ok((out.data as Float32Array).every(Number.isFinite), name);
    await s.release();
  }
  // The split layer of each is a live ReLU map: non-negative and not all zero.
  const probed = await listLayers({ model: save('se.onnx', odd.seCnn()), size: [32, 32], provider: 'cpu' });
  const early = probed.layers.find((l) => l.name === 'early_relu');
  assert.ok(early && early.nonNegative && early.cleanCut, 'the early map is a usable layer too (the old default)');
});

test('default layer: squeeze-and-excitation pooling is not taken for the final pooling', async () => {
  for (const pool of ['GlobalAveragePool', 'ReduceMean'] as const) {
    const m = odd.seCnn(pool);
    const listing = await listLayers({ model: save(`se-${pool}.onnx`, m), size: [32, 32], provider: 'cpu' });
    assert.equal(listing.defaultLayer, m.layer, `SE squeezed by ${pool}`);
    assert.equal(listing.defaultLayer, 'se2/scaled');
    // The SE branches' pooled maps are candidates too (4-D, 1×1), but not the default.
    assert.ok(
      listing.layers.some((l) => l.shape[1] === 1 && l.shape[2] === 1 && l.nonNegative),
      'pooled SE tensors are listed',
    );
  }
});

test('default layer: an input standardisation inside the graph is not the final pooling, and the run works', async () => {
  for (const reduce of ['ReduceMean', 'ReduceMax'] as const) {
    const m = odd.normalisingCnn(reduce);
    const file = save(`normalising-${reduce}.onnx`, m);
    const listing = await listLayers({ model: file, size: [32, 32], provider: 'cpu' });
    assert.equal(listing.defaultLayer, 'features', `standardised with ${reduce}`);
    assert.ok(
      listing.layers.some((l) => l.name === 'pixels' && l.nonNegative && l.cleanCut),
      'the 3-channel input copy is a candidate',
    );
  }
  // End to end with the default layer and the default 10 concepts (the 3-channel copy could not give them).
  const { bundle } = await explain(options(path.join(MODELS, 'normalising-ReduceMean.onnx'), { concepts: DEFAULTS.concepts, maxImages: 8 }));
  assert.equal(bundle.layer.name, 'features');
  assert.equal(bundle.concepts.length, DEFAULTS.concepts);
});

test('default layer: unchanged on the sample CNN, the MobileNetV2-like net and the clip-art MobileNetV2', async (t) => {
  const sample = await listLayers({ model: path.join(SAMPLE, 'model/fmnist_cnn.onnx'), size: [28, 28], provider: 'cpu' });
  assert.equal(sample.defaultLayer, '/h/Relu_output_0');
  const m = odd.mobilenetLike();
  const built = await listLayers({ model: save('mobilenet-like.onnx', m), provider: 'cpu' });
  assert.equal(built.defaultLayer, 'out_relu');
  // The inverted residual block's inner maps are non-negative but crossed by the skip connection.
  assert.ok(built.layers.some((l) => l.name === 'block/depthwise_relu' && l.nonNegative && !l.cleanCut));
  if (!fs.existsSync(CLIPART)) return t.skip(`${CLIPART} is absent`);
  const clipart = await listLayers({ model: CLIPART, provider: 'cpu' });
  assert.equal(clipart.defaultLayer, 'out_relu');
});

test('the probe reports the same shapes and minima as fetching every tensor', async () => {
  const info = describeModel(path.join(SAMPLE, 'model/fmnist_cnn.onnx'));
  const factory = await SessionFactory.open('cpu');
  const data = Float32Array.from({ length: 2 * 3 * 28 * 28 }, (_, k) => 0.5 + 0.5 * Math.sin(k * 0.37));
  const candidates = await probeLayers(info, factory, { data, dims: [2, 3, 28, 28] });
  // Every tensor fetched whole from one batch-2 run, as the probe used to.
  const names = candidates.map((c) => c.name);
  const every = info.model.nodes.flatMap((n) => n.outputs).filter((n) => n !== 'logits');
  const s = await ort.InferenceSession.create(withOutputs(info.model, every).bytes, { logSeverityLevel: 3 });
  const all = await s.run({ input: new ort.Tensor('float32', data, [2, 3, 28, 28]) });
  const fourD = every.filter((n) => all[n].type === 'float32' && all[n].dims.length === 4);
  assert.deepEqual(names, fourD, 'every float 4-D map, in graph order');
  for (const c of candidates) {
    const t = all[c.name];
    assert.deepEqual(c.shape, t.dims.slice(1), c.name);
    assert.equal(
      c.min,
      (t.data as Float32Array).reduce((a, b) => Math.min(a, b), Infinity),
      c.name,
    );
  }
  await s.release();
  // The statistics nodes come last, the first tensor's last: ORT's depth-first order then runs each
  // map's statistics as soon as the map exists, which is what keeps the probe to one inference's memory.
  const stats = withTensorStats(info.model, names);
  const added = stats.model.nodes
    .slice(info.model.nodes.length)
    .filter((n) => n.opType === 'ReduceMin')
    .map((n) => n.inputs[0]);
  assert.deepEqual(added, [...names].reverse());
});

test('more concepts than the layer has channels is a usage error before the activations pass', async () => {
  const one = save('one-channel.onnx', odd.plainCnn({ channels: 1 }));
  await refuses(
    options(one, { concepts: 10 }),
    'usage',
    /10 concepts were asked for, but layer features has only 1 channel: NMF cannot/,
    /--concepts 1 or fewer/,
  );
  // The sample's default layer has 128 channels.
  const sample = path.join(SAMPLE, 'model/fmnist_cnn.onnx');
  await refuses(
    options(sample, { concepts: 129, size: [28, 28], patch: 14 }),
    'usage',
    /129 concepts .* layer \/h\/Relu_output_0 has only 128 channels/,
    /--concepts 128 or fewer/,
  );
  await refuses(options(sample, { concepts: 65, size: [28, 28], patch: 14, layer: '/g/MaxPool_1_output_0' }), 'usage', /only 64 channels/);
  // As many concepts as channels is fine, down to a 1-channel layer with one concept.
  const { bundle } = await explain(options(one, { concepts: 1 }));
  assert.equal(bundle.concepts.length, 1);
});

test('an opset older than the crop graph needs is refused before any work, with what to do', async () => {
  const file = save('opset7.onnx', odd.plainCnn({ opset: 7, irVersion: 3 }));
  const listing = await listLayers({ model: file, size: [32, 32], provider: 'cpu' });
  assert.equal(listing.defaultLayer, 'features', 'the layers of an old model can still be listed');
  await refuses(
    options(file),
    'model',
    /opset7\.onnx uses ONNX opset 7; CRAFT needs opset 11 or newer \(the crops are resized by a Resize/,
    /opset_version=17/,
  );
  const ten = save('opset10.onnx', odd.plainCnn({ opset: 10 }));
  await refuses(options(ten), 'model', /opset 10; CRAFT needs opset 11/);
  // Opset 11, the oldest the graphs support, runs end to end.
  const eleven = save('opset11.onnx', odd.plainCnn({ opset: 11 }));
  const { bundle } = await explain(options(eleven));
  assert.equal(bundle.layer.name, 'features');
});

test('image inputs that are not float32 are refused with what to do', async () => {
  const u8 = save('uint8.onnx', odd.plainCnn({ input: 'uint8' }));
  const f16 = save('float16.onnx', odd.plainCnn({ input: 'float16' }));
  await refuses(options(u8), 'model', /The model input 'input' is uint8; CRAFT needs a float32 image input/, /float32 input .*\[0, 255\]/);
  await refuses(options(f16), 'model', /'input' is float16; CRAFT needs a float32 image input/, /model\.float\(\)/);
  await assert.rejects(
    listLayers({ model: u8, size: [32, 32], provider: 'cpu' }),
    (e: unknown) => e instanceof CraftError && e.kind === 'model' && /uint8/.test(e.message),
  );
});

test("an h that does not take g's output is refused naming both shapes, before any heavy work", async () => {
  const pair = (name: string, o: odd.PairOptions) => {
    const { g, h } = odd.splitPair(o);
    return { model: save(`${name}-g.onnx`, g), hModel: save(`${name}-h.onnx`, h) };
  };
  const ok = pair('fits', {});
  const { bundle } = await explain(options(ok.model, { hModel: ok.hModel }));
  assert.equal(bundle.layer.name, 'features');

  const wide = pair('wide', { hChannels: 16 });
  await refuses(
    options(wide.model, { hModel: wide.hModel }),
    'model',
    /h does not fit g: wide-g\.onnx gives 'features' \[batch, 8, height, width\], but wide-h\.onnx takes 'features' \[batch, 16, height, width\]/,
    /one split/,
  );
  const double = pair('double', { hElemType: DataType.DOUBLE });
  await refuses(
    options(double.model, { hModel: double.hModel }),
    'model',
    /gives 'features' float32 \[batch, 8, height, width\], but double-h\.onnx takes 'features' float64 \[batch, 8, height, width\]/,
  );
  // g's output shape undeclared: the probe run's activations are compared instead.
  const undeclared = pair('undeclared', { hChannels: 16, declareG: false });
  await refuses(
    options(undeclared.model, { hModel: undeclared.hModel }),
    'model',
    /gives 'features' \[batch, 8, 32, 32\], but undeclared-h\.onnx takes 'features' \[batch, 16, height, width\]/,
  );
  // h with two inputs, or one that is not a classifier head.
  const { g } = odd.splitPair();
  const mapOut = save('map-h.onnx', odd.plainCnn({ output: 'map' }).model);
  await refuses(
    options(save('pair-g.onnx', g), { hModel: mapOut }),
    'model',
    /The output 'features' of map-h\.onnx has shape \[batch, 8, height, width\]; CRAFT needs logits/,
  );
});

test('--size is bounded in the engine', async () => {
  const file = path.join(SAMPLE, 'model/fmnist_cnn.onnx');
  for (const size of [
    [MAX_INPUT_SIDE + 1, 28],
    [28, 0],
    [28.5, 28],
  ] as [number, number][]) {
    await assert.rejects(
      listLayers({ model: file, size, provider: 'cpu' }),
      (e: unknown) => e instanceof CraftError && e.kind === 'usage' && new RegExp(`from 1 to ${MAX_INPUT_SIDE}`).test(e.message),
    );
  }
  await refuses(
    options(file, { size: [MAX_INPUT_SIDE + 1, MAX_INPUT_SIDE + 1] }),
    'usage',
    /--size 8193x8193: each side must be a whole number of pixels from 1 to 8192/,
  );
});

test('broken or unusable models end in a clear error of kind model (or usage for a bad --layer)', async () => {
  const dir = tempDir('broken');
  const zero = path.join(dir, 'zero.onnx');
  fs.writeFileSync(zero, '');
  await refuses(options(zero), 'model', /zero\.onnx is empty \(0 bytes\)/, /export/);
  const full = fs.readFileSync(save('plain.onnx', odd.plainCnn()));
  const truncated = path.join(dir, 'truncated.onnx');
  fs.writeFileSync(truncated, full.subarray(0, full.length - 100));
  await refuses(options(truncated), 'model', /truncated\.onnx is not a readable ONNX model \(Not a valid ONNX model: .*truncated/);
  await refuses(options(dir), 'model', /Cannot read the model .*: it is a folder/);
  await refuses(options(odd.writeExternalData(dir)), 'model', /external\.onnx keeps its weights in external data files/, /save_as_external_data=False/);
  await refuses(options(save('empty-graph.onnx', odd.emptyGraph())), 'model', /empty-graph\.onnx has an empty graph \(no operators\)/);
  // Outputs that are not (N, classes) logits: declared, refused up front; undeclared, after the probe run.
  await refuses(
    options(save('map.onnx', odd.plainCnn({ output: 'map' }))),
    'model',
    /The output 'features' of map\.onnx has shape \[batch, 8, height, width\]; CRAFT needs logits of shape \(N, classes\)/,
    /segmentation/,
  );
  await refuses(
    options(save('map-undeclared.onnx', odd.plainCnn({ output: 'map', declareOutput: false })), { layer: 'relu_out' }),
    'model',
    /The model output has shape \[2, 8, 32, 32\]; CRAFT needs logits/,
  );
  // --layer naming the graph input or a weight.
  const plain = path.join(MODELS, 'plain.onnx');
  await refuses(options(plain, { layer: 'input' }), 'usage', /"input" is the model's input, not a layer/, /Layers that work: .*features/);
  const weight = parseModel(new Uint8Array(full)).initializers[0].name;
  await refuses(options(plain, { layer: weight }), 'usage', new RegExp(`"${weight}" is a weight of the model \\(an initializer\\), not a layer`));
  await refuses(options(plain, { layer: 'nope' }), 'usage', /no tensor named "nope"/);
});

test('the CLI maps these errors to their exit codes (usage 2, model 4)', () => {
  const craft = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/craft.js'), ...args], { encoding: 'utf8' });
  const images = path.join(SAMPLE, 'images/ankle_boot');
  const run = (model: string, extra: string[]) =>
    craft([
      'explain',
      '--model',
      model,
      '--images',
      images,
      '--class',
      '0',
      '--size',
      '32',
      '--max-images',
      '4',
      '--patch',
      '16',
      '--provider',
      'cpu',
      '--out',
      tempDir('cli'),
      ...extra,
    ]);
  const concepts = run(save('one-channel-cli.onnx', odd.plainCnn({ channels: 1 })), ['--concepts', '2']);
  assert.equal(concepts.status, 2, concepts.stderr);
  assert.match(concepts.stderr, /only 1 channel/);
  const opset = run(save('opset7-cli.onnx', odd.plainCnn({ opset: 7, irVersion: 3 })), []);
  assert.equal(opset.status, 4, opset.stderr);
  assert.match(opset.stderr, /opset 7/);
  assert.doesNotMatch(opset.stderr + concepts.stderr, /unexpected/i);
});

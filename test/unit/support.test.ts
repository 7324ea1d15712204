import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cropGrid, extractCrop, cropRgb } from '../../src/craft/images/crops';
import { resolveClass, readLabelsFile, labelsFromMetadata, findLabels } from '../../src/craft/labels';
import { configToOptions, parseSize } from '../../src/craft/config';
import { percentile, resizeBilinear, attributionMap, colourMap, rampTable } from '../../src/craft/images/heatmap';
import { alphaRamp, conceptColor, toHex } from '../../src/craft/images/colors';
import { BundleWriter, readBundle, latestRun, runName } from '../../src/craft/bundle/writer';
import { CraftError } from '../../src/craft/errors';
import { PixelStore } from '../../src/craft/images/pixel-store';
import { Budget } from '../../src/craft/pending';
import { RESULTS_VERSION, type ResultsBundle } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');

test('crop grid: counts and stride of docs/method.md §10 T6 (⌊0.8P⌋, VALID padding)', () => {
  assert.equal(cropGrid(256, 256, 64).perImage, 16);
  assert.equal(cropGrid(224, 224, 80).perImage, 9);
  const g = cropGrid(224, 224, 64);
  assert.equal(g.stride, 51);
  assert.equal(g.perImage, 16);
  const fm = cropGrid(28, 28, 14);
  assert.deepEqual([fm.stride, fm.rows, fm.cols], [11, 2, 2]);
  assert.deepEqual(fm.positions, [
    { y: 0, x: 0 },
    { y: 0, x: 11 },
    { y: 11, x: 0 },
    { y: 11, x: 11 },
  ]);
  const rect = cropGrid(100, 60, 20); // non-square: rows from H, cols from W
  assert.deepEqual([rect.rows, rect.cols], [Math.floor(80 / 16) + 1, Math.floor(40 / 16) + 1]);
  assert.throws(
    () => cropGrid(28, 28, 29),
    (e: unknown) => e instanceof CraftError && /larger than the model input/.test(e.message),
  );
});

test('extractCrop keeps the layout and picks the right pixels (NCHW and NHWC)', () => {
  const H = 5,
    W = 6,
    P = 2;
  const nchw = new Float32Array(3 * H * W).map((_, k) => k);
  const out = new Float32Array(3 * P * P);
  extractCrop(nchw, 'NCHW', H, W, 1, 2, P, out, 0);
  const want: number[] = [];
  for (let c = 0; c < 3; c++) for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) want.push(c * H * W + (1 + i) * W + 2 + j);
  assert.deepEqual(Array.from(out), want);
  const nhwc = new Float32Array(H * W * 3).map((_, k) => k);
  extractCrop(nhwc, 'NHWC', H, W, 3, 4, P, out, 0);
  const want2: number[] = [];
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) for (let c = 0; c < 3; c++) want2.push(((3 + i) * W + 4 + j) * 3 + c);
  assert.deepEqual(Array.from(out), want2);
  const rgb = new Uint8Array(H * W * 3).map((_, k) => k % 251);
  assert.deepEqual(
    Array.from(cropRgb(rgb, W, 3, 4, P)),
    want2.map((k) => k % 251),
  );
});

test('classes resolve by index or label, and bad ones get a message listing the choices', () => {
  const labels = readLabelsFile(path.join(ROOT, 'sample/model/labels.json'));
  assert.equal(labels.length, 10);
  assert.deepEqual(resolveClass('9', 10, labels), { index: 9, label: 'Ankle boot' });
  assert.deepEqual(resolveClass('ankle_boot', 10, labels), { index: 9, label: 'Ankle boot' });
  assert.deepEqual(resolveClass(7, 10, labels), { index: 7, label: 'Sneaker' });
  assert.throws(() => resolveClass('boot', 10, labels), /Unknown class "boot".*9 "Ankle boot"/s);
  assert.throws(() => resolveClass('10', 10, labels), /out of range: the model has 10 classes/);
  assert.throws(
    () => resolveClass('cat', 10, undefined),
    (e: unknown) => e instanceof CraftError && /--labels/.test(e.hint ?? ''),
  );
  assert.deepEqual(labelsFromMetadata({ labels: '["a","b"]' }), ['a', 'b']);
  assert.deepEqual(labelsFromMetadata({ labels: 'a, b, c' }), ['a', 'b', 'c']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-labels-'));
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'cat\n\ndog\r\n');
  assert.deepEqual(findLabels(path.join(dir, 'm.onnx'), {}).labels, ['cat', 'dog']);
  fs.writeFileSync(path.join(dir, 'bad.json'), '{"x": 1}');
  assert.throws(() => readLabelsFile(path.join(dir, 'bad.json')), /JSON array of class names/);
});

test('config file values are checked and paths resolved against the file', () => {
  const o = configToOptions({ model: 'm.onnx', images: 'imgs', class: 'Ankle boot', size: 28, concepts: 5, provider: 'cpu' }, '/ws', 'cfg');
  assert.equal(o.model, path.resolve('/ws/m.onnx'));
  assert.equal(o.images, path.resolve('/ws/imgs'));
  assert.deepEqual(o.size, [28, 28]);
  assert.equal(o.concepts, 5);
  assert.throws(() => configToOptions({ concepts: -1 }, '/ws', 'cfg'), /"concepts" must be an integer ≥ 1 and ≤ 512, got -1/);
  assert.throws(() => configToOptions({ provider: 'gpu' }, '/ws', 'cfg'), /"provider" must be/);
  assert.throws(() => configToOptions([], '/ws', 'cfg'), /JSON object/);
  assert.deepEqual(parseSize('224x192'), [224, 192]);
  assert.throws(() => parseSize('0x3'), /H or HxW/);
});

test('percentile matches numpy linear interpolation', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([5, 1, 3], 90), 4.6);
  assert.equal(percentile([7], 90), 7);
});

test('bilinear resize uses half-pixel centres with edge clamping (torch align_corners=False)', () => {
  // 2 → 4 upsampling of [0, 1]: src = (dst+0.5)/2 − 0.5 → [-0.25→0, 0.25, 0.75, 1.25→clamped]
  const up = resizeBilinear(Float64Array.from([0, 1]), 1, 2, 1, 4);
  assert.deepEqual(Array.from(up), [0, 0.25, 0.75, 1]);
  const same = resizeBilinear(Float64Array.from([1, 2, 3, 4]), 2, 2, 2, 2);
  assert.deepEqual(Array.from(same), [1, 2, 3, 4]);
});

test('attribution map keeps only values above the threshold, then normalises to [0, 1]', () => {
  const heat = Float64Array.from([0, 1, 2, 3]);
  const m = attributionMap(heat, 2, 2, 1.5, 2, 2);
  assert.deepEqual(Array.from(m), [0, 0, 2 / 3, 1]);
  assert.ok(attributionMap(heat, 2, 2, 10, 4, 4).every((v) => v === 0));
  const rgba = colourMap(Float64Array.from([0, 1]), rampTable(conceptColor(0)));
  assert.equal(rgba[3], 0); // transparent where the map is 0
  assert.equal(rgba[7], Math.round(255 * 0.85));
});

test('concept colours: distinct for any number of concepts; the alpha ramp of the reference', () => {
  const many = new Set(Array.from({ length: 40 }, (_, i) => toHex(conceptColor(i))));
  assert.equal(many.size, 40);
  // The ramp is the reference's get_alpha_cmap, shown on one of its notebook colours.
  const ramp = alphaRamp([54, 197, 240]);
  assert.deepEqual(ramp(0), [54, 197, 240, 0]);
  // saturation forced to 1 at the top of the ramp: the colour gets more vivid, alpha 0.85
  const top = ramp(1);
  assert.equal(top[3], 217);
  assert.ok(Math.max(top[0], top[1], top[2]) - Math.min(top[0], top[1], top[2]) > 240 - 54);
});

function tinyBundle(): ResultsBundle {
  return {
    version: RESULTS_VERSION,
    createdAt: new Date().toISOString(),
    tool: { name: 't', version: '0' },
    model: { path: '/m.onnx', inputName: 'input', inputShape: [1, 3, 28, 28], outputName: 'logits' },
    layer: { name: 'l', shape: [4, 7, 7], spatial: true },
    class: { index: 0 },
    datasetRoot: '/d',
    settings: {
      concepts: 1,
      patchSize: 14,
      stride: 11,
      cropsPerImage: 4,
      batchSize: 64,
      designs: 32,
      preprocess: { size: [28, 28], layout: 'NCHW', channelOrder: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], resize: 'bilinear' },
      nmf: { tol: 1e-4, maxIter: 200, alphaW: 0 },
      mapPercentile: 90,
      providerRequested: 'cpu',
    },
    provider: 'cpu',
    images: [],
    skipped: [],
    W: [[1]],
    importances: [1],
    ranking: [0],
    concepts: [{ index: 0, color: '#ff0000', importance: 1, share: 1, rank: 0, crops: [] }],
    nmf: { reconstructionError: 0, iterations: 1, converged: true },
    timings: { total: 1 },
    warnings: [],
  };
}

test('bundle writer: nothing appears until commit; abort leaves no trace; earlier runs untouched', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-results-'));
  const first = await BundleWriter.begin(root, 'run');
  await first.writeFile('crops/a.png', Buffer.from([1, 2, 3]));
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => !f.startsWith('.')),
    [],
  );
  const dir = await first.commit(tinyBundle());
  assert.equal(path.basename(dir), 'run');
  assert.equal(latestRun(root), dir);
  assert.equal((await readBundle(dir)).version, RESULTS_VERSION);

  const second = await BundleWriter.begin(root, 'run');
  await second.writeFile('results.json', 'half');
  await second.abort();
  assert.deepEqual(fs.readdirSync(root).sort(), ['latest.json', 'run']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['crops', 'results.json']);

  const third = await BundleWriter.begin(root, 'run');
  const dir3 = await third.commit(tinyBundle());
  assert.equal(path.basename(dir3), 'run-2'); // never overwrites an earlier run
  assert.equal(latestRun(root), dir3);

  fs.writeFileSync(path.join(dir3, 'results.json'), '{"version": 99}');
  await assert.rejects(readBundle(dir3), /results version 99/);
  assert.match(runName('Ankle boot', new Date(2026, 0, 2, 3, 4, 5)), /^20260102-030405-ankle-boot$/);
});

test('PixelStore keeps each image at its own offset, checks sizes, and removes its file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-pixels-'));
  const file = path.join(dir, 'pixels');
  const store = await PixelStore.create(file, 2, 3);
  const image = (v: number) => new Uint8Array(2 * 3 * 3).fill(v);
  await Promise.all([store.write(2, image(30)), store.write(0, image(10)), store.write(1, image(20))]);
  assert.deepEqual([...(await store.read(1))], [...image(20)]);
  assert.deepEqual([...(await store.read(2))], [...image(30)]);
  assert.equal(fs.statSync(file).size, 3 * 18);
  await assert.rejects(store.write(3, new Uint8Array(5)), /5 bytes for image 3, expected 18/);
  await assert.rejects(store.read(7), /holds no pixels for image 7/);
  await store.dispose();
  assert.equal(fs.existsSync(file), false);
  await store.dispose(); // twice is fine
  fs.rmSync(dir, { recursive: true });
});

test('Budget: takers wait while the limit would be exceeded; one taker always proceeds', async () => {
  const budget = new Budget(50);
  const order: string[] = [];
  await budget.take(80); // alone, over the limit: proceeds
  const second = budget.take(10).then(() => order.push('second'));
  await new Promise((r) => setImmediate(r));
  assert.equal(order.join(), '', 'waits while 80 are held');
  budget.give(80);
  await second;
  const third = budget.take(30).then(() => order.push('third'));
  const fourth = budget.take(30).then(() => order.push('fourth'));
  await third;
  await new Promise((r) => setImmediate(r));
  assert.equal(order.join(), 'second,third', '10 + 30 fit, 10 + 30 + 30 do not');
  budget.give(10);
  await new Promise((r) => setImmediate(r));
  assert.equal(order.join(), 'second,third', '30 + 30 > 50 still');
  budget.give(30);
  await fourth;
  assert.equal(order.join(), 'second,third,fourth');
});

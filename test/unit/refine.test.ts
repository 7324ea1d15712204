/**
 * Recursive sub-concepts (docs/method.md §8) on the sample: which crops are refined, that they become the
 * refined run's images exactly as the parent's g saw them, the refined run itself (its NMF rows, its
 * importances, its link), refining it again, and every refusal.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { explain } from '../../src/craft/explain';
import { CancelledError, CraftError } from '../../src/craft/errors';
import { readBundle } from '../../src/craft/bundle/writer';
import { cropGrid, cropRgb, extractCrop } from '../../src/craft/images/crops';
import { loadImage } from '../../src/craft/images/load';
import { withInputResize, withSpatialMean } from '../../src/craft/onnx/build';
import { describeModel } from '../../src/craft/onnx/inspect';
import { SessionFactory, runFloat } from '../../src/craft/onnx/sessions';
import { extractSubgraph } from '../../src/craft/onnx/subgraph';
import { DEFAULTS } from '../../src/craft/options';
import { listChildren, parentDir } from '../../src/craft/refine/children';
import { refine, refineLayerChoices, type RefineResult } from '../../src/craft/refine/refine';
import { refineLayers } from '../../src/craft/refine/layers';
import { conceptFromSpec, selectCrops } from '../../src/craft/refine/select';
import type { LayerCandidate, ModelInfo } from '../../src/craft/onnx/inspect';
import type { ResultsBundle } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const SAMPLE = path.join(ROOT, 'sample');
const MODEL = path.join(SAMPLE, 'model/fmnist_cnn.onnx');
const LAYER = '/g/MaxPool_1_output_0';

let temp: string;
let parentRun: string;
let parent: ResultsBundle;
let child: RefineResult;

/** The crop coefficients of a run, read with nothing of the engine: float32 little-endian, rows × r. */
function cropColumn(runDir: string, b: ResultsBundle, concept: number): number[] {
  const bytes = fs.readFileSync(path.join(runDir, 'arrays', 'crop-coefficients.f32'));
  const r = b.concepts.length;
  return Array.from({ length: bytes.length / 4 / r }, (_, j) => bytes.readFloatLE((j * r + concept) * 4));
}

/** numpy.percentile(values, q), written out again: sort, rank (n − 1)·q/100, linear interpolation. */
function numpyPercentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = ((s.length - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A copy of the parent run folder (without its refinements), to damage. */
function copyRun(name: string): string {
  const dir = path.join(temp, 'copies', name);
  fs.cpSync(parentRun, dir, { recursive: true, filter: (src) => !path.relative(parentRun, src).startsWith('refined') });
  return dir;
}

function editResults(dir: string, edit: (b: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'results.json');
  const b = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(b);
  fs.writeFileSync(file, JSON.stringify(b));
}

async function rejectsWith(p: Promise<unknown>, kind: CraftError['kind'], message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CraftError, `a CraftError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message + ' ' + (e.hint ?? ''), message);
    return true;
  });
}

before(async () => {
  temp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-refine-'));
  const images = path.join(temp, 'images');
  fs.mkdirSync(images);
  const src = path.join(SAMPLE, 'images/ankle_boot');
  for (const f of fs.readdirSync(src).sort().slice(0, 40)) fs.copyFileSync(path.join(src, f), path.join(images, f));
  const run = await explain({
    ...DEFAULTS,
    model: MODEL,
    labelsFile: path.join(SAMPLE, 'model/labels.json'),
    images,
    classId: 9,
    layer: LAYER,
    size: [28, 28],
    concepts: 6,
    patch: 14,
    designs: 8,
    provider: 'cpu',
    out: path.join(temp, 'results'),
  });
  parentRun = run.dir;
  parent = run.bundle;
});

test('selectCrops keeps the crops at or above the concept’s 90th percentile (numpy’s), never a zero coefficient', () => {
  const U = { rows: 10, cols: 2, data: Float64Array.from(Array.from({ length: 10 }, (_, j) => [j, j < 9 ? 0 : 5]).flat()) };
  // Column 0 is 0…9: its 90th percentile is 8.1, so only 9 passes.
  const top = selectCrops(U, 0);
  assert.ok(Math.abs(top.threshold - 8.1) < 1e-12, `${top.threshold}`);
  assert.deepEqual(top.crops, [9]);
  assert.deepEqual(selectCrops(U, 0, 50), { threshold: 4.5, crops: [5, 6, 7, 8, 9] });
  // Column 1 is zero on 9 crops of 10, 5 on the last: the percentile lies between them (0.1 of the way).
  const sparse = selectCrops(U, 1);
  assert.ok(Math.abs(sparse.threshold - 0.5) < 1e-12, `${sparse.threshold}`);
  assert.deepEqual(sparse.crops, [9]);
  // A crop exactly at the threshold is kept: 0…10 has its 90th percentile at 9 itself.
  const eleven = { rows: 11, cols: 1, data: Float64Array.from({ length: 11 }, (_, j) => j) };
  assert.deepEqual(selectCrops(eleven, 0), { threshold: 9, crops: [9, 10] });
  const zero = { rows: 4, cols: 1, data: new Float64Array(4) };
  assert.deepEqual(selectCrops(zero, 0), { threshold: 0, crops: [] });
});

test('conceptFromSpec: an index, "#rank" or a name from names.json; anything else is a usage error', () => {
  const b = { concepts: [0, 1, 2, 3].map((index) => ({ index })), ranking: [2, 0, 3, 1] } as unknown as ResultsBundle;
  assert.equal(conceptFromSpec(3, b), 3);
  assert.equal(conceptFromSpec(' 1 ', b), 1);
  assert.equal(conceptFromSpec('#1', b), 2);
  assert.equal(conceptFromSpec('#4', b), 1);
  assert.equal(conceptFromSpec('Toe Cap', b, { '3': 'toe cap' }), 3);
  for (const bad of [4, '7', '#0', '#5', 'heel']) {
    assert.throws(
      () => conceptFromSpec(bad, b, { '3': 'toe cap' }),
      (e: unknown) => e instanceof CraftError && e.kind === 'usage',
      String(bad),
    );
  }
  assert.throws(() => conceptFromSpec('sole', b, { '0': 'Sole', '1': 'sole' }), /Several concepts are named "sole"/);
  // A name that reads as another concept's index or #rank is ambiguous; as its own concept's, or out of range, it is not.
  assert.throws(() => conceptFromSpec('2', b, { '0': '2' }), /"2" is both concept 2 \(by index\) and the name of concept 0/);
  assert.throws(() => conceptFromSpec('#1', b, { '0': '#1' }), /"#1" is both concept 2 \(by rank\) and the name of concept 0/);
  assert.equal(conceptFromSpec('2', b, { '2': '2' }), 2);
  assert.equal(conceptFromSpec('9', b, { '1': '9' }), 1);
  assert.equal(conceptFromSpec(2, b, { '0': '2' }), 2, 'a number is an index');
  assert.throws(() => conceptFromSpec(9, b, { '1': '9' }), /there is no concept 9/);
  assert.throws(() => conceptFromSpec('99999999999999999999', b), /there is no concept 99999999999999999999\./, 'shown as given');
});

test('refineLayers: usable layers the parent’s is computed from; the default ends the previous resolution stage, never a Pad', () => {
  // x → a (16×28×28) → b (16×14×14) → c (32×14×14) → d = Pad(c) (32×15×15) → e (64×7×7, the parent's) → f (after it)
  const chain = ['x', 'a', 'b', 'c', 'd', 'e', 'f'];
  const ops = ['', 'Relu', 'MaxPool', 'Relu', 'Pad', 'Relu', 'Relu'];
  const nodes = chain.slice(1).map((out, k) => ({ opType: ops[k + 1], inputs: [chain[k]], outerInputs: [], outputs: [out], index: k }));
  const info = { model: { nodes }, layout: 'NCHW' } as unknown as ModelInfo;
  const shapes: Record<string, number[]> = { a: [16, 28, 28], b: [16, 14, 14], c: [32, 14, 14], d: [32, 15, 15], e: [64, 7, 7], f: [64, 7, 7] };
  const candidate = (name: string, o: Partial<LayerCandidate> = {}): LayerCandidate => ({
    name,
    shape: shapes[name],
    op: ops[chain.indexOf(name)],
    nonNegative: true,
    min: 0,
    cleanCut: true,
    order: chain.indexOf(name),
    ...o,
  });
  const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => candidate(n));
  const choice = refineLayers(info, all, 'e', shapes.e);
  assert.deepEqual(
    choice.layers.map((c) => c.name),
    ['a', 'b', 'c', 'd'],
    'earlier only: not the parent’s layer, not what follows it',
  );
  assert.equal(choice.defaultLayer, 'c', 'the last 14×14 map, not its padded copy');
  // Unusable layers are left out; the default moves back.
  const some = all.map((c) => (c.name === 'c' ? { ...c, nonNegative: false } : c.name === 'b' ? { ...c, cleanCut: false } : c));
  assert.deepEqual(
    refineLayers(info, some, 'e', shapes.e).layers.map((c) => c.name),
    ['a', 'd'],
  );
  assert.equal(refineLayers(info, some, 'e', shapes.e).defaultLayer, 'a');
  // From a 14×14 parent the default is the 28×28 stage; from the first layer there is nothing earlier.
  assert.equal(refineLayers(info, all, 'c', shapes.c).defaultLayer, 'a');
  assert.deepEqual(refineLayers(info, all, 'a', shapes.a), { layers: [], defaultLayer: undefined, parentLayer: 'a' });
  // No finer grid earlier (a vector parent aside): the last usable spatial layer.
  const flat: Record<string, number[]> = { a: [16, 7, 7], b: [16, 7, 7], c: [32, 7, 7], d: [32, 7, 7], e: [64, 7, 7], f: [64, 7, 7] };
  const same = all.map((c) => ({ ...c, shape: flat[c.name] }));
  assert.equal(refineLayers(info, same, 'e', flat.e).defaultLayer, 'c');
});

test('refine on the sample: the crops ≥ the 90th percentile become the refined run’s images, factorised whole at an earlier layer', async () => {
  const resultsBefore = sha(path.join(parentRun, 'results.json'));
  const lines: string[] = [];
  child = await refine({ run: parentRun, concept: '#1', provider: 'cpu', designs: 8, log: (l) => lines.push(l) });
  const b = child.bundle;
  const concept = parent.ranking[0];
  assert.equal(child.concept, concept);

  // The selection, recomputed here from the raw file.
  const column = cropColumn(parentRun, parent, concept);
  const threshold = numpyPercentile(column, 90);
  const expected = column.flatMap((v, j) => (v >= threshold && v > 0 ? [j] : []));
  assert.ok(expected.length >= 16 && expected.length <= 17, `about a tenth of the ${column.length} crops: ${expected.length}`);
  assert.deepEqual(b.parent?.crops, expected);
  assert.equal(b.parent?.threshold, threshold);
  assert.equal(b.parent?.percentile, 90);
  assert.equal(b.parent?.concept, concept);

  // One image per crop, factorised whole: the NMF's rows are exactly those crops.
  assert.equal(b.images.length, expected.length);
  assert.equal(b.settings.patchSize, 28);
  assert.equal(b.settings.cropsPerImage, 1);
  assert.equal(b.arrays?.cropCoefficients.rows, expected.length);
  assert.deepEqual(b.skipped, []);
  // At the default layer: the last usable one before the parent's with a finer grid (14×14 vs 7×7).
  assert.equal(b.layer.name, '/g/Relu_3_output_0');
  assert.deepEqual(b.layer.shape, [64, 14, 14]);
  assert.ok(
    lines.some((l) => l.includes('Layer: /g/Relu_3_output_0 (default')),
    lines.join('\n'),
  );
  assert.deepEqual(b.class, parent.class);
  assert.equal(b.concepts.length, 5, 'the default number of sub-concepts');
  // Crops predicted as another class are expected (parts of an image): said in the log, not a warning.
  const others = b.images.filter((im) => im.predicted !== b.class.index).length;
  assert.ok(!b.warnings?.some((w) => /predicted as another class/.test(w)), (b.warnings ?? []).join('\n'));
  assert.equal(
    lines.some((l) => l.startsWith(`${others} of ${b.images.length} crops, each enlarged to a whole input, are predicted as another class`)),
    others > 0,
  );

  // Sub-importances: Sobol through the rest of the model, finite, some > 0, mean of the per-crop ones.
  assert.ok(b.importances.every(Number.isFinite) && b.importances.some((v) => v > 0), `${b.importances}`);

  // Self-contained and linked: its images inside it, its parent found from it, the parent untouched.
  const raw = JSON.parse(fs.readFileSync(path.join(child.dir, 'results.json'), 'utf8'));
  assert.equal(raw.datasetRoot, 'dataset');
  assert.equal(b.datasetRoot, path.join(child.dir, 'dataset'), 'readBundle resolves it against the run folder');
  assert.equal(path.dirname(child.dir), path.join(parentRun, 'refined'));
  assert.equal(raw.parent.run, '../..');
  assert.equal(parentDir(child.dir, b.parent!), parentRun);
  assert.equal(sha(path.join(parentRun, 'results.json')), resultsBefore, "the parent's results.json is never rewritten");

  // Each image is its crop, cut from the parent's image as the parent saw it (its thumbnail holds those pixels).
  const grid = cropGrid(28, 28, 14);
  for (const [k, row] of expected.entries()) {
    const i = Math.floor(row / grid.perImage);
    const { x, y } = grid.positions[row % grid.perImage];
    const entry = b.images[k];
    assert.ok(entry.path.startsWith(String(k).padStart(4, '0')) && entry.path.endsWith(`-y${y}-x${x}.png`), entry.path);
    const thumb = await sharp(path.join(parentRun, parent.images[i].thumbnail)).raw().toBuffer();
    const crop = await sharp(path.join(b.datasetRoot, entry.path)).raw().toBuffer();
    assert.deepEqual(new Uint8Array(crop), cropRgb(new Uint8Array(thumb), 28, y, x, 14), `crop ${row}`);
  }
});

test("the refined run's inputs give the parent's crop activations at the parent's layer (within the 8-bit enlargement)", async () => {
  // The parent's path: the crop cut from the preprocessed image, enlarged by the float Resize node, g, mean.
  // The refined run's: the crop's PNG enlarged by the image loader, preprocessed, g, mean.
  const info = describeModel(MODEL);
  const g = extractSubgraph(info.model, [info.inputName], [LAYER]);
  const factory = await SessionFactory.open('cpu');
  const crops = await factory.create(
    withSpatialMean(withInputResize(g, { height: 28, width: 28, layout: 'NCHW', cropHeight: 14, cropWidth: 14, inputName: 'crops' }), {
      layout: 'NCHW',
      replace: true,
    }).bytes,
    'crops',
  );
  const whole = await factory.create(withSpatialMean(g, { layout: 'NCHW', replace: true }).bytes, 'whole');
  const grid = cropGrid(28, 28, 14);
  const b = child.bundle;
  let worst = 0;
  try {
    for (const [k, row] of b.parent!.crops.entries()) {
      const source = await loadImage(path.join(parent.datasetRoot, parent.images[Math.floor(row / grid.perImage)].path), parent.settings.preprocess);
      assert.ok(source.ok);
      const patch = new Float32Array(3 * 14 * 14);
      const { x, y } = grid.positions[row % grid.perImage];
      extractCrop(source.image.tensor, 'NCHW', 28, 28, y, x, 14, patch, 0);
      const a = (await runFloat(crops, { crops: { data: patch, dims: [1, 3, 14, 14] } }, ['pooled'])).pooled.data;
      const mine = await loadImage(path.join(b.datasetRoot, b.images[k].path), b.settings.preprocess);
      assert.ok(mine.ok);
      const c = (await runFloat(whole, { [info.inputName]: { data: mine.image.tensor, dims: [1, 3, 28, 28] } }, ['pooled'])).pooled.data;
      let num = 0;
      let den = 0;
      for (let j = 0; j < a.length; j++) {
        num += (a[j] - c[j]) ** 2;
        den += a[j] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(num / den));
    }
  } finally {
    await crops.release();
    await whole.release();
  }
  // Measured 0.0074 on 80 crops of the full sample: the 8-bit rounding of the loader's two resize passes.
  assert.ok(worst < 0.02, `relative difference ${worst}`);
});

test('the parent finds its refined run again (listChildren), with its sub-concepts ranked', async () => {
  const children = await listChildren(parentRun);
  assert.equal(children.length, 1);
  const c = children[0];
  assert.equal(c.path, `refined/${path.basename(child.dir)}`);
  assert.equal(c.concept, child.concept);
  assert.equal(c.layer, '/g/Relu_3_output_0');
  assert.equal(c.crops, child.bundle.images.length);
  assert.deepEqual(
    c.concepts.map((s) => s.index),
    child.bundle.ranking,
  );
  for (const s of c.concepts) {
    assert.ok(s.crops.length > 0 && s.crops.length <= 4);
    for (const k of s.crops) assert.ok(fs.existsSync(path.join(parentRun, c.path, k.file)), k.file);
  }
  // A folder in refined/ that links elsewhere is not one of its children.
  const stray = path.join(parentRun, 'refined', 'stray');
  fs.cpSync(child.dir, stray, { recursive: true, filter: (s) => !path.relative(child.dir, s).startsWith('refined') });
  editResults(stray, (b) => ((b.parent as Record<string, unknown>).run = '../../elsewhere'));
  try {
    assert.equal((await listChildren(parentRun)).length, 1);
  } finally {
    fs.rmSync(stray, { recursive: true, force: true });
  }
});

test('a refined run is refined again: the tree goes one layer earlier', async () => {
  const choice = await refineLayerChoices(child.dir, '#1');
  assert.equal(choice.parentLayer, '/g/Relu_3_output_0');
  assert.equal(choice.defaultLayer, '/g/Relu_1_output_0', 'the end of the 28×28 stage');
  assert.ok(!choice.layers.some((l) => l.name === '/g/Relu_3_output_0' || l.name === LAYER));
  const grand = await refine({ run: child.dir, concept: '#1', concepts: 2, provider: 'cpu', designs: 4 });
  assert.equal(grand.bundle.layer.name, '/g/Relu_1_output_0');
  assert.equal(grand.bundle.concepts.length, 2);
  assert.equal(path.dirname(grand.dir), path.join(child.dir, 'refined'));
  assert.equal(parentDir(grand.dir, grand.bundle.parent!), child.dir);
  assert.ok(grand.bundle.images.length >= 2);
  assert.ok(grand.bundle.importances.every(Number.isFinite));
  assert.equal((await listChildren(child.dir)).length, 1);
});

test('refine refuses what it cannot do, with the error kind the CLI maps to its exit code', async () => {
  // A run made before the coefficient arrays existed.
  const old = copyRun('old');
  editResults(old, (b) => delete b.arrays);
  await rejectsWith(refine({ run: old, concept: 0, provider: 'cpu' }), 'input', /before runs kept their coefficient arrays.*Re-run the explanation/s);
  // Concepts that do not exist.
  await rejectsWith(refine({ run: parentRun, concept: 6, provider: 'cpu' }), 'usage', /there is no concept 6/);
  await rejectsWith(refine({ run: parentRun, concept: '#7', provider: 'cpu' }), 'usage', /no concept #7/);
  await rejectsWith(refine({ run: parentRun, concept: 'laces', provider: 'cpu' }), 'usage', /No concept is named "laces"/);
  // Layers that are not earlier, not in the model, or earlier but unusable.
  await rejectsWith(
    refine({ run: parentRun, concept: 0, layer: '/h/Relu_output_0', provider: 'cpu' }),
    'usage',
    /not earlier than \/g\/MaxPool_1_output_0.*Relu_3_output_0/s,
  );
  await rejectsWith(refine({ run: parentRun, concept: 0, layer: LAYER, provider: 'cpu' }), 'usage', /earlier layer/);
  await rejectsWith(refine({ run: parentRun, concept: 0, layer: 'conv9', provider: 'cpu' }), 'usage', /no tensor named "conv9"/);
  await rejectsWith(refine({ run: parentRun, concept: 0, layer: '/g/c4/Conv_output_0', provider: 'cpu' }), 'model', /cannot be used/);
  // --out among the run's own files (its refined/ folder is where refined runs go).
  await rejectsWith(refine({ run: parentRun, concept: 0, provider: 'cpu', out: parentRun }), 'usage', /is inside the run being refined/);
  await rejectsWith(refine({ run: parentRun, concept: 0, provider: 'cpu', out: path.join(parentRun, 'images') }), 'usage', /is inside the run being refined/);
  // More sub-concepts than crops.
  await rejectsWith(refine({ run: parentRun, concept: 0, concepts: 40, provider: 'cpu' }), 'input', /fewer than the 40 sub-concepts/);
  // Too few crops: a concept strong in one crop only, and one absent everywhere.
  const few = copyRun('few');
  const file = path.join(few, 'arrays', 'crop-coefficients.f32');
  const bytes = fs.readFileSync(file);
  const r = parent.concepts.length;
  for (let j = 0; j < bytes.length / 4 / r; j++) {
    bytes.writeFloatLE(j === 5 ? 1 : 0, (j * r + 0) * 4);
    bytes.writeFloatLE(0, (j * r + 1) * 4);
  }
  fs.writeFileSync(file, bytes);
  await rejectsWith(refine({ run: few, concept: 0, provider: 'cpu' }), 'input', /Only 1 crop of concept 0/);
  await rejectsWith(refine({ run: few, concept: 1, provider: 'cpu' }), 'input', /zero coefficient on every crop/);
  // A damaged array (a NaN, a negative value) is named as such, not taken for a concept without crops.
  for (const v of [NaN, -1]) {
    bytes.writeFloatLE(v, (7 * r + 2) * 4);
    fs.writeFileSync(file, bytes);
    await rejectsWith(refine({ run: few, concept: 1, provider: 'cpu' }), 'input', /crop-coefficients\.f32 holds (NaN|-1) at row 7, column 2: .*damaged/s);
  }
  // results.json edited by hand: values the refined run would take from it.
  const edited = copyRun('edited');
  editResults(edited, (b) => ((b.settings as { patchSize: number }).patchSize = 100_000));
  await rejectsWith(refine({ run: edited, concept: 0, provider: 'cpu' }), 'input', /crops were 100000 px, larger than its 28×28 input.*damaged/s);
  editResults(edited, (b) => {
    (b.settings as { patchSize: number }).patchSize = 14;
    (b.class as { index: number }).index = 99;
  });
  await rejectsWith(refine({ run: edited, concept: 0, provider: 'cpu' }), 'input', /names class 99, but its labels list 10 classes/);
  // g and h given as two files: no earlier layer to split at.
  const split = copyRun('split');
  editResults(split, (b) => ((b.model as Record<string, unknown>).hPath = '/models/h.onnx'));
  await rejectsWith(refine({ run: split, concept: 0, provider: 'cpu' }), 'model', /g and h given as two files/);
  // None of these left a refined run or a partial folder behind.
  for (const dir of [old, few, split, edited])
    assert.ok(!fs.existsSync(path.join(dir, 'refined')) || fs.readdirSync(path.join(dir, 'refined')).length === 0, dir);
  assert.equal((await listChildren(parentRun)).length, 1);
});

test("the source images gone: the crops come from the run's own copy, and the refined run says so", async () => {
  const moved = copyRun('moved');
  editResults(moved, (b) => (b.datasetRoot = path.join(temp, 'no-such-folder')));
  const r = await refine({ run: moved, concept: '#2', concepts: 2, provider: 'cpu', designs: 4 });
  assert.ok(
    r.bundle.warnings.some((w) => /cannot be read .*its crops are cut from the run's own copy/.test(w)),
    r.bundle.warnings.join('\n'),
  );
  // The same crops as from the sources.
  const again = await refine({ run: parentRun, concept: '#2', concepts: 2, provider: 'cpu', designs: 4, out: path.join(temp, 'again') });
  assert.deepEqual(r.bundle.parent?.crops, again.bundle.parent?.crops);
  for (const [k, im] of r.bundle.images.entries()) {
    assert.ok(
      fs.readFileSync(path.join(r.bundle.datasetRoot, im.path)).equals(fs.readFileSync(path.join(again.bundle.datasetRoot, again.bundle.images[k].path))),
      im.path,
    );
  }
  // A source image changed since the run: the run's copy wins (its coefficients describe those pixels).
  const changed = copyRun('changed');
  const images = path.join(temp, 'changed-images');
  fs.cpSync(parent.datasetRoot, images, { recursive: true });
  const first = parent.images[Math.floor(r.bundle.parent!.crops[0] / parent.settings.cropsPerImage)].path;
  fs.copyFileSync(path.join(SAMPLE, 'images/sneaker', fs.readdirSync(path.join(SAMPLE, 'images/sneaker')).sort()[0]), path.join(images, first));
  editResults(changed, (b) => (b.datasetRoot = images));
  const c = await refine({ run: changed, concept: '#2', concepts: 2, provider: 'cpu', designs: 4 });
  assert.deepEqual(
    c.bundle.warnings.filter((w) => /has changed since the run/.test(w)),
    [`${first} has changed since the run: its crops are cut from the run's own copy (${parent.images.find((im) => im.path === first)!.thumbnail}).`],
  );
  assert.ok(
    fs.readFileSync(path.join(c.bundle.datasetRoot, c.bundle.images[0].path)).equals(fs.readFileSync(path.join(r.bundle.datasetRoot, r.bundle.images[0].path))),
  );
  // --out elsewhere: the link still leads back.
  assert.equal(parentDir(again.dir, again.bundle.parent!), parentRun);
  assert.notEqual(again.bundle.parent?.run, '../..');
});

test('a cancelled refine leaves no refined run and no partial folder', async () => {
  const controller = new AbortController();
  const p = refine({
    run: parentRun,
    concept: '#3',
    provider: 'cpu',
    out: path.join(temp, 'cancelled'),
    signal: controller.signal,
    onProgress: (s) => {
      if (s.stage === 'activations') controller.abort();
    },
  });
  await assert.rejects(p, (e: unknown) => e instanceof CancelledError);
  const left = fs.existsSync(path.join(temp, 'cancelled')) ? fs.readdirSync(path.join(temp, 'cancelled')) : [];
  assert.deepEqual(left, []);
});

test('a refined run reads back like any run (validate), and a damaged link is refused by name', async () => {
  const b = await readBundle(child.dir);
  assert.equal(b.parent?.crops.length, b.images.length);
  const bad = path.join(temp, 'copies', 'bad-link');
  fs.cpSync(child.dir, bad, { recursive: true });
  editResults(bad, (x) => ((x.parent as Record<string, unknown>).crops = [1, 1]));
  await assert.rejects(readBundle(bad), /parent\.crops must be an array of \d+ \(one per image\)|parent\.crops must be distinct/);
});

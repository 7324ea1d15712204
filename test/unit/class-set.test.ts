import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readBundle, latestRun, LATEST_FILE } from '../../src/craft/bundle/writer';
import { conceptCosines } from '../../src/craft/classes/compare';
import { CLASS_SET_FILE, readClassSet, setOf } from '../../src/craft/classes/index-file';
import { explainClasses } from '../../src/craft/classes/set';
import { CancelledError, CraftError } from '../../src/craft/errors';
import { explain } from '../../src/craft/explain';
import { DEFAULTS, type ClassSetOptions, type ExplainOptions } from '../../src/craft/options';
import { MODEL_READY } from '../../src/craft/stages/model';
import { listRuns } from '../../src/extension/history';
import { quickExplainArgs, runCraft, sampleImages } from './sample-cli';

const ROOT = path.resolve(__dirname, '../../..');
const SAMPLE = path.join(ROOT, 'sample');
const MODEL = path.join(SAMPLE, 'model/fmnist_cnn.onnx');
const LAYER = '/g/MaxPool_1_output_0';
/** Images per class: enough for 4 concepts, quick on 2 cores. */
const N = 16;

const temp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `craft-set-${prefix}-`));

/** Small runs: 4 concepts, 4 Sobol designs, the sample's 28 px model. */
const small = {
  ...DEFAULTS,
  model: MODEL,
  layer: LAYER,
  size: [28, 28] as [number, number],
  concepts: 4,
  patch: 14,
  designs: 4,
  provider: 'cpu' as const,
};

function setOptions(o: Partial<ClassSetOptions> & { classes: ClassSetOptions['classes'] }): ClassSetOptions & { lines: string[] } {
  const lines: string[] = [];
  return { ...small, images: path.join(SAMPLE, 'images'), out: temp('out'), maxImages: N, log: (l) => lines.push(l), lines, ...o };
}

/** A copy of the sample's images (both class folders, the first `n` of each). */
function sampleCopy(n: number): string {
  const dir = temp('images');
  for (const cls of ['ankle_boot', 'sneaker']) {
    fs.mkdirSync(path.join(dir, cls));
    sampleImages(n, cls, path.join(dir, cls));
  }
  return dir;
}

test('several classes by folder: one normal run per class in a set folder, the model prepared once, the same results as runs of their own', async () => {
  const o = setOptions({ classes: ['ankle_boot', 'Sneaker'] });
  const set = await explainClasses(o);
  // The set folder is not a run: reading it as one (craft report, craft refine, the panel) says which folders are.
  await assert.rejects(
    readBundle(set.dir),
    (e: CraftError) =>
      e.kind === 'input' &&
      /holds a run over several classes \(classes\.json\)/.test(e.message) &&
      /one class inside it: ankle-boot, sneaker/.test(e.hint ?? ''),
  );

  // The model was prepared once for both classes (a run of its own prepares it once too).
  assert.equal(o.lines.filter((l) => l.startsWith(MODEL_READY)).length, 1, o.lines.join('\n'));
  assert.ok(o.lines.some((l) => l.startsWith('Class 2/2: Sneaker')));

  // The set folder: classes.json and one folder per class, each a complete run that opens alone.
  assert.equal(path.dirname(set.dir), o.out);
  assert.match(path.basename(set.dir), /^\d{8}-\d{6}-set-ankle-boot-sneaker$/);
  assert.deepEqual(fs.readdirSync(set.dir).sort(), ['ankle-boot', CLASS_SET_FILE, 'sneaker']);
  assert.deepEqual(fs.readdirSync(o.out).sort(), [path.basename(set.dir), LATEST_FILE], 'no partial folder or scratch file left');
  assert.equal(latestRun(o.out), path.join(set.dir, 'ankle-boot'), "latest.json leads to the set's first class");
  const index = await readClassSet(set.dir);
  assert.deepEqual(index, JSON.parse(JSON.stringify(set.index)));
  assert.equal(index.mode, 'folders');
  assert.deepEqual(
    index.classes.map((c) => [c.index, c.label, c.run, c.images, c.source]),
    [
      [9, 'Ankle boot', 'ankle-boot', N, path.join(SAMPLE, 'images', 'ankle_boot')],
      [7, 'Sneaker', 'sneaker', N, path.join(SAMPLE, 'images', 'sneaker')],
    ],
  );
  const bundles = await Promise.all(index.classes.map((c) => readBundle(path.join(set.dir, c.run))));
  assert.deepEqual(
    bundles.map((b) => [b.class.index, b.datasetRoot, b.images.length]),
    [
      [9, path.join(SAMPLE, 'images', 'ankle_boot'), N],
      [7, path.join(SAMPLE, 'images', 'sneaker'), N],
    ],
  );
  const where = await setOf(path.join(set.dir, 'sneaker'));
  assert.equal(where?.position, 1);
  // "Open results…" lists each class of the set.
  assert.deepEqual((await listRuns(o.out)).map((r) => [r.classLabel, r.dir, r.set]).sort(), [
    ['Ankle boot', path.join(set.dir, 'ankle-boot'), set.dir],
    ['Sneaker', path.join(set.dir, 'sneaker'), set.dir],
  ]);

  // Sharing the model changes nothing: each class's run equals a run of its own on its folder.
  for (const [k, cls] of [9, 7].entries()) {
    const alone = await explain({ ...small, classId: cls, images: index.classes[k].source, out: temp('alone'), maxImages: N });
    assert.deepEqual(bundles[k].W, alone.bundle.W, `class ${cls}: the same concepts`);
    assert.deepEqual(bundles[k].importances, alone.bundle.importances, `class ${cls}: the same importances`);
    assert.deepEqual(
      bundles[k].images.map((im) => [im.path, im.predicted]),
      alone.bundle.images.map((im) => [im.path, im.predicted]),
    );
  }

  // The confusion comes from each run's predictions; the cosines from the runs' concept banks.
  const predicted = bundles.map((b) => b.images.map((im) => im.predicted));
  const count = (a: number, cls: number) => predicted[a].filter((p) => p === cls).length;
  assert.deepEqual(index.confusion.counts, [
    [count(0, 9), count(0, 7)],
    [count(1, 9), count(1, 7)],
  ]);
  assert.deepEqual(index.confusion.other, [N - count(0, 9) - count(0, 7), N - count(1, 9) - count(1, 7)]);
  assert.deepEqual(index.confusion.totals, [N, N]);
  assert.equal(index.pairs.length, 1);
  const pair = index.pairs[0];
  assert.deepEqual(pair.cosine, conceptCosines(bundles[0].W, bundles[1].W));
  assert.equal(pair.matches.length, 4);
  assert.equal(pair.confused, count(0, 7) + count(1, 9));
  assert.deepEqual(index.mostConfused, { a: 0, b: 1 });
  assert.ok(index.timings.model > 0 && index.timings.total >= index.timings.model);
});

test('several classes by prediction: one folder decoded and predicted once, each image explained under the class the model predicts (CraftManager)', async () => {
  const images = sampleCopy(40);
  const out = temp('out');
  // The predictions, independently: a run of its own over the whole folder records each image's argmax.
  const all = await explain({ ...small, classId: 9, images, out: temp('all'), designs: 2 });
  const want = (cls: number) =>
    all.bundle.images
      .filter((im) => im.predicted === cls)
      .slice(0, N)
      .map((im) => im.path);

  // Each image is decoded once: once the shared pass is done, the files are removed, and the class
  // runs still read every image (from the shared pass's pixels).
  const o = setOptions({ classes: [9, 'sneaker'], byPrediction: true, images, out });
  const log = o.log!;
  o.log = (line) => {
    log(line);
    if (line.startsWith('Predictions: ')) for (const cls of ['ankle_boot', 'sneaker']) fs.rmSync(path.join(images, cls), { recursive: true });
  };
  const set = await explainClasses(o);
  assert.ok(!fs.existsSync(path.join(images, 'sneaker')), 'the files were gone before the class runs');
  assert.equal(o.lines.filter((l) => l.startsWith(MODEL_READY)).length, 1);

  const index = set.index;
  assert.equal(index.mode, 'predictions');
  assert.equal(index.confusion.basis, 'runner-up');
  for (const [k, cls] of [9, 7].entries()) {
    const b = set.runs[k].bundle;
    assert.equal(b.class.index, cls);
    assert.deepEqual(
      b.images.map((im) => im.path),
      want(cls),
      `class ${cls}: the first ${N} images the model predicts as it, paths relative to the one folder`,
    );
    assert.ok(
      b.images.every((im) => im.predicted === cls),
      'and its own pass predicts them so too',
    );
    assert.equal(b.datasetRoot, images);
    assert.equal(index.classes[k].images, N);
    assert.equal(index.confusion.totals[k], N);
    assert.equal(index.confusion.counts[k][k], 0, 'the runner-up is never the class itself');
    assert.equal(index.confusion.counts[k][1 - k] + index.confusion.other[k], N);
  }
  const elsewhere = all.bundle.images.filter((im) => im.predicted !== 9 && im.predicted !== 7).length;
  assert.equal(
    Object.values(index.unassigned!.predicted).reduce((a, b) => a + b, 0),
    elsewhere,
    'the images predicted as other classes are left out, and counted',
  );
  assert.equal(index.unassigned!.unreadable, 0);

  // The shared decode is exact: the sneaker run equals a run of its own on a folder of just its images.
  const own = temp('own');
  for (const p of want(7)) {
    fs.mkdirSync(path.dirname(path.join(own, p)), { recursive: true });
    fs.copyFileSync(path.join(SAMPLE, 'images', p), path.join(own, p));
  }
  const alone = await explain({ ...small, classId: 7, images: own, out: temp('alone') });
  assert.deepEqual(set.runs[1].bundle.W, alone.bundle.W);
  assert.deepEqual(set.runs[1].bundle.importances, alone.bundle.importances);
});

test('clear errors: a class with no folder, an empty folder, no image predicted as a class, both ways of assigning at once', async () => {
  const input = async (o: ClassSetOptions, re: RegExp, kind = 'input') => {
    await assert.rejects(explainClasses(o), (e: unknown) => {
      assert.ok(e instanceof CraftError, String(e));
      assert.equal(e.kind, kind, e.message);
      assert.match(e.message, re);
      return true;
    });
    assert.deepEqual(
      fs.readdirSync(o.out).filter((n) => !n.startsWith('.')),
      [],
      'nothing written',
    );
  };
  const images = sampleCopy(4);
  await input(setOptions({ classes: ['Ankle boot', 'Coat'], images }), /No folder of images for Coat: .* The sub-folders of .* are: ankle_boot, sneaker\./);
  fs.rmSync(path.join(images, 'sneaker'), { recursive: true });
  fs.mkdirSync(path.join(images, 'sneaker'));
  await input(
    setOptions({ classes: ['Ankle boot', 'Sneaker'], images }),
    /The folder of Sneaker holds no images .* Images per class: Ankle boot 4, Sneaker 0\./,
  );
  await input(
    setOptions({ classes: ['Ankle boot', 'Coat'], images, byPrediction: true }),
    /No image of .* is predicted as Coat\. Images per class \(by the model's prediction\): Ankle boot \d, Coat 0/,
  );
  // A class whose every image is unreadable: the reasons are in the error itself (--quiet hides the log).
  const broken = sampleCopy(4);
  fs.rmSync(path.join(broken, 'sneaker'), { recursive: true });
  fs.mkdirSync(path.join(broken, 'sneaker'));
  fs.writeFileSync(path.join(broken, 'sneaker', 'broken.png'), '');
  fs.writeFileSync(path.join(broken, 'sneaker', 'x.png'), 'not a picture');
  const brokenRun = setOptions({ classes: ['Ankle boot', 'Sneaker'], images: broken });
  await input(brokenRun, /None of the 2 images of Sneaker \(.*sneaker\) could be read \(broken\.png: .+; x\.png: .+\)/);
  assert.ok(!brokenRun.lines.some((l) => l.startsWith('Class 1/2')), 'found before any class is computed');
  await input(
    setOptions({ classes: ['Ankle boot', 'Sneaker'], images, byPrediction: true, classFolders: { Sneaker: images } }),
    /By prediction, the images of every class are in one folder/,
    'usage',
  );
  await input(
    setOptions({
      classes: ['Ankle boot', 'Sneaker'],
      images,
      classFolders: { 'Ankle boot': path.join(images, 'ankle_boot'), Sneaker: path.join(images, 'ankle_boot') },
    }),
    /Ankle boot \(class 9\) and Sneaker \(class 7\) would both read .*ankle_boot: each class needs images of its own/,
  );
});

test("the classes of a set share the results root's cache: a second set run takes every class's first pass from it", async () => {
  const out = temp('cached');
  const first = setOptions({ classes: ['ankle_boot', 'Sneaker'], maxImages: 6, cacheSize: 64, out });
  const a = await explainClasses(first);
  assert.ok(fs.existsSync(path.join(out, '.cache', 'images')), 'the cache is in the results root');
  assert.ok(!fs.existsSync(path.join(a.dir, '.cache')), 'not inside the set folder');
  const second = setOptions({ classes: ['ankle_boot', 'Sneaker'], maxImages: 6, cacheSize: 64, out });
  const b = await explainClasses(second);
  assert.equal(second.lines.filter((l) => /Activations from the cache: 6 of 6 images/.test(l)).length, 2, second.lines.join('\n'));
  assert.ok(!second.lines.some((l) => /identical earlier run .* is gone/.test(l)), 'no whole-run entry to miss');
  b.runs.forEach((r, k) => assert.deepEqual(r.bundle.importances, a.runs[k].bundle.importances, `class ${k}: the same importances`));
});

test('a cancelled run over several classes leaves nothing behind, even a class already done', async () => {
  const controller = new AbortController();
  const o = setOptions({ classes: ['ankle_boot', 'sneaker'], signal: controller.signal });
  // Stop while the second class runs: the first class's run is complete inside the set's hidden folder.
  o.onProgress = (p) => {
    if (p.part?.index === 1 && p.stage === 'nmf') controller.abort();
  };
  await assert.rejects(explainClasses(o), CancelledError);
  assert.deepEqual(fs.readdirSync(o.out), [], 'no set folder, no partial folder, no latest.json');
});

const craft = (args: string[]) => runCraft(args);

test("craft explain --class a,b: exit 0 with each class's top concepts and what the most confused pair shares; errors exit 2 or 3", () => {
  const images = sampleCopy(12);
  const out = temp('cli');
  const base = quickExplainArgs(images, undefined, out, '--concepts', '4', '--designs', '4', '--quiet');
  const ok = craft([...base, '--class', 'ankle_boot,Sneaker']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^CRAFT: 2 classes \(Ankle boot, Sneaker\) by folder, layer \/g\/MaxPool_1_output_0, 4 concepts each, provider CPU/);
  assert.match(ok.stdout, /\n {2}Ankle boot \(class 9, 12 images\): concept \d 0\.\d{4} \(\d+\.\d%\), concept \d/);
  assert.match(ok.stdout, /\n {2}Sneaker \(class 7, 12 images\): concept \d/);
  assert.match(
    ok.stdout,
    /\nMost confused pair: Ankle boot \/ Sneaker: \d+ of 12 Ankle boot images predicted as Sneaker, \d+ of 12 Sneaker images as Ankle boot\.\n/,
  );
  const shared = ok.stdout.match(/\n {2}Ankle boot concept \d \(#\d\) ~ Sneaker concept \d \(#\d\): (0\.\d{3}|1\.000)/g) ?? [];
  assert.equal(shared.length, 3, ok.stdout);
  const dir = /Results: (.*) \(one run folder per class/.exec(ok.stdout)![1];
  const index = JSON.parse(fs.readFileSync(path.join(dir, CLASS_SET_FILE), 'utf8')) as { pairs: { matches: { cosine: number }[] }[] };
  assert.ok(shared[0].endsWith(index.pairs[0].matches[0].cosine.toFixed(3)), 'the most similar pair first');

  const json = craft([...base, '--class', '9,7', '--by-prediction', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { mode: string; classes: { index: number; ranking: number[]; dir: string }[]; mostConfused: { shared: unknown[] } };
  assert.equal(r.mode, 'predictions');
  assert.deepEqual(
    r.classes.map((c) => c.index),
    [9, 7],
  );
  assert.ok(r.classes.every((c) => c.ranking.length === 4 && fs.existsSync(path.join(c.dir, 'results.json'))));
  assert.equal(r.mostConfused.shared.length, 3);

  const fails = (args: string[], code: number, re: RegExp) => {
    const f = craft([...base, ...args]);
    assert.equal(f.code, code, `${args.join(' ')}: ${f.stderr}`);
    assert.match(f.stderr, re);
    assert.equal(f.stdout, '');
  };
  fails(['--class', 'Sneaker,sneaker'], 2, /"Sneaker" and "sneaker" are the same class \(7, "Sneaker"\)/);
  fails(['--class', Array.from({ length: 33 }, (_, i) => i).join(',')], 2, /--class lists 33 classes; one run explains at most 32 together/);
  fails(['--class', 'Sneaker,,Bag'], 2, /--class: an empty class in the list/);
  fails(['--class', 'Sneaker,Bag'], 3, /No folder of images for Bag: .*ankle_boot, sneaker/);
  fails(
    ['--class', 'Sneaker,Bag', '--by-prediction'],
    3,
    /No image of .* is predicted as Bag\. Images per class \(by the model's prediction\): Sneaker 1\d, Bag 0/,
  );
  assert.deepEqual(
    fs.readdirSync(out).filter((n) => n.startsWith('.') && n !== '.cache'),
    [],
    'no partial folder left (the cache stays: its entries serve the next run)',
  );
});

test('one class stays a run of its own (the set options do not apply to it)', async () => {
  const { runOptions, isClassSet } = await import('../../src/craft/options');
  const base = { ...small, images: 'x', out: 'y' };
  const one = runOptions({ ...base, classId: 'Sneaker', classFolders: { Sneaker: 'z' } });
  assert.ok(!isClassSet(one));
  assert.equal((one as ExplainOptions).classId, 'Sneaker');
  assert.ok(!('classFolders' in one));
  const two = runOptions({ ...base, classId: ['Sneaker', 9] });
  assert.ok(isClassSet(two) && two.classes.length === 2);
  // By prediction, even one class is a set (its images are those the model predicts as it).
  const predicted = runOptions({ ...base, classId: 'Sneaker', byPrediction: true });
  assert.ok(isClassSet(predicted) && predicted.classes[0] === 'Sneaker' && predicted.byPrediction);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { classFolders, folderOf, resolveClasses, type SetClass } from '../../src/craft/classes/assign';
import { comparePairs, conceptCosines, folderConfusion, matchConcepts, runnerUpConfusion } from '../../src/craft/classes/compare';
import { validateClassSet } from '../../src/craft/classes/index-file';
import { topTwo } from '../../src/craft/classes/predict';
import { CraftError } from '../../src/craft/errors';
import { MAX_CLASSES } from '../../src/craft/option-table';
import { RunEta, overallPercent } from '../../src/craft/progress';
import { parseFromWebview } from '../../src/protocol';
import { cosine, rng } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const GOLDEN_W = path.join(ROOT, 'test/fixtures/fashion-mnist/reference/W_10x64.f32');
const LABELS = JSON.parse(fs.readFileSync(path.join(ROOT, 'sample/model/labels.json'), 'utf8')) as string[];

/** The reference run's concept bank (10 × 64, non-negative): real concept directions. */
function goldenW(): number[][] {
  const b = fs.readFileSync(GOLDEN_W);
  const f = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  return Array.from({ length: 10 }, (_, i) => Array.from(f.subarray(i * 64, (i + 1) * 64)));
}

test('a class against itself: every concept matches itself with cosine 1, most similar first', () => {
  const W = goldenW();
  const cos = conceptCosines(W, W);
  for (let i = 0; i < W.length; i++) assert.ok(Math.abs(cos[i][i] - 1) < 1e-12, `diagonal ${i}: ${cos[i][i]}`);
  const matches = matchConcepts(cos);
  assert.equal(matches.length, W.length);
  for (const m of matches) {
    assert.equal(m.a, m.b, 'matched to itself');
    assert.ok(Math.abs(m.cosine - 1) < 1e-12);
  }
  // The same concepts in another order and scale (NMF's factors are defined up to both): the matching
  // recovers the order, and every cosine stays 1.
  const order = [3, 7, 0, 9, 1, 5, 2, 8, 6, 4];
  const shuffled = order.map((i, k) => W[i].map((v) => v * (0.5 + k)));
  for (const m of matchConcepts(conceptCosines(W, shuffled))) {
    assert.equal(order[m.b], m.a, `concept ${m.a} found at ${m.b}`);
    assert.ok(Math.abs(m.cosine - 1) < 1e-12);
  }
});

test('the cosines are symmetric across the pair: (b, a) is the transpose of (a, b), with the same matches', () => {
  const W = goldenW();
  const r = rng(7);
  // Another bank: the golden one with noise, one concept fewer (banks of different sizes compare too).
  const V = W.slice(0, 9).map((row) => row.map((v) => Math.max(0, v + 0.3 * (r() - 0.5) * v + 0.05 * r())));
  const ab = conceptCosines(W, V);
  const ba = conceptCosines(V, W);
  assert.equal(ab.length, 10);
  assert.equal(ab[0].length, 9);
  for (let i = 0; i < 10; i++) for (let j = 0; j < 9; j++) assert.equal(ba[j][i], ab[i][j], `(${i}, ${j})`);
  // Against the helper's own cosine, computed another way.
  for (let i = 0; i < 10; i++) for (let j = 0; j < 9; j++) assert.ok(Math.abs(ab[i][j] - cosine(W[i], V[j])) < 1e-12);
  // Non-negative banks: cosines in [0, 1].
  assert.ok(ab.flat().every((c) => c >= 0 && c <= 1));
  const m1 = matchConcepts(ab);
  const m2 = matchConcepts(ba).map((m) => ({ a: m.b, b: m.a, cosine: m.cosine }));
  assert.deepEqual(m1, m2);
  assert.equal(m1.length, 9, 'min(r_a, r_b) pairs');
  assert.equal(new Set(m1.map((m) => m.a)).size, 9, 'one-to-one');
  // Greedy: the first pair is the largest cosine there is, and the list is sorted.
  assert.equal(m1[0].cosine, Math.max(...ab.flat()));
  for (let k = 1; k < m1.length; k++) assert.ok(m1[k - 1].cosine >= m1[k].cosine);
});

test('a concept that is all zeros has no direction: cosine 0 with everything', () => {
  const cos = conceptCosines(
    [
      [0, 0, 0],
      [1, 2, 2],
    ],
    [
      [2, 4, 4],
      [0, 0, 0],
    ],
  );
  assert.deepEqual(cos, [
    [0, 0],
    [1, 0],
  ]);
  assert.throws(() => conceptCosines([[1, 2]], [[1, 2, 3]]), RangeError);
});

test('confusion by folder and by runner-up class; the most confused pair (ties: the first)', () => {
  // Classes 9, 7, 5; rows are each class's images and what the model predicts for them.
  const c = folderConfusion(
    [9, 7, 5],
    [
      [9, 9, 7, 3],
      [7, 5, 5, 9],
      [5, 7, 7, 7, 1],
    ],
  );
  assert.deepEqual(c.counts, [
    [2, 1, 0],
    [1, 1, 2],
    [0, 3, 1],
  ]);
  assert.deepEqual(c.other, [1, 0, 1]);
  assert.deepEqual(c.totals, [4, 4, 5]);
  const W = [goldenW().slice(0, 3), goldenW().slice(3, 6), goldenW().slice(6, 9)];
  const { pairs, mostConfused } = comparePairs(W, c);
  assert.deepEqual(
    pairs.map((p) => [p.a, p.b, p.confused]),
    [
      [0, 1, 2],
      [0, 2, 0],
      [1, 2, 5],
    ],
  );
  assert.deepEqual(mostConfused, { a: 1, b: 2 });
  const none = comparePairs(W, folderConfusion([9, 7, 5], [[9], [7], [5]]));
  assert.deepEqual(none.mostConfused, { a: 0, b: 1 }, 'no confusion at all: the first pair');
  assert.equal(comparePairs([W[0]], folderConfusion([9], [[9]])).mostConfused, undefined, 'one class: no pair');

  const r = runnerUpConfusion(
    [9, 7],
    [
      { predicted: 9, runnerUp: 7 },
      { predicted: 9, runnerUp: 5 },
      { predicted: 7, runnerUp: 9 },
      { predicted: 3, runnerUp: 9 },
    ],
  );
  assert.deepEqual(r, {
    basis: 'runner-up',
    counts: [
      [0, 1],
      [1, 0],
    ],
    other: [1, 0],
    totals: [2, 1],
  });
});

test('topTwo: the most likely class and the next one (ties: the lower index)', () => {
  assert.deepEqual(topTwo([0.1, 3, -2, 3, 2.5]), [1, 3]);
  assert.deepEqual(topTwo([5, 1, 4]), [0, 2]);
  assert.deepEqual(topTwo([1, 4, 5]), [2, 1]);
  assert.deepEqual(topTwo([7]), [0, 0]);
});

function tree(names: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-classes-'));
  for (const n of names) fs.mkdirSync(path.join(root, n));
  return root;
}

test("classes find their folders by label, by the name given or by index ('_', '-', spaces and case alike)", async () => {
  const classes = resolveClasses(['ankle_boot', 'SNEAKER', 5, 'Bag'], 10, LABELS);
  assert.deepEqual(
    classes.map((c) => [c.index, c.label]),
    [
      [9, 'Ankle boot'],
      [7, 'Sneaker'],
      [5, 'Sandal'],
      [8, 'Bag'],
    ],
  );
  const root = tree(['Ankle-Boot', 'sneaker', '5', 'bags', '.hidden']);
  const mapped = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bags-'));
  const folders = await classFolders(classes, root, { bag: mapped });
  assert.deepEqual(folders, [path.join(root, 'Ankle-Boot'), path.join(root, 'sneaker'), path.join(root, '5'), mapped]);
  // A class with no folder: an input error naming it and listing the folders there are.
  await assert.rejects(classFolders(classes, root), (e: unknown) => {
    assert.ok(e instanceof CraftError && e.kind === 'input');
    assert.match(e.message, /No folder of images for Bag/);
    assert.match(e.message, /are: 5, Ankle-Boot, bags, sneaker\./);
    assert.doesNotMatch(e.message, /\.hidden/);
    assert.match(e.hint ?? '', /"bag"/);
    return true;
  });
  // A mapping key that is not a class of the run is a mistake.
  await assert.rejects(classFolders(classes, root, { Coat: mapped }), /"classFolders" maps "Coat", which is not one of the classes/);
  // Two folders for one class.
  const two = tree(['ankle_boot', 'Ankle Boot']);
  assert.throws(() => folderOf(classes[0], ['ankle_boot', 'Ankle Boot'], two), /Two sub-folders of .* are named after Ankle boot: ankle_boot and Ankle Boot/);
});

test('a class listed twice (in any spelling) and too many classes are usage errors', () => {
  const usage = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof CraftError && e.kind === 'usage', String(e));
      assert.match(e.message, re);
      return true;
    });
  usage(() => resolveClasses(['Sneaker', 'sneaker'], 10, LABELS), /"Sneaker" and "sneaker" are the same class \(7, "Sneaker"\)/);
  usage(() => resolveClasses([9, 'Ankle boot'], 10, LABELS), /9 and "Ankle boot" are the same class/);
  usage(() => resolveClasses([3, 3], 10, undefined), /Class 3 is listed twice/);
  usage(() => resolveClasses(['Boot', 'Bag'], 10, LABELS), /Unknown class "Boot"/);
  usage(() => resolveClasses([], 10, LABELS), /empty/);
  const many = Array.from({ length: MAX_CLASSES + 1 }, (_, i) => i);
  usage(() => resolveClasses(many, 1000, undefined), new RegExp(`${MAX_CLASSES + 1} classes were given; one run explains at most ${MAX_CLASSES}`));
  const most: SetClass[] = resolveClasses(many.slice(0, MAX_CLASSES), 1000, undefined);
  assert.equal(most.length, MAX_CLASSES);
});

test("the page's request to show another class of the set is checked like every message", () => {
  assert.deepEqual(parseFromWebview({ type: 'showClass', position: 1 }, { images: 5, concepts: 3, classes: 2 }), { type: 'showClass', position: 1 });
  for (const bad of [
    { type: 'showClass', position: 2 },
    { type: 'showClass', position: -1 },
    { type: 'showClass', position: 0.5 },
    { type: 'showClass', position: '1' },
    { type: 'showClass' },
    { type: 'showClass', position: 0, run: '../x' },
  ]) {
    assert.equal(parseFromWebview(bad, { images: 5, concepts: 3, classes: 2 }), undefined, JSON.stringify(bad));
  }
  // A run of its own has no set: no class to show.
  assert.equal(parseFromWebview({ type: 'showClass', position: 0 }, { images: 5, concepts: 3 }), undefined);
});

test('classes.json is checked before the host or the page relies on it', () => {
  const good = {
    version: 1,
    mode: 'folders',
    classes: [
      { index: 9, label: 'Ankle boot', run: 'ankle-boot', images: 3, source: '/x' },
      { index: 7, run: 'sneaker', images: 2, source: '/y' },
    ],
    confusion: {
      basis: 'folders',
      counts: [
        [3, 0],
        [1, 1],
      ],
      other: [0, 0],
      totals: [3, 2],
    },
    pairs: [{ a: 0, b: 1, cosine: [[0.5]], matches: [{ a: 0, b: 0, cosine: 0.5 }], confused: 1 }],
    mostConfused: { a: 0, b: 1 },
  };
  assert.equal(validateClassSet(good, 'classes.json'), good);
  const bad = (change: (v: typeof good) => void, re: RegExp) => {
    const v = JSON.parse(JSON.stringify(good)) as typeof good;
    change(v);
    assert.throws(() => validateClassSet(v, 'classes.json'), re);
  };
  bad((v) => (v.classes[1].run = '../elsewhere'), /class 1 has no index, run folder name/);
  bad((v) => (v.classes[1].run = '.hidden'), /class 1/);
  bad((v) => (v.version = 2), /version 2/);
  bad((v) => (v.pairs = []), /"pairs" does not list the 1 pairs/);
  bad((v) => (v.confusion.counts[1] = [1]), /"confusion"/);
  bad((v) => (v.pairs[0].cosine = [[2]]), /"cosine"/);
  bad((v) => (v.mostConfused = { a: 0, b: 5 }), /"mostConfused"/);
});

test('the progress of a run over several classes: each class an equal share, and the time left counts the classes to come', () => {
  const part = (index: number) => ({ index, of: 2, label: `class ${index}` });
  assert.equal(overallPercent({ stage: 'write', done: 1, total: 1, unit: 'bundle', part: part(0) }), 50);
  assert.equal(overallPercent({ stage: 'model', done: 0, total: 1, unit: 'steps', part: part(1) }), 50);
  assert.equal(overallPercent({ stage: 'write', done: 1, total: 1, unit: 'bundle', part: part(1) }), 100);
  assert.equal(overallPercent({ stage: 'write', done: 1, total: 1, unit: 'bundle' }), 100, 'one class: as before');
  // 10 s for the first class: about 10 s are left for the second.
  let now = 0;
  const eta = new RunEta(() => now);
  eta.update({ stage: 'model', done: 0, total: 1, unit: 'steps', part: part(0) });
  now = 10_000;
  const left = eta.update({ stage: 'write', done: 1, total: 1, unit: 'bundle', part: part(0) });
  assert.ok(left !== undefined && Math.abs(left - 10) < 0.5, `left ${left}`);
});

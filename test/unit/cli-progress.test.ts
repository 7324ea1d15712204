// The progress shown by the CLI and the VS Code notification (src/craft/progress.ts): durations, the
// run's percentage and the time left; and the defaults the extension's prompts offer first
// (src/extension/suggest.ts, free of 'vscode').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { STAGES, type Progress } from '../../src/craft/options';
import { RunEta, STAGE_WEIGHT, formatSeconds, overallPercent } from '../../src/craft/progress';
import { classForFolder, defaultImageFolder } from '../../src/extension/suggest';

test('formatSeconds rounds once, to what it shows: no "60s", "4m60s" or "59m60s"', () => {
  const cases: [number, string][] = [
    [0, '0.0s'],
    [4.24, '4.2s'],
    [9.94, '9.9s'],
    [9.96, '10s'],
    [10, '10s'],
    [42.4, '42s'],
    [59.4, '59s'],
    [59.5, '1m00s'],
    [59.99, '1m00s'],
    [60, '1m00s'],
    [61, '1m01s'],
    [119.4, '1m59s'],
    [119.5, '2m00s'],
    [119.6, '2m00s'],
    [239.6, '4m00s'],
    [299.5, '5m00s'],
    [3599.4, '59m59s'],
    [3599.5, '1h00m00s'],
    [3599.7, '1h00m00s'],
    [3600, '1h00m00s'],
    [3661, '1h01m01s'],
    [7199.6, '2h00m00s'],
    [-3, '0.0s'],
    [Infinity, '?'],
    [NaN, '?'],
  ];
  for (const [s, want] of cases) assert.equal(formatSeconds(s), want, String(s));
  // Nowhere a field of 60 or more below the largest unit.
  for (let s = 0; s < 4 * 3600; s += 0.1) {
    const text = formatSeconds(s);
    for (const m of text.matchAll(/(\d+)([ms])/g)) if ((m.index ?? 0) > 0) assert.ok(Number(m[1]) < 60, `${s} → ${text}`);
    assert.notEqual(text, '60s', String(s));
  }
});

test('the run percentage climbs from 0 to 100 through the stages, never back', () => {
  let last = -1;
  for (const stage of STAGES) {
    for (const done of [0, 1, 5, 10]) {
      const p = overallPercent({ stage, done, total: 10, unit: 'x' });
      assert.ok(p >= last, `${stage} ${done}/10: ${p} after ${last}`);
      last = p;
    }
  }
  assert.equal(overallPercent({ stage: 'model', done: 0, total: 1, unit: 'steps' }), 0);
  assert.equal(Math.round(overallPercent({ stage: 'write', done: 1, total: 1, unit: 'bundle' })), 100);
  assert.equal(
    STAGES.reduce((a, s) => a + STAGE_WEIGHT[s], 0),
    100,
    'the weights are percentages',
  );
  // No stage left out of the bar (a stage added to STAGES needs a weight).
  for (const s of STAGES) assert.ok(STAGE_WEIGHT[s] > 0, s);
});

test('RunEta: no guess in the first seconds; then the stage rate plus the later stages at the pace so far', () => {
  let now = 0;
  const eta = new RunEta(() => now);
  const at = (t: number, p: Progress) => {
    now = t;
    return eta.update(p);
  };
  assert.equal(at(0, { stage: 'model', done: 0, total: 1, unit: 'steps' }), undefined);
  assert.equal(at(1000, { stage: 'model', done: 1, total: 1, unit: 'steps' }), undefined, 'too early');
  // 10 s in, a third of the activations: 5 % + 62 % / 3 done.
  const left = at(10_000, { stage: 'activations', done: 0, total: 90, unit: 'images' });
  assert.ok(left !== undefined && left > 0, 'an estimate from the pace so far');
  at(12_000, { stage: 'activations', done: 10, total: 90, unit: 'images' });
  const mid = at(22_000, { stage: 'activations', done: 60, total: 90, unit: 'images' })!;
  // The stage: 30 images left at 5/s = 6 s; the later stages: their 33 % of the run at the pace so far.
  const fraction = 0.05 + 0.62 * (60 / 90);
  assert.ok(Math.abs(mid - (6 + (0.33 * 22) / fraction)) < 1e-9, String(mid));
  assert.equal(at(30_000, { stage: 'write', done: 1, total: 1, unit: 'bundle' }), 0, 'done: nothing left');
});

test('the image folder offered first: the last used, else the folder holding the most images directly, never the workspace first', () => {
  const ws = path.resolve('/ws');
  const f = (rel: string, count: number, direct: number) => ({ folder: path.join(ws, rel), count, direct });
  const folders = [f('', 460, 60), f('images', 400, 0), f('images/ankle_boot', 200, 200), f('images/sneaker', 200, 200), f('docs', 3, 3)];
  assert.equal(defaultImageFolder(folders, [ws]), path.join(ws, 'images/ankle_boot'), 'most images directly; ties by path');
  assert.equal(defaultImageFolder([...folders, f('data/boots', 250, 250)], [ws]), path.join(ws, 'data/boots'));
  assert.equal(defaultImageFolder(folders, [ws], path.join(ws, 'images/sneaker')), path.join(ws, 'images/sneaker'), 'the last used');
  assert.equal(defaultImageFolder(folders, [ws], path.join(ws, 'gone')), path.join(ws, 'images/ankle_boot'), 'a last used folder no longer listed');
  // The workspace folder holds the most images directly, yet comes after a folder of one class.
  assert.equal(defaultImageFolder([f('', 900, 800), f('cats', 100, 100)], [ws]), path.join(ws, 'cats'));
  assert.equal(defaultImageFolder([f('', 9, 9)], [ws]), ws, 'unless nothing else holds images');
  assert.equal(defaultImageFolder([], [ws]), undefined);
});

test('the class a folder names: case, "_", "-" and spaces do not matter; plurals are tolerated', () => {
  const fmnist = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  assert.equal(classForFolder('/data/ankle_boot', fmnist), 9);
  assert.equal(classForFolder('/data/Ankle-Boot', fmnist), 9);
  assert.equal(classForFolder('/data/ankle boots', fmnist), 9);
  assert.equal(classForFolder('/data/sneakers', fmnist), 7);
  assert.equal(classForFolder('/data/trousers', fmnist), 1);
  assert.equal(classForFolder('/data/t_shirt_top', fmnist), 0);
  assert.equal(classForFolder('/data/dresses', fmnist), 3);
  assert.equal(classForFolder('/data/images', fmnist), undefined);
  assert.equal(classForFolder('/data/shirts', fmnist), 6, '"Shirt", not "T-shirt/top"');
  assert.equal(classForFolder('/data/batteries', ['battery', 'bat']), 0);
  // "Shirt" and "Shirts" both labels: the exact one.
  assert.equal(classForFolder('/data/shirts', ['shirt', 'shirts']), 1);
  // A folder named by an index, when no label matches.
  assert.equal(classForFolder('/data/9', fmnist), 9);
  assert.equal(classForFolder('/data/12', fmnist), undefined, 'no class 12');
  assert.equal(classForFolder('/data/3', undefined, 5), 3);
  assert.equal(classForFolder('/data/cats', undefined), undefined);
});

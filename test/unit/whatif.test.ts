/** What-if on a finished run: h on one image's reconstruction with its concepts scaled. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../../src/craft/explain';
import { CraftError } from '../../src/craft/errors';
import { WhatIf, MAX_SCALE } from '../../src/craft/whatif';
import type { ResultsBundle } from '../../src/protocol';
import { quickExplainOptions, sampleImages } from './sample-cli';

let run: { dir: string; bundle: ResultsBundle };
let whatIf: WhatIf;

before(async () => {
  run = await explain(quickExplainOptions(sampleImages(16), { concepts: 4, designs: 8 }));
  whatIf = await WhatIf.open(run.dir);
});

after(() => whatIf?.close());

test("all scales 1 is the image's own reconstruction; its probabilities sum to 1 and the top classes are sorted", async () => {
  const a = await whatIf.query(0, [1, 1, 1, 1]);
  assert.equal(a.target.index, 9);
  assert.equal(a.target.label, 'Ankle boot');
  assert.equal(a.target.logit, a.reconstruction.target.logit);
  assert.ok(Math.abs(a.top.reduce((s, c) => s + c.probability, 0) - 1) < 0.05, 'the top 5 of 10 classes hold almost all the probability');
  for (let k = 1; k < a.top.length; k++) assert.ok(a.top[k - 1].probability >= a.top[k].probability);
});

test('switching off the most important concept lowers the class logit on most images; all off gives the same answer for every image', async () => {
  const top = run.bundle.ranking[0];
  let lower = 0;
  const empty: number[] = [];
  for (let i = 0; i < run.bundle.images.length; i++) {
    const scales = [1, 1, 1, 1];
    scales[top] = 0;
    const a = await whatIf.query(i, scales);
    if (a.target.logit < a.reconstruction.target.logit) lower++;
    empty.push((await whatIf.query(i, [0, 0, 0, 0])).target.logit);
  }
  assert.ok(lower >= 12, `${lower} of 16 images`);
  // Nothing left of the image: h sees the same (zero) activations whatever the image.
  assert.ok(
    empty.every((v) => v === empty[0]),
    `${empty}`,
  );
  // Doubling the concept instead raises the logit where removing it lowered it.
  const scales = [1, 1, 1, 1];
  scales[top] = 2;
  const doubled = await whatIf.query(0, scales);
  assert.ok(doubled.target.logit > doubled.reconstruction.target.logit);
});

test('bad queries are usage errors; a run without coefficient arrays is refused with what to do', async () => {
  for (const [image, scales] of [
    [99, [1, 1, 1, 1]],
    [-1, [1, 1, 1, 1]],
    [0, [1, 1, 1]],
    [0, [1, 1, 1, MAX_SCALE + 1]],
    [0, [1, 1, 1, NaN]],
  ] as const) {
    await assert.rejects(whatIf.query(image, scales), (e: unknown) => e instanceof CraftError && e.kind === 'usage');
  }
  const old = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-whatif-old-'));
  const b = JSON.parse(fs.readFileSync(path.join(run.dir, 'results.json'), 'utf8')) as ResultsBundle;
  delete b.arrays;
  fs.writeFileSync(path.join(old, 'results.json'), JSON.stringify(b));
  await assert.rejects(WhatIf.open(old), (e: unknown) => e instanceof CraftError && /made before runs kept their coefficients/.test(e.message));
});

/** The host side of what-if: the long-lived engine process the panel asks, with the real worker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../../src/craft/explain';
import { WhatIfClient } from '../../src/extension/whatif';
import { parseFromWebview } from '../../src/protocol';
import { quickExplainOptions, sampleImages } from './sample-cli';

test('one process answers many questions; a bad question is an error answer; a run without coefficients fails to open', async () => {
  const { dir } = await explain(quickExplainOptions(sampleImages(8), { concepts: 3, designs: 4 }));
  const client = new WhatIfClient(dir);
  try {
    const own = await client.ask(0, [1, 1, 1]);
    assert.equal(own.target.index, 9);
    assert.equal(own.target.logit, own.reconstruction.target.logit);
    const off = await client.ask(0, [0, 0, 0]);
    assert.notEqual(off.target.logit, own.target.logit);
    // Answers to questions asked together come back to the right askers.
    const many = await Promise.all([0, 1, 2, 3].map((i) => client.ask(i, [1, 0.5, 1])));
    assert.deepEqual(
      many.map((a) => a.image),
      [0, 1, 2, 3],
    );
    await assert.rejects(client.ask(42, [1, 1, 1]), /No image 42/);
    // The process survives a bad question.
    assert.equal((await client.ask(1, [1, 1, 1])).image, 1);
  } finally {
    client.dispose();
  }
  const old = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-whatif-old-'));
  const b = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
  delete b.arrays;
  fs.writeFileSync(path.join(old, 'results.json'), JSON.stringify(b));
  const bad = new WhatIfClient(old);
  await assert.rejects(bad.ask(0, [1, 1, 1]), /made before runs kept their coefficients/);
  bad.dispose();
});

test('the whatIf message: an image index and one finite scale in 0…4 per concept, nothing else', () => {
  assert.deepEqual(parseFromWebview({ type: 'whatIf', id: 7, image: 2, scales: [0, 1, 2.5] }, { images: 5, concepts: 3 }), {
    type: 'whatIf',
    id: 7,
    image: 2,
    scales: [0, 1, 2.5],
  });
  for (const bad of [
    { type: 'whatIf', id: 7, image: 5, scales: [1, 1, 1] },
    { type: 'whatIf', id: -1, image: 0, scales: [1, 1, 1] },
    { type: 'whatIf', id: 1.5, image: 0, scales: [1, 1, 1] },
    { type: 'whatIf', id: 1, image: 0, scales: [1, 1] },
    { type: 'whatIf', id: 1, image: 0, scales: [1, 1, 5] },
    { type: 'whatIf', id: 1, image: 0, scales: [1, -0.1, 1] },
    { type: 'whatIf', id: 1, image: 0, scales: [1, '1', 1] },
    { type: 'whatIf', id: 1, image: 0, scales: '1,1,1' },
    { type: 'whatIf', id: 1, image: 0, scales: [1, 1, 1], more: 1 },
  ])
    assert.equal(parseFromWebview(bad, { images: 5, concepts: 3 }), undefined, JSON.stringify(bad));
});

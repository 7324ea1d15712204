// What `craft explain` users see of the results folder: a run that succeeded is reported as such even
// when latest.json cannot be updated, and a run killed by a signal leaves nothing the next run keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { partialOwner } from '../../src/craft/bundle/partials';
import { LATEST_FILE, RESULTS_FILE } from '../../src/craft/bundle/writer';
import { ROOT, partials, runNode, tempDir } from './bundle-helpers';
import { quickExplainArgs } from './sample-cli';

const CRAFT = path.join(ROOT, 'bin/craft.js');

function explainArgs(images: string, out: string, extra: string[] = []): string[] {
  return [CRAFT, ...quickExplainArgs(images, '9', out, ...extra)];
}

test('craft explain: latest.json that cannot be updated is a warning, the run exits 0 and names its folder', async () => {
  const out = tempDir('cli-latest');
  fs.mkdirSync(path.join(out, LATEST_FILE));
  const r = await runNode(explainArgs(path.join(ROOT, 'sample/images/ankle_boot'), out, ['--concepts', '2', '--designs', '4', '--max-images', '6']));
  assert.equal(r.code, 0, r.stderr);
  const dir = /Results: (.*)/.exec(r.stdout)?.[1].trim();
  assert.ok(dir && fs.existsSync(path.join(dir, RESULTS_FILE)), r.stdout);
  assert.match(r.stderr, new RegExp(`Warning: The run is complete in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, but .*latest\\.json could not be updated`));
  assert.deepEqual(partials(out), [], 'no temporary file is left');
});

test('craft explain killed by SIGTERM leaves a partial folder at most, which the next run in the same folder removes', async (t) => {
  const out = tempDir('cli-sigterm');
  const images = path.join(ROOT, 'sample/images');
  const child = spawn(process.execPath, explainArgs(images, out, ['--quiet']), { stdio: 'ignore' });
  const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const end = Date.now() + 60_000;
  while (partials(out).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.equal(partials(out).length, 1, 'the run has opened its partial folder');
  child.kill('SIGTERM');
  const signal = await exit;
  const left = partials(out);
  t.diagnostic(`after ${signal ?? 'exit'}: ${left.length ? left.join(', ') : 'nothing'} left`);
  assert.ok(left.length <= 1);
  assert.ok(
    left.every((name) => partialOwner(name)?.pid === child.pid),
    'only what the killed run owned',
  );

  const next = await runNode(explainArgs(path.join(images, 'sneaker'), out, ['--concepts', '2', '--designs', '4', '--max-images', '4', '--quiet']));
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(partials(out), [], "the killed run's partial folder is gone");
  assert.equal(fs.readdirSync(out).filter((n) => !n.startsWith('.') && n !== LATEST_FILE).length, 1, 'one complete run');
});

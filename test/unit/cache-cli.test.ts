/**
 * The cache through the command line, in real processes: a run killed with SIGKILL in its first pass
 * resumes from the images it had finished, two runs writing the same cache at once, and `craft cache
 * info|clear` with its exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RESULTS_FILE } from '../../src/craft/bundle/writer';
import type { ResultsBundle } from '../../src/protocol';
import { CRAFT_BIN as CRAFT, ROOT, quickExplainArgs, runCraft } from './sample-cli';

const CLIPART = path.join(ROOT, 'test/fixtures/clipart-mobilenetv2');
const temp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `craft-${prefix}-`));

const craft = (args: string[]) => runCraft(args, { timeoutMs: 300_000 });

function readResults(dir: string): ResultsBundle {
  return JSON.parse(fs.readFileSync(path.join(dir, RESULTS_FILE), 'utf8')) as ResultsBundle;
}

/** What must not differ between a resumed (or concurrent) run and an uncached one: every number and file of the results. */
function sameResults(a: string, b: string, what: string): void {
  const strip = (r: ResultsBundle) => ({ ...r, createdAt: undefined, timings: undefined });
  assert.deepEqual(strip(readResults(b)), strip(readResults(a)), `${what}: results.json`);
  for (const f of ['arrays/crop-coefficients.f32', 'arrays/image-coefficients.f32', 'images/0.png', 'maps/0.png', 'crops/c0_0.png']) {
    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${what}: ${f} identical`);
  }
}

const clipartArgs = (out: string, extra: string[] = []) => [
  'explain',
  '--model',
  path.join(CLIPART, 'clipart_mobilenetv2.onnx'),
  '--images',
  path.join(CLIPART, 'images/playing_cards'),
  '--class',
  'playing_cards',
  '--layer',
  'out_relu',
  '--concepts',
  '3',
  '--designs',
  '4',
  '--provider',
  'cpu',
  // Four images a batch: the first pass writes its entries in six steps, so a kill at the first lands mid-pass.
  '--batch',
  '4',
  '--out',
  out,
  ...extra,
];

test('a run killed (SIGKILL) during its first pass resumes: the images cached before the kill are not computed again', async () => {
  const out = temp('cache-kill');
  const imagesDir = path.join(out, '.cache', 'images');
  const child = spawn(process.execPath, [CRAFT, ...clipartArgs(out, ['--quiet'])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Killed as soon as the first batch of images is in the cache (the first pass takes six batches).
  const count = () => (fs.existsSync(imagesDir) ? fs.readdirSync(imagesDir).filter((n) => !n.startsWith('.')).length : 0);
  const t0 = Date.now();
  while (count() === 0 && child.exitCode === null && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `killed while running: ${stderr}`);
  const cached = count();
  assert.ok(cached > 0 && cached < 24, `killed with ${cached} of 24 images cached`);
  assert.deepEqual(
    fs.readdirSync(out).filter((n) => !n.startsWith('.')),
    [],
    'no run folder',
  );

  const resumed = craft(clipartArgs(out));
  assert.equal(resumed.code, 0, resumed.stderr);
  const m = /Activations from the cache: (\d+) of 24 images \((\d+) computed\)/.exec(resumed.stderr);
  assert.ok(m, resumed.stderr);
  assert.ok(Number(m[1]) >= cached, `${m[1]} images from the cache, ${cached} were cached at the kill`);
  console.log(`killed with ${cached} of 24 images cached; the resumed run took ${m[1]} from the cache and computed ${m[2]}`);
  assert.equal(Number(m[1]) + Number(m[2]), 24);
  assert.ok(fs.readdirSync(out).some((n) => n.startsWith('.partial-')) === false, "the killed run's partial folder is gone");
  const resumedDir = resumed.stdout.match(/Results: (.*)/)![1].trim();

  const uncached = craft(clipartArgs(temp('cache-kill-ref'), ['--cache-size', '0']));
  assert.equal(uncached.code, 0, uncached.stderr);
  assert.doesNotMatch(uncached.stderr, /from the cache/);
  sameResults(uncached.stdout.match(/Results: (.*)/)![1].trim(), resumedDir, 'resumed run');
});

test('two runs writing the same cache at once both succeed with the same results, and leave a cache that a third run reuses', async () => {
  const out = temp('cache-concurrent');
  const images = path.join(ROOT, 'sample/images/ankle_boot');
  const args = quickExplainArgs(images, '9', out, '--concepts', '4', '--designs', '4', '--json', '--quiet');
  const start = () =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CRAFT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  const [a, b] = await Promise.all([start(), start()]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const dirA = (JSON.parse(a.stdout) as { dir: string }).dir;
  const dirB = (JSON.parse(b.stdout) as { dir: string }).dir;
  assert.notEqual(dirA, dirB);
  sameResults(dirA, dirB, 'concurrent runs');
  assert.deepEqual(
    fs.readdirSync(path.join(out, '.cache', 'images')).filter((n) => n.startsWith('.')),
    [],
    'no temporary file left',
  );
  const third = craft(args.filter((x) => x !== '--quiet'));
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /Results reused from the identical run|Activations from the cache: 200 of 200/);
  assert.doesNotMatch(third.stderr, /damaged/);
  sameResults(dirA, (JSON.parse(third.stdout) as { dir: string }).dir, 'third run');
});

test('craft cache info | clear: what the cache holds, emptied; usage errors exit 2', () => {
  const out = temp('cache-cmd');
  const run = craft(quickExplainArgs(path.join(ROOT, 'sample/images/sneaker'), '7', out, '--concepts', '3', '--designs', '4', '--max-images', '10', '--quiet'));
  assert.equal(run.code, 0, run.stderr);
  const info = craft(['cache', 'info', '--out', out]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`Cache: ${path.join(out, '.cache').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(info.stdout, /images +10 entries/);
  assert.match(info.stdout, /fit +1 entries/);
  assert.match(info.stdout, /total +\d+ entries .*limit 2048\.0 MB/);
  const json = JSON.parse(craft(['cache', 'info', '--out', out, '--json']).stdout) as { entries: number; kinds: Record<string, { entries: number }> };
  assert.equal(json.kinds.images.entries, 10);
  const cleared = craft(['cache', 'clear', '--out', out]);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, new RegExp(`Cleared .*: ${json.entries} entries`));
  assert.equal(fs.existsSync(path.join(out, '.cache')), false);
  assert.ok(
    fs.readdirSync(out).some((n) => !n.startsWith('.') && n !== 'latest.json'),
    'the runs are kept',
  );
  assert.match(craft(['cache', 'info', '--out', out]).stdout, /\(empty\)/);
  const bad = craft(['cache', 'purge', '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown cache action "purge"/);
  assert.equal(craft(['cache']).code, 2);
  assert.equal(craft(['cache', 'info', '--concepts', '3']).code, 2, 'a flag of another command');
  // A mistyped --out is not an empty cache.
  const missing = craft(['cache', 'clear', '--out', path.join(out, 'no-such-folder')]);
  assert.equal(missing.code, 3, missing.stderr);
  assert.match(missing.stderr, /no-such-folder does not exist: no results folder there/);
  const file = path.join(out, 'latest.json');
  assert.match(craft(['cache', 'info', '--out', file]).stderr, /is not a folder/);
  const odd = temp('cache-file');
  fs.writeFileSync(path.join(odd, '.cache'), 'not a cache');
  const notFolder = craft(['cache', 'info', '--out', odd]);
  assert.equal(notFolder.code, 3);
  assert.match(notFolder.stderr, /\.cache is not a folder, so it is not a CRAFT cache/);
});

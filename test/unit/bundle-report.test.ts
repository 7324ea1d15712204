// The standalone report and the files around it: it never overwrites the bundle it reads, embeds only
// regular files whose real path is inside the bundle, and leaves local absolute paths out unless asked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CraftError } from '../../src/craft/errors';
import { writeReport } from '../../src/craft/bundle/report';
import { RESULTS_FILE } from '../../src/craft/bundle/writer';
import { makeFixtureBundle, type Fixture } from '../webview/fixture';
import { ROOT } from './bundle-helpers';
import type { ResultsBundle } from '../../src/protocol';

let fx: Fixture;

before(async () => {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-webview.js'), '--quiet'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, `build-webview failed: ${build.stderr}`);
  fx = await makeFixtureBundle({ images: 4, concepts: 2, designs: 4 });
});

after(() => fx?.cleanup());

/** A private copy of the fixture's run folder, to damage. */
function copyRun(name: string): string {
  const copy = path.join(fx.temp, name);
  fs.cpSync(fx.runDir, copy, { recursive: true });
  return copy;
}

/** Every file of a folder with its bytes, to compare before and after. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if (entry.isFile()) files.set(path.relative(dir, full), fs.readFileSync(full).toString('base64'));
  }
  return files;
}

function dataBlock(html: string): { bundle: ResultsBundle; runDir: string; files: Record<string, string> } {
  const m = /<script type="application\/json" id="craft-report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the report has its data block');
  return JSON.parse(m[1]);
}

async function rejectsWith(p: Promise<unknown>, kind: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CraftError, `expected a CraftError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.match(e.message, pattern);
    return true;
  });
}

test('the report is never written over the bundle it reads: results.json, a PNG, a folder of it, the folder itself', async () => {
  const run = copyRun('overwrite');
  const link = path.join(fx.temp, 'link-to-run');
  fs.symlinkSync(run, link);
  const before = snapshot(run);
  for (const target of [
    path.join(run, RESULTS_FILE),
    path.join(run, 'images', '0.png'),
    path.join(run, 'crops', 'new.html'),
    path.join(run, 'maps'),
    run,
    path.join(run, '..', path.basename(run)),
    path.join(link, RESULTS_FILE), // the same file through a link to the run folder
  ]) {
    await rejectsWith(writeReport(run, target), 'usage', /overwrite|is a folder/);
  }
  assert.deepEqual(snapshot(run), before, 'the bundle is unchanged');
  // Beside the results, an .html file in the run folder itself is fine (report.html is the default).
  assert.equal(await writeReport(run), path.join(run, 'report.html'));
  assert.equal(await writeReport(run, path.join(run, 'boots.html')), path.join(run, 'boots.html'));
});

test('`craft report RUN --output RUN/results.json` is a usage error (exit 2) and the bundle stays intact', () => {
  const run = copyRun('cli-overwrite');
  const before = fs.readFileSync(path.join(run, RESULTS_FILE));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/craft.js'), 'report', run, '--output', path.join(run, RESULTS_FILE)], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /would overwrite/);
  assert.deepEqual(fs.readFileSync(path.join(run, RESULTS_FILE)), before);
});

test('a symbolic link inside the bundle cannot pull a file from elsewhere into the report', async () => {
  const run = copyRun('symlinked-png');
  // A PNG outside the bundle (a dataset image): the link's text path is inside, its real path is not.
  const outside = path.join(
    fx.temp,
    'images',
    fs.readdirSync(path.join(fx.temp, 'images')).find((f) => f.endsWith('.png'))!,
  );
  fs.rmSync(path.join(run, 'crops', 'c0_0.png'));
  fs.symlinkSync(outside, path.join(run, 'crops', 'c0_0.png'));
  await rejectsWith(writeReport(run, path.join(fx.temp, 'leak.html')), 'input', /crops\/c0_0\.png .*outside the results folder/);
  assert.ok(!fs.existsSync(path.join(fx.temp, 'leak.html')));
  // A linked folder leads out just the same.
  const run2 = copyRun('symlinked-folder');
  fs.rmSync(path.join(run2, 'maps'), { recursive: true });
  fs.symlinkSync(path.join(fx.runDir, 'maps'), path.join(run2, 'maps'));
  await rejectsWith(writeReport(run2, path.join(fx.temp, 'leak2.html')), 'input', /maps\/0\.png .*outside the results folder/);
});

test('a bundle reached through a link, and links that stay inside it, are fine', async () => {
  const run = copyRun('inner-link');
  fs.rmSync(path.join(run, 'crops', 'c1_0.png'));
  fs.symlinkSync(path.join(run, 'crops', 'c0_0.png'), path.join(run, 'crops', 'c1_0.png'));
  const viaLink = path.join(fx.temp, 'link-to-inner');
  fs.symlinkSync(run, viaLink);
  const html = fs.readFileSync(await writeReport(viaLink, path.join(fx.temp, 'inner.html')), 'utf8');
  const { files } = dataBlock(html);
  assert.equal(files['crops/c1_0.png'], files['crops/c0_0.png']);
});

test('a FIFO, a folder or an implausibly large file where a PNG should be is refused (and nothing hangs)', async (t) => {
  const fifoRun = copyRun('fifo');
  fs.rmSync(path.join(fifoRun, 'images', '1.png'));
  const mk = spawnSync('mkfifo', [path.join(fifoRun, 'images', '1.png')]);
  if (mk.status === 0) {
    await rejectsWith(writeReport(fifoRun, path.join(fx.temp, 'fifo.html')), 'input', /images\/1\.png is not a regular file/);
  } else {
    t.diagnostic('mkfifo is not available: FIFO case skipped');
  }
  const dirRun = copyRun('folder-png');
  fs.rmSync(path.join(dirRun, 'images', '2.png'));
  fs.mkdirSync(path.join(dirRun, 'images', '2.png'));
  await rejectsWith(writeReport(dirRun, path.join(fx.temp, 'dir.html')), 'input', /images\/2\.png is not a regular file/);
  const bigRun = copyRun('huge-png');
  const big = path.join(bigRun, 'maps', '0.png');
  const png = fs.readFileSync(big);
  fs.writeFileSync(big, png);
  fs.truncateSync(big, 200 * 1024 * 1024); // sparse: a PNG signature followed by 200 MB of nothing
  await rejectsWith(writeReport(bigRun, path.join(fx.temp, 'big.html')), 'input', /maps\/0\.png is 200\.0 MB/);
});

test('the report leaves absolute local paths out unless includePaths is set', async () => {
  const run = copyRun('private');
  // Text fields that carry paths too: a warning and a skip reason written by the engine.
  const b = JSON.parse(fs.readFileSync(path.join(run, RESULTS_FILE), 'utf8')) as ResultsBundle;
  b.warnings.push(`Labels read from ${path.join(path.dirname(b.model.path), 'labels.json')}.`);
  b.skipped.push({ path: 'sub', reason: `cannot read folder: EACCES: permission denied, scandir '${path.join(b.datasetRoot, 'sub')}'` });
  b.warnings.push(`Home: ${path.join(os.homedir(), 'notes.txt')}`);
  fs.writeFileSync(path.join(run, RESULTS_FILE), JSON.stringify(b));

  const shared = fs.readFileSync(await writeReport(run, path.join(fx.temp, 'shared.html')), 'utf8');
  for (const local of [fx.temp, ROOT, path.dirname(b.model.path), b.datasetRoot, run, os.homedir()]) {
    assert.ok(!shared.includes(local), `the report does not contain ${local}`);
  }
  const view = dataBlock(shared);
  assert.equal(view.runDir, 'private');
  assert.equal(view.bundle.model.path, 'fmnist_cnn.onnx');
  assert.equal(view.bundle.datasetRoot, 'images');
  assert.ok(view.bundle.warnings.includes('Labels read from model/labels.json.'), view.bundle.warnings.join('\n'));
  assert.ok(view.bundle.warnings.includes('Home: ~/notes.txt'), view.bundle.warnings.join('\n'));
  assert.equal(view.bundle.skipped.at(-1)!.reason, "cannot read folder: EACCES: permission denied, scandir 'images/sub'");
  // Everything else is the bundle as it is on disk.
  assert.deepEqual({ ...view.bundle, model: b.model, datasetRoot: b.datasetRoot, warnings: b.warnings, skipped: b.skipped }, b);

  const full = fs.readFileSync(await writeReport(run, path.join(fx.temp, 'full.html'), { includePaths: true }), 'utf8');
  const fullView = dataBlock(full);
  assert.equal(fullView.runDir, run);
  assert.deepEqual(fullView.bundle, b);
});

// Which files a run reads as its dataset: never the results of earlier runs (--out inside --images),
// and everything passed over at listing time is reported with its true reason, in results.json too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { listImages, relativeImagePath } from '../../src/craft/images/list';
import { CraftError } from '../../src/craft/errors';
import { explain } from '../../src/craft/explain';
import { DEFAULTS, type ExplainOptions } from '../../src/craft/options';
import { ROOT, nobodyCanRead, tempDir } from './bundle-helpers';

const SOURCE = path.join(ROOT, 'sample', 'images', 'ankle_boot');

function dataset(n: number): string {
  const dir = tempDir('dataset');
  for (const f of fs.readdirSync(SOURCE).sort().slice(0, n)) fs.copyFileSync(path.join(SOURCE, f), path.join(dir, f));
  return dir;
}

function options(images: string, out: string): ExplainOptions {
  return {
    ...DEFAULTS,
    model: path.join(ROOT, 'sample/model/fmnist_cnn.onnx'),
    images,
    out,
    classId: 9,
    layer: '/g/MaxPool_1_output_0',
    size: [28, 28],
    patch: 14,
    concepts: 2,
    designs: 4,
    provider: 'cpu',
  };
}

async function listed(root: string, exclude?: string[]): Promise<{ files: string[]; skipped: { path: string; reason: string }[] }> {
  const skipped: { path: string; reason: string }[] = [];
  const files = await listImages(root, { exclude, onSkip: (p, reason) => skipped.push({ path: relativeImagePath(root, p), reason }) });
  return { files: files.map((f) => relativeImagePath(root, f)), skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

test('runs written inside the image folder are not read back as images: a non-dot --out, .craft, a linked --out', async () => {
  for (const out of ['results', '.craft', 'nested/out']) {
    const images = dataset(6);
    const o = options(images, path.join(images, out));
    const first = await explain(o);
    assert.equal(first.bundle.images.length, 6);
    // The first run's PNGs (thumbnails, crops, maps) are now under the image folder.
    assert.ok(fs.readdirSync(path.join(first.dir, 'images')).length >= 6);
    const second = await explain(o);
    assert.deepEqual(
      second.bundle.images.map((im) => im.path),
      first.bundle.images.map((im) => im.path),
      `--out ${out}`,
    );
  }
  // The results folder named through a link to it is the same folder.
  const images = dataset(4);
  fs.mkdirSync(path.join(images, 'runs'));
  const link = path.join(tempDir('out-link'), 'runs');
  fs.symlinkSync(path.join(images, 'runs'), link);
  await explain(options(images, link));
  assert.deepEqual((await listed(images, [link])).files, fs.readdirSync(SOURCE).sort().slice(0, 4));
});

test('the image folder itself as the results folder is a usage error (its runs could not be told from its images)', async () => {
  const images = dataset(3);
  const link = path.join(tempDir('same-link'), 'images');
  fs.symlinkSync(images, link);
  for (const out of [images, link, `${images}${path.sep}.`]) {
    await assert.rejects(
      explain(options(images, out)),
      (e: unknown) => e instanceof CraftError && e.kind === 'usage' && /results folder is the image folder/.test(e.message),
    );
  }
  assert.deepEqual(fs.readdirSync(images).sort(), fs.readdirSync(SOURCE).sort().slice(0, 3), 'nothing written');
});

test('listing skips are reported with their true reason: broken link, link loop, a link back up, a name that is not UTF-8, a FIFO', async (t) => {
  const root = dataset(2);
  fs.symlinkSync(path.join(root, 'nowhere.png'), path.join(root, 'gone.png'));
  fs.symlinkSync(path.join(root, 'self.png'), path.join(root, 'self.png'));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.copyFileSync(path.join(SOURCE, fs.readdirSync(SOURCE).sort()[5]), path.join(root, 'sub', 'x.png'));
  fs.symlinkSync(root, path.join(root, 'sub', 'up'));
  const badName = Buffer.concat([Buffer.from(root + '/caf'), Buffer.from([0xe9]), Buffer.from('.png')]); // Latin-1 'é'
  fs.writeFileSync(badName, fs.readFileSync(path.join(root, 'sub', 'x.png')));
  const fifo = spawnSync('mkfifo', [path.join(root, 'pipe.png')]).status === 0;
  if (!fifo) t.diagnostic('mkfifo is not available: FIFO case skipped');
  // Plain files that are not images are not "skipped": they were never candidates.
  fs.writeFileSync(path.join(root, 'notes.txt'), 'hello');

  const { files, skipped } = await listed(root);
  assert.deepEqual(files, [...fs.readdirSync(SOURCE).sort().slice(0, 2), 'sub/x.png'].sort());
  const reasons = Object.fromEntries(skipped.map((s) => [s.path, s.reason]));
  assert.match(reasons['gone.png'], /broken symbolic link/);
  assert.match(reasons['self.png'], /symbolic link loop/);
  assert.match(reasons['sub/up'], /symbolic link loop: it leads back to a folder above it/);
  assert.match(reasons['caf\ufffd.png'], /not valid UTF-8/);
  if (fifo) assert.match(reasons['pipe.png'], /not a regular file/);
  assert.equal(skipped.length, fifo ? 5 : 4, JSON.stringify(skipped));
});

test('an unreadable folder is reported with its reason', async (t) => {
  const lister = path.join(ROOT, 'out/src/craft/images/list.js');
  if (process.getuid?.() === 0 && !nobodyCanRead(lister)) {
    t.skip(`root reads every folder, and 'nobody' cannot read this checkout (${ROOT}) to list as another user`);
    return;
  }
  const root = dataset(1);
  fs.mkdirSync(path.join(root, 'locked'));
  fs.copyFileSync(path.join(SOURCE, fs.readdirSync(SOURCE).sort()[0]), path.join(root, 'locked', 'a.png'));
  fs.chmodSync(path.join(root, 'locked'), 0o000);
  try {
    if (process.getuid?.() === 0) {
      // Root reads every folder: list as 'nobody' instead.
      fs.chmodSync(root, 0o755);
      fs.chmodSync(path.dirname(root), 0o755);
      const script = `require(${JSON.stringify(lister)}).listImages(${JSON.stringify(root)}, { onSkip: (p, r) => console.log(JSON.stringify([p, r])) }).then((f) => console.log(f.length))`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', uid: 65534, gid: 65534 });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), [JSON.stringify([path.join(root, 'locked'), 'folder cannot be read: permission denied']), '1']);
    } else {
      const { skipped } = await listed(root);
      assert.deepEqual(skipped, [{ path: 'locked', reason: 'folder cannot be read: permission denied' }]);
    }
  } finally {
    fs.chmodSync(path.join(root, 'locked'), 0o755);
  }
  t.diagnostic(process.getuid?.() === 0 ? 'listed as nobody' : 'listed as this user');
});

test('listing skips and decode skips both end up in results.json (skipped), with their reasons', async () => {
  const images = dataset(6);
  fs.symlinkSync(path.join(images, 'nowhere.png'), path.join(images, 'gone.png'));
  fs.writeFileSync(path.join(images, 'broken.png'), 'not a png');
  const lines: string[] = [];
  const { bundle } = await explain({ ...options(images, tempDir('skips-out')), log: (l) => lines.push(l) });
  assert.equal(bundle.images.length, 6);
  const byPath = Object.fromEntries(bundle.skipped.map((s) => [s.path, s.reason]));
  assert.deepEqual(Object.keys(byPath).sort(), ['broken.png', 'gone.png']);
  assert.match(byPath['gone.png'], /broken symbolic link/);
  assert.ok(byPath['broken.png'].length > 10);
  assert.ok(
    lines.some((l) => /Skipped .*gone\.png: broken symbolic link/.test(l)),
    'and in the log',
  );
});

// The bundle writer's commit, with real processes: concurrent commits of one run name, a reader that
// watches the results root during commits, killed runs and their stale partial folders, file modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { HOST, partialOwner } from '../../src/craft/bundle/partials';
import { BundleWriter, LATEST_FILE, RESULTS_FILE, latestRun } from '../../src/craft/bundle/writer';
import { ROOT, WRITER_CHILD, nobodyCanRead, partials, runNode, tempDir, tinyBundle } from './bundle-helpers';

/** Starts `writer-child hold`: it opens a partial folder and waits; resolves with the child and the folder. */
function hold(root: string, name: string, options: { uid?: number; gid?: number } = {}): Promise<{ child: ChildProcess; dir: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER_CHILD, 'hold', root, name], { stdio: ['ignore', 'pipe', 'inherit'], ...options });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) resolve({ child, dir: out.trim() });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`hold child exited early (${code})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

test('processes committing the same run name at the same moment each keep their own complete run folder', async () => {
  const root = tempDir('race');
  const processes = 4;
  const rounds = 20;
  const start = performance.timeOrigin + performance.now() + 2500;
  const ids = Array.from({ length: processes }, (_, i) => `p${i}`);
  const outs = await Promise.all(ids.map((id) => runNode([WRITER_CHILD, 'race', root, 'same', String(start), String(rounds), '25', id])));
  const dirs = new Set<string>();
  for (const [i, r] of outs.entries()) {
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout) as { round: number; dir?: string; error?: string }[];
    assert.deepEqual(
      results.filter((x) => x.error),
      [],
      `process ${ids[i]} lost runs`,
    );
    for (const x of results) {
      assert.ok(x.dir && !dirs.has(x.dir), `${x.dir} was returned twice`);
      dirs.add(x.dir);
      // Each folder holds the files of the process that says it wrote it, and only those.
      assert.equal(fs.readFileSync(path.join(x.dir, 'owner.txt'), 'utf8'), ids[i]);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(x.dir, RESULTS_FILE), 'utf8')).warnings, [ids[i]]);
    }
  }
  assert.equal(dirs.size, processes * rounds);
  assert.equal(fs.readdirSync(root).filter((n) => n.startsWith('same-')).length, processes * rounds);
  assert.deepEqual(partials(root), []);
  assert.ok(latestRun(root), 'latest.json names a complete run');
});

test('a reader watching the results root never sees a run folder without its whole results.json, nor a torn latest.json', async (t) => {
  const root = tempDir('observe');
  const observer = spawn(process.execPath, [WRITER_CHILD, 'observe', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  observer.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  observer.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<number | null>((resolve) => observer.on('exit', resolve));
  while (!out.includes('watching\n')) await new Promise((r) => setTimeout(r, 20));
  // A results.json of about 2 MB: its write lasts long enough for the reader to look many times.
  const bundle = tinyBundle('big', 60_000);
  for (let k = 0; k < 12; k++) {
    const w = await BundleWriter.begin(root, 'observed');
    await w.writeFile('thumbs/0.png', 'x');
    await w.commit(bundle);
  }
  fs.writeFileSync(path.join(root, '.stop'), '');
  assert.equal(await done, 0, err);
  const { looks, events, violations } = JSON.parse(out.slice(out.indexOf('\n') + 1)) as { looks: number; events: number; violations: string[] };
  t.diagnostic(`the reader looked ${looks} times and saw ${events} file events`);
  assert.deepEqual(violations, []);
  assert.ok(looks > 100, `the reader looked ${looks} times`);
  assert.equal(fs.readdirSync(root).filter((n) => n.startsWith('observed')).length, 12);
});

test('latest.json that cannot be replaced: the run is still committed and returned, a warning says so, no temp file is left', async () => {
  const root = tempDir('latest');
  fs.mkdirSync(path.join(root, LATEST_FILE)); // rename(temp, latest.json) fails: it is a folder
  const warnings: string[] = [];
  const w = await BundleWriter.begin(root, 'pointer');
  await w.writeFile('crops/c0_0.png', 'x');
  const dir = await w.commit(tinyBundle(), (line) => warnings.push(line));
  assert.equal(dir, path.join(root, 'pointer'));
  assert.ok(fs.statSync(path.join(dir, RESULTS_FILE)).isFile());
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /complete in .*pointer/);
  assert.match(warnings[0], /latest\.json/);
  assert.deepEqual(partials(root), [], 'no temporary file is left');
  assert.deepEqual(fs.readdirSync(root).sort(), [LATEST_FILE, 'pointer']);
  // Without a folder in the way, latest.json names the run again.
  fs.rmdirSync(path.join(root, LATEST_FILE));
  const again = await (await BundleWriter.begin(root, 'pointer')).commit(tinyBundle());
  assert.equal(again, path.join(root, 'pointer-2'));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, LATEST_FILE), 'utf8')), { run: 'pointer-2' });
});

test('a full disk or no inodes left after the rename: the run is committed, latest.json is warned about, no temp file is left', async (t) => {
  // A real full file system: a small tmpfs (needs root and permission to mount; skipped otherwise).
  const mnt = tempDir('tinyfs');
  const mounted = (opts: string) => spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', mnt]).status === 0;
  if (process.getuid?.() !== 0 || !mounted('size=256k,nr_inodes=64')) {
    t.skip('cannot mount a tmpfs here');
    return;
  }
  spawnSync('umount', [mnt]);
  try {
    // Fills the file system with 4 KiB files, then frees `count` of them (tmpfs counts whole pages).
    const fill = (count: number): void => {
      const files: string[] = [];
      for (let i = 0; ; i++) {
        try {
          fs.writeFileSync(path.join(mnt, `fill-${i}`), Buffer.alloc(4096));
          files.push(path.join(mnt, `fill-${i}`));
        } catch {
          fs.rmSync(path.join(mnt, `fill-${i}`), { force: true });
          break;
        }
      }
      for (let k = 0; k < count; k++) fs.rmSync(files.pop()!);
    };
    // Freed after filling: what the bundle needs (a crop, results.json; and two folders for inodes).
    for (const [what, opts, free] of [
      ['no space', 'size=256k,nr_inodes=1000', 2],
      ['no inodes', 'size=4m,nr_inodes=64', 4],
    ] as const) {
      assert.ok(mounted(opts), `mount ${opts}`);
      try {
        const root = path.join(mnt, 'results');
        fs.mkdirSync(root);
        // Room for the bundle, none for latest.json's temporary file.
        fill(free);
        const w = await BundleWriter.begin(root, 'run');
        await w.writeFile('crops/c0_0.png', 'x');
        const warnings: string[] = [];
        const dir = await w.commit(tinyBundle(), (line) => warnings.push(line));
        assert.equal(dir, path.join(root, 'run'), what);
        assert.ok(JSON.parse(fs.readFileSync(path.join(dir, RESULTS_FILE), 'utf8')), what);
        assert.equal(warnings.length, 1, what);
        assert.match(warnings[0], /could not be updated.*ENOSPC[\s\S]*disk is full/, what);
        assert.deepEqual(fs.readdirSync(root), ['run'], `${what}: no temporary file left`);
      } finally {
        spawnSync('umount', [mnt]);
      }
    }
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a run folder, its sub-folders and its files follow the umask (results are meant to be shared)', async () => {
  const root = tempDir('modes');
  for (const mask of [0o022, 0o002, 0o077]) {
    const before = process.umask(mask);
    let dir: string;
    try {
      const w = await BundleWriter.begin(root, `mask-${mask.toString(8)}`);
      await w.writeFile('crops/c0_0.png', 'x');
      dir = await w.commit(tinyBundle());
    } finally {
      process.umask(before);
    }
    const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(dir), (0o777 & ~mask).toString(8), `run folder under umask ${mask.toString(8)}`);
    assert.equal(mode(path.join(dir, 'crops')), (0o777 & ~mask).toString(8));
    assert.equal(mode(path.join(dir, 'crops', 'c0_0.png')), (0o666 & ~mask).toString(8));
    assert.equal(mode(path.join(dir, RESULTS_FILE)), (0o666 & ~mask).toString(8));
    assert.equal(mode(path.join(root, LATEST_FILE)), (0o666 & ~mask).toString(8));
  }
});

test('a run killed by SIGKILL, SIGTERM or SIGHUP leaves a partial folder that the next run removes; live owners keep theirs', async (t) => {
  const root = tempDir('stale');
  // Live owners first (each begin() cleans up too): this process and another one still running.
  const live = await hold(root, 'live');
  const mine = await BundleWriter.begin(root, 'mine');
  const killed: string[] = [];
  const signals = ['SIGKILL', 'SIGTERM', 'SIGHUP'] as const;
  const doomed = [];
  for (const signal of signals) doomed.push(await hold(root, `killed-${signal.toLowerCase()}`));
  for (const [i, { child, dir }] of doomed.entries()) {
    const signal = signals[i];
    child.kill(signal);
    await exited(child);
    assert.ok(fs.existsSync(dir), `${signal}: the partial folder is left by the dead run`);
    killed.push(path.basename(dir));
  }
  assert.deepEqual(partialOwner(path.basename(live.dir)), { host: HOST, pid: live.child.pid });
  // A partial folder of an older version carries no owner: it is not ours to remove.
  const legacy = path.join(root, '.partial-20260101-000000-class-9-AbC123');
  fs.mkdirSync(legacy);
  // Nor one of another machine sharing the folder: a pid there says nothing about processes here.
  const remote = path.join(root, `.partial-20260101-000000-class-9@${HOST}-elsewhere-${doomed[0].child.pid}-0123abcd`);
  fs.mkdirSync(remote);
  try {
    assert.equal(partials(root).length, 7);
    const next = await BundleWriter.begin(root, 'next');
    const left = partials(root);
    for (const name of killed) assert.ok(!left.includes(name), `${name} (dead owner) was removed`);
    for (const dir of [live.dir, mine.tempDir, legacy, remote, next.tempDir]) assert.ok(left.includes(path.basename(dir)), `${path.basename(dir)} was kept`);
    assert.equal(left.length, 5);
    await next.abort();
  } finally {
    live.child.kill('SIGKILL');
    await exited(live.child);
    await mine.abort();
  }
  t.diagnostic(`removed ${killed.join(', ')}`);
});

test('a partial folder of a live process that belongs to another user (kill(pid, 0) → EPERM) is kept', async (t) => {
  if (process.getuid?.() === 0 && !nobodyCanRead(WRITER_CHILD)) {
    t.skip(`as root the next run must be another user's, and 'nobody' cannot read this checkout (${ROOT})`);
    return;
  }
  const root = tempDir('eperm');
  fs.chmodSync(root, 0o777);
  if (process.getuid?.() === 0) {
    // Root here: the next run is started as 'nobody', which may not signal this (root-owned) process.
    const mine = await BundleWriter.begin(root, 'root-owned');
    try {
      const r = await runNode([WRITER_CHILD, 'begin', root, 'as-nobody'], { uid: 65534, gid: 65534 });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(mine.tempDir), 'the partial of a live process of another user is kept');
    } finally {
      await mine.abort();
    }
  } else {
    // Not root: pid 1 (init, owned by root) is alive and may not be signalled by us.
    const foreign = path.join(root, `.partial-20260101-000000-class-9@${HOST}-1-0123abcd`);
    fs.mkdirSync(foreign);
    const next = await BundleWriter.begin(root, 'next');
    await next.abort();
    assert.ok(fs.existsSync(foreign), 'the partial of pid 1 is kept');
    t.diagnostic('checked with pid 1');
  }
});

test('latestRun follows latest.json only to a complete run folder of the same root', async () => {
  const parent = tempDir('pointer');
  const root = path.join(parent, 'results');
  const dir = await (await BundleWriter.begin(root, 'run')).commit(tinyBundle());
  assert.equal(latestRun(root), dir);
  fs.mkdirSync(path.join(parent, 'elsewhere'));
  fs.writeFileSync(path.join(parent, 'elsewhere', RESULTS_FILE), JSON.stringify(tinyBundle()));
  for (const run of ['../elsewhere', path.join(parent, 'elsewhere'), '..', '.', 42, '.partial-x']) {
    fs.writeFileSync(path.join(root, LATEST_FILE), JSON.stringify({ run }));
    assert.equal(latestRun(root), undefined, JSON.stringify(run));
  }
});

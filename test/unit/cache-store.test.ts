import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ContentStore, decodeEntry, type CacheKind } from '../../src/craft/cache/store';
import { float32s, pack, unpack } from '../../src/craft/cache/entries';
import { HOST } from '../../src/craft/bundle/partials';
import { entryBytes, entryKey } from './cache-helpers';

const CHILD = path.join(__dirname, 'children', 'cache-child.js');

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `craft-${prefix}-`));
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

test('cache store: a put entry is read back; an absent one is a miss; limit 0 reads and writes nothing', async () => {
  const dir = path.join(tempDir('store'), '.cache');
  const store = new ContentStore(dir, 1 << 20);
  assert.equal(await store.get('images', entryKey(1)), undefined);
  await store.put('images', entryKey(1), [Buffer.from('hello '), Buffer.from('world')]);
  assert.equal((await store.get('images', entryKey(1)))?.toString(), 'hello world');
  assert.equal(await store.get('fit', entryKey(1)), undefined, 'kinds are apart');
  assert.deepEqual(store.stats, { hits: 1, misses: 2, damaged: 0, written: 1, evicted: 0 });
  assert.deepEqual(files(dir), [`images${path.sep}${entryKey(1)}`], 'one file, no temporary left');

  const off = new ContentStore(path.join(tempDir('store-off'), '.cache'), 0);
  await off.put('images', entryKey(1), [Buffer.from('x')]);
  assert.equal(await off.get('images', entryKey(1)), undefined);
  assert.equal(fs.existsSync(off.dir), false, 'nothing created');
  await assert.rejects(store.put('Images/..' as CacheKind, entryKey(1), []), /bad entry name/);
});

test('cache store: a damaged entry (truncated, a flipped byte, garbage, another key, empty) is a miss, is removed, and never throws', async () => {
  const dir = path.join(tempDir('damaged'), '.cache');
  const store = new ContentStore(dir, 1 << 20);
  for (let k = 0; k < 6; k++) await store.put('images', entryKey(k), [entryBytes(k, 4000)]);
  const file = (k: number) => path.join(dir, 'images', entryKey(k));
  const bytes = fs.readFileSync(file(0));
  fs.writeFileSync(file(0), bytes.subarray(0, bytes.length - 10)); // truncated (a write cut short)
  const flipped = Buffer.from(fs.readFileSync(file(1)));
  flipped[flipped.length - 100] ^= 1;
  fs.writeFileSync(file(1), flipped); // one bit of the payload
  fs.writeFileSync(file(2), 'not an entry at all');
  fs.copyFileSync(file(4), file(3)); // a valid entry under another key's name
  fs.writeFileSync(file(5), '');
  for (let k = 0; k < 6; k++) {
    if (k === 4) continue;
    assert.equal(await store.get('images', entryKey(k)), undefined, `entry ${k} is a miss`);
    assert.equal(fs.existsSync(file(k)), false, `damaged entry ${k} is removed`);
  }
  assert.ok((await store.get('images', entryKey(4)))?.equals(entryBytes(4, 4000)), 'the intact entry still reads');
  assert.equal(store.stats.damaged, 5);
  // The checks themselves, on a header that names the right key but holds another payload length.
  const good = fs.readFileSync(file(4));
  assert.ok(decodeEntry(good, 'images', entryKey(4)));
  assert.equal(decodeEntry(good, 'fit', entryKey(4)), undefined, 'kind checked');
  assert.equal(decodeEntry(Buffer.concat([good, Buffer.from([0])]), 'images', entryKey(4)), undefined, 'length checked');
});

test('cache store: beyond its limit the least recently used entries go (a read counts as a use)', async () => {
  const dir = path.join(tempDir('evict'), '.cache');
  const size = 10_000;
  const store = new ContentStore(dir, 10 * (size + 400));
  const t0 = Date.now() / 1000 - 1000;
  for (let k = 0; k < 8; k++) {
    await store.put('images', entryKey(k), [entryBytes(k, size)]);
    // Distinct, increasing use times (the file system's clock may be coarse).
    fs.utimesSync(path.join(dir, 'images', entryKey(k)), t0 + k, t0 + k);
  }
  // Entries 0 and 1 are the oldest writes, but 0 is read now: 1, 2 and 3 are the least recently used.
  assert.ok(await store.get('images', entryKey(0)));
  for (let k = 8; k < 11; k++) await store.put('images', entryKey(k), [entryBytes(k, size)]);
  const kept = files(path.join(dir, 'images'));
  const present = (k: number) => kept.includes(entryKey(k));
  assert.ok(present(0), 'the entry read last is kept');
  assert.ok(!present(1) && !present(2), 'the least recently used are gone');
  for (let k = 8; k < 11; k++) assert.ok(present(k), `new entry ${k} kept`);
  const info = await store.info();
  assert.ok(info.bytes <= store.limit, `${info.bytes} bytes ≤ the limit ${store.limit}`);
  assert.ok(store.stats.evicted >= 2);
  // An entry larger than the whole cache is not written at all.
  await store.put('fit', entryKey(99), [entryBytes(99, 200_000)]);
  assert.equal(await store.get('fit', entryKey(99)), undefined);
});

test('cache store: the bound holds for a cache filled by an earlier process (counted at the first write)', async () => {
  const dir = path.join(tempDir('evict-scan'), '.cache');
  const big = new ContentStore(dir, 1 << 30);
  for (let k = 0; k < 10; k++) await big.put('images', entryKey(k), [entryBytes(k, 10_000)]);
  const small = new ContentStore(dir, 50_000);
  await small.put('images', entryKey(100), [entryBytes(100, 10_000)]);
  const info = await small.info();
  assert.ok(info.bytes <= 50_000, `${info.bytes} bytes after the first write`);
  assert.ok(await small.get('images', entryKey(100)), 'the entry just written is kept');
});

test('cache store: info and clear; a temporary file of a process that is gone is removed, not counted', async () => {
  const dir = path.join(tempDir('info'), '.cache');
  const store = new ContentStore(dir, 1 << 20);
  await store.put('images', entryKey(1), [entryBytes(1, 1000)]);
  await store.put('images', entryKey(2), [entryBytes(2, 1000)]);
  await store.put('fit', entryKey(3), [entryBytes(3, 500)]);
  // A writer killed between its write and its rename leaves its temporary file (pid 2^22 + 1: no such process).
  const orphan = path.join(dir, 'images', `.tmp-${HOST}-${2 ** 22 + 1}-0123abcd`);
  fs.writeFileSync(orphan, 'half an entry');
  const info = await store.info();
  assert.equal(info.entries, 3);
  assert.equal(info.kinds.images.entries, 2);
  assert.equal(info.kinds.fit.entries, 1);
  assert.ok(info.bytes > 2500 && info.bytes < 4500, `${info.bytes}`);
  assert.equal(fs.existsSync(orphan), false, 'the orphaned temporary file is removed');
  const cleared = await store.clear();
  assert.equal(cleared.entries, 3);
  assert.equal(fs.existsSync(dir), false);
  assert.equal((await store.info()).entries, 0);
  // Usable again after a clear.
  await store.put('images', entryKey(1), [entryBytes(1, 10)]);
  assert.ok(await store.get('images', entryKey(1)));
});

test('cache store: files that are not its entries are never counted, evicted or cleared (--out ~ makes the cache ~/.cache)', async () => {
  const dir = path.join(tempDir('foreign'), '.cache');
  // Another program's cache beside ours: its own folders, a file named like a key in one of our kinds, a loose file.
  const foreign = [path.join('pip', 'http', 'a1'), path.join('images', entryKey(7)), path.join('runs', 'notes.txt'), 'README'];
  for (const f of foreign) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'not a CRAFT entry '.repeat(200));
  }
  const store = new ContentStore(dir, 12_000);
  for (let k = 0; k < 6; k++) await store.put('images', entryKey(k), [entryBytes(k, 3000)]);
  assert.ok(store.stats.evicted > 0, 'the limit made the store evict');
  const info = await store.info();
  assert.ok(info.entries > 0 && info.entries < 6, `${info.entries} entries`);
  assert.ok(info.bytes <= 12_000, 'only entries count towards the limit');
  for (const f of foreign) assert.ok(fs.existsSync(path.join(dir, f)), `${f} survives eviction`);
  const cleared = await store.clear();
  assert.equal(cleared.entries, info.entries);
  assert.deepEqual(files(dir), [...foreign].sort(), 'clear removes the entries and nothing else');
});

test('cache store: a cache that cannot be written warns once and the caller goes on', async () => {
  const root = tempDir('unwritable');
  const dir = path.join(root, '.cache');
  fs.writeFileSync(dir, 'a file where the cache folder should be');
  const warnings: string[] = [];
  const store = new ContentStore(dir, 1 << 20, (w) => warnings.push(w));
  await store.put('images', entryKey(1), [Buffer.from('x')]);
  await store.put('images', entryKey(2), [Buffer.from('y')]);
  assert.equal(await store.get('images', entryKey(1)), undefined);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /could not be written .*the run goes on without it/);
});

test('cache store: processes writing the same entries at once leave only complete, correct entries', async () => {
  const dir = path.join(tempDir('concurrent'), '.cache');
  const processes = 4;
  const entries = 40;
  const size = 50_000;
  const start = Date.now() + 1500;
  const results = await Promise.all(
    Array.from(
      { length: processes },
      (_, id) =>
        new Promise<{ written: number; bad: number; damaged: number }>((resolve, reject) => {
          const child = spawn(process.execPath, [CHILD, 'put', dir, String(start), String(entries), String(size), String(id)], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
        }),
    ),
  );
  for (const r of results) {
    assert.equal(r.written, entries, 'every put went through');
    assert.equal(r.bad, 0, 'every read right after a put saw the complete entry');
    assert.equal(r.damaged, 0, 'no reader ever saw a half-written entry');
  }
  assert.deepEqual(
    files(dir),
    Array.from({ length: entries }, (_, k) => `images${path.sep}${entryKey(k)}`).sort(),
    'one file per entry, no temporary file left',
  );
  const store = new ContentStore(dir, 1 << 30);
  for (let k = 0; k < entries; k++) assert.ok((await store.get('images', entryKey(k)))?.equals(entryBytes(k, size)), `entry ${k}`);
});

test('cache entries: pack and unpack arrays; lengths that do not add up are refused', () => {
  const a = Float32Array.from([1.5, -2, 3e-30]);
  const b = Float64Array.from([Math.PI, -0]);
  const payload = Buffer.concat(pack({ n: 3 }, a, b, new Uint8Array([7, 8])));
  const back = unpack<{ n: number }>(payload)!;
  assert.equal(back.meta.n, 3);
  assert.deepEqual(Array.from(float32s(back.arrays[0], 3)!), Array.from(a));
  assert.equal(float32s(back.arrays[0], 4), undefined, 'a count that does not match');
  assert.deepEqual([...back.arrays[2]], [7, 8]);
  assert.equal(unpack(payload.subarray(0, payload.length - 1)), undefined, 'one byte short');
  assert.equal(unpack(Buffer.concat([payload, Buffer.from([0])])), undefined, 'one byte too many');
  assert.equal(unpack(Buffer.from('garbage')), undefined);
});

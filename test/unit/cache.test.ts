/**
 * The cache end to end (docs/method.md §13): what each key component invalidates, a repeated run, an
 * incremental one, damaged entries and the size bound, always checked against an uncached run of the
 * same inputs, file by file and bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { explain } from '../../src/craft/explain';
import { DEFAULTS, type ExplainOptions } from '../../src/craft/options';
import { parseModel } from '../../src/craft/onnx/model';
import { ModelEditor } from '../../src/craft/onnx/editor';
import { DataType } from '../../src/craft/onnx/fields';
import { storeFor } from '../../src/craft/cache/run-cache';
import { staleModel } from '../../src/craft/bundle/stale';
import { RESULTS_FILE } from '../../src/craft/bundle/writer';
import type { ResultsBundle } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const MODEL = path.join(ROOT, 'sample/model/fmnist_cnn.onnx');
const BOOTS = path.join(ROOT, 'sample/images/ankle_boot');
const LAYER = '/g/MaxPool_1_output_0';

const temp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `craft-${prefix}-`));

/** A folder with ankle boots [from, from + n) of the sample. */
function dataset(n: number, from = 0, into = temp('cache-images')): string {
  for (const f of fs
    .readdirSync(BOOTS)
    .sort()
    .slice(from, from + n))
    fs.copyFileSync(path.join(BOOTS, f), path.join(into, f));
  return into;
}

function options(images: string, out: string, o: Partial<ExplainOptions> = {}): ExplainOptions {
  return {
    ...DEFAULTS,
    model: MODEL,
    images,
    classId: 9,
    layer: LAYER,
    size: [28, 28],
    concepts: 3,
    patch: 14,
    designs: 8,
    provider: 'cpu',
    out,
    cacheSize: 64,
    ...o,
  };
}

interface Done {
  dir: string;
  bundle: ResultsBundle;
  log: string;
}

async function run(o: ExplainOptions): Promise<Done> {
  const lines: string[] = [];
  const { dir, bundle } = await explain({ ...o, log: (l) => lines.push(l) });
  return { dir, bundle, log: lines.join('\n') };
}

/** The run's files (relative) → SHA-256, results.json without its createdAt and timings. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (r === RESULTS_FILE) {
        const b = JSON.parse(fs.readFileSync(path.join(dir, r), 'utf8')) as Partial<ResultsBundle>;
        delete b.createdAt;
        delete b.timings;
        out[r] = JSON.stringify(b);
      } else
        out[r] = crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(dir, r)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

/** Two runs gave the same results: every file byte for byte, results.json but for its date and timings. */
function assertSameRun(a: Done, b: Done, what: string): void {
  const ca = contents(a.dir);
  const cb = contents(b.dir);
  assert.deepEqual(Object.keys(cb).sort(), Object.keys(ca).sort(), `${what}: the same files`);
  for (const f of Object.keys(ca)) assert.equal(cb[f], ca[f], `${what}: ${f} is identical`);
}

function fromCache(log: string): [number, number] {
  const m = /Activations from the cache: (\d+) of (\d+) images/.exec(log);
  assert.ok(m, `the log says how many images came from the cache:\n${log}`);
  return [Number(m[1]), Number(m[2])];
}

test('a repeated run reuses the first: identical files, nothing recomputed; an uncached run gives the same bits', async () => {
  const images = dataset(8);
  const out = temp('cache-out');
  const first = await run(options(images, out));
  assert.deepEqual(fromCache(first.log), [0, 8]);
  assert.match(first.log, /Cache \(.*\.cache\): \d+ hits?, \d+ miss/);
  const second = await run(options(images, out));
  assert.match(second.log, /Results reused from the identical run .* nothing was recomputed/);
  assert.doesNotMatch(second.log, /Activations:|NMF/, 'no stage ran');
  assert.notEqual(second.dir, first.dir, 'a run folder of its own');
  assert.deepEqual(Object.keys(second.bundle.timings).sort(), ['model', 'total', 'write'], "the reused run's own timings");
  assertSameRun(first, second, 'reused run');
  const uncached = await run(options(images, temp('cache-off'), { cacheSize: 0 }));
  assert.doesNotMatch(uncached.log, /cache/i);
  assertSameRun(first, uncached, 'uncached run');
  assert.equal(fs.existsSync(path.join(path.dirname(uncached.dir), '.cache')), false, 'cacheSize 0: no cache folder');
  // The library default is no cache (the CLI and the extension pass 2048 MB).
  const plain = await run({ ...options(images, temp('cache-default')), cacheSize: undefined });
  assert.equal(fs.existsSync(path.join(path.dirname(plain.dir), '.cache')), false, 'no cacheSize: no cache folder');
});

test('results.json records the model SHA-256; the stale check says changed, missing or nothing', async () => {
  const dir = temp('cache-stale');
  const model = path.join(dir, 'model.onnx');
  fs.copyFileSync(MODEL, model);
  const { bundle } = await run(options(dataset(4), temp('cache-out'), { model, cacheSize: 0 }));
  assert.equal(bundle.model.sha256, crypto.createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex'));
  assert.equal(await staleModel(bundle), undefined, 'unchanged');
  assert.equal(await staleModel(bundle), undefined, 'unchanged (the hash kept for the same size and time)');
  // The same size, other bytes, a new modification time: hashed again.
  const bytes = fs.readFileSync(model);
  bytes[bytes.length - 1] ^= 0xff;
  fs.writeFileSync(model, bytes);
  fs.utimesSync(model, new Date(), new Date(Date.now() + 5000));
  assert.equal(await staleModel(bundle), 'changed', 'rewritten in place');
  fs.copyFileSync(MODEL, model);
  fs.appendFileSync(model, Buffer.from([0]));
  assert.equal(await staleModel(bundle), 'changed');
  fs.rmSync(model);
  assert.equal(await staleModel(bundle), 'missing');
  assert.equal(await staleModel({ ...bundle, model: { ...bundle.model, sha256: undefined } }), undefined, 'an older run without a hash is not judged');
});

test('each key component invalidates what depends on it, and a partly cached run equals an uncached one bit for bit', async () => {
  const images = dataset(8);
  const out = temp('cache-keys');
  const base = options(images, out);
  await run(base);

  // Parameters that do not touch the crops: all 8 images from the cache.
  const concepts = await run({ ...base, concepts: 4 });
  assert.deepEqual(fromCache(concepts.log), [8, 8], 'concepts: activations cached');
  assert.match(concepts.log, /NMF: /, 'concepts: the NMF runs again');
  assert.doesNotMatch(concepts.log, /NMF \(from the cache\)/);
  assertSameRun(concepts, await run({ ...base, concepts: 4, out: temp('cache-off'), cacheSize: 0 }), 'concepts 4');

  const designs = await run({ ...base, designs: 4 });
  assert.deepEqual(fromCache(designs.log), [8, 8]);
  assert.match(designs.log, /NMF \(from the cache\)/, 'designs: the NMF is reused');
  assert.match(designs.log, /Transform: .*from the cache/, 'designs: the second pass is reused');
  assertSameRun(designs, await run({ ...base, designs: 4, out: temp('cache-off'), cacheSize: 0 }), 'designs 4');

  const otherClass = await run({ ...base, classId: 7 });
  assert.match(otherClass.log, /NMF \(from the cache\)/, 'another class: the same concepts');
  assertSameRun(otherClass, await run({ ...base, classId: 7, out: temp('cache-off'), cacheSize: 0 }), 'class 7');

  // Key components of the crops: nothing cached applies.
  assert.deepEqual(fromCache((await run({ ...base, patch: 7 })).log), [0, 8], 'patch');
  assert.deepEqual(fromCache((await run({ ...base, layer: '/g/Relu_3_output_0' })).log), [0, 8], 'layer');
  assert.deepEqual(fromCache((await run({ ...base, preprocess: { resize: 'bicubic' } })).log), [0, 8], 'preprocessing (resize kernel)');
  assert.deepEqual(fromCache((await run({ ...base, preset: '[-1,1]' })).log), [0, 8], 'preprocessing (preset)');

  // The model's bytes, not its path or date: the same model under another name hits, an edited one misses.
  const copy = path.join(temp('cache-model'), 'renamed.onnx');
  fs.copyFileSync(MODEL, copy);
  assert.deepEqual(fromCache((await run({ ...base, model: copy })).log), [8, 8], 'the same bytes elsewhere');
  const ed = new ModelEditor(parseModel(new Uint8Array(fs.readFileSync(MODEL))));
  ed.addInitializer({ name: 'unused_marker', dataType: DataType.FLOAT, dims: [1], values: Float32Array.of(1) });
  const edited = path.join(temp('cache-model'), 'edited.onnx');
  fs.writeFileSync(edited, ed.toBytes());
  assert.deepEqual(fromCache((await run({ ...base, model: edited })).log), [0, 8], 'other model bytes');

  // One image's bytes: only it is computed again.
  const first = fs.readdirSync(images).sort()[0];
  const raw = await sharp(path.join(images, first)).raw().toBuffer({ resolveWithObject: true });
  raw.data[0] ^= 0xff;
  await sharp(raw.data, { raw: raw.info }).png().toFile(path.join(images, first));
  const changed = await run(base);
  assert.deepEqual(fromCache(changed.log), [7, 8], 'one image changed');
  assert.match(changed.log, /NMF: /, 'its crops change A: the NMF runs again');
  assertSameRun(changed, await run({ ...base, out: temp('cache-off'), cacheSize: 0 }), 'one image changed');
});

test('adding images computes only theirs; the NMF and everything after it run again, equal to an uncached run', async () => {
  const images = dataset(8);
  const out = temp('cache-add');
  await run(options(images, out));
  dataset(4, 8, images);
  const added = await run(options(images, out));
  assert.deepEqual(fromCache(added.log), [8, 12]);
  assert.match(added.log, /NMF: /);
  assert.doesNotMatch(added.log, /from the cache\)|Transform: .*from the cache/, 'a new W: the NMF and the second pass are computed');
  assertSameRun(added, await run(options(images, temp('cache-off'), { cacheSize: 0 })), 'incremental run');
});

test('damaged cache entries are misses: the run computes them again and its results are unchanged', async () => {
  const images = dataset(8);
  const out = temp('cache-damaged');
  const first = await run(options(images, out));
  const dir = path.join(out, '.cache');
  const entries = (kind: string) => fs.readdirSync(path.join(dir, kind)).map((f) => path.join(dir, kind, f));
  const imagesEntries = entries('images');
  fs.truncateSync(imagesEntries[0], 50);
  const flipped = fs.readFileSync(imagesEntries[1]);
  flipped[flipped.length - 1] ^= 0x40;
  fs.writeFileSync(imagesEntries[1], flipped);
  fs.writeFileSync(imagesEntries[2], 'garbage');
  fs.writeFileSync(entries('fit')[0], '');
  for (const f of entries('runs')) fs.writeFileSync(f, Buffer.alloc(100));
  const second = await run(options(images, out));
  assert.deepEqual(fromCache(second.log), [5, 8]);
  assert.match(second.log, /5 damaged \(ignored and removed\)/);
  assert.match(second.log, /NMF: /, 'the damaged fit entry is computed again');
  assertSameRun(first, second, 'after damaged entries');
  // Repaired: the next identical run is reused whole.
  assert.match((await run(options(images, out))).log, /Results reused/);
});

test('the earlier run folder changed or deleted: the run is computed again from the stage caches', async () => {
  const images = dataset(8);
  const out = temp('cache-source');
  const first = await run(options(images, out));
  const copy = temp('cache-copy');
  fs.cpSync(first.dir, copy, { recursive: true });
  fs.rmSync(path.join(first.dir, 'images/0.png'));
  const second = await run(options(images, out));
  assert.match(second.log, /identical earlier run .* is gone or was changed since; computing again/);
  assert.deepEqual(fromCache(second.log), [8, 8]);
  assert.match(second.log, /NMF \(from the cache\)/);
  assertSameRun({ ...first, dir: copy }, second, 'recomputed from the stage caches');
});

test('the cache stays within --cache-size: least recently used entries are evicted during the run', async () => {
  const out = temp('cache-bound');
  // 200 images × 3.6 kB, the second pass's 200 × 49 × 10 coefficients (0.8 MB): more than 1 MB in all.
  const { log } = await run(options(BOOTS, out, { cacheSize: 1, concepts: 10 }));
  const info = await storeFor(out, 1).info();
  assert.ok(info.bytes <= 1024 * 1024, `${info.bytes} bytes ≤ 1 MB`);
  assert.ok(info.entries > 0);
  assert.match(log, /\d+ evicted \(least recently used\)/);
});

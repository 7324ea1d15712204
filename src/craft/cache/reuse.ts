/**
 * Reusing a whole run (docs/method.md §13): a run whose model, images and settings all equal those of
 * an earlier run in the same results root gets a copy of that run's folder (a new createdAt, its own
 * timings and provider details) instead of being computed again. The cache keeps, under the run's
 * key, the earlier folder's name and the size of each of its files (and the SHA-256 of results.json);
 * a folder that was deleted or changed since is a miss, and the run is computed (its cached stages
 * still help).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { throwIfCancelled } from '../errors';
import { RESULTS_FILE } from '../bundle/writer';
import { validateBundle } from '../bundle/validate';
import { relativeImagePath } from '../images/list';
import type { Run } from '../run';
import type { Activations } from '../stages/activations';
import type { Model } from '../stages/model';
import { toolVersion } from '../stages/write';
import { digest, engineSalt } from './keys';
import { pack, unpack } from './entries';
import type { ResultsBundle } from '../../protocol';

interface RunEntry {
  /** The run folder's name in the results root. */
  run: string;
  /** SHA-256 of its results.json. */
  results: string;
  /** Every file of the folder (forward slashes) and its size. */
  files: [string, number][];
}

/** What reuse needs to remember between the lookup and the end of the run. */
const pending = new WeakMap<Run, { key: string; images: number }>();

/**
 * After the model stage: hashes the model (results.json records it) and, with the cache on, the images
 * the run will read; returns the results of an identical earlier run, copied into this run's folder, or
 * undefined.
 */
export async function reuseRun(run: Run, m: Model): Promise<{ dir: string; bundle: ResultsBundle } | undefined> {
  const o = run.options;
  const cache = run.cache;
  const count = Math.min(m.files.length, o.maxImages ?? Infinity);
  await cache.begin(m, count, run.signal);
  throwIfCancelled(run.signal);
  if (!cache.enabled || !cache.keepsRuns) return undefined;
  const files = m.files.slice(0, count);
  const hashes = await Promise.all(files.map((f) => cache.fileHash(f)));
  // An unreadable file: the run will say why; it is not worth a run entry.
  if (hashes.some((h) => h === undefined)) return undefined;
  const key = digest('run', engineSalt(), cache.modelSha256, cache.hSha256, {
    model: m.info.path,
    hPath: m.hPath,
    layer: m.layer,
    preprocess: m.preprocess,
    provider: m.factory.provider,
    providerRequested: o.provider,
    classIndex: m.classIndex,
    classLabel: m.classLabel,
    labels: m.labels,
    warnings: m.warnings,
    settings: [o.concepts, o.patch, o.batch, o.designs, o.tol, o.maxIter, o.alphaW, o.mapPercentile, o.topCrops, o.maxImages, o.maxPixels],
    datasetRoot: path.resolve(o.images),
    images: files.map((f, i) => [relativeImagePath(o.images, f), hashes[i]]),
    listingSkipped: run.listingSkipped,
  });
  pending.set(run, { key, images: count });
  const payload = await cache.store.get('runs', key);
  const entry = payload ? readEntry(payload) : undefined;
  if (!entry) return undefined;
  run.stage('write');
  const source = path.join(o.out, entry.run);
  const bundle = await copyRun(source, entry, run.writer.tempDir);
  if (!bundle) {
    run.log(`Cache: the identical earlier run ${entry.run} is gone or was changed since; computing again (with what the cache holds).`);
    return undefined;
  }
  throwIfCancelled(run.signal);
  await run.dropPixels();
  run.timer.stop();
  const reused: ResultsBundle = {
    ...bundle,
    createdAt: new Date().toISOString(),
    tool: toolVersion(),
    providerDetails: m.providerDetails,
    splitCheck: m.splitCheck,
    timings: { ...run.timer.timings, total: run.timer.total() },
  };
  const dir = await run.writer.commit(reused, (line) => run.log(`Warning: ${line}`));
  run.progress('write', 1, 1, 'bundle');
  run.log(`Results reused from the identical run ${entry.run} (same model, images and settings): nothing was recomputed.`);
  await rememberRun(run, undefined, dir);
  return { dir, bundle: reused };
}

/**
 * After a run is committed: logs what the cache did and keeps the run's folder under its key, so the
 * next identical run copies it. Not kept when the run read other files than those in its key (unreadable
 * images under --max-images make it read further).
 */
export async function rememberRun(run: Run, acts: Activations | undefined, dir: string): Promise<void> {
  const cache = run.cache;
  if (!cache.enabled) return;
  const wanted = pending.get(run);
  if (wanted && !(acts && acts.images.length + acts.skipped.length !== wanted.images)) {
    try {
      const files = await listFiles(dir);
      const results = crypto
        .createHash('sha256')
        .update(await fs.promises.readFile(path.join(dir, RESULTS_FILE)))
        .digest('hex');
      const entry: RunEntry = { run: path.basename(dir), results, files };
      await cache.store.put('runs', wanted.key, pack(entry));
    } catch {
      // The run is complete; only its reuse is lost.
    }
  }
  if (acts) run.log(cache.summary());
}

function readEntry(payload: Buffer): RunEntry | undefined {
  const e = unpack<RunEntry>(payload)?.meta;
  const plain = (p: unknown) => typeof p === 'string' && p !== '' && !path.isAbsolute(p) && !p.split(/[\\/]/).some((s) => s === '' || s === '.' || s === '..');
  if (!e || !plain(e.run) || e.run.includes('/') || e.run.startsWith('.') || typeof e.results !== 'string' || !Array.isArray(e.files)) return undefined;
  if (!e.files.every((f) => Array.isArray(f) && plain(f[0]) && Number.isInteger(f[1]))) return undefined;
  return e;
}

/** Checks the earlier run against its entry and copies its files into `target`; undefined when it does not match. */
async function copyRun(source: string, entry: RunEntry, target: string): Promise<ResultsBundle | undefined> {
  const copied: string[] = [];
  try {
    for (const [rel, bytes] of entry.files) {
      const st = await fs.promises.lstat(path.join(source, rel));
      if (!st.isFile() || st.size !== bytes) return undefined;
    }
    const text = await fs.promises.readFile(path.join(source, RESULTS_FILE));
    if (crypto.createHash('sha256').update(text).digest('hex') !== entry.results) return undefined;
    const bundle = validateBundle(JSON.parse(text.toString('utf8')), path.join(source, RESULTS_FILE));
    for (const [rel] of entry.files) {
      if (rel === RESULTS_FILE) continue;
      const to = path.join(target, rel);
      await fs.promises.mkdir(path.dirname(to), { recursive: true });
      // A copy-on-write clone where the file system has them, else a copy: the runs stay independent.
      await fs.promises.copyFile(path.join(source, rel), to, fs.constants.COPYFILE_FICLONE);
      copied.push(to);
    }
    return bundle;
  } catch {
    await Promise.all(copied.map((f) => fs.promises.rm(f, { force: true })));
    return undefined;
  }
}

/** Every file under `dir`, relative with forward slashes, with its size. */
async function listFiles(dir: string, prefix = ''): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for (const e of await fs.promises.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push([rel, (await fs.promises.stat(path.join(dir, rel))).size]);
  }
  return out;
}

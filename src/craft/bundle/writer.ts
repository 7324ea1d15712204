import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { RESULTS_VERSION, type ResultsBundle } from '../../protocol';

export const RESULTS_FILE = 'results.json';
/** Written in the results root after each successful run: {"run": "<folder name>"}. */
export const LATEST_FILE = 'latest.json';
const PARTIAL_PREFIX = '.partial-';

/**
 * Writes one run's bundle into a hidden sibling folder and renames it into place only when complete,
 * so a failed or cancelled run leaves nothing half-written and never touches an earlier run.
 */
export class BundleWriter {
  private done = false;
  private readonly folders = new Set<string>();

  private constructor(
    readonly root: string,
    readonly name: string,
    readonly tempDir: string,
  ) {}

  static async begin(root: string, runName: string): Promise<BundleWriter> {
    try {
      await fs.promises.mkdir(root, { recursive: true });
      const tempDir = await fs.promises.mkdtemp(path.join(root, `${PARTIAL_PREFIX}${runName}-`));
      return new BundleWriter(root, runName, tempDir);
    } catch (e) {
      throw ioError(`create the results folder ${root}`, e);
    }
  }

  async writeFile(relative: string, data: Buffer | string): Promise<void> {
    const target = path.join(this.tempDir, relative);
    const dir = path.dirname(target);
    try {
      // Once per folder: a run writes a few files per image into the same few folders.
      if (!this.folders.has(dir)) {
        await fs.promises.mkdir(dir, { recursive: true });
        this.folders.add(dir);
      }
      await fs.promises.writeFile(target, data);
    } catch (e) {
      throw ioError(`write ${relative} in ${this.tempDir}`, e);
    }
  }

  /** Writes results.json, moves the folder into place and points latest.json at it. Returns the folder. */
  async commit(bundle: ResultsBundle): Promise<string> {
    await this.writeFile(RESULTS_FILE, JSON.stringify(bundle));
    let finalDir = path.join(this.root, this.name);
    for (let k = 2; fs.existsSync(finalDir); k++) finalDir = path.join(this.root, `${this.name}-${k}`);
    try {
      await fs.promises.rename(this.tempDir, finalDir);
      this.done = true;
      const latestTmp = path.join(this.root, `${PARTIAL_PREFIX}latest-${process.pid}.json`);
      await fs.promises.writeFile(latestTmp, JSON.stringify({ run: path.basename(finalDir) }));
      await fs.promises.rename(latestTmp, path.join(this.root, LATEST_FILE));
    } catch (e) {
      throw ioError(`move the results into ${finalDir}`, e);
    }
    return finalDir;
  }

  /** Removes the partial folder (after a failure or a cancel). Never throws. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await fs.promises.rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function ioError(what: string, e: unknown): CraftError {
  const err = e as NodeJS.ErrnoException;
  const hint =
    err.code === 'ENOSPC'
      ? 'The disk is full: free some space or choose another results folder with --out.'
      : err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS'
        ? 'The folder is not writable: choose another results folder with --out.'
        : undefined;
  return new CraftError('io', `Could not ${what}: ${err.message ?? String(e)}`, hint);
}

/** A run folder name: 20261125-221530-ankle-boot. */
export function runName(classLabel: string, when = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${when.getFullYear()}${p(when.getMonth() + 1)}${p(when.getDate())}-${p(when.getHours())}${p(when.getMinutes())}${p(when.getSeconds())}`;
  const slug = classLabel.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'class';
  return `${stamp}-${slug}`;
}

/** Reads and checks a bundle folder; file paths inside stay relative to it. */
export async function readBundle(dir: string): Promise<ResultsBundle> {
  const file = path.join(dir, RESULTS_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    throw new CraftError('input', `${file} is missing or is not valid JSON: ${(e as Error).message}`, 'Choose a folder written by `craft explain`.');
  }
  const b = value as Partial<ResultsBundle>;
  if (b.version !== RESULTS_VERSION) {
    throw new CraftError('input', `${file} has results version ${String(b.version)}; this tool reads version ${RESULTS_VERSION}.`, 'Re-run the explanation with this version.');
  }
  for (const key of ['concepts', 'images', 'importances', 'W', 'settings', 'model', 'layer', 'class'] as const) {
    if (b[key] === undefined) throw new CraftError('input', `${file} lacks '${key}': the bundle is incomplete.`);
  }
  return b as ResultsBundle;
}

/** The most recent run in a results root, from latest.json, or undefined. */
export function latestRun(root: string): string | undefined {
  try {
    const { run } = JSON.parse(fs.readFileSync(path.join(root, LATEST_FILE), 'utf8')) as { run?: string };
    if (run && fs.existsSync(path.join(root, run, RESULTS_FILE))) return path.join(root, run);
  } catch {
    /* no latest run */
  }
  return undefined;
}

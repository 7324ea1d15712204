import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { CLASS_SET_FILE, firstRunOfSet } from '../classes/index-file';
import { partialName, removeStalePartials } from './partials';
import { validateBundle } from './validate';
import type { ResultsBundle } from '../../protocol';

export const RESULTS_FILE = 'results.json';
/** Written in the results root after each successful run: {"run": "<folder name>"}. */
export const LATEST_FILE = 'latest.json';
/** Runs of the same name in one results root: name, name-2, … name-999. */
const MAX_SUFFIX = 999;

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

  /**
   * Creates the hidden folder `.partial-<runName>@<host>-<pid>-<random>` in `root`, after removing the ones
   * that runs killed before their cleanup left there (their owner process is gone).
   */
  static async begin(root: string, runName: string): Promise<BundleWriter> {
    try {
      await fs.promises.mkdir(root, { recursive: true });
      await removeStalePartials(root);
      // mkdir, not mkdtemp: its mode is 0o777 less the umask like any folder the user makes (mkdtemp's
      // 0o700 would keep shared results private). A random name that exists already is drawn again.
      for (let attempt = 1; ; attempt++) {
        const tempDir = path.join(root, partialName(runName));
        try {
          await fs.promises.mkdir(tempDir);
          return new BundleWriter(root, runName, tempDir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw e;
        }
      }
    } catch (e) {
      throw ioError(`create the results folder ${root}`, e);
    }
  }

  async writeFile(relative: string, data: Buffer | string, options: { sync?: boolean } = {}): Promise<void> {
    const target = path.join(this.tempDir, relative);
    const dir = path.dirname(target);
    try {
      // Once per folder: a run writes a few files per image into the same few folders. Never
      // recursive: a run folder removed under a late write (a cancel's cleanup) must stay removed.
      if (!this.folders.has(dir)) {
        if (dir !== this.tempDir) {
          await fs.promises.mkdir(dir).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          });
        }
        this.folders.add(dir);
      }
      await writeFileSynced(target, data, options.sync ?? false);
    } catch (e) {
      throw ioError(`write ${relative} in ${this.tempDir}`, e);
    }
  }

  /**
   * Writes results.json, moves the folder into place and points latest.json at it. Returns the folder.
   * Once the folder is in place the run has succeeded: a latest.json that cannot be updated (disk
   * full, a folder in its way) is reported through `warn`, not thrown.
   */
  async commit(bundle: ResultsBundle, warn?: (line: string) => void): Promise<string> {
    return this.commitWith(RESULTS_FILE, bundle, warn);
  }

  /** commit() with another index file: classes.json for the folder of a run over several classes. */
  async commitWith(indexFile: string, index: unknown, warn?: (line: string) => void): Promise<string> {
    // Complete (and on disk) before the folder gets its visible name: readers never see a run without it.
    await this.writeFile(indexFile, JSON.stringify(index), { sync: true });
    const finalDir = await this.moveIntoPlace();
    this.done = true;
    const latest = path.join(this.root, LATEST_FILE);
    try {
      await replaceFile(latest, JSON.stringify({ run: path.basename(finalDir) }));
    } catch (e) {
      warn?.(
        `The run is complete in ${finalDir}, but ${latest} could not be updated to point at it: ${(e as Error).message}. ${ioHint(e) ?? 'Open the run by its folder.'}`,
      );
    }
    return finalDir;
  }

  /**
   * Renames the partial folder to the run's name, or name-2, name-3… when taken. Collision-free
   * without a check-then-rename race: rename(2) never replaces a non-empty folder (ENOTEMPTY/EEXIST on
   * Linux and macOS; Windows refuses any existing target, as EPERM), and every committed run folder
   * holds results.json, so of two processes renaming onto one name exactly one wins and the other
   * moves on to the next name. The lstat before is only a shortcut past names known to be taken.
   */
  private async moveIntoPlace(): Promise<string> {
    for (let k = 1; k <= MAX_SUFFIX; k++) {
      const target = path.join(this.root, k === 1 ? this.name : `${this.name}-${k}`);
      if (await exists(target)) continue;
      try {
        await fs.promises.rename(this.tempDir, target);
        return target;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const taken =
          code === 'EEXIST' ||
          code === 'ENOTEMPTY' ||
          code === 'ENOTDIR' ||
          ((code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') && (await exists(target)));
        if (!taken) throw ioError(`move the results into ${target}`, e);
      }
    }
    throw new CraftError(
      'io',
      `Could not move the results into ${this.root}: ${this.name} and ${this.name}-2 … ${this.name}-${MAX_SUFFIX} are all taken.`,
      'Choose another results folder with --out, or remove old runs.',
    );
  }

  /** Removes the partial folder (after a failure or a cancel). Never throws. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await fs.promises.rm(this.tempDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeFileSynced(file: string, data: Buffer | string, sync: boolean): Promise<void> {
  if (!sync) return fs.promises.writeFile(file, data);
  const fh = await fs.promises.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` atomically: a temporary sibling (owned by this process, see partials.ts) renamed
 * over it, so a reader sees the old or the new content, never a truncated one. The temporary file
 * is removed when anything fails.
 */
async function replaceFile(file: string, data: string): Promise<void> {
  const temp = path.join(path.dirname(file), partialName(path.basename(file, '.json'), '.json'));
  try {
    await writeFileSynced(temp, data, true);
    await fs.promises.rename(temp, file);
  } catch (e) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}

function ioHint(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT'
    ? 'The disk is full (or out of inodes or quota): free some space or choose another results folder with --out.'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? 'The folder is not writable: choose another results folder with --out.'
      : undefined;
}

function ioError(what: string, e: unknown): CraftError {
  return new CraftError('io', `Could not ${what}: ${(e as Error).message ?? String(e)}`, ioHint(e));
}

/** A run folder name: 20261125-221530-ankle-boot. */
export function runName(classLabel: string, when = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${when.getFullYear()}${p(when.getMonth() + 1)}${p(when.getDate())}-${p(when.getHours())}${p(when.getMinutes())}${p(when.getSeconds())}`;
  return `${stamp}-${folderSlug(classLabel)}`;
}

/** A label as a folder name: "Ankle boot" → ankle-boot (letters and digits, at most 40). */
export function folderSlug(label: string): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'class'
  );
}

/** Reads and checks a bundle folder (the full shape, see validate.ts); file paths inside stay relative to it. */
export async function readBundle(dir: string): Promise<ResultsBundle> {
  const file = path.join(dir, RESULTS_FILE);
  let value: unknown;
  try {
    value = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    // The folder of a run over several classes holds one run folder per class, not a run.
    if (fs.existsSync(path.join(dir, CLASS_SET_FILE))) {
      const runs = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
      throw new CraftError(
        'input',
        `${dir} holds a run over several classes (${CLASS_SET_FILE}), one run folder per class, not a run itself.`,
        `Choose the folder of one class inside it${runs.length ? `: ${runs.join(', ')}` : ''}.`,
      );
    }
    throw new CraftError('input', `${file} is missing or is not valid JSON: ${(e as Error).message}`, 'Choose a folder written by `craft explain`.');
  }
  const bundle = validateBundle(value, file);
  // A refined run keeps its images inside its folder and records them relative to it (stages/write.ts).
  if (!path.isAbsolute(bundle.datasetRoot)) bundle.datasetRoot = path.resolve(dir, bundle.datasetRoot);
  return bundle;
}

/** The most recent run in a results root, from latest.json, or undefined. */
export function latestRun(root: string): string | undefined {
  try {
    const { run } = JSON.parse(fs.readFileSync(path.join(root, LATEST_FILE), 'utf8')) as { run?: unknown };
    // A folder name of this root only: a tampered pointer must not lead elsewhere.
    if (typeof run !== 'string' || run !== path.basename(run) || run === '.' || run === '..' || run.startsWith('.')) return undefined;
    if (fs.existsSync(path.join(root, run, RESULTS_FILE))) return path.join(root, run);
    // A run over several classes: its first class's run.
    return firstRunOfSet(path.join(root, run));
  } catch {
    /* no latest run */
  }
  return undefined;
}

/**
 * Past runs in a results folder, for "CRAFT: Open results…" and the status bar: each run folder's
 * results.json read for its headline (class, layer, images, provider, date), newest first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RESULTS_FILE, latestRun } from '../craft/bundle/writer';
import { readClassSet } from '../craft/classes/index-file';
import { stripBom } from '../craft/text';
import { runClassLabel, type ResultsBundle } from '../protocol';

export interface RunEntry {
  dir: string;
  classIndex: number;
  classLabel?: string;
  layer: string;
  images: number;
  concepts: number;
  provider: string;
  createdAt: string;
  model: string;
  /** The image folder the run read. */
  datasetRoot: string;
  /** The set folder, when the run is one class of a run over several classes. */
  set?: string;
}

/** "Ankle boot · ankle_boot (200)", as the run's tab is titled (see panel.ts runHeadline). */
export function entryHeadline(r: RunEntry): string {
  return `${r.classLabel ?? `class ${r.classIndex}`} · ${path.basename(r.datasetRoot) || r.datasetRoot} (${r.images})`;
}

/** Runs directly under `root` (hidden .partial-* folders excluded), newest first. */
export async function listRuns(root: string): Promise<RunEntry[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(root);
  } catch {
    return [];
  }
  const runs: RunEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dir = path.join(root, name);
    const entry = await readEntry(dir);
    if (entry) runs.push(entry);
    else runs.push(...(await setRuns(dir)));
  }
  return runs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.dir.localeCompare(a.dir)));
}

export async function readEntry(dir: string): Promise<RunEntry | undefined> {
  try {
    const b = JSON.parse(stripBom(await fs.promises.readFile(path.join(dir, RESULTS_FILE), 'utf8'))) as ResultsBundle;
    if (typeof b !== 'object' || b === null || typeof b.class !== 'object' || !Array.isArray(b.images)) return undefined;
    return {
      dir,
      classIndex: b.class.index,
      classLabel: runClassLabel(b),
      layer: b.layer?.name ?? '?',
      images: b.images.length,
      concepts: Array.isArray(b.concepts) ? b.concepts.length : 0,
      provider: String(b.provider ?? '?'),
      createdAt: typeof b.createdAt === 'string' ? b.createdAt : '',
      model: typeof b.model?.path === 'string' ? b.model.path : '?',
      datasetRoot: typeof b.datasetRoot === 'string' ? b.datasetRoot : '?',
    };
  } catch {
    return undefined;
  }
}

/** The class runs of a set folder (none when `dir` is no set). */
async function setRuns(dir: string): Promise<RunEntry[]> {
  const index = await readClassSet(dir).catch(() => undefined);
  if (!index) return [];
  const runs = await Promise.all(index.classes.map((c) => readEntry(path.join(dir, c.run))));
  return runs.filter((r): r is RunEntry => r !== undefined).map((r) => ({ ...r, set: dir }));
}

/** The last run of a results folder (latest.json), with its headline. */
export async function lastRun(root: string): Promise<RunEntry | undefined> {
  const dir = latestRun(root);
  return dir ? readEntry(dir) : undefined;
}

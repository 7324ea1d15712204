/**
 * Where refined runs live and how a run finds them again: a run's refinements are written into its own
 * `refined/` folder by default (the tree of concepts is a tree of folders, moved and deleted with the
 * run, and inside what the run's panel may load), each linking back with results.json `parent`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readBundle } from '../bundle/writer';
import { readNames } from '../bundle/names';
import type { ParentLink, RefinedRun, ResultsBundle } from '../../protocol';

/** The folder of a run that holds its refined runs. */
export const REFINED_FOLDER = 'refined';

/** Where a refinement of the run in `run` writes: `out` when given, else the run's refined/ folder. */
export function refinedRoot(run: string, out?: string): string {
  return path.resolve(out ?? path.join(run, REFINED_FOLDER));
}

/** Top crops of each sub-concept sent to the parent's page. */
const SUB_CROPS = 4;

/** The run folder a refined run links to (its `parent.run` resolved against its folder). */
export function parentDir(runDir: string, link: ParentLink): string {
  return path.resolve(runDir, ...link.run.split('/'));
}

/** `link.run` for a run written into `out`: the parent folder relative to a run folder there. */
export function parentLinkPath(out: string, parent: string): string {
  return path
    .relative(path.join(path.resolve(out), 'run'), path.resolve(parent))
    .split(path.sep)
    .join('/');
}

async function real(p: string): Promise<string | undefined> {
  return fs.promises.realpath(p).catch(() => undefined);
}

/**
 * The refined runs of `runDir` in its `refined/` folder whose link leads back to it, newest first, with
 * their sub-concepts as the page shows them. Folders that are not such runs are passed over.
 */
export async function listChildren(runDir: string): Promise<RefinedRun[]> {
  const folder = path.join(runDir, REFINED_FOLDER);
  let names: string[];
  try {
    names = await fs.promises.readdir(folder);
  } catch {
    return [];
  }
  const self = await real(runDir);
  const children: RefinedRun[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const dir = path.join(folder, name);
    let bundle: ResultsBundle;
    try {
      bundle = await readBundle(dir);
    } catch {
      continue;
    }
    if (!bundle.parent || (await real(parentDir(dir, bundle.parent))) !== self) continue;
    children.push(summarise(bundle, `${REFINED_FOLDER}/${name}`, readNames(dir, bundle.concepts.length)));
  }
  return children.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.path < b.path ? 1 : -1));
}

function summarise(b: ResultsBundle, relative: string, names: Record<string, string>): RefinedRun {
  const link = b.parent!;
  const byIndex = new Map(b.concepts.map((c) => [c.index, c]));
  return {
    path: relative,
    concept: link.concept,
    layer: b.layer.name,
    createdAt: b.createdAt,
    crops: link.crops.length,
    percentile: link.percentile,
    threshold: link.threshold,
    concepts: b.ranking.map((i) => {
      const c = byIndex.get(i)!;
      return {
        index: c.index,
        color: c.color,
        importance: c.importance,
        share: c.share,
        rank: c.rank,
        ...(names[String(c.index)] ? { name: names[String(c.index)] } : {}),
        crops: c.crops.slice(0, SUB_CROPS),
      };
    }),
  };
}

/**
 * The extension's side of runs over several classes: how a multi-class pick gets its images, and what
 * the results panel sends its page about the set a run belongs to (to switch class in place and to
 * compare the concepts of two classes).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { folderOf, subFolders } from '../craft/classes/assign';
import { setOf } from '../craft/classes/index-file';
import { readNames } from '../craft/bundle/names';
import { readBundle } from '../craft/bundle/writer';
import type { ClassSet, ClassSetView } from '../protocol';

/**
 * Several classes picked in the prompt: each class's images come from its sub-folder of `images` when
 * every class has one there, else from the whole folder by the model's prediction.
 */
export async function byPredictionUnlessFolders(images: string, classes: number[], labels: string[] | undefined): Promise<boolean> {
  try {
    const folders = await subFolders(images);
    return !classes.every((index) => folderOf({ index, label: labels?.[index], given: index }, folders, images) !== undefined);
  } catch {
    // Two folders for one class, or an unreadable folder: by folder, so the run says what is wrong.
    return false;
  }
}

/** The set a run folder belongs to, as the page sees it; undefined for a run of its own. */
export async function classSetView(runDir: string, webview: vscode.Webview): Promise<ClassSetView | undefined> {
  const set = await setOf(runDir);
  if (!set) return undefined;
  const runs = await Promise.all(
    set.index.classes.map(async (c) => {
      const dir = path.join(set.dir, c.run);
      const b = await readBundle(dir);
      return {
        baseUrl: webview.asWebviewUri(vscode.Uri.file(dir)).toString(),
        concepts: b.concepts,
        ranking: b.ranking,
        names: readNames(dir, b.concepts.length),
      };
    }),
  );
  return { index: set.index, current: set.position, runs };
}

/** The run folder of class `position` of the set `runDir` belongs to. */
export async function runOfSet(runDir: string, position: number): Promise<{ dir: string; index: ClassSet } | undefined> {
  const set = await setOf(runDir);
  const entry = set?.index.classes[position];
  return set && entry ? { dir: path.join(set.dir, entry.run), index: set.index } : undefined;
}

/**
 * Which images each class of a set gets: its own folder (a sub-folder of the image folder named after
 * the class, or one given in "classFolders"), or, by prediction, the images of one folder the model
 * predicts as it. Also the checks of the class list: known classes, no class twice.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { normaliseLabel, resolveClass } from '../labels';
import { MAX_CLASSES } from '../option-table';
import type { ClassRef } from '../options';

export interface SetClass {
  index: number;
  label?: string;
  /** As the user gave it (a label, a spelling of it, or an index). */
  given: ClassRef;
}

/** The names a folder or a "classFolders" key may give a class by: its label, the user's spelling, its index. */
function namesOf(c: SetClass): Set<string> {
  return new Set([c.label, String(c.given), String(c.index)].filter((n): n is string => n !== undefined).map(normaliseLabel));
}

/** A class's name for people: its label, else "class 7". */
export const className = (c: { index: number; label?: string }): string => c.label ?? `class ${c.index}`;

/**
 * Resolves the classes (indices or labels) against the model; refuses a list that names a class twice
 * (in two spellings too: "9" and "Ankle boot") or that is too long.
 */
export function resolveClasses(given: readonly ClassRef[], numClasses: number | undefined, labels: string[] | undefined): SetClass[] {
  if (given.length === 0) throw new CraftError('usage', 'No class to explain: the list of classes is empty.');
  if (given.length > MAX_CLASSES) {
    throw new CraftError(
      'usage',
      `${given.length} classes were given; one run explains at most ${MAX_CLASSES} together (each class is a whole run, and every pair is compared).`,
      'Split the classes over several runs.',
    );
  }
  const classes = given.map((g) => ({ ...resolveClass(g, numClasses, labels), given: g }));
  for (let j = 1; j < classes.length; j++) {
    const first = classes.findIndex((c) => c.index === classes[j].index);
    if (first < j) {
      const same = String(classes[first].given) === String(classes[j].given);
      throw new CraftError(
        'usage',
        same
          ? `Class ${JSON.stringify(classes[j].given)} is listed twice.`
          : `${JSON.stringify(classes[first].given)} and ${JSON.stringify(classes[j].given)} are the same class (${classes[j].index}${classes[j].label ? `, ${JSON.stringify(classes[j].label)}` : ''}).`,
        'List each class once.',
      );
    }
  }
  return classes;
}

/** The visible sub-folders of `root` (names), sorted. */
export async function subFolders(root: string): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(root, { withFileTypes: true });
  } catch {
    throw new CraftError('input', `Image folder not found: ${root}`, 'Choose an existing folder of images.');
  }
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const isDir =
      e.isDirectory() ||
      (e.isSymbolicLink() &&
        (await fs.promises.stat(path.join(root, e.name)).then(
          (s) => s.isDirectory(),
          () => false,
        )));
    if (isDir) names.push(e.name);
  }
  return names.sort();
}

/**
 * The sub-folder named after a class: its label, the name the user gave it, or its index, compared
 * without case and with '_', '-' and spaces alike ("ankle_boot", "Ankle-Boot" and "ankle boot" for
 * "Ankle boot"). Undefined when none is; an error when two are.
 */
export function folderOf(c: SetClass, folders: readonly string[], root: string): string | undefined {
  const names = namesOf(c);
  const found = folders.filter((f) => names.has(normaliseLabel(f)));
  if (found.length > 1) {
    throw new CraftError(
      'input',
      `Two sub-folders of ${root} are named after ${className(c)}: ${found.join(' and ')}.`,
      'Keep one folder per class (merge them), or map the class to one folder with "classFolders" in the config file.',
    );
  }
  return found[0];
}

/**
 * Each class's folder: "classFolders" first (keys are labels or indices, matched like the classes),
 * else the sub-folder of `root` named after the class. A class with neither is an input error that
 * lists the sub-folders there are.
 */
export async function classFolders(classes: SetClass[], root: string | undefined, mapping: Record<string, string> = {}): Promise<string[]> {
  const keys = Object.keys(mapping);
  const mapped = classes.map((c) => {
    const names = namesOf(c);
    const key = keys.find((k) => names.has(normaliseLabel(k)));
    return key === undefined ? undefined : path.resolve(mapping[key]);
  });
  for (const k of keys) {
    const used = classes.some((c) => namesOf(c).has(normaliseLabel(k)));
    if (!used) {
      throw new CraftError(
        'usage',
        `"classFolders" maps ${JSON.stringify(k)}, which is not one of the classes of this run (${classes.map(className).join(', ')}).`,
        'Map only the classes the run explains, by label or index.',
      );
    }
  }
  const folders = root !== undefined && mapped.some((f) => f === undefined) ? await subFolders(root) : [];
  const missing: SetClass[] = [];
  const result = classes.map((c, k) => {
    const f = mapped[k] ?? (root !== undefined ? folderOf(c, folders, root) : undefined);
    if (f === undefined) missing.push(c);
    return f === undefined ? '' : (mapped[k] ?? path.join(root!, f));
  });
  if (missing.length > 0) {
    const names = missing.map(className).join(', ');
    const where =
      root === undefined
        ? 'No image folder was given (--images), and "classFolders" does not map them.'
        : folders.length
          ? `The sub-folders of ${root} are: ${folders.join(', ')}.`
          : `${root} has no sub-folders.`;
    throw new CraftError(
      'input',
      `No folder of images for ${names}: with several classes, each class's images are in the sub-folder of the image folder named after it. ${where}`,
      `Name a sub-folder after each class (its label, e.g. "${example(missing[0])}", or its index), map the classes to folders with "classFolders" in the config file, or give one folder with --by-prediction.`,
    );
  }
  // Two classes with the same label (a labels file that repeats one) would read the same images.
  for (let j = 1; j < result.length; j++) {
    const i = result.findIndex((f) => path.resolve(f) === path.resolve(result[j]));
    if (i < j) {
      throw new CraftError(
        'input',
        `${withIndex(classes[i])} and ${withIndex(classes[j])} would both read ${result[j]}: each class needs images of its own.`,
        'Give the classes different labels (--labels), map each to its own folder with "classFolders" in the config file, or use --by-prediction.',
      );
    }
  }
  return result;
}

/** "Sneaker (class 7)", or "class 7". */
function withIndex(c: SetClass): string {
  return c.label ? `${c.label} (class ${c.index})` : `class ${c.index}`;
}

/** A folder name that matches a class: "Ankle boot" → ankle_boot. */
function example(c: SetClass): string {
  return c.label
    ? c.label
        .trim()
        .toLowerCase()
        .replace(/[\s/]+/g, '_')
    : String(c.index);
}

/** "Ankle boot 200, Sneaker 0": how many images each class got, for the errors. */
export function countsText(classes: SetClass[], counts: number[]): string {
  return classes.map((c, k) => `${className(c)} ${counts[k]}`).join(', ');
}

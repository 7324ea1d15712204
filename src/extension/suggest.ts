/**
 * The defaults the prompts of "CRAFT: Explain class" offer first: which image folder, and which class
 * for a folder. Pure functions (no 'vscode'), so the unit tests check them directly.
 */
import * as path from 'path';

export interface FolderCount {
  folder: string;
  /** Images in the folder and its sub-folders. */
  count: number;
  /** Images directly in the folder. */
  direct: number;
}

/**
 * The image folder to offer first: the one used last when it is still listed, else the folder that
 * directly holds the most images (ties: the first by path). A workspace folder itself comes last: its
 * images usually mix several classes (sub-folders of classes, sample pictures beside the code), so it
 * is the default only when nothing else holds images.
 */
export function defaultImageFolder(folders: FolderCount[], roots: string[], remembered?: string): string | undefined {
  if (remembered && folders.some((f) => samePath(f.folder, remembered))) return folders.find((f) => samePath(f.folder, remembered))!.folder;
  const isRoot = (f: FolderCount) => roots.some((r) => samePath(r, f.folder));
  const ranked = [...folders].sort((a, b) => Number(isRoot(a)) - Number(isRoot(b)) || b.direct - a.direct || a.folder.localeCompare(b.folder));
  return ranked[0]?.folder;
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/** A name as compared: lower case, '_', '-', '.', '/' and runs of spaces as one space. */
export function normaliseName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\s_\-./]+/g, ' ')
    .trim();
}

/** The name and its singular guesses ("boots" → "boot", "boxes" → "box"). */
function forms(name: string): string[] {
  const n = normaliseName(name);
  const out = [n];
  if (/[^s]s$/.test(n)) out.push(n.slice(0, -1));
  if (/(s|x|z|ch|sh)es$/.test(n)) out.push(n.slice(0, -2));
  if (/[^aeiou]ies$/.test(n)) out.push(`${n.slice(0, -3)}y`);
  return out;
}

/**
 * The class whose label names the image folder ("ankle_boot", "Ankle-Boots" → "Ankle boot"): the same
 * words after normalising case and separators, singular or plural. A folder named by a number names
 * that class index when no label matches. Undefined when no class matches, or when several match
 * equally (the folder does not say which).
 */
export function classForFolder(folder: string, labels: readonly string[] | undefined, numClasses?: number): number | undefined {
  const name = path.basename(folder);
  if (labels) {
    const want = normaliseName(name);
    const exact = labels.flatMap((l, i) => (normaliseName(l) === want ? [i] : []));
    if (exact.length === 1) return exact[0];
    if (exact.length === 0) {
      const mine = forms(name);
      const loose = labels.flatMap((l, i) => (forms(l).some((f) => mine.includes(f)) ? [i] : []));
      if (loose.length === 1) return loose[0];
    }
  }
  const count = numClasses ?? labels?.length;
  if (/^\d+$/.test(name) && count !== undefined && Number(name) < count) return Number(name);
  return undefined;
}

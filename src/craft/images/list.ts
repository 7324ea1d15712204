/** Which files of a folder are the dataset's images, in a stable order. */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';

/** File extensions read as images (lower case; matching ignores case). GIF: first frame only. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff'];
export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** A dataset-relative path with forward slashes: the key images are sorted by and shown as. */
export function relativeImagePath(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/**
 * Image files under `root`, recursively, as absolute paths sorted by their relative path with
 * forward slashes in plain UTF-16 code-unit order (the same on every OS and locale). Skips folders
 * and files whose name starts with '.' (.git, .craft, macOS "._x.jpg" resource forks) and
 * node_modules. Symlinks are followed; a folder reached twice (a link cycle) is read once.
 * Sub-folders that cannot be read are reported through `onSkip` and otherwise ignored.
 */
export async function listImages(
  root: string,
  options: { onSkip?: (path: string, reason: string) => void } = {},
): Promise<string[]> {
  const abs = path.resolve(root);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch {
    throw new CraftError('input', `Image folder not found: ${abs}`, 'Choose an existing folder of images.');
  }
  if (!st.isDirectory()) {
    throw new CraftError('input', `Not a folder: ${abs}`, 'Give the folder that holds the images, not a file.');
  }

  const found: { rel: string; file: string }[] = [];
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let real: string;
    let entries: fs.Dirent[];
    try {
      real = await fs.promises.realpath(dir);
      if (seen.has(real)) return;
      seen.add(real);
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (e) {
      options.onSkip?.(dir, `cannot read folder: ${(e as Error).message}`);
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await fs.promises.stat(full);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch {
          options.onSkip?.(full, 'broken symbolic link');
          continue;
        }
      }
      if (isDir) await walk(full);
      else if (isFile && isImageFile(entry.name)) found.push({ rel: relativeImagePath(abs, full), file: full });
    }
  };
  await walk(abs);
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return found.map((f) => f.file);
}

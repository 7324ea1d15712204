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

/** Strict UTF-8: a name that is not valid UTF-8 cannot be told apart from its lossy decoding. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why an entry cannot be read, in words (the error code kept for searching). */
function because(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'it no longer exists';
    case 'ELOOP':
      return 'symbolic link loop';
    default:
      return (e as Error).message ?? String(e);
  }
}

export interface ListOptions {
  /** Called for each entry passed over that could have held images, with the reason in words. */
  onSkip?: (path: string, reason: string) => void;
  /** Folders not to enter (e.g. the results folder when it lies inside the image folder); compared by real path. */
  exclude?: string[];
}

/**
 * Image files under `root`, recursively, as absolute paths sorted by their relative path with
 * forward slashes in plain UTF-16 code-unit order (the same on every OS and locale). Skips folders
 * and files whose name starts with '.' (.git, .craft, macOS "._x.jpg" resource forks), node_modules
 * and the `exclude` folders. Symlinks are followed; a folder reached twice is read once. Reported
 * through `onSkip`: folders that cannot be read, broken links, link loops (also a link back up to a
 * folder being listed), names that are not valid UTF-8, image names that are not regular files.
 */
export async function listImages(root: string, options: ListOptions = {}): Promise<string[]> {
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
  const excluded = new Set<string>();
  for (const e of options.exclude ?? []) {
    const real = await fs.promises.realpath(e).catch(() => undefined);
    if (real) excluded.add(real);
  }
  const skip = (p: string, reason: string) => options.onSkip?.(p, reason);

  const found: { rel: string; file: string }[] = [];
  const seen = new Set<string>();
  /** `above`: real paths of the folders being listed around `dir` (a link to one of them is a loop). */
  const walk = async (dir: string, above: string[]): Promise<void> => {
    let real: string;
    let entries: fs.Dirent<Buffer>[];
    try {
      real = await fs.promises.realpath(dir);
    } catch (e) {
      return skip(dir, `folder cannot be read: ${because(e)}`);
    }
    if (above.includes(real)) return skip(dir, 'symbolic link loop: it leads back to a folder above it');
    if (seen.has(real) || (dir !== abs && excluded.has(real))) return;
    seen.add(real);
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      if (dir === abs) throw new CraftError('input', `Cannot read the image folder ${abs}: ${because(e)}.`, 'Choose a folder you can read.');
      return skip(dir, `folder cannot be read: ${because(e)}`);
    }
    for (const entry of entries) {
      const lossy = entry.name.toString('utf8');
      if (lossy.startsWith('.') || lossy === 'node_modules') continue;
      const full = path.join(dir, lossy);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await fs.promises.stat(full);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch (e) {
          // Reported whatever its name: the link may have been to a folder of images.
          const code = (e as NodeJS.ErrnoException).code;
          skip(
            full,
            code === 'ENOENT'
              ? 'broken symbolic link: its target does not exist'
              : code === 'ELOOP'
                ? 'symbolic link loop'
                : `symbolic link that cannot be followed: ${because(e)}`,
          );
          continue;
        }
      }
      if (!isDir && !isImageFile(lossy)) continue;
      let name: string;
      try {
        name = UTF8.decode(entry.name);
      } catch {
        // The path could not even be opened as text: report it under its lossy name (with U+FFFD).
        skip(full, `the ${isDir ? 'folder' : 'file'} name is not valid UTF-8: rename it`);
        continue;
      }
      if (isDir) await walk(full, [...above, real]);
      else if (isFile) found.push({ rel: relativeImagePath(abs, full), file: path.join(dir, name) });
      else skip(full, 'not a regular file (a FIFO, socket or device)');
    }
  };
  await walk(abs, []);
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return found.map((f) => f.file);
}

/**
 * The crops of a parent run, cut again from its images exactly as the parent saw them: each source image
 * decoded and resized with the parent's preprocessing (the pixels its crop grid was cut from), checked
 * against the run's own copy of those pixels (its thumbnail) when it has one.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { CraftError, throwIfCancelled } from '../errors';
import { cropRgb, type CropGrid } from '../images/crops';
import { loadImage } from '../images/load';
import type { ResultsBundle } from '../../protocol';

export interface CutCrop {
  /** Row of the parent's crop coefficients. */
  row: number;
  /** The parent's image and the crop's top-left corner in its resized pixels. */
  image: number;
  x: number;
  y: number;
  /** P×P×3 RGB bytes. */
  rgb: Uint8Array;
}

/** A file inside `dir` named by a bundle (never outside it), or undefined. */
function inside(dir: string, relative: string): string | undefined {
  const file = path.resolve(dir, relative);
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? file : undefined;
}

/** The run's thumbnail of image `i` as raw RGB when it is at the model input size, else undefined. */
async function thumbnailPixels(runDir: string, bundle: ResultsBundle, i: number): Promise<Uint8Array | undefined> {
  const file = inside(runDir, bundle.images[i].thumbnail);
  if (!file || !fs.existsSync(file)) return undefined;
  const [H, W] = bundle.settings.preprocess.size;
  try {
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== W || info.height !== H || info.channels !== 3) return undefined;
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch {
    return undefined;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * Image `i` of the parent run as it saw it (H×W×3 bytes). The source file, decoded and resized with the
 * run's preprocessing, is checked against the run's thumbnail (the same pixels, lossless): when the file
 * has changed since the run, or is gone, the thumbnail holds what the run's coefficients describe.
 */
async function parentPixels(runDir: string, bundle: ResultsBundle, i: number, note: (line: string) => void): Promise<Uint8Array> {
  const entry = bundle.images[i];
  const source = inside(bundle.datasetRoot, entry.path);
  const loaded = source ? await loadImage(source, bundle.settings.preprocess) : undefined;
  const thumbnail = await thumbnailPixels(runDir, bundle, i);
  if (loaded?.ok) {
    if (thumbnail && !equalBytes(thumbnail, loaded.image.rgb)) {
      note(`${entry.path} has changed since the run: its crops are cut from the run's own copy (${entry.thumbnail}).`);
      return thumbnail;
    }
    return loaded.image.rgb;
  }
  if (thumbnail) {
    note(
      `${entry.path} cannot be read (${loaded ? loaded.reason : 'its path leaves the image folder'}): its crops are cut from the run's own copy (${entry.thumbnail}).`,
    );
    return thumbnail;
  }
  throw new CraftError(
    'input',
    `Image ${entry.path} of the run cannot be read (${loaded ? loaded.reason : `its path leaves the image folder ${bundle.datasetRoot}`}), and the run holds no copy of it at the model's input size.`,
    `Put the run's images back in ${bundle.datasetRoot}, or re-run the explanation.`,
  );
}

/**
 * Cuts the crops `rows` (rows of the parent's crop coefficients, ascending) from the parent's images, each
 * image decoded once. `note` receives what the user should know (an image read from the run's copy).
 */
export async function cutParentCrops(args: {
  runDir: string;
  bundle: ResultsBundle;
  grid: CropGrid;
  rows: number[];
  note: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<CutCrop[]> {
  const { bundle, grid } = args;
  const W = bundle.settings.preprocess.size[1];
  const byImage = new Map<number, number[]>();
  for (const row of args.rows) {
    const image = Math.floor(row / grid.perImage);
    byImage.set(image, [...(byImage.get(image) ?? []), row]);
  }
  const out: CutCrop[] = [];
  let done = 0;
  for (const [image, rows] of byImage) {
    throwIfCancelled(args.signal);
    const rgb = await parentPixels(args.runDir, bundle, image, args.note);
    for (const row of rows) {
      const { x, y } = grid.positions[row % grid.perImage];
      out.push({ row, image, x, y, rgb: cropRgb(rgb, W, y, x, grid.patch) });
    }
    args.onProgress?.(++done, byImage.size);
  }
  return out.sort((a, b) => a.row - b.row);
}

/**
 * The file name of the k-th crop in the refined run's dataset: its order first (the listing sorts by
 * name, so image k of the refined run is crop k), then where it comes from, e.g.
 * "0003-boot_0042-y11-x0.png".
 */
export function cropFileName(k: number, count: number, bundle: ResultsBundle, crop: CutCrop): string {
  const stem = path.posix
    .basename(bundle.images[crop.image].path)
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .slice(0, 40);
  return `${String(k).padStart(Math.max(4, String(count - 1).length), '0')}-${stem || 'image'}-y${crop.y}-x${crop.x}.png`;
}

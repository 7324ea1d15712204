/** The small pictures of a run written into its bundle: the image thumbnails and each concept's top crops. */
import { cropRgb, type CropGrid } from '../images/crops';
import { throwIfCancelled } from '../errors';
import { encodePng } from '../images/png';
import { Pending } from '../pending';
import type { Matrix } from '../math/matrix';
import type { CropEntry, PreprocessConfig } from '../../protocol';

/** Crops smaller than this are enlarged (nearest neighbour, whole multiples) so they stay legible. */
const MIN_CROP_DISPLAY = 64;

/**
 * PNG thumbnails of each concept's top crops (the crops with the largest U[:, c], as the notebooks'
 * `argsort(crops_u[:, c])[::-1][:10]`), cut from the resized pixels of the images that hold one.
 */
export async function writeTopCrops(args: {
  U: Matrix;
  grid: CropGrid;
  top: number;
  /** Each image's resized pixels (raw RGB at the model input size). */
  pixels: (index: number) => Promise<Uint8Array>;
  preprocess: PreprocessConfig;
  write: (rel: string, png: Buffer) => Promise<void>;
  signal?: AbortSignal;
}): Promise<CropEntry[][]> {
  const { U, grid } = args;
  const r = U.cols;
  const picks: number[][] = [];
  for (let c = 0; c < r; c++) {
    const order = Array.from({ length: U.rows }, (_, k) => k).sort((a, b) => U.data[b * r + c] - U.data[a * r + c] || a - b);
    picks.push(order.slice(0, Math.min(args.top, U.rows)));
  }
  const needed = [...new Set(picks.flat().map((k) => Math.floor(k / grid.perImage)))].sort((a, b) => a - b);
  const rgb = new Map<number, Uint8Array>();
  const pending = new Pending();
  try {
    for (const i of needed) {
      throwIfCancelled(args.signal);
      await pending.add(args.pixels(i).then((pixels) => rgb.set(i, pixels)));
    }
    await pending.drain();
    const width = args.preprocess.size[1];
    const P = grid.patch;
    const scale = P < MIN_CROP_DISPLAY ? Math.ceil(MIN_CROP_DISPLAY / P) : 1;
    const entries: CropEntry[][] = [];
    for (let c = 0; c < r; c++) {
      const list: CropEntry[] = [];
      for (const [rank, k] of picks[c].entries()) {
        const image = Math.floor(k / grid.perImage);
        const { x, y } = grid.positions[k % grid.perImage];
        const file = `crops/c${c}_${rank}.png`;
        await pending.add(encodePng(cropRgb(rgb.get(image)!, width, y, x, P), P, P, 3, [P * scale, P * scale]).then((png) => args.write(file, png)));
        list.push({ image, x, y, size: P, coefficient: U.data[k * r + c], file });
      }
      entries.push(list);
    }
    await pending.drain();
    return entries;
  } finally {
    await pending.settle();
  }
}

/**
 * The PNG thumbnail of every image (its resized pixels, as the model sees it), for the viewer. Runs
 * in the background while the NMF works on one core, so the encodes take no time of their own.
 */
export async function writeThumbnails(args: {
  pixels: (index: number) => Promise<Uint8Array>;
  count: number;
  size: [number, number];
  write: (index: number, png: Buffer) => Promise<void>;
  signal?: AbortSignal;
}): Promise<void> {
  const [H, W] = args.size;
  const pending = new Pending(2);
  try {
    for (let i = 0; i < args.count; i++) {
      throwIfCancelled(args.signal);
      await pending.add(args.pixels(i).then((rgb) => encodePng(rgb, W, H, 3)).then((png) => args.write(i, png)));
    }
    await pending.drain();
  } finally {
    await pending.settle();
  }
}

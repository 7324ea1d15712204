/** The small pictures of a run written into its bundle: the image thumbnails and each concept's top crops. */
import { cropRgb, type CropGrid } from '../images/crops';
import { createHash } from 'crypto';
import { throwIfCancelled } from '../errors';
import { encodePng } from '../images/png';
import { Pending } from '../pending';
import type { Matrix } from '../math/matrix';
import type { CropEntry, PreprocessConfig } from '../../protocol';

/** Crops smaller than this are enlarged (nearest neighbour, whole multiples) so they stay legible. */
const MIN_CROP_DISPLAY = 64;

/** A square patch of one image (model-input pixels) and a concept's coefficient for it. */
export interface Patch {
  image: number;
  x: number;
  y: number;
  size: number;
  coefficient: number;
}

/** How many candidates beyond `top` are read per concept, so duplicates can be replaced. */
const SPARE_CANDIDATES = 3;

/**
 * Writes each concept's best patches as PNGs (`${prefix}/c${c}_${rank}.png`), cut from the images'
 * resized pixels. Patches with identical pixels (duplicate images in the dataset, flat backgrounds)
 * appear once: the next candidate takes the place of a repeat. `candidates[c]` is best first.
 */
export async function writePatches(args: {
  candidates: Patch[][];
  top: number;
  prefix: string;
  /** Width of the resized images (pixels). */
  width: number;
  pixels: (index: number) => Promise<Uint8Array>;
  write: (rel: string, png: Buffer) => Promise<void>;
  signal?: AbortSignal;
}): Promise<CropEntry[][]> {
  const lists = args.candidates.map((c) => c.slice(0, args.top * (1 + SPARE_CANDIDATES)));
  const needed = [...new Set(lists.flat().map((p) => p.image))].sort((a, b) => a - b);
  const rgb = new Map<number, Uint8Array>();
  const pending = new Pending();
  try {
    for (const i of needed) {
      throwIfCancelled(args.signal);
      await pending.add(args.pixels(i).then((pixels) => rgb.set(i, pixels)));
    }
    await pending.drain();
    const entries: CropEntry[][] = [];
    for (const [c, list] of lists.entries()) {
      const chosen: CropEntry[] = [];
      const seen = new Set<string>();
      for (const p of list) {
        if (chosen.length >= args.top) break;
        const pixels = cropRgb(rgb.get(p.image)!, args.width, p.y, p.x, p.size);
        const key = createHash('sha1').update(pixels).digest('hex');
        if (seen.has(key)) continue;
        seen.add(key);
        const file = `${args.prefix}/c${c}_${chosen.length}.png`;
        const scale = p.size < MIN_CROP_DISPLAY ? Math.ceil(MIN_CROP_DISPLAY / p.size) : 1;
        await pending.add(encodePng(pixels, p.size, p.size, 3, [p.size * scale, p.size * scale]).then((png) => args.write(file, png)));
        chosen.push({ ...p, file });
      }
      entries.push(chosen);
    }
    await pending.drain();
    return entries;
  } finally {
    await pending.settle();
  }
}

/**
 * Each concept's top crops: the crops with the largest U[:, c] (the notebooks'
 * `argsort(crops_u[:, c])[::-1][:10]`), duplicates replaced by the next ones.
 */
export function writeTopCrops(args: {
  U: Matrix;
  grid: CropGrid;
  top: number;
  pixels: (index: number) => Promise<Uint8Array>;
  preprocess: PreprocessConfig;
  write: (rel: string, png: Buffer) => Promise<void>;
  signal?: AbortSignal;
}): Promise<CropEntry[][]> {
  const { U, grid } = args;
  const r = U.cols;
  const keep = Math.min(U.rows, args.top * (1 + SPARE_CANDIDATES));
  const candidates = Array.from({ length: r }, (_, c) =>
    topIndices(U.rows, keep, (k) => U.data[k * r + c]).map((k): Patch => {
      const { x, y } = grid.positions[k % grid.perImage];
      return { image: Math.floor(k / grid.perImage), x, y, size: grid.patch, coefficient: U.data[k * r + c] };
    }),
  );
  return writePatches({
    candidates,
    top: args.top,
    prefix: 'crops',
    width: args.preprocess.size[1],
    pixels: args.pixels,
    write: args.write,
    signal: args.signal,
  });
}

/** The indices of the `count` largest values of f over 0…n−1, largest first (ties: lower index first). */
export function topIndices(n: number, count: number, f: (k: number) => number): number[] {
  return Array.from({ length: n }, (_, k) => k)
    .sort((a, b) => f(b) - f(a) || a - b)
    .slice(0, count);
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
      await pending.add(
        args
          .pixels(i)
          .then((rgb) => encodePng(rgb, W, H, 3))
          .then((png) => args.write(i, png)),
      );
    }
    await pending.drain();
  } finally {
    await pending.settle();
  }
}

import type * as ort from 'onnxruntime-node';
import { cropGrid, extractCrop } from '../images/crops';
import { throwIfCancelled } from '../errors';
import { loadImages, relativeImagePath } from '../images/load';
import { preprocessRgb } from '../images/preprocess';
import { runFloat } from '../onnx/sessions';
import { handled, Pending } from '../pending';
import type { PreprocessConfig, SkippedImage } from '../../protocol';

/** Float32 storage that grows by appending rows; only A and the spatial activations use it. */
export class Float32Rows {
  private buf: Float32Array;
  rows = 0;

  constructor(readonly cols: number, initialRows = 256) {
    this.buf = new Float32Array(Math.max(1, initialRows) * cols);
  }

  append(values: Float32Array): void {
    const needed = (this.rows * this.cols + values.length);
    if (needed > this.buf.length) {
      const grown = new Float32Array(Math.max(needed, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.rows * this.cols));
      this.buf = grown;
    }
    this.buf.set(values, this.rows * this.cols);
    this.rows += values.length / this.cols;
  }

  /** The filled part (a view: no copy). */
  view(): Float32Array {
    return this.buf.subarray(0, this.rows * this.cols);
  }
}

/** Runs a one-input, one-output session over `count` items of `itemSize` floats, `batch` at a time. A fixed model batch is padded. */
export async function runBatched(
  session: ort.InferenceSession,
  input: { name: string; itemDims: number[] },
  output: string,
  data: Float32Array,
  count: number,
  batch: number,
  fixedBatch?: number,
): Promise<Float32Array[]> {
  const itemSize = input.itemDims.reduce((a, b) => a * b, 1);
  const step = fixedBatch ?? batch;
  const results: Float32Array[] = [];
  for (let start = 0; start < count; start += step) {
    const b = Math.min(step, count - start);
    let chunk = data.subarray(start * itemSize, (start + b) * itemSize);
    if (fixedBatch && b < fixedBatch) {
      const padded = new Float32Array(fixedBatch * itemSize);
      padded.set(chunk);
      chunk = padded;
    }
    const out = (await runFloat(session, { [input.name]: { data: chunk, dims: [fixedBatch ?? b, ...input.itemDims] } }, [output]))[output];
    const per = out.data.length / (fixedBatch ?? b);
    results.push(out.data.slice(0, per * b));
  }
  return results;
}

export interface CropSession {
  /** crops (B, 3, P, P) or (B, P, P, 3) → pooled activations (B, p). */
  session: ort.InferenceSession;
  input: string;
  output: string;
  fixedBatch?: number;
}

export interface ActivationResult {
  /** Crop activations A, n × p (spatially averaged), in image → row → column order. */
  A: Float32Rows;
  images: { path: string; file: string; width: number; height: number }[];
  skipped: SkippedImage[];
  minActivation: number;
}

/**
 * The first streaming pass over the images: decode, resize and preprocess each, save its resized
 * pixels (the image exactly as the model sees it, reused by the second pass, the top crops and the
 * thumbnail), cut the grid crops and run g on them (resized inside ORT). Only A and the pixels on
 * disk outlive a batch.
 */
export async function computeActivations(args: {
  files: string[];
  root: string;
  preprocess: PreprocessConfig;
  patch: number;
  batch: number;
  channels: number;
  crops: CropSession;
  maxPixels?: number;
  savePixels: (index: number, rgb: Uint8Array) => Promise<void>;
  onSkip: (s: SkippedImage) => void;
  onProgress: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<ActivationResult> {
  const { preprocess: pre, patch, batch, crops: s } = args;
  const [H, W] = pre.size;
  const grid = cropGrid(H, W, patch);
  const cropDims = pre.layout === 'NCHW' ? [3, patch, patch] : [patch, patch, 3];
  const cropSize = 3 * patch * patch;
  const A = new Float32Rows(args.channels, args.files.length * grid.perImage);
  const images: ActivationResult['images'] = [];
  const skipped: SkippedImage[] = [];
  let minActivation = Infinity;
  const track = (v: Float32Array) => {
    for (let k = 0; k < v.length; k++) if (v[k] < minActivation) minActivation = v[k];
  };

  // Decoding the next chunk, and saving the pixels, overlap with ONNX Runtime working on this one.
  const load = (start: number) => handled(loadImages(args.files.slice(start, start + batch), pre, { maxPixels: args.maxPixels }));
  let next = args.files.length > 0 ? load(0) : undefined;
  const saving = new Pending(Math.max(4, batch));
  // One crops buffer for every chunk: ORT is done with it once runBatched returns.
  const cropBuffer = new Float32Array(Math.min(batch, args.files.length) * grid.perImage * cropSize);
  try {
    for (let start = 0; start < args.files.length; start += batch) {
      throwIfCancelled(args.signal);
      const chunk = args.files.slice(start, start + batch);
      const loaded = await next!;
      next = start + batch < args.files.length ? load(start + batch) : undefined;
      const ok = loaded.flatMap((r) => (r.ok ? [r.image] : []));
      for (const r of loaded) {
        if (!r.ok) {
          const entry = { path: relativeImagePath(args.root, r.path), reason: r.reason };
          skipped.push(entry);
          args.onSkip(entry);
        }
      }
      if (ok.length > 0) {
        const crops = cropBuffer.subarray(0, ok.length * grid.perImage * cropSize);
        for (let i = 0; i < ok.length; i++) {
          const img = ok[i];
          grid.positions.forEach((pos, j) =>
            extractCrop(img.tensor, pre.layout, H, W, pos.y, pos.x, patch, crops, (i * grid.perImage + j) * cropSize),
          );
          const index = images.length;
          await saving.add(args.savePixels(index, img.rgb));
          images.push({ path: relativeImagePath(args.root, img.path), file: img.path, width: img.width, height: img.height });
        }
        for (const out of await runBatched(s.session, { name: s.input, itemDims: cropDims }, s.output, crops, ok.length * grid.perImage, batch, s.fixedBatch)) {
          track(out);
          A.append(out);
        }
      }
      args.onProgress(Math.min(args.files.length, start + chunk.length), args.files.length);
    }
    await saving.drain();
  } finally {
    await saving.settle();
  }
  return { A, images, skipped, minActivation };
}

/**
 * The second pass, after the NMF fit: every usable image (its resized pixels, saved by the first
 * pass) goes through g with the projection on W appended (withProjection), giving
 * X·Wᵀ for each latent position, (image, y, x) × r: all the NMF transform needs. Memory stays at
 * N·h·w·r numbers instead of N·h·w·p activations.
 */
export async function projectImages(args: {
  /** The images' resized pixels as the first pass saved them, and how many there are. */
  pixels: (index: number) => Promise<Uint8Array>;
  count: number;
  preprocess: PreprocessConfig;
  session: ort.InferenceSession;
  input: string;
  concepts: number;
  batch: number;
  fixedBatch?: number;
  onProgress: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<{ projected: Float64Array; positions: number; minActivation: number }> {
  const [H, W] = args.preprocess.size;
  const itemDims = args.preprocess.layout === 'NCHW' ? [3, H, W] : [H, W, 3];
  const size = 3 * H * W;
  const chunks: Float32Array[] = [];
  let minActivation = Infinity;
  const step = args.fixedBatch ?? args.batch;
  // The next batch is read while ONNX Runtime runs this one: two buffers, used in turn (a padded
  // tail of a fixed batch may hold an earlier image; its outputs are dropped).
  const buffers = [0, 1].map(() => new Float32Array((args.fixedBatch ?? Math.min(step, args.count)) * size));
  const load = (start: number) => {
    const count = Math.min(step, args.count - start);
    const batch = buffers[(start / step) % 2].subarray(0, (args.fixedBatch ?? count) * size);
    return handled(Promise.all(Array.from({ length: count }, async (_, i) => {
      preprocessRgb(await args.pixels(start + i), args.preprocess, batch, i * size);
    })).then(() => ({ count, batch })));
  };
  let next = args.count > 0 ? load(0) : undefined;
  for (let start = 0; start < args.count; start += step) {
    throwIfCancelled(args.signal);
    const { count, batch } = await next!;
    next = start + step < args.count ? load(start + step) : undefined;
    const out = await runFloat(args.session, { [args.input]: { data: batch, dims: [args.fixedBatch ?? count, ...itemDims] } }, ['projected', 'minimum']);
    const per = out.projected.data.length / (args.fixedBatch ?? count);
    chunks.push(out.projected.data.slice(0, per * count));
    minActivation = Math.min(minActivation, out.minimum.data[0]);
    args.onProgress(start + count, args.count);
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const projected = new Float64Array(total);
  let offset = 0;
  for (const c of chunks) {
    projected.set(c, offset);
    offset += c.length;
  }
  return { projected, positions: total / args.concepts, minActivation };
}

/** [h, w] of a layer's per-item shape ([p, h, w] NCHW, [h, w, p] NHWC); [1, 1] for vectors ([p]). */
export function latentSize(shape: number[], layout: 'NCHW' | 'NHWC'): [number, number] {
  if (shape.length !== 3) return [1, 1];
  return layout === 'NCHW' ? [shape[1], shape[2]] : [shape[0], shape[1]];
}

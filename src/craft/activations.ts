import type * as ort from 'onnxruntime-node';
import { cropGrid, extractCrop } from './crops';
import { throwIfCancelled } from './errors';
import { encodePng, loadImages, relativeImagePath } from './images';
import { runFloat } from './onnx/sessions';
import type { PreprocessConfig, SkippedImage } from '../protocol';

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

export interface ActivationSessions {
  /** crops (B, 3, P, P) or (B, P, P, 3) → pooled activations (B, p). */
  crops: ort.InferenceSession;
  cropsInput: string;
  cropsOutput: string;
  /** images (B, 3, H, W) → layer activations (B, p, h, w) / (B, h, w, p) / (B, p). */
  full: ort.InferenceSession;
  fullInput: string;
  fullOutput: string;
  /** Layout of the layer output for spatial layers, and its per-item shape ([p, h, w], [h, w, p] or [p]). */
  layerLayout: 'NCHW' | 'NHWC';
  layerShape: number[];
  fixedBatch?: number;
}

export interface ActivationResult {
  /** Crop activations A, n × p (spatially averaged), in image → row → column order. */
  A: Float32Rows;
  /** Full-image activations as rows (image, y, x) × p, for the transform. */
  spatial: Float32Rows;
  /** Latent map size (1×1 for 2-D layers). */
  latent: [number, number];
  images: { path: string; file: string; width: number; height: number }[];
  skipped: SkippedImage[];
  minActivation: number;
}

/**
 * One streaming pass over the images: decode, resize and preprocess each (sharp), write its thumbnail,
 * cut the grid crops and run g on the crops (resized inside ORT) and on the full image. Only A, the
 * full-image activations and the thumbnails on disk outlive a batch.
 */
export async function computeActivations(args: {
  files: string[];
  root: string;
  preprocess: PreprocessConfig;
  patch: number;
  batch: number;
  channels: number;
  sessions: ActivationSessions;
  maxPixels?: number;
  writeThumbnail: (index: number, png: Buffer) => Promise<void>;
  onSkip: (s: SkippedImage) => void;
  onProgress: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<ActivationResult> {
  const { preprocess: pre, patch, batch, sessions: s } = args;
  const [H, W] = pre.size;
  const grid = cropGrid(H, W, patch);
  const cropDims = pre.layout === 'NCHW' ? [3, patch, patch] : [patch, patch, 3];
  const imageDims = pre.layout === 'NCHW' ? [3, H, W] : [H, W, 3];
  const cropSize = 3 * patch * patch;
  const imageSize = 3 * H * W;
  const A = new Float32Rows(args.channels, args.files.length * grid.perImage);
  const latent = latentSize(s.layerShape, s.layerLayout);
  const spatial = new Float32Rows(args.channels, args.files.length * latent[0] * latent[1]);
  const images: ActivationResult['images'] = [];
  const skipped: SkippedImage[] = [];
  let minActivation = Infinity;
  const track = (v: Float32Array) => {
    for (let k = 0; k < v.length; k++) if (v[k] < minActivation) minActivation = v[k];
  };

  for (let start = 0; start < args.files.length; start += batch) {
    throwIfCancelled(args.signal);
    const chunk = args.files.slice(start, start + batch);
    const loaded = await loadImages(chunk, pre, { maxPixels: args.maxPixels, concurrency: 2 });
    const ok = loaded.flatMap((r) => (r.ok ? [r.image] : []));
    for (const r of loaded) {
      if (!r.ok) {
        const entry = { path: relativeImagePath(args.root, r.path), reason: r.reason };
        skipped.push(entry);
        args.onSkip(entry);
      }
    }
    if (ok.length > 0) {
      const crops = new Float32Array(ok.length * grid.perImage * cropSize);
      const full = new Float32Array(ok.length * imageSize);
      for (let i = 0; i < ok.length; i++) {
        const img = ok[i];
        full.set(img.tensor, i * imageSize);
        grid.positions.forEach((pos, j) =>
          extractCrop(img.tensor, pre.layout, H, W, pos.y, pos.x, patch, crops, (i * grid.perImage + j) * cropSize),
        );
        await args.writeThumbnail(images.length, await encodePng(img.rgb, W, H, 3));
        images.push({ path: relativeImagePath(args.root, img.path), file: img.path, width: img.width, height: img.height });
      }
      for (const out of await runBatched(s.crops, { name: s.cropsInput, itemDims: cropDims }, s.cropsOutput, crops, ok.length * grid.perImage, batch, s.fixedBatch)) {
        track(out);
        A.append(out);
      }
      for (const out of await runBatched(s.full, { name: s.fullInput, itemDims: imageDims }, s.fullOutput, full, ok.length, batch, s.fixedBatch)) {
        track(out);
        spatial.append(toRows(out, s.layerShape, s.layerLayout));
      }
    }
    args.onProgress(Math.min(args.files.length, start + chunk.length), args.files.length);
  }
  return { A, spatial, latent, images, skipped, minActivation };
}

/** [h, w] of a layer's per-item shape ([p, h, w] NCHW, [h, w, p] NHWC); [1, 1] for vectors ([p]). */
export function latentSize(shape: number[], layout: 'NCHW' | 'NHWC'): [number, number] {
  if (shape.length !== 3) return [1, 1];
  return layout === 'NCHW' ? [shape[1], shape[2]] : [shape[0], shape[1]];
}

/**
 * Full-image activations of a batch → one row per latent position, (image, y, x) × p: the reference
 * `transform` permutes NCHW to NHWC and flattens (craft-reference §3).
 */
export function toRows(out: Float32Array, shape: number[], layout: 'NCHW' | 'NHWC'): Float32Array {
  if (shape.length !== 3 || layout === 'NHWC') return out; // vectors, or already position-major
  const [p, h, w] = shape;
  const hw = h * w;
  const per = p * hw;
  const rows = new Float32Array(out.length);
  for (let base = 0; base < out.length; base += per) {
    for (let c = 0; c < p; c++) {
      const src = base + c * hw;
      for (let k = 0; k < hw; k++) rows[base + k * p + c] = out[src + k];
    }
  }
  return rows;
}

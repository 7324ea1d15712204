/**
 * The 'activations' stage: the first pass over the images. Each image is decoded and resized once, its
 * grid crops go through g (the crop resize and the spatial mean run inside the same ONNX graph), and
 * the pooled crop activations form A (n × p), the matrix the NMF factorises (docs/method.md §2).
 */
import type * as ort from 'onnxruntime-node';
import { cropGrid, extractCrop } from '../images/crops';
import { CraftError, throwIfCancelled } from '../errors';
import { loadImages, unreadableText, type LoadedImage } from '../images/load';
import type { CachedImage, ImageCache } from '../cache/run-cache';
import { relativeImagePath } from '../images/list';
import { writeThumbnails } from '../bundle/pictures';
import { withInputResize, withSpatialMean } from '../onnx/build';
import type { OnnxModel } from '../onnx/model';
import { runFloat } from '../onnx/sessions';
import { concatFloat32 } from '../math/matrix';
import { handled, Pending } from '../pending';
import type { Run } from '../run';
import { negativeActivations, nonFiniteActivations, type ImageLoader, type Model, type PreparedModel } from './model';
import type { PreprocessConfig, SkippedImage } from '../../protocol';

/** The crops input of cropsGraph. */
export const CROPS = 'crops';

/**
 * P×P crops → bilinear resize to the model input (torch align_corners=False, docs/method.md §2) → g →
 * spatial mean ('pooled'), or the layer itself for vector activations.
 */
export function cropsGraph(m: PreparedModel, patch: number): { model: OnnxModel; output: string } {
  const [H, W] = m.preprocess.size;
  const resized = withInputResize(m.g, { height: H, width: W, layout: m.preprocess.layout, cropHeight: patch, cropWidth: patch, inputName: CROPS });
  return m.spatial ? { model: withSpatialMean(resized, { layout: m.layerLayout, replace: true }), output: 'pooled' } : { model: resized, output: m.layer };
}

export interface Activations extends ActivationResult {
  /** The viewer's PNG thumbnails, encoded in the background (libuv's threads) while the NMF runs. */
  thumbnails: Promise<void>;
}

export async function activationsStage(run: Run, m: Model): Promise<Activations> {
  const o = run.options;
  run.stage('activations');
  const crops = cropsGraph(m, o.patch);
  // Released as soon as the pass is done: its arena (~175 MB for MobileNetV2 at 16 crops) is not needed after.
  const session = run.own(await m.factory.create(crops.model.bytes, 'g with the crop resize'));
  const acts = await computeActivations({
    files: m.files,
    root: o.images,
    preprocess: m.preprocess,
    patch: o.patch,
    batch: m.gBatch,
    channels: m.channels,
    crops: { session, input: CROPS, output: crops.output, fixedBatch: m.info.fixedBatch },
    maxPixels: o.maxPixels,
    maxImages: o.maxImages,
    load: m.load,
    savePixels: (i, rgb) => run.pixels.write(i, rgb),
    cache: run.cache.images(),
    onSkip: (s) => run.log(`Skipped ${s.path}: ${s.reason}`),
    onProgress: (done, total) => run.progress('activations', done, total, 'images'),
    signal: run.signal,
  }).finally(() => run.release(session));
  const nImages = acts.images.length;
  const [H, W] = m.preprocess.size;
  const thumbnails = run.inBackground(
    writeThumbnails({
      pixels: (i) => run.pixels.read(i),
      count: nImages,
      size: [H, W],
      write: (i, png) => run.write(thumbnailFile(i), png),
      signal: run.signal,
    }),
  );
  const n = acts.A.rows;
  const r = o.concepts;
  if (nImages === 0) {
    // The reasons in the error itself: --quiet hides the log's skipped lines.
    throw new CraftError(
      'input',
      `None of the ${m.files.length} images could be read (${unreadableText(acts.skipped)}).`,
      'Check the image files, or choose another folder.',
    );
  }
  if (acts.nonFinite > 0) throw nonFiniteActivations(m.layer, acts.nonFinite, acts.A.rows * m.channels, 'crop activations');
  if (acts.minActivation < 0) throw negativeActivations(m.layer, acts.minActivation, 'on some crops');
  if (n < r) {
    throw new CraftError(
      'input',
      `Only ${n} crops (${nImages} usable images × ${m.grid.perImage} crops) for ${r} concepts: NMF needs at least as many crops as concepts.`,
      `Use fewer concepts (--concepts ${Math.max(1, n)}), a smaller patch, or more images.`,
    );
  }
  if (acts.maxActivation <= 0) {
    run.warn(
      `Layer ${m.layer} is zero on every crop of these images: there is nothing to factorise, and every concept's importance is 0. Choose another layer (\`craft layers\`).`,
    );
  }
  run.log(`Activations: ${nImages} images (${acts.skipped.length} skipped), ${n} crops × ${m.channels} channels at ${m.layer}.`);
  if (run.cache.enabled) run.log(`Activations from the cache: ${acts.fromCache} of ${nImages} images (${nImages - acts.fromCache} computed).`);
  return { ...acts, thumbnails };
}

/** Image i's thumbnail in the bundle. */
export const thumbnailFile = (i: number): string => `images/${i}.png`;

/** Float32 storage that grows by appending rows; only A and the spatial activations use it. */
export class Float32Rows {
  private buf: Float32Array;
  rows = 0;

  constructor(
    readonly cols: number,
    initialRows = 256,
  ) {
    this.buf = new Float32Array(Math.max(1, initialRows) * cols);
  }

  append(values: Float32Array): void {
    const needed = this.rows * this.cols + values.length;
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

/**
 * Runs a one-input, one-output session over `count` items of `itemSize` floats, `batch` at a time. A
 * fixed model batch is padded.
 */
export async function runBatched(
  session: ort.InferenceSession,
  input: { name: string; itemDims: number[] },
  output: string,
  data: Float32Array,
  count: number,
  batch: number,
  fixedBatch?: number,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const itemSize = input.itemDims.reduce((a, b) => a * b, 1);
  const step = fixedBatch ?? batch;
  const results: Float32Array[] = [];
  for (let start = 0; start < count; start += step) {
    // Checked before every forward pass: at small patches one chunk of images is hundreds of passes.
    throwIfCancelled(signal);
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
  maxActivation: number;
  /** Activations that are NaN or ±Inf. */
  nonFinite: number;
  /** Images whose activations and pixels came from the cache (not decoded, no forward pass). */
  fromCache: number;
}

/** A file of a chunk: decoded now, taken from the cache, or unreadable. */
type Loaded = { ok: true; image: LoadedImage } | { ok: true; file: string; cached: CachedImage } | { ok: false; path: string; reason: string };

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
  /** Stop after this many usable images (unreadable files do not count). */
  maxImages?: number;
  /** Images decoded already (a run over several classes decodes each image once); default: decode the files. */
  load?: ImageLoader;
  savePixels: (index: number, rgb: Uint8Array) => Promise<void>;
  /** Each image's activations and pixels from an earlier run (by content), and where new ones are kept. */
  cache?: ImageCache;
  onSkip: (s: SkippedImage) => void;
  onProgress: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<ActivationResult> {
  const { preprocess: pre, patch, batch, crops: s } = args;
  const [H, W] = pre.size;
  const grid = cropGrid(H, W, patch);
  const cropDims = pre.layout === 'NCHW' ? [3, patch, patch] : [patch, patch, 3];
  const cropSize = 3 * patch * patch;
  // Sized for the images wanted, not the whole folder (--max-images on a big folder).
  const A = new Float32Rows(args.channels, Math.min(args.files.length, args.maxImages ?? Infinity) * grid.perImage);
  const images: ActivationResult['images'] = [];
  const skipped: SkippedImage[] = [];
  let minActivation = Infinity;
  let maxActivation = -Infinity;
  let nonFinite = 0;
  const track = (v: Float32Array) => {
    for (let k = 0; k < v.length; k++) {
      const x = v[k];
      if (!Number.isFinite(x)) {
        nonFinite++;
        continue;
      }
      if (x < minActivation) minActivation = x;
      if (x > maxActivation) maxActivation = x;
    }
  };
  const files = args.files;
  const want = args.maxImages ?? Infinity;

  // Decoding the next chunk, and saving the pixels, overlap with ONNX Runtime working on this one. A
  // chunk asks for no more files than the images still wanted if all of them load, so --max-images
  // counts usable images: when some fail, further chunks make up for them.
  const cache = args.cache;
  let fromCache = 0;
  // Cached images skip the decode and the forward pass: their rows and pixels come from the cache.
  const loadChunk = async (chunk: string[]): Promise<Loaded[]> => {
    const cached = cache ? await Promise.all(chunk.map((f) => cache.get(f))) : [];
    const missing = chunk.filter((_, j) => !cached[j]);
    const loaded = missing.length === 0 ? [] : args.load ? await args.load(missing) : await loadImages(missing, pre, { maxPixels: args.maxPixels });
    let k = 0;
    return chunk.map((file, j): Loaded => {
      const hit = cached[j];
      return hit ? { ok: true, file, cached: hit } : loaded[k++];
    });
  };
  const load = (from: number, wanted: number) => {
    const count = Math.min(batch, wanted, files.length - from);
    return count > 0 ? { from, count, results: handled(loadChunk(files.slice(from, from + count))) } : undefined;
  };
  let next = load(0, want);
  const saving = new Pending(Math.max(4, batch));
  // Cache entries are written beside the pass (up to two batches in flight, ~0.5 MB each for 224-px
  // images), not in turn with the pixels: a slow disk then delays the pass only when it falls behind.
  const caching = new Pending(Math.max(8, 2 * batch));
  // One crops buffer for every chunk: ORT is done with it once runBatched returns.
  const cropBuffer = new Float32Array(Math.min(batch, files.length) * grid.perImage * cropSize);
  const rowsPerImage = grid.perImage * args.channels;
  try {
    while (next) {
      throwIfCancelled(args.signal);
      const loaded = await next.results;
      const consumed = next.from + next.count;
      next = load(consumed, want - images.length - next.count);
      const ok = loaded.flatMap((r) => (r.ok ? [r] : []));
      for (const r of loaded) {
        if (!r.ok) {
          const entry = { path: relativeImagePath(args.root, r.path), reason: r.reason };
          skipped.push(entry);
          args.onSkip(entry);
        }
      }
      const decoded = ok.flatMap((r) => ('image' in r ? [r.image] : []));
      let computed: Float32Array = new Float32Array(0);
      if (decoded.length > 0) {
        const crops = cropBuffer.subarray(0, decoded.length * grid.perImage * cropSize);
        decoded.forEach((img, i) =>
          grid.positions.forEach((pos, j) => extractCrop(img.tensor, pre.layout, H, W, pos.y, pos.x, patch, crops, (i * grid.perImage + j) * cropSize)),
        );
        const batches = await runBatched(
          s.session,
          { name: s.input, itemDims: cropDims },
          s.output,
          crops,
          decoded.length * grid.perImage,
          batch,
          s.fixedBatch,
          args.signal,
        );
        computed = batches.length === 1 ? batches[0] : concatFloat32(batches);
      }
      // A's rows in image order, whether computed or cached.
      let c = 0;
      for (const r of ok) {
        const index = images.length;
        let rows: Float32Array;
        let img: { path: string; width: number; height: number; rgb: Uint8Array };
        if ('cached' in r) {
          rows = r.cached.rows;
          img = { path: r.file, ...r.cached };
          fromCache++;
        } else {
          rows = computed.subarray(c * rowsPerImage, (c + 1) * rowsPerImage);
          c++;
          img = r.image;
          if (cache) await caching.add(cache.put(img.path, { width: img.width, height: img.height, rows, rgb: img.rgb }));
        }
        track(rows);
        A.append(rows);
        await saving.add(args.savePixels(index, img.rgb));
        images.push({ path: relativeImagePath(args.root, img.path), file: img.path, width: img.width, height: img.height });
      }
      next ??= load(consumed, want - images.length);
      if (Number.isFinite(want)) args.onProgress(images.length, Math.min(want, files.length - skipped.length));
      else args.onProgress(consumed, files.length);
    }
    await saving.drain();
    await caching.drain();
  } finally {
    await saving.settle();
    await caching.settle();
  }
  return { A, images, skipped, minActivation, maxActivation, nonFinite, fromCache };
}

/** [h, w] of a layer's per-item shape ([p, h, w] NCHW, [h, w, p] NHWC); [1, 1] for vectors ([p]). */
export function latentSize(shape: number[], layout: 'NCHW' | 'NHWC'): [number, number] {
  if (shape.length !== 3) return [1, 1];
  return layout === 'NCHW' ? [shape[1], shape[2]] : [shape[0], shape[1]];
}

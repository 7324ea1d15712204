/**
 * What one run reads from and writes to the cache (docs/method.md §13), stage by stage:
 *
 * - `images/`: each image's first-pass result: its crop activations (crops × p, float32) and its
 *   resized pixels. Key: the engine, the model's and h's bytes, the layer, the preprocessing, the patch,
 *   the provider, the decode limit, and the image's bytes. Written as each batch finishes, so a killed
 *   run resumes where it stopped and a run on more images computes only the new ones.
 * - `fit/`: the NMF (U, W and its statistics, float64). Key: the image keys in order, r, tol,
 *   max_iter, alpha_W.
 * - `coefficients/`: the second pass (every latent cell's coefficients, float64; the model's outputs
 *   on every image, float32). Key: the fit's key (it holds W, the images and the model).
 * - `runs/`: a finished run's folder and the size of each of its files (reuse.ts). Key: everything
 *   results.json depends on.
 *
 * The importance, fidelity, maps and pictures are recomputed unless the whole run is reused.
 */
import * as path from 'path';
import { DEFAULT_MAX_PIXELS } from '../images/load';
import type { NmfFit } from '../math/nmf';
import { option } from '../option-table';
import type { ExplainOptions } from '../options';
import { hashFile, hashFiles } from './hash';
import { digest, engineSalt } from './keys';
import { float32s, float64s, pack, unpack } from './entries';
import { CACHE_FOLDER, ContentStore } from './store';
import type { Model } from '../stages/model';
import type { Matrix } from '../math/matrix';

const MB = 1024 * 1024;

/** The cache of a results root with a limit in MB (default: the option table's; 0 = off). */
export function storeFor(out: string, cacheSizeMB = option('cacheSize').default as number, warn?: (line: string) => void): ContentStore {
  return new ContentStore(path.join(out, CACHE_FOLDER), cacheSizeMB * MB, warn);
}

/** One image's first-pass result. */
export interface CachedImage {
  width: number;
  height: number;
  /** Its crops' pooled activations, crops × p, in grid order. */
  rows: Float32Array;
  /** Its resized pixels, H·W·3 bytes. */
  rgb: Uint8Array;
}

/** The per-image cache as the first pass uses it (by file path). */
export interface ImageCache {
  get(file: string): Promise<CachedImage | undefined>;
  put(file: string, image: CachedImage): Promise<void>;
}

export interface CachedCoefficients {
  U: Matrix;
  /** The model's output on every image, images × classes. */
  outputs: Float32Array;
}

interface ImageMeta {
  width: number;
  height: number;
  rows: number;
  cols: number;
}

interface FitMeta {
  n: number;
  p: number;
  r: number;
  iterations: number;
  converged: boolean;
  reconstructionError: number;
  relativeError: number;
}

export class RunCache {
  readonly store: ContentStore;
  /** SHA-256 of the model file (and of h when given apart), recorded in results.json. */
  modelSha256?: string;
  hSha256?: string;
  /** Set by begin(): what every image key of this run shares. */
  private imageBase?: string;
  private readonly fileHashes = new Map<string, string | undefined>();
  private fitKey?: string;
  private shape?: { perImage: number; channels: number; pixels: number };
  /** Whether finished runs are kept whole (reuse.ts). */
  readonly keepsRuns: boolean;
  /** Images of the first pass taken from the cache and computed. */
  imagesFromCache = 0;
  imagesComputed = 0;

  constructor(
    private readonly options: ExplainOptions,
    log: (line: string) => void,
  ) {
    // Off unless the options say: the CLI and the extension pass the option table's default (2048 MB);
    // a library caller (and a test) that sets nothing gets the plain, uncached run.
    this.store = storeFor(options.cacheRoot ?? options.out, options.cacheSize ?? 0, (line) => log(`Warning: ${line}`));
    // A whole-run entry names a folder beside the cache; a run written elsewhere (a class of a set) has none.
    this.keepsRuns = options.cacheRoot === undefined || path.resolve(options.cacheRoot) === path.resolve(options.out);
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  /**
   * After the model stage: hashes the model files (results.json records them, cache or not) and, with
   * the cache on, fixes what every image key shares and hashes the first `count` images.
   */
  async begin(m: Model, count: number, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    this.modelSha256 = await hashFile(m.info.path);
    if (m.hPath) this.hSha256 = await hashFile(m.hPath);
    if (!this.enabled) return;
    const [H, W] = m.preprocess.size;
    this.shape = { perImage: m.grid.perImage, channels: m.channels, pixels: H * W * 3 };
    this.imageBase = digest(
      'images',
      engineSalt(),
      this.modelSha256,
      this.hSha256,
      m.layer,
      m.preprocess,
      o.patch,
      m.factory.provider,
      o.maxPixels ?? DEFAULT_MAX_PIXELS,
    );
    const files = m.files.slice(0, count);
    const hashes = await hashFiles(files, 8, signal);
    files.forEach((f, i) => this.fileHashes.set(f, hashes[i]));
  }

  /** The SHA-256 of an image file's bytes (undefined when unreadable). */
  async fileHash(file: string): Promise<string | undefined> {
    if (!this.fileHashes.has(file)) this.fileHashes.set(file, await hashFile(file).catch(() => undefined));
    return this.fileHashes.get(file);
  }

  private async imageKey(file: string): Promise<string | undefined> {
    const hash = await this.fileHash(file);
    return hash && this.imageBase ? digest(this.imageBase, hash) : undefined;
  }

  /** The per-image cache for the first pass, or undefined when the cache is off. */
  images(): ImageCache | undefined {
    const shape = this.shape;
    if (!this.enabled || !shape) return undefined;
    return {
      get: async (file) => {
        const key = await this.imageKey(file);
        const payload = key ? await this.store.get('images', key) : undefined;
        const entry = payload ? unpack<ImageMeta>(payload) : undefined;
        if (!entry || entry.arrays.length !== 2) return undefined;
        const { meta, arrays } = entry;
        if (meta.rows !== shape.perImage || meta.cols !== shape.channels || arrays[1].length !== shape.pixels) return undefined;
        const rows = float32s(arrays[0], meta.rows * meta.cols);
        if (!rows || !Number.isInteger(meta.width) || !Number.isInteger(meta.height)) return undefined;
        return { width: meta.width, height: meta.height, rows, rgb: new Uint8Array(arrays[1]) };
      },
      put: async (file, image) => {
        const key = await this.imageKey(file);
        if (!key) return;
        const meta: ImageMeta = { width: image.width, height: image.height, rows: shape.perImage, cols: shape.channels };
        await this.store.put('images', key, pack(meta, image.rows, image.rgb));
      },
    };
  }

  /** The NMF of the run's crops: from the cache when these images were factorised with these settings. */
  async fit(files: readonly string[], compute: () => Promise<NmfFit>): Promise<NmfFit & { cached: boolean }> {
    const o = this.options;
    this.fitKey = undefined;
    if (this.enabled && this.imageBase) {
      const keys = await Promise.all(files.map((f) => this.imageKey(f)));
      if (keys.every((k) => k !== undefined)) this.fitKey = digest('fit', this.imageBase, keys, o.concepts, o.tol, o.maxIter, o.alphaW);
    }
    const key = this.fitKey;
    if (key) {
      const payload = await this.store.get('fit', key);
      const entry = payload ? unpack<FitMeta>(payload) : undefined;
      if (entry && entry.arrays.length === 2) {
        const { meta, arrays } = entry;
        const U = float64s(arrays[0], meta.n * meta.r);
        const W = float64s(arrays[1], meta.r * meta.p);
        if (U && W && meta.r === o.concepts) {
          return {
            U: { rows: meta.n, cols: meta.r, data: U },
            W: { rows: meta.r, cols: meta.p, data: W },
            iterations: meta.iterations,
            converged: meta.converged,
            reconstructionError: meta.reconstructionError,
            relativeError: meta.relativeError,
            cached: true,
          };
        }
      }
    }
    const fit = await compute();
    if (key) {
      const meta: FitMeta = {
        n: fit.U.rows,
        p: fit.W.cols,
        r: fit.U.cols,
        iterations: fit.iterations,
        converged: fit.converged,
        reconstructionError: fit.reconstructionError,
        relativeError: fit.relativeError,
      };
      await this.store.put('fit', key, pack(meta, fit.U.data, fit.W.data));
    }
    return { ...fit, cached: false };
  }

  /** The second pass's results for the fit just made (fit() first): from the cache when it was computed before. */
  async coefficients(images: number, compute: () => Promise<CachedCoefficients>): Promise<CachedCoefficients & { cached: boolean }> {
    const key = this.fitKey ? digest('coefficients', this.fitKey) : undefined;
    if (key) {
      const payload = await this.store.get('coefficients', key);
      const entry = payload ? unpack<{ rows: number; cols: number; images: number; classes: number }>(payload) : undefined;
      if (entry && entry.arrays.length === 2 && entry.meta.images === images) {
        const { meta, arrays } = entry;
        const U = float64s(arrays[0], meta.rows * meta.cols);
        const outputs = float32s(arrays[1], meta.images * meta.classes);
        if (U && outputs) return { U: { rows: meta.rows, cols: meta.cols, data: U }, outputs, cached: true };
      }
    }
    const result = await compute();
    if (key) {
      const meta = { rows: result.U.rows, cols: result.U.cols, images, classes: result.outputs.length / images };
      await this.store.put('coefficients', key, pack(meta, result.U.data, result.outputs));
    }
    return { ...result, cached: false };
  }

  /** One line about the cache for the log (hits, misses, damaged entries, evictions). */
  summary(): string {
    const s = this.store.stats;
    return (
      `Cache (${this.store.dir}): ${s.hits} hit${s.hits === 1 ? '' : 's'}, ${s.misses} miss${s.misses === 1 ? '' : 'es'}, ${s.written} written` +
      `${s.damaged ? `, ${s.damaged} damaged (ignored and removed)` : ''}${s.evicted ? `, ${s.evicted} evicted (least recently used)` : ''}.`
    );
  }
}

/**
 * The shared pass of a set explained by prediction (as xplique's CraftManager.fit): every image of
 * the folder is decoded once, its resized pixels kept in a scratch file, and the whole model runs on
 * it; each class's run then reads its images' pixels back instead of decoding them again.
 */
import type * as ort from 'onnxruntime-node';
import { throwIfCancelled } from '../errors';
import { loadImages, type LoadResult } from '../images/load';
import { relativeImagePath } from '../images/list';
import type { PixelStore } from '../images/pixel-store';
import { preprocessRgb } from '../images/preprocess';
import { runFloat } from '../onnx/sessions';
import type { ImageLoader, SharedModel } from '../stages/model';
import type { SkippedImage } from '../../protocol';

export interface PredictedImage {
  file: string;
  /** Relative to the set's folder, forward slashes. */
  path: string;
  width: number;
  height: number;
  /** The most likely class (argmax of the output) and the next one. */
  predicted: number;
  runnerUp: number;
  /** Where its pixels are in the scratch file. */
  slot: number;
}

/** The two largest entries of a row (ties: the lower index first). */
export function topTwo(row: ArrayLike<number>): [number, number] {
  let first = -1;
  let second = -1;
  for (let c = 0; c < row.length; c++) {
    if (first < 0 || row[c] > row[first]) [first, second] = [c, first];
    else if (second < 0 || row[c] > row[second]) second = c;
  }
  return [first, second < 0 ? first : second];
}

/**
 * Decodes every file once (pixels into `store`), runs the model on each, and returns each readable
 * image's prediction in file order, and the files that could not be read.
 */
export async function predictImages(args: {
  files: string[];
  root: string;
  model: SharedModel;
  store: PixelStore;
  batch: number;
  maxPixels?: number;
  signal?: AbortSignal;
  onProgress: (done: number, total: number) => void;
  onSkip: (s: SkippedImage) => void;
  /** Keeps a session until the caller releases it. */
  own: (s: ort.InferenceSession) => ort.InferenceSession;
}): Promise<{ images: PredictedImage[]; skipped: SkippedImage[] }> {
  const m = args.model;
  const pre = m.preprocess;
  const [H, W] = pre.size;
  const size = 3 * H * W;
  const itemDims = pre.layout === 'NCHW' ? [3, H, W] : [H, W, 3];
  const fixed = m.info.fixedBatch;
  const step = fixed ?? args.batch;
  // The whole model; with g and h given as two files, g then h.
  const f = args.own(await m.factory.create(m.hPath ? m.g.bytes : m.info.model.bytes, m.hPath ? 'g (input → layer)' : 'the model'));
  const h = m.hPath ? args.own(await m.factory.create(m.h.bytes, 'h (layer → output)')) : undefined;
  const outputs = async (data: Float32Array, rows: number): Promise<Float32Array> => {
    const out = (await runFloat(f, { [m.info.inputName]: { data, dims: [rows, ...itemDims] } }, [m.hPath ? m.layer : m.info.outputName]))[
      m.hPath ? m.layer : m.info.outputName
    ];
    if (!h) return out.data;
    return (await runFloat(h, { [m.h.inputs[0].name]: out }, [m.h.outputs[0].name]))[m.h.outputs[0].name].data;
  };

  const images: PredictedImage[] = [];
  const skipped: SkippedImage[] = [];
  const buffer = new Float32Array(step * size);
  for (let from = 0; from < args.files.length; from += step) {
    throwIfCancelled(args.signal);
    const loaded = await loadImages(args.files.slice(from, from + step), pre, { maxPixels: args.maxPixels });
    const ok: Extract<LoadResult, { ok: true }>['image'][] = [];
    for (const r of loaded) {
      if (r.ok) ok.push(r.image);
      else {
        const entry = { path: relativeImagePath(args.root, r.path), reason: r.reason };
        skipped.push(entry);
        args.onSkip(entry);
      }
    }
    if (ok.length > 0) {
      const writes: Promise<void>[] = [];
      ok.forEach((im, i) => {
        buffer.set(im.tensor, i * size);
        writes.push(args.store.write(images.length + i, im.rgb));
      });
      // A fixed batch is padded (the rows after ok.length are left from before, and dropped).
      const rows = fixed ?? ok.length;
      const logits = await outputs(buffer.subarray(0, rows * size), rows);
      const classes = logits.length / rows;
      ok.forEach((im, i) => {
        const [predicted, runnerUp] = topTwo(logits.subarray(i * classes, (i + 1) * classes));
        images.push({
          file: im.path,
          path: relativeImagePath(args.root, im.path),
          width: im.width,
          height: im.height,
          predicted,
          runnerUp,
          slot: images.length,
        });
      });
      await Promise.all(writes);
    }
    args.onProgress(Math.min(from + step, args.files.length), args.files.length);
  }
  return { images, skipped };
}

/** Reads the predicted images back from the scratch file, as the loader of a class's run. */
export function storeLoader(store: PixelStore, images: readonly PredictedImage[], model: SharedModel): ImageLoader {
  const byFile = new Map(images.map((im) => [im.file, im]));
  return (files) =>
    Promise.all(
      files.map(async (file): Promise<LoadResult> => {
        const im = byFile.get(file);
        if (!im) return { ok: false, path: file, reason: 'not among the images of the shared pass' };
        const rgb = await store.read(im.slot);
        return { ok: true, image: { path: file, width: im.width, height: im.height, rgb, tensor: preprocessRgb(rgb, model.preprocess) } };
      }),
    );
}

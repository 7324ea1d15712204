/**
 * The 'transform' stage: the concept coefficients of every latent position of every image
 * (docs/method.md §3.4, §4), all rows solved in one coordinate descent like the reference's single
 * `nmf.transform` call. A second pass over the images runs g with the projection on W appended.
 */
import type * as ort from 'onnxruntime-node';
import { throwIfCancelled } from '../errors';
import { preprocessRgb } from '../images/preprocess';
import { concatFloat32, type Matrix } from '../math/matrix';
import { transformProjected } from '../math/nmf';
import { withProjection } from '../onnx/build';
import type { OnnxModel } from '../onnx/model';
import { runFloat } from '../onnx/sessions';
import { handled } from '../pending';
import type { Run } from '../run';
import { latentSize, type Activations } from './activations';
import { negativeActivations, nonFiniteActivations, type Model, type PreparedModel } from './model';
import type { Factorisation } from './nmf';
import type { PreprocessConfig } from '../../protocol';

/**
 * Whole images → g → X·Wᵀ per latent position ('projected') and the smallest activation ('minimum');
 * with `keepLayer`, the layer's activations too (for h).
 */
export function projectionGraph(m: PreparedModel, W: Matrix, keepLayer = false): OnnxModel {
  return withProjection(m.g, {
    W: { data: Float32Array.from(W.data), rows: W.rows, cols: W.cols },
    spatial: m.spatial,
    layout: m.layerLayout,
    keepSource: keepLayer,
  });
}

export interface Coefficients {
  /** (image, y, x) × r, row-major: image i's block is rows i·h·w … (i+1)·h·w − 1. */
  U: Matrix;
  images: number;
  /** Latent grid [h, w] ([1, 1] for vector activations). */
  latent: [number, number];
  /** Image i's coefficients as h((u ⊙ m)·W) takes them (h·w·r floats). */
  of(image: number): Float32Array;
  /** What the model predicts for each image. */
  predictions: Prediction[];
}

export interface Prediction {
  /** argmax of the model's output. */
  predicted: number;
  /** The output for the explained class. */
  score: number;
  /** Its softmax probability (the output itself when the model ends with a softmax). */
  probability: number;
}

/** Whether the model's output is already a probability (h ends with a Softmax). */
function outputIsProbability(m: PreparedModel): boolean {
  const out = m.h.outputs[0].name;
  return m.h.nodes.some((n) => n.opType === 'Softmax' && n.outputs.includes(out));
}

/** Each image's prediction from its row of the model's output (images × classes). */
export function predictions(outputs: Float32Array, classes: number, classIndex: number, isProbability: boolean): Prediction[] {
  const list: Prediction[] = [];
  for (let i = 0; i < outputs.length / classes; i++) {
    const row = outputs.subarray(i * classes, (i + 1) * classes);
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (row[c] > max) [max, best] = [row[c], c];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - max);
    const score = row[classIndex];
    list.push({ predicted: best, score, probability: isProbability ? score : Math.exp(score - max) / sum });
  }
  return list;
}

export async function transformStage(run: Run, m: Model, acts: Activations, fit: Factorisation): Promise<Coefficients> {
  const o = run.options;
  run.stage('transform');
  const r = o.concepts;
  const images = acts.images.length;
  // From the cache when this fit's second pass was run before (its key holds W, the images and the model).
  const { U, outputs, cached } = await run.cache.coefficients(images, async () => {
    // Both released once the pass is done (their arenas are not needed by the solve and the later stages).
    const session = run.own(await m.factory.create(projectionGraph(m, fit.W, true).bytes, 'g with the projection on the concepts'));
    const h = run.own(await m.factory.create(m.h.bytes, 'h (layer → output)'));
    const projection = await projectImages({
      pixels: (i) => run.pixels.read(i),
      count: images,
      preprocess: m.preprocess,
      session,
      input: m.info.inputName,
      concepts: r,
      batch: m.gBatch,
      fixedBatch: m.info.fixedBatch,
      onProgress: (done, total) => run.progress('transform', done, total, 'images'),
      signal: run.signal,
      h: { session: h, layer: m.layer, input: m.h.inputs[0].name, output: m.h.outputs[0].name },
    }).finally(() => Promise.all([run.release(session), run.release(h)]));
    if (projection.nonFinite > 0)
      throw nonFiniteActivations(m.layer, projection.nonFinite, projection.projected.length, 'projections of the whole images on the concepts');
    if (projection.minActivation < 0) throw negativeActivations(m.layer, projection.minActivation, 'on some images');
    const rows = { rows: projection.positions, cols: r, data: projection.projected };
    const { U } = await transformProjected(rows, fit.W, m.channels, { tol: o.tol, maxIter: o.maxIter, alphaW: o.alphaW, signal: run.signal });
    return { U, outputs: projection.outputs! };
  });
  if (cached) {
    run.progress('transform', images, images, 'images');
    run.log('Transform: the coefficients of every image and the predictions from the cache.');
  }
  const latent = latentSize(m.layerShape, m.layerLayout);
  const hw = latent[0] * latent[1];
  return {
    U,
    images,
    latent,
    of: (i) => Float32Array.from(U.data.subarray(i * hw * r, (i + 1) * hw * r)),
    predictions: predictions(outputs, m.classes, m.classIndex, outputIsProbability(m)),
  };
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
  /**
   * h, run on the layer's activations of each batch (the projection graph must keep them as an output
   * named `layer`): the model's own output for every image, for its predictions.
   */
  h?: { session: ort.InferenceSession; layer: string; input: string; output: string };
}): Promise<{ projected: Float64Array; positions: number; minActivation: number; nonFinite: number; outputs?: Float32Array }> {
  const [H, W] = args.preprocess.size;
  const itemDims = args.preprocess.layout === 'NCHW' ? [3, H, W] : [H, W, 3];
  const size = 3 * H * W;
  const chunks: Float32Array[] = [];
  const outputs: Float32Array[] = [];
  let minActivation = Infinity;
  let nonFinite = 0;
  const step = args.fixedBatch ?? args.batch;
  // The next batch is read while ONNX Runtime runs this one: two buffers, used in turn (a padded
  // tail of a fixed batch may hold an earlier image; its outputs are dropped).
  const buffers = [0, 1].map(() => new Float32Array((args.fixedBatch ?? Math.min(step, args.count)) * size));
  const load = (start: number) => {
    const count = Math.min(step, args.count - start);
    const batch = buffers[(start / step) % 2].subarray(0, (args.fixedBatch ?? count) * size);
    return handled(
      Promise.all(
        Array.from({ length: count }, async (_, i) => {
          preprocessRgb(await args.pixels(start + i), args.preprocess, batch, i * size);
        }),
      ).then(() => ({ count, batch })),
    );
  };
  let next = args.count > 0 ? load(0) : undefined;
  for (let start = 0; start < args.count; start += step) {
    throwIfCancelled(args.signal);
    const { count, batch } = await next!;
    next = start + step < args.count ? load(start + step) : undefined;
    const rows = args.fixedBatch ?? count;
    const wanted = args.h ? ['projected', 'minimum', args.h.layer] : ['projected', 'minimum'];
    const out = await runFloat(args.session, { [args.input]: { data: batch, dims: [rows, ...itemDims] } }, wanted);
    const per = out.projected.data.length / rows;
    const projected = out.projected.data.slice(0, per * count);
    for (const v of projected) if (!Number.isFinite(v)) nonFinite++;
    chunks.push(projected);
    minActivation = Math.min(minActivation, out.minimum.data[0]);
    if (args.h) {
      const h = args.h;
      const scores = (await runFloat(h.session, { [h.input]: out[h.layer] }, [h.output]))[h.output].data;
      outputs.push(scores.slice(0, (scores.length / rows) * count));
    }
    args.onProgress(start + count, args.count);
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const projected = new Float64Array(total);
  let offset = 0;
  for (const c of chunks) {
    projected.set(c, offset);
    offset += c.length;
  }
  return { projected, positions: total / args.concepts, minActivation, nonFinite, outputs: args.h ? concatFloat32(outputs) : undefined };
}

/**
 * The 'importance' stage: Sobol total-order importance of each concept through h, per image and
 * averaged over the images (docs/method.md §5): Halton masks scale the concepts' coefficients, h reads
 * the class logit of each perturbed reconstruction, and the Jansen estimator turns them into indices.
 */
import { throwIfCancelled } from '../errors';
import type { Matrix } from '../math/matrix';
import { haltonDesign, jansenTotalOrder } from '../math/sobol';
import { perturbedLogits } from '../onnx/perturbed';
import { effectiveBatch, type Run } from '../run';
import { nonFiniteLogits, type Model } from './model';
import type { Coefficients } from './transform';

export interface Importances {
  /** Global importance per concept (concept order). */
  global: Float64Array;
  /** Each image's own importances (concept order). */
  perImage: Float64Array[];
  /** Concept indices, most important first. */
  ranking: number[];
  /** h on perturbed reconstructions, kept for the fidelity curves. */
  logits: PerturbedLogits;
}

export async function importanceStage(run: Run, m: Model, coefficients: Coefficients, W: Matrix): Promise<Importances> {
  const o = run.options;
  run.stage('importance');
  const r = o.concepts;
  const design = haltonDesign(r, o.designs);
  const masks = Float32Array.from(design.data);
  const perturbed = await perturbedLogits({
    h: m.h,
    W,
    spatial: m.spatial ? coefficients.latent : null,
    layout: m.layerLayout,
    classes: m.classes,
    batch: m.hBatch,
    fixedBatch: m.info.fixedBatch,
    designRows: design.rows,
    capBlock: effectiveBatch,
    probe: { coefficients: coefficients.of(0), masks },
    factory: m.factory,
    log: run.log,
  });
  perturbed.sessions.forEach((s) => run.own(s));
  const perImage: Float64Array[] = [];
  let nonFinite = 0;
  for (let i = 0; i < coefficients.images; i++) {
    throwIfCancelled(run.signal);
    const y = await classLogits(perturbed.logits, coefficients.of(i), masks, r, m.classIndex);
    // Counted over every image, so the error can say how widespread the problem is.
    if (!y.every(Number.isFinite)) nonFinite++;
    else perImage.push(jansenTotalOrder(y, o.designs, r));
    run.progress('importance', i + 1, coefficients.images, 'images');
  }
  if (nonFinite > 0) throw nonFiniteLogits(m.classIndex, nonFinite, coefficients.images, 'images (on their perturbed concept reconstructions)');
  const global = meanImportance(perImage, r);
  return { global, perImage, ranking: rankConcepts(global), logits: perturbed.logits };
}

/**
 * h applied to perturbed reconstructions, evaluated in ONNX Runtime: for one image's coefficients
 * u (h·w·r, or r for 2-D activations) and a block of masks m (b × r) it returns
 * h((u ⊙ m_k) · W) for k < b, i.e. b rows of logits (craft_torch.py `estimate_importance`).
 */
export interface PerturbedLogits {
  readonly classes: number;
  /** Largest mask block one call accepts (a model's fixed batch size, else the run's batch size). */
  readonly maxBlock: number;
  run(coefficients: Float32Array, masks: Float32Array, block: number): Promise<Float32Array>;
}

/**
 * Sobol total-order importance of each concept for one image (the "local" importance): the design's
 * masks scale each concept's coefficient everywhere in the image (the re-parameterisation trick, docs/method.md §5.2),
 * and the Jansen estimator reads the class logit.
 */
export async function imageImportance(
  model: PerturbedLogits,
  coefficients: Float32Array,
  design: Matrix,
  nbDesign: number,
  classId: number,
): Promise<Float64Array> {
  return jansenTotalOrder(await classLogits(model, coefficients, Float32Array.from(design.data), design.cols, classId), nbDesign, design.cols);
}

/** The class logit of h((u ⊙ m_k)·W) for every mask row m_k (r values each) of one image (u = its coefficients). */
export async function classLogits(model: PerturbedLogits, coefficients: Float32Array, masks: Float32Array, r: number, classId: number): Promise<Float64Array> {
  const rows = masks.length / r;
  const y = new Float64Array(rows);
  for (let start = 0; start < rows; start += model.maxBlock) {
    const block = Math.min(model.maxBlock, rows - start);
    const logits = await model.run(coefficients, masks.subarray(start * r, (start + block) * r), block);
    for (let k = 0; k < block; k++) y[start + k] = logits[k * model.classes + classId];
  }
  return y;
}

/** Global importance: the arithmetic mean of the per-image indices (reference `estimate_importance`). */
export function meanImportance(perImage: Float64Array[], r: number): Float64Array {
  const mean = new Float64Array(r);
  for (const st of perImage) for (let i = 0; i < r; i++) mean[i] += st[i];
  for (let i = 0; i < r; i++) mean[i] /= Math.max(1, perImage.length);
  return mean;
}

/** Concept indices by decreasing importance (ties: lower index first). */
export function rankConcepts(importances: ArrayLike<number>): number[] {
  return Array.from(importances, (_, i) => i).sort((a, b) => importances[b] - importances[a] || a - b);
}

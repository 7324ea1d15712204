/**
 * The 'fidelity' stage: evidence that the importance ranking is right (docs/method.md §7). For each
 * image, h reads the class output as the concepts are removed (C-Deletion) or added back (C-Insertion)
 * one at a time, most important first, and along seeded random orders for comparison.
 */
import { throwIfCancelled } from '../errors';
import { fidelityMasks, randomOrders, trapezoidArea } from '../math/fidelity';
import { concatFloat32 } from '../math/matrix';
import type { Run } from '../run';
import { classLogits, type Importances } from './importance';
import type { Model } from './model';
import type { Coefficients } from './transform';
import type { FidelityCurves } from '../../protocol';

/** Random orders the baseline averages over: enough for a steady mean, a small cost next to the importance. */
export const RANDOM_ORDERS = 8;

export async function fidelityStage(run: Run, m: Model, coefficients: Coefficients, importance: Importances): Promise<FidelityCurves> {
  run.stage('fidelity');
  const r = importance.ranking.length;
  const orders = [importance.ranking, ...randomOrders(r, RANDOM_ORDERS)];
  const masks = concatFloat32(orders.map(fidelityMasks));
  const perOrder = 2 * (r + 1);
  const sums = new Float64Array(orders.length * perOrder);
  for (let i = 0; i < coefficients.images; i++) {
    throwIfCancelled(run.signal);
    const y = await classLogits(importance.logits, coefficients.of(i), masks, r, m.classIndex);
    for (let k = 0; k < y.length; k++) sums[k] += y[k];
    run.progress('fidelity', i + 1, coefficients.images, 'images');
  }
  const mean = Array.from(sums, (v) => v / coefficients.images);
  const curve = (o: number, insertion: boolean) => mean.slice(o * perOrder + (insertion ? r + 1 : 0), o * perOrder + (insertion ? 2 * (r + 1) : r + 1));
  const average = (curves: number[][]) => curves[0].map((_, k) => curves.reduce((a, c) => a + c[k], 0) / curves.length);
  const randomDeletion = average(orders.slice(1).map((_, o) => curve(o + 1, false)));
  const randomInsertion = average(orders.slice(1).map((_, o) => curve(o + 1, true)));
  const fidelity: FidelityCurves = {
    deletion: curve(0, false),
    insertion: curve(0, true),
    deletionAuc: trapezoidArea(curve(0, false)),
    insertionAuc: trapezoidArea(curve(0, true)),
    random: {
      deletion: randomDeletion,
      insertion: randomInsertion,
      deletionAuc: trapezoidArea(randomDeletion),
      insertionAuc: trapezoidArea(randomInsertion),
      orders: RANDOM_ORDERS,
    },
  };
  run.log(
    `Fidelity: deletion area ${fidelity.deletionAuc.toPrecision(4)} (random orders ${fidelity.random.deletionAuc.toPrecision(4)}), ` +
      `insertion area ${fidelity.insertionAuc.toPrecision(4)} (random ${fidelity.random.insertionAuc.toPrecision(4)}).`,
  );
  return fidelity;
}

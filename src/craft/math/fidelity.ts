/**
 * C-Deletion and C-Insertion (docs/method.md §7): h's class output as the concepts are removed (or
 * added back) one at a time along an order, most important first. Pure arithmetic on mask rows and
 * curves; the forward passes are the fidelity stage's.
 */
import { rng } from './random';

/**
 * The 2(r + 1) mask rows of one order, r values each: rows 0…r are deletion k = 0…r (the first k
 * concepts of the order switched off), rows r+1…2r+1 insertion k = 0…r (only the first k kept).
 */
export function fidelityMasks(order: readonly number[]): Float32Array {
  const r = order.length;
  const rows = new Float32Array(2 * (r + 1) * r);
  for (let k = 0; k <= r; k++) {
    const del = rows.subarray(k * r, (k + 1) * r);
    const ins = rows.subarray((r + 1 + k) * r, (r + 2 + k) * r);
    del.fill(1);
    for (let j = 0; j < k; j++) {
      del[order[j]] = 0;
      ins[order[j]] = 1;
    }
  }
  return rows;
}

/** Area under a curve sampled at x = k/(len − 1), k = 0…len − 1, by the trapezoid rule. */
export function trapezoidArea(curve: ArrayLike<number>): number {
  const steps = curve.length - 1;
  if (steps < 1) return 0;
  let area = 0;
  for (let k = 0; k < steps; k++) area += (curve[k] + curve[k + 1]) / 2;
  return area / steps;
}

/** `count` random permutations of 0…r−1 (Fisher–Yates on a seeded generator: the same every run). */
export function randomOrders(r: number, count: number, seed = 1): number[][] {
  const next = rng(seed);
  return Array.from({ length: count }, () => {
    const order = Array.from({ length: r }, (_, i) => i);
    for (let i = r - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  });
}

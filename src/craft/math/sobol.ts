/**
 * Sobol total-order importance as CRAFT computes it: the replicated Halton design of
 * `craft/sobol/sampler.py::HaltonSequence` and `craft/sobol/estimators.py::JansenEstimator`
 * (docs/method.md §5.1, §5.3, §5.5).
 */
import { Matrix, zeros } from './matrix';

/** First `count` primes (2, 3, 5, ...). */
export function firstPrimes(count: number): number[] {
  const primes: number[] = [];
  for (let n = 2; primes.length < count; n++) {
    let isPrime = true;
    for (const p of primes) {
      if (p * p > n) break;
      if (n % p === 0) {
        isPrime = false;
        break;
      }
    }
    if (isPrime) primes.push(n);
  }
  return primes;
}

/**
 * Van der Corput radical inverse of k in base b (unscrambled Halton coordinate):
 * k = Σ d_j b^j → Σ d_j b^{-(j+1)}. Digits are extracted with integer arithmetic and the
 * weights are built by repeated division from 1/b, least significant digit first, the same
 * float64 operation order as scipy's `van_der_corput` (so the float32 rounding matches).
 */
export function radicalInverse(k: number, base: number): number {
  if (!Number.isSafeInteger(k) || k < 0) throw new Error(`radicalInverse: k must be a non-negative integer, got ${k}`);
  if (!Number.isInteger(base) || base < 2) throw new Error(`radicalInverse: base must be an integer ≥ 2, got ${base}`);
  let value = 0;
  let weight = 1 / base;
  for (let q = k; q > 0; q = Math.floor(q / base)) {
    value += (q % base) * weight;
    weight /= base;
  }
  return value;
}

/**
 * The reference replicated design `HaltonSequence()(r, nbDesign)`: a fresh unscrambled
 * Halton engine of dimension 2r (bases = first 2r primes, start index 0) gives Q (nbDesign × 2r),
 * cast to float32; A = Q[:, :r], B = Q[:, r:], C_i = A with column i taken from B.
 * Returns vstack(A, B, C_0, ..., C_{r-1}): (nbDesign·(r+2)) × r, float32 values held as float64.
 * Row 0 of every block is all zeros, and B columns are not uniform on [0,1) when nbDesign is
 * smaller than their bases (§4.1); both are reference behaviour and are kept on purpose.
 */
export function haltonDesign(r: number, nbDesign: number): Matrix {
  if (!Number.isInteger(r) || r < 1) throw new Error(`haltonDesign: r must be a positive integer, got ${r}`);
  if (!Number.isInteger(nbDesign) || nbDesign < 1) throw new Error(`haltonDesign: nbDesign must be a positive integer, got ${nbDesign}`);
  const bases = firstPrimes(2 * r);
  const a = new Float64Array(nbDesign * r);
  const b = new Float64Array(nbDesign * r);
  for (let k = 0; k < nbDesign; k++) {
    for (let j = 0; j < r; j++) {
      a[k * r + j] = Math.fround(radicalInverse(k, bases[j]));
      b[k * r + j] = Math.fround(radicalInverse(k, bases[r + j]));
    }
  }
  const out = zeros(nbDesign * (r + 2), r);
  const blockSize = nbDesign * r;
  out.data.set(a, 0);
  out.data.set(b, blockSize);
  for (let i = 0; i < r; i++) {
    const offset = (2 + i) * blockSize;
    out.data.set(a, offset);
    for (let k = 0; k < nbDesign; k++) out.data[offset + k * r + i] = b[k * r + i];
  }
  return out;
}

/**
 * Jansen total-order indices (`JansenEstimator.__call__`, §4.3) from the model outputs on
 * the design rows: ST_i = Σ_j (yA_j − yC_i,j)² / (2·N·var(yA, ddof=1)). The B block is unused.
 * Computed in float64; the result is rounded to float32 like the reference's `post_process`.
 * Deviation: a constant A block (var = 0) gives all zeros instead of the reference's NaN,
 * so one all-zero image does not poison the mean over images (xplique-TF also returns 0).
 */
export function jansenTotalOrder(y: ArrayLike<number>, nbDesign: number, r: number): Float64Array {
  if (!Number.isInteger(nbDesign) || nbDesign < 2) throw new Error(`jansenTotalOrder: nbDesign must be an integer ≥ 2, got ${nbDesign}`);
  if (!Number.isInteger(r) || r < 1) throw new Error(`jansenTotalOrder: r must be a positive integer, got ${r}`);
  if (y.length !== nbDesign * (r + 2)) {
    throw new Error(`jansenTotalOrder: ${y.length} outputs, expected nbDesign·(r+2) = ${nbDesign * (r + 2)}`);
  }
  // Test constancy directly: summing then dividing a constant need not give it back exactly,
  // which would leave a rounding-noise variance instead of 0.
  let constant = true;
  for (let j = 1; j < nbDesign; j++) if (y[j] !== y[0]) constant = false;
  const st = new Float64Array(r);
  if (constant) return st;
  let mean = 0;
  for (let j = 0; j < nbDesign; j++) mean += y[j];
  mean /= nbDesign;
  let sq = 0;
  for (let j = 0; j < nbDesign; j++) sq += (y[j] - mean) ** 2;
  const variance = sq / (nbDesign - 1);
  for (let i = 0; i < r; i++) {
    const offset = (2 + i) * nbDesign;
    let s = 0;
    for (let j = 0; j < nbDesign; j++) s += (y[j] - y[offset + j]) ** 2;
    st[i] = Math.fround(s / (2 * nbDesign * variance));
  }
  return st;
}

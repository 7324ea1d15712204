/**
 * Small dense float64 helpers for the engine's math modules (NMF init and solver).
 * Everything here is meant for "thin" matrices: one side is small (the number of concepts, or a
 * subspace of ~20 vectors). Products with the big data matrix go through nmf.ts's DataProducts.
 */
import { Matrix, zeros } from './matrix';

/** Aᵀ·A for A (m × k) → k × k (symmetric; only the upper triangle is summed, then mirrored). */
export function gram(a: Matrix): Matrix {
  const { rows: m, cols: k, data } = a;
  const g = zeros(k, k);
  const out = g.data;
  // Each entry is one dot product down two columns, summed in row order; two entries at a time share
  // the load of column s and run as two independent sums (2× faster than row-wise updates of the k × k).
  for (let s = 0; s < k; s++) {
    let t = s;
    for (; t + 1 < k; t += 2) {
      let x = 0;
      let y = 0;
      for (let r = 0; r < m * k; r += k) {
        const v = data[r + s];
        x += v * data[r + t];
        y += v * data[r + t + 1];
      }
      out[s * k + t] = x;
      out[s * k + t + 1] = y;
    }
    if (t < k) {
      let x = 0;
      for (let r = 0; r < m * k; r += k) x += data[r + s] * data[r + t];
      out[s * k + t] = x;
    }
  }
  for (let s = 0; s < k; s++) for (let t = 0; t < s; t++) out[s * k + t] = out[t * k + s];
  return g;
}

/** A·Aᵀ for A (k × m) → k × k, i.e. the Gram matrix of A's rows. */
export function rowGram(a: Matrix): Matrix {
  const { rows: k, cols: m, data } = a;
  const g = zeros(k, k);
  for (let s = 0; s < k; s++) {
    for (let t = s; t < k; t++) {
      let acc = 0;
      const rs = s * m;
      const rt = t * m;
      for (let j = 0; j < m; j++) acc += data[rs + j] * data[rt + j];
      g.data[s * k + t] = acc;
      g.data[t * k + s] = acc;
    }
  }
  return g;
}

/** A·B for A (m × k), B (k × l) → m × l. Meant for small k and l (inner loop over l). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const m = a.rows;
  const k = a.cols;
  const l = b.cols;
  const c = zeros(m, l);
  const ad = a.data;
  const bd = b.data;
  const cd = c.data;
  for (let i = 0; i < m; i++) {
    const ci = i * l;
    for (let s = 0; s < k; s++) {
      const v = ad[i * k + s];
      if (v === 0) continue;
      const bs = s * l;
      for (let t = 0; t < l; t++) cd[ci + t] += v * bd[bs + t];
    }
  }
  return c;
}

/** Σ_ij A_ij·B_ij (Frobenius inner product) of two equally shaped matrices. */
export function frobeniusDot(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`frobeniusDot: ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`);
  }
  let acc = 0;
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < ad.length; i++) acc += ad[i] * bd[i];
  return acc;
}

export interface SymmetricEigen {
  /** eigenvalues, largest first */
  values: Float64Array;
  /** n × n, column j is the unit eigenvector of values[j] */
  vectors: Matrix;
}

/**
 * Eigen-decomposition of a small symmetric matrix S (n × n) by cyclic Jacobi rotations.
 * Jacobi is slow for big n but accurate to working precision (also for small eigenvalues),
 * which is what the Rayleigh–Ritz step of the truncated SVD needs (n ≈ 20 there).
 */
export function symmetricEigen(s: Matrix, maxSweeps = 100): SymmetricEigen {
  const n = s.rows;
  if (s.cols !== n) throw new Error(`symmetricEigen: matrix is ${s.rows}x${s.cols}, not square`);
  const a = Float64Array.from(s.data);
  // symmetrise, so a slightly asymmetric input (rounding) cannot stall the sweeps
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      const m = 0.5 * (a[p * n + q] + a[q * n + p]);
      a[p * n + q] = m;
      a[q * n + p] = m;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i] * a[i];
  const floor = total * 1e-32; // off-diagonal mass below (1e-16·‖S‖_F)² counts as converged

  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * a[p * n + q] * a[p * n + q];
    if (off <= floor) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // rotation angle that zeroes a_pq (Golub & Van Loan, sym.schur2)
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) {
          // columns p and q
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p and q
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }

  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * Orthonormalises the columns of M (m × l) in place: modified Gram–Schmidt, applied twice
 * ("twice is enough") so the result is orthonormal to working precision.
 * A column that is (numerically) in the span of the earlier ones is replaced by refill(),
 * orthogonalised the same way, so the result always has l orthonormal columns (needs l ≤ m).
 */
export function orthonormalizeColumns(mat: Matrix, refill: () => Float64Array): void {
  const m = mat.rows;
  const l = mat.cols;
  if (l > m) throw new Error(`orthonormalizeColumns: ${l} columns in dimension ${m}`);
  // work on columns as contiguous rows
  const cols: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = mat.data[i * l + j];
    cols.push(c);
  }
  const dot = (x: Float64Array, y: Float64Array): number => {
    let acc = 0;
    for (let i = 0; i < m; i++) acc += x[i] * y[i];
    return acc;
  };
  for (let j = 0; j < l; j++) {
    let c = cols[j];
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(dot(c, c));
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < j; q++) {
          const d = dot(cols[q], c);
          const b = cols[q];
          for (let i = 0; i < m; i++) c[i] -= d * b[i];
        }
      }
      const after = Math.sqrt(dot(c, c));
      if (after > 1e-10 * before && after > 0) {
        for (let i = 0; i < m; i++) c[i] /= after;
        break;
      }
      if (attempt >= 20) throw new Error('orthonormalizeColumns: could not complete an orthonormal basis');
      c = refill();
      if (c.length !== m) throw new Error('orthonormalizeColumns: refill() returned a vector of the wrong length');
      cols[j] = c;
    }
  }
  for (let j = 0; j < l; j++) for (let i = 0; i < m; i++) mat.data[i * l + j] = cols[j][i];
}

/**
 * Deterministic pseudo-random numbers in [-1, 1) (a 32-bit xorshift generator), for reproducible
 * start vectors. Not for statistics.
 */
export function deterministicUniform(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2147483648 - 1;
  };
}

/**
 * Products with the fixed NMF data matrix X (n × p): the interface every backend implements, and the
 * plain float64 JavaScript backend (exact; used for small matrices and in the reference tests).
 * The ONNX Runtime backend is onnx/products.ts.
 */
import { type Matrix, zeros, transpose } from './matrix';

/** Products with a fixed data matrix X (n × p); implementations may run on ONNX Runtime. */
export interface DataProducts {
  readonly rows: number; // n
  readonly cols: number; // p
  readonly mean: number; // mean of all entries of X
  readonly sumSquares: number; // ‖X‖_F²
  readonly minValue: number; // smallest entry (NMF requires >= 0)
  /** unit roundoff of the products (2⁻⁵³ in float64, 2⁻²⁴ in float32): results below it are noise */
  readonly unitRoundoff: number;
  /** X · B, B is p × k → n × k */
  times(B: Matrix): Promise<Matrix>;
  /** Xᵀ · B, B is n × k → p × k */
  transposeTimes(B: Matrix): Promise<Matrix>;
  dispose(): Promise<void>;
}

/** X · B for X (n × p), B (p × k) → n × k. Register-blocked dot products: 4 rows of X × 2 columns of B. */
function jsTimes(x: Float64Array, n: number, p: number, b: Matrix): Matrix {
  if (b.rows !== p) throw new Error(`DataProducts.times: X is ${n}x${p}, B is ${b.rows}x${b.cols}`);
  const k = b.cols;
  const bt = transpose(b).data; // k × p: each column of B contiguous
  const out = zeros(n, k);
  const o = out.data;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = i * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    const o0 = i * k;
    const o1 = o0 + k;
    const o2 = o1 + k;
    const o3 = o2 + k;
    let t = 0;
    for (; t + 1 < k; t += 2) {
      const c0 = t * p;
      const c1 = c0 + p;
      let a00 = 0,
        a01 = 0,
        a10 = 0,
        a11 = 0,
        a20 = 0,
        a21 = 0,
        a30 = 0,
        a31 = 0;
      for (let j = 0; j < p; j++) {
        const c = bt[c0 + j];
        const d = bt[c1 + j];
        let u = x[x0 + j];
        a00 += u * c;
        a01 += u * d;
        u = x[x1 + j];
        a10 += u * c;
        a11 += u * d;
        u = x[x2 + j];
        a20 += u * c;
        a21 += u * d;
        u = x[x3 + j];
        a30 += u * c;
        a31 += u * d;
      }
      o[o0 + t] = a00;
      o[o0 + t + 1] = a01;
      o[o1 + t] = a10;
      o[o1 + t + 1] = a11;
      o[o2 + t] = a20;
      o[o2 + t + 1] = a21;
      o[o3 + t] = a30;
      o[o3 + t + 1] = a31;
    }
    for (; t < k; t++) {
      const c0 = t * p;
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0;
      for (let j = 0; j < p; j++) {
        const c = bt[c0 + j];
        a0 += x[x0 + j] * c;
        a1 += x[x1 + j] * c;
        a2 += x[x2 + j] * c;
        a3 += x[x3 + j] * c;
      }
      o[o0 + t] = a0;
      o[o1 + t] = a1;
      o[o2 + t] = a2;
      o[o3 + t] = a3;
    }
  }
  for (; i < n; i++) {
    const x0 = i * p;
    for (let t = 0; t < k; t++) {
      const c0 = t * p;
      let a = 0;
      for (let j = 0; j < p; j++) a += x[x0 + j] * bt[c0 + j];
      o[i * k + t] = a;
    }
  }
  return out;
}

/**
 * Xᵀ · B for X (n × p), B (n × k) → p × k. Accumulates (Xᵀ·B)ᵀ (k × p) by axpy of 4 rows of X
 * at a time into 2 output rows, so every inner loop runs contiguously over p; transposed at the end.
 */
function jsTransposeTimes(x: Float64Array, n: number, p: number, b: Matrix): Matrix {
  if (b.rows !== n) throw new Error(`DataProducts.transposeTimes: X is ${n}x${p}, B is ${b.rows}x${b.cols}`);
  const k = b.cols;
  const bd = b.data;
  const acc = new Float64Array(k * p); // (Xᵀ·B)ᵀ
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const x0 = i * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    const r0 = i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    let t = 0;
    for (; t + 1 < k; t += 2) {
      const b0 = bd[r0 + t],
        b1 = bd[r1 + t],
        b2 = bd[r2 + t],
        b3 = bd[r3 + t];
      const c0 = bd[r0 + t + 1],
        c1 = bd[r1 + t + 1],
        c2 = bd[r2 + t + 1],
        c3 = bd[r3 + t + 1];
      const ot = t * p;
      const ou = ot + p;
      for (let j = 0; j < p; j++) {
        const u0 = x[x0 + j];
        const u1 = x[x1 + j];
        const u2 = x[x2 + j];
        const u3 = x[x3 + j];
        acc[ot + j] += b0 * u0 + b1 * u1 + b2 * u2 + b3 * u3;
        acc[ou + j] += c0 * u0 + c1 * u1 + c2 * u2 + c3 * u3;
      }
    }
    for (; t < k; t++) {
      const b0 = bd[r0 + t],
        b1 = bd[r1 + t],
        b2 = bd[r2 + t],
        b3 = bd[r3 + t];
      const ot = t * p;
      for (let j = 0; j < p; j++) acc[ot + j] += b0 * x[x0 + j] + b1 * x[x1 + j] + b2 * x[x2 + j] + b3 * x[x3 + j];
    }
  }
  for (; i < n; i++) {
    const x0 = i * p;
    for (let t = 0; t < k; t++) {
      const bv = bd[i * k + t];
      if (bv === 0) continue;
      const ot = t * p;
      for (let j = 0; j < p; j++) acc[ot + j] += bv * x[x0 + j];
    }
  }
  const out = zeros(p, k);
  for (let j = 0; j < p; j++) for (let t = 0; t < k; t++) out.data[j * k + t] = acc[t * p + j];
  return out;
}

/**
 * Plain float64 JavaScript DataProducts for X (n × p). Keeps a reference to X's data (no copy),
 * so X must not be modified while the products are in use.
 */
export function jsProducts(X: Matrix): DataProducts {
  const { rows: n, cols: p, data } = X;
  if (data.length !== n * p) throw new Error(`jsProducts: ${data.length} values for ${n}x${p}`);
  let sum = 0;
  let sumSquares = 0;
  let minValue = Infinity;
  let finite = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) finite = false;
    sum += v;
    sumSquares += v * v;
    if (v < minValue) minValue = v;
  }
  return {
    rows: n,
    cols: p,
    mean: data.length > 0 ? sum / data.length : NaN,
    sumSquares,
    minValue: finite ? minValue : NaN,
    unitRoundoff: 2 ** -53,
    times: async (B) => jsTimes(data, n, p, B),
    transposeTimes: async (B) => jsTransposeTimes(data, n, p, B),
    dispose: async () => undefined,
  };
}

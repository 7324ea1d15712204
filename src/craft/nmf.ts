/**
 * Non-negative matrix factorisation X ≈ U·W as scikit-learn does it for CRAFT:
 * `NMF(n_components=r)` with its defaults (init 'nndsvda', solver 'cd', tol 1e-4, max_iter 200,
 * alpha_W 0, l1_ratio 0, shuffle False), computed in float64.
 * Spec: craft-reference.md §9.1–9.4; sklearn/decomposition/_nmf.py and _cdnmf_fast.pyx.
 *
 * Naming. Inside this file the factors carry sklearn's names so each step can be read against
 * _nmf.py line by line: X (n × p) ≈ W·H with W (n × r) the per-sample coefficients and
 * H (r × p) the components (`components_`); the solver keeps H as its transpose Ht (p × r).
 * The public results use CRAFT's names: U = sklearn W (n × r), W = sklearn H (r × p).
 *
 * Every product that touches X (n × p) goes through a DataProducts object, so a fast backend
 * (e.g. ONNX Runtime MatMul) can be plugged in; only the small r × r and n × r / p × r work stays
 * here in plain float64 JavaScript.
 */
import { Matrix, zeros, transpose } from './matrix';
import {
  gram,
  rowGram,
  matmul,
  frobeniusDot,
  symmetricEigen,
  orthonormalizeColumns,
  deterministicUniform,
} from './linalg';

/** Products with a fixed data matrix X (n × p); implementations may run on ONNX Runtime. */
export interface DataProducts {
  readonly rows: number; // n
  readonly cols: number; // p
  readonly mean: number; // mean of all entries of X
  readonly sumSquares: number; // ‖X‖_F²
  readonly minValue: number; // smallest entry (NMF requires >= 0)
  /** X · B, B is p × k → n × k */
  times(B: Matrix): Promise<Matrix>;
  /** Xᵀ · B, B is n × k → p × k */
  transposeTimes(B: Matrix): Promise<Matrix>;
  dispose(): Promise<void>;
}

export interface NmfOptions {
  components: number;
  tol?: number;
  maxIter?: number;
  alphaW?: number;
  signal?: AbortSignal;
  onIteration?: (it: number, maxIter: number) => void;
}

export interface NmfFit {
  U: Matrix /* n×r */;
  W: Matrix /* r×p (sklearn components_) */;
  iterations: number;
  converged: boolean;
  reconstructionError: number /* ‖X−UW‖_F absolute, like sklearn reconstruction_err_ */;
  relativeError: number /* divided by ‖X‖_F */;
}

// ---------------------------------------------------------------------------------------------
// Plain JavaScript products
// ---------------------------------------------------------------------------------------------

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
      let a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0;
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
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
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
      const b0 = bd[r0 + t], b1 = bd[r1 + t], b2 = bd[r2 + t], b3 = bd[r3 + t];
      const c0 = bd[r0 + t + 1], c1 = bd[r1 + t + 1], c2 = bd[r2 + t + 1], c3 = bd[r3 + t + 1];
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
      const b0 = bd[r0 + t], b1 = bd[r1 + t], b2 = bd[r2 + t], b3 = bd[r3 + t];
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
    times: async (B) => jsTimes(data, n, p, B),
    transposeTimes: async (B) => jsTransposeTimes(data, n, p, B),
    dispose: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

function abortError(): Error {
  const e = new Error('NMF was cancelled.');
  e.name = 'AbortError';
  return e;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

/** Input checks of sklearn's check_non_negative / _check_params, with messages for CRAFT users. */
function checkData(X: DataProducts): void {
  if (X.rows < 1 || X.cols < 1) {
    throw new Error(`NMF needs a non-empty activation matrix, got ${X.rows} crops × ${X.cols} channels.`);
  }
  if (!Number.isFinite(X.minValue) || !Number.isFinite(X.sumSquares)) {
    throw new Error('NMF input contains NaN or infinite activations; check the model and the chosen layer.');
  }
  if (X.minValue < 0) {
    throw new Error(
      `NMF needs non-negative activations, but the smallest value is ${X.minValue}. ` +
        'Pick a layer whose outputs are non-negative (e.g. right after a ReLU), or apply a ReLU to the activations.',
    );
  }
}

/** Guards against a DataProducts backend that returns the wrong shape (it would otherwise read as NaN). */
function checkShape(M: Matrix, rows: number, cols: number, what: string): Matrix {
  if (M.rows !== rows || M.cols !== cols || M.data.length !== rows * cols) {
    throw new Error(`NMF: the data backend returned ${what} as ${M.rows}x${M.cols} (${M.data.length} values), expected ${rows}x${cols}.`);
  }
  return M;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`NMF option ${name} must be an integer ≥ ${min}, got ${value}.`);
}

function checkNonNegative(name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`NMF option ${name} must be a finite number ≥ 0, got ${value}.`);
}

// ---------------------------------------------------------------------------------------------
// Initialisation: exact truncated SVD + NNDSVDa (sklearn _initialize_nmf)
// ---------------------------------------------------------------------------------------------

export interface TruncatedSvd {
  /** n × k left singular vectors (columns) */
  U: Matrix;
  /** k singular values, largest first */
  S: Float64Array;
  /** k × p right singular vectors (rows) */
  Vt: Matrix;
  /** subspace iterations used */
  iterations: number;
  /** whether the Ritz residuals met the tolerance (always true when the subspace is the whole space) */
  converged: boolean;
}

export interface TruncatedSvdOptions {
  /** stop when every top-k Ritz pair has ‖XᵀX·v − λ·v‖ ≤ tol·λ_max (default 1e-11) */
  tol?: number;
  /** at most this many subspace iterations (default 50) */
  maxIter?: number;
  signal?: AbortSignal;
}

/**
 * Top-k singular triplets of X (n × p), standing in for sklearn's randomized_svd(X, k).
 *
 * Block subspace (orthogonal) iteration on the smaller Gram side with l = min(k + 10, min(n, p))
 * vectors (sklearn's n_oversamples=10), from a fixed pseudo-random start. Each iteration does a
 * Rayleigh–Ritz step: Y = X·Q (or Xᵀ·Q), eigen-decomposition of the l × l matrix YᵀY, then the
 * Ritz residuals decide convergence. When l = min(n, p) the subspace is the whole space and the
 * first Rayleigh–Ritz step is already the exact SVD (craft-reference.md §9.4).
 * Shapes: U n × k, S k, Vt k × p.
 */
export async function truncatedSvd(X: DataProducts, k: number, options: TruncatedSvdOptions = {}): Promise<TruncatedSvd> {
  const n = X.rows;
  const p = X.cols;
  const m = Math.min(n, p);
  if (k < 1 || k > m) throw new Error(`truncatedSvd: k=${k} for a ${n}x${p} matrix`);
  const tol = options.tol ?? 1e-11;
  const maxIter = options.maxIter ?? 50;
  const l = Math.min(k + 10, m);
  // Iterate on the side of dimension m: right vectors if p ≤ n, left vectors otherwise.
  const onRight = p <= n;
  const forward = (B: Matrix): Promise<Matrix> => (onRight ? X.times(B) : X.transposeTimes(B));
  const backward = (B: Matrix): Promise<Matrix> => (onRight ? X.transposeTimes(B) : X.times(B));

  const rand = deterministicUniform(0x5eed);
  const randomVector = (): Float64Array => {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = rand();
    return v;
  };
  let Q = zeros(m, l);
  for (let i = 0; i < Q.data.length; i++) Q.data[i] = rand();
  orthonormalizeColumns(Q, randomVector);

  for (let it = 1; ; it++) {
    throwIfAborted(options.signal);
    const Y = checkShape(await forward(Q), onRight ? n : p, l, 'the SVD product'); // other side × l
    const { values, vectors: V } = symmetricEigen(gram(Y)); // Ritz values λ = σ² of QᵀXᵀXQ
    const Z = checkShape(await backward(Y), m, l, 'the SVD product'); // m × l, (XᵀX)·Q on the iterated side
    const QV = matmul(Q, V); // Ritz vectors, m × l
    const ZV = matmul(Z, V); // (XᵀX)·Ritz vectors
    const lambdaMax = Math.max(values[0], 0);
    let worst = 0;
    for (let j = 0; j < k; j++) {
      let r2 = 0;
      for (let i = 0; i < m; i++) {
        const d = ZV.data[i * l + j] - values[j] * QV.data[i * l + j];
        r2 += d * d;
      }
      worst = Math.max(worst, Math.sqrt(r2));
    }
    const converged = l === m || worst <= tol * lambdaMax;
    if (converged || it >= maxIter) {
      const S = new Float64Array(k);
      const near = zeros(m, k); // Ritz vectors on the iterated side
      const far = zeros(Y.rows, k); // Y·v/σ on the other side
      const YV = matmul(Y, V);
      for (let j = 0; j < k; j++) {
        const sigma = Math.sqrt(Math.max(values[j], 0));
        S[j] = sigma;
        for (let i = 0; i < m; i++) near.data[i * k + j] = QV.data[i * l + j];
        if (sigma > 0) for (let i = 0; i < Y.rows; i++) far.data[i * k + j] = YV.data[i * l + j] / sigma;
      }
      return onRight
        ? { U: far, S, Vt: transpose(near), iterations: it, converged }
        : { U: near, S, Vt: transpose(far), iterations: it, converged };
    }
    // next basis: orthonormalised (XᵀX)·(Ritz vectors), keeping the Ritz order
    Q = ZV;
    orthonormalizeColumns(Q, randomVector);
  }
}

/** Euclidean norm of a column of M. */
function columnNorm(M: Matrix, j: number): number {
  let acc = 0;
  for (let i = 0; i < M.rows; i++) acc += M.data[i * M.cols + j] * M.data[i * M.cols + j];
  return Math.sqrt(acc);
}

/**
 * NNDSVD with zeros filled by mean(X) ("nndsvda"): sklearn _initialize_nmf(X, r, init='nndsvda',
 * eps=1e-6). Returns sklearn's W (n × r) and H (r × p).
 */
export async function initNndsvda(
  X: DataProducts,
  r: number,
  options: TruncatedSvdOptions = {},
): Promise<{ W: Matrix; H: Matrix; svd: TruncatedSvd }> {
  const eps = 1e-6;
  const n = X.rows;
  const p = X.cols;
  const svd = await truncatedSvd(X, r, options);
  const { U, S, Vt } = svd; // U n × r, S r, Vt r × p
  const W = zeros(n, r);
  const H = zeros(r, p);
  // The leading singular pair of a non-negative matrix is non-negative up to sign.
  const s0 = Math.sqrt(S[0]);
  for (let i = 0; i < n; i++) W.data[i * r] = s0 * Math.abs(U.data[i * r]);
  for (let q = 0; q < p; q++) H.data[q] = s0 * Math.abs(Vt.data[q]);

  const xp = zeros(n, 1);
  const xn = zeros(n, 1);
  const yp = zeros(p, 1);
  const yn = zeros(p, 1);
  for (let j = 1; j < r; j++) {
    // x = U[:, j], y = Vt[j, :]; positive parts and magnitudes of the negative parts
    for (let i = 0; i < n; i++) {
      const v = U.data[i * r + j];
      xp.data[i] = Math.max(v, 0);
      xn.data[i] = Math.abs(Math.min(v, 0));
    }
    for (let q = 0; q < p; q++) {
      const v = Vt.data[j * p + q];
      yp.data[q] = Math.max(v, 0);
      yn.data[q] = Math.abs(Math.min(v, 0));
    }
    const xpNorm = columnNorm(xp, 0);
    const ypNorm = columnNorm(yp, 0);
    const xnNorm = columnNorm(xn, 0);
    const ynNorm = columnNorm(yn, 0);
    const mp = xpNorm * ypNorm;
    const mn = xnNorm * ynNorm;
    // choose the dominant sign split
    const [u, uNorm, v, vNorm, sigma] = mp > mn ? [xp, xpNorm, yp, ypNorm, mp] : [xn, xnNorm, yn, ynNorm, mn];
    if (sigma === 0) continue; // sklearn would divide 0/0 here (NaN); leave zeros, filled with the mean below
    const lbd = Math.sqrt(S[j] * sigma);
    for (let i = 0; i < n; i++) W.data[i * r + j] = lbd * (u.data[i] / uNorm);
    for (let q = 0; q < p; q++) H.data[j * p + q] = lbd * (v.data[q] / vNorm);
  }
  // W[W < eps] = 0, then nndsvda: W[W == 0] = mean(X) (same for H)
  const avg = X.mean;
  for (const M of [W, H]) {
    for (let i = 0; i < M.data.length; i++) if (M.data[i] < eps) M.data[i] = avg;
  }
  return { W, H, svd };
}

// ---------------------------------------------------------------------------------------------
// Coordinate descent (sklearn _fit_coordinate_descent, _update_coordinate_descent, _update_cdnmf_fast)
// ---------------------------------------------------------------------------------------------

export interface Regularization {
  l1W: number;
  l1H: number;
  l2W: number;
  l2H: number;
}

/**
 * sklearn NMF._compute_regularization for X (nSamples × nFeatures), alpha_H = 'same':
 * l1_W = p·α·ρ, l1_H = n·α·ρ, l2_W = p·α·(1−ρ), l2_H = n·α·(1−ρ) (craft-reference.md §9.1).
 */
export function computeRegularization(nSamples: number, nFeatures: number, alphaW: number, l1Ratio = 0): Regularization {
  return {
    l1W: nFeatures * alphaW * l1Ratio,
    l1H: nSamples * alphaW * l1Ratio,
    l2W: nFeatures * alphaW * (1 - l1Ratio),
    l2H: nSamples * alphaW * (1 - l1Ratio),
  };
}

/**
 * One sweep of _update_cdnmf_fast (shuffle=False): updates W (m × k) in place, one column t at a
 * time, each row i by the exact non-negative minimiser along W[i, t]; returns the sum of |projected
 * gradient| seen before each update.
 *   HHt: k × k (HᵀH-like Gram matrix, l2 already on its diagonal)
 *   XHt: m × k (X·Ht, l1 already subtracted)
 */
export function cdSweep(W: Matrix, HHt: Matrix, XHt: Matrix): number {
  const m = W.rows;
  const k = W.cols;
  const w = W.data;
  const g = HHt.data;
  const xh = XHt.data;
  let violation = 0;
  for (let t = 0; t < k; t++) {
    const gt = t * k;
    const hess = g[gt + t];
    for (let i = 0; i < m; i++) {
      const wi = i * k;
      // gradient = (W·HHt − XHt)[i, t], with W's earlier columns already updated
      let grad = -xh[wi + t];
      for (let s = 0; s < k; s++) grad += g[gt + s] * w[wi + s];
      // projected gradient
      const pg = w[wi + t] === 0 ? Math.min(0, grad) : grad;
      violation += Math.abs(pg);
      if (hess !== 0) w[wi + t] = Math.max(w[wi + t] - grad / hess, 0);
    }
  }
  return violation;
}

/**
 * _update_coordinate_descent(X, W, Ht, l1, l2): HHt = Htᵀ·Ht (k × k) + l2·I, XHt = X·Ht − l1
 * (m × k, the data product is passed in), then one cdSweep of W (m × k).
 */
export function updateCoordinateDescent(W: Matrix, Ht: Matrix, XHt: Matrix, l1: number, l2: number): number {
  const k = Ht.cols;
  const HHt = gram(Ht);
  if (l2 !== 0) for (let t = 0; t < k; t++) HHt.data[t * k + t] += l2;
  if (l1 !== 0) for (let i = 0; i < XHt.data.length; i++) XHt.data[i] -= l1;
  return cdSweep(W, HHt, XHt);
}

export interface CdLoopOptions {
  tol: number;
  maxIter: number;
  reg: Regularization;
  updateH: boolean;
  signal?: AbortSignal;
  onIteration?: (it: number, maxIter: number) => void;
  /** With updateH false: X·Ht when the caller already has it (then X is not read). */
  fixedXHt?: Matrix;
}

/**
 * _fit_coordinate_descent: alternate a W sweep and (when fitting) an Ht sweep; stop when
 * violation/violation_init ≤ tol (violation summed over both factors), or at once when the first
 * violation is 0. W (n × r) and Ht (p × r) are updated in place.
 * With updateH false (transform) X·Ht is fixed, so it is computed once.
 */
export async function fitCoordinateDescent(
  X: DataProducts | undefined,
  W: Matrix,
  Ht: Matrix,
  o: CdLoopOptions,
): Promise<{ iterations: number; converged: boolean }> {
  let violationInit = 0;
  const n = W.rows;
  const p = Ht.rows;
  const r = W.cols;
  const data = (): DataProducts => {
    if (!X) throw new Error('fitCoordinateDescent: no data matrix given');
    return X;
  };
  const fixedXHt = o.updateH ? undefined : checkShape(o.fixedXHt ?? (await data().times(Ht)), n, r, 'X·Ht');
  for (let it = 1; it <= o.maxIter; it++) {
    throwIfAborted(o.signal);
    // update W: X (n × p) with Ht (p × r); XHt is modified by the l1 shift, so the fixed one is copied
    const XHt = fixedXHt ? { ...fixedXHt, data: Float64Array.from(fixedXHt.data) } : checkShape(await data().times(Ht), n, r, 'X·Ht');
    let violation = updateCoordinateDescent(W, Ht, XHt, o.reg.l1W, o.reg.l2W);
    // update H through its transpose: the same sweep on Xᵀ (p × n), with Ht (p × r) in W's role and W (n × r) in Ht's
    if (o.updateH) {
      const XtW = checkShape(await data().transposeTimes(W), p, r, 'Xᵀ·W');
      violation += updateCoordinateDescent(Ht, W, XtW, o.reg.l1H, o.reg.l2H);
    }
    if (it === 1) violationInit = violation;
    o.onIteration?.(it, o.maxIter);
    if (violationInit === 0) return { iterations: it, converged: true };
    if (violation / violationInit <= o.tol) return { iterations: it, converged: true };
  }
  return { iterations: o.maxIter, converged: false };
}

/**
 * ‖X − W·H‖_F without forming the n × p residual:
 * ‖X‖² − 2·Σ(W ∘ (X·Hᵀ)) + Σ((WᵀW) ∘ (H·Hᵀ)). W n × r, H r × p.
 */
export async function reconstructionError(X: DataProducts, W: Matrix, H: Matrix): Promise<number> {
  const XHt = checkShape(await X.times(transpose(H)), W.rows, W.cols, 'X·Hᵀ'); // n × r
  const cross = frobeniusDot(W, XHt);
  const quad = frobeniusDot(gram(W), rowGram(H));
  return Math.sqrt(Math.max(0, X.sumSquares - 2 * cross + quad));
}

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/**
 * sklearn NMF(n_components=r, alpha_W=alphaW, tol, max_iter).fit_transform(X):
 * nndsvda init, coordinate descent on both factors. X is n × p; returns U (n × r), W (r × p).
 * X stays owned by the caller (not disposed here).
 */
export async function fitNmf(X: DataProducts, options: NmfOptions): Promise<NmfFit> {
  checkData(X);
  const r = options.components;
  checkCount('components', r, 1);
  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 200;
  const alphaW = options.alphaW ?? 0;
  checkNonNegative('tol', tol);
  checkCount('maxIter', maxIter, 1);
  checkNonNegative('alphaW', alphaW);
  const n = X.rows;
  const p = X.cols;
  if (r > n) {
    throw new Error(
      `NMF cannot find ${r} concepts in only ${n} crops: there must be at least as many crops as concepts. ` +
        'Ask for fewer concepts, use a smaller patch size (more crops per image) or add more images.',
    );
  }
  if (r > p) {
    throw new Error(
      `NMF cannot find ${r} concepts in a layer with only ${p} channels. ` +
        'Ask for at most that many concepts, or choose a layer with more channels.',
    );
  }
  throwIfAborted(options.signal);

  const { W, H } = await initNndsvda(X, r, { signal: options.signal });
  const Ht = transpose(H); // p × r, updated in place by the solver
  const reg = computeRegularization(n, p, alphaW);
  const { iterations, converged } = await fitCoordinateDescent(X, W, Ht, {
    tol,
    maxIter,
    reg,
    updateH: true,
    signal: options.signal,
    onIteration: options.onIteration,
  });
  const components = transpose(Ht);
  const err = await reconstructionError(X, W, components);
  const norm = Math.sqrt(X.sumSquares);
  return {
    U: W,
    W: components,
    iterations,
    converged,
    reconstructionError: err,
    relativeError: norm > 0 ? err / norm : 0,
  };
}

/**
 * sklearn NMF.transform(X) with components W (r × p) fixed: U (n × r) starts at zeros and only
 * U is swept, same tol / max_iter / stopping rule, l2 = p·alphaW (craft-reference.md §9.3).
 * All rows are solved together, so (like sklearn) the stopping test couples them.
 */
export async function transformNmf(
  X: DataProducts,
  W: Matrix,
  options: Omit<NmfOptions, 'components'>,
): Promise<{ U: Matrix; iterations: number }> {
  checkData(X);
  if (W.cols !== X.cols) {
    throw new Error(`NMF transform: the concept bank has ${W.cols} channels but the activations have ${X.cols}.`);
  }
  checkCount('components (rows of W)', W.rows, 1);
  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 200;
  const alphaW = options.alphaW ?? 0;
  checkNonNegative('tol', tol);
  checkCount('maxIter', maxIter, 1);
  checkNonNegative('alphaW', alphaW);
  throwIfAborted(options.signal);

  const U = zeros(X.rows, W.rows);
  const Ht = transpose(W);
  const reg = computeRegularization(X.rows, X.cols, alphaW);
  const { iterations } = await fitCoordinateDescent(X, U, Ht, {
    tol,
    maxIter,
    reg,
    updateH: false,
    signal: options.signal,
    onIteration: options.onIteration,
  });
  return { U, iterations };
}

/**
 * transformNmf when the projection X·Wᵀ (n × r) is already known, so X (n × p) need not be kept: the
 * same coordinate descent with the same coupled stopping rule. nFeatures = p (it scales alpha_W).
 * The caller is responsible for X ≥ 0.
 */
export async function transformProjected(
  XWt: Matrix,
  W: Matrix,
  nFeatures: number,
  options: Omit<NmfOptions, 'components'>,
): Promise<{ U: Matrix; iterations: number }> {
  if (XWt.cols !== W.rows) throw new Error(`NMF transform: X·Wᵀ has ${XWt.cols} columns for ${W.rows} concepts.`);
  if (W.cols !== nFeatures) throw new Error(`NMF transform: the concept bank has ${W.cols} channels, expected ${nFeatures}.`);
  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 200;
  const alphaW = options.alphaW ?? 0;
  checkNonNegative('tol', tol);
  checkCount('maxIter', maxIter, 1);
  checkNonNegative('alphaW', alphaW);
  throwIfAborted(options.signal);
  const U = zeros(XWt.rows, W.rows);
  const { iterations } = await fitCoordinateDescent(undefined, U, transpose(W), {
    tol,
    maxIter,
    reg: computeRegularization(XWt.rows, nFeatures, alphaW),
    updateH: false,
    fixedXHt: XWt,
    signal: options.signal,
    onIteration: options.onIteration,
  });
  return { U, iterations };
}

/**
 * NMF initialisation: an exact truncated SVD and NNDSVDa (sklearn _initialize_nmf with
 * init='nndsvda'); docs/method.md §3.3. sklearn names: X (n × p) ≈ W (n × r) · H (r × p).
 */
import { type Matrix, zeros, transpose } from './matrix';
import { gram, matmul, symmetricEigen, orthonormalizeColumns, deterministicUniform } from './linalg';
import { DataProducts } from './nmf-products';
import { throwIfAborted, checkShape } from './nmf-checks';

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

/** Relative Ritz residual, in unit roundoffs of the products, below which the SVD counts as converged. */
export const NOISE_FLOOR = 8;

export interface TruncatedSvdOptions {
  /**
   * stop when every top-k Ritz pair has ‖XᵀX·v − λ·v‖ ≤ tol·λ_max (default 1e-11, raised to the
   * products' noise floor, NOISE_FLOOR unit roundoffs, when they are computed in lower precision)
   */
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
 * first Rayleigh–Ritz step is already the exact SVD (docs/method.md §3.3).
 * Shapes: U n × k, S k, Vt k × p.
 */
export async function truncatedSvd(X: DataProducts, k: number, options: TruncatedSvdOptions = {}): Promise<TruncatedSvd> {
  const n = X.rows;
  const p = X.cols;
  const m = Math.min(n, p);
  if (k < 1 || k > m) throw new Error(`truncatedSvd: k=${k} for a ${n}x${p} matrix`);
  // Float32 products put a floor of a few unit roundoffs under the relative residual (measured on
  // MobileNetV2 activations: ~2·2⁻²⁴ from the 11th iteration on); iterating past it only adds noise.
  const tol = Math.max(options.tol ?? 1e-11, NOISE_FLOOR * X.unitRoundoff);
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

  const history: number[] = [];
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
    // No better than any of the last three: rounding, not the iteration, decides the residual now.
    const stalled = history.length >= 3 && worst >= Math.min(...history.slice(-3));
    history.push(worst);
    if (converged || stalled || it >= maxIter) {
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
      return onRight ? { U: far, S, Vt: transpose(near), iterations: it, converged } : { U: near, S, Vt: transpose(far), iterations: it, converged };
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
export async function initNndsvda(X: DataProducts, r: number, options: TruncatedSvdOptions = {}): Promise<{ W: Matrix; H: Matrix; svd: TruncatedSvd }> {
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

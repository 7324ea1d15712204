/**
 * Non-negative matrix factorisation X ≈ U·W as scikit-learn does it for CRAFT:
 * `NMF(n_components=r)` with its defaults (init 'nndsvda', solver 'cd', tol 1e-4, max_iter 200,
 * alpha_W 0, l1_ratio 0, shuffle False), computed in float64.
 * Spec: docs/method.md §3.1–§3.4; sklearn/decomposition/_nmf.py and _cdnmf_fast.pyx.
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
import { type Matrix, zeros, transpose } from './matrix';
import { gram, rowGram, frobeniusDot } from './linalg';
import { DataProducts } from './nmf-products';
import { throwIfAborted, checkData, checkShape, checkCount, checkNonNegative } from './nmf-checks';
import { initNndsvda } from './nmf-init';

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

export interface Regularization {
  l1W: number;
  l1H: number;
  l2W: number;
  l2H: number;
}

/**
 * sklearn NMF._compute_regularization for X (nSamples × nFeatures), alpha_H = 'same':
 * l1_W = p·α·ρ, l1_H = n·α·ρ, l2_W = p·α·(1−ρ), l2_H = n·α·(1−ρ) (docs/method.md §3.1).
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
  // sklearn loops t outside, i inside. Row i's update reads only row i of W, so running each row's
  // k updates together gives the same W while that row stays in cache; only the order of the
  // float64 sum of |pg| differs.
  for (let i = 0; i < m; i++) {
    const wi = i * k;
    for (let t = 0; t < k; t++) {
      const gt = t * k;
      // gradient = (W·HHt − XHt)[i, t], with the row's earlier columns already updated
      // (two partial sums halve the chain of dependent additions)
      let even = -xh[wi + t];
      let odd = 0;
      let s = 0;
      for (; s + 1 < k; s += 2) {
        even += g[gt + s] * w[wi + s];
        odd += g[gt + s + 1] * w[wi + s + 1];
      }
      if (s < k) even += g[gt + s] * w[wi + s];
      const grad = even + odd;
      // projected gradient
      const pg = w[wi + t] === 0 ? Math.min(0, grad) : grad;
      violation += Math.abs(pg);
      const hess = g[gt + t];
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

/** sklearn's defaults (tol 1e-4, max_iter 200, alpha_W 0), checked. */
function solverOptions(options: Omit<NmfOptions, 'components'>): { tol: number; maxIter: number; alphaW: number } {
  const tol = options.tol ?? 1e-4;
  const maxIter = options.maxIter ?? 200;
  const alphaW = options.alphaW ?? 0;
  checkNonNegative('tol', tol);
  checkCount('maxIter', maxIter, 1);
  checkNonNegative('alphaW', alphaW);
  return { tol, maxIter, alphaW };
}

/**
 * sklearn NMF(n_components=r, alpha_W=alphaW, tol, max_iter).fit_transform(X):
 * nndsvda init, coordinate descent on both factors. X is n × p; returns U (n × r), W (r × p).
 * X stays owned by the caller (not disposed here).
 */
export async function fitNmf(X: DataProducts, options: NmfOptions): Promise<NmfFit> {
  checkData(X);
  const r = options.components;
  checkCount('components', r, 1);
  const { tol, maxIter, alphaW } = solverOptions(options);
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
      `NMF cannot find ${r} concepts in a layer with only ${p} channels. ` + 'Ask for at most that many concepts, or choose a layer with more channels.',
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
 * U is swept, same tol / max_iter / stopping rule, l2 = p·alphaW (docs/method.md §3.4).
 * All rows are solved together, so (like sklearn) the stopping test couples them.
 */
export async function transformNmf(X: DataProducts, W: Matrix, options: Omit<NmfOptions, 'components'>): Promise<{ U: Matrix; iterations: number }> {
  checkData(X);
  if (W.cols !== X.cols) {
    throw new Error(`NMF transform: the concept bank has ${W.cols} channels but the activations have ${X.cols}.`);
  }
  checkCount('components (rows of W)', W.rows, 1);
  throwIfAborted(options.signal);
  // W is fixed, so X·Wᵀ is all the coordinate descent reads of X.
  const XWt = checkShape(await X.times(transpose(W)), X.rows, W.rows, 'X·Wᵀ');
  return transformProjected(XWt, W, X.cols, options);
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
  const { tol, maxIter, alphaW } = solverOptions(options);
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

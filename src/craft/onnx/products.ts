import type { DataProducts } from '../math/nmf-products';
import { transpose, type Matrix } from '../math/matrix';
import { buildMatMulModel } from './build';
import { ortModule, type SessionFactory } from './sessions';

/**
 * NMF's heavy products (X·B and Xᵀ·B with the n×p activation matrix X fixed) on ONNX Runtime: X is
 * baked into two one-node graphs as a float32 initializer, so each call only ships the thin n×k or p×k
 * operand. MLAS (CPU) or cuBLAS (CUDA) does the n·p·k work; the r×r sweeps stay in float64 JS.
 * Float32 products match the reference, whose whole NMF runs in float32 (docs/method.md §3.1).
 */
export async function ortProducts(X: Float32Array, n: number, p: number, factory: SessionFactory): Promise<DataProducts> {
  let sum = 0;
  let sumSquares = 0;
  let minValue = Infinity;
  for (let k = 0; k < X.length; k++) {
    const v = X[k];
    sum += v;
    sumSquares += v * v;
    if (v < minValue) minValue = v;
  }
  if (!Number.isFinite(sum + sumSquares)) minValue = NaN;
  const times = await factory.create(
    buildMatMulModel({ a: { name: 'X', data: X, rows: n, cols: p }, b: { name: 'B', rows: p, cols: 'k' } }).bytes,
    'the NMF product graph',
    { spinning: false },
  );
  // Xᵀ·B is computed as (Bᵀ·X)ᵀ with the same X: a MatMul with X as its right operand (which MLAS
  // packs once) is ~5× faster here than Gemm(transA), and no transposed copy of X is kept.
  const leftTimes = await factory.create(
    buildMatMulModel({ a: { name: 'B', rows: 'k', cols: n }, b: { name: 'X', data: X, rows: n, cols: p } }).bytes,
    'the NMF product graph',
    { spinning: false },
  );
  const timesB = async (B: Matrix): Promise<Matrix> => {
    if (B.rows !== p) throw new Error(`ortProducts: operand is ${B.rows}x${B.cols}, expected ${p} rows`);
    const out = await times.run({ B: new (ortModule().Tensor)('float32', Float32Array.from(B.data), [p, B.cols]) });
    return { rows: n, cols: B.cols, data: Float64Array.from(out.Y.data as Float32Array) };
  };
  const transposeTimes = async (B: Matrix): Promise<Matrix> => {
    if (B.rows !== n) throw new Error(`ortProducts: operand is ${B.rows}x${B.cols}, expected ${n} rows`);
    const k = B.cols;
    const bt = Float32Array.from(transpose(B).data);
    const y = (await leftTimes.run({ B: new (ortModule().Tensor)('float32', bt, [k, n]) })).Y.data as Float32Array; // k × p
    return transpose({ rows: k, cols: p, data: Float64Array.from(y) });
  };
  return {
    rows: n,
    cols: p,
    mean: sum / X.length,
    sumSquares,
    minValue,
    unitRoundoff: 2 ** -24,
    times: timesB,
    transposeTimes,
    dispose: async () => {
      await times.release();
      await leftTimes.release();
    },
  };
}

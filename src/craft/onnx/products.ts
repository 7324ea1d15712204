import type { DataProducts } from '../math/nmf-products';
import { transpose, type Matrix } from '../math/matrix';
import { buildMatMulModel } from './build';
import type * as Ort from 'onnxruntime-node';
import { ortModule, type SessionFactory } from './sessions';

/**
 * NMF's heavy products (X·B and Xᵀ·B with the n×p activation matrix X fixed) on ONNX Runtime: MLAS
 * (CPU) or cuBLAS (CUDA) does the n·p·k work; the r×r sweeps stay in float64 JS. Float32 products
 * match the reference, whose whole NMF runs in float32 (docs/method.md §3.1).
 *
 * On the CPU, X is an input of the two one-node graphs, fed as one tensor over the caller's array: ONNX
 * Runtime reads it in place, so X exists once. Baked in as an initializer it existed five times while
 * the sessions were built (two serialised models, ORT's copies, MLAS's prepacked copy; 2.8 GB of peak
 * RSS for a 0.4 GB X of 5,000 clip-art images) and three times after. The prepacked form was faster
 * per call on big X (Xᵀ·B 35 ms against 49 ms for 20,000 × 1,280), slower on small ones, and its
 * session took 1.4 s to build there instead of 7 ms. On a GPU provider X is still an initializer, so
 * that it crosses to the device once instead of on every call.
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
  const Tensor = ortModule().Tensor;
  const inPlace = factory.provider === 'cpu';
  const feeds: Record<string, Ort.Tensor> = inPlace ? { X: new Tensor('float32', X, [n, p]) } : {};
  const x = { data: inPlace ? undefined : X, feeds };
  const times = await factory.create(
    buildMatMulModel({ a: { name: 'X', data: x.data, rows: n, cols: p }, b: { name: 'B', rows: p, cols: 'k' } }).bytes,
    'the NMF product graph',
    { spinning: false },
  );
  // Xᵀ·B is computed as (Bᵀ·X)ᵀ with the same X: a MatMul with X as its right operand is ~5× faster
  // here than Gemm(transA) with X prepacked, and no transposed copy of X is kept.
  const leftTimes = await factory.create(
    buildMatMulModel({ a: { name: 'B', rows: 'k', cols: n }, b: { name: 'X', data: x.data, rows: n, cols: p } }).bytes,
    'the NMF product graph',
    { spinning: false },
  );
  const timesB = async (B: Matrix): Promise<Matrix> => {
    if (B.rows !== p) throw new Error(`ortProducts: operand is ${B.rows}x${B.cols}, expected ${p} rows`);
    const out = await times.run({ ...x.feeds, B: new Tensor('float32', Float32Array.from(B.data), [p, B.cols]) });
    return { rows: n, cols: B.cols, data: Float64Array.from(out.Y.data as Float32Array) };
  };
  const transposeTimes = async (B: Matrix): Promise<Matrix> => {
    if (B.rows !== n) throw new Error(`ortProducts: operand is ${B.rows}x${B.cols}, expected ${n} rows`);
    const k = B.cols;
    const bt = Float32Array.from(transpose(B).data);
    const y = (await leftTimes.run({ ...x.feeds, B: new Tensor('float32', bt, [k, n]) })).Y.data as Float32Array; // k × p
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

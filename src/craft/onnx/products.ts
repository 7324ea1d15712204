import * as ort from 'onnxruntime-node';
import type { DataProducts } from '../nmf-products';
import type { Matrix } from '../matrix';
import { buildMatMulModel } from './build';
import type { SessionFactory } from './sessions';

/**
 * NMF's heavy products (X·B and Xᵀ·B with the n×p activation matrix X fixed) on ONNX Runtime: X is
 * baked into two one-node graphs as a float32 initializer, so each call only ships the thin n×k or p×k
 * operand. MLAS (CPU) or cuBLAS (CUDA) does the n·p·k work; the r×r sweeps stay in float64 JS.
 * Float32 products match the reference, whose whole NMF runs in float32 (craft-reference §9.1).
 */
export async function ortProducts(
  X: Float32Array,
  n: number,
  p: number,
  factory: SessionFactory,
): Promise<DataProducts> {
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
  );
  // Xᵀ is stored transposed rather than read through Gemm's transA, which MLAS runs ~5× slower here.
  const Xt = new Float32Array(p * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) Xt[j * n + i] = X[i * p + j];
  const transposeTimes = await factory.create(
    buildMatMulModel({ a: { name: 'X', data: Xt, rows: p, cols: n }, b: { name: 'B', rows: n, cols: 'k' } }).bytes,
    'the NMF product graph',
  );
  const run = async (session: ort.InferenceSession, B: Matrix, rows: number, outRows: number): Promise<Matrix> => {
    if (B.rows !== rows) throw new Error(`ortProducts: operand is ${B.rows}x${B.cols}, expected ${rows} rows`);
    const feed = new ort.Tensor('float32', Float32Array.from(B.data), [B.rows, B.cols]);
    const out = await session.run({ B: feed });
    return { rows: outRows, cols: B.cols, data: Float64Array.from(out.Y.data as Float32Array) };
  };
  return {
    rows: n,
    cols: p,
    mean: sum / X.length,
    sumSquares,
    minValue,
    unitRoundoff: 2 ** -24,
    times: (B) => run(times, B, p, n),
    transposeTimes: (B) => run(transposeTimes, B, n, p),
    dispose: async () => {
      await times.release();
      await transposeTimes.release();
    },
  };
}

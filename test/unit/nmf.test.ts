/**
 * NMF against scikit-learn: docs/method.md §10 T4 (exact vectors), T5 (stage-wise, with the
 * toy activations rebuilt here from their formulas), and the Fashion-MNIST golden fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Matrix, fromRows, fromFlat, toRows, transpose, zeros } from '../../src/craft/math/matrix';
import { fitNmf, transformNmf, NmfFit } from '../../src/craft/math/nmf';
import { initNndsvda, truncatedSvd } from '../../src/craft/math/nmf-init';
import { jsProducts } from '../../src/craft/math/nmf-products';
import { ortProducts } from '../../src/craft/onnx/products';
import { SessionFactory } from '../../src/craft/onnx/sessions';
import { gram, matmul, symmetricEigen } from '../../src/craft/math/linalg';
import { CancelledError } from '../../src/craft/errors';
import { cosine } from './helpers';

const repoRoot = path.resolve(__dirname, '../../..');
const referenceDir = path.join(repoRoot, 'test/fixtures/fashion-mnist/reference');

// ---------------------------------------------------------------- helpers

function sum(m: Matrix): number {
  let s = 0;
  for (const v of m.data) s += v;
  return s;
}

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}

function assertRowsClose(actual: number[][], expected: number[][], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: row count`);
  actual.forEach((row, i) => {
    assert.equal(row.length, expected[i].length, `${what}: row ${i} length`);
    row.forEach((v, j) => assertClose(v, expected[i][j], tol, `${what}[${i}][${j}]`));
  });
}

function rowsOf(m: Matrix, from: number, to: number): number[][] {
  return toRows(m).slice(from, to);
}

function readF32(name: string, rows: number, cols: number): Matrix {
  const buf = fs.readFileSync(path.join(referenceDir, name));
  assert.equal(buf.length, rows * cols * 4, `${name} size`);
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = buf.readFloatLE(i * 4);
  return fromFlat(values, rows, cols);
}

/** ‖X − U·W‖_F computed directly (n × p residual), to check the backend-only formula. */
function directError(X: Matrix, U: Matrix, W: Matrix): number {
  const R = matmul(U, W);
  let s = 0;
  for (let i = 0; i < X.data.length; i++) s += (X.data[i] - R.data[i]) ** 2;
  return Math.sqrt(s);
}

// ---------------------------------------------------------------- T4 data

/** X (12×6): X[i][j] = Σ_k U0[i][k]·W0[k][j] + ((i·j) % 3)/30, U0 = ((i(k+1)) % 5)/4, W0 = ((j+2k) % 4)/3 */
function t4X(): Matrix {
  const X = zeros(12, 6);
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 6; j++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += (((i * (k + 1)) % 5) / 4) * (((j + 2 * k) % 4) / 3);
      X.data[i * 6 + j] = v + ((i * j) % 3) / 30;
    }
  }
  return X;
}

/** X2 (4×6): X2[i][j] = ((3i + j) % 5)/2 */
function t4X2(): Matrix {
  const X = zeros(4, 6);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) X.data[i * 6 + j] = ((3 * i + j) % 5) / 2;
  return X;
}

// ---------------------------------------------------------------- linalg sanity

test('symmetricEigen reproduces a known spectrum and orthonormal vectors', () => {
  // S = Q·diag(5, 2, -1, 0.5)·Qᵀ with Q a rotation built from two Givens rotations
  const c = Math.cos(0.3),
    s = Math.sin(0.3),
    c2 = Math.cos(1.1),
    s2 = Math.sin(1.1);
  const Q = fromRows([
    [c, -s, 0, 0],
    [s * c2, c * c2, -s2, 0],
    [s * s2, c * s2, c2, 0],
    [0, 0, 0, 1],
  ]);
  const D = fromRows([
    [5, 0, 0, 0],
    [0, 2, 0, 0],
    [0, 0, -1, 0],
    [0, 0, 0, 0.5],
  ]);
  const S = matmul(matmul(Q, D), transpose(Q));
  const { values, vectors } = symmetricEigen(S);
  assertRowsClose([Array.from(values)], [[5, 2, 0.5, -1]], 1e-13, 'eigenvalues');
  assertRowsClose(
    toRows(gram(vectors)),
    toRows(
      fromRows([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ]),
    ),
    1e-13,
    'VᵀV',
  );
  // S·v = λ·v
  const SV = matmul(S, vectors);
  for (let j = 0; j < 4; j++)
    for (let i = 0; i < 4; i++) {
      assertClose(SV.data[i * 4 + j], values[j] * vectors.data[i * 4 + j], 1e-13, `S·v[${i}][${j}]`);
    }
});

test('jsProducts: X·B and Xᵀ·B match naive loops, statistics are exact', async () => {
  const n = 7,
    p = 9,
    k = 5; // odd sizes exercise the unrolled loops' tails
  const X = zeros(n, p);
  for (let i = 0; i < X.data.length; i++) X.data[i] = ((i * 37) % 11) / 7;
  const B = zeros(p, k);
  for (let i = 0; i < B.data.length; i++) B.data[i] = ((i * 13) % 7) / 3 - 1;
  const C = zeros(n, k);
  for (let i = 0; i < C.data.length; i++) C.data[i] = ((i * 5) % 9) / 4 - 1;
  const prod = jsProducts(X);
  const XB = await prod.times(B);
  const XtC = await prod.transposeTimes(C);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < k; t++) {
      let a = 0;
      for (let j = 0; j < p; j++) a += X.data[i * p + j] * B.data[j * k + t];
      assertClose(XB.data[i * k + t], a, 1e-12, `XB[${i}][${t}]`);
    }
  for (let j = 0; j < p; j++)
    for (let t = 0; t < k; t++) {
      let a = 0;
      for (let i = 0; i < n; i++) a += X.data[i * p + j] * C.data[i * k + t];
      assertClose(XtC.data[j * k + t], a, 1e-12, `XᵀC[${j}][${t}]`);
    }
  assertClose(prod.mean, sum(X) / (n * p), 1e-15, 'mean');
  assert.equal(prod.minValue, 0);
  await prod.dispose();
});

test('truncatedSvd: exact singular values when the subspace is the whole space', async () => {
  const X = t4X();
  const svd = await truncatedSvd(jsProducts(X), 3);
  assert.equal(svd.iterations, 1);
  // X·v_j = σ_j·u_j and Xᵀ·u_j = σ_j·v_j
  const XV = matmul(X, transpose(svd.Vt));
  for (let j = 0; j < 3; j++)
    for (let i = 0; i < 12; i++) {
      assertClose(XV.data[i * 3 + j], svd.S[j] * svd.U.data[i * 3 + j], 1e-12, `Xv[${i}][${j}]`);
    }
  // singular values are the square roots of the Gram eigenvalues
  const eig = symmetricEigen(gram(X));
  for (let j = 0; j < 3; j++) assertClose(svd.S[j], Math.sqrt(eig.values[j]), 1e-12, `σ${j}`);
});

test('truncatedSvd and nndsvda: iterating on the left side (n < p) gives the transposed answer', async () => {
  // exact case (l = min(n, p)): the init of Xᵀ is the init of X with the factors swapped
  const X = t4X();
  const a = await initNndsvda(jsProducts(X), 3);
  const b = await initNndsvda(jsProducts(transpose(X)), 3);
  assertRowsClose(toRows(b.W), toRows(transpose(a.H)), 1e-10, 'init(Xᵀ).W vs init(X).Hᵀ');
  assertRowsClose(toRows(b.H), toRows(transpose(a.W)), 1e-10, 'init(Xᵀ).H vs init(X).Wᵀ');
  // iterated case (l = 20 < 64) on the golden activations, both orientations
  const A = readF32('crop_activations_800x64.f32', 800, 64);
  const s1 = await truncatedSvd(jsProducts(A), 10);
  const s2 = await truncatedSvd(jsProducts(transpose(A)), 10);
  assert.ok(s1.converged && s2.converged, `converged: ${s1.converged} (${s1.iterations} it), ${s2.converged} (${s2.iterations} it)`);
  for (let j = 0; j < 10; j++) assertClose(s2.S[j], s1.S[j], 1e-9 * s1.S[0], `σ${j}`);
  // σ_j are the square roots of the top eigenvalues of AᵀA (64 × 64, done directly here)
  const eig = symmetricEigen(gram(A));
  for (let j = 0; j < 10; j++) assertClose(s1.S[j], Math.sqrt(eig.values[j]), 1e-9 * s1.S[0], `σ${j} vs eig(AᵀA)`);
});

test('truncatedSvd on float32 ONNX Runtime products stops at their noise floor, not at the cap', async () => {
  const A = readF32('crop_activations_800x64.f32', 800, 64);
  const factory = await SessionFactory.open('cpu');
  const products = await ortProducts(Float32Array.from(A.data), 800, 64, factory);
  try {
    const exact = await truncatedSvd(jsProducts(A), 10);
    const svd = await truncatedSvd(products, 10, { maxIter: 50 });
    assert.ok(svd.converged && svd.iterations < 25, `float32 SVD: converged ${svd.converged} after ${svd.iterations} iterations`);
    assert.ok(svd.iterations <= exact.iterations, `float32 ${svd.iterations} vs float64 ${exact.iterations} iterations`);
    for (let j = 0; j < 10; j++) assertClose(svd.S[j], exact.S[j], 1e-5 * exact.S[0], `σ${j}`);
    // the singular vectors span the same space: |cos| with the float64 ones
    for (let j = 0; j < 10; j++) {
      const a = Array.from(svd.Vt.data.subarray(j * 64, (j + 1) * 64));
      const b = Array.from(exact.Vt.data.subarray(j * 64, (j + 1) * 64));
      assert.ok(Math.abs(cosine(a, b)) > 0.999, `v${j}: |cos| ${Math.abs(cosine(a, b))}`);
    }
  } finally {
    await products.dispose();
  }
});

// ---------------------------------------------------------------- T4
// The spec prints values to 8 decimals and sums / errors to 10, so those are the tolerances
// (measured: ≤ 5e-9 and ≤ 5e-11); the brief's bound was 1e-6.

test('T4 data matches the spec (sum, mean, zero first row)', () => {
  const X = t4X();
  assertClose(sum(X), 47.4333333333, 1e-9, 'ΣX');
  assertClose(jsProducts(X).mean, 0.6587962963, 1e-9, 'mean X');
  assert.deepEqual(toRows(X)[0], [0, 0, 0, 0, 0, 0]);
});

test('T4 nndsvda init matches sklearn', async () => {
  const { W, H } = await initNndsvda(jsProducts(t4X()), 3);
  assertRowsClose(
    toRows(H),
    [
      [0.46404692, 1.20231555, 0.97603666, 1.63917663, 0.50124103, 1.20305598],
      [0.43438323, 0.40831752, 0.6587963, 0.6587963, 0.45507621, 0.41987688],
      [0.6587963, 0.01975695, 0.23658333, 0.6587963, 0.1309641, 0.03607254],
    ],
    1e-8,
    'H0',
  );
  assertRowsClose(
    rowsOf(W, 0, 3),
    [
      [0.6587963, 0.6587963, 0.6587963],
      [0.72743743, 0.00723268, 0.08997307],
      [0.87158282, 0.61829771, 0.6587963],
    ],
    1e-8,
    'W0',
  );
});

test('T4 NMF alpha_W=0: fit and transform match sklearn', async () => {
  const X = t4X();
  const fit = await fitNmf(jsProducts(X), { components: 3 });
  assert.equal(fit.iterations, 200);
  assert.equal(fit.converged, false);
  assertClose(fit.reconstructionError, 0.1248528228, 1e-9, 'recon_err');
  assertClose(fit.reconstructionError, directError(X, fit.U, fit.W), 1e-10, 'recon_err vs direct');
  assertClose(fit.relativeError, fit.reconstructionError / Math.sqrt(jsProducts(X).sumSquares), 1e-15, 'relative');
  assertClose(sum(fit.U), 10.742746992366767, 1e-9, 'ΣU');
  assertClose(sum(fit.W), 12.920516700015897, 1e-9, 'ΣH');
  assertRowsClose(
    toRows(fit.W),
    [
      [0.59677226, 1.22211669, 0.63679487, 1.11677429, 0.65094207, 1.25911941],
      [0.48982888, 0.82468009, 0.11735191, 0.49865662, 0.49483275, 0.76927537],
      [0, 0.6118249, 1.21309888, 1.78474689, 0.01725721, 0.61644359],
    ],
    1e-8,
    'H',
  );
  assertRowsClose(
    rowsOf(fit.U, 0, 4),
    [
      [0, 0, 0],
      [0.55902869, 0, 0.3064956],
      [0.66765915, 0.57070286, 0.03044909],
      [0, 0.32497058, 0.93463154],
    ],
    1e-8,
    'U rows 0-3',
  );
  const t = await transformNmf(jsProducts(t4X2()), fit.W, {});
  assertRowsClose(
    toRows(t.U),
    [
      [0, 0.54428568, 0.57864635],
      [0, 2.12083113, 0],
      [0, 0.21568731, 1.08537564],
      [0.08309179, 1.75821916, 0],
    ],
    1e-8,
    'transform(X2)',
  );
});

test('T4 transform couples rows through the stopping rule (row-by-row differs)', async () => {
  const fit = await fitNmf(jsProducts(t4X()), { components: 3 });
  const X2 = t4X2();
  const batch = await transformNmf(jsProducts(X2), fit.W, {});
  let maxDiff = 0;
  for (let i = 0; i < 4; i++) {
    const row = fromFlat(X2.data.subarray(i * 6, i * 6 + 6), 1, 6);
    const single = await transformNmf(jsProducts(row), fit.W, {});
    for (let t = 0; t < 3; t++) maxDiff = Math.max(maxDiff, Math.abs(single.U.data[t] - batch.U.data[i * 3 + t]));
  }
  // docs/method.md §3.4: up to 4.8e-4 between batch and row-by-row
  assertClose(maxDiff, 4.8e-4, 0.5e-4, 'max |batch − row-by-row|');
});

test('T4 NMF alpha_W=1e-2 matches sklearn', async () => {
  const fit = await fitNmf(jsProducts(t4X()), { components: 3, alphaW: 1e-2 });
  assert.equal(fit.iterations, 200);
  assertClose(fit.reconstructionError, 0.1848206634, 1e-9, 'recon_err');
  assertClose(sum(fit.U), 15.961750359406722, 1e-9, 'ΣU');
  assertClose(sum(fit.W), 8.6022701108753, 1e-9, 'ΣH');
  assertRowsClose(
    toRows(fit.W),
    [
      [0.47627104, 0.84129817, 0.22951164, 0.49117283, 0.52029205, 0.85219686],
      [0.22696483, 0.48631162, 0.26891079, 0.57047048, 0.21602725, 0.47939106],
      [0, 0.42499088, 0.84363899, 1.24111038, 0.01316537, 0.42054587],
    ],
    1e-8,
    'H',
  );
  const t = await transformNmf(jsProducts(t4X2()), fit.W, { alphaW: 1e-2 });
  assertRowsClose(
    toRows(t.U),
    [
      [0.52691577, 0, 0.80159904],
      [1.94320856, 0, 0],
      [0.05067444, 0.41690822, 1.40255755],
      [1.76864535, 0.00078818, 0],
    ],
    1e-8,
    'transform(X2)',
  );
});

test('T4 stopping rule: n_iter_ and results for tol × alpha_W', async () => {
  const table: [number, number, number, number, number, number, number][] = [
    // tol, alpha_W, n_iter_, recon_err, ΣU, ΣH, Σtransform(X2)
    [1e-2, 0, 28, 0.1571880364, 10.7083226537, 12.9845530456, 5.398016215],
    [1e-2, 1e-2, 29, 0.2018929662, 15.2992449562, 8.8211097439, 6.6068028549],
    [1e-3, 0, 77, 0.1315036934, 10.6618048621, 13.0022226877, 6.4737937612],
    [1e-3, 1e-2, 93, 0.1866982908, 15.9163678474, 8.5983266396, 6.8131548443],
  ];
  for (const [tol, alphaW, nIter, err, sU, sH, sT] of table) {
    const what = `tol=${tol} alpha_W=${alphaW}`;
    const fit = await fitNmf(jsProducts(t4X()), { components: 3, tol, alphaW });
    assert.equal(fit.iterations, nIter, `${what}: n_iter_`);
    assert.equal(fit.converged, true, `${what}: converged`);
    assertClose(fit.reconstructionError, err, 1e-9, `${what}: recon_err`);
    assertClose(sum(fit.U), sU, 1e-9, `${what}: ΣU`);
    assertClose(sum(fit.W), sH, 1e-9, `${what}: ΣH`);
    const t = await transformNmf(jsProducts(t4X2()), fit.W, { tol, alphaW });
    assertClose(sum(t.U), sT, 1e-9, `${what}: Σtransform(X2)`);
  }
});

test('onIteration reports every iteration with maxIter', async () => {
  const seen: [number, number][] = [];
  const fit = await fitNmf(jsProducts(t4X()), { components: 3, tol: 1e-2, onIteration: (it, max) => seen.push([it, max]) });
  assert.equal(seen.length, fit.iterations);
  assert.deepEqual(seen[0], [1, 200]);
  assert.deepEqual(seen[seen.length - 1], [28, 200]);
});

// ---------------------------------------------------------------- T5 (stage-wise)

/**
 * docs/method.md §10 T5, rebuilt from its formulas: 4 images 3×32×32, grid crops P=16, S=12
 * (image, row, column order), each crop bilinearly resized 16→32 (torch, align_corners=False),
 * g = avgpool4(relu(1×1 conv)) → 8×8×8; returns the spatially averaged activations (16 × 8) and
 * the per-position activations of the full images (4·8·8 × 8, rows in (n, y, x) order).
 */
function t5Activations(): { crops: Matrix; positions: Matrix; imagesPooled: Matrix } {
  const N = 4,
    C = 3,
    H = 32,
    P = 16,
    S = 12,
    O = 8;
  const img = (n: number, c: number, i: number, j: number): number => (((n + 1) * (c + 2) * (i + 1) + 3 * j) % 17) / 16;
  const Wg = (o: number, c: number): number => (((3 * o + 5 * c) % 7) - 2) / 4;
  const bg = (o: number): number => ((o % 3) - 1) / 8;
  /** avgpool4(relu(conv)) of a 3×32×32 picture → 8 channels × 8×8 */
  const g = (pix: (c: number, i: number, j: number) => number): Float64Array => {
    const out = new Float64Array(O * 8 * 8);
    for (let i = 0; i < 32; i++)
      for (let j = 0; j < 32; j++) {
        for (let o = 0; o < O; o++) {
          let a = bg(o);
          for (let c = 0; c < C; c++) a += Wg(o, c) * pix(c, i, j);
          out[o * 64 + (i >> 2) * 8 + (j >> 2)] += Math.max(a, 0) / 16;
        }
      }
    return out;
  };
  // torch bilinear, align_corners=False: src = (dst + 0.5)·(in/out) − 0.5, clamped below at 0
  const taps = (d: number): [number, number, number] => {
    const src = Math.max((d + 0.5) * (P / H) - 0.5, 0);
    const i0 = Math.floor(src);
    return [i0, Math.min(i0 + 1, P - 1), src - i0];
  };
  const cropRows: number[][] = [];
  const grid = Math.floor((H - P) / S) + 1;
  for (let n = 0; n < N; n++)
    for (let gy = 0; gy < grid; gy++)
      for (let gx = 0; gx < grid; gx++) {
        const y0 = gy * S,
          x0 = gx * S;
        const a = g((c, i, j) => {
          const [i0, i1, li] = taps(i);
          const [j0, j1, lj] = taps(j);
          const v = (ii: number, jj: number): number => img(n, c, y0 + ii, x0 + jj);
          return (1 - li) * ((1 - lj) * v(i0, j0) + lj * v(i0, j1)) + li * ((1 - lj) * v(i1, j0) + lj * v(i1, j1));
        });
        cropRows.push(Array.from({ length: O }, (_, o) => a.subarray(o * 64, o * 64 + 64).reduce((s, v) => s + v, 0) / 64));
      }
  const positionRows: number[][] = [];
  const pooledRows: number[][] = [];
  for (let n = 0; n < N; n++) {
    const a = g((c, i, j) => img(n, c, i, j));
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) positionRows.push(Array.from({ length: O }, (_, o) => a[o * 64 + y * 8 + x]));
    pooledRows.push(Array.from({ length: O }, (_, o) => a.subarray(o * 64, o * 64 + 64).reduce((s, v) => s + v, 0) / 64));
  }
  return { crops: fromRows(cropRows), positions: fromRows(positionRows), imagesPooled: fromRows(pooledRows) };
}

const T5_W = [
  [0.2997491, 0.8923448, 1.5590965, 0.1409381, 0.6683165, 1.33727, 0.0338792, 0.466009],
  [0.0631269, 0.3273623, 0.5720528, 0, 0.2453235, 0.48856, 0, 0.1552607],
  [0.059418, 0.3157923, 0.5558658, 0.071337, 0.2385503, 0.4753447, 0.0062406, 0.1500828],
];

test('T5 stage-wise: toy activations, NMF fit, transform of the reference W', async () => {
  const { crops, positions, imagesPooled } = t5Activations();
  // the rebuilt activations are the reference ones (float32 there)
  assertRowsClose(rowsOf(crops, 0, 1), [[0.163085, 0.5014877, 0.8771973, 0.0797739, 0.3762856, 0.7518311, 0.0204334, 0.2599764]], 1e-6, 'pooled crop 0');
  assertClose(sum(crops), 48.0120068, 1e-5, 'Σ pooled activations');

  // NMF (reference float32, alpha 0). The problem is poorly conditioned (concepts 1 and 2 nearly
  // collinear, stops at max_iter), so the float32 reference and a float64 solve drift apart by
  // ~2e-5 on W (a numpy emulation of the same loop in float32 vs float64 shows the same spread).
  const fit = await fitNmf(jsProducts(crops), { components: 3 });
  assert.equal(fit.iterations, 200);
  assertClose(fit.reconstructionError, 0.011186389, 2e-7, 'recon');
  assertClose(sum(fit.W), 9.1219206, 5e-5, 'ΣW');
  assertClose(sum(fit.U), 12.6821003, 5e-5, 'Σcrops_u');
  assertRowsClose(toRows(fit.W), T5_W, 5e-5, 'W');
  assertRowsClose(
    rowsOf(fit.U, 0, 4),
    [
      [0.5107729, 0.0303268, 0.114079],
      [0.5107734, 0.0227938, 0.1233028],
      [0.5178751, 0.0607193, 0.0604288],
      [0.5024264, 0.0693569, 0.0916494],
    ],
    5e-5,
    'crops_u[0:4]',
  );

  // transform with the reference W: 4-D path (every spatial position is a row, one batch)
  const W = fromRows(T5_W);
  // (256 rows, stops at max_iter; the reference W is rounded to 7 digits: measured 1.8e-4 off, i.e. 1e-6 relative)
  const t4d = await transformNmf(jsProducts(positions), W, {});
  assertClose(sum(t4d.U), 164.5080872, 5e-4, 'Σ transform 4-D');
  // 2-D variant: spatially averaged full images
  const t2d = await transformNmf(jsProducts(imagesPooled), W, {});
  assertRowsClose(
    toRows(t2d.U),
    [
      [0.5665144, 0, 0],
      [0.5661166, 0, 0],
      [0.5660363, 0, 0],
      [0.5663961, 0, 0],
    ],
    1e-6,
    'transform 2-D',
  );
});

// ---------------------------------------------------------------- golden fixture

test('golden: Fashion-MNIST crop activations (800×64, r=10) vs the reference CRAFT run', async () => {
  const reference = JSON.parse(fs.readFileSync(path.join(referenceDir, 'reference.json'), 'utf8')) as {
    nmf_relative_reconstruction_error: number;
  };
  const A = readF32('crop_activations_800x64.f32', 800, 64);
  const refU = readF32('U_800x10.f32', 800, 10);
  const refW = readF32('W_10x64.f32', 10, 64);
  const X = jsProducts(A);

  const started = Date.now();
  const fit: NmfFit = await fitNmf(X, { components: 10 });
  const ms = Date.now() - started;
  const expected = reference.nmf_relative_reconstruction_error;
  assert.ok(Math.abs(fit.relativeError - expected) <= 0.01 * expected, `relative error ${fit.relativeError} vs reference ${expected}`);
  assertClose(fit.reconstructionError, directError(A, fit.U, fit.W), 1e-9, 'recon_err vs direct');

  // match each reference concept to one of ours, greedily on cosine
  const cos: number[][] = [];
  for (let a = 0; a < 10; a++) {
    cos.push([]);
    for (let b = 0; b < 10; b++) cos[a].push(cosine(refW.data.subarray(a * 64, a * 64 + 64), fit.W.data.subarray(b * 64, b * 64 + 64)));
  }
  const usedRef = new Set<number>();
  const usedOurs = new Set<number>();
  const matched: number[] = [];
  for (let step = 0; step < 10; step++) {
    let best = -Infinity,
      ba = -1,
      bb = -1;
    for (let a = 0; a < 10; a++)
      for (let b = 0; b < 10; b++) {
        if (!usedRef.has(a) && !usedOurs.has(b) && cos[a][b] > best) [best, ba, bb] = [cos[a][b], a, b];
      }
    usedRef.add(ba);
    usedOurs.add(bb);
    matched[ba] = best;
  }
  const worst = Math.min(...matched);
  assert.ok(worst >= 0.99, `worst matched concept cosine ${worst} (all: ${matched.map((c) => c.toFixed(5)).join(', ')})`);

  // transform of the reference W on A ≈ the reference U (which is fit_transform's own U)
  const t = await transformNmf(X, refW, {});
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < t.U.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(t.U.data[i] - refU.data[i]));
    maxRef = Math.max(maxRef, Math.abs(refU.data[i]));
  }
  console.log(
    `golden: fit ${ms} ms, ${fit.iterations} iterations, relative error ${fit.relativeError.toFixed(6)} ` +
      `(reference ${expected.toFixed(6)}), worst concept cosine ${worst.toFixed(6)}, ` +
      `transform(ref W) vs ref U max |diff| ${maxDiff.toExponential(3)} (max |U| ${maxRef.toFixed(3)}, ${t.iterations} iterations)`,
  );
  // fit_transform's U comes out of the joint iterations, transform restarts from zeros and stops on its
  // own tolerance: measured ≈ 4e-3 with max |U| ≈ 0.8 (0.5 %)
  assert.ok(maxDiff <= 0.01 * maxRef, `transform(ref W) vs ref U: max |diff| ${maxDiff} vs max |U| ${maxRef}`);
});

// ---------------------------------------------------------------- errors

test('errors: negative activations, too few crops, too few channels, bad options', async () => {
  const neg = fromRows([
    [1, 2],
    [-0.5, 3],
    [0, 1],
  ]);
  await assert.rejects(fitNmf(jsProducts(neg), { components: 1 }), /NMF needs non-negative activations/);
  await assert.rejects(transformNmf(jsProducts(neg), fromRows([[1, 1]]), {}), /NMF needs non-negative activations/);
  const nan = fromRows([
    [1, NaN],
    [0, 1],
  ]);
  await assert.rejects(fitNmf(jsProducts(nan), { components: 1 }), /NaN/);
  const few = zeros(3, 64);
  few.data.fill(1);
  await assert.rejects(fitNmf(jsProducts(few), { components: 10 }), (e: Error) => {
    assert.match(e.message, /only 3 crops/);
    assert.match(e.message, /fewer concepts/);
    assert.match(e.message, /smaller patch/);
    assert.match(e.message, /more images/);
    return true;
  });
  await assert.rejects(fitNmf(jsProducts(t4X()), { components: 7 }), /only 6 channels/);
  await assert.rejects(fitNmf(jsProducts(t4X()), { components: 0 }), /components/);
  await assert.rejects(transformNmf(jsProducts(t4X2()), zeros(3, 5), {}), /5 channels/);
});

test("errors: an aborted signal stops fit and transform with the engine's CancelledError", async () => {
  const already = new AbortController();
  already.abort();
  await assert.rejects(fitNmf(jsProducts(t4X()), { components: 3, signal: already.signal }), CancelledError);
  await assert.rejects(transformNmf(jsProducts(t4X2()), fromRows([[1, 1, 1, 1, 1, 1]]), { signal: already.signal }), CancelledError);
  // abort in the middle: the callback aborts at iteration 5, the next iteration's check throws
  const mid = new AbortController();
  let last = 0;
  await assert.rejects(
    fitNmf(jsProducts(t4X()), {
      components: 3,
      signal: mid.signal,
      onIteration: (it) => {
        last = it;
        if (it === 5) mid.abort();
      },
    }),
    CancelledError,
  );
  assert.equal(last, 5);
});

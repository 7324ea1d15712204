import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstPrimes, haltonDesign, jansenTotalOrder, radicalInverse } from '../../src/craft/math/sobol';
import { Matrix } from '../../src/craft/math/matrix';

const repoRoot = path.resolve(__dirname, '../../..');
const goldenMasks = path.join(repoRoot, 'test/fixtures/fashion-mnist/reference/halton_masks_384x10.f32');

function row(m: Matrix, i: number): number[] {
  return Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
  }
}

/**
 * numpy's float32 `sum`: pairwise summation (8 accumulators for blocks ≤ 128, halving above),
 * every addition rounded to float32. The reference's float32 total was produced this way.
 */
function numpyFloat32Sum(a: ArrayLike<number>, lo = 0, n = a.length): number {
  const f = Math.fround;
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s = f(s + a[lo + i]);
    return s;
  }
  if (n <= 128) {
    const acc: number[] = [];
    for (let j = 0; j < 8; j++) acc.push(a[lo + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) acc[j] = f(acc[j] + a[lo + i + j]);
    let s = f(f(f(acc[0] + acc[1]) + f(acc[2] + acc[3])) + f(f(acc[4] + acc[5]) + f(acc[6] + acc[7])));
    for (; i < n; i++) s = f(s + a[lo + i]);
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return f(numpyFloat32Sum(a, lo, half) + numpyFloat32Sum(a, lo + half, n - half));
}

/** Evaluates a model on every design row (the design's float32 values widened to float64). */
function outputs(design: Matrix, f: (x: Float64Array) => number): Float64Array {
  const y = new Float64Array(design.rows);
  for (let i = 0; i < design.rows; i++) y[i] = f(design.data.subarray(i * design.cols, (i + 1) * design.cols));
  return y;
}

test('firstPrimes and radicalInverse', () => {
  assert.deepEqual(firstPrimes(20), [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]);
  assert.equal(radicalInverse(0, 2), 0);
  assert.equal(radicalInverse(1, 2), 0.5);
  assert.equal(radicalInverse(6, 2), 0.375); // 110b → 0.011b
  assert.ok(Math.abs(radicalInverse(5, 3) - 7 / 9) <= 2e-16); // 12₃ → 0.21₃ (scipy's order gives 7/9 − 1 ulp)
  assert.equal(radicalInverse(5, 3), 2 * (1 / 3) + 1 / 3 / 3);
  assert.equal(radicalInverse(30, 31), 30 / 31);
});

test('T1 Halton design: shape, sums, rows, zero rows', () => {
  const r = 10;
  const n = 32;
  const m = haltonDesign(r, n);
  assert.equal(m.rows, 384);
  assert.equal(m.cols, 10);

  let sum64 = 0;
  let sequential32 = 0;
  for (const v of m.data) {
    assert.equal(v, Math.fround(v), 'every value is a float32');
    sum64 += v;
    sequential32 = Math.fround(sequential32 + v);
  }
  assert.ok(Math.abs(sum64 - 1607.7735707506072) <= 1e-9, `float64 sum ${sum64}`);
  // The reference's float32 total is numpy's pairwise sum; a plain running float32 sum differs.
  assert.equal(numpyFloat32Sum(m.data), 1607.7735595703125);
  assert.equal(sequential32, 1607.77294921875);

  const primes = firstPrimes(2 * r);
  const f32 = (xs: number[]) => xs.map((x) => Math.fround(x));
  const rowA1 = f32(primes.slice(0, r).map((p) => 1 / p));
  assert.deepEqual(row(m, 1), rowA1);
  assert.deepEqual(row(m, 2), f32([1 / 4, ...primes.slice(1, r).map((p) => 2 / p)]));
  assert.deepEqual(row(m, 33), f32(primes.slice(r).map((p) => 1 / p)));
  assert.deepEqual(row(m, 65), f32([1 / 31, ...rowA1.slice(1)]));
  assert.deepEqual(row(m, 97), f32([rowA1[0], 1 / 37, ...rowA1.slice(2)]));

  for (let block = 0; block < r + 2; block++) {
    assert.deepEqual(row(m, block * n), new Array(r).fill(0), `row 0 of block ${block}`);
  }
});

test('T1 Halton design equals the reference masks element-wise', () => {
  const buf = fs.readFileSync(goldenMasks);
  assert.equal(buf.length, 384 * 10 * 4);
  const m = haltonDesign(10, 32);
  let mismatches = 0;
  for (let i = 0; i < 384 * 10; i++) if (m.data[i] !== buf.readFloatLE(4 * i)) mismatches++;
  assert.equal(mismatches, 0);
});

test('T2 Jansen on Ishigami matches the reference and converges to analytic', () => {
  const ishigami = (m: Float64Array) => {
    const x1 = -Math.PI + 2 * Math.PI * m[0];
    const x2 = -Math.PI + 2 * Math.PI * m[1];
    const x3 = -Math.PI + 2 * Math.PI * m[2];
    return Math.sin(x1) + 7 * Math.sin(x2) ** 2 + 0.1 * x3 ** 4 * Math.sin(x1);
  };
  const reference: [number, number[]][] = [
    [32, [0.254306, 0.511097, 0.312289]],
    [256, [0.617514, 0.448197, 0.258354]],
    [1024, [0.563655, 0.443963, 0.244563]],
    [8192, [0.557447, 0.442122, 0.2427]],
  ];
  let st8192: Float64Array | undefined;
  for (const [n, expected] of reference) {
    const st = jansenTotalOrder(outputs(haltonDesign(3, n), ishigami), n, 3);
    assertClose(st, expected, 1e-5, `Ishigami N=${n}`);
    if (n === 8192) st8192 = st;
  }
  assertClose(st8192!, [0.557589, 0.442411, 0.243682], 2e-3, 'Ishigami N=8192 vs analytic');
});

test('T3 linear model: analytic, reference estimates, exact zeros, ranking', () => {
  const c = [3, 2, 1, 0.5, 0, 0, 0, 0, 0, 0];
  const linear = (m: Float64Array) => c.reduce((s, ci, i) => s + ci * m[i], 0);
  const total = c.reduce((s, ci) => s + ci * ci, 0);
  const analytic = c.map((ci) => (ci * ci) / total);
  assertClose(analytic, [0.631579, 0.280702, 0.070175, 0.017544, 0, 0, 0, 0, 0, 0], 1e-6, 'analytic');

  const st32 = jansenTotalOrder(outputs(haltonDesign(10, 32), linear), 32, 10);
  const st1024 = jansenTotalOrder(outputs(haltonDesign(10, 1024), linear), 1024, 10);
  assertClose(st32, [0.573314, 0.209544, 0.050692, 0.011066, 0, 0, 0, 0, 0, 0], 1e-5, 'linear N=32');
  assertClose(st1024, [0.629396, 0.277734, 0.069979, 0.017395, 0, 0, 0, 0, 0, 0], 1e-5, 'linear N=1024');
  assertClose(st1024, analytic, 5e-3, 'linear N=1024 vs analytic');
  for (let i = 4; i < 10; i++) {
    assert.equal(st32[i], 0);
    assert.equal(st1024[i], 0);
  }
  assert.ok(st32[0] > st32[1] && st32[1] > st32[2] && st32[2] > st32[3] && st32[3] > 0, `ranking ${Array.from(st32)}`);
});

test('T6 permuting concepts and mask columns together permutes the importances', () => {
  const r = 6;
  const n = 32;
  const classes = 4;
  // A CRAFT-like 2-D path: y = h((u ⊙ mask) W)[class] with a nonlinear h.
  const u = Array.from({ length: r }, (_, i) => 0.3 + ((i * 7) % 5) / 4);
  const w = Array.from({ length: r }, (_, i) => Array.from({ length: classes }, (_, q) => (((2 * i + 3 * q) % 5) - 2) / 2));
  const h = (a: number[]) => Math.tanh(a[1]) + 0.5 * Math.log1p(Math.exp(a[2])) - 0.2 * a[0] * a[3];
  const model = (uu: number[], ww: number[][]) => (m: Float64Array) => {
    const a = new Array(classes).fill(0);
    for (let i = 0; i < r; i++) for (let q = 0; q < classes; q++) a[q] += uu[i] * m[i] * ww[i][q];
    return h(a);
  };
  const perm = [3, 0, 5, 1, 4, 2]; // new concept i is old concept perm[i]

  const design = haltonDesign(r, n);
  const st = jansenTotalOrder(outputs(design, model(u, w)), n, r);

  // The same design with columns permuted and the C blocks reordered: C'_i must be A' with
  // column i from B', i.e. the old C_{perm[i]} with its columns permuted.
  const permuted: Matrix = { rows: design.rows, cols: r, data: new Float64Array(design.data.length) };
  const blockOrder = [0, 1, ...perm.map((p) => 2 + p)];
  blockOrder.forEach((src, dst) => {
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < r; i++) permuted.data[(dst * n + k) * r + i] = design.data[(src * n + k) * r + perm[i]];
    }
  });
  const uP = perm.map((p) => u[p]);
  const wP = perm.map((p) => w[p]);
  const stP = jansenTotalOrder(outputs(permuted, model(uP, wP)), n, r);
  assertClose(
    stP,
    perm.map((p) => st[p]),
    1e-6,
    'permuted importances',
  );
  assert.ok(Math.max(...st) > 0.05, 'the model gives non-trivial importances');

  // Permuting the concepts alone (same design) does not permute the importances: each concept
  // index is tied to its own Halton bases (docs/method.md §10 T6).
  const stConceptsOnly = jansenTotalOrder(outputs(design, model(uP, wP)), n, r);
  const maxDiff = Math.max(...perm.map((p, i) => Math.abs(stConceptsOnly[i] - st[p])));
  assert.ok(maxDiff > 1e-3, `concept-only permutation changed importances by ${maxDiff}`);
});

test('T6 scale check: one active concept of a linear h', () => {
  const r = 10;
  const n = 32;
  const design = haltonDesign(r, n);
  const bases = firstPrimes(2 * r);
  for (const active of [0, 4, 9]) {
    // Expected from the formula with a = A[:, active], b = B[:, active] rebuilt from radical inverses.
    const a = Array.from({ length: n }, (_, k) => Math.fround(radicalInverse(k, bases[active])));
    const b = Array.from({ length: n }, (_, k) => Math.fround(radicalInverse(k, bases[r + active])));
    const mean = a.reduce((s, v) => s + v, 0) / n;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
    const expected = a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0) / (2 * n * variance);
    for (const scale of [1, 2.5, -0.01, 1e3]) {
      const st = jansenTotalOrder(
        outputs(design, (m) => scale * m[active]),
        n,
        r,
      );
      for (let i = 0; i < r; i++) {
        if (i === active) assert.ok(Math.abs(st[i] - expected) <= 1e-6 * expected, `concept ${active} scale ${scale}: ${st[i]} vs ${expected}`);
        else assert.equal(st[i], 0, `inactive concept ${i}`);
      }
    }
  }
});

test('T6 zero variance of the A block gives zeros, not NaN', () => {
  const n = 32;
  const r = 4;
  assert.deepEqual(Array.from(jansenTotalOrder(new Float64Array(n * (r + 2)), n, r)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(jansenTotalOrder(new Float64Array(n * (r + 2)).fill(0.1), n, r)), [0, 0, 0, 0]);
  // A constant but C varying: the reference would divide by 0 (inf); the port documents 0.
  const y = new Float64Array(n * (r + 2)).fill(1.7);
  for (let j = 2 * n; j < y.length; j++) y[j] = j % 3;
  assert.deepEqual(Array.from(jansenTotalOrder(y, n, r)), [0, 0, 0, 0]);
  assert.throws(() => jansenTotalOrder(new Float64Array(10), n, r), /expected/);
});

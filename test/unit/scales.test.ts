/** The two scales of a concept (docs/method.md §6.1): crop geometry, rank correlation, crop-scale maps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averageRanks, cellsCovered, cropScaleMap, scaleAgreement, spearman } from '../../src/craft/math/scales';
import { cropGrid } from '../../src/craft/images/crops';
import { rng } from './helpers';

test('cellsCovered: the cells whose centres lie in the crop, else the cell under its centre', () => {
  // 224-px input, 7×7 latent grid: cell centres at 16, 48, 80, …
  assert.deepEqual(cellsCovered(0, 0, 64, [7, 7], [224, 224]), [0, 1, 7, 8]);
  assert.deepEqual(cellsCovered(51, 102, 64, [7, 7], [224, 224]), [17, 18, 24, 25], 'rows 2–3 (centres 80, 112), cols 3–4 (112, 144)');
  // A crop smaller than a cell and between centres: the cell under its centre.
  assert.deepEqual(cellsCovered(0, 0, 8, [7, 7], [224, 224]), [0]);
  assert.deepEqual(cellsCovered(200, 200, 8, [7, 7], [224, 224]), [48]);
  // Vector layers have one cell.
  assert.deepEqual(cellsCovered(10, 10, 14, [1, 1], [28, 28]), [0]);
});

test('spearman: ±1 for monotone relations, average ranks for ties, 0 for a constant side', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 25, 100]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.deepEqual(Array.from(averageRanks([5, 1, 5, 3])), [3.5, 1, 3.5, 2]);
  // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) = 0.8
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-12);
  assert.equal(spearman([1, 2, 3], [7, 7, 7]), 0);
});

test('scaleAgreement: 1 when crops and cells follow the same spatial pattern, about 0 when unrelated', () => {
  const input: [number, number] = [224, 224];
  const latent: [number, number] = [7, 7];
  const grid = cropGrid(224, 224, 64);
  const images = 20;
  const r = 2;
  const hw = 49;
  const next = rng(7);
  // Concept 0: a per-image bright spot; crops and cells both measure closeness to it. Concept 1: noise.
  const spots = Array.from({ length: images }, () => [next() * 224, next() * 224]);
  const U = new Float64Array(images * grid.perImage * r);
  const Uimg = new Float64Array(images * hw * r);
  const near = (i: number, y: number, x: number) => 1 / (1 + Math.hypot(y - spots[i][0], x - spots[i][1]));
  for (let i = 0; i < images; i++) {
    grid.positions.forEach((p, j) => {
      U[(i * grid.perImage + j) * r] = near(i, p.y + 32, p.x + 32);
      U[(i * grid.perImage + j) * r + 1] = next();
    });
    for (let k = 0; k < hw; k++) {
      Uimg[(i * hw + k) * r] = near(i, (Math.floor(k / 7) + 0.5) * 32, ((k % 7) + 0.5) * 32);
      Uimg[(i * hw + k) * r + 1] = next();
    }
  }
  const [same, unrelated] = scaleAgreement({ U, Uimg, r, images, grid, latent, input });
  assert.ok(same > 0.9, `agreement ${same}`);
  assert.ok(Math.abs(unrelated) < 0.2, `agreement ${unrelated}`);
});

test('cropScaleMap: each crop painted over its patch, overlaps averaged, uncovered pixels 0', () => {
  // 10×10 input, patch 5 (stride 4): crops at 0 and 4 on each axis; the last column/row is uncovered.
  const grid = cropGrid(10, 10, 5);
  assert.deepEqual(grid.positions, [
    { y: 0, x: 0 },
    { y: 0, x: 4 },
    { y: 4, x: 0 },
    { y: 4, x: 4 },
  ]);
  const map = cropScaleMap((j) => [1, 2, 3, 4][j], grid, [10, 10], [10, 10]);
  assert.equal(map[0], 1);
  assert.equal(map[4], 1.5, 'the column shared by crops 0 and 1');
  assert.equal(map[4 * 10 + 4], 2.5, 'the pixel shared by all four crops');
  assert.equal(map[9 * 10 + 9], 0, 'not covered by any crop');
  assert.equal(map[8 * 10 + 8], 4);
});

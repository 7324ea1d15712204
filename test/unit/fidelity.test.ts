/** C-Deletion / C-Insertion arithmetic (docs/method.md §7): the mask rows, the areas, the random orders. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fidelityMasks, randomOrders, trapezoidArea } from '../../src/craft/math/fidelity';

test('fidelityMasks: deletion row k switches off the first k concepts of the order, insertion row k keeps only them', () => {
  const order = [2, 0, 1];
  const rows = fidelityMasks(order);
  const row = (k: number) => Array.from(rows.subarray(k * 3, (k + 1) * 3));
  assert.equal(rows.length, 2 * 4 * 3);
  assert.deepEqual([0, 1, 2, 3].map(row), [
    [1, 1, 1],
    [1, 1, 0],
    [0, 1, 0],
    [0, 0, 0],
  ]);
  assert.deepEqual([4, 5, 6, 7].map(row), [
    [0, 0, 0],
    [0, 0, 1],
    [1, 0, 1],
    [1, 1, 1],
  ]);
});

test('trapezoidArea: x runs over [0, 1] whatever the number of points', () => {
  assert.equal(trapezoidArea([1, 1, 1, 1, 1]), 1);
  assert.equal(trapezoidArea([0, 1]), 0.5);
  assert.equal(trapezoidArea([0, 0.5, 1]), 0.5);
  assert.ok(Math.abs(trapezoidArea([4, 2, 0, 0]) - 4 / 3) < 1e-15);
  assert.equal(trapezoidArea([3]), 0);
});

test('randomOrders: permutations, reproducible, and not all the same', () => {
  const a = randomOrders(10, 8);
  assert.deepEqual(a, randomOrders(10, 8));
  for (const o of a)
    assert.deepEqual(
      [...o].sort((x, y) => x - y),
      [...Array(10).keys()],
    );
  assert.ok(new Set(a.map((o) => o.join(','))).size === 8);
  assert.notDeepEqual(randomOrders(10, 1, 2), randomOrders(10, 1, 3));
});

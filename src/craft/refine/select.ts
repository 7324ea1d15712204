/**
 * Which concept of a run the user means, and which of its crops are factorised again
 * (docs/method.md §8): those whose coefficient reaches the concept's 90th percentile.
 */
import { CraftError } from '../errors';
import { percentile } from '../images/heatmap';
import type { Matrix } from '../math/matrix';
import type { ConceptNames, ResultsBundle } from '../../protocol';

/** The paper's λ: the crops kept are those at or above this percentile of the concept's coefficients. */
export const REFINE_PERCENTILE = 90;

/** Fewest crops worth factorising again: one crop cannot be split. */
export const MIN_REFINE_CROPS = 2;

/**
 * The concept index meant by `spec`: an index ("3" or 3), "#N" for the rank the page shows (1 = most
 * important), or a name the user gave in the panel (names.json; case and surrounding spaces ignored).
 */
export function conceptFromSpec(spec: string | number, bundle: Pick<ResultsBundle, 'concepts' | 'ranking'>, names: ConceptNames = {}): number {
  const r = bundle.concepts.length;
  const range = `0–${r - 1} (or #1–#${r} by rank)`;
  const named = Object.entries(names);
  const hint = `Give a concept index ${range}${named.length ? `, or one of the names ${named.map(([, n]) => JSON.stringify(n)).join(', ')}` : ''}.`;
  const text = typeof spec === 'number' ? String(spec) : spec.trim();
  const wanted = text.toLowerCase();
  const found = named.filter(([, n]) => n.toLowerCase() === wanted);
  // A name that reads as an index or a #rank of another concept: the user must say which.
  const byNumber = (c: number) => {
    if (typeof spec === 'string' && found.length > 0 && found.some(([k]) => Number(k) !== c)) {
      throw new CraftError(
        'usage',
        `${JSON.stringify(text)} is both concept ${c} (by ${text.startsWith('#') ? 'rank' : 'index'}) and the name of concept ${found.map(([k]) => k).join(', ')}.`,
        'Give the other form (the index, or #rank as the panel shows it), or rename the concept in the panel.',
      );
    }
    return c;
  };
  if (/^\d+$/.test(text)) {
    const index = Number(text);
    if (index < r) return byNumber(index);
    if (found.length === 0 || typeof spec === 'number')
      throw new CraftError('usage', `The run has ${r} concepts (0–${r - 1}); there is no concept ${text}.`, hint);
  }
  const rank = /^#\s*(\d+)$/.exec(text);
  if (rank) {
    const k = Number(rank[1]);
    if (k >= 1 && k <= r && bundle.ranking[k - 1] !== undefined) return byNumber(bundle.ranking[k - 1]);
    if (found.length === 0) throw new CraftError('usage', `The run has ${r} concepts, ranked #1–#${r}; there is no concept #${rank[1]}.`, hint);
  }
  if (found.length === 1) return Number(found[0][0]);
  if (found.length > 1)
    throw new CraftError(
      'usage',
      `Several concepts are named ${JSON.stringify(text)} (${found.map(([k]) => k).join(', ')}).`,
      'Give the concept by its index or #rank instead.',
    );
  throw new CraftError('usage', `No concept is named ${JSON.stringify(text)}${typeof spec === 'number' ? '' : ' (nor is it an index or a #rank)'}.`, hint);
}

export interface CropSelection {
  /** The concept's 90th percentile over all crops (numpy's linear interpolation). */
  threshold: number;
  /** Rows of U (crops in (image, crop) order) whose coefficient is ≥ threshold and > 0, ascending. */
  crops: number[];
}

/**
 * The paper's point set C_i = {crops j : U[j, i] ≥ λ}, λ the q-th percentile of column i. Crops with a
 * zero coefficient are left out even when λ is 0 (a concept absent from most crops): they do not show it.
 */
export function selectCrops(U: Matrix, concept: number, q = REFINE_PERCENTILE): CropSelection {
  const column = new Float64Array(U.rows);
  for (let j = 0; j < U.rows; j++) column[j] = U.data[j * U.cols + concept];
  const threshold = percentile(column, q);
  const crops: number[] = [];
  for (let j = 0; j < U.rows; j++) if (column[j] >= threshold && column[j] > 0) crops.push(j);
  return { threshold, crops };
}

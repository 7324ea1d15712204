/**
 * What the classes of a set share (docs/method.md §12): the cosine of every concept of one class with
 * every concept of another (rows of their W, the concepts' directions in the layer's channel space,
 * each normalised), a one-to-one matching of the most similar concepts, and the model's confusion
 * between the classes, which picks the pair shown first.
 */
import type { ClassPair, ClassSet, ConceptMatch } from '../../protocol';

/** Each row divided by its Euclidean norm (float64); a row of zeros stays zeros. */
function normalisedRows(W: readonly (readonly number[])[]): Float64Array[] {
  return W.map((row) => {
    let norm = 0;
    for (const v of row) norm += v * v;
    norm = Math.sqrt(norm);
    return Float64Array.from(row, (v) => (norm > 0 ? v / norm : 0));
  });
}

/**
 * cos[i][j]: concept i of W_a against concept j of W_b (r_a × r_b). Both banks come from the same
 * layer, so the rows have the same length p. A concept whose row is all zeros has cosine 0 with every
 * other (it has no direction).
 */
export function conceptCosines(Wa: readonly (readonly number[])[], Wb: readonly (readonly number[])[]): number[][] {
  const a = normalisedRows(Wa);
  const b = normalisedRows(Wb);
  if (a.length && b.length && a[0].length !== b[0].length) {
    throw new RangeError(`concept banks of ${a[0].length} and ${b[0].length} channels cannot be compared`);
  }
  return a.map((x) =>
    b.map((y) => {
      let dot = 0;
      for (let k = 0; k < x.length; k++) dot += x[k] * y[k];
      // Rounding can take the cosine of two equal directions just past 1.
      return Math.max(-1, Math.min(1, dot));
    }),
  );
}

/**
 * One-to-one pairs of concepts, most similar first: repeatedly the largest remaining cosine whose two
 * concepts are both still free (ties: the lower concept of a, then of b). min(r_a, r_b) pairs. Greedy
 * rather than an optimal assignment: the first pairs are then exactly the most similar concepts, which
 * is what a reader looks for.
 */
export function matchConcepts(cos: readonly (readonly number[])[]): ConceptMatch[] {
  const cells: ConceptMatch[] = [];
  cos.forEach((row, a) => row.forEach((cosine, b) => cells.push({ a, b, cosine })));
  cells.sort((x, y) => y.cosine - x.cosine || x.a - y.a || x.b - y.b);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const matches: ConceptMatch[] = [];
  for (const c of cells) {
    if (usedA.has(c.a) || usedB.has(c.b)) continue;
    usedA.add(c.a);
    usedB.add(c.b);
    matches.push(c);
  }
  return matches;
}

/** The pair (a, b) of the set's classes compared, with how often the model confuses them. */
function comparePair(a: number, b: number, Wa: number[][], Wb: number[][], confusion: ClassSet['confusion']): ClassPair {
  const cosine = conceptCosines(Wa, Wb);
  return { a, b, cosine, matches: matchConcepts(cosine), confused: confusion.counts[a][b] + confusion.counts[b][a] };
}

/**
 * Every pair of classes, in order (0, 1), (0, 2), …, (1, 2), …; and the pair the model confuses most
 * (ties and no confusion at all: the first such pair).
 */
export function comparePairs(W: number[][][], confusion: ClassSet['confusion']): { pairs: ClassPair[]; mostConfused?: { a: number; b: number } } {
  const pairs: ClassPair[] = [];
  for (let a = 0; a < W.length; a++) for (let b = a + 1; b < W.length; b++) pairs.push(comparePair(a, b, W[a], W[b], confusion));
  let best: ClassPair | undefined;
  for (const p of pairs) if (!best || p.confused > best.confused) best = p;
  return { pairs, mostConfused: best ? { a: best.a, b: best.b } : undefined };
}

/**
 * The confusion of a set whose classes have their own folders: row a counts the images of class a's
 * run by the class the model predicts for them (`predicted`: each run's predictions, as class indices).
 */
export function folderConfusion(classIndices: number[], predicted: number[][]): ClassSet['confusion'] {
  const n = classIndices.length;
  const counts = classIndices.map(() => new Array<number>(n).fill(0));
  const other = new Array<number>(n).fill(0);
  predicted.forEach((row, a) => {
    for (const p of row) {
      const b = classIndices.indexOf(p);
      if (b >= 0) counts[a][b]++;
      else other[a]++;
    }
  });
  return { basis: 'folders', counts, other, totals: predicted.map((r) => r.length) };
}

/**
 * The confusion of a set explained by prediction, where no image has a known class: row a counts the
 * images predicted as class a by their runner-up (second most likely) class. The diagonal stays 0.
 */
export function runnerUpConfusion(classIndices: number[], images: { predicted: number; runnerUp: number }[]): ClassSet['confusion'] {
  const n = classIndices.length;
  const counts = classIndices.map(() => new Array<number>(n).fill(0));
  const other = new Array<number>(n).fill(0);
  const totals = new Array<number>(n).fill(0);
  for (const im of images) {
    const a = classIndices.indexOf(im.predicted);
    if (a < 0) continue;
    totals[a]++;
    const b = classIndices.indexOf(im.runnerUp);
    if (b >= 0) counts[a][b]++;
    else other[a]++;
  }
  return { basis: 'runner-up', counts, other, totals };
}

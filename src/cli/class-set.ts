import type { ClassSetResult } from '../craft/classes/set';
import type { ClassSet, ResultsBundle } from '../protocol';
import { formatSeconds } from './progress';

/** Concepts shown per class, and shared concept pairs of the most confused pair. */
const TOP = 3;

const name = (c: ClassSet['classes'][number]) => c.label ?? `class ${c.index}`;

function topConcepts(b: ResultsBundle): string {
  return b.ranking
    .slice(0, TOP)
    .map((c) => `concept ${c} ${b.importances[c].toFixed(4)} (${(100 * b.concepts[c].share).toFixed(1)}%)`)
    .join(', ');
}

/** How the model confuses the pair, in words (the basis of the counts says what they are). */
function confusionText(index: ClassSet, a: number, b: number): string {
  const [ca, cb] = [index.classes[a], index.classes[b]];
  const { counts, totals, basis } = index.confusion;
  if (basis === 'folders') {
    return `${counts[a][b]} of ${totals[a]} ${name(ca)} images predicted as ${name(cb)}, ${counts[b][a]} of ${totals[b]} ${name(cb)} images as ${name(ca)}`;
  }
  return `the runner-up class of ${counts[a][b]} of ${totals[a]} images predicted as ${name(ca)} is ${name(cb)}, and of ${counts[b][a]} of ${totals[b]} predicted as ${name(cb)} is ${name(ca)}`;
}

/** `craft explain` with several classes: per class its top concepts, then what the most confused pair shares. */
export function printClassSet(result: ClassSetResult, json: boolean): string {
  const { index, runs, dir } = result;
  const pair = index.mostConfused && index.pairs.find((p) => p.a === index.mostConfused!.a && p.b === index.mostConfused!.b);
  if (json) {
    return (
      JSON.stringify({
        dir,
        mode: index.mode,
        classes: index.classes.map((c, k) => ({
          index: c.index,
          label: c.label,
          dir: runs[k].dir,
          images: c.images,
          importances: runs[k].bundle.importances,
          ranking: runs[k].bundle.ranking,
        })),
        confusion: index.confusion,
        mostConfused: pair ? { a: pair.a, b: pair.b, confused: pair.confused, shared: pair.matches.slice(0, TOP) } : undefined,
        timings: index.timings,
      }) + '\n'
    );
  }
  const first = runs[0].bundle;
  const lines = [
    `CRAFT: ${index.classes.length} class${index.classes.length === 1 ? '' : 'es'} (${index.classes.map(name).join(', ')}) ${index.mode === 'folders' ? 'by folder' : 'by prediction'}, layer ${index.layer}, ${first.concepts.length} concepts each, provider ${first.provider.toUpperCase()}, ${formatSeconds(index.timings.total)}`,
    ...index.classes.map((c, k) => `  ${name(c)} (class ${c.index}, ${c.images} images): ${topConcepts(runs[k].bundle)}`),
  ];
  if (pair) {
    const [a, b] = [index.classes[pair.a], index.classes[pair.b]];
    const [ba, bb] = [runs[pair.a].bundle, runs[pair.b].bundle];
    lines.push(`Most confused pair: ${name(a)} / ${name(b)}: ${confusionText(index, pair.a, pair.b)}.`);
    lines.push(`Concepts they share (cosine of the concept directions, rank by importance in brackets):`);
    for (const m of pair.matches.slice(0, TOP)) {
      lines.push(
        `  ${name(a)} concept ${m.a} (#${ba.concepts[m.a].rank + 1}) ~ ${name(b)} concept ${m.b} (#${bb.concepts[m.b].rank + 1}): ${m.cosine.toFixed(3)}`,
      );
    }
  }
  lines.push(`Results: ${dir} (one run folder per class, and classes.json)`);
  return lines.join('\n') + '\n';
}

/**
 * Horizontal importance bars made of ordinary elements (not a canvas), so each bar has text that
 * screen readers, high-contrast themes and text search all see.
 */
import type { ConceptEntry } from '../src/protocol';
import { h, safeColor, swatch } from './dom';
import { num, percent } from './format';
import type { ConceptNamer } from './names';

export interface Bar {
  concept: ConceptEntry;
  value: number;
  /** value / total, in [0, 1]. */
  share: number;
}

export interface BarListOptions {
  /** Accessible name of the list. */
  label: string;
  /** Id of an element that explains what the bars measure (aria-describedby). */
  describedBy?: string;
  names: ConceptNamer;
  /** What the bracketed value is, for the tooltip. */
  valueName: string;
  /** What a share is a share of, for the accessible text of each bar. */
  of: string;
  /** Makes each bar a button. */
  onPick?: (c: ConceptEntry) => void;
  pickHint?: string;
  compact?: boolean;
}

/** Bars in the given order; a full track is 100% of the total, as on the concept cards. */
export function barList(bars: Bar[], o: BarListOptions): HTMLElement {
  return h(
    'ol',
    { class: `bars${o.compact ? ' bars-compact' : ''}`, attrs: { 'aria-label': o.label, 'aria-describedby': o.describedBy } },
    ...bars.map((b) => {
      const c = b.concept.index;
      const width = Math.min(100, Math.max(0, 100 * b.share));
      const content = [
        swatch(b.concept.color),
        o.names.text(c, 'bar-name'),
        h(
          'span',
          { class: 'bar-track', attrs: { 'aria-hidden': 'true' } },
          h('span', { class: 'bar-fill', style: { width: `${width.toFixed(2)}%`, '--concept': safeColor(b.concept.color) } }),
        ),
        h('span', { class: 'bar-share' }, percent(b.share)),
        h('span', { class: 'bar-value' }, num(b.value)),
      ];
      const row = o.onPick
        ? h('button', { class: 'bar-row', attrs: { type: 'button', 'data-concept': c }, on: { click: () => o.onPick?.(b.concept) } }, ...content)
        : h('div', { class: 'bar-row', attrs: { role: 'group', 'data-concept': c } }, ...content);
      // The row's accessible text and tooltip name the concept: redrawn when it is renamed.
      o.names.bind(row, () => {
        const text = `${o.names.label(c)}: ${percent(b.share)} of ${o.of} (${o.valueName} ${num(b.value)})`;
        row.setAttribute('aria-label', o.pickHint ? `${text}. ${o.pickHint}` : text);
        row.title = o.names.given(c) ? `${text}\nRank #${o.names.rank(c)}` : text;
      });
      return h('li', null, row);
    }),
  );
}

/** Bars for per-concept values in concept order, sorted by value. */
export function barsFromValues(values: number[], byIndex: Map<number, ConceptEntry>): Bar[] {
  const total = values.reduce((s, v) => s + (Number.isFinite(v) && v > 0 ? v : 0), 0);
  return values
    .map((v, i) => ({ concept: byIndex.get(i), value: Number.isFinite(v) ? v : 0 }))
    .filter((b): b is { concept: ConceptEntry; value: number } => b.concept !== undefined)
    .map((b) => ({ ...b, share: total > 0 ? Math.max(0, b.value) / total : 0 }))
    .sort((a, b) => b.value - a.value || a.concept.index - b.concept.index);
}

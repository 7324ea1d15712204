/**
 * The fidelity check (docs/method.md §7): C-Deletion and C-Insertion against random concept orders,
 * as two small SVG line charts (drawn with DOM calls: the page's CSP allows no inline markup or
 * styles) with a table of the same values for screen readers and anyone who wants the numbers.
 */
import type { FidelityCurves } from '../src/protocol';
import { h } from './dom';
import { num } from './format';

const SVG = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 190;
const M = { left: 40, right: 10, top: 22, bottom: 34 };

function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** True when `f` holds two curves of the same length ≥ 2 and their baselines, all finite. */
export function usableFidelity(f: FidelityCurves | undefined): f is FidelityCurves {
  const ok = (a: unknown, n?: number): a is number[] =>
    Array.isArray(a) && a.length >= 2 && (n === undefined || a.length === n) && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!f || typeof f !== 'object' || !ok(f.deletion)) return false;
  const n = f.deletion.length;
  return (
    ok(f.insertion, n) &&
    !!f.random &&
    ok(f.random.deletion, n) &&
    ok(f.random.insertion, n) &&
    [f.deletionAuc, f.insertionAuc, f.random.deletionAuc, f.random.insertionAuc].every(Number.isFinite)
  );
}

export const FIDELITY_READING =
  'If the ranking is right, removing the top concepts lowers the class score faster than removing random ones, and adding them back raises it faster.';

export function renderFidelity(f: FidelityCurves, classLabel: string): HTMLElement {
  const r = f.deletion.length - 1;
  const all = [...f.deletion, ...f.insertion, ...f.random.deletion, ...f.random.insertion];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const orders = f.random.orders;
  const deletionBetter = f.deletionAuc < f.random.deletionAuc;
  const insertionBetter = f.insertionAuc > f.random.insertionAuc;

  const panel = (kind: 'deletion' | 'insertion'): HTMLElement => {
    const ranked = kind === 'deletion' ? f.deletion : f.insertion;
    const random = kind === 'deletion' ? f.random.deletion : f.random.insertion;
    const auc = kind === 'deletion' ? f.deletionAuc : f.insertionAuc;
    const randomAuc = kind === 'deletion' ? f.random.deletionAuc : f.random.insertionAuc;
    const better = kind === 'deletion' ? deletionBetter : insertionBetter;
    const title = kind === 'deletion' ? 'Removing the top concepts' : 'Adding the top concepts';
    const xLabel = kind === 'deletion' ? 'concepts removed' : 'concepts added';
    const verdict =
      kind === 'deletion'
        ? better
          ? 'falls faster than with random orders'
          : 'does not fall faster than with random orders'
        : better
          ? 'rises faster than with random orders'
          : 'does not rise faster than with random orders';
    const summary = `${title}: the ${classLabel} score goes from ${num(ranked[0])} to ${num(ranked[r])} and ${verdict}. Area ${num(auc)}, random orders ${num(randomAuc)} (${kind === 'deletion' ? 'smaller' : 'larger'} is better).`;
    const titleId = `fidelity-${kind}-title`;
    return h(
      'figure',
      { class: `fidelity-panel fidelity-${kind}`, attrs: { 'data-kind': kind } },
      h('figcaption', { attrs: { id: titleId } }, title),
      chart(ranked, random, lo, hi, r, xLabel, summary),
      h(
        'p',
        { class: `fidelity-verdict ${better ? 'verdict-good' : 'verdict-bad'}` },
        h('span', { class: 'verdict-mark', attrs: { 'aria-hidden': 'true' } }, better ? '✓' : '✗'),
        ` The score ${verdict}.`,
      ),
      h(
        'p',
        {
          class: 'fidelity-area muted',
          attrs: {
            title: `Area under the curve (trapezoids, x from 0 to 1), in logits; ${kind === 'deletion' ? 'a smaller area means the score falls faster' : 'a larger area means the score rises faster'}.`,
          },
        },
        `Area ${num(auc)} · random ${num(randomAuc)} (${kind === 'deletion' ? 'smaller' : 'larger'} is better)`,
      ),
    );
  };

  const legend = h(
    'p',
    { class: 'fidelity-legend', attrs: { 'aria-hidden': 'true' } },
    h('span', { class: 'legend-item' }, legendLine('ranked'), ' concepts by importance'),
    h('span', { class: 'legend-item' }, legendLine('random'), ` random orders (mean of ${orders})`),
  );

  return h('div', { class: 'fidelity' }, legend, h('div', { class: 'fidelity-panels' }, panel('deletion'), panel('insertion')), table(f, classLabel));
}

function legendLine(kind: 'ranked' | 'random'): SVGElement {
  return s(
    'svg',
    { class: 'legend-swatch', width: 26, height: 10, viewBox: '0 0 26 10', 'aria-hidden': 'true' },
    s('line', { class: `curve curve-${kind}`, x1: 1, y1: 5, x2: 25, y2: 5 }),
  );
}

function chart(ranked: number[], random: number[], lo: number, hi: number, r: number, xLabel: string, summary: string): SVGElement {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (k: number) => M.left + (r > 0 ? (pw * k) / r : 0);
  const y = (v: number) => M.top + ph * (1 - (v - lo) / (hi - lo));
  const points = (vals: number[]) => vals.map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(' ');

  const svg = s('svg', { class: 'fidelity-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, preserveAspectRatio: 'xMidYMid meet' });
  const axes = s('g', { class: 'axes', 'aria-hidden': 'true' });
  // y: three ticks (bottom, middle, top of the data) and the zero line when it is in range.
  const ticks = [lo + (hi - lo) * 0.06, (lo + hi) / 2, hi - (hi - lo) * 0.06];
  for (const t of ticks) {
    axes.append(s('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }));
    axes.append(s('text', { class: 'tick', x: M.left - 4, y: y(t) + 3.5, 'text-anchor': 'end' }, num(t)));
  }
  if (lo < 0 && hi > 0) axes.append(s('line', { class: 'zero', x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  axes.append(s('line', { class: 'axis', x1: M.left, x2: M.left, y1: M.top, y2: M.top + ph }));
  axes.append(s('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: M.top + ph, y2: M.top + ph }));
  const xTicks = r <= 12 ? Array.from({ length: r + 1 }, (_, k) => k) : [0, Math.round(r / 4), Math.round(r / 2), Math.round((3 * r) / 4), r];
  for (const k of xTicks) {
    axes.append(s('line', { class: 'axis', x1: x(k), x2: x(k), y1: M.top + ph, y2: M.top + ph + 3 }));
    axes.append(s('text', { class: 'tick', x: x(k), y: M.top + ph + 13, 'text-anchor': 'middle' }, String(k)));
  }
  axes.append(s('text', { class: 'axis-label', x: M.left + pw / 2, y: H - 4, 'text-anchor': 'middle' }, xLabel));
  axes.append(s('text', { class: 'axis-label', x: 2, y: 10, 'text-anchor': 'start' }, 'class logit'));
  svg.append(axes);
  svg.append(s('polyline', { class: 'curve curve-random', points: points(random), 'data-curve': 'random' }));
  svg.append(s('polyline', { class: 'curve curve-ranked', points: points(ranked), 'data-curve': 'ranked' }));
  const dots = s('g', { class: 'dots' });
  ranked.forEach((v, k) => dots.append(s('circle', { class: 'dot', cx: x(k), cy: y(v), r: 2.2 })));
  svg.append(dots);
  return svg;
}

/** The curves' values, one row per k, in a disclosure: the text alternative of the charts. */
function table(f: FidelityCurves, classLabel: string): HTMLElement {
  const r = f.deletion.length - 1;
  const rows = Array.from({ length: r + 1 }, (_, k) =>
    h(
      'tr',
      null,
      h('th', { attrs: { scope: 'row' } }, String(k)),
      ...[f.deletion[k], f.random.deletion[k], f.insertion[k], f.random.insertion[k]].map((v) => h('td', null, num(v))),
    ),
  );
  return h(
    'details',
    { class: 'fidelity-table' },
    h('summary', null, 'The curves as a table'),
    h(
      'table',
      null,
      h(
        'caption',
        null,
        `The ${classLabel} score (class logit, mean over the images) with k concepts removed or added, in importance order and in random orders (mean of ${f.random.orders}).`,
      ),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { attrs: { scope: 'col' } }, 'k'),
          h('th', { attrs: { scope: 'col' } }, 'Removed, by importance'),
          h('th', { attrs: { scope: 'col' } }, 'Removed, random'),
          h('th', { attrs: { scope: 'col' } }, 'Added, by importance'),
          h('th', { attrs: { scope: 'col' } }, 'Added, random'),
        ),
      ),
      h('tbody', null, ...rows),
      h(
        'tfoot',
        null,
        h(
          'tr',
          null,
          h('th', { attrs: { scope: 'row' } }, 'Area'),
          ...[f.deletionAuc, f.random.deletionAuc, f.insertionAuc, f.random.insertionAuc].map((v) => h('td', null, num(v))),
        ),
      ),
    ),
  );
}

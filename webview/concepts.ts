/**
 * One card per concept, most important first: colour, rank, importance, and its top crops. Rendered a
 * page at a time like the image grid (a run with r = 100 concepts has 100 cards of crops).
 */
import type { ConceptEntry, CropEntry } from '../src/protocol';
import { button } from './components';
import { h, safeColor, swatch } from './dom';
import { conceptName, num, percent } from './format';
import type { ViewModel } from './view-model';

const PAGE = 12;

export interface ConceptActions {
  /** A crop was activated (click, Enter or Space). */
  openCrop(concept: ConceptEntry, crop: CropEntry): void;
  /** Show only this concept's maps in the image browser. */
  solo(concept: ConceptEntry): void;
}

export interface ConceptCards {
  element: HTMLElement;
  /** Renders the pages up to concept `index`'s card and returns that card. */
  reveal(index: number): HTMLElement | undefined;
}

export function renderConcepts(vm: ViewModel, actions: ConceptActions): ConceptCards {
  const topCounts = countTopConcept(vm);
  const grid = h('div', { class: 'concept-grid' });
  const more = button({ label: 'Show more', onClick: () => showMore() });
  let shown = 0;
  // Cards are appended, never re-rendered: focus and loaded crops stay where they are.
  const showUpTo = (n: number): void => {
    for (const c of vm.ordered.slice(shown, n)) grid.appendChild(card(vm, c, topCounts.get(c.index) ?? 0, actions));
    shown = Math.max(shown, Math.min(n, vm.ordered.length));
    const left = vm.ordered.length - shown;
    more.hidden = left <= 0;
    more.textContent = `Show ${Math.min(PAGE, left)} more (${left} not shown)`;
  };
  const cardOf = (index: number) => grid.querySelector<HTMLElement>(`.concept-card[data-concept="${index}"]`) ?? undefined;
  // Keyboard users continue from the first new card (the button they pressed may disappear).
  const showMore = (): void => {
    const first = vm.ordered[shown];
    showUpTo(shown + PAGE);
    if (first) cardOf(first.index)?.focus();
  };
  showUpTo(PAGE);
  return {
    element: h('div', { class: 'concept-list' }, grid, h('div', { class: 'more-row' }, more)),
    reveal(index) {
      const pos = vm.ordered.findIndex((c) => c.index === index);
      if (pos < 0) return undefined;
      if (pos >= shown) showUpTo(Math.ceil((pos + 1) / PAGE) * PAGE);
      return cardOf(index);
    },
  };
}

function card(vm: ViewModel, c: ConceptEntry, topIn: number, actions: ConceptActions): HTMLElement {
  const name = conceptName(c.index);
  const images = vm.bundle.images;
  const crops = c.crops.filter((k) => images[k.image] !== undefined);
  const headingId = `concept-${c.index}-title`;
  return h(
    'article',
    { class: 'concept-card', attrs: { id: `concept-${c.index}`, tabindex: -1, 'data-concept': c.index, 'aria-labelledby': headingId }, style: { '--concept': safeColor(c.color) } },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: 'rank', attrs: { title: 'Rank by importance' } }, `#${c.rank + 1}`),
      swatch(c.color, 'swatch-lg'),
      h('h3', { attrs: { id: headingId } }, name),
      h('span', { class: 'card-share', attrs: { title: 'Share of the total importance' } }, percent(c.share)),
    ),
    h('div', { class: 'share-track', attrs: { 'aria-hidden': 'true' } }, h('span', { class: 'share-fill', style: { width: `${Math.min(100, Math.max(0, c.share * 100)).toFixed(2)}%` } })),
    h(
      'p',
      { class: 'card-meta muted' },
      `importance ${num(c.importance)}`,
      images.length ? ` · most important in ${topIn} of ${images.length} images` : '',
    ),
    crops.length
      ? h(
          'ul',
          { class: 'crops', attrs: { 'aria-label': `Top crops of ${name}` } },
          ...crops.map((k, j) => {
            const path = images[k.image].path;
            const src = vm.url(k.file);
            const alt = `${name}, crop ${j + 1} from ${path}`;
            return h(
              'li',
              null,
              h(
                'button',
                {
                  class: 'crop',
                  attrs: { type: 'button', title: `${path}\npatch at (${k.x}, ${k.y}), ${k.size} px · coefficient ${num(k.coefficient)}\n${vm.post ? 'Open the image' : 'Show the image below'}`, 'data-image': k.image },
                  on: { click: () => actions.openCrop(c, k) },
                },
                h('img', { attrs: { src, alt, loading: 'lazy', decoding: 'async', draggable: 'false' } }),
              ),
            );
          }),
        )
      : h('p', { class: 'muted' }, 'No crops were kept for this concept.'),
    h('div', { class: 'card-actions' }, button({ label: 'Show only this concept', title: `Show only ${name}'s map on the images`, onClick: () => actions.solo(c) })),
  );
}

/** For each concept, the number of images where it has the highest per-image importance. */
function countTopConcept(vm: ViewModel): Map<number, number> {
  const counts = new Map<number, number>();
  for (const img of vm.bundle.images) {
    let best = -1;
    let bestValue = 0;
    img.importances?.forEach((v, i) => {
      if (Number.isFinite(v) && v > bestValue) {
        best = i;
        bestValue = v;
      }
    });
    if (best >= 0) counts.set(best, (counts.get(best) ?? 0) + 1);
  }
  return counts;
}

/**
 * Recursive sub-concepts on the page (docs/method.md §8): a concept card's "Refine…" action, the
 * sub-concepts of its refined runs nested in the card (importance share, top crops, a way to open the
 * refined run in its own panel), and, on a refined run's own page, the line saying what it refines.
 * Refined runs arrive with 'show' and again in 'children' when a refinement finishes.
 */
import type { ConceptEntry, RefinedRun, SubConcept } from '../src/protocol';
import { button } from './components';
import { h, replaceChildren, safeColor, swatch } from './dom';
import { num, percent, plural } from './format';
import type { ViewModel } from './view-model';

/** Sub-concepts shown per refined run in a card (the refined run's own page shows them all). */
const SHOWN = 8;

interface CardBinding {
  concept: number;
  section: HTMLElement;
  status: HTMLElement;
  action?: HTMLElement;
  label: () => string;
}

/** The refined runs of the page's run and the state of the refinements it started. */
export class Refinements {
  private children: RefinedRun[];
  private readonly running = new Set<number>();
  private readonly errors = new Map<number, string>();
  private readonly cards = new Map<number, CardBinding>();

  constructor(
    private readonly vm: () => ViewModel,
    children?: RefinedRun[],
  ) {
    this.children = Array.isArray(children) ? children : [];
  }

  /** The refined runs of concept c, newest first, with their index in the list the host sent. */
  of(c: number): { run: RefinedRun; index: number }[] {
    return this.children.flatMap((run, index) => (run.concept === c && Array.isArray(run.concepts) ? [{ run, index }] : []));
  }

  set(children: RefinedRun[]): void {
    this.children = Array.isArray(children) ? children : [];
    for (const b of this.cards.values()) this.render(b);
  }

  /** A refinement of concept c started or ended. */
  state(c: number, running: boolean, error?: string): void {
    if (running) this.running.add(c);
    else this.running.delete(c);
    if (error) this.errors.set(c, error);
    else this.errors.delete(c);
    const b = this.cards.get(c);
    if (b) this.render(b);
  }

  /**
   * The part of concept c's card that holds its sub-concepts, and the "Refine…" button (VS Code only).
   * `label` names the concept as the page does (its rank or the name given).
   */
  forCard(c: ConceptEntry, label: () => string): { section: HTMLElement; action?: HTMLElement; update: () => void } {
    const vm = this.vm();
    const action = vm.post
      ? button({
          label: 'Refine…',
          class: 'refine-btn',
          onClick: () => {
            if (this.running.has(c.index)) return;
            this.state(c.index, true);
            vm.post?.({ type: 'refineConcept', concept: c.index });
          },
        })
      : undefined;
    const status = h('p', { class: 'refine-status muted', attrs: { role: 'status', 'aria-live': 'polite' } });
    const section = h('div', { class: 'refinements', attrs: { 'data-concept': c.index } });
    const binding: CardBinding = { concept: c.index, section, status, action, label };
    this.cards.set(c.index, binding);
    this.render(binding);
    return { section, action, update: () => this.render(binding) };
  }

  /** Redraws one card's sub-concepts, status and button; `label` may have changed (a rename). */
  render(b: CardBinding): void {
    const vm = this.vm();
    const runs = this.of(b.concept);
    const running = this.running.has(b.concept);
    const error = this.errors.get(b.concept);
    const label = b.label();
    if (b.action) {
      b.action.textContent = running ? 'Refining…' : 'Refine…';
      b.action.toggleAttribute('disabled', running);
      b.action.setAttribute('aria-busy', String(running));
      b.action.title = `Refine ${label}: factorise the crops where it is strongest (at or above its 90th percentile) again at an earlier layer. Its sub-concepts appear in this card.`;
    }
    b.status.textContent = running ? `Refining ${label}…` : error ? `Refining failed: ${error}` : '';
    b.status.classList.toggle('refine-error', !running && !!error);
    b.status.hidden = !running && !error;
    replaceChildren(b.section, b.status, ...runs.map(({ run, index }) => refinement(vm, run, index, label)));
    b.section.hidden = b.status.hidden && runs.length === 0;
  }
}

function subName(s: SubConcept): string {
  return typeof s.name === 'string' && s.name ? s.name : `Sub-concept #${s.rank + 1}`;
}

/** One refined run in the card: where and from what it was made, its sub-concepts, and "Open". */
function refinement(vm: ViewModel, run: RefinedRun, index: number, parentLabel: string): HTMLElement {
  const subs = run.concepts.slice(0, SHOWN);
  const title = `Sub-concepts of ${parentLabel} at ${run.layer}`;
  const open = vm.post
    ? button({
        label: 'Open sub-concepts',
        class: 'open-child',
        title: `Open this refined run in its own panel: every sub-concept with its crops, maps and importances (it can be refined again there).`,
        onClick: () => vm.post?.({ type: 'openChild', child: index }),
      })
    : null;
  return h(
    'section',
    { class: 'refinement', attrs: { 'data-child': index, 'aria-label': title } },
    h(
      'h4',
      { class: 'strip-title' },
      'Sub-concepts at ',
      h('code', null, run.layer),
      h(
        'span',
        { class: 'strip-help muted' },
        ` from its ${plural(run.crops, 'strongest crop')} (coefficient ≥ ${num(run.threshold)}, the ${run.percentile}th percentile), factorised again, each crop whole`,
      ),
    ),
    h(
      'ol',
      { class: 'subconcepts', attrs: { 'aria-label': title } },
      ...subs.map((s) => {
        const name = subName(s);
        const crops = (Array.isArray(s.crops) ? s.crops : []).filter((k) => vm.url(`${run.path}/${k.file}`) !== undefined);
        return h(
          'li',
          { class: 'subconcept', attrs: { 'data-sub': s.index }, style: { '--concept': safeColor(s.color) } },
          h(
            'div',
            { class: 'sub-head' },
            swatch(s.color),
            h('span', { class: 'sub-name' }, name),
            h(
              'span',
              { class: 'sub-share', attrs: { title: `Share of the refined run's total importance (Sobol total order ${num(s.importance)})` } },
              percent(s.share),
            ),
          ),
          h(
            'ul',
            { class: 'crops sub-crops' },
            ...crops.map((k, j) =>
              h(
                'li',
                { class: 'tile' },
                h('img', {
                  class: 'sub-crop',
                  attrs: {
                    src: vm.url(`${run.path}/${k.file}`),
                    alt: `${name} of ${parentLabel}, crop ${j + 1}, coefficient ${num(k.coefficient)}`,
                    loading: 'lazy',
                    decoding: 'async',
                    draggable: 'false',
                  },
                }),
              ),
            ),
          ),
        );
      }),
    ),
    run.concepts.length > SHOWN ? h('p', { class: 'muted' }, `and ${plural(run.concepts.length - SHOWN, 'more sub-concept')} in the refined run`) : null,
    open ? h('div', { class: 'card-actions' }, open) : null,
  );
}

/** On a refined run's page: what it refines, and a way back to the parent run. */
export function renderLineage(vm: ViewModel): HTMLElement | null {
  const link = vm.bundle.parent;
  if (!link || typeof link !== 'object') return null;
  const what = vm.parentLabel ?? `concept ${link.concept} of its parent run`;
  const crops = Array.isArray(link.crops) ? link.crops.length : 0;
  return h(
    'section',
    { class: 'panel-section section-lineage', attrs: { 'aria-labelledby': 'lineage-title' } },
    h('h2', { attrs: { id: 'lineage-title' } }, 'Sub-concepts'),
    h(
      'p',
      { class: 'muted intro' },
      `This run refines ${what}: the ${plural(crops, 'crop')} where that concept's coefficient is at least ${num(link.threshold)} (its ${link.percentile}th percentile), each cut from its image and factorised whole at ${vm.bundle.layer.name}. Its concepts below are the sub-concepts, ranked by their importance for the same class.`,
    ),
    vm.post ? h('div', { class: 'card-actions' }, button({ label: 'Open the parent run', onClick: () => vm.post?.({ type: 'openParent' }) })) : null,
  );
}

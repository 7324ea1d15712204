/**
 * One card per concept, most important first: colour, name, importance, its top crops (crop scale) and
 * its top image regions (image scale) with how well the two agree. Rendered a page at a time like the
 * image grid (a run with r = 100 concepts has 100 cards of crops). In VS Code a concept can be named
 * from its card.
 */
import { cleanConceptName, MAX_CONCEPT_NAME, type ConceptEntry, type CropEntry } from '../src/protocol';
import { button } from './components';
import { h, safeColor, swatch } from './dom';
import { num, percent } from './format';
import type { ViewModel } from './view-model';

const PAGE = 12;

export interface ConceptActions {
  /** A crop or region was activated (click, Enter or Space). */
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

/** Scale agreement in words (docs/method.md §6.1), with the thresholds the page uses. */
export function agreementWords(rho: number): { level: 'high' | 'partial' | 'low'; text: string } {
  if (rho >= 0.5) return { level: 'high', text: 'Crops and maps agree' };
  if (rho >= 0.2) return { level: 'partial', text: 'Crops and maps partly agree' };
  return { level: 'low', text: 'This concept looks different at image scale: compare its crops with its regions' };
}

const AGREEMENT_HELP =
  "Scale agreement: Spearman's rank correlation, over every crop, between the crop's coefficient for this concept and its image-scale map under the crop (1: the crops show the concept where its map lies; 0 or below: unrelated).";

function card(vm: ViewModel, c: ConceptEntry, topIn: number, actions: ConceptActions): HTMLElement {
  const names = vm.names;
  const images = vm.bundle.images;
  const crops = tiles(vm, c.crops);
  const regions = tiles(vm, c.regions ?? []);
  const headingId = `concept-${c.index}-title`;
  const heading = h('h3', { attrs: { id: headingId } });
  const rankBadge = h('span', { class: 'rank', attrs: { title: 'Rank by importance (1 = most important)' } });
  const rename = vm.post ? renameControl(vm, c, heading) : undefined;

  const cropList = strip(vm, c, crops, 'crop', actions);
  const regionList = regions.length ? strip(vm, c, regions, 'region', actions) : undefined;
  const solo = button({ label: 'Show only this concept', onClick: () => actions.solo(c) });
  // Its sub-concepts (refined runs), nested below the strips, and "Refine…" beside "Show only" (webview/refine.ts).
  const refined = vm.refinements.forCard(c, () => names.label(c.index));
  const rho = c.scaleAgreement;
  const agreement =
    typeof rho === 'number' && Number.isFinite(rho)
      ? h(
          'p',
          { class: `agreement agreement-${agreementWords(rho).level}`, attrs: { title: `${AGREEMENT_HELP}\nThis concept: ${rho.toFixed(2)}.` } },
          h('span', { class: 'agreement-mark', attrs: { 'aria-hidden': 'true' } }),
          h('span', null, agreementWords(rho).text),
          h('span', { class: 'sr-only' }, ` (scale agreement ${rho.toFixed(2)}: ${AGREEMENT_HELP})`),
        )
      : null;

  const element = h(
    'article',
    {
      class: 'concept-card',
      attrs: { id: `concept-${c.index}`, tabindex: -1, 'data-concept': c.index, 'aria-labelledby': headingId },
      style: { '--concept': safeColor(c.color) },
    },
    h(
      'div',
      { class: 'card-head' },
      swatch(c.color, 'swatch-lg'),
      h('div', { class: 'card-title' }, heading, rename?.editor),
      rankBadge,
      rename?.button,
      h('span', { class: 'card-share', attrs: { title: 'Share of the total importance' } }, percent(c.share)),
    ),
    h(
      'div',
      { class: 'share-track', attrs: { 'aria-hidden': 'true' } },
      h('span', { class: 'share-fill', style: { width: `${Math.min(100, Math.max(0, c.share * 100)).toFixed(2)}%` } }),
    ),
    h('p', { class: 'card-meta muted' }, `importance ${num(c.importance)}`, images.length ? ` · most important in ${topIn} of ${images.length} images` : ''),
    agreement,
    h(
      'div',
      { class: 'strips' },
      stripBlock(
        'Top crops',
        `where the concept is strongest among all ${vm.bundle.settings?.patchSize ?? ''} px crops`,
        cropList,
        crops.length ? undefined : 'No crops were kept for this concept.',
      ),
      regionList ? stripBlock('Top image regions', 'where its map is strongest in whole images, one region per image', regionList) : null,
    ),
    refined.section,
    h('div', { class: 'card-actions' }, solo, refined.action),
  );

  // Everything that names the concept, redrawn when the names change.
  names.bind(element, () => {
    const label = names.label(c.index);
    const named = names.given(c.index) !== undefined;
    heading.textContent = label;
    heading.title = `Rank #${names.rank(c.index)} of ${vm.ordered.length} by importance (concept ${c.index} in results.json)`;
    rankBadge.textContent = `#${names.rank(c.index)}`;
    rankBadge.hidden = !named;
    solo.title = `Show only ${label}'s map on the images`;
    cropList?.setAttribute('aria-label', `Top crops of ${label}`);
    regionList?.setAttribute('aria-label', `Top image regions of ${label}`);
    for (const img of element.querySelectorAll<HTMLImageElement>('img[data-alt]')) img.alt = `${label}, ${img.dataset.alt}`;
    rename?.update(label, named);
    refined.update();
  });
  return element;
}

/** Crops or regions whose image exists and whose picture can be shown. */
function tiles(vm: ViewModel, list: CropEntry[]): CropEntry[] {
  return list.filter((k) => vm.bundle.images[k.image] !== undefined && vm.url(k.file) !== undefined);
}

function stripBlock(title: string, help: string, list: HTMLElement | undefined, empty?: string): HTMLElement {
  return h(
    'div',
    { class: 'strip' },
    h('h4', { class: 'strip-title', attrs: { title: help } }, title, h('span', { class: 'strip-help muted' }, ` ${help}`)),
    list ?? h('p', { class: 'muted' }, empty ?? ''),
  );
}

function strip(vm: ViewModel, c: ConceptEntry, list: CropEntry[], kind: 'crop' | 'region', actions: ConceptActions): HTMLElement | undefined {
  if (!list.length) return undefined;
  const images = vm.bundle.images;
  return h(
    'ul',
    { class: `crops ${kind}s` },
    ...list.map((k, j) => {
      const path = images[k.image].path;
      const where = kind === 'crop' ? `patch at (${k.x}, ${k.y}), ${k.size} px` : `region at (${k.x}, ${k.y}), ${k.size} px`;
      const coefficient = kind === 'crop' ? 'crop coefficient' : 'image-scale coefficient';
      return h(
        'li',
        { class: 'tile' },
        h(
          'button',
          {
            class: 'crop',
            attrs: {
              type: 'button',
              title: `${path}\n${where} · ${coefficient} ${num(k.coefficient)}\n${vm.post ? 'Open the image' : 'Show the image below'}`,
              'data-image': k.image,
            },
            on: { click: () => actions.openCrop(c, k) },
          },
          h('img', {
            attrs: {
              src: vm.url(k.file),
              alt: '',
              'data-alt': `${kind} ${j + 1} from ${path}, ${coefficient} ${num(k.coefficient)}`,
              loading: 'lazy',
              decoding: 'async',
              draggable: 'false',
            },
          }),
        ),
        h('span', { class: 'tile-coef', attrs: { 'aria-hidden': 'true' } }, num(k.coefficient)),
      );
    }),
  );
}

/**
 * "Name…" on a card (VS Code only): an inline text field over the title. Enter saves, Escape cancels,
 * leaving the field saves; an empty name removes it. The page shows the new name when the host
 * answers with 'names' (so a name that could not be saved is never shown).
 */
function renameControl(
  vm: ViewModel,
  c: ConceptEntry,
  heading: HTMLElement,
): { button: HTMLElement; editor: HTMLElement; update(label: string, named: boolean): void } {
  const hintId = `concept-${c.index}-name-hint`;
  const HINT = 'Enter saves · Escape cancels · empty removes the name';
  const input = h('input', {
    class: 'text-field name-input',
    attrs: { type: 'text', maxlength: MAX_CONCEPT_NAME, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': hintId },
  });
  const hint = h('p', { class: 'name-hint muted', attrs: { id: hintId } }, HINT);
  const editor = h('div', { class: 'name-editor', attrs: { hidden: true } }, input, hint);
  const btn = h('button', { class: 'name-btn', attrs: { type: 'button' } }, h('span', { attrs: { 'aria-hidden': 'true' } }, '✎'));
  let editing = false;

  const start = (): void => {
    editing = true;
    input.value = vm.names.given(c.index) ?? '';
    input.removeAttribute('aria-invalid');
    hint.textContent = HINT;
    heading.hidden = true;
    editor.hidden = false;
    input.focus();
    input.select();
  };
  const finish = (save: boolean, refocus: boolean): void => {
    if (!editing) return;
    if (save) {
      const clean = cleanConceptName(input.value);
      if (clean === undefined) {
        input.setAttribute('aria-invalid', 'true');
        hint.textContent = `At most ${MAX_CONCEPT_NAME} characters, without control characters.`;
        if (!refocus) return;
        input.focus();
        return;
      }
      if (clean !== (vm.names.given(c.index) ?? '')) vm.post?.({ type: 'renameConcept', concept: c.index, name: clean });
    }
    editing = false;
    editor.hidden = true;
    heading.hidden = false;
    if (refocus) btn.focus();
  };
  btn.addEventListener('click', start);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      finish(true, true);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      finish(false, true);
    }
  });
  input.addEventListener('blur', () => finish(true, false));

  return {
    button: btn,
    editor,
    update(label, named) {
      btn.setAttribute('aria-label', `${named ? 'Rename' : 'Name'} ${label}…`);
      btn.title = `${named ? 'Rename' : 'Name'}… Give ${named ? label : 'this concept'} a name: it is shown everywhere on this page and in the HTML report, and kept with the run.`;
      input.setAttribute('aria-label', `Name of ${vm.names.unnamed(c.index)}`);
      input.placeholder = vm.names.unnamed(c.index);
    },
  };
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

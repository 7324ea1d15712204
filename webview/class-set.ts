/**
 * A run that is one class of a set (several classes explained together, sharing the model): the
 * header's class selector, which asks the host to show another class in this panel, and the "Shared
 * concepts" section, which puts the concepts of two classes side by side, matched by the cosine of
 * their directions in the layer's channel space. The pair shown first is the one the model confuses most.
 */
import { cleanConceptName, type ClassPair, type ClassSetView, type ConceptEntry, type ConceptMatch, type FromWebview } from '../src/protocol';
import { h, replaceChildren, safeColor, swatch } from './dom';
import { num, percent, plural } from './format';
import { runFileUrl, type ViewModel } from './view-model';

/** Crops shown per concept in a matched pair. */
const CROPS = 5;

type SetClass = ClassSetView['index']['classes'][number];
const className = (c: SetClass | undefined): string => (c ? (c.label ?? `class ${c.index}`) : '?');

/** The class selector of the header (VS Code only: the host switches the panel to the chosen class). */
export function classSelector(set: ClassSetView, post: (m: FromWebview) => void): HTMLElement {
  const classes = set.index.classes;
  const select = h(
    'select',
    { class: 'select class-select', attrs: { id: 'class-select', 'aria-describedby': 'class-select-help' } },
    ...classes.map((c, k) => h('option', { attrs: { value: k, selected: k === set.current } }, `${className(c)} (${plural(c.images, 'image')})`)),
  );
  select.addEventListener('change', () => {
    const position = Number(select.value);
    if (Number.isInteger(position) && position !== set.current) {
      select.disabled = true;
      post({ type: 'showClass', position });
      // The host answers with the class's results (a new page); if it cannot, the selector comes back.
      setTimeout(() => {
        select.disabled = false;
        select.value = String(set.current);
      }, 5000);
    }
  });
  return h(
    'div',
    { class: 'class-switch' },
    h('label', { attrs: { for: 'class-select' } }, 'Class'),
    select,
    h(
      'span',
      { class: 'sr-only', attrs: { id: 'class-select-help' } },
      `One of ${classes.length} classes explained together with the same model; choose another to show its results here.`,
    ),
  );
}

/** The pair to show first: the saved one if it is valid, else the one the model confuses most. */
export function initialPair(set: ClassSetView, saved?: [number, number]): [number, number] {
  const n = set.index.classes.length;
  const ok = (p?: [number, number]) => !!p && p.length === 2 && p.every((x) => Number.isInteger(x) && x >= 0 && x < n) && p[0] !== p[1];
  if (ok(saved)) return saved!;
  const mc = set.index.mostConfused;
  return mc ? [mc.a, mc.b] : [0, Math.min(1, n - 1)];
}

/** The stored pair (a < b) seen from `first` then `second`: cosines and matches in that order. */
function oriented(set: ClassSetView, first: number, second: number): { pair: ClassPair; matches: ConceptMatch[] } | undefined {
  const [a, b] = first < second ? [first, second] : [second, first];
  const pair = set.index.pairs.find((p) => p.a === a && p.b === b);
  if (!pair) return undefined;
  const matches = first < second ? pair.matches : pair.matches.map((m) => ({ a: m.b, b: m.a, cosine: m.cosine }));
  return { pair, matches };
}

/** How the model confuses the two classes, in words; the basis of the counts says what they count. */
export function confusionWords(set: ClassSetView, a: number, b: number): string {
  const { counts, totals, basis } = set.index.confusion;
  const [ca, cb] = [set.index.classes[a], set.index.classes[b]];
  if (basis === 'folders') {
    return `The model predicts ${counts[a][b]} of the ${totals[a]} ${className(ca)} images as ${className(cb)}, and ${counts[b][a]} of the ${totals[b]} ${className(cb)} images as ${className(ca)}.`;
  }
  return `Of the ${totals[a]} images predicted as ${className(ca)}, ${counts[a][b]} have ${className(cb)} as their second most likely class; of the ${totals[b]} predicted as ${className(cb)}, ${counts[b][a]} have ${className(ca)}.`;
}

/**
 * "Shared concepts": two class selectors (the pair the model confuses most first), the sentence on how
 * often the model confuses them, and their concepts matched one to one, most similar first.
 */
export function renderSharedConcepts(vm: ViewModel, set: ClassSetView, pair: [number, number], onPair: (p: [number, number]) => void): HTMLElement {
  const classes = set.index.classes;
  let [first, second] = pair;
  const pick = (id: string, value: number, label: string) =>
    h(
      'select',
      { class: 'select pair-select', attrs: { id, 'aria-label': label } },
      ...classes.map((c, k) => h('option', { attrs: { value: k, selected: k === value } }, className(c))),
    );
  const selectA = pick('pair-a', first, 'First class to compare');
  const selectB = pick('pair-b', second, 'Second class to compare');
  const confusion = h('p', { class: 'pair-confusion' });
  const list = h('ol', { class: 'shared-pairs', attrs: { 'aria-label': 'Matched concepts, most similar first' } });
  const draw = () => {
    selectA.value = String(first);
    selectB.value = String(second);
    const mc = set.index.mostConfused;
    const most = mc && ((mc.a === first && mc.b === second) || (mc.a === second && mc.b === first));
    confusion.textContent = `${confusionWords(set, first, second)}${most && classes.length > 2 ? ' No other pair of these classes is confused as often.' : ''}`;
    const o = oriented(set, first, second);
    replaceChildren(list, ...(o ? o.matches.map((m) => matchRow(vm, set, first, second, m)) : []));
  };
  const change = (which: 'a' | 'b') => {
    const a = Number(selectA.value);
    const b = Number(selectB.value);
    // The same class on both sides: the other side takes the class just replaced.
    if (a !== b) [first, second] = [a, b];
    else if (which === 'a') [first, second] = [a, first];
    else [first, second] = [second, b];
    onPair([first, second]);
    draw();
  };
  selectA.addEventListener('change', () => change('a'));
  selectB.addEventListener('change', () => change('b'));
  draw();
  return h(
    'div',
    { class: 'shared-concepts' },
    h('div', { class: 'pair-pick' }, h('label', { attrs: { for: 'pair-a' } }, 'Compare'), selectA, h('label', { attrs: { for: 'pair-b' } }, 'with'), selectB),
    confusion,
    list,
    confusionTable(set),
  );
}

/** One matched pair: each concept with its name and top crops, and the cosine between them. */
function matchRow(vm: ViewModel, set: ClassSetView, first: number, second: number, m: ConceptMatch): HTMLElement {
  const left = side(vm, set, first, m.a);
  const right = side(vm, set, second, m.b);
  const cos = Math.max(0, Math.min(1, m.cosine));
  return h(
    'li',
    { class: 'shared-pair', attrs: { 'data-a': m.a, 'data-b': m.b, 'data-cosine': m.cosine.toFixed(6) } },
    left,
    h(
      'div',
      {
        class: 'shared-cosine',
        attrs: { title: "Cosine of the two concepts' directions in the layer's channels (rows of W, normalised): 1 = the same direction, 0 = unrelated." },
      },
      h('span', { class: 'cosine-value' }, m.cosine.toFixed(2)),
      h(
        'span',
        { class: 'cosine-track', attrs: { 'aria-hidden': 'true' } },
        h('span', { class: 'cosine-fill', style: { width: `${(100 * cos).toFixed(1)}%` } }),
      ),
      h('span', { class: 'sr-only' }, ` cosine ${m.cosine.toFixed(3)}`),
    ),
    right,
  );
}

/** A concept of class `k` of the set: swatch, class, name (live for the class shown), importance, crops. */
function side(vm: ViewModel, set: ClassSetView, k: number, concept: number): HTMLElement {
  const run = set.runs[k];
  const c: ConceptEntry | undefined = run?.concepts.find((x) => x.index === concept);
  const cls = className(set.index.classes[k]);
  if (!run || !c) return h('div', { class: 'shared-side muted' }, `${cls}: concept ${concept} (not in its results)`);
  const rank = run.ranking.indexOf(concept) + 1;
  const given =
    run.names && Object.prototype.hasOwnProperty.call(run.names, String(concept)) ? cleanConceptName(String(run.names[String(concept)])) : undefined;
  const title = h('span', { class: 'shared-name' });
  // The rank beside a name the user gave (a name alone does not say it).
  const rankNote = h('span', { class: 'muted shared-rank' });
  const named = () => (k === set.current ? vm.names.given(concept) !== undefined : !!given);
  const label = () => (k === set.current ? vm.names.label(concept) : given || `Concept #${rank}`);
  const crops = c.crops
    .slice(0, CROPS)
    .map((crop) => runFileUrl(run.baseUrl, crop.file))
    .filter((u): u is string => u !== undefined);
  const element = h(
    'div',
    { class: 'shared-side', style: { '--concept': safeColor(c.color) }, attrs: { 'data-class': k } },
    h(
      'div',
      { class: 'shared-head' },
      swatch(c.color),
      h('span', { class: 'shared-class' }, cls),
      title,
      rankNote,
      h(
        'span',
        { class: 'muted shared-share', attrs: { title: `Importance ${num(c.importance)} (Sobol total order)` } },
        `${percent(c.share)} of the importance`,
      ),
    ),
    h(
      'div',
      { class: `shared-crops${vm.pixelated ? ' pixelated' : ''}` },
      ...crops.map((src, j) => h('img', { attrs: { src, alt: '', 'data-alt': `crop ${j + 1}`, loading: 'lazy', decoding: 'async', draggable: 'false' } })),
    ),
  );
  const apply = () => {
    const text = label();
    title.textContent = text;
    rankNote.textContent = named() ? `#${rank}` : '';
    for (const img of element.querySelectorAll<HTMLImageElement>('img[data-alt]')) img.alt = `${cls}, ${text}, ${img.dataset.alt}`;
  };
  // The shown class's names change live (a rename on its card).
  if (k === set.current) vm.names.bind(element, apply);
  else apply();
  return element;
}

/** The whole set's confusion as a table (rows: the classes' images; columns: what the model made of them). */
function confusionTable(set: ClassSetView): HTMLElement {
  const { counts, other, totals, basis } = set.index.confusion;
  const classes = set.index.classes;
  const caption =
    basis === 'folders'
      ? 'Rows: the images of each class (its folder). Columns: the class the model predicts for them.'
      : "Rows: the images the model predicts as each class. Columns: their second most likely class (the images' own classes are unknown).";
  return h(
    'details',
    { class: 'confusion' },
    h('summary', null, 'Confusion between the classes'),
    h(
      'table',
      { class: 'confusion-table' },
      h('caption', { class: 'muted' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { attrs: { scope: 'col' } }, ''),
          ...classes.map((c) => h('th', { attrs: { scope: 'col' } }, className(c))),
          h('th', { attrs: { scope: 'col' } }, 'other'),
          h('th', { attrs: { scope: 'col' } }, 'images'),
        ),
      ),
      h(
        'tbody',
        null,
        ...classes.map((c, a) =>
          h(
            'tr',
            null,
            h('th', { attrs: { scope: 'row' } }, className(c)),
            ...counts[a].map((v, b) => h('td', { class: a === b ? 'diagonal' : undefined }, String(v))),
            h('td', null, String(other[a])),
            h('td', null, String(totals[a])),
          ),
        ),
      ),
    ),
  );
}

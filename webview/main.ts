/**
 * Entry of the results page. Two hosts:
 * - a VS Code webview (`acquireVsCodeApi` exists): post 'ready', render each 'show', keep the view in
 *   setState so a reload restores it, and ask the extension host for actions;
 * - the standalone HTML report (`window.__CRAFT_REPORT__` holds the BundleView and the PNGs as data:
 *   URIs): render once, no host actions.
 */
import { runClassName, type BundleView, type FromWebview, type ToWebview, type WebviewState } from '../src/protocol';
import { barList } from './bars';
import { ImageBrowser, initialBrowserState, type BrowserState } from './browser';
import { classSelector, initialPair, renderSharedConcepts } from './class-set';
import { initComponents } from './components';
import { renderConcepts } from './concepts';
import { h, replaceChildren } from './dom';
import { FIDELITY_READING, renderFidelity, usableFidelity } from './fidelity';
import { renderHeader } from './header';
import { renderLineage } from './refine';
import { makeViewModel, type Mode, type ReportData, type ViewModel } from './view-model';
import { receiveWhatIf } from './whatif';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: WebviewState): void;
}

declare global {
  interface Window {
    __CRAFT_REPORT__?: ReportData;
    acquireVsCodeApi?: () => VsCodeApi;
  }
}

interface StateStore {
  get(): WebviewState | undefined;
  set(s: WebviewState): void;
}

function boot(): void {
  const root = document.getElementById('craft-root') ?? document.body.appendChild(h('main', { attrs: { id: 'craft-root' } }));
  root.classList.add('craft');
  const report = window.__CRAFT_REPORT__;
  if (report !== undefined) {
    document.documentElement.classList.add('craft-report');
    followColorScheme();
    initComponents(true);
    let memory: WebviewState | undefined;
    show(root, report, 'report', { get: () => memory, set: (s) => (memory = s) });
    return;
  }
  if (typeof window.acquireVsCodeApi === 'function') {
    const api = window.acquireVsCodeApi();
    initComponents(true);
    const store: StateStore = { get: () => asState(api.getState()), set: (s) => api.setState(s) };
    replaceChildren(root, h('p', { class: 'muted loading', attrs: { role: 'status' } }, 'Loading results…'));
    let current: ViewModel | undefined;
    window.addEventListener('message', (e: MessageEvent) => {
      const m = e.data as ToWebview | undefined;
      if (!m || typeof m !== 'object') return;
      if (m.type === 'show' && isBundleView(m.view)) current = show(root, m.view, 'vscode', store, (msg) => api.postMessage(msg));
      else if (m.type === 'error' && typeof m.message === 'string') {
        current = undefined;
        showError(root, m.message);
      } else if (m.type === 'names' && typeof m.names === 'object' && m.names !== null) current?.names.set(m.names);
      else if (m.type === 'whatIfAnswer' && Number.isInteger(m.id)) receiveWhatIf(m);
      else if (m.type === 'children' && Array.isArray(m.children)) current?.refinements.set(m.children);
      else if (m.type === 'refining' && Number.isInteger(m.concept))
        current?.refinements.state(m.concept, m.running === true, typeof m.error === 'string' ? m.error : undefined);
    });
    api.postMessage({ type: 'ready' });
    return;
  }
  initComponents(false);
  showError(root, 'No results to show: this page is opened by the CRAFT extension or embedded in a CRAFT report.');
}

function show(root: HTMLElement, view: ReportData, mode: Mode, store: StateStore, post?: (m: FromWebview) => void): ViewModel | undefined {
  try {
    return render(root, view, mode, store, post);
  } catch (e) {
    showError(root, `These results could not be displayed: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

function render(root: HTMLElement, view: ReportData, mode: Mode, store: StateStore, post?: (m: FromWebview) => void): ViewModel {
  const vm = makeViewModel(view, mode, post);
  const b = vm.bundle;
  const label = runClassName(b);
  document.title = `CRAFT · ${label}`;

  const saved = store.get();
  const state: BrowserState = initialBrowserState();
  if (saved && saved.runDir === view.runDir) {
    if (Number.isInteger(saved.selectedImage)) state.selected = saved.selectedImage as number;
    if (typeof saved.opacity === 'number' && saved.opacity >= 0 && saved.opacity <= 1) state.opacity = saved.opacity;
    if (Array.isArray(saved.hiddenConcepts)) state.hidden = new Set(saved.hiddenConcepts.filter((c) => Number.isInteger(c)));
    // A state saved before the overlay modes: its hidden concepts were a custom choice.
    if (saved.overlay === 'top' || saved.overlay === 'all' || saved.overlay === 'none' || saved.overlay === 'custom') state.overlay = saved.overlay;
    else if (state.hidden.size) state.overlay = 'custom';
    if (saved.mapScale === 'image' || saved.mapScale === 'crop') state.mapScale = saved.mapScale;
  }
  // A run of a set: the classes compared in "Shared concepts" (kept across a class switch and a reload).
  const set = view.set && view.set.index.classes.length > 1 ? view.set : undefined;
  let pair = set ? initialPair(set, saved?.pair) : undefined;
  const save = () =>
    store.set({
      runDir: view.runDir,
      selectedImage: state.selected,
      opacity: state.opacity,
      overlay: state.overlay,
      hiddenConcepts: [...state.hidden].sort((a, c) => a - c),
      mapScale: state.mapScale,
      pair,
    });

  const browser = new ImageBrowser(vm, state, save);
  const concepts = renderConcepts(vm, {
    openCrop: (_concept, crop) => {
      if (post) post({ type: 'openImage', image: crop.image });
      // In the report there is no editor to open: show the image in the browser instead.
      browser.select(crop.image, { crop, scroll: !post });
    },
    solo: (c) => browser.solo(c),
  });
  const className = `“${vm.classLabel}”`;
  const importanceHelp = h(
    'p',
    { class: 'muted intro', attrs: { id: 'importance-help' } },
    `How much each concept drives the model's ${className} score. Importance is Sobol total order: the share of the class score's variance this concept accounts for, alone or with others, when concepts are switched on and off at random. Bars show each concept's share of the total.`,
  );
  const chart = barList(
    vm.ordered.map((c) => ({ concept: c, value: c.importance, share: c.share })),
    {
      label: 'Concept importance, share of the total',
      describedBy: 'importance-help',
      of: 'the total importance',
      names: vm.names,
      valueName: 'Sobol total order',
      onPick: (c) => {
        const card = concepts.reveal(c.index);
        card?.scrollIntoView({ block: 'start', behavior: 'smooth' });
        card?.focus({ preventScroll: true });
      },
      pickHint: 'Go to its card',
    },
  );
  const fidelity = usableFidelity(b.fidelity)
    ? section(
        'fidelity',
        'Does the ranking hold?',
        `${FIDELITY_READING} Concepts are removed from (or added to) each image's activations in importance order; the score is the model's ${className} logit, averaged over the images.`,
        renderFidelity(b.fidelity, vm.classLabel),
      )
    : null;
  const cropsIntro = `Each concept's top crops (the ${b.settings?.patchSize ?? ''} px image patches where it is strongest) and its top image regions (where its map is strongest in whole images). When the two look alike the concept is the same at both scales.`;
  const images = b.images[0]?.maps
    ? "Each image with the concept attribution maps of its own top concepts overlaid, the model's prediction, and how much each concept matters for it."
    : "Each image, the model's prediction, and how much each concept matters for it.";

  const shared = set
    ? section(
        'shared',
        'Shared concepts',
        `The ${set.index.classes.length} classes of this set were explained with the same model and layer, so their concepts can be compared: two concepts whose directions in the layer's channels are alike (cosine near 1) are the same kind of feature found in both classes. Each concept of one class is paired with the most similar free concept of the other; the pair the model confuses most is shown first.`,
        renderSharedConcepts(vm, set, pair!, (p) => {
          pair = p;
          save();
        }),
      )
    : null;

  replaceChildren(
    root,
    renderHeader(vm, set && post ? classSelector(set, post) : null),
    renderLineage(vm),
    h(
      'section',
      { class: 'panel-section section-importance', attrs: { 'aria-labelledby': 'importance-title' } },
      h('h2', { attrs: { id: 'importance-title' } }, 'Concept importance'),
      importanceHelp,
      chart,
    ),
    fidelity,
    section(
      'concepts',
      'Concepts',
      `${cropsIntro} ${post ? 'Activate a picture to open its source image; name a concept with the ✎ beside its title; Refine… splits a concept into sub-concepts found at an earlier layer.' : 'Activate a picture to show its source image below.'}`,
      concepts.element,
    ),
    shared,
    section('images', 'Images', images, browser.element),
  );
  save();
  return vm;
}

function section(id: string, title: string, intro: string, ...content: HTMLElement[]): HTMLElement {
  return h(
    'section',
    { class: `panel-section section-${id}`, attrs: { 'aria-labelledby': `${id}-title` } },
    h('h2', { attrs: { id: `${id}-title` } }, title),
    h('p', { class: 'muted intro' }, intro),
    ...content,
  );
}

function showError(root: HTMLElement, message: string): void {
  replaceChildren(root, h('div', { class: 'notice notice-error', attrs: { role: 'alert' } }, h('strong', null, 'CRAFT'), h('p', null, message)));
}

function isBundleView(v: unknown): v is BundleView {
  const x = v as BundleView | undefined;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.bundle === 'object' &&
    x.bundle !== null &&
    Array.isArray(x.bundle.concepts) &&
    Array.isArray(x.bundle.images) &&
    typeof x.bundle.class === 'object' &&
    typeof x.bundle.layer === 'object' &&
    typeof x.bundle.model === 'object' &&
    typeof x.runDir === 'string'
  );
}

function asState(v: unknown): WebviewState | undefined {
  return typeof v === 'object' && v !== null && typeof (v as WebviewState).runDir === 'string' ? (v as WebviewState) : undefined;
}

/**
 * The report follows the OS colour scheme through CSS; the toolkit reads colours once and again when
 * the body's class changes, so a class mirrors the scheme.
 */
function followColorScheme(): void {
  const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
  const apply = () => {
    document.body.classList.toggle('craft-dark', !!mq?.matches);
    document.body.classList.toggle('craft-light', !mq?.matches);
  };
  apply();
  mq?.addEventListener?.('change', apply);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();

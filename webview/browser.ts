/**
 * The image browser: a keyboard-navigable grid of the images (rendered a page at a time, thumbnails
 * loaded lazily, so hundreds of images stay responsive), each with the model's prediction, and a large
 * view of the selected image with concept maps over it: by default the image's own top 3 concepts, at
 * image scale or at crop scale. The large view stays in sight while the grid is browsed.
 */
import type { ConceptEntry, CropEntry, ImageEntry } from '../src/protocol';
import { barList, barsFromValues } from './bars';
import { button, checkbox, select, slider, textField, type CheckboxHandle } from './components';
import { breakable, h, replaceChildren, safeColor } from './dom';
import { num, percent, plural } from './format';
import { cssUrl, type ViewModel } from './view-model';
import { whatIfSection } from './whatif';

const PAGE = 120;
/** Concepts drawn per image by default: its own most important ones. */
export const TOP_CONCEPTS = 3;
/** From this share of images predicted as another class the browser says so at its top (as the engine's warning does). */
const OTHER_CLASS_NOTICE = 0.1;

export type OverlayMode = 'top' | 'all' | 'none' | 'custom';
export type MapScale = 'image' | 'crop';

export interface BrowserState {
  selected: number;
  /** Opacity of the map overlays, 0..1. */
  opacity: number;
  /** Which concepts' maps are drawn: the image's top 3, all, none, or every concept not in `hidden`. */
  overlay: OverlayMode;
  /** Concept indices whose maps are hidden in 'custom' mode. */
  hidden: Set<number>;
  /** Image-scale maps (`maps`) or crop-scale maps (`cropMaps`). */
  mapScale: MapScale;
}

const SCALE_HELP: Record<MapScale, string> = {
  image: 'Image scale: the concept in each cell of the whole image, as its importance was measured.',
  crop: "Crop scale: each crop's coefficient painted over its patch, as the top crops were chosen.",
};

const OVERLAY_TEXT: Record<OverlayMode, string> = {
  top: `This image's top ${TOP_CONCEPTS} concepts`,
  all: 'All concepts',
  none: 'No concepts',
  custom: 'Concepts chosen below',
};

export class ImageBrowser {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly more: HTMLElement;
  private readonly count: HTMLElement;
  private readonly detail: HTMLElement;
  private readonly overlays: HTMLElement;
  private readonly overlayByConcept = new Map<number, HTMLElement>();
  private readonly checks = new Map<number, CheckboxHandle>();
  private readonly stageImg: HTMLImageElement;
  private readonly stage: HTMLElement;
  private readonly cropBox: HTMLElement;
  private readonly info: HTMLElement;
  private readonly imageBars: HTMLElement;
  /** The selected image's what-if section (VS Code only). */
  private readonly whatIf: HTMLElement;
  private readonly hasCropMaps: boolean;
  private overlaySelect?: HTMLSelectElement;
  private scaleHelp?: HTMLElement;
  private readonly scaleRadios = new Map<MapScale, HTMLInputElement>();
  private otherOnly?: CheckboxHandle;
  private filter = '';
  private sort = 'file';
  private onlyOther = false;
  /** Image indices in display order after filter and sort. */
  private order: number[] = [];
  private shown = PAGE;

  constructor(
    private readonly vm: ViewModel,
    private readonly state: BrowserState,
    private readonly onChange: () => void,
  ) {
    const images = vm.bundle.images;
    const [H, W] = vm.size;
    this.hasCropMaps = images.some((im) => vm.url(im.cropMaps) !== undefined);
    if (!this.hasCropMaps) state.mapScale = 'image';

    this.stageImg = h('img', { class: 'stage-img', attrs: { alt: '', draggable: 'false' } });
    this.overlays = h('div', { class: 'overlays', attrs: { 'aria-hidden': 'true' } });
    this.cropBox = h('div', { class: 'crop-box', attrs: { hidden: true, 'aria-hidden': 'true' } });
    this.stage = h(
      'div',
      {
        class: `stage${vm.pixelated ? ' pixelated' : ''}`,
        style: { 'aspect-ratio': W > 0 && H > 0 ? `${W} / ${H}` : '1 / 1', '--aspect': W > 0 && H > 0 ? String(W / H) : '1' },
      },
      this.stageImg,
      this.overlays,
      this.cropBox,
    );
    // Least important first, so the most important concept's map is drawn on top.
    const tiles = vm.bundle.concepts.length;
    for (const c of [...vm.ordered].reverse()) {
      const el = h('div', {
        class: 'overlay',
        attrs: { 'data-concept': c.index },
        style: { 'background-size': `100% ${tiles * 100}%`, 'background-position': `0 ${tiles > 1 ? (100 * c.index) / (tiles - 1) : 0}%` },
      });
      this.overlayByConcept.set(c.index, el);
      this.overlays.appendChild(el);
    }
    this.info = h('div', { class: 'detail-info' });
    this.imageBars = h('div', { class: 'image-bars' });
    this.whatIf = h('div', { class: 'whatif-slot' });

    const hasMaps = images.some((im) => im.maps);
    const controls = hasMaps
      ? this.renderOverlayControls()
      : h('p', { class: 'muted' }, `No attribution maps: layer ${vm.bundle.layer.name} is not a spatial feature map.`);
    this.detail = h(
      'div',
      { class: 'browser-detail', attrs: { 'aria-label': 'Selected image', role: 'region' } },
      h('div', { class: 'stage-wrap' }, this.stage),
      this.info,
      controls,
      h('h3', { class: 'subhead' }, 'Concept importance in this image'),
      this.imageBars,
      this.whatIf,
    );

    this.grid = h('div', {
      class: 'thumb-grid',
      attrs: { role: 'listbox', 'aria-label': 'Images', 'aria-orientation': 'vertical' },
      on: { keydown: (e) => this.onGridKey(e) },
    });
    this.more = button({ label: 'Show more', onClick: () => this.showMore() });
    this.count = h('span', { class: 'muted list-count', attrs: { 'aria-live': 'polite' } });
    const sortSelect = select('Sort images', this.sortOptions(), this.sort, (v) => {
      this.sort = v;
      this.refreshList();
    });
    // Concept options name concepts: redrawn when they are renamed.
    vm.names.bind(sortSelect, () => {
      for (const o of sortSelect.options) if (o.value.startsWith('c')) o.textContent = `${vm.names.label(Number(o.value.slice(1)))}: most important first`;
    });
    const others = vm.otherClass.length;
    if (others) {
      this.otherOnly = checkbox({
        label: `Only the ${plural(others, 'image')} predicted as another class`,
        checked: false,
        onChange: (on) => {
          this.onlyOther = on;
          this.refreshList();
        },
      });
      this.otherOnly.element.classList.add('other-only');
    }
    const toolbar = h(
      'div',
      { class: 'list-toolbar' },
      textField('Filter images by path', 'Filter by path', (v) => {
        this.filter = v.trim().toLowerCase();
        this.refreshList();
      }),
      sortSelect,
      this.otherOnly?.element,
      this.count,
    );
    const hint = h(
      'p',
      { class: 'muted hint' },
      vm.post ? 'Arrow keys move through the images; Enter or double-click opens one in the editor.' : 'Arrow keys move through the images.',
    );
    const list = h('div', { class: 'browser-list' }, toolbar, this.grid, h('div', { class: 'more-row' }, this.more), hint);
    this.element = h('div', { class: 'browser' }, this.notice(), this.detail, list);

    this.applyOpacity();
    this.applyScale();
    this.refreshList();
    this.select(Math.min(Math.max(0, state.selected), Math.max(0, images.length - 1)), { notify: false });
  }

  /** Selects an image; `crop` outlines the patch it came from. */
  select(i: number, o: { crop?: CropEntry; focus?: boolean; scroll?: boolean; notify?: boolean } = {}): void {
    const img = this.vm.bundle.images[i];
    if (!img) return;
    const changed = this.state.selected !== i;
    this.state.selected = i;
    this.renderDetail(i, img, o.crop);
    this.applyVisible();
    const pos = this.order.indexOf(i);
    if (pos >= this.shown) {
      this.shown = Math.ceil((pos + 1) / PAGE) * PAGE;
      this.renderGrid();
    }
    for (const el of this.grid.querySelectorAll<HTMLElement>('[role="option"]')) {
      const on = Number(el.dataset.index) === i;
      el.setAttribute('aria-selected', on ? 'true' : 'false');
      el.tabIndex = on ? 0 : -1;
    }
    this.ensureTabStop();
    const opt = this.option(i);
    if (o.focus && opt) opt.focus();
    if (o.scroll) this.detail.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    if (changed && o.notify !== false) this.onChange();
  }

  setOpacity(v: number): void {
    this.state.opacity = Math.min(1, Math.max(0, v));
    this.applyOpacity();
    this.onChange();
  }

  /** Draws the maps of `mode`'s concepts ('custom': all but `hidden`). */
  setOverlay(mode: OverlayMode, hidden?: Iterable<number>): void {
    this.state.overlay = mode;
    if (hidden) this.state.hidden = new Set(hidden);
    if (this.overlaySelect) this.overlaySelect.value = mode;
    this.applyVisible();
    this.onChange();
  }

  setMapScale(scale: MapScale): void {
    this.state.mapScale = scale === 'crop' && this.hasCropMaps ? 'crop' : 'image';
    this.applyScale();
    this.onChange();
  }

  /** Shows only concept `c`'s map and brings the large view into sight. */
  solo(c: ConceptEntry): void {
    this.setOverlay(
      'custom',
      this.vm.bundle.concepts.map((k) => k.index).filter((k) => k !== c.index),
    );
    this.detail.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  /** The concepts whose maps are drawn on image i. */
  visibleConcepts(i = this.state.selected): Set<number> {
    const all = this.vm.bundle.concepts.map((c) => c.index);
    switch (this.state.overlay) {
      case 'all':
        return new Set(all);
      case 'none':
        return new Set();
      case 'custom':
        return new Set(all.filter((c) => !this.state.hidden.has(c)));
      case 'top':
        return new Set(topConcepts(this.vm.bundle.images[i]?.importances ?? [], TOP_CONCEPTS));
    }
  }

  /** "N of M images are predicted as another class…" at the top when a fair share are. */
  private notice(): HTMLElement | null {
    const vm = this.vm;
    const n = vm.otherClass.length;
    const total = vm.bundle.images.length;
    const warning = vm.bundle.warnings?.find((w) => w.includes('predicted as another class'));
    if (!n || (!warning && n < OTHER_CLASS_NOTICE * total)) return null;
    const text = warning ?? `${n} of ${total} images are predicted as another class: the concepts explain the class score on them too.`;
    return h(
      'div',
      { class: 'notice notice-warning browser-notice', attrs: { role: 'note' } },
      h('p', null, text),
      button({
        label: 'Show only these images',
        onClick: () => {
          this.otherOnly?.setChecked(true);
          this.onlyOther = true;
          this.refreshList();
          this.option(this.order[0])?.focus();
        },
      }),
    );
  }

  private sortOptions(): { value: string; text: string }[] {
    const vm = this.vm;
    return [
      { value: 'file', text: 'File order' },
      ...(vm.hasPredictions
        ? [
            { value: 'score-asc', text: `${vm.classLabel} score, lowest first` },
            { value: 'score-desc', text: `${vm.classLabel} score, highest first` },
          ]
        : []),
      ...vm.ordered.map((c) => ({ value: `c${c.index}`, text: `${vm.names.label(c.index)}: most important first` })),
    ];
  }

  private renderOverlayControls(): HTMLElement {
    const vm = this.vm;
    const opacity = slider({
      label: 'Map opacity',
      min: 0,
      max: 1,
      step: 0.05,
      value: this.state.opacity,
      format: (v) => `${Math.round(v * 100)}%`,
      onInput: (v) => this.setOpacity(v),
    });
    opacity.input.classList.add('opacity-slider');
    this.overlaySelect = select(
      'Concepts drawn',
      (['top', 'all', 'none', 'custom'] as OverlayMode[]).map((m) => ({ value: m, text: OVERLAY_TEXT[m] })),
      this.state.overlay,
      (v) => this.setOverlay(v as OverlayMode, v === 'custom' ? this.currentlyHidden() : undefined),
    );
    this.overlaySelect.classList.add('overlay-mode');
    const checks = vm.ordered.map((c) => {
      const chk = checkbox({
        label: vm.names.label(c.index),
        content: [vm.names.text(c.index)],
        checked: true,
        color: c.color,
        onChange: (on) => {
          // A toggle turns whatever is drawn now into a custom choice.
          const hidden = this.currentlyHidden();
          if (on) hidden.delete(c.index);
          else hidden.add(c.index);
          this.setOverlay('custom', hidden);
        },
      });
      chk.element.setAttribute('data-concept', String(c.index));
      // The checkbox's accessible name is its concept's label.
      vm.names.bind(chk.element, () => {
        const box = chk.element.querySelector('input') ?? chk.element;
        box.setAttribute('aria-label', vm.names.label(c.index));
      });
      this.checks.set(c.index, chk);
      return chk.element;
    });
    let scale: HTMLElement | null = null;
    if (this.hasCropMaps) {
      const radio = (value: MapScale, text: string): HTMLElement => {
        const input = h('input', { attrs: { type: 'radio', name: 'map-scale', value } });
        input.checked = this.state.mapScale === value;
        input.addEventListener('change', () => input.checked && this.setMapScale(value));
        this.scaleRadios.set(value, input);
        return h('label', { class: 'radio', attrs: { title: SCALE_HELP[value] } }, input, h('span', null, text));
      };
      this.scaleHelp = h('p', { class: 'scale-help muted', attrs: { id: 'map-scale-help' } });
      scale = h(
        'div',
        { class: 'scale-choice', attrs: { role: 'radiogroup', 'aria-label': 'Map scale', 'aria-describedby': 'map-scale-help' } },
        h('span', { class: 'scale-label' }, 'Scale'),
        radio('image', 'Image scale'),
        radio('crop', 'Crop scale'),
      );
    }
    return h(
      'fieldset',
      { class: 'overlay-controls' },
      h('legend', null, 'Concept maps'),
      scale,
      this.scaleHelp,
      h('div', { class: 'overlay-row' }, h('label', { class: 'mode-field' }, h('span', null, 'Show'), this.overlaySelect), opacity.element),
      h('div', { class: 'concept-checks' }, ...checks),
    );
  }

  private currentlyHidden(): Set<number> {
    const visible = this.visibleConcepts();
    return new Set(this.vm.bundle.concepts.map((c) => c.index).filter((c) => !visible.has(c)));
  }

  private applyOpacity(): void {
    this.overlays.style.opacity = String(this.state.opacity);
  }

  private applyVisible(): void {
    const visible = this.visibleConcepts();
    for (const [c, el] of this.overlayByConcept) el.hidden = !visible.has(c);
    for (const [c, chk] of this.checks) chk.setChecked(visible.has(c));
    if (this.overlaySelect) this.overlaySelect.value = this.state.overlay;
  }

  private applyScale(): void {
    const img = this.vm.bundle.images[this.state.selected];
    const url = img ? this.vm.url(this.state.mapScale === 'crop' ? img.cropMaps : img.maps) : undefined;
    for (const el of this.overlayByConcept.values()) el.style.backgroundImage = url ? cssUrl(url) : 'none';
    this.overlays.dataset.scale = this.state.mapScale;
    for (const [v, r] of this.scaleRadios) r.checked = v === this.state.mapScale;
    if (this.scaleHelp) this.scaleHelp.textContent = SCALE_HELP[this.state.mapScale];
  }

  private renderDetail(i: number, img: ImageEntry, crop?: CropEntry): void {
    const vm = this.vm;
    this.stageImg.src = vm.url(img.thumbnail) ?? '';
    this.stageImg.alt = `${img.path} as the model saw it`;
    this.applyScale();
    const [H, W] = vm.size;
    if (crop && crop.image === i && W > 0 && H > 0) {
      this.cropBox.hidden = false;
      Object.assign(this.cropBox.style, {
        left: `${(100 * crop.x) / W}%`,
        top: `${(100 * crop.y) / H}%`,
        width: `${(100 * crop.size) / W}%`,
        height: `${(100 * crop.size) / H}%`,
      });
    } else {
      this.cropBox.hidden = true;
    }
    const n = vm.bundle.images.length;
    replaceChildren(
      this.info,
      h('p', { class: 'detail-path' }, ...breakable(img.path)),
      this.prediction(img, 'detail'),
      h(
        'p',
        { class: 'muted' },
        `Image ${i + 1} of ${n} · ${img.width}×${img.height} px`,
        crop && crop.image === i ? ` · outlined: the ${crop.size} px patch at (${crop.x}, ${crop.y})` : '',
      ),
      h(
        'div',
        { class: 'detail-actions' },
        button({ label: 'Previous', title: 'Previous image', onClick: () => this.step(-1) }),
        button({ label: 'Next', title: 'Next image', onClick: () => this.step(1) }),
        vm.post
          ? button({
              label: 'Open image',
              appearance: 'primary',
              title: 'Open the source image in an editor',
              onClick: () => vm.post?.({ type: 'openImage', image: i }),
            })
          : null,
      ),
    );
    // A fresh what-if for each image, opened if it was open for the previous one.
    const wasOpen = this.whatIf.querySelector('details')?.open ?? false;
    const section = whatIfSection(vm, i);
    if (section && wasOpen) (section as HTMLDetailsElement).open = true;
    replaceChildren(this.whatIf, section);
    replaceChildren(
      this.imageBars,
      barList(barsFromValues(img.importances ?? [], vm.byIndex), {
        label: `Concept importance in ${img.path}`,
        of: 'this image',
        names: vm.names,
        valueName: 'Sobol total order',
        compact: true,
      }),
    );
  }

  /** The model's prediction for an image: compact on a thumbnail, in words in the large view. */
  private prediction(img: ImageEntry, where: 'thumb' | 'detail'): HTMLElement | null {
    const vm = this.vm;
    if (!Number.isInteger(img.predicted)) return null;
    const cls = vm.bundle.class.index;
    const other = img.predicted !== cls;
    const predicted = vm.className(img.predicted as number);
    const prob = typeof img.classProbability === 'number' ? percent(img.classProbability) : undefined;
    const score = typeof img.classScore === 'number' ? num(img.classScore) : undefined;
    const help = `Predicted: ${predicted}${other ? ` (not ${vm.classLabel})` : ''}. ${vm.classLabel}: ${[prob ? `probability ${prob} (softmax)` : '', score ? `score ${score} (the model's output before softmax, a logit)` : ''].filter(Boolean).join(', ')}.`;
    if (where === 'thumb') {
      return h(
        'span',
        { class: `thumb-pred${other ? ' pred-other' : ''}`, attrs: { title: help } },
        other ? h('span', { class: 'pred-mark', attrs: { 'aria-hidden': 'true' } }, '▲') : null,
        h('span', { class: 'pred-class' }, predicted),
        h('span', { class: 'pred-prob' }, prob ?? score ?? ''),
        h('span', { class: 'sr-only' }, `. ${help}`),
      );
    }
    return h(
      'p',
      { class: `detail-pred${other ? ' pred-other' : ''}` },
      h(
        'span',
        {
          attrs: {
            title: `The class the model gives the highest score${other ? `: not the explained ${vm.classLabel}, whose score the concepts still explain` : ''}.`,
          },
        },
        other ? '▲ Predicted as ' : 'Predicted as ',
        h('strong', null, predicted),
      ),
      prob ? h('span', { attrs: { title: `Softmax probability the model gives ${vm.classLabel}.` } }, ` · ${vm.classLabel} probability ${prob}`) : null,
      score
        ? h('span', { attrs: { title: `The model's output for ${vm.classLabel} before softmax (a logit): what the concepts explain.` } }, ` · score ${score}`)
        : null,
    );
  }

  private step(d: number): void {
    const order = this.order.length ? this.order : this.vm.bundle.images.map((_, k) => k);
    const pos = order.indexOf(this.state.selected);
    const next = order[Math.min(order.length - 1, Math.max(0, (pos < 0 ? 0 : pos) + d))];
    if (next !== undefined) this.select(next);
  }

  private refreshList(): void {
    const images = this.vm.bundle.images;
    const cls = this.vm.bundle.class.index;
    let order = images.map((_, i) => i);
    if (this.filter) order = order.filter((i) => images[i].path.toLowerCase().includes(this.filter));
    if (this.onlyOther) order = order.filter((i) => Number.isInteger(images[i].predicted) && images[i].predicted !== cls);
    if (this.sort.startsWith('c')) {
      const c = Number(this.sort.slice(1));
      const v = (i: number) => images[i].importances?.[c] ?? 0;
      order.sort((a, b) => v(b) - v(a) || a - b);
    } else if (this.sort.startsWith('score')) {
      const sign = this.sort === 'score-asc' ? 1 : -1;
      const v = (i: number) => (typeof images[i].classScore === 'number' ? (images[i].classScore as number) : sign * Infinity);
      order.sort((a, b) => sign * (v(a) - v(b)) || a - b);
    }
    this.order = order;
    this.shown = PAGE;
    this.renderGrid();
    const others = this.vm.otherClass.length;
    const total = plural(images.length, 'image');
    this.count.textContent =
      this.filter || this.onlyOther
        ? `${order.length} of ${total}`
        : this.vm.hasPredictions
          ? `${total} · ${others ? `${others} predicted as another class` : `all predicted as ${this.vm.classLabel}`}`
          : total;
  }

  private renderGrid(): void {
    const vm = this.vm;
    const images = vm.bundle.images;
    const visible = this.order.slice(0, this.shown);
    replaceChildren(
      this.grid,
      ...visible.map((i) => {
        const img = images[i];
        const selected = i === this.state.selected;
        const mix = h('span', { class: 'thumb-mix', attrs: { 'aria-hidden': 'true' } });
        for (const b of barsFromValues(img.importances ?? [], vm.byIndex)) {
          if (b.share > 0) mix.appendChild(h('span', { style: { width: `${(b.share * 100).toFixed(2)}%`, '--concept': safeColor(b.concept.color) } }));
        }
        const other = Number.isInteger(img.predicted) && img.predicted !== vm.bundle.class.index;
        return h(
          'div',
          {
            class: `thumb${other ? ' thumb-other' : ''}`,
            attrs: { role: 'option', 'aria-selected': selected ? 'true' : 'false', tabindex: selected ? 0 : -1, 'data-index': i, title: img.path },
            on: {
              click: () => this.select(i, { focus: true }),
              dblclick: () => vm.post?.({ type: 'openImage', image: i }),
            },
          },
          h('img', {
            class: vm.pixelated ? 'pixelated' : '',
            attrs: { src: vm.url(img.thumbnail), alt: '', loading: 'lazy', decoding: 'async', draggable: 'false' },
          }),
          mix,
          this.prediction(img, 'thumb'),
          h('span', { class: 'thumb-path' }, ...breakable(img.path)),
        );
      }),
    );
    const left = this.order.length - visible.length;
    this.more.hidden = left <= 0;
    this.more.textContent = `Show ${Math.min(PAGE, left)} more (${left} not shown)`;
    if (!visible.length) this.grid.appendChild(h('p', { class: 'muted empty' }, 'No image matches the filter.'));
    this.ensureTabStop();
  }

  private showMore(): void {
    const first = this.shown;
    this.shown += PAGE;
    this.renderGrid();
    const i = this.order[first];
    if (i !== undefined) this.option(i)?.focus();
  }

  /** Keeps exactly one option reachable with Tab even when the selection is filtered out or not shown. */
  private ensureTabStop(): void {
    const opts = this.grid.querySelectorAll<HTMLElement>('[role="option"]');
    if (opts.length && ![...opts].some((o) => o.tabIndex === 0)) opts[0].tabIndex = 0;
  }

  private option(i: number | undefined): HTMLElement | null {
    return i === undefined ? null : this.grid.querySelector<HTMLElement>(`[role="option"][data-index="${i}"]`);
  }

  private onGridKey(e: KeyboardEvent): void {
    const opts = [...this.grid.querySelectorAll<HTMLElement>('[role="option"]')];
    const current = opts.indexOf(document.activeElement as HTMLElement);
    if (current < 0) return;
    const cols = Math.max(1, opts.filter((o) => o.offsetTop === opts[0].offsetTop).length);
    let next = current;
    switch (e.key) {
      case 'ArrowRight':
        next = current + 1;
        break;
      case 'ArrowLeft':
        next = current - 1;
        break;
      case 'ArrowDown':
        next = current + cols;
        break;
      case 'ArrowUp':
        next = current - cols;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = opts.length - 1;
        break;
      case 'Enter':
        if (this.vm.post) this.vm.post({ type: 'openImage', image: Number(opts[current].dataset.index) });
        e.preventDefault();
        return;
      case ' ':
        this.select(Number(opts[current].dataset.index), { focus: true });
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    next = Math.min(opts.length - 1, Math.max(0, next));
    if (next !== current) this.select(Number(opts[next].dataset.index), { focus: true });
  }
}

/** The `k` concepts with the largest positive values, largest first (ties: lower index). */
export function topConcepts(values: number[], k: number): number[] {
  return values
    .map((v, i) => ({ v: Number.isFinite(v) ? v : 0, i }))
    .filter((x) => x.v > 0)
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

export function initialBrowserState(): BrowserState {
  return { selected: 0, opacity: 0.7, overlay: 'top', hidden: new Set(), mapScale: 'image' };
}

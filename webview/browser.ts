/**
 * The image browser: a keyboard-navigable grid of the images (rendered a page at a time, thumbnails
 * loaded lazily, so hundreds of images stay responsive) and a large view of the selected image with
 * the concept attribution maps stacked over it.
 */
import type { ConceptEntry, CropEntry, ImageEntry } from '../src/protocol';
import { barList, barsFromValues } from './bars';
import { button, checkbox, select, slider, textField, type CheckboxHandle } from './components';
import { breakable, h, replaceChildren, safeColor } from './dom';
import { conceptName, plural } from './format';
import { cssUrl, type ViewModel } from './view-model';

const PAGE = 120;

export interface BrowserState {
  selected: number;
  /** Opacity of the map overlays, 0..1. */
  opacity: number;
  /** Concept indices whose maps are hidden. */
  hidden: Set<number>;
}

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
  private filter = '';
  private sort = 'file';
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

    this.stageImg = h('img', { class: 'stage-img', attrs: { alt: '', draggable: 'false' } });
    this.overlays = h('div', { class: 'overlays', attrs: { 'aria-hidden': 'true' } });
    this.cropBox = h('div', { class: 'crop-box', attrs: { hidden: true, 'aria-hidden': 'true' } });
    this.stage = h('div', { class: `stage${vm.pixelated ? ' pixelated' : ''}`, style: { 'aspect-ratio': W > 0 && H > 0 ? `${W} / ${H}` : '1 / 1' } }, this.stageImg, this.overlays, this.cropBox);
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

    const hasMaps = images.some((im) => im.maps);
    const controls = hasMaps ? this.renderOverlayControls() : h('p', { class: 'muted' }, `No attribution maps: layer ${vm.bundle.layer.name} is not a spatial feature map.`);
    this.detail = h(
      'div',
      { class: 'browser-detail', attrs: { 'aria-label': 'Selected image', role: 'region' } },
      h('div', { class: 'stage-wrap' }, this.stage),
      this.info,
      controls,
      h('h3', { class: 'subhead' }, 'Concept importance in this image'),
      this.imageBars,
    );

    this.grid = h('div', {
      class: 'thumb-grid',
      attrs: { role: 'listbox', 'aria-label': 'Images', 'aria-orientation': 'vertical' },
      on: { keydown: (e) => this.onGridKey(e) },
    });
    this.more = button({ label: 'Show more', onClick: () => this.showMore() });
    this.count = h('span', { class: 'muted list-count', attrs: { 'aria-live': 'polite' } });
    const sortOptions = [{ value: 'file', text: 'File order' }, ...vm.ordered.map((c) => ({ value: `c${c.index}`, text: `${conceptName(c.index)}: most important first` }))];
    const toolbar = h(
      'div',
      { class: 'list-toolbar' },
      textField('Filter images by path', 'Filter by path', (v) => {
        this.filter = v.trim().toLowerCase();
        this.refreshList();
      }),
      select('Sort images', sortOptions, this.sort, (v) => {
        this.sort = v;
        this.refreshList();
      }),
      this.count,
    );
    const hint = h('p', { class: 'muted hint' }, vm.post ? 'Arrow keys move through the images; Enter or double-click opens one in the editor.' : 'Arrow keys move through the images.');
    const list = h('div', { class: 'browser-list' }, toolbar, this.grid, h('div', { class: 'more-row' }, this.more), hint);
    this.element = h('div', { class: 'browser' }, this.detail, list);

    this.applyOpacity();
    this.applyHidden();
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

  setHidden(hidden: Iterable<number>): void {
    this.state.hidden = new Set(hidden);
    for (const [c, chk] of this.checks) chk.setChecked(!this.state.hidden.has(c));
    this.applyHidden();
    this.onChange();
  }

  /** Shows only concept `c`'s map and brings the large view into sight. */
  solo(c: ConceptEntry): void {
    this.setHidden(this.vm.bundle.concepts.map((k) => k.index).filter((k) => k !== c.index));
    this.detail.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  private renderOverlayControls(): HTMLElement {
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
    const checks = this.vm.ordered.map((c) => {
      const chk = checkbox({
        label: conceptName(c.index),
        checked: !this.state.hidden.has(c.index),
        color: c.color,
        onChange: (on) => {
          if (on) this.state.hidden.delete(c.index);
          else this.state.hidden.add(c.index);
          this.applyHidden();
          this.onChange();
        },
      });
      chk.element.setAttribute('data-concept', String(c.index));
      this.checks.set(c.index, chk);
      return chk.element;
    });
    const all = this.vm.bundle.concepts.map((k) => k.index);
    return h(
      'fieldset',
      { class: 'overlay-controls' },
      h('legend', null, 'Concept maps'),
      h(
        'div',
        { class: 'overlay-row' },
        opacity.element,
        h('span', { class: 'overlay-buttons' }, button({ label: 'All', title: 'Show every concept map', onClick: () => this.setHidden([]) }), button({ label: 'None', title: 'Hide every concept map', onClick: () => this.setHidden(all) })),
      ),
      h('div', { class: 'concept-checks' }, ...checks),
    );
  }

  private applyOpacity(): void {
    this.overlays.style.opacity = String(this.state.opacity);
  }

  private applyHidden(): void {
    for (const [c, el] of this.overlayByConcept) el.hidden = this.state.hidden.has(c);
  }

  private renderDetail(i: number, img: ImageEntry, crop?: CropEntry): void {
    const vm = this.vm;
    this.stageImg.src = vm.url(img.thumbnail) ?? '';
    this.stageImg.alt = `${img.path} as the model saw it`;
    const mapUrl = vm.url(img.maps);
    for (const el of this.overlayByConcept.values()) el.style.backgroundImage = mapUrl ? cssUrl(mapUrl) : 'none';
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
        vm.post ? button({ label: 'Open image', appearance: 'primary', title: 'Open the source image in an editor', onClick: () => vm.post?.({ type: 'openImage', image: i }) }) : null,
      ),
    );
    replaceChildren(this.imageBars, barList(barsFromValues(img.importances ?? [], vm.byIndex), { label: `Concept importance in ${img.path}`, of: 'this image', compact: true }));
  }

  private step(d: number): void {
    const order = this.order.length ? this.order : this.vm.bundle.images.map((_, k) => k);
    const pos = order.indexOf(this.state.selected);
    const next = order[Math.min(order.length - 1, Math.max(0, (pos < 0 ? 0 : pos) + d))];
    if (next !== undefined) this.select(next);
  }

  private refreshList(): void {
    const images = this.vm.bundle.images;
    let order = images.map((_, i) => i);
    if (this.filter) order = order.filter((i) => images[i].path.toLowerCase().includes(this.filter));
    if (this.sort.startsWith('c')) {
      const c = Number(this.sort.slice(1));
      const v = (i: number) => images[i].importances?.[c] ?? 0;
      order.sort((a, b) => v(b) - v(a) || a - b);
    }
    this.order = order;
    this.shown = PAGE;
    this.renderGrid();
    this.count.textContent = this.filter ? `${order.length} of ${plural(images.length, 'image')}` : plural(images.length, 'image');
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
        return h(
          'div',
          {
            class: 'thumb',
            attrs: { role: 'option', 'aria-selected': selected ? 'true' : 'false', tabindex: selected ? 0 : -1, 'data-index': i, title: img.path },
            on: {
              click: () => this.select(i, { focus: true }),
              dblclick: () => vm.post?.({ type: 'openImage', image: i }),
            },
          },
          h('img', { class: vm.pixelated ? 'pixelated' : '', attrs: { src: vm.url(img.thumbnail), alt: '', loading: 'lazy', decoding: 'async', draggable: 'false' } }),
          mix,
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

  private option(i: number): HTMLElement | null {
    return this.grid.querySelector<HTMLElement>(`[role="option"][data-index="${i}"]`);
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

export function initialBrowserState(): BrowserState {
  return { selected: 0, opacity: 0.7, hidden: new Set() };
}

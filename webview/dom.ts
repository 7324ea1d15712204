/**
 * A tiny element builder. Every piece of text goes in through text nodes and every attribute through
 * setAttribute / CSSOM, never through innerHTML: file names and labels come from the bundle, and a file
 * called `<img src=x onerror=…>.png` must show as text. Inline style attributes and on* attributes are
 * refused because the page runs under a strict CSP (no 'unsafe-inline').
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  attrs?: Record<string, string | number | boolean | undefined>;
  /** CSS properties set through CSSOM (allowed by a strict CSP, unlike a style attribute). */
  style?: Record<string, string | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, props?: Props | null, ...children: Child[]): HTMLElement;
export function h(tag: string, props?: Props | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (props) applyProps(el, props);
  append(el, children);
  return el;
}

export function applyProps(el: HTMLElement, props: Props): void {
  if (props.class) el.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) setAttr(el, name, value);
  for (const [name, value] of Object.entries(props.style ?? {})) {
    if (value !== undefined) el.style.setProperty(name, value);
  }
  for (const [type, handler] of Object.entries(props.on ?? {})) {
    if (handler) el.addEventListener(type, handler as EventListener);
  }
}

export function setAttr(el: Element, name: string, value: string | number | boolean | undefined): void {
  const lower = name.toLowerCase();
  if (lower === 'style' || lower.startsWith('on')) throw new Error(`refusing attribute ${name}`);
  if (value === undefined || value === false) el.removeAttribute(name);
  else el.setAttribute(name, value === true ? '' : String(value));
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.textContent = '';
  append(el, children);
}

/**
 * Text with line-break opportunities (<wbr>) after path separators, '_', '.' and '-', so a long file
 * name wraps at a sensible place instead of mid-extension. The text itself stays text nodes.
 */
export function breakable(text: string): Node[] {
  const out: Node[] = [];
  for (const part of text.split(/(?<=[/\\_.-])/)) {
    if (out.length) out.push(document.createElement('wbr'));
    out.push(document.createTextNode(part));
  }
  return out;
}

/** A coloured square; the colour is checked before it reaches CSS. */
export function swatch(color: string, extraClass = ''): HTMLElement {
  return h('span', { class: `swatch ${extraClass}`.trim(), attrs: { 'aria-hidden': 'true' }, style: { '--concept': safeColor(color) } });
}

const HEX = /^#[0-9a-fA-F]{6}$/;

export function safeColor(color: string | undefined): string {
  return color && HEX.test(color) ? color : '#808080';
}

/** Black or white, whichever reads better on `color` (WCAG relative luminance). */
export function inkFor(color: string): string {
  const c = safeColor(color);
  const lin = [1, 3, 5].map((i) => {
    const v = parseInt(c.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return L > 0.179 ? '#000000' : '#ffffff';
}

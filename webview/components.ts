/**
 * The page's only contact with @vscode/webview-ui-toolkit. The toolkit is deprecated upstream (FAST
 * Foundation sunset), so every control the page uses is made here and the rest of the code never sees a
 * `vscode-*` tag: replacing the toolkit means rewriting this file only.
 *
 * Where the toolkit cannot work, the same functions return native elements styled by webview.css:
 * no custom elements, or no constructable stylesheets (FAST would then fall back to <style> elements,
 * which a strict nonce CSP blocks), or registration failing for any reason.
 */
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox } from '@vscode/webview-ui-toolkit';
import { h, inkFor, safeColor, type Child } from './dom';

export type ComponentKind = 'toolkit' | 'native';

let kind: ComponentKind = 'native';

/** Registers the toolkit components the page uses, or settles for native elements. */
export function initComponents(useToolkit: boolean): ComponentKind {
  kind = 'native';
  if (useToolkit && toolkitCanRun()) {
    try {
      provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox());
      if (customElements.get('vscode-button') && customElements.get('vscode-checkbox')) kind = 'toolkit';
    } catch {
      kind = 'native';
    }
  }
  document.documentElement.setAttribute('data-components', kind);
  return kind;
}

function toolkitCanRun(): boolean {
  return (
    typeof customElements !== 'undefined' &&
    typeof CSSStyleSheet !== 'undefined' &&
    'replaceSync' in CSSStyleSheet.prototype &&
    'adoptedStyleSheets' in Document.prototype
  );
}

export interface ButtonOptions {
  label: string;
  onClick: () => void;
  /** Primary for the main action of a group; secondary otherwise. */
  appearance?: 'primary' | 'secondary';
  title?: string;
  /** Extra class names (layout only). */
  class?: string;
}

export function button(o: ButtonOptions): HTMLElement {
  const appearance = o.appearance ?? 'secondary';
  const el = kind === 'toolkit' ? h('vscode-button', { attrs: { appearance } }) : h('button', { class: `btn btn-${appearance}`, attrs: { type: 'button' } });
  el.textContent = o.label;
  if (o.class) el.classList.add(...o.class.split(/\s+/).filter(Boolean));
  if (o.title) el.title = o.title;
  el.addEventListener('click', () => o.onClick());
  return el;
}

export interface CheckboxOptions {
  /** Accessible name (also the visible text unless `content` is given). */
  label: string;
  /** Visible label content, e.g. a swatch and the name. */
  content?: Child[];
  checked: boolean;
  /** Fills the box with this colour when checked. */
  color?: string;
  onChange: (checked: boolean) => void;
}

export interface CheckboxHandle {
  element: HTMLElement;
  readonly checked: boolean;
  setChecked(checked: boolean): void;
}

export function checkbox(o: CheckboxOptions): CheckboxHandle {
  const style = o.color ? { '--concept': safeColor(o.color), '--concept-ink': inkFor(o.color) } : undefined;
  // `box` holds the state (the toolkit element itself, or the native input inside its label).
  let element: HTMLElement;
  let box: HTMLElement & { checked: boolean };
  if (kind === 'toolkit') {
    // The toolkit copies textContent into aria-label when connected, so the text goes in first.
    box = h('vscode-checkbox', { class: o.color ? 'check concept-check' : 'check', style }, ...(o.content ?? [o.label])) as HTMLElement & { checked: boolean };
    box.setAttribute('aria-label', o.label);
    element = box;
  } else {
    box = h('input', { attrs: { type: 'checkbox', 'aria-label': o.label } });
    element = h(
      'label',
      { class: o.color ? 'check native-check concept-check' : 'check native-check', style },
      box,
      h('span', { class: 'check-label' }, ...(o.content ?? [o.label])),
    );
  }
  box.checked = o.checked;
  // The toolkit's checkbox fires 'change' when `checked` is set from code too: only the user's changes
  // are reported.
  let setting = false;
  box.addEventListener('change', () => {
    if (!setting) o.onChange(box.checked);
  });
  return {
    element,
    get checked() {
      return box.checked;
    },
    setChecked(v: boolean) {
      setting = true;
      try {
        box.checked = v;
      } finally {
        setting = false;
      }
    },
  };
}

export interface SliderOptions {
  label: string;
  min: number;
  max: number;
  step: number;
  value: number;
  format: (v: number) => string;
  onInput: (v: number) => void;
}

/** The toolkit has no slider: a native range input in both modes. */
export function slider(o: SliderOptions): { element: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { class: 'slider', attrs: { type: 'range', min: o.min, max: o.max, step: o.step, 'aria-label': o.label } });
  input.value = String(o.value);
  const out = h('output', { class: 'slider-value' }, o.format(o.value));
  input.addEventListener('input', () => {
    const v = Number(input.value);
    out.textContent = o.format(v);
    o.onInput(v);
  });
  const element = h('label', { class: 'slider-field' }, h('span', { class: 'slider-label' }, o.label), input, out);
  return { element, input };
}

/** Native text field and select, styled with the VS Code input variables (not worth the toolkit's weight). */
export function textField(label: string, placeholder: string, onInput: (v: string) => void): HTMLInputElement {
  const input = h('input', { class: 'text-field', attrs: { type: 'search', placeholder, 'aria-label': label, spellcheck: 'false' } });
  input.addEventListener('input', () => onInput(input.value));
  return input;
}

export function select(label: string, options: { value: string; text: string }[], value: string, onChange: (v: string) => void): HTMLSelectElement {
  const el = h('select', { class: 'select', attrs: { 'aria-label': label } }, ...options.map((o) => h('option', { attrs: { value: o.value } }, o.text)));
  el.value = value;
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

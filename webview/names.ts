/**
 * What the page calls each concept: the name the user gave it, or "Concept #k" with k its rank
 * (1 = most important). One number per concept on the whole page: the rank, never the concept index.
 * Names change while the page is open (a rename here or in another panel of the run), so every element
 * showing one registers how to redraw itself, and a 'names' message redraws exactly those.
 */
import { cleanConceptName, type ConceptNames } from '../src/protocol';

interface Binding {
  el: Element;
  apply: () => void;
}

export class ConceptNamer {
  private names: ConceptNames = {};
  private readonly bindings = new Set<Binding>();
  private pruneAbove = 512;
  private pruneQueued = false;

  /** `rankOf(c)`: concept c's rank, 1 = most important. */
  constructor(
    private readonly rankOf: (c: number) => number,
    names?: ConceptNames,
  ) {
    this.names = sanitize(names);
  }

  /** The name the user gave concept c, if any. */
  given(c: number): string | undefined {
    return Object.prototype.hasOwnProperty.call(this.names, String(c)) ? this.names[String(c)] : undefined;
  }

  rank(c: number): number {
    return this.rankOf(c);
  }

  /** "Concept #k" (k = rank). */
  unnamed(c: number): string {
    return `Concept #${this.rankOf(c)}`;
  }

  /** The concept's name, or "Concept #k". */
  label(c: number): string {
    return this.given(c) ?? this.unnamed(c);
  }

  /**
   * Runs `apply` now and again whenever the names change, as long as `el` is in the page. Elements
   * dropped from the page (a re-rendered grid page, a previous image's details) are forgotten.
   */
  bind(el: Element, apply: () => void): void {
    apply();
    this.bindings.add({ el, apply });
    if (this.bindings.size > this.pruneAbove && !this.pruneQueued) {
      // After the current render has put its new elements in the page.
      this.pruneQueued = true;
      setTimeout(() => {
        this.pruneQueued = false;
        this.prune();
        this.pruneAbove = Math.max(512, 2 * this.bindings.size);
      }, 0);
    }
  }

  /** A span showing concept c's label, kept up to date. */
  text(c: number, className = 'concept-name'): HTMLElement {
    const span = document.createElement('span');
    span.className = className;
    span.dataset.conceptName = String(c);
    this.bind(span, () => (span.textContent = this.label(c)));
    return span;
  }

  /** New names from the host: every element showing a concept is redrawn. */
  set(names: ConceptNames | undefined): void {
    this.names = sanitize(names);
    this.prune();
    for (const b of this.bindings) b.apply();
  }

  private prune(): void {
    for (const b of this.bindings) if (!b.el.isConnected) this.bindings.delete(b);
  }
}

/** Only valid names under index keys, whatever the host sent. */
function sanitize(names: ConceptNames | undefined): ConceptNames {
  const out: ConceptNames = {};
  if (typeof names !== 'object' || names === null) return out;
  for (const [k, v] of Object.entries(names)) {
    const clean = typeof v === 'string' ? cleanConceptName(v) : undefined;
    if (/^\d+$/.test(k) && clean) out[k] = clean;
  }
  return out;
}

/** What the sections read from a BundleView: concepts in importance order and URLs of the bundle's PNGs. */
import type { BundleView, ConceptEntry, FromWebview, ResultsBundle } from '../src/protocol';
import { ConceptNamer } from './names';
import { Refinements } from './refine';

/** The HTML report's global: a BundleView plus the bundle's PNGs as data: URIs, keyed by relative path. */
export interface ReportData extends BundleView {
  files?: Record<string, string>;
}

export type Mode = 'vscode' | 'report';

export interface ViewModel {
  bundle: ResultsBundle;
  runDir: string;
  mode: Mode;
  /** Concepts, most important first. */
  ordered: ConceptEntry[];
  byIndex: Map<number, ConceptEntry>;
  /** Model input [height, width]. */
  size: [number, number];
  /** Thumbnails this small are drawn with hard pixel edges when enlarged. */
  pixelated: boolean;
  /** URL of a bundle file, or undefined when the path is not a plain relative path. */
  url(relative: string | undefined): string | undefined;
  /** Sends a message to the extension host (undefined in the report). */
  post?: (m: FromWebview) => void;
  /** Concept labels (the user's names, else "Concept #rank"), redrawn when the names change. */
  names: ConceptNamer;
  /** The explained class's name. */
  classLabel: string;
  /** A class index's name (bundle.labels), or "class i". */
  className(i: number): string;
  /** True when the run stored each image's prediction. */
  hasPredictions: boolean;
  /** Images the model predicts as another class than the explained one. */
  otherClass: number[];
  /** The refined runs of this run's concepts, nested in their cards (VS Code; absent from reports). */
  refinements: Refinements;
  /** For a refined run: what it refines, in words (from the host). */
  parentLabel?: string;
  /** The host found the model file changed or gone since the run (BundleView.stale). */
  stale?: 'changed' | 'missing';
}

const DATA_PNG = /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+=*$/;

export function makeViewModel(view: ReportData, mode: Mode, post?: (m: FromWebview) => void): ViewModel {
  const bundle = view.bundle;
  const byIndex = new Map(bundle.concepts.map((c) => [c.index, c]));
  const ranked = (bundle.ranking ?? []).map((i) => byIndex.get(i)).filter((c): c is ConceptEntry => c !== undefined);
  const ordered = ranked.length === bundle.concepts.length ? ranked : [...bundle.concepts].sort((a, b) => b.importance - a.importance || a.index - b.index);
  const size = (bundle.settings?.preprocess?.size ?? [0, 0]) as [number, number];
  const base = (view.baseUrl || '.').replace(/\/+$/, '');
  const files = view.files;
  const url = (relative: string | undefined): string | undefined => {
    if (!relative) return undefined;
    if (files) {
      // The report: only embedded pictures exist (a report made before a kind of picture was embedded
      // shows without it, rather than asking for a file its CSP would block).
      const embedded = Object.prototype.hasOwnProperty.call(files, relative) ? files[relative] : undefined;
      return embedded !== undefined && DATA_PNG.test(embedded) ? embedded : undefined;
    }
    return runFileUrl(base, relative);
  };
  const rankOf = new Map(ordered.map((c, k) => [c.index, k + 1]));
  const labels = Array.isArray(bundle.labels) ? bundle.labels : [];
  const className = (i: number): string =>
    (typeof labels[i] === 'string' && labels[i]) || (i === bundle.class.index ? bundle.class.label : undefined) || `class ${i}`;
  const hasPredictions = bundle.images.some((im) => Number.isInteger(im.predicted));
  const vm: ViewModel = {
    bundle,
    runDir: view.runDir,
    mode,
    ordered,
    byIndex,
    size,
    pixelated: Math.max(size[0], size[1]) > 0 && Math.max(size[0], size[1]) <= 96,
    url,
    post,
    names: new ConceptNamer((c) => rankOf.get(c) ?? c + 1, view.names),
    classLabel: bundle.class.label ?? className(bundle.class.index),
    className,
    hasPredictions,
    otherClass: bundle.images.flatMap((im, i) => (Number.isInteger(im.predicted) && im.predicted !== bundle.class.index ? [i] : [])),
    refinements: undefined as unknown as Refinements,
    parentLabel: typeof view.parentLabel === 'string' ? view.parentLabel : undefined,
    stale: view.stale === 'changed' || view.stale === 'missing' ? view.stale : undefined,
  };
  vm.refinements = new Refinements(() => vm, view.children);
  return vm;
}

/** URL of a file of the run folder at `base` (a webview URL), or undefined when the path is not a plain relative path. */
export function runFileUrl(base: string, relative: string | undefined): string | undefined {
  if (!relative) return undefined;
  const parts = relative.split('/');
  // Only plain paths inside the run folder: no absolute paths, no '..', no schemes.
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes(':'))) return undefined;
  return `${base.replace(/\/+$/, '')}/${parts.map(encodeURIComponent).join('/')}`;
}

/** `url("…")` for CSS, with the characters that could end the string percent-encoded. */
export function cssUrl(url: string): string {
  return `url("${url.replace(/["\\\n\r\f]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))}")`;
}

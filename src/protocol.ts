/**
 * The contract shared by the engine, the extension host and the webview: the results bundle schema
 * (results.json) and the messages exchanged with the webview. No imports: both sides compile this file.
 */

export const RESULTS_VERSION = 1;

/** How images become model input. Stored in results.json and in the workspace config file. */
export interface PreprocessConfig {
  /** Model input size [height, width]. */
  size: [number, number];
  /** Tensor layout, read from the model's input shape. */
  layout: 'NCHW' | 'NHWC';
  /** Channel order fed to the model. */
  channelOrder: 'RGB' | 'BGR';
  /** Pixel values 0..255 are mapped linearly onto [range[0], range[1]] before mean/std. */
  range: [number, number];
  /** Per-channel mean subtracted after scaling (in channelOrder). */
  mean: [number, number, number];
  /** Per-channel std divided after subtracting the mean (in channelOrder). */
  std: [number, number, number];
  /** Kernel used to resize whole images to `size` (antialiased when shrinking). */
  resize: 'bilinear' | 'bicubic' | 'nearest' | 'lanczos3';
}

/**
 * Execution providers, the one list every surface reads (CLI, config file, settings, schema, the
 * webview): add a provider here and the compiler points at each place that must handle it.
 */
export const PROVIDERS = ['cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
/** What a user may ask for: a provider, or 'auto' (the best one that loads, else the CPU). */
export const PROVIDER_REQUESTS = ['auto', ...PROVIDERS] as const;
export type ProviderRequest = (typeof PROVIDER_REQUESTS)[number];

/** A float32 array stored beside results.json (little-endian, row-major), relative to the run folder. */
export interface ArrayRef {
  file: string;
  rows: number;
  cols: number;
}

/** The execution provider of a run, in more detail than its name. */
export interface ProviderDetails {
  /** One line: which provider ran, and why each better one was skipped. */
  notice: string;
  /** The device, where the machine tells it (e.g. "NVIDIA H200", "SwiftShader (software Vulkan)"). */
  device?: string;
  /** Providers 'auto' passed over, best first, with the reason. */
  skipped: { provider: ProviderName; reason: string }[];
  /**
   * Share of the graph nodes that ran on the provider rather than falling back to the CPU, from ONNX
   * Runtime's profile of g and of h on the probe images (absent for the CPU provider).
   */
  nodeShare?: { g: number; h: number };
}

/** One top crop of a concept: a patch of one image, at the grid position it was cut from. */
export interface CropEntry {
  /** Index into ResultsBundle.images. */
  image: number;
  /** Top-left corner and side of the patch, in model-input pixels. */
  x: number;
  y: number;
  size: number;
  /** The crop's NMF coefficient for this concept (U[crop, concept]). */
  coefficient: number;
  /** PNG file relative to the bundle folder. */
  file: string;
}

export interface ConceptEntry {
  /** Concept index (row of W, column of U). */
  index: number;
  /** Display colour, '#rrggbb'. */
  color: string;
  /** Global Sobol total-order importance (mean over images). */
  importance: number;
  /** importance / sum of importances (0 when the sum is 0). */
  share: number;
  /** 0 = most important. */
  rank: number;
  crops: CropEntry[];
  /**
   * The top image regions: squares around the latent cells with the highest image-scale coefficients
   * (at most one per image), as large as a crop; absent for vector layers and older runs.
   */
  regions?: CropEntry[];
  /**
   * Rank correlation, over all crops, between a crop's coefficient and the image-scale coefficient
   * averaged over the cells it covers (docs/method.md §6.1): near 1 the crops and the maps agree.
   */
  scaleAgreement?: number;
}

/**
 * C-Deletion and C-Insertion (docs/method.md §7): the class output of h, averaged over the images, with
 * the k most important concepts removed (deletion) or with only them kept (insertion), k = 0…r.
 */
export interface FidelityCurves {
  deletion: number[];
  insertion: number[];
  /** Areas under the curves (trapezoid, x = k/r); a faithful ranking gives a small deletion area, a large insertion area. */
  deletionAuc: number;
  insertionAuc: number;
  /** The same for random concept orders: mean curves and areas over `orders` seeded orders. */
  random: { deletion: number[]; insertion: number[]; deletionAuc: number; insertionAuc: number; orders: number };
}

export interface ImageEntry {
  /** Path relative to the dataset folder (forward slashes). */
  path: string;
  /** Original pixel size. */
  width: number;
  height: number;
  /** The image as the model saw it (resized), PNG relative to the bundle folder. */
  thumbnail: string;
  /** Per-image total-order importances, concept order. */
  importances: number[];
  /** Mean concept coefficient over the image's latent positions, concept order. */
  presence: number[];
  /** The class the model predicts for the image (argmax of its output). */
  predicted?: number;
  /** The model's output for the explained class (a logit, unless the model ends with a softmax). */
  classScore?: number;
  /** Softmax probability of the explained class (the output itself when the model ends with a softmax). */
  classProbability?: number;
  /**
   * Concept attribution map overlays: one RGBA PNG (relative to the bundle), a vertical strip of r equal
   * tiles, concept c in tile c, drawn in the concept's colour; each tile covers the whole image (scale it
   * to the image size). Absent for 2-D layers.
   */
  maps?: string;
  /** Crop-scale overlays, in the same strip layout: each crop's coefficient painted over its patch, overlaps averaged. */
  cropMaps?: string;
}

export interface SkippedImage {
  path: string;
  reason: string;
}

export interface ResultsBundle {
  version: typeof RESULTS_VERSION;
  createdAt: string;
  tool: { name: string; version: string };
  model: {
    /** Absolute path of the ONNX file (or of g when g and h were given separately). */
    path: string;
    hPath?: string;
    /**
     * SHA-256 (hex) of the model file's bytes (of g when h was given apart) and of h's, as they were
     * explained: the results panel compares them with the files now (absent in older runs).
     */
    sha256?: string;
    hSha256?: string;
    inputName: string;
    inputShape: (number | string)[];
    outputName: string;
  };
  layer: {
    name: string;
    /** Activation shape of one item, e.g. [64, 7, 7] (NCHW) or [64]. */
    shape: number[];
    /** True when activations are 4-D feature maps (spatial importance and maps). */
    spatial: boolean;
  };
  class: { index: number; label?: string };
  labels?: string[];
  /** Absolute path of the image folder. */
  datasetRoot: string;
  settings: {
    concepts: number;
    patchSize: number;
    stride: number;
    cropsPerImage: number;
    batchSize: number;
    designs: number;
    preprocess: PreprocessConfig;
    nmf: { tol: number; maxIter: number; alphaW: number };
    mapPercentile: number;
    providerRequested: ProviderRequest;
  };
  provider: ProviderName;
  /** How the provider was chosen and what ran on it (absent in runs made before it was recorded). */
  providerDetails?: ProviderDetails;
  images: ImageEntry[];
  skipped: SkippedImage[];
  concepts: ConceptEntry[];
  /** Concept bank, r × p. */
  W: number[][];
  /** Global importances, concept order. */
  importances: number[];
  /** Concept indices, most important first. */
  ranking: number[];
  /** How well the ranking explains the class output (absent in runs made before it was computed). */
  fidelity?: FidelityCurves;
  /**
   * The coefficients behind the pictures, for later work on the run: U of every crop ((image, crop)
   * × r, crops in grid order) and of every latent cell of every image ((image, y, x) × r).
   */
  arrays?: { cropCoefficients: ArrayRef; imageCoefficients: ArrayRef };
  nmf: {
    /** ‖A − UW‖_F / ‖A‖_F on the crop activations. */
    reconstructionError: number;
    iterations: number;
    converged: boolean;
  };
  /** max |h(g(x)) − f(x)| on the probe batch (absent when g and h were given as files). */
  splitCheck?: { maxAbsDiff: number; images: number };
  /** Seconds per stage, plus 'total'. */
  timings: Record<string, number>;
  warnings: string[];
  /** Set on a refined run: the run and concept it refines (docs/method.md §8). */
  parent?: ParentLink;
}

// ---------------------------------------------------------------------------------------------
// Recursive sub-concepts (docs/method.md §8): a refined run factorises the crops where one concept of
// its parent run is strong at an earlier layer. It is a normal run whose images are those crops (kept
// inside its folder, `datasetRoot` relative to it) and which links back to its parent.

/** A refined run's link to the run it refines. */
export interface ParentLink {
  /** The parent run folder, relative to this run's folder (forward slashes). */
  run: string;
  /** The parent's concept (index) whose crops were factorised again. */
  concept: number;
  /** The percentile of that concept's crop coefficients the crops had to reach (the paper's 90). */
  percentile: number;
  /** Its value: the crops kept have a coefficient ≥ threshold (and > 0). */
  threshold: number;
  /** The crops kept, as rows of the parent's crop coefficients ((image, crop) order): image i here is crop crops[i]. */
  crops: number[];
}

/** One sub-concept as the parent's page shows it nested in the concept's card. */
export interface SubConcept {
  /** Concept index in the refined run. */
  index: number;
  color: string;
  importance: number;
  share: number;
  /** 0 = most important. */
  rank: number;
  /** The name the user gave it in the refined run's panel. */
  name?: string;
  /** Its first top crops (files relative to the refined run's folder). */
  crops: CropEntry[];
}

/** A refined run of one of this run's concepts, found in this run's `refined/` folder. */
export interface RefinedRun {
  /** The refined run's folder, relative to this run's folder (forward slashes). */
  path: string;
  /** The concept of this run it refines. */
  concept: number;
  /** The earlier layer its crops were factorised at. */
  layer: string;
  createdAt: string;
  /** Crops factorised (those at or above the threshold). */
  crops: number;
  percentile: number;
  threshold: number;
  /** Its concepts, most important first. */
  concepts: SubConcept[];
}

// ---------------------------------------------------------------------------------------------
// Several classes in one run (the engine's classes/set.ts): a set folder holds one normal run folder
// per class and classes.json, the index below.

export const CLASS_SET_VERSION = 1;

export interface ClassSetEntry {
  index: number;
  label?: string;
  /** The class's run folder, relative to the set folder (a plain folder name). */
  run: string;
  /** Images the class's run explained. */
  images: number;
  /** Where its images came from: its folder, or the set's folder (by prediction). */
  source: string;
}

/** Two concepts of two classes and the cosine of their directions in the layer's channel space (W rows). */
export interface ConceptMatch {
  /** Concept index in the pair's first class, and in its second. */
  a: number;
  b: number;
  cosine: number;
}

/** What two classes of a set share (a < b, positions in ClassSet.classes). */
export interface ClassPair {
  a: number;
  b: number;
  /** cosine[i][j]: concept i of class a against concept j of class b, each W row normalised (a row of zeros: 0). */
  cosine: number[][];
  /** One-to-one pairs of concepts, most similar first (greedy on the cosine). */
  matches: ConceptMatch[];
  /** Images of a counted under b plus images of b counted under a (see ClassSet.confusion). */
  confused: number;
}

export interface ClassSet {
  version: typeof CLASS_SET_VERSION;
  createdAt: string;
  tool: { name: string; version: string };
  model: string;
  layer: string;
  /** 'folders': one folder per class; 'predictions': one folder, each image under the class the model predicts. */
  mode: 'folders' | 'predictions';
  /** The image folder given (absent when every class's folder was given on its own). */
  datasetRoot?: string;
  classes: ClassSetEntry[];
  /**
   * The model's confusion between the classes. basis 'folders': counts[a][b] images of class a's folder
   * that the model predicts as class b. basis 'runner-up' (one folder, no labels): counts[a][b] images
   * predicted as a whose second most likely class is b. `other[a]`: those counted under a class outside
   * the set; `totals[a]`: the row's images.
   */
  confusion: { basis: 'folders' | 'runner-up'; counts: number[][]; other: number[]; totals: number[] };
  /** Every pair of classes, (0, 1), (0, 2), … */
  pairs: ClassPair[];
  /** The pair the model confuses most (the first pair when it confuses none); absent with one class. */
  mostConfused?: { a: number; b: number };
  /** Images of the set's folder left out: predicted as a class outside the set, or unreadable (by prediction). */
  unassigned?: { predicted: Record<string, number>; unreadable: number };
  /** Seconds: the shared work (model, predictions) and the whole set. */
  timings: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// Webview ⇄ extension host messages. The webview only ever receives small results (the bundle's JSON
// and URLs of its PNGs), never models or tensors; it can only ask for actions on the run it shows.

/** How the webview addresses the bundle's files: `${baseUrl}/${relativePath}`. */
export interface BundleView {
  bundle: ResultsBundle;
  /** URL of the run folder as the page can load it (webview URI, or '.' in the HTML report). */
  baseUrl: string;
  /** Absolute run folder on the host (shown in the header, used to restore the panel). */
  runDir: string;
  /** Names the user gave concepts (concept index → name), kept beside the run in names.json. */
  names?: ConceptNames;
  /** When the run is one class of a set: the set, to switch class and compare concepts. */
  set?: ClassSetView;
  /** Refined runs of this run's concepts (sub-concepts), newest first. */
  children?: RefinedRun[];
  /** For a refined run: what it refines, in words (e.g. "Concept #2 of the run 20261125-…-ankle-boot"). */
  parentLabel?: string;
  /**
   * Set when the model file no longer holds what was explained (its SHA-256 differs from results.json's)
   * or is gone: the page says the results are stale. Absent when the model is unchanged or not checked.
   */
  stale?: 'changed' | 'missing';
}

/** A set as the page sees it: the index, which class is shown, and each class's concepts with their crops. */
export interface ClassSetView {
  index: ClassSet;
  /** Position of the shown class in index.classes. */
  current: number;
  runs: { baseUrl: string; concepts: ConceptEntry[]; ranking: number[]; names?: ConceptNames }[];
}

/** Concept index (as a string key) → the name the user gave it. */
export type ConceptNames = Record<string, string>;

/** The explained class's label: the run's own, else from its labels; undefined when it has none. */
export function runClassLabel(b: Pick<ResultsBundle, 'class' | 'labels'>): string | undefined {
  return b.class.label ?? b.labels?.[b.class.index];
}

/** The explained class in words: its label, or "class 9". */
export function runClassName(b: Pick<ResultsBundle, 'class' | 'labels'>): string {
  return runClassLabel(b) ?? `class ${b.class.index}`;
}

/** Longest concept name accepted (characters, after trimming). */
export const MAX_CONCEPT_NAME = 60;

/** A name as stored: trimmed, inner whitespace runs collapsed; undefined when it holds a control character or is too long. */
export function cleanConceptName(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name.replace(/[\t\n]/g, ' '))) return undefined;
  const clean = name.replace(/\s+/g, ' ').trim();
  return clean.length <= MAX_CONCEPT_NAME ? clean : undefined;
}

/** Most a concept can be scaled in a what-if: beyond a few times its size the reconstruction leaves what h saw. */
export const MAX_WHATIF_SCALE = 4;

/** A class's score in a what-if answer. */
export interface WhatIfScore {
  index: number;
  label?: string;
  /** The model's output for the class (a logit, or a probability when the model ends with a softmax). */
  logit: number;
  probability: number;
}

/** What h makes of one image's reconstruction with its concepts scaled (src/craft/whatif.ts). */
export interface WhatIfAnswer {
  image: number;
  scales: number[];
  /** The explained class under these scales, and the best classes, most probable first. */
  target: WhatIfScore;
  top: WhatIfScore[];
  /** The same with every scale 1: the image's own reconstruction, for comparison. */
  reconstruction: { target: WhatIfScore; top: WhatIfScore[] };
}

/** Host → webview. */
export type ToWebview =
  /** Render a run (sent after 'ready', and whenever another run is opened in the same panel). */
  | { type: 'show'; view: BundleView }
  /** The run could not be loaded (e.g. its folder was deleted). */
  | { type: 'error'; message: string }
  /** The concept names changed (after a rename, here or in another panel of the same run). */
  | { type: 'names'; names: ConceptNames }
  /** The answer to the page's what-if `id` (or why there is none). */
  | { type: 'whatIfAnswer'; id: number; answer?: WhatIfAnswer; error?: string }
  /** The refined runs of this run changed (a refinement finished). */
  | { type: 'children'; children: RefinedRun[] }
  /** A refinement of `concept` started or ended (`error`: why it failed). */
  | { type: 'refining'; concept: number; running: boolean; error?: string };

/** Webview → host. */
export type FromWebview =
  /** The page has loaded and can receive 'show'. */
  | { type: 'ready' }
  /** Open source image `image` (index into bundle.images) in an editor beside. */
  | { type: 'openImage'; image: number }
  /** Reveal the run folder in the OS / explorer. */
  | { type: 'openFolder' }
  /** Save the standalone HTML report. */
  | { type: 'exportHtml' }
  /** Name concept `concept` (an empty name removes the name). */
  | { type: 'renameConcept'; concept: number; name: string }
  /** What would h say of image `image` with concept c scaled by scales[c] (0…MAX_WHATIF_SCALE)? */
  | { type: 'whatIf'; id: number; image: number; scales: number[] }
  /** Show class `position` of the run's set (index into ClassSet.classes) in this panel. */
  | { type: 'showClass'; position: number }
  /** Refine concept `concept` into sub-concepts (the host asks for the layer). */
  | { type: 'refineConcept'; concept: number }
  /** Open refined run `child` (index into the children last sent) in its own panel. */
  | { type: 'openChild'; child: number }
  /** Open the run this run refines. */
  | { type: 'openParent' };

/** State the webview keeps with setState so a reload restores the same view. */
export interface WebviewState {
  runDir: string;
  selectedImage?: number;
  opacity?: number;
  /** Which concepts' maps are drawn: each image's top 3, all, none, or all but `hiddenConcepts`. */
  overlay?: 'top' | 'all' | 'none' | 'custom';
  hiddenConcepts?: number[];
  /** Image-scale maps (`maps`) or crop-scale maps (`cropMaps`). */
  mapScale?: 'image' | 'crop';
  /** The two classes (positions in the set) the shared-concepts view compares. */
  pair?: [number, number];
}

/** How many of each thing the shown run has: what a message's indices may address (none when absent). */
export interface MessageCounts {
  images: number;
  concepts?: number;
  /** Classes of the run's set. */
  classes?: number;
  /** Refined runs last sent to the page. */
  children?: number;
}

/** The keys each webview message carries: exactly these, no more (see parseFromWebview). */
const FROM_WEBVIEW_KEYS: Record<FromWebview['type'], readonly string[]> = {
  ready: ['type'],
  openImage: ['type', 'image'],
  openFolder: ['type'],
  exportHtml: ['type'],
  renameConcept: ['type', 'concept', 'name'],
  whatIf: ['type', 'id', 'image', 'scales'],
  showClass: ['type', 'position'],
  refineConcept: ['type', 'concept'],
  openChild: ['type', 'child'],
  openParent: ['type'],
};

/**
 * Checks a message coming from the webview: anything else is ignored by the host. Accepted: a plain
 * object (as the page's postMessage delivers it) with exactly the own keys of a known type, and for
 * 'openImage' an integer index into the run's `images`; for 'renameConcept' an index
 * into its `concepts` and a name cleanConceptName accepts; for 'whatIf' an image index and
 * one finite scale in 0…MAX_WHATIF_SCALE per concept; for 'showClass' a position among the
 * `classes` of the run's set (none when the run belongs to none); for 'refineConcept' a concept index;
 * for 'openChild' an index into the `children` (refined runs) the page was sent. The result is a fresh
 * object, so nothing else the page sent (e.g. a `__proto__` key) reaches the host's code.
 */
export function parseFromWebview(value: unknown, counts: MessageCounts): FromWebview | undefined {
  const { images: imageCount, concepts: conceptCount = 0, classes: classCount = 0, children: childCount = 0 } = counts;
  if (typeof value !== 'object' || value === null) return undefined;
  // Plain objects only (arrays, class instances and anything inheriting fields are not messages).
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const m = value as Record<string, unknown>;
  const type = m.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(FROM_WEBVIEW_KEYS, type)) return undefined;
  // Exactly the type's own keys (symbols and non-enumerable ones count too).
  const expected = FROM_WEBVIEW_KEYS[type as FromWebview['type']];
  const keys = Reflect.ownKeys(m);
  if (keys.length !== expected.length || !expected.every((k) => keys.includes(k))) return undefined;
  switch (type) {
    case 'ready':
    case 'openFolder':
    case 'exportHtml':
    case 'openParent':
      return { type };
    case 'openImage':
      return Number.isInteger(m.image) && (m.image as number) >= 0 && (m.image as number) < imageCount
        ? { type: 'openImage', image: m.image as number }
        : undefined;
    case 'whatIf': {
      const index = (v: unknown, below: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < below;
      const scales = m.scales;
      if (!index(m.id, Number.MAX_SAFE_INTEGER) || !index(m.image, imageCount) || !Array.isArray(scales) || scales.length !== conceptCount) return undefined;
      if (!scales.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= MAX_WHATIF_SCALE)) return undefined;
      return { type: 'whatIf', id: m.id as number, image: m.image as number, scales: [...(scales as number[])] };
    }
    case 'renameConcept': {
      if (!Number.isInteger(m.concept) || (m.concept as number) < 0 || (m.concept as number) >= conceptCount) return undefined;
      const name = typeof m.name === 'string' ? cleanConceptName(m.name) : undefined;
      return name === undefined ? undefined : { type: 'renameConcept', concept: m.concept as number, name };
    }
    case 'showClass':
      return isIndex(m.position, classCount) ? { type: 'showClass', position: m.position } : undefined;
    case 'refineConcept':
      return isIndex(m.concept, conceptCount) ? { type: 'refineConcept', concept: m.concept } : undefined;
    case 'openChild':
      return isIndex(m.child, childCount) ? { type: 'openChild', child: m.child } : undefined;
    default:
      return undefined;
  }
}

/** An integer from 0 to count − 1. */
function isIndex(v: unknown, count: number): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) < count;
}

import type { PreprocessConfig, ProviderRequest } from '../protocol';
import { ENGINE_DEFAULTS } from './option-table';

/** Named stages of a run, in order (progress, timings and the output channel use these names). */
export const STAGES = ['model', 'activations', 'nmf', 'transform', 'importance', 'fidelity', 'maps', 'write'] as const;
export type Stage = (typeof STAGES)[number];

export interface Progress {
  stage: Stage;
  done: number;
  total: number;
  /** e.g. "images", "crops", "designs" */
  unit: string;
  /** In a run over several classes: which part of it this is (a class's run, or the shared pass over the images). */
  part?: { index: number; of: number; label: string };
}

/** A class as given: its index, or its label ("Ankle boot", "ankle_boot"). */
export type ClassRef = string | number;

/** Everything one explanation run needs. Paths are absolute. */
export interface ExplainOptions {
  /** The full classifier, or g when `hModel` is given. */
  model: string;
  /** h as a separate file (then `model` is g and `layer` is g's output). */
  hModel?: string;
  images: string;
  classId: ClassRef;
  layer?: string;
  /** Model input size when the model's spatial dimensions are dynamic. */
  size?: [number, number];
  labelsFile?: string;
  preset?: string;
  preprocess?: Partial<PreprocessConfig>;
  concepts: number;
  patch: number;
  batch: number;
  designs: number;
  provider: ProviderRequest;
  /** Results root; each run gets its own folder inside. */
  out: string;
  tol: number;
  maxIter: number;
  alphaW: number;
  /** Dataset-wide percentile under which map coefficients are dropped (torch notebook: 90). */
  mapPercentile: number;
  topCrops: number;
  maxImages?: number;
  maxPixels?: number;
  threads?: number;
  /**
   * Cache size limit in MB; 0 or absent: no cache. The CLI and the extension pass the option table's
   * default (2048). The cache is `<out>/.cache` (docs/method.md §13).
   */
  cacheSize?: number;
  /**
   * The folder whose `.cache` the run uses, when not `out`: the classes of a set are written inside
   * the set's folder but share the cache of the results root the set is written to.
   */
  cacheRoot?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** One line per event worth keeping (notices, skipped files, timings). */
  log?: (line: string) => void;
}

/**
 * A run over several classes (classes/set.ts, like xplique's CraftManager): the options of one run,
 * with the classes listed and how each class gets its images.
 */
export interface ClassSetOptions extends Omit<ExplainOptions, 'classId'> {
  classes: ClassRef[];
  /** One folder of images, each image explained under the class the model predicts for it. */
  byPrediction?: boolean;
  /** Class (index or label) → its folder; classes not listed use the sub-folder of `images` named after them. */
  classFolders?: Record<string, string>;
}

/** The engine's defaults; the values live in the option table (option-table.ts). */
export const DEFAULTS = ENGINE_DEFAULTS;

/** The options of a run as the surfaces gather them: one class, or a list of classes. */
export type GatheredOptions = Omit<ExplainOptions, 'classId'> & {
  classId: ClassRef | ClassRef[];
  byPrediction?: boolean;
  classFolders?: Record<string, string>;
};

/**
 * A list of classes (or by prediction, even of one class) is a run over several classes
 * (classes/set.ts); one class is a normal run, and the set's options are dropped from it.
 */
export function runOptions(o: GatheredOptions): ExplainOptions | ClassSetOptions {
  const { classId, byPrediction, classFolders, ...rest } = o;
  if (Array.isArray(classId) || byPrediction) {
    return { ...rest, classes: Array.isArray(classId) ? classId : [classId], byPrediction: byPrediction || undefined, classFolders };
  }
  return { ...rest, classId };
}

export function isClassSet(o: ExplainOptions | ClassSetOptions): o is ClassSetOptions {
  return 'classes' in o;
}

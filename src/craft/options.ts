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
}

/** Everything one explanation run needs. Paths are absolute. */
export interface ExplainOptions {
  /** The full classifier, or g when `hModel` is given. */
  model: string;
  /** h as a separate file (then `model` is g and `layer` is g's output). */
  hModel?: string;
  images: string;
  classId: string | number;
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
   * default (2048). The cache is `<out>/.cache` (docs/method.md §12).
   */
  cacheSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** One line per event worth keeping (notices, skipped files, timings). */
  log?: (line: string) => void;
}

/** The engine's defaults; the values live in the option table (option-table.ts). */
export const DEFAULTS = ENGINE_DEFAULTS;

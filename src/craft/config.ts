import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from './errors';
import type { ExplainOptions } from './options';

/**
 * The workspace config file (craft.config.json): the choices made once for a model and dataset.
 * Paths are relative to the file. Every key is optional; command-line flags override it.
 */
export interface ConfigFile {
  model?: string;
  h?: string;
  images?: string;
  class?: string | number;
  layer?: string;
  size?: number | [number, number];
  labels?: string;
  preset?: string;
  preprocess?: Record<string, unknown>;
  concepts?: number;
  patch?: number;
  batch?: number;
  designs?: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  out?: string;
  maxImages?: number;
}

const NUMBER_KEYS = ['concepts', 'patch', 'batch', 'designs', 'maxImages'] as const;
const PATH_KEYS = ['model', 'h', 'images', 'labels', 'out'] as const;

export function readConfigFile(file: string): Partial<ExplainOptions> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CraftError('usage', `Cannot read the config file ${file}: ${(e as Error).message}`);
  }
  return configToOptions(raw, path.dirname(path.resolve(file)), file);
}

/** Checks a parsed config object and turns it into options with absolute paths. */
export function configToOptions(raw: unknown, baseDir: string, where: string): Partial<ExplainOptions> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CraftError('usage', `${where} must hold a JSON object.`);
  }
  const c = raw as Record<string, unknown>;
  const bad = (key: string, want: string) =>
    new CraftError('usage', `${where}: "${key}" must be ${want}, got ${JSON.stringify(c[key])}.`);
  const out: Partial<ExplainOptions> = {};
  for (const key of PATH_KEYS) {
    if (c[key] === undefined) continue;
    if (typeof c[key] !== 'string') throw bad(key, 'a path (string)');
    const abs = path.resolve(baseDir, c[key] as string);
    if (key === 'model') out.model = abs;
    else if (key === 'h') out.hModel = abs;
    else if (key === 'images') out.images = abs;
    else if (key === 'labels') out.labelsFile = abs;
    else out.out = abs;
  }
  for (const key of NUMBER_KEYS) {
    if (c[key] === undefined) continue;
    if (!Number.isInteger(c[key]) || (c[key] as number) < 1) throw bad(key, 'a positive integer');
    out[key] = c[key] as number;
  }
  if (c.class !== undefined) {
    if (typeof c.class !== 'string' && typeof c.class !== 'number') throw bad('class', 'a class index or label');
    out.classId = c.class;
  }
  if (c.layer !== undefined) {
    if (typeof c.layer !== 'string') throw bad('layer', 'a tensor name (string)');
    out.layer = c.layer;
  }
  if (c.size !== undefined) out.size = parseSize(c.size, where);
  if (c.preset !== undefined) {
    if (typeof c.preset !== 'string') throw bad('preset', 'a preset name');
    out.preset = c.preset;
  }
  if (c.preprocess !== undefined) {
    if (typeof c.preprocess !== 'object' || c.preprocess === null) throw bad('preprocess', 'an object');
    out.preprocess = c.preprocess as ExplainOptions['preprocess'];
  }
  if (c.provider !== undefined) {
    if (c.provider !== 'auto' && c.provider !== 'cpu' && c.provider !== 'cuda') throw bad('provider', '"auto", "cpu" or "cuda"');
    out.provider = c.provider;
  }
  return out;
}

/** "224", "224x192", 224 or [224, 192] → [height, width]. */
export function parseSize(value: unknown, where = '--size'): [number, number] {
  let parts: unknown[];
  if (typeof value === 'number') parts = [value, value];
  else if (typeof value === 'string') parts = value.toLowerCase().split('x').map(Number);
  else if (Array.isArray(value)) parts = value;
  else parts = [];
  if (parts.length === 1) parts = [parts[0], parts[0]];
  if (parts.length !== 2 || !parts.every((p) => Number.isInteger(p) && (p as number) > 0)) {
    throw new CraftError('usage', `${where}: the size must be H or HxW in pixels (e.g. 224 or 224x192), got ${JSON.stringify(value)}.`);
  }
  return parts as [number, number];
}

/**
 * The workspace config file craft.config.json at a workspace folder's root (format: src/craft/config.ts):
 * read for the choices made before, merged with new choices after a run. Unknown keys are kept and
 * paths are written relative to the file, so the file stays hand-editable and shareable.
 */
import * as fs from 'fs';
import * as path from 'path';
import { configToOptions } from '../craft/config';
import { CraftError } from '../craft/errors';
import type { ExplainOptions } from '../craft/options';

export const CONFIG_FILE = 'craft.config.json';

export interface WorkspaceConfig {
  file: string;
  exists: boolean;
  /** The parsed JSON object, as written (relative paths). */
  raw: Record<string, unknown>;
  /** The same, checked and with absolute paths. */
  options: Partial<ExplainOptions>;
}

/** What a run remembers: the answers to the prompts. */
export interface Choices {
  model?: string;
  images?: string;
  class?: string | number;
  /** The label of `class`, so that "class": "Ankle boot" is not rewritten as 9. Never written. */
  classLabel?: string;
  layer?: string;
  size?: [number, number];
}

export async function readWorkspaceConfig(folder: string): Promise<WorkspaceConfig> {
  const file = path.join(folder, CONFIG_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return { file, exists: false, raw: {}, options: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CraftError('usage', `${file} is not valid JSON: ${(e as Error).message}`, `Fix or delete ${CONFIG_FILE}; it holds the choices CRAFT remembers.`);
  }
  const options = configToOptions(raw, folder, file);
  return { file, exists: true, raw: raw as Record<string, unknown>, options };
}

/** A path as the config file stores it: relative to its folder when inside it, forward slashes. */
export function configPath(folder: string, abs: string): string {
  const rel = path.relative(folder, abs);
  if (rel === '') return '.';
  if (rel.startsWith('..') || path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join('/');
}

/**
 * Merges `choices` into the config file (creating it when missing). Keys whose meaning is unchanged
 * keep their written form (e.g. "class": "Ankle boot" is not rewritten as 9). Returns the keys written.
 */
export async function rememberChoices(folder: string, choices: Choices): Promise<string[]> {
  const current = await readWorkspaceConfig(folder);
  const raw: Record<string, unknown> = { ...current.raw };
  const old = current.options;
  const changed: string[] = [];
  const set = (key: string, value: unknown) => {
    raw[key] = value;
    changed.push(key);
  };
  if (choices.model !== undefined && !samePath(old.model, choices.model)) {
    set('model', configPath(folder, choices.model));
    // Settings tied to the previous model no longer apply.
    for (const key of ['h', 'labels']) if (key in raw) {
      delete raw[key];
      changed.push(`-${key}`);
    }
  }
  if (choices.images !== undefined && !samePath(old.images, choices.images)) set('images', configPath(folder, choices.images));
  if (choices.class !== undefined && !sameClass(old.classId, choices.class, choices.classLabel)) set('class', choices.class);
  if (choices.layer !== undefined && old.layer !== choices.layer) set('layer', choices.layer);
  if (choices.size !== undefined && (old.size?.[0] !== choices.size[0] || old.size?.[1] !== choices.size[1])) set('size', choices.size);
  if (changed.length === 0 && current.exists) return [];
  await fs.promises.writeFile(current.file, JSON.stringify(raw, null, 2) + '\n');
  return changed;
}

function sameClass(old: string | number | undefined, value: string | number, label: string | undefined): boolean {
  if (old === undefined) return false;
  const norm = (x: string | number) => String(x).toLowerCase().replace(/[\s_\-/]+/g, ' ').trim();
  return norm(old) === norm(value) || (label !== undefined && norm(old) === norm(label));
}

function samePath(a: string | undefined, b: string): boolean {
  return a !== undefined && path.resolve(a) === path.resolve(b);
}

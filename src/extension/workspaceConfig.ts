/**
 * The workspace config file craft.config.json at a workspace folder's root (format: src/craft/config.ts):
 * read for the choices made before, merged with new choices after a run. The file is edited in its
 * text: only the keys a run sets change, everything else (notes under "$" keys, layout, order, a byte
 * order mark) stays as the user wrote it; paths are written relative to the file, so it stays
 * hand-editable and shareable.
 */
import * as fs from 'fs';
import * as path from 'path';
import { configToOptions } from '../craft/config';
import { CraftError } from '../craft/errors';
import { BOM, stripBom } from '../craft/text';
import { editJsonObject } from './jsonEdit';
import type { GatheredOptions } from '../craft/options';
import type { ProviderRequest } from '../protocol';

export const CONFIG_FILE = 'craft.config.json';

export interface WorkspaceConfig {
  file: string;
  exists: boolean;
  /** The file's text, as written ('' when there is no file). */
  text: string;
  /** The parsed JSON object, as written (relative paths). */
  raw: Record<string, unknown>;
  /** The same, checked and with absolute paths. */
  options: Partial<GatheredOptions>;
}

/** What a run remembers: the answers to the prompts, and the arguments it was given. */
export interface Choices {
  model?: string;
  images?: string;
  class?: string | number;
  /** The label of `class`, so that "class": "Ankle boot" is not rewritten as 9. Never written. */
  classLabel?: string;
  layer?: string;
  size?: [number, number];
  /** Changed in the confirmation before a run (arguments of scripts are not remembered). */
  concepts?: number;
  provider?: ProviderRequest;
}

export async function readWorkspaceConfig(folder: string): Promise<WorkspaceConfig> {
  const file = path.join(folder, CONFIG_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return { file, exists: false, text: '', raw: {}, options: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stripBom(text));
  } catch (e) {
    throw new CraftError('usage', `${file} is not valid JSON: ${(e as Error).message}`, `Fix or delete ${CONFIG_FILE}; it holds the choices CRAFT remembers.`);
  }
  const options = configToOptions(raw, folder, file);
  return { file, exists: true, text, raw: raw as Record<string, unknown>, options };
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
  const old = current.options;
  const changed: string[] = [];
  const values: Record<string, unknown> = {};
  const removed: string[] = [];
  const set = (key: string, value: unknown) => {
    values[key] = value;
    changed.push(key);
  };
  if (choices.model !== undefined && !samePath(old.model, choices.model)) {
    set('model', configPath(folder, choices.model));
    // Settings tied to the previous model no longer apply.
    for (const key of ['h', 'labels'])
      if (key in current.raw) {
        removed.push(key);
        changed.push(`-${key}`);
      }
  }
  if (choices.images !== undefined && !samePath(old.images, choices.images)) set('images', configPath(folder, choices.images));
  if (choices.class !== undefined && !sameClass(old.classId, choices.class, choices.classLabel)) set('class', choices.class);
  if (choices.layer !== undefined && old.layer !== choices.layer) set('layer', choices.layer);
  if (choices.size !== undefined && (old.size?.[0] !== choices.size[0] || old.size?.[1] !== choices.size[1])) set('size', choices.size);
  if (choices.concepts !== undefined && old.concepts !== choices.concepts) set('concepts', choices.concepts);
  if (choices.provider !== undefined && old.provider !== choices.provider) set('provider', choices.provider);
  if (changed.length === 0 && current.exists) return [];
  let text = editJsonObject(current.exists ? current.text : '{}\n', values, removed);
  if (text === undefined) {
    // A file the in-place edit could not handle: written whole (its BOM kept).
    const raw: Record<string, unknown> = { ...current.raw, ...values };
    for (const key of removed) delete raw[key];
    text = (current.text.startsWith(BOM) ? BOM : '') + JSON.stringify(raw, null, 2) + '\n';
  }
  await fs.promises.writeFile(current.file, text);
  return changed;
}

function sameClass(old: string | number | (string | number)[] | undefined, value: string | number, label: string | undefined): boolean {
  if (old === undefined || Array.isArray(old)) return false;
  const norm = (x: string | number) =>
    String(x)
      .toLowerCase()
      .replace(/[\s_\-/]+/g, ' ')
      .trim();
  return norm(old) === norm(value) || (label !== undefined && norm(old) === norm(label));
}

function samePath(a: string | undefined, b: string): boolean {
  return a !== undefined && path.resolve(a) === path.resolve(b);
}

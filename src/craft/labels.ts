import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from './errors';
import { readText } from './text';

/** Reads class names from a JSON array (or {"classes": [...]}) or a text file with one name per line. */
export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = readText(file);
  } catch (e) {
    throw new CraftError('input', `Cannot read the labels file ${file}: ${(e as Error).message}`);
  }
  if (file.toLowerCase().endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new CraftError('input', `The labels file ${file} is not valid JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(value) ? value : (value as { classes?: unknown })?.classes;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new CraftError('input', `The labels file ${file} must hold a JSON array of class names (strings).`);
    }
    return list as string[];
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Parses a model metadata value 'labels': a JSON array or a comma-separated list. */
export function labelsFromMetadata(metadata: Record<string, string>): string[] | undefined {
  const raw = metadata.labels ?? metadata.classes ?? metadata.class_names;
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* not JSON: fall through to a comma list */
  }
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.length > 1 ? parts : undefined;
}

/** --labels FILE, else labels.json / labels.txt beside the model, else the model's metadata. */
export function findLabels(modelPath: string, metadata: Record<string, string>, explicit?: string): { labels?: string[]; source: string } {
  if (explicit) return { labels: readLabelsFile(explicit), source: explicit };
  for (const name of ['labels.json', 'labels.txt']) {
    const candidate = path.join(path.dirname(modelPath), name);
    if (fs.existsSync(candidate)) return { labels: readLabelsFile(candidate), source: candidate };
  }
  const fromMeta = labelsFromMetadata(metadata);
  if (fromMeta) return { labels: fromMeta, source: 'model metadata' };
  return { labels: undefined, source: 'none' };
}

/** A class name compared without case, and with '_', '-', '/' and spaces alike ("ankle_boot" = "Ankle boot"). */
export const normaliseLabel = (s: string) =>
  s
    .toLowerCase()
    .replace(/[\s_\-/]+/g, ' ')
    .trim();

/** A class given as an index ("9") or a label ("Ankle boot", "ankle_boot"), checked against the model. */
export function resolveClass(value: string | number, numClasses: number | undefined, labels: string[] | undefined): { index: number; label?: string } {
  const text = String(value).trim();
  let index: number | undefined;
  if (/^\d+$/.test(text)) index = Number(text);
  else if (labels) {
    const want = normaliseLabel(text);
    const found = labels.findIndex((l) => normaliseLabel(l) === want);
    if (found >= 0) index = found;
  }
  if (index === undefined) {
    const known = labels ? ` Known classes: ${labels.map((l, i) => `${i} ${JSON.stringify(l)}`).join(', ')}.` : '';
    throw new CraftError(
      'usage',
      `Unknown class ${JSON.stringify(text)}.${known}`,
      labels ? 'Give a class index or one of the labels above.' : 'Give a class index, or a labels file with --labels.',
    );
  }
  const count = numClasses ?? labels?.length;
  if (count !== undefined && index >= count) {
    throw new CraftError('usage', `Class index ${index} is out of range: the model has ${count} classes (0–${count - 1}).`);
  }
  if (labels && numClasses !== undefined && labels.length !== numClasses) {
    // Still usable, but the names may be wrong: the caller reports this as a warning.
    return { index, label: labels[index] };
  }
  return { index, label: labels?.[index] };
}

/**
 * classes.json, the index of a set folder (a run over several classes): read and checked for the
 * results panel and the history, and the set a run folder belongs to (its parent holds the index).
 * No ONNX Runtime or sharp here: the extension host reads it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { stripBom } from '../text';
import { CLASS_SET_VERSION, type ClassSet } from '../../protocol';

export const CLASS_SET_FILE = 'classes.json';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
/** A run folder of the set: a plain folder name inside it (never a path that leads elsewhere). */
const isRunName = (v: unknown): v is string => typeof v === 'string' && v !== '' && v === path.basename(v) && !v.startsWith('.') && !/[\\/]/.test(v);

/** Checks the parts of a classes.json the host and the page rely on; returns it typed, or throws naming the problem. */
export function validateClassSet(value: unknown, file: string): ClassSet {
  const bad = (what: string) =>
    new CraftError('input', `${file} is not a CRAFT class set index: ${what}.`, 'Open the run folders of the set one by one, or run the classes again.');
  if (!isObject(value)) throw bad('not a JSON object');
  if (value.version !== CLASS_SET_VERSION) throw bad(`version ${JSON.stringify(value.version)}, expected ${CLASS_SET_VERSION}`);
  if (value.mode !== 'folders' && value.mode !== 'predictions') throw bad('"mode" is neither "folders" nor "predictions"');
  const classes = value.classes;
  if (!Array.isArray(classes) || classes.length === 0) throw bad('"classes" is not a non-empty list');
  classes.forEach((c, k) => {
    if (!isObject(c) || !isCount(c.index) || !isRunName(c.run) || !isCount(c.images)) throw bad(`class ${k} has no index, run folder name or image count`);
    if (c.label !== undefined && typeof c.label !== 'string') throw bad(`class ${k}'s label is not text`);
  });
  const n = classes.length;
  const square = (m: unknown, cols: number) => Array.isArray(m) && m.length === n && m.every((r) => Array.isArray(r) && r.length === cols && r.every(isCount));
  const conf = value.confusion;
  if (
    !isObject(conf) ||
    (conf.basis !== 'folders' && conf.basis !== 'runner-up') ||
    !square(conf.counts, n) ||
    !(Array.isArray(conf.other) && conf.other.length === n && conf.other.every(isCount)) ||
    !(Array.isArray(conf.totals) && conf.totals.length === n && conf.totals.every(isCount))
  ) {
    throw bad('"confusion" is not an n × n table of counts with "other" and "totals"');
  }
  if (!Array.isArray(value.pairs) || value.pairs.length !== (n * (n - 1)) / 2) throw bad(`"pairs" does not list the ${(n * (n - 1)) / 2} pairs of classes`);
  for (const p of value.pairs as unknown[]) {
    if (!isObject(p) || !isCount(p.a) || !isCount(p.b) || (p.a as number) >= (p.b as number) || (p.b as number) >= n)
      throw bad('a pair does not name two classes of the set');
    const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= -1 && x <= 1;
    if (!Array.isArray(p.cosine) || !p.cosine.every((r) => Array.isArray(r) && r.every(finite))) throw bad('a pair\'s "cosine" is not a table of cosines');
    if (!Array.isArray(p.matches) || !p.matches.every((x) => isObject(x) && isCount(x.a) && isCount(x.b) && finite(x.cosine)))
      throw bad('a pair\'s "matches" are not concept pairs');
  }
  const mc = value.mostConfused;
  if (mc !== undefined && !(isObject(mc) && isCount(mc.a) && isCount(mc.b) && (mc.a as number) < n && (mc.b as number) < n))
    throw bad('"mostConfused" does not name two classes');
  return value as unknown as ClassSet;
}

/** Reads and checks a set folder's classes.json. */
export async function readClassSet(setDir: string): Promise<ClassSet> {
  const file = path.join(setDir, CLASS_SET_FILE);
  let value: unknown;
  try {
    value = JSON.parse(stripBom(await fs.promises.readFile(file, 'utf8')));
  } catch (e) {
    throw new CraftError('input', `${file} is missing or is not valid JSON: ${(e as Error).message}`);
  }
  return validateClassSet(value, file);
}

/** The set a run folder belongs to (its parent folder's index lists it), or undefined. */
export async function setOf(runDir: string): Promise<{ dir: string; index: ClassSet; position: number } | undefined> {
  const dir = path.dirname(path.resolve(runDir));
  if (!fs.existsSync(path.join(dir, CLASS_SET_FILE))) return undefined;
  const index = await readClassSet(dir);
  const position = index.classes.findIndex((c) => c.run === path.basename(runDir));
  return position >= 0 ? { dir, index, position } : undefined;
}

/** The run folder of a set's first class (synchronous, for latest.json), or undefined when `setDir` is no set. */
export function firstRunOfSet(setDir: string): string | undefined {
  try {
    const index = validateClassSet(JSON.parse(stripBom(fs.readFileSync(path.join(setDir, CLASS_SET_FILE), 'utf8'))), CLASS_SET_FILE);
    return path.join(setDir, index.classes[0].run);
  } catch {
    return undefined;
  }
}

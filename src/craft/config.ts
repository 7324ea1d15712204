import * as fs from 'fs';
import * as path from 'path';
import { CraftError, type ErrorKind } from './errors';
import { aliasesFor, checkSize, configOptions, foldName, fromJson, suggest, type OptionSpec } from './option-table';
import type { GatheredOptions } from './options';
import { readText } from './text';

/**
 * The workspace config file (craft.config.json): the choices made once for a model and dataset.
 * Paths are relative to the file. Every key is optional; command-line flags override it. Its keys,
 * types and bounds are the option table's (option-table.ts), the same the JSON schema states; keys
 * starting with "$" ("$schema", "$comment") are notes and never read.
 */
/** Reads and checks a config file; `where` names it in messages (default: the path). */
export function readConfigFile(file: string, where = file): Partial<GatheredOptions> {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(file));
  } catch (e) {
    throw new CraftError('usage', `Cannot read the config file ${where}: ${(e as Error).message}`);
  }
  return configToOptions(raw, path.dirname(path.resolve(file)), where);
}

const TOP = () => configOptions().filter((o) => !o.config!.includes('.'));
const FIELDS = (parent: string) => configOptions().filter((o) => o.config!.startsWith(`${parent}.`));

function unknownKey(key: string, known: OptionSpec[], prefix = ''): string {
  // A name another surface uses for the same option ("patchSize", "max-images", "mean") points at its
  // key; else the nearest key by spelling.
  const alias = aliasesFor((o) => o.config).get(foldName(key));
  const near =
    alias ??
    prefix +
      (suggest(
        key,
        known.map((o) => o.config!.slice(prefix.length)),
      ) ?? '');
  const dot = near.indexOf('.');
  const shown = near === prefix ? '' : dot > 0 ? `"${near.slice(dot + 1)}" inside "${near.slice(0, dot)}"` : `"${near}"`;
  return `"${prefix}${key}" is not a known key${shown ? `; did you mean ${shown}?` : '.'}`;
}

/**
 * Checks a parsed config object and turns it into options with absolute paths. Every problem is
 * reported at once (one usage error), each naming its key.
 */
export function configToOptions(raw: unknown, baseDir: string, where: string): Partial<GatheredOptions> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CraftError('usage', `${where} must hold a JSON object.`);
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const check = (o: OptionSpec, value: unknown): unknown => {
    try {
      const v = fromJson(o, value, `"${o.config}"`);
      if (o.type === 'folders') return Object.fromEntries(Object.entries(v as Record<string, string>).map(([k, f]) => [k, path.resolve(baseDir, f)]));
      return o.type === 'file' || o.type === 'folder' || o.type === 'path' ? path.resolve(baseDir, v as string) : v;
    } catch (e) {
      if (!(e instanceof CraftError)) throw e;
      problems.push(e.message);
      return undefined;
    }
  };
  const top = TOP();
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('$')) continue;
    const o = top.find((t) => t.config === key);
    if (!o) {
      problems.push(unknownKey(key, top));
      continue;
    }
    const v = check(o, value);
    if (v === undefined) continue;
    if (o.type !== 'object') {
      out[o.target!] = v;
      continue;
    }
    // An object of fields ("preprocess"): each field checked like a key.
    const fields = FIELDS(o.config!);
    const obj: Record<string, unknown> = {};
    for (const [field, fieldValue] of Object.entries(v as Record<string, unknown>)) {
      const f = fields.find((x) => x.config === `${o.config}.${field}`);
      if (!f) {
        problems.push(unknownKey(field, fields, `${o.config}.`));
        continue;
      }
      const fv = check(f, fieldValue);
      if (fv !== undefined) obj[field] = fv;
    }
    out[o.target!] = obj;
  }
  if (problems.length === 1) throw new CraftError('usage', `${where}: ${problems[0]}`, keysHint(problems[0]));
  if (problems.length > 1) {
    throw new CraftError('usage', `${where} has ${problems.length} problems:\n  ${problems.join('\n  ')}`, keysHint(problems.join(' ')));
  }
  return out as Partial<GatheredOptions>;
}

function keysHint(text: string): string | undefined {
  if (!/not a known key/.test(text)) return undefined;
  return `Known keys: ${TOP()
    .map((o) => o.config)
    .join(', ')}; "preprocess" holds ${FIELDS('preprocess')
    .map((o) => o.config!.slice('preprocess.'.length))
    .join(', ')}. Keys starting with "$" are notes.`;
}

/** "224", "224x192", 224 or [224, 192] → [height, width]. */
export function parseSize(value: unknown, where = '--size'): [number, number] {
  return checkSize(value, where);
}

/**
 * Checks that a path names a regular file before anything opens it: a folder gives EISDIR deep in
 * a reader, and a FIFO would block the read forever.
 */
export function checkRegularFile(file: string, where: string, kind: ErrorKind = 'usage'): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CraftError(kind, `${where}: no such file: ${file}`);
    throw new CraftError(kind, `${where}: cannot read ${file}: ${(e as Error).message}`);
  }
  if (stat.isDirectory()) throw new CraftError(kind, `${where}: ${file} is a folder, not a file.`);
  if (!stat.isFile()) throw new CraftError(kind, `${where}: ${file} is not a regular file (a FIFO, socket or device).`);
}

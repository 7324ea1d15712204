/**
 * Concept names the user gives in the results panel, kept beside the run in names.json (results.json
 * stays as the engine wrote it). Written atomically: a temp file renamed over the old one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { cleanConceptName, type ConceptNames } from '../../protocol';

export const NAMES_FILE = 'names.json';

/** The run's concept names; {} when there are none, and entries that are not valid names are dropped. */
export function readNames(runDir: string, conceptCount: number): ConceptNames {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(runDir, NAMES_FILE), 'utf8').replace(/^\uFEFF/, ''));
  } catch {
    return {};
  }
  const names: ConceptNames = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return names;
  for (const [key, value] of Object.entries(raw)) {
    const index = Number(key);
    const name = typeof value === 'string' ? cleanConceptName(value) : undefined;
    if (Number.isInteger(index) && index >= 0 && index < conceptCount && String(index) === key && name) names[key] = name;
  }
  return names;
}

/** Sets (or, with an empty name, removes) one concept's name; returns all the run's names. */
export async function writeConceptName(runDir: string, conceptCount: number, concept: number, name: string): Promise<ConceptNames> {
  const clean = cleanConceptName(name);
  if (!Number.isInteger(concept) || concept < 0 || concept >= conceptCount || clean === undefined) {
    throw new CraftError('usage', `Cannot name concept ${concept}: the name must be at most 60 characters without control characters.`);
  }
  const names = readNames(runDir, conceptCount);
  if (clean) names[String(concept)] = clean;
  else delete names[String(concept)];
  const target = path.join(runDir, NAMES_FILE);
  const temp = path.join(runDir, `.${NAMES_FILE}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.promises.writeFile(temp, JSON.stringify(names, null, 2) + '\n');
    await fs.promises.rename(temp, target);
  } catch (e) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    throw new CraftError('io', `Could not save the concept names in ${target}: ${(e as Error).message}`, 'Check that the run folder is writable.');
  }
  return names;
}

/**
 * Whether a run still describes its model: results.json records the SHA-256 of the model file (and of
 * h) as explained; the results panel compares it with the file now.
 */
import * as fs from 'fs';
import { hashFile } from '../cache/hash';
import type { ResultsBundle } from '../../protocol';

/**
 * The last hash of each model file with the size and modification time it was taken at: the panel
 * checks at every show (a reload, another class of a set), and a model can be hundreds of MB.
 */
const hashed = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

async function modelHash(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  const known = hashed.get(file);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
  const sha256 = await hashFile(file);
  hashed.set(file, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}

/**
 * 'changed' when a model file's bytes differ from those explained, 'missing' when it is gone or
 * unreadable, undefined when it is unchanged or the run recorded no hash (made before hashes were kept).
 */
export async function staleModel(bundle: ResultsBundle): Promise<'changed' | 'missing' | undefined> {
  const files: [string | undefined, string | undefined][] = [
    [bundle.model.path, bundle.model.sha256],
    [bundle.model.hPath, bundle.model.hSha256],
  ];
  let result: 'changed' | 'missing' | undefined;
  for (const [file, recorded] of files) {
    if (!file || !recorded) continue;
    const now = await modelHash(file).catch(() => undefined);
    if (now === undefined) result ??= 'missing';
    else if (now !== recorded) return 'changed';
  }
  return result;
}

/**
 * Whether a run still describes its model: results.json records the SHA-256 of the model file (and of
 * h) as explained; the results panel compares it with the file now.
 */
import { hashFile } from '../cache/hash';
import type { ResultsBundle } from '../../protocol';

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
    const now = await hashFile(file).catch(() => undefined);
    if (now === undefined) result ??= 'missing';
    else if (now !== recorded) return 'changed';
  }
  return result;
}

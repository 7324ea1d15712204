/** SHA-256 of files, as the cache keys (keys.ts) and the results panel's stale check (bundle/stale.ts) read them. */
import * as crypto from 'crypto';
import * as fs from 'fs';

/** SHA-256 (hex) of a file's bytes, read as a stream (models can be large). */
export async function hashFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Hashes files `concurrency` at a time; results in order, undefined for a file that cannot be read (the
 * image loader reports it; it is simply not cached). Stops early when the signal fires.
 */
export async function hashFiles(files: readonly string[], concurrency = 8, signal?: AbortSignal): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length && !signal?.aborted) {
      const i = next++;
      out[i] = await hashFile(files[i]).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}

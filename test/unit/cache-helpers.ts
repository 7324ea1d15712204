/** Shared by the cache tests (not a test file itself). */
import * as crypto from 'crypto';

/** A valid entry key (64 hex digits) for entry k. */
export function entryKey(k: number): string {
  return crypto.createHash('sha256').update(`entry ${k}`).digest('hex');
}

/** Deterministic content for entry k. */
export function entryBytes(k: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (k + 1) * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

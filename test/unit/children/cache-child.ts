/**
 * A separate process for the cache store tests (real concurrency):
 *   put DIR START_MS ENTRIES SIZE ID   at START_MS, write ENTRIES entries of SIZE bytes (the same keys and
 *                                      contents in every process), reading each back right after; prints
 *                                      {"written": n, "bad": m} (bad: a read that returned other bytes)
 */
import { ContentStore } from '../../../src/craft/cache/store';
import { entryBytes, entryKey } from '../cache-helpers';

async function put(dir: string, start: number, entries: number, size: number): Promise<void> {
  const store = new ContentStore(dir, 1 << 30);
  const wait = start - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  let bad = 0;
  for (let k = 0; k < entries; k++) {
    await store.put('images', entryKey(k), [entryBytes(k, size)]);
    const back = await store.get('images', entryKey(k));
    // Another process may replace the file between the two calls: either content is the same bytes.
    if (!back || !back.equals(entryBytes(k, size))) bad++;
  }
  process.stdout.write(JSON.stringify({ written: store.stats.written, bad, damaged: store.stats.damaged }) + '\n');
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'put') {
  put(args[0], Number(args[1]), Number(args[2]), Number(args[3])).catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exit(1);
  });
}

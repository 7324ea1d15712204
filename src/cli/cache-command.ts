import * as path from 'path';
import { checkCommand, value, type ParsedArgs } from './args';
import { storeFor } from '../craft/cache/run-cache';
import type { StoreInfo } from '../craft/cache/store';
import { CraftError } from '../craft/errors';
import { option } from '../craft/option-table';

export const CACHE_USAGE = 'craft cache info|clear [--out DIR] [--json]';

const MB = 1024 * 1024;

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** `craft cache info|clear`: what the cache of a results folder holds, or empty it. */
export async function runCache(args: ParsedArgs): Promise<number> {
  checkCommand(args, 'cache', { min: 1, max: 1, usage: CACHE_USAGE });
  const action = args.positional[0];
  if (action !== 'info' && action !== 'clear') {
    throw new CraftError('usage', `Unknown cache action ${JSON.stringify(action)}.`, `Usage: ${CACHE_USAGE}`);
  }
  const out = path.resolve(value<string>(args, 'out') ?? (option('out').default as string));
  const store = storeFor(out);
  const info = action === 'info' ? await store.info() : await store.clear();
  if (args.given.has('json')) {
    process.stdout.write(JSON.stringify({ action, ...info }) + '\n');
    return 0;
  }
  if (action === 'clear') {
    process.stdout.write(`Cleared ${info.dir}: ${info.entries} entries, ${megabytes(info.bytes)}.\n`);
    return 0;
  }
  process.stdout.write(describe(info));
  return 0;
}

function describe(info: StoreInfo): string {
  const lines = [`Cache: ${info.dir}${info.entries === 0 ? ' (empty)' : ''}`];
  for (const [kind, k] of Object.entries(info.kinds).sort()) {
    lines.push(`  ${kind.padEnd(13)} ${String(k.entries).padStart(7)} entries  ${megabytes(k.bytes).padStart(10)}`);
  }
  lines.push(
    `  ${'total'.padEnd(13)} ${String(info.entries).padStart(7)} entries  ${megabytes(info.bytes).padStart(10)} ` +
      `(limit ${megabytes(info.limit)} by default, --cache-size per run; the least recently used entries go first)`,
  );
  return lines.join('\n') + '\n';
}

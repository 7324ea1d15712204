import * as fs from 'fs';
import * as path from 'path';
import { checkCommand, value, type ParsedArgs } from './args';
import { storeFor } from '../craft/cache/run-cache';
import { CACHE_FOLDER, type StoreInfo } from '../craft/cache/store';
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
  await checkResultsRoot(out);
  const store = storeFor(out);
  const info: StoreInfo & { failed?: number; error?: string } = action === 'info' ? await store.info() : await store.clear();
  if (info.failed) {
    throw new CraftError(
      'io',
      `Could not remove ${info.failed} of the ${info.entries} entries in ${info.dir} (${info.error}).`,
      'Check that you may write to the cache folder, then clear it again.',
    );
  }
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

/** A mistyped --out must not read as an empty cache: the folder must exist, and its cache be a folder when present. */
async function checkResultsRoot(out: string): Promise<void> {
  const st = await fs.promises.stat(out).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new CraftError(
      'input',
      `${out} ${st ? 'is not a folder' : 'does not exist'}: no results folder there.`,
      'Give the folder the runs are written to: --out DIR (default .craft in the current folder).',
    );
  }
  const cache = await fs.promises.lstat(path.join(out, CACHE_FOLDER)).catch(() => undefined);
  if (cache && !cache.isDirectory()) {
    throw new CraftError(
      'input',
      `${path.join(out, CACHE_FOLDER)} is not a folder, so it is not a CRAFT cache.`,
      'Move it away; the next run creates the cache.',
    );
  }
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

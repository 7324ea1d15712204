/**
 * The hidden entries a results root holds while runs are being written: a run's partial folder and the
 * temporary file latest.json is replaced from. Each name carries its owner's host and process id
 * (`.partial-<what>@<host>-<pid>-<random>`), so that a run removes only its own, and the next run in
 * the same root can remove the ones a killed process of this machine left, never those of a process
 * that is still alive (nor any of another machine sharing the folder: its pids mean nothing here).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const PARTIAL_PREFIX = '.partial-';
const OWNED = /^\.partial-.*@([A-Za-z0-9-]+)-(\d+)-[0-9a-f]{8}(?:\.json)?$/;

/** This machine's name as it appears in partial names (letters, digits and '-' only). */
export const HOST =
  os
    .hostname()
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .slice(0, 40) || 'host';

/** A fresh partial entry name owned by this process: `.partial-<what>@<host>-<pid>-<8 hex>`. */
export function partialName(what: string, ext = ''): string {
  return `${PARTIAL_PREFIX}${what}@${HOST}-${process.pid}-${crypto.randomBytes(4).toString('hex')}${ext}`;
}

/** The owner of a partial entry, or undefined (not a partial, or written by an older version). */
export function partialOwner(name: string): { host: string; pid: number } | undefined {
  const m = OWNED.exec(name);
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}

/**
 * Whether a process may still be running. kill(pid, 0) sends nothing and only checks: ESRCH means no
 * such process; EPERM means it exists under another user (alive). Anything else counts as alive, so
 * that a doubt never removes a running process's folder.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function removeWhere(root: string, remove: (pid: number) => boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = partialOwner(name);
    if (owner === undefined || owner.host !== HOST || !remove(owner.pid)) continue;
    try {
      // Retries: a run being stopped may still be writing a file or two into it (ENOTEMPTY).
      await fs.promises.rm(path.join(root, name), { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      removed.push(name);
    } catch {
      // Not ours to remove after all (another user's), or already gone: leave it.
    }
  }
  return removed;
}

/** Removes the partial entries of `root` whose owner process (on this machine) is gone: runs killed before their cleanup. Never throws. */
export function removeStalePartials(root: string): Promise<string[]> {
  return removeWhere(root, (owner) => !processAlive(owner));
}

/** Removes the partial entries of `root` owned by `pid` on this machine (a worker process that has exited). Never throws. */
export function removePartialsOf(root: string, pid: number): Promise<string[]> {
  return removeWhere(root, (owner) => owner === pid);
}

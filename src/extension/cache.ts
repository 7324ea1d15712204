/**
 * CRAFT: Clear cache. Empties the cache of every results folder of the workspace (or of the folders
 * given as the argument), each `<results folder>/.cache`; a run in progress goes on without the
 * entries it has not read yet. Returns what was removed.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { storeFor } from '../craft/cache/run-cache';
import type { Log } from './log';

export interface ClearedCache {
  dir: string;
  entries: number;
  bytes: number;
}

export async function clearCaches(roots: readonly string[], log: Log): Promise<ClearedCache[]> {
  const cleared: ClearedCache[] = [];
  for (const root of roots) {
    const info = await storeFor(path.resolve(root)).clear();
    cleared.push({ dir: info.dir, entries: info.entries - info.failed, bytes: info.bytes });
    log.info(`Cache cleared: ${info.dir} (${info.entries} entries, ${(info.bytes / 2 ** 20).toFixed(1)} MB).`);
    if (info.failed > 0) {
      log.warn(`Cache: ${info.failed} entries of ${info.dir} could not be removed (${info.error}).`);
      void vscode.window.showWarningMessage(`CRAFT: ${info.failed} cache entries in ${info.dir} could not be removed (${info.error}).`);
    }
  }
  const entries = cleared.reduce((a, c) => a + c.entries, 0);
  const mb = cleared.reduce((a, c) => a + c.bytes, 0) / 2 ** 20;
  void vscode.window.showInformationMessage(
    entries > 0 ? `CRAFT: cache cleared (${entries} entries, ${mb.toFixed(1)} MB).` : 'CRAFT: the cache was already empty.',
  );
  return cleared;
}

/** The argument of craft.clearCache: a results folder, a list of them, or nothing (the workspace's). */
export function cacheRoots(raw: unknown, workspaceRoots: () => string[]): string[] {
  if (typeof raw === 'string') return [raw];
  if (raw instanceof vscode.Uri) return [raw.fsPath];
  if (Array.isArray(raw) && raw.every((r) => typeof r === 'string')) return raw as string[];
  return workspaceRoots();
}

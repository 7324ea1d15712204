// Shared by the integration tests (not a test file itself: index.ts loads *.test.js only).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CraftApi } from '../../src/extension/index';

export const EXTENSION_ID = 'craft-explain.craft-explain';
export const LAYER = '/g/MaxPool_1_output_0';

export function workspaceRoot(): string {
  const folders = vscode.workspace.workspaceFolders;
  assert.ok(folders && folders.length > 0, 'a workspace folder is open');
  return folders[0].uri.fsPath;
}

export async function api(): Promise<CraftApi> {
  const ext = vscode.extensions.getExtension<CraftApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is loaded`);
  return ext.activate();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a truthy value, or fails after `ms`. */
type Falsy = false | 0 | '' | null | undefined;

export async function waitFor<T>(what: string, probe: () => T | Falsy | Promise<T | Falsy>, ms = 30_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Fails (instead of hanging) when a command waits for a prompt that no one answers. */
export async function within<T>(ms: number, what: string, p: Thenable<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(p),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (waiting for a prompt?)`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Entries of the results folder: run folders and hidden partial ones. */
export function resultsEntries(root: string): { runs: string[]; partials: string[] } {
  const names = fs.existsSync(root) ? fs.readdirSync(root) : [];
  return {
    runs: names.filter((n) => !n.startsWith('.') && fs.statSync(path.join(root, n)).isDirectory()).sort(),
    partials: names.filter((n) => n.startsWith('.partial-')).sort(),
  };
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Closes every editor and panel, so each test starts from an empty window. */
export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

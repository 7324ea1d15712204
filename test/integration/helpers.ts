// Shared by the integration tests (not a test file itself: index.ts loads *.test.js only).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CraftApi } from '../../src/extension/index';
import type { ShownPick } from '../../src/extension/pickers';

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

/** The sequence number of the last quick pick the extension offered (0: none yet). */
export async function promptMark(): Promise<number> {
  const all = (await api()).prompts();
  return all.length ? all[all.length - 1].seq : 0;
}

/** Waits for a quick pick offered after `mark` whose title ends with `title`; returns what it showed. */
export async function promptAfter(mark: number, title: string, ms = 60_000): Promise<ShownPick> {
  const craft = await api();
  return waitFor(`the prompt "${title}"`, () => craft.prompts().find((p) => p.seq > mark && p.title.endsWith(title)), ms);
}

/** The quick pick offered after `mark` whose title ends with `title`, if there is one yet. */
export async function promptSince(mark: number, title: string): Promise<ShownPick | undefined> {
  return (await api()).prompts().find((p) => p.seq > mark && p.title.endsWith(title));
}

/** Dismisses the open prompt (Escape) until the command that showed it has returned. */
export async function dismissPrompt(running: Thenable<unknown>, ms = 30_000): Promise<void> {
  const done = settled(running);
  const end = Date.now() + ms;
  await sleep(250);
  while (!done()) {
    if (Date.now() > end) throw new Error(`the prompt was still open after ${ms} ms of dismissing it`);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await sleep(500);
  }
}

/** Accepts the active row of the open quick pick (the first one unless moved), as Enter does. */
export async function acceptPrompt(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
}

/**
 * Accepts the open prompt until `probe` says what follows it happened (the next prompt, the run). The
 * extension records a prompt just before the workbench shows it, so a first accept can come too early
 * and do nothing; it is repeated, slowly, so that a repeat does not reach the prompt after.
 */
export async function acceptUntil<T>(what: string, probe: () => T | Falsy | Promise<T | Falsy>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  await sleep(250);
  for (;;) {
    await acceptPrompt();
    const retry = Date.now() + 3000;
    while (Date.now() < retry) {
      const v = await probe();
      if (v) return v as T;
      await sleep(50);
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms accepting the prompt before ${what}`);
  }
}

/** Whether a command's promise has settled (for acceptUntil). */
export function settled(p: Thenable<unknown>): () => boolean {
  let done = false;
  void Promise.resolve(p).then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

export const CONFIRM_TITLE = 'run with these choices?';

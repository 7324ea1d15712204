/**
 * Extension entry: creates the services once and registers every command, provider and serializer in
 * one place; each disposable is tracked in context.subscriptions.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { describeError } from '../craft/errors';
import { CODELENS_LANGUAGES, OnnxCodeLensProvider } from './codelens';
import { Commands, resultRoots, type ReportedError } from './commands';
import { lastRun } from './history';
import { Log } from './log';
import { PanelManager, VIEW_TYPE, type PanelInfo } from './panel';
import { shownPicks, type ShownPick } from './pickers';
import { Runs } from './progress';
import { ProviderStatus } from './statusbar';

/** What activate() returns: read-only views for tests and other extensions. */
export interface CraftApi {
  panels: { list(): PanelInfo[]; get(runDir: string): PanelInfo | undefined };
  /** Recent output-channel lines, oldest first. */
  logLines(): readonly string[];
  /** The last error shown to the user. */
  lastError(): ReportedError | undefined;
  /** The status bar item's text ('' when hidden). */
  statusText(): string;
  isRunning(): boolean;
  /** The quick picks offered lately (title, rows in order), oldest first. */
  prompts(): readonly ShownPick[];
  /** The last run's progress notification: its title and every message it showed. */
  lastProgress(): { title: string; messages: readonly string[] } | undefined;
}

export function activate(context: vscode.ExtensionContext): CraftApi {
  const log = new Log();
  const runs = new Runs(log);
  const panels = new PanelManager(context.extensionUri, log);
  const status = new ProviderStatus();
  const commands = new Commands(log, runs, panels, status);
  const codeLens = new OnnxCodeLensProvider();
  context.subscriptions.push(
    log,
    runs,
    panels,
    status,
    codeLens,
    ...commands.register(),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, panels),
    vscode.languages.registerCodeLensProvider(
      CODELENS_LANGUAGES.map((language) => ({ language, scheme: 'file' })),
      codeLens,
    ),
  );
  log.info(`CRAFT ${context.extension.packageJSON.version ?? ''} activated (${context.extensionPath}).`);
  void vscode.commands.executeCommand('setContext', 'craft.running', false);

  // The status bar starts with the provider of the newest run already in the workspace.
  void (async () => {
    for (const root of resultRoots()) {
      const last = await lastRun(root);
      if (last && !status.lastRunDir) status.showRun(last.provider, last.dir);
    }
  })().catch((e) => log.warn(`Could not read the last run: ${describeError(e)}`));

  return {
    panels: { list: () => panels.list(), get: (dir) => panels.get(path.resolve(dir)) },
    logLines: () => log.lines(),
    lastError: () => commands.lastError,
    statusText: () => status.text,
    isRunning: () => runs.running,
    prompts: () => shownPicks(),
    lastProgress: () => runs.lastShown,
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions (a running worker is cancelled by Runs.dispose).
}

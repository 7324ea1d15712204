/**
 * The command handlers. Every handler is wrapped: a failure is logged and shown (message, hint, "Show
 * Log") and the command returns undefined; nothing escapes into the extension host.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { CraftError, describeError } from '../craft/errors';
import type { LayerListing } from '../craft/layers';
import { RESULTS_FILE } from '../craft/bundle/writer';
import { readText } from '../craft/text';
import { cacheRoots, clearCaches } from './cache';
import { planRun, normaliseArgs, folderFor, type ExplainArgs } from './flow';
import { entryHeadline, listRuns, type RunEntry } from './history';
import type { Log } from './log';
import type { PanelManager } from './panel';
import { askSize, pickModel, quickPick } from './pickers';
import type { Runs } from './progress';
import { Refiner } from './refine';
import { WorkerError } from './runner';
import { readSetting, readSettings } from './settings';
import type { ProviderStatus } from './statusbar';
import { readWorkspaceConfig, rememberChoices } from './workspaceConfig';

export interface ReportedError {
  command: string;
  kind?: string;
  message: string;
  hint?: string;
}

export class Commands {
  /** The last error shown to the user (the integration tests read it through the API). */
  lastError?: ReportedError;
  private readonly refiner: Refiner;

  constructor(
    private readonly log: Log,
    private readonly runs: Runs,
    private readonly panels: PanelManager,
    private readonly status: ProviderStatus,
  ) {
    this.refiner = new Refiner(log, runs, panels, status, (command, e) => this.report(command, e));
    panels.actions = { refine: (run, concept) => this.refiner.fromPanel(run, concept) };
  }

  /** Registers every command; the returned disposables are owned by the caller. */
  register(): vscode.Disposable[] {
    const entries: [string, (...args: unknown[]) => unknown][] = [
      ['craft.explain', (a) => this.explain(a)],
      ['craft.explainChooseAgain', (a) => this.explain(a, true)],
      ['craft.openResults', (a) => this.openResults(a)],
      ['craft.listLayers', (a) => this.listLayers(a)],
      ['craft.refine', (a) => this.refiner.refine(a)],
      ['craft.cancel', () => this.runs.cancel()],
      ['craft.exportReport', (a, b) => this.exportReport(a, b)],
      ['craft.showLog', () => this.log.show()],
      ['craft.clearCache', (a) => clearCaches(cacheRoots(a, resultRoots), this.log)],
    ];
    return entries.map(([id, fn]) => vscode.commands.registerCommand(id, (...args: unknown[]) => this.guard(id, () => fn(...args))));
  }

  /** Runs a handler so that nothing it throws reaches the extension host. */
  private async guard<T>(command: string, fn: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.report(command, e);
      return undefined;
    }
  }

  /** Logs an error and shows it with its hint and a "Show Log" action (without waiting for the user). */
  report(command: string, e: unknown): void {
    const kind = e instanceof CraftError || e instanceof WorkerError ? e.kind : undefined;
    const message = e instanceof Error ? e.message : String(e);
    const hint = e instanceof CraftError || e instanceof WorkerError ? e.hint : undefined;
    this.lastError = { command, kind, message, hint };
    const expected = kind !== undefined;
    this.log.error(`${command}: ${message}${hint ? `\n  → ${hint}` : ''}`);
    if (!expected) {
      const detail = e instanceof WorkerError ? e.detail : e instanceof Error ? e.stack : undefined;
      if (detail) this.log.error(detail);
    }
    const text = `CRAFT: ${message}${hint ? ` ${hint}` : ''}${expected ? '' : ' (unexpected error; details in the log)'}`;
    void vscode.window.showErrorMessage(text, 'Show Log').then((choice) => {
      if (choice === 'Show Log') this.log.show();
    });
  }

  /** craft.explain: returns the run folder, or undefined when cancelled or failed. */
  async explain(raw: unknown, force = false): Promise<string | undefined> {
    if (this.runs.running) {
      void vscode.window.showWarningMessage('CRAFT: a run is already in progress.', 'Cancel It').then((c) => {
        if (c === 'Cancel It') this.runs.cancel();
      });
      return undefined;
    }
    const args: ExplainArgs = { ...normaliseArgs(raw), ...(force ? { force: true } : {}) };
    // The palette (no argument), the Explorer menu and the CodeLens (a Uri) are a user's click: a run
    // with remembered choices is confirmed first. An object of options comes from a script: it never asks.
    const interactive = raw === undefined || raw === null || raw instanceof vscode.Uri;
    const plan = await planRun(args, this.runs, (line) => this.log.info(line), { interactive });
    if (!plan) {
      this.log.info('Explain: a prompt was dismissed; nothing ran.');
      return undefined;
    }
    const o = plan.options;
    const given = 'classes' in o ? o.classes.join(', ') : o.classId;
    const what = `${'classes' in o ? 'classes' : 'class'} ${given}${plan.classLabel !== `class ${given}` && plan.classLabel !== given ? ` (${plan.classLabel})` : ''}${'classes' in o && o.byPrediction ? ' by prediction' : ''}`;
    this.log.info(
      `Explain: model ${o.model}, images ${o.images}, ${what}, layer ${o.layer}${o.size ? `, size ${o.size.join('x')}` : ''}, ` +
        `concepts ${o.concepts}, patch ${o.patch}, batch ${o.batch}, designs ${o.designs}, provider ${o.provider}${o.maxImages ? `, max ${o.maxImages} images` : ''}, out ${o.out}`,
    );
    // The user chose this image folder: its images may open from the results without asking.
    if (o.images) this.panels.trustImageFolder(o.images);
    if ('classes' in o) for (const f of Object.values(o.classFolders ?? {})) this.panels.trustImageFolder(f);
    this.status.setRunning(true);
    let outcome;
    try {
      outcome = await this.runs.explain(o, `CRAFT: explaining ${plan.classLabel} (${path.basename(o.images)})`);
    } finally {
      this.status.setRunning(false);
    }
    if (outcome.status === 'error') {
      this.report('craft.explain', outcome.error);
      return undefined;
    }
    if (outcome.status === 'cancelled') {
      // Nothing is remembered from a run that did not finish: craft.config.json stays as it was.
      void vscode.window.showInformationMessage('CRAFT: run cancelled; no results were written.');
      return undefined;
    }
    const s = outcome.summary;
    // The run went through: remember its answers and arguments (the class as the index it resolved to,
    // with its label so that "class": "Ankle boot" is not rewritten as 9).
    if (plan.remember.class !== undefined) {
      plan.remember.class = s.classIndex;
      plan.remember.classLabel = s.classLabel;
    }
    await this.remember(plan.folder, plan.remember);
    this.status.showRun(s.provider, outcome.dir);
    this.log.info(
      `Done: class ${s.classIndex}${s.classLabel ? ` (${s.classLabel})` : ''}, layer ${s.layer}, ${s.images} images (${s.skipped} skipped), ` +
        `${s.concepts} concepts, provider ${s.provider.toUpperCase()}, ${s.timings.total?.toFixed(2) ?? '?'} s.`,
    );
    if (s.set) this.log.info(`Set of ${s.set.runs.length} classes: ${s.set.dir} (${s.set.runs.map((r) => r.classLabel ?? r.classIndex).join(', ')}).`);
    if (plan.reveal) {
      try {
        await this.panels.open(outcome.dir);
      } catch (e) {
        this.report('craft.explain', e);
      }
    }
    return outcome.dir;
  }

  private async remember(folder: string, choices: Parameters<typeof rememberChoices>[1]): Promise<void> {
    if (Object.keys(choices).length === 0) return;
    try {
      const written = await rememberChoices(folder, choices);
      if (written.length) this.log.info(`Remembered in ${path.join(folder, 'craft.config.json')}: ${written.join(', ')}.`);
    } catch (e) {
      this.log.warn(`Could not update craft.config.json: ${describeError(e)}`);
    }
  }

  /** craft.openResults [runDir | Uri]: opens a run's panel; without an argument, asks which run. */
  async openResults(raw: unknown): Promise<string | undefined> {
    let dir = raw instanceof vscode.Uri ? raw.fsPath : typeof raw === 'string' ? raw : undefined;
    if (dir && path.basename(dir) === RESULTS_FILE) dir = path.dirname(dir);
    if (!dir) dir = await this.pickRun();
    if (!dir) return undefined;
    if (!fs.existsSync(path.join(dir, RESULTS_FILE))) {
      throw new CraftError('input', `${dir} holds no ${RESULTS_FILE}.`, 'Choose a run folder written by CRAFT (inside the results folder, .craft by default).');
    }
    const info = await this.panels.open(dir);
    return info.runDir;
  }

  private async pickRun(): Promise<string | undefined> {
    const roots = resultRoots();
    const runs: RunEntry[] = [];
    for (const root of roots) runs.push(...(await listRuns(root)));
    runs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    type Item = vscode.QuickPickItem & { dir?: string };
    const items: Item[] = runs.map((r) => ({
      label: entryHeadline(r),
      description: `class ${r.classIndex} · ${r.concepts} concepts · ${r.layer} · ${r.provider.toUpperCase()}`,
      detail: `${formatDate(r.createdAt)} · ${vscode.workspace.asRelativePath(r.dir)} · model ${path.basename(r.model)}${r.set ? ' · one class of a set' : ''}`,
      dir: r.dir,
    }));
    items.push({ label: '$(folder-opened) Browse…', description: 'a run folder elsewhere', alwaysShow: true });
    const picked = await quickPick(items, {
      title: 'CRAFT: Open results',
      placeHolder: runs.length ? 'Which run? (newest first)' : 'No runs in the results folder yet: browse for a run folder',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked) return undefined;
    if (picked.dir) return picked.dir;
    const chosen = await vscode.window.showOpenDialog({
      title: 'CRAFT: choose a run folder (it holds results.json)',
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: roots[0] ? vscode.Uri.file(roots[0]) : undefined,
    });
    return chosen?.[0]?.fsPath;
  }

  /** craft.listLayers [Uri | {model, size, images}]: the candidate layers, in the log; returns the listing. */
  async listLayers(raw: unknown): Promise<LayerListing | undefined> {
    const args = normaliseArgs(raw);
    const folder = folderFor(args);
    const config = folder ? await readWorkspaceConfig(folder) : undefined;
    const settings = readSettings(folder ? vscode.Uri.file(folder) : undefined);
    const abs = (p?: string) => (p === undefined ? undefined : folder ? path.resolve(folder, p) : path.resolve(p));
    const model = abs(args.model) ?? (await pickModel(config?.options.model, settings.resultsFolder));
    if (!model) return undefined;
    const sameModel = config?.options.model !== undefined && path.resolve(config.options.model) === path.resolve(model);
    let size = args.size as [number, number] | undefined;
    if (!size && sameModel) size = config?.options.size;
    if (!size) {
      const info = await this.runs.describe(model);
      if (!info.fixedSize) {
        size = await askSize(info, config?.options.size);
        if (!size) return undefined;
      }
    }
    const images = abs(args.images) ?? (sameModel ? config?.options.images : undefined);
    const listing = await this.runs.layers({ model, size, images });
    this.log.info(`Layers of ${model} (probe: ${listing.probe}):`);
    for (const l of listing.layers) {
      const mark = l.name === listing.defaultLayer ? '*' : ' ';
      const usable = l.nonNegative && l.cleanCut ? 'usable' : l.nonNegative ? 'not a clean cut (skip connection)' : 'has negatives (NMF needs ≥ 0)';
      this.log.info(`${mark} ${l.name}  [${l.shape.join('×')}]  ${l.op}  ${usable}`);
    }
    this.log.info(listing.defaultLayer ? `Default layer: ${listing.defaultLayer}` : 'No usable layer found.');
    this.log.show();
    return listing;
  }

  /**
   * craft.exportReport [runDir [, output]]: writes the standalone HTML report; asks where unless
   * `output` (a path or Uri) is given. Returns the written file.
   */
  async exportReport(raw: unknown, rawOutput?: unknown): Promise<string | undefined> {
    const runDir = raw instanceof vscode.Uri ? raw.fsPath : typeof raw === 'string' ? raw : await this.pickRun();
    if (!runDir) return undefined;
    let output = rawOutput instanceof vscode.Uri ? rawOutput.fsPath : typeof rawOutput === 'string' ? path.resolve(runDir, rawOutput) : undefined;
    if (!output) {
      const target = await vscode.window.showSaveDialog({
        title: 'CRAFT: save the HTML report',
        // The workspace folder: where a file to share is looked for (not the hidden results folder).
        defaultUri: vscode.Uri.file(path.join(reportFolder(runDir), `craft-${path.basename(runDir)}.html`)),
        filters: { 'HTML report': ['html'] },
      });
      if (!target) return undefined;
      output = target.fsPath;
    }
    const written = await this.runs.report(runDir, output);
    this.log.info(`Report written: ${written}`);
    void this.offerReport(written);
    return written;
  }

  /**
   * The notice of a saved report, with what works where the user is. Desktop VS Code on this machine:
   * "Open" hands the file to the system's browser. Remote (SSH, containers, WSL, code-server): the file
   * is on the remote machine, where the user's browser cannot open a file: URI, so the notice offers to
   * show it in the Explorer (from where "Download…" copies it) and its path.
   */
  private async offerReport(file: string): Promise<void> {
    const uri = vscode.Uri.file(file);
    const local = vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop;
    const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
    const actions = [...(local ? ['Open'] : []), ...(inWorkspace ? ['Reveal in Explorer'] : []), ...(local ? [] : ['Copy Path'])];
    const choice = await vscode.window.showInformationMessage(`CRAFT: report saved to ${vscode.workspace.asRelativePath(uri)}`, ...actions);
    if (choice === 'Open') {
      if (!(await vscode.env.openExternal(uri))) void vscode.window.showWarningMessage(`CRAFT: no program opened ${file}; open it in a browser.`);
    } else if (choice === 'Reveal in Explorer') {
      await vscode.commands.executeCommand('revealInExplorer', uri);
    } else if (choice === 'Copy Path') {
      await vscode.env.clipboard.writeText(file);
    }
    if (choice) this.log.info(`Report: ${choice} (${file}).`);
  }
}

/** Where a report is proposed: the workspace folder of the run, else the first one, else beside the results folder. */
function reportFolder(runDir: string): string {
  const own = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(runDir));
  if (own?.uri.scheme === 'file') return own.uri.fsPath;
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath ?? path.dirname(path.dirname(runDir));
}

/** Results folders of the workspace folders (setting craft.resultsFolder or "out" in craft.config.json). */
export function resultRoots(): string[] {
  const roots = new Set<string>();
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    if (f.uri.scheme !== 'file') continue;
    try {
      roots.add(path.resolve(f.uri.fsPath, readSetting('out', f.uri) as string));
    } catch {
      // an invalid setting: a run reports it; listing runs goes on with the other roots
    }
    try {
      const raw = JSON.parse(readText(path.join(f.uri.fsPath, 'craft.config.json'))) as { out?: unknown };
      if (typeof raw.out === 'string') roots.add(path.resolve(f.uri.fsPath, raw.out));
    } catch {
      // no config file, or unreadable: the setting's folder only
    }
  }
  return [...roots];
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso || 'unknown date' : d.toLocaleString();
}

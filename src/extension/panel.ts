/**
 * The results panel: one webview panel per run folder, opened beside the active editor, restored after
 * a reload by a WebviewPanelSerializer from the run folder the page keeps in its state. The page only
 * receives the bundle's JSON and URLs of its PNGs; its requests are checked with parseFromWebview.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { describeError } from '../craft/errors';
import { readBundle } from '../craft/bundle/writer';
import { CLASS_SET_FILE } from '../craft/classes/index-file';
import { readNames, writeConceptName } from '../craft/bundle/names';
import { listChildren, parentDir } from '../craft/refine/children';
import { staleModel } from '../craft/bundle/stale';
import {
  parseFromWebview,
  runClassName,
  type ConceptNames,
  type FromWebview,
  type RefinedRun,
  type ResultsBundle,
  type ToWebview,
  type WebviewState,
} from '../protocol';
import { classSetView, runOfSet } from './class-set';
import type { Log } from './log';
import { resultsHtml } from './webviewHtml';
import { WhatIfClient } from './whatif';

export const VIEW_TYPE = 'craft.results';

/** What a test (or another extension) can learn about an open panel. */
export interface PanelInfo {
  runDir: string;
  title: string;
  /** Times the page said 'ready'. */
  ready: number;
  /** Times the host posted 'show'. */
  shown: number;
  concepts: number;
  visible: boolean;
  /** The tab is the active one of its group and has focus. */
  active: boolean;
  /** The names last sent to the page (in 'show' or 'names'). */
  names?: ConceptNames;
  /** Why the run could not be read (the page shows it instead of the results). */
  error?: string;
  /** What the last 'show' said about the model file (changed or missing since the run; undefined: unchanged). */
  stale?: 'changed' | 'missing';
  /** When the run is one class of a set: the set folder, its number of classes and this class's position. */
  set?: { dir: string; classes: number; position: number };
  /** The refined runs last sent to the page: the concept each refines and its sub-concepts' count. */
  children: { path: string; concept: number; concepts: number }[];
}

/** What the panel asks of the rest of the extension (refining runs in a worker, see refine.ts). */
export interface PanelActions {
  /** The page asked to refine `concept` of the run in `runDir`. */
  refine(runDir: string, concept: number): void;
}

/** What a panel asks of its manager. */
interface PanelHooks extends PanelActions {
  /** The panel now shows another class's run of the same set (the manager re-files it). */
  moved(from: string): void;
  /** Open another run (a refined run, or the run a refined run refines) in its own panel. */
  open(dir: string): Promise<unknown>;
}

/**
 * The folder the page may load files from: the run's, or its set's (all the classes' runs, to switch
 * class in place and show their crops side by side).
 */
function resourceRoot(runDir: string): string {
  const parent = path.dirname(runDir);
  return fs.existsSync(path.join(parent, CLASS_SET_FILE)) ? parent : runDir;
}

/** "Ankle boot · ankle_boot (200)": the class, the image folder and how many images; runs differ by these first. */
export function runHeadline(bundle: ResultsBundle): string {
  const label = runClassName(bundle);
  // A refined run's images are crops of its parent's concept (docs/method.md §8), kept in its own folder.
  if (bundle.parent) return `${label} › concept ${bundle.parent.concept} at ${bundle.layer.name} (${bundle.images.length} crops)`;
  return `${label} · ${path.basename(bundle.datasetRoot)} (${bundle.images.length})`;
}

export function panelTitle(bundle: ResultsBundle): string {
  return `CRAFT: ${runHeadline(bundle)}`;
}

/**
 * The title of a run's tab, different from every title in `taken`: the headline, then (for another run
 * of the same class on the same images) the time it was made, then its folder name.
 */
export function distinctTitle(bundle: ResultsBundle, runDir: string, taken: string[]): string {
  const base = panelTitle(bundle);
  const when = new Date(bundle.createdAt);
  const time = Number.isNaN(when.getTime()) ? undefined : when.toLocaleTimeString();
  const candidates = [base, ...(time ? [`${base} · ${time}`] : []), `${base} · ${path.basename(runDir)}`];
  return candidates.find((t) => !taken.includes(t)) ?? `${base} · ${path.basename(runDir)}`;
}

class ResultsPanel {
  ready = 0;
  shown = 0;
  names?: ConceptNames;
  private children: RefinedRun[] = [];
  stale?: 'changed' | 'missing';
  private readonly disposables: vscode.Disposable[] = [];
  /** The what-if engine process, started by the page's first question. */
  private whatIf?: WhatIfClient;
  /** The set of the run shown, as last sent to the page. */
  private set?: PanelInfo['set'];

  constructor(
    readonly panel: vscode.WebviewPanel,
    public runDir: string,
    private bundle: ResultsBundle | undefined,
    extensionUri: vscode.Uri,
    private readonly log: Log,
    private readonly onDispose: () => void,
    private readonly trustedRoots: () => string[],
    private readonly hooks: PanelHooks,
    private readonly loadError?: string,
    title?: string,
  ) {
    panel.webview.options = {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.file(resourceRoot(runDir))],
    };
    panel.title = title ?? (bundle ? panelTitle(bundle) : `CRAFT: ${path.basename(runDir)}`);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
    panel.webview.html = resultsHtml(panel.webview, extensionUri, panel.title);
  }

  info(): PanelInfo {
    return {
      runDir: this.runDir,
      title: this.panel.title,
      ready: this.ready,
      shown: this.shown,
      concepts: this.bundle?.concepts.length ?? 0,
      visible: this.panel.visible,
      active: this.panel.active,
      names: this.names,
      stale: this.stale,
      error: this.bundle ? undefined : (this.loadError ?? `The results in ${this.runDir} could not be read.`),
      set: this.set,
      children: this.children.map((c) => ({ path: c.path, concept: c.concept, concepts: c.concepts.length })),
    };
  }

  post(message: ToWebview): void {
    void this.panel.webview.postMessage(message).then(undefined, () => undefined);
  }

  private receive(raw: unknown): void {
    const message = parseFromWebview(raw, {
      images: this.bundle?.images.length ?? 0,
      concepts: this.bundle?.concepts.length ?? 0,
      classes: this.set?.classes ?? 0,
      children: this.children.length,
    });
    if (!message) {
      this.log.warn(`Results panel: ignored a malformed message ${truncate(JSON.stringify(raw))}.`);
      return;
    }
    void this.handle(message).catch((e) => {
      this.log.error(`Results panel: ${message.type} failed: ${describeError(e)}`);
      void vscode.window.showErrorMessage(`CRAFT: ${describeError(e)}`);
    });
  }

  private async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready++;
        if (!this.bundle) {
          this.post({ type: 'error', message: this.info().error! });
          return;
        }
        await this.show();
        return;
      case 'openImage':
        await this.openImage(message.image);
        return;
      case 'openFolder':
        if (vscode.env.remoteName) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(this.runDir));
        else await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(this.runDir));
        return;
      case 'exportHtml':
        await vscode.commands.executeCommand('craft.exportReport', this.runDir);
        return;
      case 'whatIf': {
        if (!this.bundle) return;
        this.whatIf ??= new WhatIfClient(this.runDir, {
          execPath: vscode.workspace.getConfiguration('craft').get<string>('nodePath')?.trim() || undefined,
          onLog: (line) => this.log.info(line),
        });
        try {
          this.post({ type: 'whatIfAnswer', id: message.id, answer: await this.whatIf.ask(message.image, message.scales) });
        } catch (e) {
          this.log.warn(`What-if on ${this.runDir}: ${describeError(e)}`);
          this.post({ type: 'whatIfAnswer', id: message.id, error: describeError(e) });
        }
        return;
      }
      case 'renameConcept': {
        if (!this.bundle) return;
        const names = await writeConceptName(this.runDir, this.bundle.concepts.length, message.concept, message.name);
        this.log.info(`Results panel: concept ${message.concept} ${message.name ? `named "${message.name}"` : 'unnamed'} (${this.runDir}).`);
        this.names = names;
        this.post({ type: 'names', names });
        return;
      }
      case 'showClass':
        await this.showClass(message.position);
        return;
      case 'refineConcept':
        if (this.bundle) this.hooks.refine(this.runDir, message.concept);
        return;
      case 'openChild': {
        const child = this.children[message.child];
        if (child) await this.hooks.open(path.join(this.runDir, ...child.path.split('/')));
        return;
      }
      case 'openParent':
        if (this.bundle?.parent) await this.hooks.open(parentDir(this.runDir, this.bundle.parent));
        return;
    }
  }

  /** Lists the refined runs again and sends them to the page. */
  async refreshChildren(): Promise<void> {
    this.children = await listChildren(this.runDir);
    this.post({ type: 'children', children: this.children });
  }

  /** For a refined run: "Concept #2 of the run <folder>" (the parent's name for it, when it has one). */
  private async parentLabel(): Promise<string | undefined> {
    const link = this.bundle?.parent;
    if (!link) return undefined;
    const dir = parentDir(this.runDir, link);
    try {
      const parent = await readBundle(dir);
      const name = readNames(dir, parent.concepts.length)[String(link.concept)];
      const rank = parent.ranking.indexOf(link.concept) + 1;
      return `${name ? `“${name}”` : `Concept #${rank}`} of the run ${path.basename(dir)}`;
    } catch {
      return `concept ${link.concept} of a run no longer at ${dir}`;
    }
  }

  /** Sends the page the run, with its set when it belongs to one. */
  private async show(): Promise<void> {
    const bundle = this.bundle;
    if (!bundle) return;
    const set = await classSetView(this.runDir, this.panel.webview).catch((e) => {
      this.log.warn(`Results panel: the set of ${this.runDir} cannot be read (${describeError(e)}); showing the run alone.`);
      return undefined;
    });
    // The model is hashed again at every show: it may have been retrained since the run.
    const stale = await staleModel(bundle);
    if (stale) this.log.info(`Results panel: the model of ${this.runDir} is ${stale === 'changed' ? 'changed' : 'gone'} since the run (${bundle.model.path}).`);
    // The refined runs are found again in the run's folder each time the page loads (reopened, restored).
    const children = await listChildren(this.runDir);
    const parentLabel = await this.parentLabel();
    // What info() reports changes together with the post, so a caller that sees `shown` grow sees the rest.
    this.set = set && { dir: path.dirname(this.runDir), classes: set.index.classes.length, position: set.current };
    this.stale = stale;
    this.children = children;
    this.names = readNames(this.runDir, bundle.concepts.length);
    this.shown++;
    this.post({
      type: 'show',
      view: {
        bundle,
        baseUrl: this.panel.webview.asWebviewUri(vscode.Uri.file(this.runDir)).toString(),
        runDir: this.runDir,
        names: this.names,
        set,
        children,
        parentLabel,
        ...(stale ? { stale } : {}),
      },
    });
  }

  /** Shows another class of the run's set in this panel (the page's class selector). */
  private async showClass(position: number): Promise<void> {
    const target = await runOfSet(this.runDir, position);
    if (!target || target.dir === this.runDir) return;
    const bundle = await readBundle(target.dir);
    const from = this.runDir;
    this.runDir = target.dir;
    this.bundle = bundle;
    // The what-if engine answers for the run it was started on.
    this.whatIf?.dispose();
    this.whatIf = undefined;
    this.panel.title = panelTitle(bundle);
    this.log.info(`Results panel: class ${bundle.class.label ?? bundle.class.index} of the set ${path.dirname(target.dir)}.`);
    try {
      await this.show();
    } finally {
      // Filed under its new run once that run is shown: whoever finds the panel there sees it complete.
      this.hooks.moved(from);
    }
  }

  /**
   * Opens source image `index` beside the panel. The bundle's datasetRoot is not trusted alone (a
   * shared bundle could say "/"): files whose real path is under a workspace folder or an image folder
   * run on in this session open directly; anything else only after a modal confirmation naming it.
   */
  async openImage(index: number): Promise<'opened' | 'declined' | 'unavailable'> {
    const b = this.bundle;
    if (!b) return 'unavailable';
    const file = imagePath(b, index);
    if (!file) {
      this.log.warn(`Results panel: refused to open image ${index}: its path leaves the dataset folder ${b.datasetRoot}.`);
      return 'unavailable';
    }
    let real: string;
    try {
      real = await fs.promises.realpath(file);
      if (!(await fs.promises.stat(real)).isFile()) throw new Error('not a file');
    } catch {
      void vscode.window.showWarningMessage(`CRAFT: ${file} no longer exists.`);
      return 'unavailable';
    }
    if (!(await isUnder(real, this.trustedRoots()))) {
      const choice = await vscode.window.showWarningMessage(
        `Open ${real}?`,
        {
          modal: true,
          detail: `These results say their images are in ${b.datasetRoot}, which is outside this workspace and the image folders of this session's runs. Open the file only if you expected it.`,
        },
        'Open',
      );
      if (choice !== 'Open') {
        this.log.info(`Results panel: did not open ${real} (outside the workspace; not confirmed).`);
        return 'declined';
      }
    }
    // The real path that was checked, not the path through links that could change in between.
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(real), { viewColumn: vscode.ViewColumn.Beside, preview: true });
    return 'opened';
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.whatIf?.dispose();
    this.onDispose();
  }
}

/** The source file of bundle image `index`, or undefined when it would resolve outside datasetRoot. */
export function imagePath(bundle: ResultsBundle, index: number): string | undefined {
  const entry = bundle.images[index];
  if (!entry || typeof entry.path !== 'string') return undefined;
  const root = path.resolve(bundle.datasetRoot);
  const file = path.resolve(root, entry.path);
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return file;
}

/** Whether the real path `file` is inside one of `roots` (compared by their real paths too). */
async function isUnder(file: string, roots: string[]): Promise<boolean> {
  for (const root of roots) {
    const real = await fs.promises.realpath(root).catch(() => undefined);
    if (!real) continue;
    const rel = path.relative(real, file);
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return true;
  }
  return false;
}

function truncate(s: string | undefined): string {
  if (s === undefined) return 'undefined';
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export class PanelManager implements vscode.WebviewPanelSerializer<WebviewState>, vscode.Disposable {
  private readonly panels = new Map<string, ResultsPanel>();
  /** Image folders the user ran explanations on in this session (their images open without asking). */
  private readonly imageFolders = new Set<string>();

  /** Set by the commands: what the pages' "Refine…" runs. */
  actions?: PanelActions;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
  ) {}

  /** Sends a run's page its refined runs again (after a refinement), when its panel is open. */
  async refreshChildren(runDir: string): Promise<void> {
    await this.panels.get(path.resolve(runDir))?.refreshChildren();
  }

  /** Tells a run's page that a refinement of `concept` started or ended. */
  refining(runDir: string, concept: number, running: boolean, error?: string): void {
    this.panels.get(path.resolve(runDir))?.post({ type: 'refining', concept, running, ...(error ? { error } : {}) });
  }

  /**
   * Opens (or reveals) the panel of a run folder. A new run's panel opens as a tab beside the other
   * results (or beside the editor when there are none) and is the one shown; its title differs from
   * every open results tab.
   */
  async open(runDir: string, options: { preserveFocus?: boolean } = {}): Promise<PanelInfo> {
    const dir = path.resolve(runDir);
    const existing = this.panels.get(dir);
    if (existing) {
      existing.panel.reveal(undefined, options.preserveFocus);
      return existing.info();
    }
    const bundle = await readBundle(dir);
    const others = [...this.panels.values()];
    const title = distinctTitle(
      bundle,
      dir,
      others.map((p) => p.panel.title),
    );
    const beside = others.find((p) => p.panel.active)?.panel.viewColumn ?? others.find((p) => p.panel.visible)?.panel.viewColumn;
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      title,
      { viewColumn: beside ?? vscode.ViewColumn.Beside, preserveFocus: options.preserveFocus },
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media'), vscode.Uri.file(resourceRoot(dir))] },
    );
    return this.adopt(panel, dir, bundle, undefined, title).info();
  }

  /** Restores a panel after a window reload from the run folder the page saved with setState. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: WebviewState | undefined): Promise<void> {
    const dir = typeof state?.runDir === 'string' ? path.resolve(state.runDir) : undefined;
    if (!dir) {
      this.log.warn('Results panel: nothing to restore (no run folder in its state).');
      panel.dispose();
      return;
    }
    if (this.panels.has(dir)) {
      // The same run is already open (restored twice): keep one.
      panel.dispose();
      return;
    }
    try {
      const bundle = await readBundle(dir);
      this.adopt(
        panel,
        dir,
        bundle,
        undefined,
        distinctTitle(
          bundle,
          dir,
          [...this.panels.values()].map((p) => p.panel.title),
        ),
      );
      this.log.info(`Results panel restored: ${dir}`);
    } catch (e) {
      this.log.warn(`Results panel: cannot restore ${dir}: ${describeError(e)}`);
      this.adopt(panel, dir, undefined, `These results are gone or unreadable: ${describeError(e)}`);
    }
  }

  private adopt(panel: vscode.WebviewPanel, dir: string, bundle: ResultsBundle | undefined, loadError?: string, title?: string): ResultsPanel {
    const p = new ResultsPanel(
      panel,
      dir,
      bundle,
      this.extensionUri,
      this.log,
      () => {
        if (this.panels.get(p.runDir) === p) this.panels.delete(p.runDir);
      },
      () => this.trustedRoots(),
      {
        moved: (from) => {
          if (this.panels.get(from) === p) this.panels.delete(from);
          this.panels.set(p.runDir, p);
        },
        refine: (run, concept) => this.actions?.refine(run, concept),
        open: (run) => this.open(run),
      },
      loadError,
      title,
    );
    this.panels.set(dir, p);
    return p;
  }

  /** Trusts an image folder the user chose for a run: its images open from any panel without asking. */
  trustImageFolder(dir: string): void {
    this.imageFolders.add(path.resolve(dir));
  }

  private trustedRoots(): string[] {
    const workspace = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return [...workspace, ...this.imageFolders];
  }

  /** Opens source image `index` of an open run's panel, as its "open image" action does. */
  async openImage(runDir: string, index: number): Promise<'opened' | 'declined' | 'unavailable'> {
    const p = this.panels.get(path.resolve(runDir));
    return p ? p.openImage(index) : 'unavailable';
  }

  get(runDir: string): PanelInfo | undefined {
    return this.panels.get(path.resolve(runDir))?.info();
  }

  list(): PanelInfo[] {
    return [...this.panels.values()].map((p) => p.info());
  }

  /** Closes the panel of a run folder (e.g. before its folder is deleted). */
  close(runDir: string): boolean {
    const p = this.panels.get(path.resolve(runDir));
    p?.panel.dispose();
    return p !== undefined;
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    this.panels.clear();
  }
}

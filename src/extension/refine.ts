/**
 * craft.refine: refines one concept of a run into sub-concepts (docs/method.md §8) in the engine worker,
 * with the same cancellable progress as craft.explain, then nests the sub-concepts in the run's panel.
 * Started from a concept card's "Refine…" (the page asks, the layer is chosen in a prompt) or as a
 * command with arguments { run, concept, layer?, concepts?, designs?, provider?, reveal? } (no prompt).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { CraftError } from '../craft/errors';
import { readNames } from '../craft/bundle/names';
import { readBundle, RESULTS_FILE } from '../craft/bundle/writer';
import { fromJson, option, suggest, type OptionName } from '../craft/option-table';
import { conceptFromSpec } from '../craft/refine/select';
import type { WorkerRefineOptions } from '../craft/worker';
import { runClassName, type ProviderRequest, type ResultsBundle } from '../protocol';
import type { Log } from './log';
import type { PanelManager } from './panel';
import type { Runs } from './progress';
import { readSettings } from './settings';
import type { ProviderStatus } from './statusbar';

/** The arguments of craft.refine, checked. */
export interface RefineArgs {
  run: string;
  concept: string | number;
  layer?: string;
  concepts?: number;
  designs?: number;
  provider?: ProviderRequest;
  /** Show the run's panel (with the new sub-concepts) when done; default true. */
  reveal?: boolean;
}

/** Argument → the option whose type and bounds it takes (the `concept` and `run` keys are read here). */
const ARG_OPTIONS: Record<string, OptionName> = { layer: 'layer', concepts: 'concepts', designs: 'designs', provider: 'provider', reveal: 'reveal' };
const KEYS = ['run', 'concept', ...Object.keys(ARG_OPTIONS)];

/** Reads craft.refine's argument object; a relative `run` is relative to the first workspace folder. */
function parseRefineArgs(raw: unknown): RefineArgs {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CraftError(
      'usage',
      'craft.refine takes an object { run, concept, layer?, concepts? }.',
      'run: a run folder; concept: its index, "#N" (rank) or its name.',
    );
  }
  const args: Record<string, unknown> = {};
  for (const [key, given] of Object.entries(raw as Record<string, unknown>)) {
    if (given === undefined) continue;
    if (!KEYS.includes(key)) {
      const near = suggest(key, KEYS);
      throw new CraftError('usage', `craft.refine: unknown argument "${key}"${near ? `; did you mean "${near}"?` : '.'}`, `Arguments: ${KEYS.join(', ')}.`);
    }
    if (key === 'run') {
      const v = given instanceof vscode.Uri ? given.fsPath : given;
      if (typeof v !== 'string' || !v.trim()) throw new CraftError('usage', `craft.refine: "run" must be a run folder, got ${JSON.stringify(v)}.`);
      args.run = v;
    } else if (key === 'concept') {
      if (!((typeof given === 'number' && Number.isInteger(given) && given >= 0) || (typeof given === 'string' && given.trim()))) {
        throw new CraftError('usage', `craft.refine: "concept" must be a concept index, "#N" or a name, got ${JSON.stringify(given)}.`);
      }
      args.concept = given;
    } else {
      args[key] = fromJson(option(ARG_OPTIONS[key]), given, `craft.refine: "${key}"`);
    }
  }
  for (const key of ['run', 'concept']) {
    if (args[key] === undefined) throw new CraftError('usage', `craft.refine needs "${key}".`, 'craft.refine takes { run, concept, layer?, concepts? }.');
  }
  return args as unknown as RefineArgs;
}

export class Refiner {
  constructor(
    private readonly log: Log,
    private readonly runs: Runs,
    private readonly panels: PanelManager,
    private readonly status: ProviderStatus,
    private readonly report: (command: string, e: unknown) => void,
  ) {}

  /**
   * craft.refine: returns the refined run's folder, or undefined when cancelled or dismissed. `interactive`
   * (a card's "Refine…"): asks for the layer when none is given.
   */
  async refine(raw: unknown, interactive = false): Promise<string | undefined> {
    const args = parseRefineArgs(raw);
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
    const runDir = path.resolve(folder ?? '', args.run);
    if (!fs.existsSync(path.join(runDir, RESULTS_FILE))) {
      throw new CraftError(
        'input',
        `${runDir} holds no ${RESULTS_FILE}.`,
        'Give a run folder written by CRAFT (inside the results folder, .craft by default).',
      );
    }
    const bundle = await readBundle(runDir);
    const names = readNames(runDir, bundle.concepts.length);
    const concept = conceptFromSpec(args.concept, bundle, names);
    const label = names[String(concept)] ? `“${names[String(concept)]}”` : `Concept #${bundle.ranking.indexOf(concept) + 1}`;
    // Every way out before the run tells the page (its button shows "Refining…" from the click on).
    if (this.runs.running) {
      this.panels.refining(runDir, concept, false, 'another CRAFT run is in progress.');
      void vscode.window.showWarningMessage('CRAFT: a run is already in progress.', 'Cancel It').then((c) => {
        if (c === 'Cancel It') this.runs.cancel();
      });
      return undefined;
    }
    let layer = args.layer;
    if (!layer && interactive) {
      layer = await this.pickLayer(runDir, concept, label, bundle);
      if (!layer) {
        this.panels.refining(runDir, concept, false);
        this.log.info('Refine: the layer prompt was dismissed; nothing ran.');
        return undefined;
      }
    }
    const settings = readSettings(vscode.Uri.file(runDir));
    const options: WorkerRefineOptions = {
      run: runDir,
      concept,
      ...(layer ? { layer } : {}),
      ...(args.concepts ? { concepts: args.concepts } : {}),
      ...(args.designs ? { designs: args.designs } : {}),
      provider: args.provider ?? settings.provider,
    };
    this.log.info(`Refine: ${label} (concept ${concept}) of ${runDir}${layer ? ` at ${layer}` : ' at the default layer'}.`);
    const classLabel = runClassName(bundle);
    this.panels.refining(runDir, concept, true);
    this.status.setRunning(true);
    let outcome;
    try {
      outcome = await this.runs.refine(options, `CRAFT: refining ${label} of ${classLabel}`);
    } finally {
      this.status.setRunning(false);
    }
    if (outcome.status === 'error') {
      this.panels.refining(runDir, concept, false, outcome.error.message);
      this.report('craft.refine', outcome.error);
      return undefined;
    }
    if (outcome.status === 'cancelled') {
      this.panels.refining(runDir, concept, false);
      void vscode.window.showInformationMessage('CRAFT: refining cancelled; no results were written.');
      return undefined;
    }
    await this.panels.refreshChildren(runDir);
    this.panels.refining(runDir, concept, false);
    this.status.showRun(outcome.summary.provider, outcome.dir);
    this.log.info(`Refined: ${outcome.summary.concepts} sub-concepts at ${outcome.summary.layer} from ${outcome.summary.images} crops: ${outcome.dir}`);
    if (args.reveal !== false) await this.panels.open(runDir, { preserveFocus: interactive });
    return outcome.dir;
  }

  /** The page's "Refine…": errors are shown, never thrown (the page stays as it was). */
  fromPanel(runDir: string, concept: number): void {
    void this.refine({ run: runDir, concept }, true).catch((e) => {
      this.panels.refining(runDir, concept, false, e instanceof Error ? e.message : String(e));
      this.report('craft.refine', e);
    });
  }

  /** Asks which earlier layer to refine at: the usable ones, the default first. */
  private async pickLayer(runDir: string, concept: number, label: string, bundle: ResultsBundle): Promise<string | undefined> {
    const choice = await this.runs.refineLayers(runDir, concept);
    if (!choice.layers.length || !choice.defaultLayer) {
      throw new CraftError(
        'model',
        `No layer before ${choice.parentLayer} can be used to refine: none is a non-negative 4-D feature map on the crops without a skip connection crossing it.`,
      );
    }
    type Item = vscode.QuickPickItem & { layer: string };
    const ordered = [...choice.layers].reverse();
    ordered.sort((a, b) => Number(b.name === choice.defaultLayer) - Number(a.name === choice.defaultLayer));
    const items: Item[] = ordered.map((l) => ({
      label: l.name,
      description: `[${l.shape.join('×')}]${l.name === choice.defaultLayer ? ' · default: the end of the previous resolution stage' : ''}`,
      layer: l.name,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: `CRAFT: Refine ${label} — layer`,
      placeHolder: `Factorise its ${choice.crops} strongest crops again at which layer (before ${bundle.layer.name})?`,
      matchOnDescription: true,
      ignoreFocusOut: true,
    });
    return picked?.layer;
  }
}

/**
 * Runs engine tasks in worker processes with VS Code progress: a cancellable notification for a run
 * (its title names the class; the message the run's percentage, the stage with done/total and the time
 * left; an incremental bar), a window-progress for the quick queries of the prompts.
 */
import * as vscode from 'vscode';
import type { LayerListing } from '../craft/layers';
import type { Progress } from '../craft/options';
import { RunEta, formatSeconds, overallPercent } from '../craft/progress';
import type { LayersRequest, ModelSummary, RunSummary, ToWorker, WorkerClassSetOptions, WorkerExplainOptions, WorkerRefineOptions } from '../craft/worker';
import { refinedRoot } from '../craft/refine/children';
import type { RefineLayerChoice } from '../craft/refine/refine';
import type { Log } from './log';
import { CancelledError } from '../craft/errors';
import { checkNodePath, startWorker, WorkerError, type WorkerRun } from './runner';

/** The notification's message for one progress update: "45% · importance 12/40 images · ETA 1m20s". */
export function progressMessage(p: Progress, left: number | undefined): string {
  const eta = left !== undefined && left > 0 ? ` · ETA ${formatSeconds(left)}` : '';
  // A run over several classes: the class (or the shared pass) the stage belongs to.
  const part = p.part ? `${p.part.label} (${p.part.index + 1}/${p.part.of}): ` : '';
  return `${Math.floor(overallPercent(p))}% · ${part}${p.stage} ${p.done}/${p.total} ${p.unit}${eta}`;
}

export type RunOutcome = { status: 'done'; dir: string; summary: RunSummary } | { status: 'cancelled' } | { status: 'error'; error: WorkerError };

/** One run at a time; its handle lets "CRAFT: Cancel" (and tests) stop it. */
export class Runs {
  private current?: WorkerRun;
  private readonly changed = new vscode.EventEmitter<boolean>();
  /** Fires true when a run starts, false when it ends. */
  readonly onDidChange = this.changed.event;

  /** What the last run's notification showed: its title and messages (the integration tests read it). */
  lastShown?: { title: string; messages: string[] };

  /** The craft.nodePath value last checked (a check runs the executable once). */
  private checkedRuntime?: string;

  constructor(private readonly log: Log) {}

  /** The Node.js executable of the setting craft.nodePath, checked; undefined: VS Code's own runtime. */
  private engineRuntime(): string | undefined {
    const file = vscode.workspace.getConfiguration('craft').get<string>('nodePath')?.trim();
    if (!file) return undefined;
    if (this.checkedRuntime !== file) {
      const version = checkNodePath(file);
      this.log.info(`The engine runs with ${file} (Node.js ${version}), as the setting craft.nodePath asks.`);
      this.checkedRuntime = file;
    }
    return file;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  cancel(): boolean {
    if (!this.current) return false;
    this.log.info('Cancel requested.');
    this.current.cancel();
    return true;
  }

  /** Runs one explanation (or one per class of a set) under a cancellable progress notification. Never rejects. */
  explain(options: WorkerExplainOptions | WorkerClassSetOptions, title: string): Thenable<RunOutcome> {
    return this.track('classes' in options ? { type: 'explainClasses', options } : { type: 'explain', options }, options.out, title);
  }

  /** Refines a concept of a run into sub-concepts (a new run) under the same notification. Never rejects. */
  refine(options: WorkerRefineOptions, title: string): Thenable<RunOutcome> {
    return this.track({ type: 'refine', options }, refinedRoot(options.run, options.out), title);
  }

  /** A task that writes a run (explain, a set, refine), under a cancellable progress notification. `out`: its results root. */
  private track(task: Extract<ToWorker, { type: 'explain' | 'explainClasses' | 'refine' }>, out: string, title: string): Thenable<RunOutcome> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      const started = Date.now();
      let stage: string | undefined;
      let stageStart = started;
      let shown = 0;
      const eta = new RunEta();
      const shownNow = { title, messages: [] as string[] };
      this.lastShown = shownNow;
      let execPath: string | undefined;
      try {
        execPath = this.engineRuntime();
      } catch (e) {
        return { status: 'error', error: new WorkerError('usage', (e as Error).message) } as const;
      }
      const run = startWorker(task, {
        execPath,
        partialRoot: out,
        onLog: (line) => this.log.info(line),
        onProgress: (p) => {
          const named = p.part ? `${p.part.label}: ${p.stage}` : p.stage;
          if (named !== stage) {
            if (stage) this.log.info(`Stage ${stage} finished in ${((Date.now() - stageStart) / 1000).toFixed(2)} s.`);
            stage = named;
            stageStart = Date.now();
          }
          const percent = overallPercent(p);
          const increment = percent > shown ? percent - shown : 0;
          shown = Math.max(shown, percent);
          const message = progressMessage(p, eta.update(p));
          progress.report({ message, increment });
          shownNow.messages.push(message);
          if (shownNow.messages.length > 500) shownNow.messages.splice(1, 1);
        },
      });
      this.setCurrent(run);
      const sub = token.onCancellationRequested(() => this.cancel());
      this.log.info(`Engine process ${run.pid ?? '?'} started.`);
      try {
        const final = await run.finished;
        if (final.type !== 'done') throw new WorkerError(undefined, `The engine answered a ${task.type} task without a result folder.`);
        this.log.info(`Run finished in ${((Date.now() - started) / 1000).toFixed(2)} s: ${final.dir}`);
        return { status: 'done', dir: final.dir, summary: final.summary } as const;
      } catch (e) {
        if (e instanceof CancelledError) {
          this.log.info(`Run cancelled after ${((Date.now() - started) / 1000).toFixed(2)} s; no results were written.`);
          return { status: 'cancelled' } as const;
        }
        const error = e instanceof WorkerError ? e : new WorkerError(undefined, (e as Error)?.message ?? String(e));
        return { status: 'error', error } as const;
      } finally {
        sub.dispose();
        this.setCurrent(undefined);
      }
    });
  }

  /** Reads a model's facts in a worker (parsing a large model would block the host). */
  describe(model: string, labelsFile?: string): Promise<ModelSummary> {
    return this.query({ type: 'describe', model, labelsFile }, 'CRAFT: reading the model…') as Promise<ModelSummary>;
  }

  /** Lists the candidate layers (one probe run of the model) in a worker. */
  layers(request: LayersRequest): Promise<LayerListing> {
    return this.query({ type: 'layers', request: { provider: 'cpu', ...request } }, 'CRAFT: probing the layers…') as Promise<LayerListing>;
  }

  /** The layers a concept of a run can be refined at (a probe run of the model) in a worker. */
  refineLayers(runDir: string, concept: string | number): Promise<RefineLayerChoice> {
    return this.query({ type: 'refineLayers', runDir, concept }, 'CRAFT: probing the earlier layers…') as Promise<RefineLayerChoice>;
  }

  /** Writes a run's standalone HTML report in a worker; returns its path. */
  report(runDir: string, output?: string): Promise<string> {
    return this.query({ type: 'report', runDir, output }, 'CRAFT: writing the report…') as Promise<string>;
  }

  private async query(task: Parameters<typeof startWorker>[0], title: string): Promise<LayerListing | ModelSummary | RefineLayerChoice | string> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, async () => {
      const run = startWorker(task, { onLog: (line) => this.log.info(line), execPath: this.engineRuntime() });
      const final = await run.finished;
      if (final.type !== 'result') throw new WorkerError(undefined, `The engine answered a ${task.type} query without a result.`);
      return final.value;
    });
  }

  private setCurrent(run: WorkerRun | undefined): void {
    this.current = run;
    void vscode.commands.executeCommand('setContext', 'craft.running', run !== undefined);
    this.changed.fire(run !== undefined);
  }

  dispose(): void {
    this.current?.cancel();
    this.changed.dispose();
  }
}

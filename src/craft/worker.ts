/**
 * Child-process entry for the engine (started with child_process.fork by the VS Code extension), so
 * that decoding, ONNX Runtime and NMF never block the extension host's event loop. One task per
 * process: the parent sends one request, the worker answers with progress/log messages and exactly
 * one final message ('done', 'result' or 'error'), then exits. Never imports 'vscode'.
 */
import { CancelledError, CraftError } from './errors';
import { listLayers, type LayerListing } from './layers';
import { findLabels } from './labels';
import { describeModel } from './onnx/inspect';
import { explain } from './explain';
import { explainClasses } from './classes/set';
import { writeReport } from './bundle/report';
import type { ClassSetOptions, ExplainOptions, Progress } from './options';
import { refine, refineLayerChoices, type RefineLayerChoice, type RefineOptions } from './refine/refine';
import type { ProviderName, ProviderRequest, ResultsBundle } from '../protocol';

/** ExplainOptions as they cross the process boundary (JSON: no signal, no callbacks). */
export type WorkerExplainOptions = Omit<ExplainOptions, 'signal' | 'onProgress' | 'log'>;
/** The same for a run over several classes. */
export type WorkerClassSetOptions = Omit<ClassSetOptions, 'signal' | 'onProgress' | 'log'>;
/** RefineOptions as they cross the process boundary. */
export type WorkerRefineOptions = Omit<RefineOptions, 'signal' | 'onProgress' | 'log'>;

/** What the extension needs to ask its prompts about a model, without parsing it in the host. */
export interface ModelSummary {
  inputName: string;
  inputShape: (number | string)[];
  layout: 'NCHW' | 'NHWC';
  /** Set when the model fixes its spatial input size; otherwise the size must be asked. */
  fixedSize?: [number, number];
  numClasses?: number;
  labels?: string[];
  /** Where the labels came from: a file path, 'model metadata' or 'none'. */
  labelsSource: string;
}

export interface LayersRequest {
  model: string;
  size?: [number, number];
  images?: string;
  preset?: string;
  provider?: ProviderRequest;
}

/** Parent → worker. */
export type ToWorker =
  /** Run one explanation. */
  | { type: 'explain'; options: WorkerExplainOptions }
  /** Run one explanation per class, sharing the model (a set folder with classes.json). */
  | { type: 'explainClasses'; options: WorkerClassSetOptions }
  /** List the candidate layers (craft layers). */
  | { type: 'layers'; request: LayersRequest }
  /** Read the model's input/output facts and labels. */
  | { type: 'describe'; model: string; labelsFile?: string }
  /** Write the standalone HTML report of a run (embedding every PNG is too much work for the host). */
  | { type: 'report'; runDir: string; output?: string }
  /** Refine one concept of a run into sub-concepts (a new run, answered like 'explain' with 'done'). */
  | { type: 'refine'; options: WorkerRefineOptions }
  /** The layers a concept of a run can be refined at. */
  | { type: 'refineLayers'; runDir: string; concept: string | number }
  /** Abort the running task: the engine stops at its next check and removes its partial bundle. */
  | { type: 'cancel' };

/** A short summary of a finished run (the full bundle is on disk in `dir`). */
export interface RunSummary {
  provider: ProviderName;
  classIndex: number;
  classLabel?: string;
  layer: string;
  images: number;
  skipped: number;
  concepts: number;
  timings: Record<string, number>;
  /** A run over several classes: the set folder and each class's run (the summary's fields are the first class's). */
  set?: { dir: string; runs: { dir: string; classIndex: number; classLabel?: string }[] };
}

/** Worker → parent. */
export type FromWorker =
  /** Sent first: the worker is alive and has received its task. */
  | { type: 'started'; pid: number }
  | ({ type: 'progress' } & Progress)
  | { type: 'log'; line: string }
  /** explain finished: the bundle folder, committed. */
  | { type: 'done'; dir: string; summary: RunSummary }
  /** layers/describe/report/refineLayers finished (report: the written file's path). */
  | { type: 'result'; value: LayerListing | ModelSummary | RefineLayerChoice | string }
  /** Any failure; kind 'cancelled' after a cancel. `kind` is undefined for unexpected errors (bugs). */
  | { type: 'error'; kind?: CraftError['kind']; message: string; hint?: string; stack?: string };

/** At most this many progress messages per second within a stage (stage changes and ends always go). */
const PROGRESS_PER_SECOND = 10;

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function progressSender(): (p: Progress) => void {
  let lastStage = '';
  let lastAt = 0;
  return (p) => {
    const now = Date.now();
    // A run over several classes goes through the stages once per class.
    const stage = p.part ? `${p.part.label}/${p.stage}` : p.stage;
    const boundary = stage !== lastStage || p.done >= p.total || p.done === 0;
    if (!boundary && now - lastAt < 1000 / PROGRESS_PER_SECOND) return;
    lastStage = stage;
    lastAt = now;
    void send({ type: 'progress', ...p });
  };
}

async function describe(model: string, labelsFile?: string): Promise<ModelSummary> {
  const info = describeModel(model);
  const { labels, source } = findLabels(model, info.metadata, labelsFile);
  return {
    inputName: info.inputName,
    inputShape: info.inputShape.map((d) => d ?? '?'),
    layout: info.layout,
    fixedSize: info.fixedSize,
    numClasses: info.numClasses,
    labels,
    labelsSource: source,
  };
}

function summarise(bundle: ResultsBundle): RunSummary {
  return {
    provider: bundle.provider,
    classIndex: bundle.class.index,
    classLabel: bundle.class.label,
    layer: bundle.layer.name,
    images: bundle.images.length,
    skipped: bundle.skipped.length,
    concepts: bundle.concepts.length,
    timings: bundle.timings,
  };
}

async function handle(task: ToWorker, controller: AbortController): Promise<FromWorker> {
  const log = (line: string) => void send({ type: 'log', line });
  switch (task.type) {
    case 'explain': {
      const { dir, bundle } = await explain({ ...task.options, signal: controller.signal, onProgress: progressSender(), log });
      return { type: 'done', dir, summary: summarise(bundle) };
    }
    case 'explainClasses': {
      const set = await explainClasses({ ...task.options, signal: controller.signal, onProgress: progressSender(), log });
      const runs = set.runs.map((r) => ({ dir: r.dir, classIndex: r.bundle.class.index, classLabel: r.bundle.class.label }));
      return { type: 'done', dir: set.runs[0].dir, summary: { ...summarise(set.runs[0].bundle), set: { dir: set.dir, runs } } };
    }
    case 'refine': {
      const { dir, bundle } = await refine({ ...task.options, signal: controller.signal, onProgress: progressSender(), log });
      return { type: 'done', dir, summary: summarise(bundle) };
    }
    case 'refineLayers':
      return { type: 'result', value: await refineLayerChoices(task.runDir, task.concept) };
    case 'layers':
      return { type: 'result', value: await listLayers(task.request) };
    case 'describe':
      return { type: 'result', value: await describe(task.model, task.labelsFile) };
    case 'report':
      return { type: 'result', value: await writeReport(task.runDir, task.output) };
    default:
      throw new CraftError('usage', `Unknown worker task ${JSON.stringify((task as { type?: unknown }).type)}.`);
  }
}

function toErrorMessage(e: unknown): FromWorker {
  // CancelledError is a CraftError of kind 'cancelled': the runner turns it back into one.
  if (e instanceof CraftError) return { type: 'error', kind: e.kind, message: e.message, hint: e.hint };
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', message: err.message, stack: err.stack };
}

function main(): void {
  const controller = new AbortController();
  let busy = false;
  const finish = async (message: FromWorker): Promise<void> => {
    await send(message);
    // Exit explicitly: ORT's thread pools may keep the process alive otherwise.
    process.exit(0);
  };
  process.on('message', (raw: unknown) => {
    const task = raw as ToWorker;
    if (task?.type === 'cancel') {
      controller.abort();
      if (!busy) void finish(toErrorMessage(new CancelledError()));
      return;
    }
    if (busy) return; // one task per process
    busy = true;
    void (async () => {
      await send({ type: 'started', pid: process.pid });
      let reply: FromWorker;
      try {
        reply = await handle(task, controller);
      } catch (e) {
        reply = toErrorMessage(e);
      }
      await finish(reply);
    })();
  });
  // The parent went away (window closed, extension host crashed): stop, clean up, exit. The engine's
  // bundle writer removes its partial folder when the abort surfaces; exit anyway shortly after.
  process.on('disconnect', () => {
    controller.abort();
    setTimeout(() => process.exit(0), 2000).unref();
  });
  process.on('uncaughtException', (e) => void finish(toErrorMessage(e)));
  process.on('unhandledRejection', (e) => void finish(toErrorMessage(e)));
}

if (require.main === module && process.send) main();

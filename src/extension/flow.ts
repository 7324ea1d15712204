/**
 * Turns the arguments of craft.explain, the workspace config file, the settings and (only for what is
 * still unknown) the user's answers into the options of one run. Precedence: command arguments, then
 * craft.config.json, then settings, then the engine's defaults.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { checkRegularFile } from '../craft/config';
import { CraftError } from '../craft/errors';
import type { LayerListing } from '../craft/layers';
import { DEFAULTS, isClassSet, runOptions, type ClassRef } from '../craft/options';
import { aliasesFor, argOptions, fromJson, suggest, type CommandArgs } from '../craft/option-table';
import type { ModelSummary, WorkerClassSetOptions, WorkerExplainOptions } from '../craft/worker';
import { byPredictionUnlessFolders } from './class-set';
import { confirmPlan } from './confirm';
import { askSize, pickClass, pickImages, pickLayer, pickModel } from './pickers';
import { autoPatch, readSetting, readSettings } from './settings';
import { normaliseName } from './suggest';
import { readWorkspaceConfig, type Choices } from './workspaceConfig';

/**
 * Arguments accepted by craft.explain (all optional; a vscode.Uri from a menu works too): the option
 * table's entries with an `arg` key, typed from it. Paths are relative to the workspace folder.
 */
export type ExplainArgs = CommandArgs;

export interface RunPlan {
  folder: string;
  /** One class, or several (a set: `classes`). */
  options: WorkerExplainOptions | WorkerClassSetOptions;
  /** Choices to write back into craft.config.json once the run succeeds (answers and arguments). */
  remember: Choices;
  reveal: boolean;
  /** The class as the user knows it: its label when the model has labels, else "class K" (several: their names). */
  classLabel: string;
  /** The class index, when the model's labels (or the index given) say it. */
  classIndex?: number;
  /** The model's labels, when it has any. */
  labels?: string[];
  /** Model, images, class or layer came from craft.config.json rather than from a prompt or an argument. */
  fromConfig: boolean;
}

/** How craft.explain was started. */
export interface PlanHow {
  /**
   * Started by the user (palette, Explorer menu, CodeLens) rather than by a script passing options: a
   * run with remembered choices is then shown for confirmation first (setting craft.confirmBeforeRun).
   */
  interactive?: boolean;
}

/** What the flow needs from the engine (answered by a worker process, see runner.ts). */
export interface EngineQueries {
  describe(model: string, labelsFile?: string): Promise<ModelSummary>;
  layers(request: { model: string; size?: [number, number]; images?: string; preset?: string }): Promise<LayerListing>;
}

/** Reads the command's arguments: an object, a vscode.Uri (Explorer menus) or nothing. */
export function normaliseArgs(raw: unknown): ExplainArgs {
  if (raw === undefined || raw === null) return {};
  if (raw instanceof vscode.Uri) {
    if (raw.scheme !== 'file') throw new CraftError('usage', `CRAFT reads local files only, not ${raw.toString()}.`);
    const p = raw.fsPath;
    let isDir = false;
    try {
      isDir = fs.statSync(p).isDirectory();
    } catch {
      throw new CraftError('input', `${p} does not exist.`);
    }
    if (isDir) return { images: p };
    if (p.toLowerCase().endsWith('.onnx')) return { model: p };
    throw new CraftError('usage', `${path.basename(p)} is neither an .onnx model nor a folder of images.`);
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new CraftError('usage', 'craft.explain takes an object of options, e.g. { model, images, class, layer }.');
  const args: Record<string, unknown> = {};
  const known = argOptions();
  for (const [key, given] of Object.entries(raw as Record<string, unknown>)) {
    if (given === undefined) continue;
    const o = known.find((x) => x.arg === key);
    if (!o) {
      const near = suggest(
        key,
        known.map((x) => x.arg!),
        aliasesFor((x) => x.arg),
      );
      throw new CraftError(
        'usage',
        `craft.explain: unknown argument "${key}"${near ? `; did you mean "${near}"?` : '.'}`,
        `Arguments: ${known.map((x) => x.arg).join(', ')}.`,
      );
    }
    // Paths may come as a vscode.Uri (e.g. from another extension); they stay relative otherwise.
    const v = given instanceof vscode.Uri && (o.type === 'file' || o.type === 'folder' || o.type === 'path') ? given.fsPath : given;
    args[key] = fromJson(o, v, `craft.explain: "${key}"`);
  }
  return args as ExplainArgs;
}

/** The workspace folder a run belongs to: the one holding the model or images, else the first. */
export function folderFor(args: ExplainArgs): string | undefined {
  for (const p of [args.model, args.images]) {
    if (p && path.isAbsolute(p)) {
      const f = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p));
      if (f?.uri.scheme === 'file') return f.uri.fsPath;
    }
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  const fromEditor = active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  if (fromEditor?.uri.scheme === 'file') return fromEditor.uri.fsPath;
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

/**
 * Resolves every option of a run, prompting only for what is unknown (or for everything with `force`);
 * a run the user started with remembered choices is shown for confirmation (and change) first.
 * Returns undefined when the user dismissed a prompt or the confirmation.
 */
export async function planRun(args: ExplainArgs, engine: EngineQueries, onNote: (line: string) => void, how: PlanHow = {}): Promise<RunPlan | undefined> {
  const cached = cachedEngine(engine);
  const plan = await resolvePlan(args, cached, onNote);
  if (!plan || !how.interactive || !plan.fromConfig) return plan;
  if (readSetting('confirmBeforeRun', vscode.Uri.file(plan.folder)) === false) return plan;
  return confirmPlan(plan, args, cached, (changed) => resolvePlan(changed, cached, onNote));
}

/** The engine's answers about a model, asked once per planning (the confirmation re-plans after a change). */
function cachedEngine(engine: EngineQueries): EngineQueries {
  const described = new Map<string, Promise<ModelSummary>>();
  return {
    describe: (model, labelsFile) => {
      const key = `${model}\n${labelsFile ?? ''}`;
      let p = described.get(key);
      if (!p) {
        p = engine.describe(model, labelsFile);
        described.set(key, p);
        p.catch(() => described.delete(key));
      }
      return p;
    },
    layers: (request) => engine.layers(request),
  };
}

async function resolvePlan(args: ExplainArgs, engine: EngineQueries, onNote: (line: string) => void): Promise<RunPlan | undefined> {
  const folder = folderFor(args);
  if (!folder) {
    throw new CraftError(
      'usage',
      'Open a folder first: CRAFT keeps its choices and results in the workspace.',
      'File → Open Folder… on the folder that holds the model and the images.',
    );
  }
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(folder, p));
  const settings = readSettings(vscode.Uri.file(folder));
  const config = await readWorkspaceConfig(folder);
  const c = config.options;
  const force = args.force === true;
  const remember: Choices = {};

  let model = abs(args.model);
  if (model) remember.model = model;
  else if (!force && c.model) model = c.model;
  else {
    model = await pickModel(c.model, settings.resultsFolder);
    if (!model) return undefined;
    remember.model = model;
  }
  // A folder or a FIFO named as the model would fail deep in the worker (or block its read).
  checkRegularFile(model, 'The model', 'input');
  // The stored answers (images, class, layer, size, labels, h) were given for the stored model: they
  // apply only to that model, and `force` asks again (offering them first).
  const keep = !force && c.model !== undefined && path.resolve(model) === path.resolve(c.model);
  const stored = <T>(v: T | undefined): T | undefined => (keep ? v : undefined);

  const labelsFile = abs(args.labels) ?? stored(c.labelsFile);
  let summary: ModelSummary | undefined;
  const describe = async (): Promise<ModelSummary> => (summary ??= await engine.describe(model!, labelsFile));

  // Input size: needed to run a dynamic-size model, and for the automatic patch size.
  let size = (args.size as [number, number] | undefined) ?? stored(c.size);
  if (args.size) remember.size = size;
  const patchGiven = args.patch ?? c.patch ?? (settings.patchSize > 0 ? settings.patchSize : undefined);
  if (!size || patchGiven === undefined) {
    const info = await describe();
    if (info.fixedSize) size = info.fixedSize;
    else if (!size) {
      size = await askSize(info, c.size);
      if (!size) return undefined;
      remember.size = size;
    }
  }

  let images = abs(args.images);
  if (images) remember.images = images;
  else images = stored(c.images);
  if (!images) {
    images = await pickImages(c.images, settings.resultsFolder);
    if (!images) return undefined;
    remember.images = images;
  }

  // Several classes (a list) make a run over several classes; only a single class is remembered.
  let classId: ClassRef | ClassRef[] | undefined = args.class;
  let classFromConfig = false;
  if (classId !== undefined) {
    if (!Array.isArray(classId)) remember.class = classId;
  } else {
    classId = stored(c.classId);
    classFromConfig = classId !== undefined;
  }
  let byPrediction = args.byPrediction ?? c.byPrediction;
  if (classId === undefined) {
    const info = await describe();
    const picked = await pickClass(info, Array.isArray(c.classId) ? undefined : c.classId, images);
    if (picked === undefined) return undefined;
    classId = picked;
    if (Array.isArray(picked)) {
      // Each class's images in its sub-folder when the folder has one per class, else by prediction.
      byPrediction ??= await byPredictionUnlessFolders(images, picked, info.labels);
      onNote(
        `Classes ${picked.join(', ')}: ${byPrediction ? 'each image under the class the model predicts for it' : "each class's images from its sub-folder"} of ${images}.`,
      );
    } else remember.class = picked;
  }
  // The class by its label, for the confirmation and the progress; best effort: a model the run cannot
  // read is reported by the run itself, with its own message.
  const info = await describe().catch(() => undefined);
  const classes = Array.isArray(classId) ? classId : undefined;
  const cls = classes ? { label: classes.map((k) => classOf(k, info?.labels).label ?? `class ${k}`).join(', ') } : classOf(classId as ClassRef, info?.labels);

  let layer = args.layer;
  if (layer) remember.layer = layer;
  else layer = stored(c.layer);
  if (!layer) {
    const listing = await engine.layers({ model, size, images, preset: args.preset ?? c.preset });
    const usable = listing.layers.filter((l) => l.nonNegative && l.cleanCut);
    if (usable.length === 0) {
      throw new CraftError(
        'model',
        `No layer of ${path.basename(model)} is a non-negative feature map on the probe images, and NMF needs activations ≥ 0.`,
        'CRAFT splits the model after a ReLU (or a pooling after one); export a model whose feature maps pass through ReLU.',
      );
    }
    layer = await pickLayer(listing, c.layer);
    if (!layer) return undefined;
    remember.layer = layer;
  }

  const patch = patchGiven ?? autoPatch(size!);
  if (patchGiven === undefined)
    onNote(`Patch size ${patch} px (automatic for a ${size!.join('×')} input; set craft.patchSize or "patch" in ${path.basename(config.file)} to change it).`);
  const outSetting = path.resolve(folder, settings.resultsFolder);
  const options = runOptions({
    ...DEFAULTS,
    model,
    hModel: stored(c.hModel),
    images,
    classId,
    byPrediction,
    classFolders: stored(c.classFolders),
    layer,
    size,
    labelsFile,
    preset: args.preset ?? c.preset,
    preprocess: c.preprocess,
    concepts: args.concepts ?? c.concepts ?? settings.concepts,
    patch,
    batch: args.batch ?? c.batch ?? settings.batchSize,
    designs: args.designs ?? c.designs ?? settings.designs,
    provider: args.provider ?? c.provider ?? settings.provider,
    out: abs(args.out) ?? c.out ?? outSetting,
    maxImages: args.maxImages ?? c.maxImages,
    alphaW: args.alphaW ?? c.alphaW ?? DEFAULTS.alphaW,
    topCrops: args.topCrops ?? c.topCrops ?? DEFAULTS.topCrops,
    mapPercentile: args.mapPercentile ?? c.mapPercentile ?? DEFAULTS.mapPercentile,
    threads: args.threads ?? c.threads,
    cacheSize: args.cacheSize ?? c.cacheSize ?? settings.cacheSize,
  });
  // Remembered: what came neither from an argument nor from a prompt of this call.
  const fromConfig = classFromConfig || (['model', 'images', 'layer'] as const).some((k) => remember[k] === undefined);
  if (isClassSet(options)) {
    // A set's folder holds every class (or is read by prediction): as the image folder of a later
    // single-class run it would be wrong, so it is not remembered (nor the classes).
    delete remember.images;
  }
  return {
    folder,
    options: stripUndefined(options),
    remember,
    reveal: args.reveal !== false,
    classLabel: cls.label ?? `class ${String(classId)}`,
    classIndex: cls.index,
    labels: info?.labels,
    fromConfig,
  };
}

/** A class given as an index or a label, with both where the labels tell them. */
export function classOf(classId: string | number, labels: string[] | undefined): { index?: number; label?: string } {
  const text = String(classId).trim();
  if (/^\d+$/.test(text)) return { index: Number(text), label: labels?.[Number(text)] };
  const index = labels?.findIndex((l) => normaliseName(l) === normaliseName(text)) ?? -1;
  return index >= 0 ? { index, label: labels![index] } : { label: text };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

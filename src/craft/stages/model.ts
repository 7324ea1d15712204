import * as path from 'path';
import { CraftError, throwIfCancelled } from '../errors';
import { runName } from '../bundle/writer';
import { loadImage, type LoadResult } from '../images/load';
import { makePreprocess } from '../images/preprocess';
import { findLabels, resolveClass } from '../labels';
import type { ClassRef, ExplainOptions } from '../options';
import {
  checkLogits,
  checkOpset,
  describeModel,
  inputSize,
  probeLayers,
  readModelFile,
  usableLayersText,
  defaultLayer,
  runOnce,
  NOT_LOGITS_HINT,
  type ModelInfo,
  type LayerCandidate,
} from '../onnx/inspect';
import { MIN_OPSET } from '../onnx/build';
import { DataType, dataTypeName } from '../onnx/fields';
import type { OnnxModel, ValueInfo } from '../onnx/model';
import { extractSubgraph, NotACleanCutError } from '../onnx/subgraph';
import { SessionFactory } from '../onnx/sessions';
import { cropGrid, type CropGrid } from '../images/crops';
import { listImages } from '../images/list';
import { effectiveBatch, type Run } from '../run';
import type { PreprocessConfig, ProviderDetails } from '../../protocol';

/**
 * The model cut at the layer and checked on real images, for any class: what a run over several classes
 * prepares once (classes/set.ts) and each class's run reuses.
 */
export interface SharedModel {
  info: ModelInfo;
  factory: SessionFactory;
  preprocess: PreprocessConfig;
  layer: string;
  /** Per-item activation shape ([p, h, w] NCHW, [h, w, p] NHWC, or [p]). */
  layerShape: number[];
  layerLayout: 'NCHW' | 'NHWC';
  channels: number;
  spatial: boolean;
  g: OnnxModel;
  h: OnnxModel;
  hPath?: string;
  classes: number;
  labels?: string[];
  splitCheck?: { maxAbsDiff: number; images: number };
  /** The provider's choice, device and the share of g's and h's nodes that ran on it. */
  providerDetails: ProviderDetails;
  warnings: string[];
  /** h(g(x)) on the probe images ((images, classes), padded rows after `images`): each class is checked on them. */
  probeLogits: { data: Float32Array; images: number };
}

/** The model stage's outcome: the shared model and the class the run explains. */
export interface PreparedModel extends SharedModel {
  classIndex: number;
  classLabel?: string;
}

/** Reads images the set's shared pass decoded already, in place of decoding the files again. */
export type ImageLoader = (files: readonly string[]) => Promise<LoadResult[]>;

/** One class's run of a set (classes/set.ts): the model prepared once, the class's images, its folder's name. */
export interface PreparedRun {
  model: SharedModel;
  files: string[];
  /** The run folder's name. */
  name: string;
  load?: ImageLoader;
  /** Entries the listing of the class's folder passed over (recorded with the run's skipped images). */
  listingSkipped?: { file: string; reason: string }[];
}

const PROBE_IMAGES = 2;

/** The start of the log line each model preparation writes. */
export const MODEL_READY = 'Model ready';

/** The model stage's outcome plus what every later stage reads: the images, the crop grid, the batches. */
export interface Model extends PreparedModel {
  files: string[];
  grid: CropGrid;
  /** Batch of the passes through g (whole images or crops) and through h, capped to bound memory. */
  gBatch: number;
  hBatch: number;
  /** Set when the images were decoded by a shared pass (see PreparedRun). */
  load?: ImageLoader;
}

/**
 * The 'model' stage: lists the images, cuts the model into g and h at the layer (checked on probe
 * images), fixes the crop grid and the batch sizes, and opens the folder the bundle is written into.
 * A class's run of a set gets its images and the model prepared already (`prepared`).
 */
export async function modelStage(run: Run, prepared?: PreparedRun): Promise<Model> {
  const o = run.options;
  run.stage('model');
  run.progress('model', 0, 1, 'steps');
  // Not the results folder: runs written inside the image folder are not images of the dataset.
  for (const s of prepared?.listingSkipped ?? []) run.skipListed(s.file, s.reason);
  const files = prepared?.files ?? (await listImages(o.images, { exclude: [o.out], onSkip: run.skipListed }));
  if (files.length === 0) {
    throw new CraftError(
      'input',
      `No images found in ${o.images}.`,
      'CRAFT reads PNG, JPEG, WebP, GIF and TIFF files (sub-folders included). Choose a folder of images of the class to explain.',
    );
  }
  const m = prepared ? forClass(prepared.model, o.classId) : await prepareModel(o, files, run.log);
  throwIfCancelled(run.signal);
  const [H, W] = m.preprocess.size;
  const gBatch = effectiveBatch(o.batch, 3 * H * W, m.info.fixedBatch);
  const hBatch = effectiveBatch(
    o.batch,
    m.layerShape.reduce((a, b) => a * b, 1),
    m.info.fixedBatch,
  );
  if (gBatch < o.batch || hBatch < o.batch) run.log(`Batches: g ${gBatch}, h ${hBatch} (--batch ${o.batch}, capped to bound memory).`);
  await run.openBundle(prepared?.name ?? runName(m.classLabel ?? `class-${m.classIndex}`), m.preprocess.size);
  run.progress('model', 1, 1, 'steps');
  return { ...m, files, grid: cropGrid(H, W, o.patch), gBatch, hBatch, load: prepared?.load };
}

/** Loads the first usable images as a probe batch (all files are tried in order until enough load). */
export async function probeBatch(files: string[], pre: PreprocessConfig, maxPixels: number | undefined, batch: number) {
  const tensors: Float32Array[] = [];
  const reasons: string[] = [];
  for (const file of files) {
    if (tensors.length >= batch) break;
    const r = await loadImage(file, pre, { maxPixels });
    if (r.ok) tensors.push(r.image.tensor);
    else if (reasons.length < 3) reasons.push(r.reason);
  }
  if (tensors.length === 0) {
    throw new CraftError(
      'input',
      `None of the ${files.length} image files could be read. ${reasons.join(' ')}`,
      'Check the image folder: CRAFT reads PNG, JPEG, WebP, GIF and TIFF.',
    );
  }
  const size = tensors[0].length;
  const data = new Float32Array(batch * size);
  // A fixed batch larger than the usable images is filled by repeating them.
  for (let i = 0; i < batch; i++) data.set(tensors[i % tensors.length], i * size);
  const [H, W] = pre.size;
  const dims = pre.layout === 'NCHW' ? [batch, 3, H, W] : [batch, H, W, 3];
  return { data, dims, images: tensors.length };
}

export async function prepareModel(o: ExplainOptions, files: string[], log: (line: string) => void): Promise<PreparedModel> {
  return forClass(await prepareSharedModel(o, files, log), o.classId);
}

/** The shared model with the class to explain: resolved (index or label) and checked on the probe images. */
export function forClass(m: SharedModel, classId: ClassRef): PreparedModel {
  const cls = resolveClass(classId, m.classes, m.labels);
  const badProbes = countNonFinite(m.probeLogits.data, m.classes, cls.index, m.probeLogits.images);
  if (badProbes > 0) throw nonFiniteLogits(cls.index, badProbes, m.probeLogits.images, 'probe images');
  return { ...m, classIndex: cls.index, classLabel: cls.label };
}

/**
 * The model stage's work that does not depend on the class: the provider, the layer, g and h, the
 * checks on probe images. `files`: images to probe with (the first that load).
 */
export async function prepareSharedModel(
  o: Omit<ExplainOptions, 'classId'>,
  files: string[],
  log: (line: string) => void,
  info: ModelInfo = describeModel(o.model),
): Promise<SharedModel> {
  const warnings: string[] = [];
  // What CRAFT adds to g and h needs these opsets; refused here, not when the graphs are built.
  checkOpset(info.model, o.model, MIN_OPSET.inputResize, 'the crops are resized by a Resize node in front of the model');
  const hFile = o.hModel ? readH(o.hModel, info) : undefined;
  if (!hFile) checkLogits(info.model, o.model);
  const size = inputSize(info, o.size);
  const preprocess = makePreprocess(o.preset ?? '[0,1]', size, info.layout, o.preprocess ?? {});
  const factory = await SessionFactory.open(o.provider, o.threads);
  log(factory.notice);
  // Two probe images unless one already fills a forward batch (large inputs): the run goes no further.
  const probeImages = effectiveBatch(PROBE_IMAGES, 3 * size[0] * size[1], info.fixedBatch);
  const probe = await probeBatch(files, preprocess, o.maxPixels, probeImages);
  const feeds = { [info.inputName]: { data: probe.data, dims: probe.dims } };

  let candidates: LayerCandidate[] | undefined;
  const listCandidates = async () => (candidates ??= await probeLayers(info, factory, probe));

  let g: OnnxModel;
  let h: OnnxModel;
  let layer: string;
  let hPath: string | undefined;
  if (hFile) {
    // g and h as two files: the layer is g's output, and it must be h's input (checked by readH).
    hPath = o.hModel;
    g = info.model;
    h = hFile;
    layer = info.outputName;
  } else {
    layer = o.layer ?? '';
    if (!layer) {
      const found = defaultLayer(info, await listCandidates());
      if (!found)
        throw new CraftError(
          'model',
          'No usable split layer was found: CRAFT needs a non-negative 4-D feature map that h can be computed from.',
          usableLayersText(await listCandidates()),
        );
      layer = found;
      log(`Layer: ${layer} (default: the last non-negative feature map before the final pooling; choose another with --layer).`);
    } else if (!info.model.nodes.some((n) => n.outputs.includes(layer))) {
      throw await unknownLayer(layer, info, o.model, listCandidates);
    }
    try {
      g = extractSubgraph(info.model, [info.inputName], [layer]);
      h = extractSubgraph(info.model, [layer], [info.outputName]);
    } catch (e) {
      if (e instanceof NotACleanCutError) {
        throw new CraftError(
          'model',
          `Layer ${layer} is not a clean cut of the network: the rest of the model also needs ${e.missing.slice(0, 3).join(', ')} (a skip connection crosses it).`,
          usableLayersText(await listCandidates()),
        );
      }
      throw e;
    }
  }

  const act = await runOnce(factory, g, 'g (input → layer)', feeds, layer);
  const layerShape = act.dims.slice(1).map(Number);
  if (layerShape.length !== 3 && layerShape.length !== 1) {
    throw new CraftError(
      'model',
      `Layer ${layer} has shape [${act.dims.join(', ')}]; CRAFT needs a 4-D feature map (N, C, H, W) or a vector (N, C).`,
      usableLayersText(await listCandidates()),
    );
  }
  if (hFile) checkFit({ name: layer, elemType: DataType.FLOAT, shape: ['batch', ...layerShape] }, hFile.inputs[0], o.model, o.hModel!);
  const spatial = layerShape.length === 3;
  const layerLayout = info.layout;
  const channels = spatial ? (layerLayout === 'NCHW' ? layerShape[0] : layerShape[2]) : layerShape[0];
  if (o.concepts > channels) {
    // NMF finds at most min(crops, channels) concepts (sklearn would need init='random' beyond that).
    throw new CraftError(
      'usage',
      `${o.concepts} concepts were asked for, but layer ${layer} has only ${channels} channel${channels === 1 ? '' : 's'}: NMF cannot find more concepts than the layer has channels.`,
      `Use --concepts ${channels} or fewer, or choose a layer with more channels (\`craft layers --model ${path.basename(o.model)}\` lists them with their shapes).`,
    );
  }
  let min = Infinity;
  let nonFinite = 0;
  for (const v of act.data) {
    if (!Number.isFinite(v)) nonFinite++;
    else if (v < min) min = v;
  }
  if (nonFinite > 0) throw nonFiniteActivations(layer, nonFinite, act.data.length, 'activations on the probe images');
  if (min < 0) {
    throw negativeActivations(
      layer,
      min,
      'on the probe images',
      o.hModel ? 'Split the model after a ReLU (or similar) instead.' : usableLayersText(await listCandidates()),
    );
  }

  let splitCheck: PreparedModel['splitCheck'];
  const hInput = h.inputs[0].name;
  const viaSplit = await runOnce(factory, h, 'h (layer → logits)', { [hInput]: act }, h.outputs[0].name);
  const logitsDims: readonly number[] = viaSplit.dims;
  if (!o.hModel) {
    const full = await runOnce(factory, info.model, 'the model', feeds, info.outputName);
    let diff = 0;
    let scale = 0;
    for (let k = 0; k < full.data.length; k++) {
      diff = Math.max(diff, Math.abs(full.data[k] - viaSplit.data[k]));
      scale = Math.max(scale, Math.abs(full.data[k]));
    }
    splitCheck = { maxAbsDiff: diff, images: probe.images };
    log(`Split check: max |h(g(x)) − f(x)| = ${diff.toExponential(2)} on ${probe.images} probe image(s).`);
    if (!(diff <= 1e-3 * Math.max(1, scale))) {
      warnings.push(`h(g(x)) differs from the model by up to ${diff.toPrecision(3)} on the probe images: the split may not reproduce the model.`);
    }
  }
  if (logitsDims.length !== 2) {
    throw new CraftError('model', `The model output has shape [${logitsDims.join(', ')}]; CRAFT needs logits of shape (N, classes).`, NOT_LOGITS_HINT);
  }
  const classes = logitsDims[1];
  const { labels, source } = findLabels(o.model, info.metadata, o.labelsFile);
  if (labels && labels.length !== classes) {
    warnings.push(`The labels (${source}) list ${labels.length} names but the model has ${classes} outputs.`);
  }
  for (const w of warnings) log(`Warning: ${w}`);
  const providerDetails: ProviderDetails = { notice: factory.notice, device: factory.choice.device, skipped: factory.choice.skipped };
  if (factory.provider !== 'cpu') {
    // Which nodes ran on the GPU (the rest fell back to the CPU): ONNX Runtime's profile of one probe run.
    const share = {
      g: await factory.nodeShare(g.bytes, feeds, layer),
      h: await factory.nodeShare(h.bytes, { [hInput]: act }, h.outputs[0].name),
    };
    if (Number.isFinite(share.g) && Number.isFinite(share.h)) {
      providerDetails.nodeShare = share;
      log(`Nodes on ${factory.provider}: g ${(100 * share.g).toFixed(0)} %, h ${(100 * share.h).toFixed(0)} % (the rest ran on the CPU).`);
    }
  }
  // Once per preparation: a run over several classes prepares the model once for all of them.
  log(`${MODEL_READY}: g and h cut at ${layer} [${layerShape.join(', ')}], ${classes} classes, provider ${factory.provider}.`);
  return {
    info,
    factory,
    providerDetails,
    preprocess,
    layer,
    layerShape,
    layerLayout,
    channels,
    spatial,
    g,
    h,
    hPath,
    classes,
    labels,
    splitCheck,
    warnings,
    probeLogits: { data: viaSplit.data, images: probe.images },
  };
}

/** How many of the first `rows` rows of a (rows, classes) logits block have a non-finite logit for the class. */
export function countNonFinite(logits: Float32Array, classes: number, classIndex: number, rows: number): number {
  let bad = 0;
  for (let i = 0; i < rows; i++) if (!Number.isFinite(logits[i * classes + classIndex])) bad++;
  return bad;
}

/** The error for a class whose logit is NaN or ±Inf: its importance would be meaningless. */
export function nonFiniteLogits(classIndex: number, count: number, of: number, what: string): CraftError {
  return new CraftError(
    'model',
    `The model gives a non-finite logit (NaN or ±Inf) for class ${classIndex} on ${count} of ${of} ${what}, so the concepts' importance cannot be estimated.`,
    'Check the model on these images outside CRAFT: a log of a negative number, an overflow or a division by zero in its last layers gives this.',
  );
}

/** The error for a layer whose activations are NaN or ±Inf somewhere. */
export function nonFiniteActivations(layer: string, count: number, of: number, what: string): CraftError {
  return new CraftError(
    'model',
    `Layer ${layer} gives non-finite values (NaN or ±Inf): ${count} of ${of} ${what}. NMF cannot factorise them.`,
    'The model overflows or divides by zero before this layer on these images: check its preprocessing (--preset, --mean, --std) or choose an earlier layer.',
  );
}

/** The error for a layer that NMF cannot factorise. */
export function negativeActivations(layer: string, min: number, where: string, hint?: string): CraftError {
  return new CraftError(
    'model',
    `Layer ${layer} has negative activations (minimum ${min.toPrecision(3)} ${where}), and NMF needs activations ≥ 0.`,
    hint ?? 'Choose a layer right after a ReLU; `craft layers` lists the non-negative ones.',
  );
}

/**
 * Reads h (given with --h) and checks it before any work: one input that takes g's output (as declared;
 * the probe run checks the actual shape), logits out, and an opset the reconstruction can be written in.
 */
function readH(file: string, g: ModelInfo): OnnxModel {
  const h = readModelFile(file);
  const name = path.basename(file);
  if (h.inputs.length !== 1)
    throw new CraftError(
      'model',
      `${name} has ${h.inputs.length} inputs (${h.inputs.map((i) => i.name).join(', ')}); h must take the activations only.`,
      'Export h as the rest of the network from the split tensor: one input, the logits out.',
    );
  checkLogits(h, file);
  checkOpset(h, file, MIN_OPSET.reconstruction, 'the concept reconstruction in front of h slices shapes with Slice-10');
  checkFit(g.model.outputs[0], h.inputs[0], g.path, file);
  return h;
}

/** Refuses a g/h pair where h's input does not take g's output: element type, rank, fixed sizes (batch aside). */
function checkFit(gOut: ValueInfo, hIn: ValueInfo, gFile: string, hFile: string): void {
  const typeClash = gOut.elemType !== null && hIn.elemType !== null && gOut.elemType !== hIn.elemType;
  const a = gOut.shape;
  const b = hIn.shape;
  const shapeClash = !!a && !!b && (a.length !== b.length || a.some((d, i) => i > 0 && typeof d === 'number' && typeof b[i] === 'number' && d !== b[i]));
  if (!typeClash && !shapeClash) return;
  const describe = (v: ValueInfo) =>
    `${typeClash ? `${dataTypeName(v.elemType)} ` : ''}${v.shape ? `[${v.shape.map((d) => d ?? '?').join(', ')}]` : '(shape not declared)'}`;
  throw new CraftError(
    'model',
    `h does not fit g: ${path.basename(gFile)} gives '${gOut.name}' ${describe(gOut)}, but ${path.basename(hFile)} takes '${hIn.name}' ${describe(hIn)}.`,
    "Give the g and h of one split (h is the rest of the network from g's output), or give the full model and choose the split with --layer.",
  );
}

/** The error for a --layer that names no node output: the graph input, a weight, or nothing at all. */
async function unknownLayer(layer: string, info: ModelInfo, file: string, listCandidates: () => Promise<LayerCandidate[]>): Promise<CraftError> {
  const hint = `${usableLayersText(await listCandidates())} List them all with \`craft layers --model ${file}\`.`;
  if (layer === info.inputName) {
    return new CraftError('usage', `${JSON.stringify(layer)} is the model's input, not a layer: CRAFT splits the network at a feature map inside it.`, hint);
  }
  if (info.model.initializers.some((i) => i.name === layer)) {
    return new CraftError(
      'usage',
      `${JSON.stringify(layer)} is a weight of the model (an initializer), not a layer: CRAFT splits the network at a feature map computed from the image.`,
      hint,
    );
  }
  return new CraftError('usage', `The model has no tensor named ${JSON.stringify(layer)}.`, hint);
}

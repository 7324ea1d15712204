import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { MAX_INPUT_SIDE } from '../images/preprocess';
import { DataType, dataTypeName } from './fields';
import { opsetVersion, parseModel, type Dim, type OnnxModel } from './model';
import { withOutputs, withTensorStats, isCleanCut } from './subgraph';
import { ortModule, runFloat, type SessionFactory } from './sessions';

/** What the engine needs to know about a classifier file. */
export interface ModelInfo {
  path: string;
  model: OnnxModel;
  inputName: string;
  inputShape: Dim[];
  outputName: string;
  layout: 'NCHW' | 'NHWC';
  /** [height, width] when the model fixes them. */
  fixedSize?: [number, number];
  /** The batch size when the model fixes it (e.g. 1), else undefined. */
  fixedBatch?: number;
  /** From the output shape, when it is fixed. */
  numClasses?: number;
  metadata: Record<string, string>;
}

/** Reads an .onnx file and checks what every model of a run needs: readable, weights inside, not empty. */
export function readModelFile(file: string): OnnxModel {
  const name = path.basename(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
    throw new CraftError('model', `Cannot read the model ${file}: ${why}`, 'Give the path of an .onnx file.');
  }
  if (bytes.length === 0) {
    throw new CraftError(
      'model',
      `${name} is empty (0 bytes).`,
      'The export or the copy did not finish: export the classifier to ONNX again (e.g. torch.onnx.export) and give that file.',
    );
  }
  let model: OnnxModel;
  try {
    model = parseModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    throw new CraftError(
      'model',
      `${name} is not a readable ONNX model (${(e as Error).message}).`,
      'Export the classifier to ONNX (e.g. torch.onnx.export) and give that file; a truncated download also gives this error.',
    );
  }
  if (model.hasExternalData) {
    throw new CraftError(
      'model',
      `${name} keeps its weights in external data files, which this version cannot split.`,
      'Re-export the model with its weights inside the .onnx file (e.g. onnx.save(model, path, save_as_external_data=False)).',
    );
  }
  if (model.nodes.length === 0) {
    throw new CraftError(
      'model',
      `${name} has an empty graph (no operators): there is no network to explain.`,
      'Check that the export wrote the whole model (torch.onnx.export of the classifier, not of a wrapper that returns its input).',
    );
  }
  return model;
}

/** Reads and checks an ONNX classifier (or g): one float32 image input of rank 4 with 3 channels. */
export function describeModel(file: string): ModelInfo {
  const model = readModelFile(file);
  const name = path.basename(file);
  if (model.inputs.length !== 1) {
    throw new CraftError(
      'model',
      `${name} has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); CRAFT needs a classifier with one image input.`,
    );
  }
  if (model.outputs.length < 1) throw new CraftError('model', `${name} has no outputs.`);
  const input = model.inputs[0];
  if (input.elemType !== null && input.elemType !== DataType.FLOAT) {
    throw new CraftError(
      'model',
      `The model input '${input.name}' is ${dataTypeName(input.elemType)}; CRAFT needs a float32 image input.`,
      inputTypeHint(input.elemType),
    );
  }
  const shape = input.shape ?? [null, 3, null, null];
  if (shape.length !== 4) {
    throw new CraftError('model', `The model input '${input.name}' has shape [${shape.join(', ')}]; CRAFT needs an image batch of rank 4 (NCHW or NHWC).`);
  }
  const layout: 'NCHW' | 'NHWC' = shape[1] === 3 ? 'NCHW' : shape[3] === 3 ? 'NHWC' : 'NCHW';
  const channels = layout === 'NCHW' ? shape[1] : shape[3];
  if (typeof channels === 'number' && channels !== 3) {
    throw new CraftError(
      'model',
      `The model input '${input.name}' has ${channels} channels; this version feeds RGB images (3 channels).`,
      'Wrap the model so that it takes 3-channel input (e.g. average the channels inside the graph).',
    );
  }
  const [hDim, wDim] = layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const output = model.outputs[0];
  const outShape = output.shape;
  const metadata: Record<string, string> = {};
  for (const { key, value } of model.metadata) metadata[key] = value;
  return {
    path: file,
    model,
    inputName: input.name,
    inputShape: shape,
    outputName: output.name,
    layout,
    fixedSize: typeof hDim === 'number' && typeof wDim === 'number' ? [hDim, wDim] : undefined,
    fixedBatch: typeof shape[0] === 'number' ? shape[0] : undefined,
    numClasses: outShape && outShape.length === 2 && typeof outShape[1] === 'number' ? outShape[1] : undefined,
    metadata,
  };
}

/**
 * Refuses a classifier (or h) whose first output is declared as something other than float32 logits
 * (N, classes), before any work; an undeclared shape is checked on the probe run instead.
 */
export function checkLogits(model: OnnxModel, file: string): void {
  const output = model.outputs[0];
  if (!output) throw new CraftError('model', `${path.basename(file)} has no outputs.`);
  if (output.elemType !== null && output.elemType !== DataType.FLOAT) {
    throw new CraftError(
      'model',
      `The output '${output.name}' of ${path.basename(file)} is ${dataTypeName(output.elemType)}; CRAFT needs float32 logits.`,
      'Export the classifier in float32 (e.g. model.float() before torch.onnx.export).',
    );
  }
  if (output.shape && output.shape.length !== 2) {
    throw new CraftError(
      'model',
      `The output '${output.name}' of ${path.basename(file)} has shape [${output.shape.join(', ')}]; CRAFT needs logits of shape (N, classes).`,
      NOT_LOGITS_HINT,
    );
  }
}

export const NOT_LOGITS_HINT =
  'Give the classifier itself, whose first output is the class scores before softmax (a segmentation or detection model cannot be explained per class this way).';

function inputTypeHint(type: number): string {
  if (type === DataType.UINT8) {
    return 'Export the model with a float32 input and do the uint8 → float conversion outside the graph (then choose the preprocessing range the model expects, e.g. [0, 255]).';
  }
  if (type === DataType.FLOAT16 || type === DataType.BFLOAT16) {
    return 'Export the float32 model (e.g. model.float() before torch.onnx.export); half-precision models are not supported.';
  }
  return 'Export the model with a float32 image input.';
}

/**
 * Refuses a model whose default-domain opset is older than what CRAFT adds to it (build.ts MIN_OPSET),
 * before any heavy work; otherwise the run would fail halfway, when the crop graph is built.
 */
export function checkOpset(model: OnnxModel, file: string, needed: number, why: string): void {
  const v = opsetVersion(model, '');
  if (v !== undefined && v >= needed) return;
  throw new CraftError(
    'model',
    `${path.basename(file)} uses ONNX opset ${v ?? '(none)'}; CRAFT needs opset ${needed} or newer (${why}).`,
    `Re-export the model with a newer opset, e.g. torch.onnx.export(..., opset_version=17), or convert it with onnx.version_converter.convert_version(model, 17).`,
  );
}

/** The input size to use: the model's own when fixed, else --size (required then). */
export function inputSize(info: ModelInfo, requested?: [number, number]): [number, number] {
  if (requested && !requested.every((s) => Number.isInteger(s) && s >= 1 && s <= MAX_INPUT_SIDE)) {
    throw new CraftError(
      'usage',
      `--size ${requested.join('x')}: each side must be a whole number of pixels from 1 to ${MAX_INPUT_SIDE}.`,
      'Give the size the model was trained at (e.g. --size 224).',
    );
  }
  if (info.fixedSize) {
    if (requested && (requested[0] !== info.fixedSize[0] || requested[1] !== info.fixedSize[1])) {
      throw new CraftError(
        'usage',
        `The model's input size is fixed at ${info.fixedSize.join('×')}, but --size ${requested.join('x')} was given.`,
        'Leave --size out for this model.',
      );
    }
    return info.fixedSize;
  }
  if (!requested) {
    throw new CraftError(
      'usage',
      `The model's input size is dynamic (${info.inputShape.join(', ')}), so the image size must be given.`,
      'Pass --size H[xW] (e.g. --size 224), or "size" in the config file: the size the model was trained at.',
    );
  }
  return requested;
}

export interface LayerCandidate {
  name: string;
  /** Shape of one item (batch dim removed), e.g. [64, 7, 7]. */
  shape: number[];
  /** Operator that produces the tensor. */
  op: string;
  /** All values ≥ 0 on the probe batch (NMF needs it). */
  nonNegative: boolean;
  min: number;
  /** h can be cut out from this tensor alone (no skip connection crosses it). */
  cleanCut: boolean;
  /** Position of the producing node (topological). */
  order: number;
}

/**
 * Lists the candidate split tensors (the design's float 4-D maps, in graph order) with their shapes and
 * minimum on the probe batch. The probe does not fetch the tensors: a Shape and a ReduceMin node next
 * to each (withTensorStats) report them, so ORT frees every map as in a plain inference, and the items
 * go through one at a time when the batch is free. Memory is then one inference of one image at the
 * requested size, instead of every intermediate map of the batch at once (10 GB at --size 2048 on the
 * 28-px sample CNN).
 */
export async function probeLayers(info: ModelInfo, factory: SessionFactory, probe: { data: Float32Array; dims: number[] }): Promise<LayerCandidate[]> {
  const names = info.model.nodes.flatMap((n) => n.outputs).filter((n) => n && n !== info.outputName);
  const floatMaps = await floatTensors(info.model, names, factory);
  const { model, stats } = withTensorStats(info.model, floatMaps);
  const session = await factory.create(model.bytes, 'the model (probe run)');
  const found = new Map<string, { dims: number[]; min: number }>();
  try {
    const [batch, ...item] = probe.dims;
    const step = info.fixedBatch ?? 1;
    const size = item.reduce((a, b) => a * b, 1);
    for (let start = 0; start < batch; start += step) {
      const feed = new (ortModule().Tensor)('float32', probe.data.subarray(start * size, (start + step) * size), [step, ...item]);
      const result = await session.run(
        { [info.inputName]: feed },
        stats.flatMap((s) => [s.shape, s.min]),
      );
      for (const s of stats) {
        const dims = Array.from(result[s.shape].data as BigInt64Array, Number);
        const min = Number((result[s.min].data as Float32Array)[0]);
        const seen = found.get(s.tensor);
        if (seen) seen.min = Math.min(seen.min, min);
        else found.set(s.tensor, { dims, min });
      }
    }
  } finally {
    await session.release();
  }
  const producer = new Map(info.model.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const candidates: LayerCandidate[] = [];
  for (const [name, { dims, min }] of found) {
    if (dims.length !== 4 || dims[0] !== (info.fixedBatch ?? 1)) continue;
    candidates.push({
      name,
      shape: dims.slice(1),
      op: producer.get(name)?.opType ?? '?',
      nonNegative: min >= 0,
      min,
      cleanCut: isCleanCut(info.model, [name], [info.outputName]),
      order: producer.get(name)?.index ?? -1,
    });
  }
  return candidates.sort((a, b) => a.order - b.order);
}

/**
 * The names among `names` that hold float32 tensors of rank 4 (or of a rank ORT cannot tell), from the
 * types ORT infers when it loads the model with them as outputs (nothing runs).
 */
async function floatTensors(model: OnnxModel, names: string[], factory: SessionFactory): Promise<string[]> {
  const session = await factory.create(withOutputs(model, names).bytes, 'the model (probe run)');
  try {
    const meta = new Map(session.outputMetadata.map((m) => [m.name, m] as const));
    return names.filter((n) => {
      const m = meta.get(n);
      return m?.isTensor && m.type === 'float32' && (m.shape.length === 4 || m.shape.length === 0);
    });
  } finally {
    await session.release();
  }
}

/** Operators whose output depends on the shape of their input only, not on its values. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/**
 * The tensors `from` is computed from, `from` included, walking back through the producers; the walk
 * does not go past a tensor for which `stop` says so (it is still included).
 */
export function upstream(model: OnnxModel, from: readonly string[], stop: (tensor: string) => boolean = () => false): Set<string> {
  const producer = new Map(model.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const seen = new Set<string>();
  const stack = [...from];
  while (stack.length) {
    const t = stack.pop()!;
    if (!t || seen.has(t)) continue;
    seen.add(t);
    const node = producer.get(t);
    if (!node || stop(t) || SHAPE_ONLY.has(node.opType)) continue;
    stack.push(...node.inputs, ...node.outerInputs);
  }
  return seen;
}

/**
 * The default split: the last usable (non-negative, clean-cut) 4-D map on the path that feeds the
 * logits through the final pooling. Walking back from the logits through what is not a spatial map
 * (the pooled vector, a Flatten, the classifier) stops at the map(s) the final pooling reads; the
 * default is the last usable spatial map among those and what they are computed from. A pooling on
 * another branch (a squeeze-and-excitation block, an input standardisation) only feeds a map that
 * comes later, so it is never taken for the final pooling. Without spatial maps (a tiny input size),
 * the last usable 4-D tensor the logits depend on.
 */
export function defaultLayer(info: ModelInfo, candidates: LayerCandidate[]): string | undefined {
  const byName = new Map(candidates.map((c) => [c.name, c] as const));
  const spatial = (c: LayerCandidate) => {
    const [h, w] = info.layout === 'NCHW' ? [c.shape[1], c.shape[2]] : [c.shape[0], c.shape[1]];
    return h * w > 1;
  };
  const finalMaps: string[] = [];
  const reached = upstream(info.model, [info.outputName], (t) => {
    const c = byName.get(t);
    if (!c || !spatial(c)) return false;
    finalMaps.push(t);
    return true;
  });
  const feeding = finalMaps.length ? upstream(info.model, finalMaps) : reached;
  const usable = candidates.filter((c) => feeding.has(c.name) && c.nonNegative && c.cleanCut);
  const maps = usable.filter(spatial);
  return (maps.length ? maps : usable).at(-1)?.name;
}

/** A one-line description of usable layers, for error messages. */
export function usableLayersText(candidates: LayerCandidate[]): string {
  const usable = candidates.filter((c) => c.nonNegative && c.cleanCut);
  if (!usable.length) return 'No layer of this model is non-negative on the probe images.';
  const shown = usable.slice(-6).map((c) => `${c.name} [${c.shape.join('×')}]`);
  return `Layers that work: ${shown.join(', ')}${usable.length > 6 ? ` (and ${usable.length - 6} earlier)` : ''}.`;
}

/** Runs a model on a probe batch and returns its first output (for the h(g(x)) = f(x) check). */
export async function runOnce(
  factory: SessionFactory,
  model: OnnxModel,
  what: string,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
  output: string,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await factory.create(model.bytes, what);
  try {
    return (await runFloat(session, feeds, [output]))[output];
  } finally {
    await session.release();
  }
}

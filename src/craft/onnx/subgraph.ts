/** Model-level edits: extra outputs for probing, and cutting the graph into g and h. */
import { PbField } from './protobuf';
import { GRAPH_INPUT, GRAPH_OUTPUT, DataType } from './fields';
import { Dim, ValueInfo, NodeInfo, OnnxModel, valueInfoName } from './model';
import { ModelEditor } from './editor';

// ---------------------------------------------------------------------------------------------
// Model-level edits.

/**
 * The batch dimension new inputs/outputs get: the model's first input's leading dim when fixed
 * (a number), else its symbolic name (or 'batch' when unnamed).
 */
function batchDimOf(model: OnnxModel): number | string {
  const d = model.inputs[0]?.shape?.[0];
  if (typeof d === 'number' || typeof d === 'string') return d;
  return 'batch';
}

/** A known shape with its leading dim replaced by the model's batch dim unless that is fixed. */
function withBatchDim(shape: Dim[] | null, batch: number | string): Dim[] | undefined {
  if (!shape) return undefined;
  if (shape.length === 0 || typeof batch === 'number' || typeof shape[0] === 'string') return shape;
  return [batch, ...shape.slice(1)];
}

function allTensorNames(model: OnnxModel): Set<string> {
  const s = new Set<string>();
  for (const n of model.nodes) for (const o of n.outputs) if (o) s.add(o);
  for (const i of model.initializers) s.add(i.name);
  for (const f of model.proto.graph) if (f.no === GRAPH_INPUT) s.add(valueInfoName(f));
  return s;
}

function findValueInfo(model: OnnxModel, name: string): ValueInfo | undefined {
  return model.outputs.find((v) => v.name === name) ?? model.valueInfo.find((v) => v.name === name) ?? model.inputs.find((v) => v.name === name);
}

/**
 * A copy of the model with extra graph outputs, so onnxruntime returns those intermediate tensors.
 * Names already among the outputs are skipped. Each new output carries the element type and shape
 * from value_info when the model declares them, else only its name. Throws for unknown names.
 */
export function withOutputs(model: OnnxModel, names: readonly string[]): OnnxModel {
  const known = allTensorNames(model);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`withOutputs: no tensor named ${unknown.map((n) => `'${n}'`).join(', ')} in the model`);
  const ed = new ModelEditor(model);
  const have = new Set(ed.outputNames);
  const batch = batchDimOf(model);
  for (const name of names) {
    if (have.has(name)) continue;
    have.add(name);
    const vi = findValueInfo(model, name);
    ed.addOutput(vi && vi.elemType !== null ? { name, elemType: vi.elemType, shape: withBatchDim(vi.shape, batch) } : { name });
  }
  return ed.toModel();
}

/** Where withTensorStats reports a tensor: the graph outputs holding its shape and its smallest value. */
export interface TensorStat {
  tensor: string;
  /** int64 (rank), the tensor's shape. */
  shape: string;
  /** float32 scalar, its minimum. */
  min: string;
}

/**
 * A copy of the model that reports the shape and the minimum of each named float tensor (a Shape and a
 * ReduceMin node reading it) instead of the tensor itself, so that ORT can free each map after its last
 * use as in a plain inference (withOutputs keeps every map alive to the end and copies it out).
 * The model's own outputs stay. ReduceMin without axes reduces over every axis in every opset
 * (attribute form before 18, optional input from 18 on).
 *
 * The nodes go at the end, the last tensor's first. ORT's default execution order is a depth-first
 * walk back from the graph's leaves, taking the leaf added last first: the first map's statistics then
 * run as soon as that map exists, before the network goes on, and so on down the graph. (Placed right
 * after each producer, or in graph order, they would run at the very end, with every map still held.)
 */
export function withTensorStats(model: OnnxModel, names: readonly string[]): { model: OnnxModel; stats: TensorStat[] } {
  const ed = new ModelEditor(model);
  const order = new Map(model.nodes.flatMap((n) => n.outputs.map((o) => [o, n.index] as const)));
  const tensors = [...new Set(names)].sort((a, b) => (order.get(a) ?? -1) - (order.get(b) ?? -1));
  // Numbered bases: freshName then finds a free name at once, even for thousands of tensors.
  const stats: TensorStat[] = tensors.map((tensor, k) => ({
    tensor,
    shape: ed.freshName(`craft/probe/shape_${k}`),
    min: ed.freshName(`craft/probe/min_${k}`),
  }));
  for (const [k, stat] of [...stats.entries()].reverse()) {
    ed.addNode({ opType: 'Shape', inputs: [stat.tensor], outputs: [stat.shape], name: ed.freshName(`craft/probe/Shape_${k}`) });
    ed.addNode({
      opType: 'ReduceMin',
      inputs: [stat.tensor],
      outputs: [stat.min],
      name: ed.freshName(`craft/probe/ReduceMin_${k}`),
      attributes: [{ name: 'keepdims', int: 0 }],
    });
  }
  for (const stat of stats) {
    ed.addOutput({ name: stat.shape, elemType: DataType.INT64, shape: [null] });
    ed.addOutput({ name: stat.min, elemType: DataType.FLOAT, shape: [] });
  }
  return { model: ed.toModel(), stats };
}

export interface ExtractOptions {
  /** Declared shape per new input (number: fixed, string: symbolic, null: unknown dim); used as given. */
  inputShapes?: Readonly<Record<string, readonly Dim[]>>;
  /** Element type per new input when value_info does not give one (default FLOAT). */
  inputTypes?: Readonly<Record<string, number>>;
}

/** Thrown by extractSubgraph when the outputs need tensors the inputs do not determine. */
export class NotACleanCutError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
  ) {
    super(message);
    this.name = 'NotACleanCutError';
  }
}

/**
 * Walks back from `outputs` (through subgraph outer-scope reads too), stopping at `inputs`: the nodes
 * and initializers needed, and the tensors that are neither (non-empty: not a clean cut).
 */
function neededFor(model: OnnxModel, inputs: readonly string[], outputs: readonly string[]) {
  const producer = new Map<string, NodeInfo>();
  for (const n of model.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const initNames = new Set(model.initializers.map((i) => i.name));
  const boundary = new Set(inputs);
  const keptNodes = new Set<number>();
  const keptInits = new Set<string>();
  const missing: string[] = [];
  const seen = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (t === '' || seen.has(t)) continue;
    seen.add(t);
    if (boundary.has(t)) continue;
    const p = producer.get(t);
    if (p) {
      if (!keptNodes.has(p.index)) {
        keptNodes.add(p.index);
        stack.push(...p.inputs, ...p.outerInputs);
      }
    } else if (initNames.has(t)) keptInits.add(t);
    else missing.push(t);
  }
  return { keptNodes, keptInits, missing };
}

/** Whether `outputs` can be computed from `inputs` (and initializers) alone: extractSubgraph would not throw NotACleanCutError. */
export function isCleanCut(model: OnnxModel, inputs: readonly string[], outputs: readonly string[]): boolean {
  return neededFor(model, inputs, outputs).missing.length === 0;
}

/**
 * The part of the graph that computes `outputs` from `inputs`: the nodes needed (walking back from the
 * outputs, through subgraph outer-scope reads too, stopping at the inputs) and the initializers they
 * read. The given tensors become the graph's inputs; unused initializers, inputs and value_info go.
 *
 * New inputs that were original graph inputs keep their declaration. Others get: the element type from
 * value_info (else `inputTypes[name]`, else FLOAT) and the shape from `inputShapes[name]`, else from
 * value_info with the leading dim made the model's symbolic batch dim (unless the model's batch dim is
 * fixed), else no shape.
 *
 * Throws NotACleanCutError naming the missing tensors when an output depends on something that is
 * neither an input nor computable from them (e.g. a skip connection from before the cut), and Error
 * for names that are not tensors of the model.
 */
export function extractSubgraph(model: OnnxModel, inputList: readonly string[], outputList: readonly string[], options: ExtractOptions = {}): OnnxModel {
  const inputs = [...new Set(inputList)];
  const outputs = [...new Set(outputList)];
  const known = allTensorNames(model);
  const unknown = [...inputs, ...outputs].filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`extractSubgraph: no tensor named ${unknown.map((n) => `'${n}'`).join(', ')} in the model`);
  if (outputs.length === 0) throw new Error('extractSubgraph: no outputs given');

  const { keptNodes, keptInits, missing } = neededFor(model, inputs, outputs);
  const initNames = new Set(model.initializers.map((i) => i.name));
  const boundary = new Set(inputs);
  if (missing.length) {
    const graphInputs = new Set(model.inputs.map((v) => v.name));
    const described = missing.map((m) => (graphInputs.has(m) ? `'${m}' (a graph input)` : `'${m}'`));
    throw new NotACleanCutError(
      `extractSubgraph: [${outputs.join(', ')}] cannot be computed from [${inputs.join(', ')}] alone: ` + `they also need ${described.join(', ')}`,
      missing,
    );
  }

  const ed = new ModelEditor(model);
  const batch = batchDimOf(model);
  const originalInputs = new Map<string, PbField>();
  for (const f of model.proto.graph) if (f.no === GRAPH_INPUT) originalInputs.set(valueInfoName(f), f);
  const originalOutputs = new Map<string, PbField>();
  for (const f of model.proto.graph) if (f.no === GRAPH_OUTPUT) originalOutputs.set(valueInfoName(f), f);

  ed.keepNodes((n) => keptNodes.has(n.index));
  ed.keepInitializers((n) => keptInits.has(n));
  // IR < 4 files list initializers among the inputs too; keep those entries for kept initializers.
  const rest = ed.inputNames.filter((n) => keptInits.has(n) && !boundary.has(n));
  ed.keepInputs(() => false);
  for (const name of inputs) {
    const orig = originalInputs.get(name);
    if (orig && !initNames.has(name)) {
      ed.addRawValueInfo('input', orig);
      continue;
    }
    const vi = findValueInfo(model, name);
    ed.addInput({
      name,
      elemType: vi?.elemType ?? options.inputTypes?.[name] ?? DataType.FLOAT,
      shape: options.inputShapes?.[name] ?? withBatchDim(vi?.shape ?? null, batch),
    });
  }
  for (const name of rest) ed.addRawValueInfo('input', originalInputs.get(name)!);

  ed.keepOutputs(() => false);
  for (const name of outputs) {
    const orig = originalOutputs.get(name);
    if (orig) {
      ed.addRawValueInfo('output', orig);
      continue;
    }
    const vi = findValueInfo(model, name);
    ed.addOutput(vi && vi.elemType !== null ? { name, elemType: vi.elemType, shape: withBatchDim(vi.shape, batch) } : { name });
  }

  const produced = new Set<string>();
  for (const n of model.nodes) if (keptNodes.has(n.index)) for (const o of n.outputs) produced.add(o);
  const io = new Set([...inputs, ...outputs]);
  ed.keepValueInfo((n) => produced.has(n) && !io.has(n));
  ed.dropTrainingInfo();
  return ed.toModel();
}

/**
 * Field-level edits of an ONNX model: ModelEditor rebuilds only the fields it changes, so everything
 * else in the file (newer ONNX fields included) passes through unchanged.
 */
import {
  PbField,
  encodeMessage,
  fieldMessage,
  fieldString,
  fieldsOf,
  floatField,
  lenField,
  messageField,
  packedFloatField,
  packedVarintField,
  stringField,
  varintField,
} from './protobuf';
import {
  MODEL_GRAPH,
  MODEL_OPSET_IMPORT,
  MODEL_TRAINING_INFO,
  OPSET_DOMAIN,
  OPSET_VERSION,
  GRAPH_NODE,
  GRAPH_NAME,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_OUTPUT,
  GRAPH_VALUE_INFO,
  GRAPH_SPARSE_INITIALIZER,
  NODE_INPUT,
  NODE_OUTPUT,
  NODE_NAME,
  NODE_OP_TYPE,
  NODE_ATTRIBUTE,
  NODE_DOMAIN,
  ATTR_NAME,
  ATTR_F,
  ATTR_I,
  ATTR_S,
  ATTR_T,
  ATTR_G,
  ATTR_FLOATS,
  ATTR_INTS,
  ATTR_STRINGS,
  ATTR_GRAPHS,
  ATTR_TYPE,
  ATTR_TYPE_FLOAT,
  ATTR_TYPE_INT,
  ATTR_TYPE_STRING,
  ATTR_TYPE_TENSOR,
  ATTR_TYPE_GRAPH,
  ATTR_TYPE_FLOATS,
  ATTR_TYPE_INTS,
  ATTR_TYPE_STRINGS,
  VI_NAME,
  VI_TYPE,
  TYPE_TENSOR,
  TENSOR_TYPE_ELEM,
  TENSOR_TYPE_SHAPE,
  SHAPE_DIM,
  DIM_VALUE,
  DIM_PARAM,
  TENSOR_DIMS,
  TENSOR_DATA_TYPE,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  SPARSE_VALUES,
  DataType,
} from './fields';
import {
  Dim,
  ValueInfo,
  NodeInfo,
  OpsetImport,
  OnnxModel,
  parseValueInfo,
  valueInfoName,
  tensorName,
  sparseName,
  scanGraph,
  parseNode,
  parseModel,
  opsetVersion,
} from './model';

// ---------------------------------------------------------------------------------------------
// Specs for new graph elements, and their encoders.

export interface ValueInfoSpec {
  name: string;
  /** DataType; omit for a name-only ValueInfoProto (accepted by onnxruntime for graph outputs). */
  elemType?: number;
  /** Omit for unknown rank. */
  shape?: readonly Dim[];
}

export interface TensorSpec {
  name: string;
  /** DataType: FLOAT, DOUBLE, INT64 or INT32. */
  dataType: number;
  dims: readonly number[];
  values: Float32Array | Float64Array | BigInt64Array | Int32Array | readonly number[];
}

/** A node attribute: exactly one value key besides `name`. */
export type AttributeSpec =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: readonly number[] }
  | { name: string; floats: readonly number[] }
  | { name: string; strings: readonly string[] }
  | { name: string; tensor: TensorSpec }
  | { name: string; graph: SubgraphSpec };

/** A graph held by an attribute (If/Loop/Scan bodies); its nodes may read names of the enclosing graph. */
export interface SubgraphSpec {
  name?: string;
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  nodes: readonly NodeSpec[];
  initializers?: readonly TensorSpec[];
}

export interface NodeSpec {
  opType: string;
  /** '' marks an omitted optional input. */
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: readonly AttributeSpec[];
}

function encodeValueInfo(spec: ValueInfoSpec): PbField {
  const fields = [stringField(VI_NAME, spec.name)];
  if (spec.elemType !== undefined) {
    const tensor = [varintField(TENSOR_TYPE_ELEM, spec.elemType)];
    if (spec.shape) {
      const dims = spec.shape.map((d) =>
        messageField(SHAPE_DIM, d === null ? [] : typeof d === 'number' ? [varintField(DIM_VALUE, d)] : [stringField(DIM_PARAM, d)]),
      );
      tensor.push(messageField(TENSOR_TYPE_SHAPE, dims));
    }
    fields.push(messageField(VI_TYPE, [messageField(TYPE_TENSOR, tensor)]));
  }
  return messageField(GRAPH_INPUT, fields); // field number is replaced by the caller's slot
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function tensorFields(spec: TensorSpec): PbField[] {
  const count = spec.dims.reduce((a, b) => a * b, 1);
  if (spec.values.length !== count) {
    throw new Error(`tensor '${spec.name}': ${spec.values.length} values for dims [${spec.dims}]`);
  }
  let raw: Uint8Array;
  const v = spec.values;
  switch (spec.dataType) {
    case DataType.FLOAT: {
      if (v instanceof Float32Array && LITTLE_ENDIAN) {
        // raw_data is little-endian float32: on such a host the array's own bytes (copied once, by lenField)
        raw = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        break;
      }
      raw = new Uint8Array(count * 4);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < count; i++) dv.setFloat32(i * 4, Number(v[i]), true);
      break;
    }
    case DataType.DOUBLE: {
      raw = new Uint8Array(count * 8);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < count; i++) dv.setFloat64(i * 8, Number(v[i]), true);
      break;
    }
    case DataType.INT64: {
      raw = new Uint8Array(count * 8);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < count; i++) dv.setBigInt64(i * 8, BigInt(v[i]), true);
      break;
    }
    case DataType.INT32: {
      raw = new Uint8Array(count * 4);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < count; i++) dv.setInt32(i * 4, Number(v[i]), true);
      break;
    }
    default:
      throw new Error(`tensor '${spec.name}': unsupported data type ${spec.dataType}`);
  }
  return [
    packedVarintField(TENSOR_DIMS, spec.dims),
    varintField(TENSOR_DATA_TYPE, spec.dataType),
    stringField(TENSOR_NAME, spec.name),
    lenField(TENSOR_RAW_DATA, raw),
  ];
}

function encodeAttribute(a: AttributeSpec): PbField {
  const f: PbField[] = [stringField(ATTR_NAME, a.name)];
  if ('int' in a) f.push(varintField(ATTR_I, a.int), varintField(ATTR_TYPE, ATTR_TYPE_INT));
  else if ('float' in a) f.push(floatField(ATTR_F, a.float), varintField(ATTR_TYPE, ATTR_TYPE_FLOAT));
  else if ('string' in a) f.push(stringField(ATTR_S, a.string), varintField(ATTR_TYPE, ATTR_TYPE_STRING));
  else if ('ints' in a) f.push(packedVarintField(ATTR_INTS, a.ints), varintField(ATTR_TYPE, ATTR_TYPE_INTS));
  else if ('floats' in a) f.push(packedFloatField(ATTR_FLOATS, a.floats), varintField(ATTR_TYPE, ATTR_TYPE_FLOATS));
  else if ('strings' in a) f.push(...a.strings.map((s) => stringField(ATTR_STRINGS, s)), varintField(ATTR_TYPE, ATTR_TYPE_STRINGS));
  else if ('tensor' in a) f.push(messageField(ATTR_T, tensorFields(a.tensor)), varintField(ATTR_TYPE, ATTR_TYPE_TENSOR));
  else if ('graph' in a) f.push(messageField(ATTR_G, subgraphFields(a.graph)), varintField(ATTR_TYPE, ATTR_TYPE_GRAPH));
  else throw new Error(`attribute '${(a as { name: string }).name}' has no value`);
  return messageField(NODE_ATTRIBUTE, f);
}

function subgraphFields(spec: SubgraphSpec): PbField[] {
  return [
    ...spec.nodes.map(encodeNode),
    stringField(GRAPH_NAME, spec.name ?? 'body'),
    ...(spec.initializers ?? []).map((t) => messageField(GRAPH_INITIALIZER, tensorFields(t))),
    ...spec.inputs.map((v) => renumber(encodeValueInfo(v), GRAPH_INPUT)),
    ...spec.outputs.map((v) => renumber(encodeValueInfo(v), GRAPH_OUTPUT)),
  ];
}

function encodeNode(spec: NodeSpec): PbField {
  const f: PbField[] = [...spec.inputs.map((s) => stringField(NODE_INPUT, s)), ...spec.outputs.map((s) => stringField(NODE_OUTPUT, s))];
  if (spec.name) f.push(stringField(NODE_NAME, spec.name));
  f.push(stringField(NODE_OP_TYPE, spec.opType));
  if (spec.domain) f.push(stringField(NODE_DOMAIN, spec.domain));
  for (const a of spec.attributes ?? []) f.push(encodeAttribute(a));
  return messageField(GRAPH_NODE, f);
}

/** The same payload under another field number. */
function renumber(f: PbField, no: number): PbField {
  return f.no === no ? f : lenField(no, f.data);
}

// ---------------------------------------------------------------------------------------------
// Renaming inside raw messages.

/** Replaces string fields number `no` equal to `from`; returns null when nothing changed. */
function replaceStrings(fields: readonly PbField[], nos: readonly number[], from: string, to: string): PbField[] | null {
  let changed = false;
  const out = fields.map((f) => {
    if (nos.includes(f.no) && fieldString(f) === from) {
      changed = true;
      return stringField(f.no, to);
    }
    return f;
  });
  return changed ? out : null;
}

/** Renames reads of `from` inside a node's subgraph attributes (where it is an outer-scope name). */
function renameInNodeFields(nf: readonly PbField[], from: string, to: string, renameOutputs: boolean): PbField[] | null {
  let changed = false;
  const out = nf.map((f) => {
    if (f.no === NODE_INPUT || (renameOutputs && f.no === NODE_OUTPUT)) {
      if (fieldString(f) === from) {
        changed = true;
        return stringField(f.no, to);
      }
      return f;
    }
    if (f.no !== NODE_ATTRIBUTE) return f;
    const af = fieldMessage(f);
    let attrChanged = false;
    const newAf = af.map((x) => {
      if (x.no !== ATTR_G && x.no !== ATTR_GRAPHS) return x;
      const g = renameOuterInGraph(fieldMessage(x), from, to);
      if (!g) return x;
      attrChanged = true;
      return messageField(x.no, g);
    });
    if (!attrChanged) return f;
    changed = true;
    return messageField(NODE_ATTRIBUTE, newAf);
  });
  return changed ? out : null;
}

/** Renames an outer-scope name inside a subgraph, unless the subgraph defines a name of its own that shadows it. */
function renameOuterInGraph(g: readonly PbField[], from: string, to: string): PbField[] | null {
  const s = scanGraph(g);
  if (!s.outer.has(from)) return null;
  return g.map((f) => {
    if (f.no === GRAPH_NODE) {
      const n = renameInNodeFields(fieldMessage(f), from, to, false);
      return n ? messageField(GRAPH_NODE, n) : f;
    }
    if (f.no === GRAPH_OUTPUT) {
      const v = replaceStrings(fieldMessage(f), [VI_NAME], from, to);
      return v ? messageField(GRAPH_OUTPUT, v) : f;
    }
    return f;
  });
}

// ---------------------------------------------------------------------------------------------
// The editor.

interface Entry {
  field: PbField;
  name: string;
}

interface NodeEntry {
  field: PbField;
  info: NodeInfo;
}

/** Graph fields held as lists while editing; all other graph fields pass through unchanged. */
const LIST_FIELDS = [GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO, GRAPH_SPARSE_INITIALIZER];

/**
 * A mutable copy of a model's main graph, kept as raw fields. Add, remove and rename graph elements,
 * then `toModel()`. Fields never touched are written back byte for byte.
 */
export class ModelEditor {
  private readonly modelFields: readonly PbField[];
  private readonly graphFields: readonly PbField[];
  private nodeList: NodeEntry[];
  private lists: Map<number, Entry[]>;
  private opsetList: OpsetImport[];
  private opsetsChanged = false;
  private dropTraining = false;
  private names: Set<string>;

  constructor(model: OnnxModel | Uint8Array) {
    const m = model instanceof Uint8Array ? parseModel(model) : model;
    this.modelFields = m.proto.model;
    this.graphFields = m.proto.graph;
    this.nodeList = fieldsOf(m.proto.graph, GRAPH_NODE).map((field, i) => ({ field, info: parseNode(field, i) }));
    this.lists = new Map();
    const nameOf: Record<number, (f: PbField) => string> = {
      [GRAPH_INITIALIZER]: tensorName,
      [GRAPH_INPUT]: valueInfoName,
      [GRAPH_OUTPUT]: valueInfoName,
      [GRAPH_VALUE_INFO]: valueInfoName,
      [GRAPH_SPARSE_INITIALIZER]: sparseName,
    };
    for (const no of LIST_FIELDS) {
      if (no === GRAPH_NODE) continue;
      this.lists.set(
        no,
        fieldsOf(m.proto.graph, no).map((field) => ({ field, name: nameOf[no](field) })),
      );
    }
    this.opsetList = m.opsets.map((o) => ({ ...o }));
    this.names = scanGraph(m.proto.graph).names;
  }

  // --- reading -------------------------------------------------------------------------------

  get nodes(): NodeInfo[] {
    return this.nodeList.map((n) => n.info);
  }
  /** All graph input names, initializer-backed ones included. */
  get inputNames(): string[] {
    return this.list(GRAPH_INPUT).map((e) => e.name);
  }
  get outputNames(): string[] {
    return this.list(GRAPH_OUTPUT).map((e) => e.name);
  }
  get initializerNames(): string[] {
    return [...this.list(GRAPH_INITIALIZER), ...this.list(GRAPH_SPARSE_INITIALIZER)].map((e) => e.name);
  }
  /** Parsed type and shape of a graph input, output or value_info entry, if the graph declares one. */
  valueInfoOf(name: string): ValueInfo | undefined {
    for (const no of [GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO]) {
      const e = this.list(no).find((x) => x.name === name);
      if (e) return parseValueInfo(e.field);
    }
    return undefined;
  }
  opsetVersion(domain = ''): number | undefined {
    return opsetVersion({ opsets: this.opsetList }, domain);
  }
  /** Whether the name is used anywhere in the model (tensor or node name, subgraphs included). */
  isUsed(name: string): boolean {
    return this.names.has(name);
  }
  /** `base` if unused, else `base_1`, `base_2`, ...; the name is reserved so later calls do not return it. */
  freshName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  // --- editing -------------------------------------------------------------------------------

  /** Adds a node first, last, or right after the node that produces the tensor `after` (graph order stays topological). */
  addNode(spec: NodeSpec, at: 'start' | 'end' | { after: string } = 'end'): void {
    const field = encodeNode(spec);
    const entry = { field, info: parseNode(field, 0) };
    if (at === 'end') {
      // Appending moves no other node: only the new one needs its index (keeps bulk appends linear).
      entry.info = { ...entry.info, index: this.nodeList.length };
      this.nodeList.push(entry);
    } else {
      if (at === 'start') this.nodeList.unshift(entry);
      else {
        const i = this.nodeList.findIndex((n) => n.info.outputs.includes(at.after));
        if (i < 0) throw new Error(`addNode: no node produces '${at.after}'`);
        this.nodeList.splice(i + 1, 0, entry);
      }
      this.reindex();
    }
    for (const n of [...spec.inputs, ...spec.outputs, spec.name ?? '']) if (n) this.names.add(n);
  }
  addInitializer(spec: TensorSpec): void {
    this.list(GRAPH_INITIALIZER).push({ field: messageField(GRAPH_INITIALIZER, tensorFields(spec)), name: spec.name });
    this.names.add(spec.name);
  }
  addInput(spec: ValueInfoSpec, at: 'start' | 'end' = 'end'): void {
    const e = { field: renumber(encodeValueInfo(spec), GRAPH_INPUT), name: spec.name };
    if (at === 'start') this.list(GRAPH_INPUT).unshift(e);
    else this.list(GRAPH_INPUT).push(e);
    this.names.add(spec.name);
  }
  addOutput(spec: ValueInfoSpec): void {
    this.list(GRAPH_OUTPUT).push({ field: renumber(encodeValueInfo(spec), GRAPH_OUTPUT), name: spec.name });
  }
  /** Adds an existing ValueInfoProto field (kept byte for byte) as an input or output. */
  addRawValueInfo(kind: 'input' | 'output', field: PbField): void {
    const no = kind === 'input' ? GRAPH_INPUT : GRAPH_OUTPUT;
    this.list(no).push({ field: renumber(field, no), name: valueInfoName(field) });
  }
  addValueInfo(spec: ValueInfoSpec): void {
    this.list(GRAPH_VALUE_INFO).push({ field: renumber(encodeValueInfo(spec), GRAPH_VALUE_INFO), name: spec.name });
  }
  removeInput(name: string): void {
    this.lists.set(
      GRAPH_INPUT,
      this.list(GRAPH_INPUT).filter((e) => e.name !== name),
    );
  }
  removeOutput(name: string): void {
    this.lists.set(
      GRAPH_OUTPUT,
      this.list(GRAPH_OUTPUT).filter((e) => e.name !== name),
    );
  }
  /** Keeps the nodes the predicate accepts (file order is kept). */
  keepNodes(keep: (node: NodeInfo) => boolean): void {
    this.nodeList = this.nodeList.filter((n) => keep(n.info));
    this.reindex();
  }
  /** Keeps the dense and sparse initializers whose name the predicate accepts. */
  keepInitializers(keep: (name: string) => boolean): void {
    for (const no of [GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER])
      this.lists.set(
        no,
        this.list(no).filter((e) => keep(e.name)),
      );
  }
  keepInputs(keep: (name: string) => boolean): void {
    this.lists.set(
      GRAPH_INPUT,
      this.list(GRAPH_INPUT).filter((e) => keep(e.name)),
    );
  }
  keepOutputs(keep: (name: string) => boolean): void {
    this.lists.set(
      GRAPH_OUTPUT,
      this.list(GRAPH_OUTPUT).filter((e) => keep(e.name)),
    );
  }
  keepValueInfo(keep: (name: string) => boolean): void {
    this.lists.set(
      GRAPH_VALUE_INFO,
      this.list(GRAPH_VALUE_INFO).filter((e) => keep(e.name)),
    );
  }
  /** Sets an operator set version, adding the import if the model lacks it. */
  setOpset(domain: string, version: number): void {
    const d = domain === 'ai.onnx' ? '' : domain;
    const o = this.opsetList.find((x) => (x.domain === 'ai.onnx' ? '' : x.domain) === d);
    if (o) o.version = version;
    else this.opsetList.push({ domain, version });
    this.opsetsChanged = true;
  }
  /** Drops ModelProto.training_info, which refers to the original graph's tensors. */
  dropTrainingInfo(): void {
    this.dropTraining = true;
  }

  /**
   * Renames a tensor everywhere in the main graph: node inputs and outputs, graph inputs, outputs,
   * value_info, initializers, and outer-scope reads inside subgraphs. Throws if `to` is already used.
   */
  renameTensor(from: string, to: string): void {
    if (from === to) return;
    if (this.names.has(to)) throw new Error(`renameTensor: '${to}' is already used in the model`);
    this.nodeList = this.nodeList.map((n) => {
      if (!n.info.inputs.includes(from) && !n.info.outputs.includes(from) && !n.info.outerInputs.includes(from)) return n;
      const nf = renameInNodeFields(fieldMessage(n.field), from, to, true);
      if (!nf) return n;
      const field = messageField(GRAPH_NODE, nf);
      return { field, info: parseNode(field, n.info.index) };
    });
    for (const no of [GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO]) {
      this.lists.set(
        no,
        this.list(no).map((e) => (e.name === from ? { field: messageField(no, replaceStrings(fieldMessage(e.field), [VI_NAME], from, to)!), name: to } : e)),
      );
    }
    this.lists.set(
      GRAPH_INITIALIZER,
      this.list(GRAPH_INITIALIZER).map((e) =>
        e.name === from ? { field: messageField(GRAPH_INITIALIZER, replaceStrings(fieldMessage(e.field), [TENSOR_NAME], from, to)!), name: to } : e,
      ),
    );
    this.lists.set(
      GRAPH_SPARSE_INITIALIZER,
      this.list(GRAPH_SPARSE_INITIALIZER).map((e) => {
        if (e.name !== from) return e;
        const sf = fieldMessage(e.field).map((f) =>
          f.no === SPARSE_VALUES ? messageField(SPARSE_VALUES, replaceStrings(fieldMessage(f), [TENSOR_NAME], from, to) ?? fieldMessage(f)) : f,
        );
        return { field: messageField(GRAPH_SPARSE_INITIALIZER, sf), name: to };
      }),
    );
    this.names.add(to);
  }

  /**
   * Renames the output `from` of the node that produces it, leaving its readers (nodes, graph
   * outputs) on the old name, so that new nodes can be put in between. `to` may come from freshName;
   * throws if a node, initializer or graph input already uses it.
   */
  renameNodeOutput(from: string, to: string): void {
    const taken =
      this.nodeList.some((n) => n.info.inputs.includes(to) || n.info.outputs.includes(to)) ||
      this.initializerNames.includes(to) ||
      this.inputNames.includes(to);
    if (taken) throw new Error(`renameNodeOutput: '${to}' is already used in the model`);
    const i = this.nodeList.findIndex((n) => n.info.outputs.includes(from));
    if (i < 0) throw new Error(`renameNodeOutput: no node produces '${from}'`);
    const nf = fieldMessage(this.nodeList[i].field).map((f) => (f.no === NODE_OUTPUT && fieldString(f) === from ? stringField(NODE_OUTPUT, to) : f));
    const field = messageField(GRAPH_NODE, nf);
    this.nodeList[i] = { field, info: parseNode(field, i) };
    this.names.add(to);
  }

  // --- output --------------------------------------------------------------------------------

  toBytes(): Uint8Array {
    const graph: PbField[] = [];
    const emitted = new Set<number>();
    const emit = (no: number) => {
      emitted.add(no);
      if (no === GRAPH_NODE) for (const n of this.nodeList) graph.push(n.field);
      else for (const e of this.list(no)) graph.push(e.field);
    };
    // Each list goes where its first field was, so an untouched graph keeps its layout.
    for (const f of this.graphFields) {
      if (LIST_FIELDS.includes(f.no)) {
        if (!emitted.has(f.no)) emit(f.no);
      } else graph.push(f);
    }
    for (const no of LIST_FIELDS) if (!emitted.has(no)) emit(no);

    const model: PbField[] = [];
    let graphDone = false;
    let opsetsDone = false;
    const newOpsets = () =>
      this.opsetList.map((o) => messageField(MODEL_OPSET_IMPORT, [stringField(OPSET_DOMAIN, o.domain), varintField(OPSET_VERSION, o.version)]));
    for (const f of this.modelFields) {
      if (f.no === MODEL_GRAPH) {
        if (!graphDone) model.push(messageField(MODEL_GRAPH, graph));
        graphDone = true;
      } else if (f.no === MODEL_OPSET_IMPORT && this.opsetsChanged) {
        if (!opsetsDone) model.push(...newOpsets());
        opsetsDone = true;
      } else if (f.no === MODEL_TRAINING_INFO && this.dropTraining) {
        continue;
      } else model.push(f);
    }
    if (!graphDone) model.push(messageField(MODEL_GRAPH, graph));
    if (this.opsetsChanged && !opsetsDone) model.push(...newOpsets());
    return encodeMessage(model);
  }

  toModel(): OnnxModel {
    return parseModel(this.toBytes());
  }

  private list(no: number): Entry[] {
    let l = this.lists.get(no);
    if (!l) {
      l = [];
      this.lists.set(no, l);
    }
    return l;
  }

  private reindex(): void {
    this.nodeList.forEach((n, i) => (n.info = { ...n.info, index: i }));
  }
}

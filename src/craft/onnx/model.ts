/**
 * ONNX ModelProto as a read-only view plus field-level edits.
 *
 * Parsing decodes only what the engine needs (names, types, shapes, op types, the dependency graph);
 * every other byte stays in the raw protobuf fields it came from (see protobuf.ts). Edits rebuild only
 * the fields they change, so everything else in the file (newer ONNX fields included) passes through
 * unchanged, and an untouched model re-encodes byte-identical.
 *
 * Field numbers are those of onnx/onnx.proto.
 */
import {
  PbField,
  ProtobufError,
  decodeMessage,
  encodeMessage,
  fieldInt,
  fieldMessage,
  fieldString,
  fieldsOf,
  floatField,
  getInt,
  getString,
  lastField,
  lenField,
  messageField,
  packedFloatField,
  packedVarintField,
  repeatedBigInts,
  repeatedDoubles,
  repeatedFloats,
  repeatedInts,
  repeatedStrings,
  stringField,
  varintField,
} from './protobuf';

// ---------------------------------------------------------------------------------------------
// Field numbers (onnx.proto).

const MODEL_IR_VERSION = 1;
const MODEL_PRODUCER_NAME = 2;
const MODEL_PRODUCER_VERSION = 3;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA_PROPS = 14;
const MODEL_TRAINING_INFO = 20;

const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;

const GRAPH_NODE = 1;
const GRAPH_NAME = 2;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const GRAPH_VALUE_INFO = 13;
const GRAPH_SPARSE_INITIALIZER = 15;

const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;

const ATTR_NAME = 1;
const ATTR_F = 2;
const ATTR_I = 3;
const ATTR_S = 4;
const ATTR_T = 5;
const ATTR_G = 6;
const ATTR_FLOATS = 7;
const ATTR_INTS = 8;
const ATTR_STRINGS = 9;
const ATTR_GRAPHS = 11;
const ATTR_TYPE = 20;
const ATTR_TYPE_FLOAT = 1;
const ATTR_TYPE_INT = 2;
const ATTR_TYPE_STRING = 3;
const ATTR_TYPE_TENSOR = 4;
const ATTR_TYPE_GRAPH = 5;
const ATTR_TYPE_FLOATS = 6;
const ATTR_TYPE_INTS = 7;
const ATTR_TYPE_STRINGS = 8;

const VI_NAME = 1;
const VI_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;

const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_INT32_DATA = 5;
const TENSOR_INT64_DATA = 7;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_DOUBLE_DATA = 10;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

const SPARSE_VALUES = 1;

/** TensorProto.DataType values. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

// ---------------------------------------------------------------------------------------------
// The view.

/** One dimension: a fixed size, a symbolic name, or null when the file gives neither. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor type; null when the type is absent or not a tensor. */
  elemType: number | null;
  /** null when the rank is unknown (no shape in the file). */
  shape: Dim[] | null;
}

export interface NodeInfo {
  /** Position in the graph's node list (file order). */
  index: number;
  name: string;
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** Input names in order; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributeNames: string[];
  /** Names from the enclosing scope that the node's subgraph attributes (If/Loop/Scan bodies) read. */
  outerInputs: string[];
}

export interface InitializerInfo {
  name: string;
  dataType: number;
  dims: number[];
  /** Data lives in a side file (data_location = EXTERNAL). */
  external: boolean;
  /** From graph.sparse_initializer. */
  sparse: boolean;
}

export interface OpsetImport {
  /** '' (or 'ai.onnx') is the default operator set. */
  domain: string;
  version: number;
}

export interface OnnxModel {
  /** The encoded model (what onnxruntime loads). */
  readonly bytes: Uint8Array;
  readonly irVersion: number;
  readonly opsets: readonly OpsetImport[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graphName: string;
  /** Graph inputs a caller must feed (inputs that merely re-list an initializer, IR < 4 style, are left out). */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly valueInfo: readonly ValueInfo[];
  readonly initializers: readonly InitializerInfo[];
  /** In file order (ONNX requires it to be topological). */
  readonly nodes: readonly NodeInfo[];
  readonly metadata: readonly { key: string; value: string }[];
  /** Some initializer (here or in a subgraph) keeps its data in an external file. */
  readonly hasExternalData: boolean;
  /** The ModelProto's and GraphProto's fields in file order, for editors. */
  readonly proto: { readonly model: readonly PbField[]; readonly graph: readonly PbField[] };
}

/** A file that is not a readable ONNX model. */
export class OnnxModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxModelError';
  }
}

/** Decodes a message field that may occur several times; protobuf merges them, i.e. concatenates. */
function mergedMessage(fields: readonly PbField[], no: number): PbField[] | undefined {
  const occ = fieldsOf(fields, no);
  if (occ.length === 0) return undefined;
  if (occ.length === 1) return fieldMessage(occ[0]);
  const parts = occ.map((f) => {
    fieldMessage(f); // checks the wire type
    return f.data;
  });
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    joined.set(p, pos);
    pos += p.length;
  }
  return decodeMessage(joined);
}

function parseValueInfo(f: PbField): ValueInfo {
  const vi = fieldMessage(f);
  const name = getString(vi, VI_NAME);
  let elemType: number | null = null;
  let shape: Dim[] | null = null;
  const type = mergedMessage(vi, VI_TYPE);
  const tensor = type && mergedMessage(type, TYPE_TENSOR);
  if (tensor) {
    const et = lastField(tensor, TENSOR_TYPE_ELEM);
    elemType = et ? fieldInt(et) : null;
    const sh = mergedMessage(tensor, TENSOR_TYPE_SHAPE);
    if (sh) {
      shape = fieldsOf(sh, SHAPE_DIM).map((d): Dim => {
        const df = fieldMessage(d);
        const v = lastField(df, DIM_VALUE);
        const p = lastField(df, DIM_PARAM);
        // dim_value and dim_param are a oneof: the later one in the file wins.
        if (v && (!p || df.indexOf(v) > df.indexOf(p))) return fieldInt(v);
        if (p) return fieldString(p);
        return null;
      });
    }
  }
  return { name, elemType, shape };
}

function valueInfoName(f: PbField): string {
  return getString(fieldMessage(f), VI_NAME);
}

function tensorName(f: PbField): string {
  return getString(fieldMessage(f), TENSOR_NAME);
}

function sparseName(f: PbField): string {
  const values = mergedMessage(fieldMessage(f), SPARSE_VALUES);
  return values ? getString(values, TENSOR_NAME) : '';
}

function tensorIsExternal(t: readonly PbField[]): boolean {
  return getInt(t, TENSOR_DATA_LOCATION) === DATA_LOCATION_EXTERNAL || fieldsOf(t, TENSOR_EXTERNAL_DATA).length > 0;
}

function parseInitializer(f: PbField, sparse: boolean): InitializerInfo {
  let t = fieldMessage(f);
  if (sparse) t = mergedMessage(t, SPARSE_VALUES) ?? [];
  return {
    name: getString(t, TENSOR_NAME),
    dataType: getInt(t, TENSOR_DATA_TYPE),
    dims: sparse ? repeatedInts(fieldMessage(f), 3) : repeatedInts(t, TENSOR_DIMS),
    external: tensorIsExternal(t),
    sparse,
  };
}

interface GraphScan {
  /** Names read from outside the graph. */
  outer: Set<string>;
  /** Every name that appears anywhere in it (for picking fresh names). */
  names: Set<string>;
  external: boolean;
}

/** The subgraphs held by a node's attributes (g and graphs). */
function nodeSubgraphs(nodeFields: readonly PbField[]): PbField[][] {
  const out: PbField[][] = [];
  for (const a of fieldsOf(nodeFields, NODE_ATTRIBUTE)) {
    const af = fieldMessage(a);
    for (const g of af) if (g.no === ATTR_G || g.no === ATTR_GRAPHS) out.push(fieldMessage(g));
  }
  return out;
}

/** Outer-scope references of a subgraph: what its nodes (and nested subgraphs) read minus what it defines. */
function scanGraph(g: readonly PbField[]): GraphScan {
  const locals = new Set<string>();
  const reads = new Set<string>();
  const names = new Set<string>();
  let external = false;
  for (const f of g) {
    if (f.no === GRAPH_INPUT) locals.add(valueInfoName(f));
    else if (f.no === GRAPH_INITIALIZER) {
      const t = fieldMessage(f);
      locals.add(getString(t, TENSOR_NAME));
      external ||= tensorIsExternal(t);
    } else if (f.no === GRAPH_SPARSE_INITIALIZER) locals.add(sparseName(f));
    else if (f.no === GRAPH_OUTPUT) reads.add(valueInfoName(f));
    else if (f.no === GRAPH_VALUE_INFO) names.add(valueInfoName(f));
    else if (f.no === GRAPH_NODE) {
      const nf = fieldMessage(f);
      for (const i of repeatedStrings(nf, NODE_INPUT)) reads.add(i);
      for (const o of repeatedStrings(nf, NODE_OUTPUT)) locals.add(o);
      names.add(getString(nf, NODE_NAME));
      for (const sub of nodeSubgraphs(nf)) {
        const s = scanGraph(sub);
        for (const r of s.outer) reads.add(r);
        for (const n of s.names) names.add(n);
        external ||= s.external;
      }
    }
  }
  const outer = new Set<string>();
  for (const r of reads) if (r !== '' && !locals.has(r)) outer.add(r);
  for (const n of locals) names.add(n);
  for (const n of reads) names.add(n);
  names.delete('');
  return { outer, names, external };
}

function parseNode(f: PbField, index: number): NodeInfo {
  const nf = fieldMessage(f);
  const outer = new Set<string>();
  for (const sub of nodeSubgraphs(nf)) for (const r of scanGraph(sub).outer) outer.add(r);
  const opType = getString(nf, NODE_OP_TYPE);
  if (opType === '') throw new OnnxModelError(`node ${index} has no op_type`);
  return {
    index,
    name: getString(nf, NODE_NAME),
    opType,
    domain: getString(nf, NODE_DOMAIN),
    inputs: repeatedStrings(nf, NODE_INPUT),
    outputs: repeatedStrings(nf, NODE_OUTPUT),
    attributeNames: fieldsOf(nf, NODE_ATTRIBUTE).map((a) => getString(fieldMessage(a), ATTR_NAME)),
    outerInputs: [...outer],
  };
}

/**
 * Parses an ONNX model file. Throws OnnxModelError (with the reason) when the bytes are not a complete,
 * well-formed ModelProto with a graph.
 */
export function parseModel(bytes: Uint8Array): OnnxModel {
  try {
    return parseModelUnchecked(bytes);
  } catch (e) {
    if (e instanceof ProtobufError || e instanceof OnnxModelError) {
      throw new OnnxModelError(`Not a valid ONNX model: ${e.message}`);
    }
    throw e;
  }
}

function parseModelUnchecked(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new OnnxModelError('the file is empty');
  const model = decodeMessage(bytes);
  const irField = lastField(model, MODEL_IR_VERSION);
  if (!irField) throw new OnnxModelError('no ir_version field');
  const graphField = lastField(model, MODEL_GRAPH);
  if (!graphField) throw new OnnxModelError('no graph field');
  const graph = fieldsOf(model, MODEL_GRAPH).length === 1 ? fieldMessage(graphField) : mergedMessage(model, MODEL_GRAPH)!;

  const opsets = fieldsOf(model, MODEL_OPSET_IMPORT).map((f) => {
    const o = fieldMessage(f);
    return { domain: getString(o, OPSET_DOMAIN), version: getInt(o, OPSET_VERSION) };
  });
  const metadata = fieldsOf(model, MODEL_METADATA_PROPS).map((f) => {
    const e = fieldMessage(f);
    return { key: getString(e, 1), value: getString(e, 2) };
  });
  const initializers = [
    ...fieldsOf(graph, GRAPH_INITIALIZER).map((f) => parseInitializer(f, false)),
    ...fieldsOf(graph, GRAPH_SPARSE_INITIALIZER).map((f) => parseInitializer(f, true)),
  ];
  const initNames = new Set(initializers.map((i) => i.name));
  const nodes = fieldsOf(graph, GRAPH_NODE).map((f, i) => parseNode(f, i));
  const scan = scanGraph(graph);
  return {
    bytes,
    irVersion: fieldInt(irField),
    opsets,
    producerName: getString(model, MODEL_PRODUCER_NAME),
    producerVersion: getString(model, MODEL_PRODUCER_VERSION),
    graphName: getString(graph, GRAPH_NAME),
    inputs: fieldsOf(graph, GRAPH_INPUT)
      .map(parseValueInfo)
      .filter((v) => !initNames.has(v.name)),
    outputs: fieldsOf(graph, GRAPH_OUTPUT).map(parseValueInfo),
    valueInfo: fieldsOf(graph, GRAPH_VALUE_INFO).map(parseValueInfo),
    initializers,
    nodes,
    metadata,
    hasExternalData: scan.external || initializers.some((i) => i.external),
    proto: { model, graph },
  };
}

/** Re-encodes a parsed model from its fields (byte-identical to the parsed bytes). */
export function serializeModel(model: OnnxModel): Uint8Array {
  return encodeMessage(model.proto.model);
}

/** The version of an operator set the model imports ('' and 'ai.onnx' are the same set), or undefined. */
export function opsetVersion(model: { opsets: readonly OpsetImport[] }, domain = ''): number | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  const o = model.opsets.find((x) => (x.domain === 'ai.onnx' ? '' : x.domain) === d);
  return o?.version;
}

export type InitializerValues = Float32Array | Float64Array | BigInt64Array | Int32Array;

/**
 * The values of a dense initializer: Float32Array for FLOAT, Float64Array for DOUBLE, BigInt64Array for
 * INT64, Int32Array for INT32/INT16/INT8/UINT16/UINT8/BOOL. Throws for other types and external data.
 */
export function readInitializer(model: OnnxModel, name: string): { dims: number[]; dataType: number; values: InitializerValues } {
  const f = model.proto.graph.find((x) => x.no === GRAPH_INITIALIZER && tensorName(x) === name);
  if (!f) throw new Error(`readInitializer: no initializer named '${name}'`);
  const t = fieldMessage(f);
  if (tensorIsExternal(t)) throw new Error(`readInitializer: '${name}' is stored in an external data file`);
  const dims = repeatedInts(t, TENSOR_DIMS);
  const dataType = getInt(t, TENSOR_DATA_TYPE);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = lastField(t, TENSOR_RAW_DATA);
  let values: InitializerValues;
  const bytesPer: Record<number, number> = {
    [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT64]: 8, [DataType.INT32]: 4,
    [DataType.INT16]: 2, [DataType.UINT16]: 2, [DataType.INT8]: 1, [DataType.UINT8]: 1, [DataType.BOOL]: 1,
  };
  const size = bytesPer[dataType];
  if (size === undefined) throw new Error(`readInitializer: '${name}' has unsupported data type ${dataType}`);
  if (raw) {
    const b = raw.data;
    if (b.length !== count * size) throw new Error(`readInitializer: '${name}' has ${b.length} raw bytes for ${count} values`);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    // raw_data is little-endian; read through a DataView so alignment and host order do not matter.
    if (dataType === DataType.FLOAT) values = Float32Array.from({ length: count }, (_, i) => dv.getFloat32(i * 4, true));
    else if (dataType === DataType.DOUBLE) values = Float64Array.from({ length: count }, (_, i) => dv.getFloat64(i * 8, true));
    else if (dataType === DataType.INT64) values = BigInt64Array.from({ length: count }, (_, i) => dv.getBigInt64(i * 8, true));
    else {
      values = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        values[i] =
          dataType === DataType.INT32 ? dv.getInt32(i * 4, true)
          : dataType === DataType.INT16 ? dv.getInt16(i * 2, true)
          : dataType === DataType.UINT16 ? dv.getUint16(i * 2, true)
          : dataType === DataType.INT8 ? dv.getInt8(i)
          : dv.getUint8(i);
      }
    }
  } else if (dataType === DataType.FLOAT) values = Float32Array.from(repeatedFloats(t, TENSOR_FLOAT_DATA));
  else if (dataType === DataType.DOUBLE) values = Float64Array.from(repeatedDoubles(t, TENSOR_DOUBLE_DATA));
  else if (dataType === DataType.INT64) values = BigInt64Array.from(repeatedBigInts(t, TENSOR_INT64_DATA));
  else values = Int32Array.from(repeatedInts(t, TENSOR_INT32_DATA));
  if (values.length !== count) throw new Error(`readInitializer: '${name}' has ${values.length} values for dims [${dims}]`);
  return { dims, dataType, values };
}

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

function tensorFields(spec: TensorSpec): PbField[] {
  const count = spec.dims.reduce((a, b) => a * b, 1);
  if (spec.values.length !== count) {
    throw new Error(`tensor '${spec.name}': ${spec.values.length} values for dims [${spec.dims}]`);
  }
  let raw: Uint8Array;
  const v = spec.values;
  switch (spec.dataType) {
    case DataType.FLOAT: {
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
  const f: PbField[] = [
    ...spec.inputs.map((s) => stringField(NODE_INPUT, s)),
    ...spec.outputs.map((s) => stringField(NODE_OUTPUT, s)),
  ];
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
      this.lists.set(no, fieldsOf(m.proto.graph, no).map((field) => ({ field, name: nameOf[no](field) })));
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

  addNode(spec: NodeSpec, at: 'start' | 'end' = 'end'): void {
    const field = encodeNode(spec);
    const entry = { field, info: parseNode(field, 0) };
    if (at === 'start') this.nodeList.unshift(entry);
    else this.nodeList.push(entry);
    this.reindex();
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
    this.lists.set(GRAPH_INPUT, this.list(GRAPH_INPUT).filter((e) => e.name !== name));
  }
  removeOutput(name: string): void {
    this.lists.set(GRAPH_OUTPUT, this.list(GRAPH_OUTPUT).filter((e) => e.name !== name));
  }
  /** Keeps the nodes the predicate accepts (file order is kept). */
  keepNodes(keep: (node: NodeInfo) => boolean): void {
    this.nodeList = this.nodeList.filter((n) => keep(n.info));
    this.reindex();
  }
  /** Keeps the dense and sparse initializers whose name the predicate accepts. */
  keepInitializers(keep: (name: string) => boolean): void {
    for (const no of [GRAPH_INITIALIZER, GRAPH_SPARSE_INITIALIZER]) this.lists.set(no, this.list(no).filter((e) => keep(e.name)));
  }
  keepInputs(keep: (name: string) => boolean): void {
    this.lists.set(GRAPH_INPUT, this.list(GRAPH_INPUT).filter((e) => keep(e.name)));
  }
  keepOutputs(keep: (name: string) => boolean): void {
    this.lists.set(GRAPH_OUTPUT, this.list(GRAPH_OUTPUT).filter((e) => keep(e.name)));
  }
  keepValueInfo(keep: (name: string) => boolean): void {
    this.lists.set(GRAPH_VALUE_INFO, this.list(GRAPH_VALUE_INFO).filter((e) => keep(e.name)));
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
      this.lists.set(no, this.list(no).map((e) => (e.name === from ? { field: messageField(no, replaceStrings(fieldMessage(e.field), [VI_NAME], from, to)!), name: to } : e)));
    }
    this.lists.set(GRAPH_INITIALIZER, this.list(GRAPH_INITIALIZER).map((e) =>
      e.name === from ? { field: messageField(GRAPH_INITIALIZER, replaceStrings(fieldMessage(e.field), [TENSOR_NAME], from, to)!), name: to } : e));
    this.lists.set(GRAPH_SPARSE_INITIALIZER, this.list(GRAPH_SPARSE_INITIALIZER).map((e) => {
      if (e.name !== from) return e;
      const sf = fieldMessage(e.field).map((f) =>
        f.no === SPARSE_VALUES ? messageField(SPARSE_VALUES, replaceStrings(fieldMessage(f), [TENSOR_NAME], from, to) ?? fieldMessage(f)) : f);
      return { field: messageField(GRAPH_SPARSE_INITIALIZER, sf), name: to };
    }));
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
  return (
    model.outputs.find((v) => v.name === name) ??
    model.valueInfo.find((v) => v.name === name) ??
    model.inputs.find((v) => v.name === name)
  );
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

export interface ExtractOptions {
  /** Declared shape per new input (number: fixed, string: symbolic, null: unknown dim); used as given. */
  inputShapes?: Readonly<Record<string, readonly Dim[]>>;
  /** Element type per new input when value_info does not give one (default FLOAT). */
  inputTypes?: Readonly<Record<string, number>>;
}

/** Thrown by extractSubgraph when the outputs need tensors the inputs do not determine. */
export class NotACleanCutError extends Error {
  constructor(message: string, readonly missing: string[]) {
    super(message);
    this.name = 'NotACleanCutError';
  }
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
export function extractSubgraph(
  model: OnnxModel,
  inputList: readonly string[],
  outputList: readonly string[],
  options: ExtractOptions = {},
): OnnxModel {
  const inputs = [...new Set(inputList)];
  const outputs = [...new Set(outputList)];
  const known = allTensorNames(model);
  const unknown = [...inputs, ...outputs].filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`extractSubgraph: no tensor named ${unknown.map((n) => `'${n}'`).join(', ')} in the model`);
  if (outputs.length === 0) throw new Error('extractSubgraph: no outputs given');

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
  if (missing.length) {
    const graphInputs = new Set(model.inputs.map((v) => v.name));
    const described = missing.map((m) => (graphInputs.has(m) ? `'${m}' (a graph input)` : `'${m}'`));
    throw new NotACleanCutError(
      `extractSubgraph: [${outputs.join(', ')}] cannot be computed from [${inputs.join(', ')}] alone: ` +
        `they also need ${described.join(', ')}`,
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

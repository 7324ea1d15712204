/**
 * ONNX ModelProto as a read-only view.
 *
 * Parsing decodes only what the engine needs (names, types, shapes, op types, the dependency graph);
 * every other byte stays in the raw protobuf fields it came from (see protobuf.ts), so an untouched
 * model re-encodes byte-identical. Edits live in editor.ts, graph cuts in subgraph.ts.
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
  getInt,
  getString,
  lastField,
  repeatedBigInts,
  repeatedDoubles,
  repeatedFloats,
  repeatedInts,
  repeatedStrings,
} from './protobuf';
import {
  MODEL_IR_VERSION,
  MODEL_PRODUCER_NAME,
  MODEL_PRODUCER_VERSION,
  MODEL_GRAPH,
  MODEL_OPSET_IMPORT,
  MODEL_METADATA_PROPS,
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
  ATTR_G,
  ATTR_GRAPHS,
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
  TENSOR_FLOAT_DATA,
  TENSOR_INT32_DATA,
  TENSOR_INT64_DATA,
  TENSOR_NAME,
  TENSOR_RAW_DATA,
  TENSOR_DOUBLE_DATA,
  TENSOR_EXTERNAL_DATA,
  TENSOR_DATA_LOCATION,
  DATA_LOCATION_EXTERNAL,
  SPARSE_VALUES,
  DataType,
} from './fields';

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

export function parseValueInfo(f: PbField): ValueInfo {
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

export function valueInfoName(f: PbField): string {
  return getString(fieldMessage(f), VI_NAME);
}

export function tensorName(f: PbField): string {
  return getString(fieldMessage(f), TENSOR_NAME);
}

export function sparseName(f: PbField): string {
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
export function scanGraph(g: readonly PbField[]): GraphScan {
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

export function parseNode(f: PbField, index: number): NodeInfo {
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
    [DataType.FLOAT]: 4,
    [DataType.DOUBLE]: 8,
    [DataType.INT64]: 8,
    [DataType.INT32]: 4,
    [DataType.INT16]: 2,
    [DataType.UINT16]: 2,
    [DataType.INT8]: 1,
    [DataType.UINT8]: 1,
    [DataType.BOOL]: 1,
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
          dataType === DataType.INT32
            ? dv.getInt32(i * 4, true)
            : dataType === DataType.INT16
              ? dv.getInt16(i * 2, true)
              : dataType === DataType.UINT16
                ? dv.getUint16(i * 2, true)
                : dataType === DataType.INT8
                  ? dv.getInt8(i)
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

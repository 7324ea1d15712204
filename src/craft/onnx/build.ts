/**
 * Small ONNX graphs built from scratch, and compositions that put a few nodes in front of or behind an
 * existing model (the crop resize before g, the concept reconstruction before h, the spatial mean after
 * g). Everything goes through ModelEditor, so the wrapped model's own fields pass through unchanged.
 */
import { messageField, stringField, varintField, encodeMessage } from './protobuf';
import { Dim, OnnxModel } from './model';
import { DataType } from './fields';
import { ModelEditor, NodeSpec, TensorSpec, ValueInfoSpec } from './editor';

export type Layout = 'NCHW' | 'NHWC';

export interface GraphSpec {
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  /** In topological order. */
  nodes: readonly NodeSpec[];
  initializers?: readonly TensorSpec[];
  /** Default-domain opset (default 17). */
  opset?: number;
  /** Default 8 (the lowest IR that opset 17 allows). */
  irVersion?: number;
  graphName?: string;
}

/** An empty ModelProto: ir_version, producer, a named empty graph, one opset import. */
function emptyModel(opset: number, irVersion: number, graphName: string): Uint8Array {
  return encodeMessage([
    varintField(1, irVersion),
    stringField(2, 'craft'),
    messageField(7, [stringField(2, graphName)]),
    messageField(8, [stringField(1, ''), varintField(2, opset)]),
  ]);
}

/** Builds a model from a full description. */
export function buildModel(spec: GraphSpec): OnnxModel {
  const ed = new ModelEditor(emptyModel(spec.opset ?? 17, spec.irVersion ?? 8, spec.graphName ?? 'craft'));
  for (const t of spec.initializers ?? []) ed.addInitializer(t);
  for (const i of spec.inputs) ed.addInput(i);
  for (const n of spec.nodes) ed.addNode(n);
  for (const o of spec.outputs) ed.addOutput(o);
  return ed.toModel();
}

function floatType(dtype: 'float32' | 'float64'): number {
  return dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
}

/** One operand of buildMatMulModel: a constant (initializer) when `data` is given, else a graph input. */
export interface MatrixOperand {
  name: string;
  /** Row-major values (rows*cols); Float64Array only with dtype 'float64'. */
  data?: Float32Array | Float64Array;
  /** Numbers are required for a constant; strings declare symbolic sizes of an input. */
  rows: number | string;
  cols: number | string;
}

export interface MatMulOptions {
  a: MatrixOperand;
  b: MatrixOperand;
  /** Use aᵀ (Gemm transA=1). */
  transA?: boolean;
  /** Use bᵀ (Gemm transB=1). */
  transB?: boolean;
  /** Output name (default 'Y'). */
  output?: string;
  /** Element type of operands and result (default 'float32'). */
  dtype?: 'float32' | 'float64';
}

/**
 * Y = op(a)·op(b) as a one-node model (MatMul, or Gemm when a transpose is asked for). Constant operands
 * are baked in as initializers, so a session built once can multiply a fixed n×p matrix by many inputs.
 */
export function buildMatMulModel(opts: MatMulOptions): OnnxModel {
  const dtype = opts.dtype ?? 'float32';
  const elemType = floatType(dtype);
  const inputs: ValueInfoSpec[] = [];
  const initializers: TensorSpec[] = [];
  for (const op of [opts.a, opts.b]) {
    if (op.data) {
      if (typeof op.rows !== 'number' || typeof op.cols !== 'number') throw new Error(`buildMatMulModel: constant '${op.name}' needs numeric rows and cols`);
      if (op.data.length !== op.rows * op.cols) throw new Error(`buildMatMulModel: '${op.name}' has ${op.data.length} values for ${op.rows}x${op.cols}`);
      if (op.data instanceof Float64Array !== (dtype === 'float64')) throw new Error(`buildMatMulModel: '${op.name}' data does not match dtype ${dtype}`);
      initializers.push({ name: op.name, dataType: elemType, dims: [op.rows, op.cols], values: op.data });
    } else {
      inputs.push({ name: op.name, elemType, shape: [op.rows, op.cols] });
    }
  }
  if (opts.a.name === opts.b.name) throw new Error('buildMatMulModel: the operands need different names');
  const output = opts.output ?? 'Y';
  const rows = opts.transA ? opts.a.cols : opts.a.rows;
  const cols = opts.transB ? opts.b.rows : opts.b.cols;
  const node: NodeSpec =
    opts.transA || opts.transB
      ? {
          opType: 'Gemm',
          inputs: [opts.a.name, opts.b.name],
          outputs: [output],
          attributes: [
            { name: 'transA', int: opts.transA ? 1 : 0 },
            { name: 'transB', int: opts.transB ? 1 : 0 },
          ],
        }
      : { opType: 'MatMul', inputs: [opts.a.name, opts.b.name], outputs: [output] };
  return buildModel({
    inputs,
    outputs: [{ name: output, elemType, shape: [rows, cols] }],
    nodes: [node],
    initializers,
    opset: 13,
    irVersion: 7,
    graphName: 'craft_matmul',
  });
}

// ---------------------------------------------------------------------------------------------
// Compositions.

/**
 * The lowest default-domain opset each composition's op forms need: Resize with a `sizes` input
 * (opset 11) in front of g; Slice with starts/ends inputs (10) in the reconstruction in front of h
 * (spatial or pushed through h's affine start; the plain vector form needs broadcasting Mul, 7).
 * withSpatialMean and withProjection write forms every opset accepts.
 */
export const MIN_OPSET = { inputResize: 11, reconstruction: 10 } as const;

function defaultOpset(ed: ModelEditor, what: string, min: number): number {
  const v = ed.opsetVersion('');
  if (v === undefined || v < min) {
    throw new Error(`${what} needs default-domain opset >= ${min}; the model has ${v ?? 'none'}. Re-export it with a newer opset.`);
  }
  return v;
}

/** The single feedable input of a model (or the one named). */
function pickInput(model: OnnxModel, name: string | undefined, what: string) {
  if (name !== undefined) {
    const v = model.inputs.find((i) => i.name === name);
    if (!v) throw new Error(`${what}: the model has no input '${name}'`);
    return v;
  }
  if (model.inputs.length !== 1) throw new Error(`${what}: the model has ${model.inputs.length} inputs; say which one to feed`);
  return model.inputs[0];
}

/** The output a composition works on: the one named, or the model's only output. */
function pickOutput(model: OnnxModel, name: string | undefined, what: string) {
  if (name !== undefined) {
    const v = model.outputs.find((o) => o.name === name);
    if (!v) throw new Error(`${what}: '${name}' is not an output of the model`);
    return v;
  }
  if (model.outputs.length !== 1) throw new Error(`${what}: the model has ${model.outputs.length} outputs; say which one to use`);
  return model.outputs[0];
}

function checkFreeName(ed: ModelEditor, name: string, what: string): void {
  if (ed.isUsed(name)) throw new Error(`${what}: the name '${name}' is already used in the model; choose another`);
}

/** Adds a 1-D int64 initializer; returns its name. */
function addInt64(ed: ModelEditor, name: string, values: number[]): string {
  ed.addInitializer({ name, dataType: DataType.INT64, dims: [values.length], values });
  return name;
}

/** Adds a float32 initializer; returns its name. */
function addFloats(ed: ModelEditor, name: string, dims: number[], values: ArrayLike<number>): string {
  ed.addInitializer({ name, dataType: DataType.FLOAT, dims, values: Float32Array.from(values) });
  return name;
}

/** Spatial axes of a rank-4 layout. */
function spatialAxes(layout: Layout): [number, number] {
  return layout === 'NCHW' ? [2, 3] : [1, 2];
}

export interface InputResizeOptions {
  /** Size the model is fed, e.g. the model's input height and width. */
  height: number;
  width: number;
  /** The new input (default 'crops'); must be unused in the model. */
  inputName?: string;
  /** The model input the resized tensor feeds (default: its only input). */
  target?: string;
  /** Layout of the model input (default NCHW). */
  layout?: Layout;
  /** Declared spatial size of the new input (e.g. the patch size); default symbolic. */
  cropHeight?: number | string;
  cropWidth?: number | string;
}

/**
 * Puts a bilinear Resize in front of the model: the new input (B, C, h, w) of any h, w is resized to
 * (B, C, height, width) with coordinate_transformation_mode half_pixel, which is torch's
 * F.interpolate(mode='bilinear', align_corners=False, antialias=False) (docs/method.md §2), then
 * fed to the old input, which stops being a graph input. The target size is built as
 * concat(shape(x)[batch, channel], [height, width]), so the batch stays free.
 */
export function withInputResize(model: OnnxModel, opts: InputResizeOptions): OnnxModel {
  const what = 'withInputResize';
  const ed = new ModelEditor(model);
  defaultOpset(ed, what, MIN_OPSET.inputResize);
  const target = pickInput(model, opts.target, what);
  const layout = opts.layout ?? 'NCHW';
  const inputName = opts.inputName ?? 'crops';
  checkFreeName(ed, inputName, what);
  if (target.shape && target.shape.length !== 4) throw new Error(`${what}: input '${target.name}' has rank ${target.shape.length}, expected 4`);

  const p = (s: string) => ed.freshName(`craft/resize/${s}`);
  const names = {
    shape: p('shape'),
    lead: p('lead'),
    tail: p('tail'),
    sizes: p('sizes'),
    hw: p('hw'),
    roi: p('roi'),
    scales: p('scales'),
    s0: p('starts0'),
    e0: p('ends0'),
    s1: p('starts1'),
    e1: p('ends1'),
  };
  // Empty roi and scales: opsets 11-12 require the inputs to be present even when sizes is used.
  ed.addInitializer({ name: names.roi, dataType: DataType.FLOAT, dims: [0], values: [] });
  ed.addInitializer({ name: names.scales, dataType: DataType.FLOAT, dims: [0], values: [] });
  addInt64(ed, names.hw, [opts.height, opts.width]);
  const nodes: NodeSpec[] = [{ opType: 'Shape', inputs: [inputName], outputs: [names.shape], name: p('Shape') }];
  let sizeParts: string[];
  if (layout === 'NCHW') {
    addInt64(ed, names.s0, [0]);
    addInt64(ed, names.e0, [2]);
    nodes.push({ opType: 'Slice', inputs: [names.shape, names.s0, names.e0], outputs: [names.lead], name: p('Slice') });
    sizeParts = [names.lead, names.hw];
  } else {
    addInt64(ed, names.s0, [0]);
    addInt64(ed, names.e0, [1]);
    addInt64(ed, names.s1, [3]);
    addInt64(ed, names.e1, [4]);
    nodes.push({ opType: 'Slice', inputs: [names.shape, names.s0, names.e0], outputs: [names.lead], name: p('Slice') });
    nodes.push({ opType: 'Slice', inputs: [names.shape, names.s1, names.e1], outputs: [names.tail], name: p('Slice') });
    sizeParts = [names.lead, names.hw, names.tail];
  }
  nodes.push({ opType: 'Concat', inputs: sizeParts, outputs: [names.sizes], name: p('Concat'), attributes: [{ name: 'axis', int: 0 }] });
  nodes.push({
    opType: 'Resize',
    inputs: [inputName, names.roi, names.scales, names.sizes],
    outputs: [target.name],
    name: p('Resize'),
    attributes: [
      { name: 'mode', string: 'linear' },
      { name: 'coordinate_transformation_mode', string: 'half_pixel' },
    ],
  });
  // Prepend in reverse so they end up first and in order.
  for (const n of [...nodes].reverse()) ed.addNode(n, 'start');

  const s = target.shape;
  const ch: Dim = s ? (layout === 'NCHW' ? s[1] : s[3]) : null;
  const batch: Dim = s ? s[0] : 'batch';
  const h: Dim = opts.cropHeight ?? 'crop_height';
  const w: Dim = opts.cropWidth ?? 'crop_width';
  ed.removeInput(target.name);
  ed.addInput({ name: inputName, elemType: target.elemType ?? DataType.FLOAT, shape: layout === 'NCHW' ? [batch, ch, h, w] : [batch, h, w, ch] }, 'start');
  return ed.toModel();
}

export interface SpatialMeanOptions {
  /** The rank-4 output to average (default: the model's only output). */
  source?: string;
  /** Name of the new output (default 'pooled'); must be unused in the model. */
  outputName?: string;
  /** Layout of the source (default NCHW). */
  layout?: Layout;
  /** Drop the source from the graph outputs (default false: both are outputs; fetch what you need). */
  replace?: boolean;
}

/**
 * Adds ReduceMean over the spatial axes (keepdims 0) of an output as another output: (B, C, h, w) → (B, C),
 * the reference's `mean over dims (2,3)` of the crop activations (docs/method.md §2).
 */
export function withSpatialMean(model: OnnxModel, opts: SpatialMeanOptions = {}): OnnxModel {
  const what = 'withSpatialMean';
  const ed = new ModelEditor(model);
  const opset = defaultOpset(ed, what, 1);
  const src = pickOutput(model, opts.source, what);
  const source = src.name;
  const outputName = opts.outputName ?? 'pooled';
  checkFreeName(ed, outputName, what);
  const layout = opts.layout ?? 'NCHW';
  const axes = spatialAxes(layout);
  const name = ed.freshName('craft/mean/ReduceMean');
  // Opset 18 moved ReduceMean's axes from an attribute to an input.
  if (opset >= 18) {
    const axesName = ed.freshName('craft/mean/axes');
    ed.addInitializer({ name: axesName, dataType: DataType.INT64, dims: [2], values: axes });
    ed.addNode({ opType: 'ReduceMean', inputs: [source, axesName], outputs: [outputName], name, attributes: [{ name: 'keepdims', int: 0 }] });
  } else {
    ed.addNode({
      opType: 'ReduceMean',
      inputs: [source],
      outputs: [outputName],
      name,
      attributes: [
        { name: 'axes', ints: axes },
        { name: 'keepdims', int: 0 },
      ],
    });
  }
  const s = src.shape;
  const shape: Dim[] | undefined = s && s.length === 4 ? [s[0], layout === 'NCHW' ? s[1] : s[3]] : undefined;
  if (opts.replace) ed.removeOutput(source);
  ed.addOutput({ name: outputName, elemType: src.elemType ?? DataType.FLOAT, shape });
  return ed.toModel();
}

/** A row-major float32 matrix (rows × cols). */
export interface Float32Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface ReconstructionOptions {
  /** Concept bank W, r × p (p = channels of the model input). */
  W: Float32Matrix;
  /** Masks M × r baked in as an initializer; omit to make them a graph input (`masksName`). */
  masks?: Float32Matrix;
  /**
   * Spatial case: coefficients (1, h, w, r) and masks (M, r); h, w fixed or symbolic.
   * null: vector case, coefficients (1, r) and masks (M, r).
   */
  spatial: { height: number | string; width: number | string } | null;
  /** Layout of the model input in the spatial case (default NCHW). */
  layout?: Layout;
  /** The model input that receives the reconstruction (default: its only input). */
  target?: string;
  /** Default 'coeffs'. */
  coeffsName?: string;
  /** Default 'masks' (used only when masks are an input). */
  masksName?: string;
  /**
   * The end of h's affine prefix (affinePrefix(h).output). Then only the r basis maps and a zero map
   * go through that prefix, and the masks mix its r + 1 results (see affine.ts); needs a dynamic
   * batch in the prefix, numeric height and width, and opset >= 10.
   */
  through?: string;
}

/**
 * Puts CRAFT's perturbed reconstruction in front of h (docs/method.md §5.2): Ap = (U ⊙ mask)·W, i.e.
 * vector case Mul(coeffs, masks) → MatMul(·, W); spatial case one GEMM over per-concept basis maps
 * (see below), reshaped to (M, p, h, w) or (M, h, w, p) → the old input.
 * One run scores all M masks of one image: the output's leading dim is M.
 */
export function withReconstruction(model: OnnxModel, opts: ReconstructionOptions): OnnxModel {
  const what = 'withReconstruction';
  const ed = new ModelEditor(model);
  defaultOpset(ed, what, opts.through || opts.spatial ? MIN_OPSET.reconstruction : 7);
  const target = pickInput(model, opts.target, what);
  const layout = opts.layout ?? 'NCHW';
  const r = opts.W.rows;
  const p = opts.W.cols;
  if (opts.W.data.length !== r * p) throw new Error(`${what}: W has ${opts.W.data.length} values for ${r}x${p}`);
  if (opts.masks && (opts.masks.cols !== r || opts.masks.data.length !== opts.masks.rows * r)) {
    throw new Error(`${what}: masks must be M×${r} (got ${opts.masks.rows}x${opts.masks.cols}, ${opts.masks.data.length} values)`);
  }
  const expectRank = opts.spatial ? 4 : 2;
  if (target.shape && target.shape.length !== expectRank) {
    throw new Error(`${what}: input '${target.name}' has rank ${target.shape.length}, expected ${expectRank}`);
  }
  const coeffs = opts.coeffsName ?? 'coeffs';
  checkFreeName(ed, coeffs, what);
  const n = (s: string) => ed.freshName(`craft/recon/${s}`);
  const i64 = (name: string, values: number[]) => addInt64(ed, name, values);
  const f32 = (name: string, dims: number[], values: ArrayLike<number>) => addFloats(ed, name, dims, values);
  const M: Dim = opts.masks ? opts.masks.rows : 'masks';
  const maskDims = [M, r];
  let masks: string;
  if (opts.masks) {
    masks = f32(n('masks'), maskDims as number[], opts.masks.data);
  } else {
    masks = opts.masksName ?? 'masks';
    checkFreeName(ed, masks, what);
    ed.addInput({ name: masks, elemType: DataType.FLOAT, shape: maskDims }, 'start');
  }
  const nodes: NodeSpec[] = [];
  const nchw = layout === 'NCHW';
  // Per concept c a basis map B_c = u_c ⊗ W_c (every latent position times the concept's channel
  // vector) in the input's own order, flattened: basisFlat is r × (p·h·w). Then
  // Ap = masks (M × r) · basisFlat, the same sum as (u ⊙ mask)·W with no transpose of the M-sized
  // result (the largest tensor of the run).
  const basisFlat = n('basis_flat');
  let features: number | undefined; // p·h·w when known
  if (!opts.spatial) {
    features = p;
    if (opts.through) {
      const col = n('coeffs_col');
      nodes.push(
        { opType: 'Reshape', inputs: [coeffs, i64(n('shape_r1'), [r, 1])], outputs: [col], name: n('Reshape') },
        { opType: 'Mul', inputs: [col, f32(n('W'), [r, p], opts.W.data)], outputs: [basisFlat], name: n('Mul') },
      );
    } else {
      // Vector case: (masks ⊙ u)·W, (M, r)·(r, p).
      const scaled = n('scaled');
      nodes.push({ opType: 'Mul', inputs: [coeffs, masks], outputs: [scaled], name: n('Mul') });
      nodes.push({ opType: 'MatMul', inputs: [scaled, f32(n('W'), [r, p], opts.W.data)], outputs: [target.name], name: n('MatMul') });
    }
  } else {
    const { height, width } = opts.spatial;
    if (typeof height === 'number' && typeof width === 'number') features = p * height * width;
    const flat = n('coeffs_flat');
    const cols = n('coeffs_by_concept');
    const colsShaped = n('coeffs_shaped');
    const basis = n('basis');
    nodes.push(
      { opType: 'Reshape', inputs: [coeffs, i64(n('shape_hw_r'), [-1, r])], outputs: [flat], name: n('Reshape') },
      { opType: 'Transpose', inputs: [flat], outputs: [cols], name: n('Transpose'), attributes: [{ name: 'perm', ints: [1, 0] }] },
      { opType: 'Reshape', inputs: [cols, i64(n('shape_cols'), nchw ? [r, 1, -1] : [r, -1, 1])], outputs: [colsShaped], name: n('Reshape') },
      { opType: 'Mul', inputs: [colsShaped, f32(n('W_shaped'), nchw ? [r, p, 1] : [r, 1, p], opts.W.data)], outputs: [basis], name: n('Mul') },
      { opType: 'Reshape', inputs: [basis, i64(n('shape_basis'), [r, -1])], outputs: [basisFlat], name: n('Reshape') },
    );
  }
  // What h's input receives: the M reconstructions, or (through) the zero map and the r basis maps.
  let source: string | undefined;
  if (opts.through) {
    if (features === undefined) throw new Error(`${what}: 'through' needs numeric height and width`);
    source = n('basis_and_zero');
    nodes.push({
      opType: 'Concat',
      inputs: [f32(n('zero_map'), [1, features], new Float32Array(features)), basisFlat],
      outputs: [source],
      name: n('Concat'),
      attributes: [{ name: 'axis', int: 0 }],
    });
  } else if (opts.spatial) {
    source = n('product');
    nodes.push({ opType: 'MatMul', inputs: [masks, basisFlat], outputs: [source], name: n('MatMul') });
  }
  if (source !== undefined) {
    if (opts.spatial) {
      const shape = n('coeffs_shape');
      const hw = n('hw');
      const outShape = n('out_shape');
      nodes.push(
        { opType: 'Shape', inputs: [coeffs], outputs: [shape], name: n('Shape') },
        { opType: 'Slice', inputs: [shape, i64(n('start'), [1]), i64(n('end'), [3])], outputs: [hw], name: n('Slice') },
        {
          opType: 'Concat',
          inputs: nchw ? [i64(n('lead'), [-1, p]), hw] : [i64(n('lead'), [-1]), hw, i64(n('tail'), [p])],
          outputs: [outShape],
          name: n('Concat'),
          attributes: [{ name: 'axis', int: 0 }],
        },
        { opType: 'Reshape', inputs: [source, outShape], outputs: [target.name], name: n('Reshape') },
      );
    } else {
      nodes.push({ opType: 'Identity', inputs: [source], outputs: [target.name], name: n('Identity') });
    }
  }
  for (const node of [...nodes].reverse()) ed.addNode(node, 'start');
  if (opts.through) mixAt(ed, opts.through, masks, r, n);
  ed.removeInput(target.name);
  const coeffShape: Dim[] = opts.spatial ? [1, opts.spatial.height, opts.spatial.width, r] : [1, r];
  ed.addInput({ name: coeffs, elemType: DataType.FLOAT, shape: coeffShape }, 'start');
  return ed.toModel();
}

/**
 * The mixing step of withReconstruction's `through` mode, at the end T of h's affine prefix P, which
 * now holds P(0), P(B_1), …, P(B_r): T_m = P(0) + Σ_c m_c·(P(B_c) − P(0)), as one
 * (M × r)·(r × |T|) product plus P(0), reshaped to T's own shape for the rest of h. Written with the
 * differences (not (1 − Σ m)·P(0) + Σ m·P(B_c), the same sum) so that a concept whose basis map is
 * zero contributes exactly nothing: a dead image then gives exactly constant outputs, as through the
 * full reconstruction, instead of rounding noise that the Jansen estimator would divide by.
 */
function mixAt(ed: ModelEditor, through: string, masks: string, r: number, n: (s: string) => string): void {
  const prefixOut = n('prefix_out');
  ed.renameNodeOutput(through, prefixOut);
  const rows = n('prefix_rows');
  const zeroRow = n('zero_row');
  const basisRows = n('basis_rows');
  const deltas = n('deltas');
  const mixedDeltas = n('mixed_deltas');
  const mixed = n('mixed');
  const shape = n('prefix_shape');
  const tail = n('prefix_tail');
  const mixedShape = n('mixed_shape');
  const i64 = (name: string, values: number[]) => addInt64(ed, n(name), values);
  const nodes: NodeSpec[] = [
    { opType: 'Flatten', inputs: [prefixOut], outputs: [rows], name: n('Flatten'), attributes: [{ name: 'axis', int: 1 }] },
    { opType: 'Slice', inputs: [rows, i64('row0_start', [0]), i64('row0_end', [1])], outputs: [zeroRow], name: n('Slice') },
    { opType: 'Slice', inputs: [rows, i64('rows_start', [1]), i64('rows_end', [r + 1])], outputs: [basisRows], name: n('Slice') },
    { opType: 'Sub', inputs: [basisRows, zeroRow], outputs: [deltas], name: n('Sub') },
    { opType: 'MatMul', inputs: [masks, deltas], outputs: [mixedDeltas], name: n('MatMul') },
    { opType: 'Add', inputs: [mixedDeltas, zeroRow], outputs: [mixed], name: n('Add') },
    { opType: 'Shape', inputs: [prefixOut], outputs: [shape], name: n('Shape') },
    { opType: 'Slice', inputs: [shape, i64('tail_start', [1]), i64('tail_end', [2 ** 31 - 1])], outputs: [tail], name: n('Slice') },
    { opType: 'Concat', inputs: [i64('mixed_lead', [-1]), tail], outputs: [mixedShape], name: n('Concat'), attributes: [{ name: 'axis', int: 0 }] },
    { opType: 'Reshape', inputs: [mixed, mixedShape], outputs: [through], name: n('Reshape') },
  ];
  // Each goes right after the previous one, starting after the prefix's last node.
  let after = prefixOut;
  for (const node of nodes) {
    ed.addNode(node, { after });
    after = node.outputs[0];
  }
}

export interface ProjectionOptions {
  /** Concept bank W, r × p. */
  W: Float32Matrix;
  /** The output is a rank-4 feature map (else a (B, p) vector); extracted models may not declare it. */
  spatial: boolean;
  /** Layout of the model output when it is rank 4 (default NCHW). */
  layout?: Layout;
  /** The output to project (default: the model's only output). */
  source?: string;
  /** Keep the projected tensor as an output too (default: replaced by the projection). */
  keepSource?: boolean;
}

/**
 * Replaces the model's output A by its projection on the concept bank, A·Wᵀ, per latent position:
 * (B, p, h, w) → (B, h, w, r) ('projected'), or (B, p) → (B, r), plus 'minimum', the smallest value of
 * A (NMF needs A ≥ 0). The NMF transform only needs X·Wᵀ (docs/method.md §3.4), so the full-image
 * activations never leave ONNX Runtime.
 */
export function withProjection(model: OnnxModel, opts: ProjectionOptions): OnnxModel {
  const what = 'withProjection';
  const ed = new ModelEditor(model);
  defaultOpset(ed, what, 1);
  const src = pickOutput(model, opts.source, what);
  const source = src.name;
  if (src.shape && src.shape.length !== (opts.spatial ? 4 : 2)) throw new Error(`${what}: '${source}' has rank ${src.shape.length}`);
  const { rows: r, cols: p } = opts.W;
  const n = (s: string) => ed.freshName(`craft/project/${s}`);
  // Wᵀ (p × r), so the MatMul contracts the channel axis.
  const wt = new Float32Array(p * r);
  for (let c = 0; c < r; c++) for (let j = 0; j < p; j++) wt[j * r + c] = opts.W.data[c * p + j];
  const wtName = n('Wt');
  ed.addInitializer({ name: wtName, dataType: DataType.FLOAT, dims: [p, r], values: wt });
  let channelsLast = source;
  if (opts.spatial && (opts.layout ?? 'NCHW') === 'NCHW') {
    channelsLast = n('nhwc');
    ed.addNode({ opType: 'Transpose', inputs: [source], outputs: [channelsLast], name: n('Transpose'), attributes: [{ name: 'perm', ints: [0, 2, 3, 1] }] });
  }
  checkFreeName(ed, 'projected', what);
  checkFreeName(ed, 'minimum', what);
  ed.addNode({ opType: 'MatMul', inputs: [channelsLast, wtName], outputs: ['projected'], name: n('MatMul') });
  // ReduceMin over every axis: no axes given (attribute before opset 18, input from 18 on).
  ed.addNode({ opType: 'ReduceMin', inputs: [source], outputs: ['minimum'], name: n('ReduceMin'), attributes: [{ name: 'keepdims', int: 0 }] });
  if (!opts.keepSource) ed.removeOutput(source);
  ed.addOutput({ name: 'projected', elemType: DataType.FLOAT });
  ed.addOutput({ name: 'minimum', elemType: DataType.FLOAT });
  return ed.toModel();
}

/**
 * Odd classifiers for the tests, built with the project's own ONNX writer (buildModel), never downloaded:
 * squeeze-and-excitation blocks, a graph that standardises its own input, a MobileNetV2-like net, an
 * opset-7 export, uint8 and float16 inputs, a 1-channel split layer, g/h pairs that do not fit, and
 * broken files. Each is a few kB with deterministic random weights; tests write them into a temp folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../../src/craft/onnx/build';
import { ModelEditor, type NodeSpec, type TensorSpec, type ValueInfoSpec, type AttributeSpec } from '../../src/craft/onnx/editor';
import { DataType } from '../../src/craft/onnx/fields';
import type { Dim, OnnxModel } from '../../src/craft/onnx/model';
import { encodeMessage, messageField, stringField, varintField } from '../../src/craft/onnx/protobuf';
import { rng } from '../unit/helpers';

/** A built model and the split layer CRAFT should propose for it. */
export interface OddModel {
  model: OnnxModel;
  layer: string;
}

/** An NCHW RGB input with a dynamic batch, and a dynamic size unless one is given. */
function imageInput(elemType: number = DataType.FLOAT, size?: number, name = 'input'): ValueInfoSpec {
  return { name, elemType, shape: ['batch', 3, size ?? 'height', size ?? 'width'] };
}

/**
 * Collects nodes and weights with the op forms of one opset. Weights are uniform in ±√(3/fan-in)
 * (unit variance through a layer) with small positive biases, so ReLU maps are neither dead nor huge.
 */
class Net {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private readonly random: () => number;
  private used = new Set<string>();

  constructor(
    seed: number,
    readonly opset = 17,
  ) {
    this.random = rng(seed);
  }

  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  constant(base: string, dims: number[], values: ArrayLike<number>, dataType: number = DataType.FLOAT): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dataType, dims, values: dataType === DataType.FLOAT ? Float32Array.from(values) : Array.from(values) });
    return name;
  }

  private weights(base: string, dims: number[], fanIn: number): string {
    const a = Math.sqrt(3 / fanIn);
    const count = dims.reduce((x, y) => x * y, 1);
    return this.constant(
      base,
      dims,
      Float32Array.from({ length: count }, () => (2 * this.random() - 1) * a),
    );
  }

  op(opType: string, inputs: string[], out?: string, attributes?: AttributeSpec[]): string {
    const output = out ?? this.fresh(`${opType.toLowerCase()}_out`);
    this.used.add(output);
    this.nodes.push({ opType, inputs, outputs: [output], name: this.fresh(`${opType}_node`), attributes });
    return output;
  }

  conv(x: string, cin: number, cout: number, o: { k?: number; stride?: number; group?: number; out?: string } = {}): string {
    const k = o.k ?? 3;
    const group = o.group ?? 1;
    const w = this.weights('conv_w', [cout, cin / group, k, k], (cin / group) * k * k);
    const b = this.constant('conv_b', [cout], new Float32Array(cout).fill(0.05));
    const pad = (k - 1) >> 1;
    return this.op('Conv', [x, w, b], o.out, [
      { name: 'kernel_shape', ints: [k, k] },
      { name: 'pads', ints: [pad, pad, pad, pad] },
      { name: 'strides', ints: [o.stride ?? 1, o.stride ?? 1] },
      { name: 'group', int: group },
    ]);
  }

  relu(x: string, out?: string): string {
    return this.op('Relu', [x], out);
  }

  /** ReLU6 as PyTorch and Keras export it: Clip, bounds as inputs from opset 11 on, attributes before. */
  relu6(x: string, out?: string): string {
    if (this.opset >= 11) return this.op('Clip', [x, this.constant('zero', [], [0]), this.constant('six', [], [6])], out);
    return this.op('Clip', [x], out, [
      { name: 'min', float: 0 },
      { name: 'max', float: 6 },
    ]);
  }

  /** ReduceMean / ReduceMax over `axes`: an attribute before opset 18, an input from 18 on. */
  reduce(opType: 'ReduceMean' | 'ReduceMax', x: string, axes: number[], keepdims: boolean, out?: string): string {
    const keep = { name: 'keepdims', int: keepdims ? 1 : 0 };
    if (this.opset >= 18) return this.op(opType, [x, this.constant('axes', [axes.length], axes, DataType.INT64)], out, [keep]);
    return this.op(opType, [x], out, [{ name: 'axes', ints: axes }, keep]);
  }

  /** A fully connected layer (B, cin) → (B, cout). */
  gemm(x: string, cin: number, cout: number, out?: string): string {
    const w = this.weights('fc_w', [cout, cin], cin);
    const b = this.constant(
      'fc_b',
      [cout],
      Float32Array.from({ length: cout }, (_, i) => 0.1 * i),
    );
    return this.op('Gemm', [x, w, b], out, [{ name: 'transB', int: 1 }]);
  }

  /** GlobalAveragePool → Flatten → Gemm: the usual classifier head. */
  head(x: string, channels: number, classes: number, pooled?: string): string {
    const p = this.op('GlobalAveragePool', [x], pooled);
    return this.gemm(this.op('Flatten', [p], undefined, [{ name: 'axis', int: 1 }]), channels, classes, 'logits');
  }

  /**
   * Squeeze-and-excitation (Hu et al.): pool the map to (B, C, 1, 1), two 1×1 convolutions, a sigmoid,
   * and the map rescaled channel by channel. `pool` is how exporters write the squeeze.
   */
  squeezeExcite(x: string, channels: number, pool: 'GlobalAveragePool' | 'ReduceMean', out: string): string {
    const squeezed = pool === 'GlobalAveragePool' ? this.op('GlobalAveragePool', [x]) : this.reduce('ReduceMean', x, [2, 3], true);
    const hidden = Math.max(1, channels >> 2);
    const excite = this.op('Sigmoid', [this.conv(this.relu(this.conv(squeezed, channels, hidden, { k: 1 })), hidden, channels, { k: 1 })]);
    return this.op('Mul', [x, excite], out);
  }

  model(inputs: ValueInfoSpec[], outputs: ValueInfoSpec[], o: { irVersion?: number } = {}): OnnxModel {
    const irVersion = o.irVersion ?? 8;
    // Before IR 4 every initializer is also listed among the graph inputs (old exporters did this).
    const listed: ValueInfoSpec[] = irVersion < 4 ? this.initializers.map((t) => ({ name: t.name, elemType: t.dataType, shape: t.dims })) : [];
    return buildModel({ inputs: [...inputs, ...listed], outputs, nodes: this.nodes, initializers: this.initializers, opset: this.opset, irVersion });
  }
}

const logits = (classes: number): ValueInfoSpec => ({ name: 'logits', elemType: DataType.FLOAT, shape: ['batch', classes] });

/**
 * A CNN with two squeeze-and-excitation blocks (MobileNetV3 / EfficientNet / SE-ResNet style): one on
 * an early 8-channel map and one on the last map, right before the final pooling. The split CRAFT
 * should propose is the last rescaled map; the SE branches' pooled tensors are not the final pooling.
 */
export function seCnn(pool: 'GlobalAveragePool' | 'ReduceMean' = 'GlobalAveragePool', classes = 4): OddModel {
  const n = new Net(11);
  const early = n.relu(n.conv('input', 3, 8), 'early_relu');
  const se1 = n.squeezeExcite(early, 8, pool, 'se1/scaled');
  const late = n.relu(n.conv(se1, 8, 16, { stride: 2 }), 'late_relu');
  const se2 = n.squeezeExcite(late, 16, pool, 'se2/scaled');
  if (pool === 'GlobalAveragePool') n.head(se2, 16, classes);
  else n.gemm(n.reduce('ReduceMean', se2, [2, 3], false, 'pooled'), 16, classes, 'logits');
  return { model: n.model([imageInput()], [logits(classes)]), layer: 'se2/scaled' };
}

/**
 * A CNN that standardises its input inside the graph: pixels = 255·x, then (pixels − mean) / std over
 * each image ('ReduceMean'), or pixels / max ('ReduceMax'), before the first convolution. The reductions
 * read a 3-channel copy of the input, which is not the final pooling either.
 */
export function normalisingCnn(reduce: 'ReduceMean' | 'ReduceMax' = 'ReduceMean', classes = 4): OddModel {
  const n = new Net(12);
  const pixels = n.op('Mul', ['input', n.constant('scale', [], [255])], 'pixels');
  let normalised: string;
  if (reduce === 'ReduceMean') {
    const centred = n.op('Sub', [pixels, n.reduce('ReduceMean', pixels, [1, 2, 3], true, 'mean')], 'centred');
    const variance = n.reduce('ReduceMean', n.op('Mul', [centred, centred]), [1, 2, 3], true);
    const std = n.op('Sqrt', [n.op('Add', [variance, n.constant('eps', [], [1e-5])])]);
    normalised = n.op('Div', [centred, std], 'standardised');
  } else {
    const peak = n.reduce('ReduceMax', pixels, [1, 2, 3], true, 'peak');
    normalised = n.op('Div', [pixels, n.op('Add', [peak, n.constant('eps', [], [1e-5])])], 'standardised');
  }
  const features = n.relu(n.conv(n.relu(n.conv(normalised, 3, 8)), 8, 16, { stride: 2 }), 'features');
  n.head(features, 16, classes);
  return { model: n.model([imageInput()], [logits(classes)]), layer: 'features' };
}

/**
 * The clip-art MobileNetV2's shape in small: a 32×32 input, a stem, one inverted residual block (1×1
 * expand, ReLU6, depthwise 3×3, ReLU6, linear 1×1 projection, skip Add), a 1×1 conv + ReLU6 named
 * out_relu, then GlobalAveragePool (head/gap) → Flatten → Gemm. The split is out_relu, as in the fixture.
 */
export function mobilenetLike(classes = 6): OddModel {
  const n = new Net(13, 13);
  const stem = n.relu6(n.conv('input', 3, 8, { stride: 2 }), 'stem_relu');
  const expanded = n.relu6(n.conv(stem, 8, 16, { k: 1 }), 'block/expand_relu');
  const depthwise = n.relu6(n.conv(expanded, 16, 16, { group: 16 }), 'block/depthwise_relu');
  const projected = n.conv(depthwise, 16, 8, { k: 1, out: 'block/project' });
  const added = n.op('Add', [stem, projected], 'block/add');
  const top = n.relu6(n.conv(added, 8, 32, { k: 1 }), 'out_relu');
  n.head(top, 32, classes, 'head/gap');
  return { model: n.model([imageInput(DataType.FLOAT, 32)], [logits(classes)]), layer: 'out_relu' };
}

export interface PlainOptions {
  /** Default-domain opset (default 17); below 11 Clip takes attributes. */
  opset?: number;
  /** Default 8; 3 for an old export (initializers also listed as inputs). */
  irVersion?: number;
  /** Element type of the image input: uint8 pixels are cast and divided by 255 in the graph, float16 cast. */
  input?: 'float32' | 'uint8' | 'float16';
  /** Channels of the split layer 'features' (default 8). */
  channels?: number;
  /** 'map': the model's output is the 4-D 'features' map itself, not logits. */
  output?: 'logits' | 'map';
  /** Declare the output's shape (default true). */
  declareOutput?: boolean;
  classes?: number;
}

/** conv 3→4, ReLU, conv 4→C, ReLU ('features', the split), GlobalAveragePool → Flatten → Gemm. */
export function plainCnn(o: PlainOptions = {}): OddModel {
  const n = new Net(14, o.opset ?? 17);
  const channels = o.channels ?? 8;
  const classes = o.classes ?? 3;
  let x = 'input';
  let elemType: number = DataType.FLOAT;
  if (o.input === 'uint8') {
    elemType = DataType.UINT8;
    x = n.op('Div', [n.op('Cast', [x], undefined, [{ name: 'to', int: DataType.FLOAT }]), n.constant('255', [], [255])]);
  } else if (o.input === 'float16') {
    elemType = DataType.FLOAT16;
    x = n.op('Cast', [x], undefined, [{ name: 'to', int: DataType.FLOAT }]);
  }
  const features = n.relu(n.conv(n.relu(n.conv(x, 3, 4)), 4, channels), 'features');
  const declare = o.declareOutput ?? true;
  if (o.output === 'map') {
    return {
      model: n.model(
        [imageInput(elemType)],
        [{ name: features, elemType: DataType.FLOAT, shape: declare ? ['batch', channels, 'height', 'width'] : undefined }],
        o,
      ),
      layer: features,
    };
  }
  n.head(features, channels, classes);
  return { model: n.model([imageInput(elemType)], [declare ? logits(classes) : { name: 'logits', elemType: DataType.FLOAT }], o), layer: features };
}

export interface PairOptions {
  /** Channels h expects (g gives 8). */
  hChannels?: number;
  /** Element type of h's input (default float32). */
  hElemType?: number;
  /** Declare g's output shape (default true); without it the mismatch only shows on a run. */
  declareG?: boolean;
}

/** g: input → conv 3→8 → ReLU ('features'); h: 'features' → GlobalAveragePool → Flatten → Gemm. */
export function splitPair(o: PairOptions = {}): { g: OnnxModel; h: OnnxModel } {
  const gNet = new Net(15);
  gNet.relu(gNet.conv('input', 3, 8), 'features');
  const declared: Dim[] | undefined = o.declareG === false ? undefined : ['batch', 8, 'height', 'width'];
  const g = gNet.model([imageInput()], [{ name: 'features', elemType: DataType.FLOAT, shape: declared }]);
  const c = o.hChannels ?? 8;
  const hNet = new Net(16);
  hNet.head('features', c, 3);
  const h = hNet.model([{ name: 'features', elemType: o.hElemType ?? DataType.FLOAT, shape: ['batch', c, 'height', 'width'] }], [logits(3)]);
  return { g, h };
}

/** A graph with an input and an output but no nodes (the output is the input). */
export function emptyGraph(): OnnxModel {
  return buildModel({ inputs: [imageInput()], outputs: [imageInput()], nodes: [] });
}

/**
 * plainCnn with its first convolution's weights in a side file (ONNX external data), written next to
 * the model as the exporters do; returns the model's path.
 */
export function writeExternalData(dir: string, name = 'external.onnx'): string {
  const { model } = plainCnn();
  const weight = model.initializers.find((i) => i.name.startsWith('conv_w'))!;
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(weight.dims.reduce((a, b) => a * b, 1) * 4));
  const ed = new ModelEditor(model);
  ed.keepInitializers((n) => n !== weight.name);
  // The weights come back as a TensorProto with data_location EXTERNAL, in a second GraphProto field:
  // protobuf merges repeated message fields, so the initializer joins the graph.
  const external = messageField(7, [
    messageField(5, [
      ...weight.dims.map((d) => varintField(1, d)),
      varintField(2, DataType.FLOAT),
      stringField(8, weight.name),
      messageField(13, [stringField(1, 'location'), stringField(2, 'weights.bin')]),
      varintField(14, 1),
    ]),
  ]);
  return save(dir, name, Buffer.concat([ed.toBytes(), encodeMessage([external])]));
}

/** Writes a model into `dir`; returns its path. */
export function save(dir: string, name: string, model: OnnxModel | Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, model instanceof Uint8Array ? model : model.bytes);
  return file;
}

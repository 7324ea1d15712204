/**
 * Tiny classifiers with numerically odd layers, built with the project's ONNX writer: input
 * (n, 3, 16, 16) → Conv 3→4 (3×3, positive weights, no bias) → <layer> → h → logits (n, 3).
 * The split layer is named 'layer'. Only the part around the layer differs between them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildModel } from '../../src/craft/onnx/build';
import type { NodeSpec, TensorSpec } from '../../src/craft/onnx/editor';
import { DataType } from '../../src/craft/onnx/fields';

export type NumericCase =
  /** layer = conv/conv: NaN wherever the image is black (0/0). */
  | 'nan-activations'
  /** layer = 1/conv: +Inf wherever the image is black. */
  | 'inf-activations'
  /** layer = Relu(conv − 1000): all zeros (a dead layer); h = GAP → Flatten → Gemm (affine). */
  | 'dead-affine'
  /** Same dead layer; h starts with a Relu, so it is not affine and runs on every reconstruction. */
  | 'dead-plain'
  /** layer = Relu(conv); logits = Log(Gemm(GAP)) with class 0's weights negative: its logit is NaN. */
  | 'nan-logits'
  /**
   * layer = Relu(conv); logits = Log(Gemm(GAP)) with class 1's weights positive and its bias negative:
   * finite on the images, NaN once the masks switch the concepts off (the reconstruction tends to 0).
   */
  | 'nan-perturbed-logits'
  /** layer = Relu(conv); a healthy model (affine head), for comparison. */
  | 'healthy'
  /** The healthy model with a Relu at the start of h (not affine: every reconstruction goes through h). */
  | 'healthy-plain';

const floats = (name: string, dims: number[], values: ArrayLike<number>): TensorSpec => ({
  name,
  dataType: DataType.FLOAT,
  dims,
  values: Float32Array.from(values),
});

export function numericModel(kind: NumericCase): Uint8Array {
  const conv = floats(
    'conv_w',
    [4, 3, 3, 3],
    Array.from({ length: 108 }, (_, k) => 0.05 + 0.01 * (k % 7)),
  );
  // Class 0 weighs the channels negatively (its Gemm output is negative, so Log gives NaN); 1 and 2 positively.
  const gemmW = floats('gemm_w', [3, 4], [-1, -0.5, -0.7, -0.2, 0.9, 0.1, 0.4, 0.3, 0.2, 0.8, 0.3, 0.6]);
  const gemmB = floats('gemm_b', [3], kind === 'nan-logits' ? [0, 0.1, 0.1] : kind === 'nan-perturbed-logits' ? [0, -0.001, 0.1] : [0.5, 0.1, -0.2]);
  const init: TensorSpec[] = [conv, gemmW, gemmB, floats('big', [], [1000]), floats('one', [], [1])];
  const nodes: NodeSpec[] = [{ opType: 'Conv', inputs: ['input', 'conv_w'], outputs: ['conv'], attributes: [{ name: 'pads', ints: [1, 1, 1, 1] }] }];
  switch (kind) {
    case 'nan-activations':
      nodes.push({ opType: 'Div', inputs: ['conv', 'conv'], outputs: ['layer'] });
      break;
    case 'inf-activations':
      nodes.push({ opType: 'Div', inputs: ['one', 'conv'], outputs: ['layer'] });
      break;
    case 'dead-affine':
    case 'dead-plain':
      nodes.push({ opType: 'Sub', inputs: ['conv', 'big'], outputs: ['shifted'] }, { opType: 'Relu', inputs: ['shifted'], outputs: ['layer'] });
      break;
    default:
      nodes.push({ opType: 'Relu', inputs: ['conv'], outputs: ['layer'] });
  }
  const logOfScores = kind === 'nan-logits' || kind === 'nan-perturbed-logits';
  let pooledFrom = 'layer';
  if (kind === 'dead-plain' || kind === 'healthy-plain') {
    nodes.push({ opType: 'Relu', inputs: ['layer'], outputs: ['h_relu'] });
    pooledFrom = 'h_relu';
  }
  nodes.push(
    { opType: 'GlobalAveragePool', inputs: [pooledFrom], outputs: ['gap'] },
    { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
    { opType: 'Gemm', inputs: ['flat', 'gemm_w', 'gemm_b'], outputs: [logOfScores ? 'scores' : 'logits'], attributes: [{ name: 'transB', int: 1 }] },
  );
  if (logOfScores) nodes.push({ opType: 'Log', inputs: ['scores'], outputs: ['logits'] });
  return buildModel({
    inputs: [{ name: 'input', elemType: DataType.FLOAT, shape: ['n', 3, 16, 16] }],
    outputs: [{ name: 'logits', elemType: DataType.FLOAT, shape: ['n', 3] }],
    initializers: init,
    nodes,
    opset: 17,
  }).bytes;
}

/** Writes the model into `dir` and returns its path. */
export function writeNumericModel(dir: string, kind: NumericCase): string {
  const file = path.join(dir, `${kind}.onnx`);
  fs.writeFileSync(file, numericModel(kind));
  return file;
}

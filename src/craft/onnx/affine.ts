/**
 * The affine start of a graph: the longest chain of nodes from its input where each node is an affine
 * function of the previous tensor (its other inputs are constants). CRAFT's perturbed activations are
 * linear in the masks, a_m = Σ_c m_c·B_c (docs/method.md §5.4), so for such a chain P
 *   P(a_m) = (1 − Σ_c m_c)·P(0) + Σ_c m_c·P(B_c),
 * and h's prefix runs on r + 1 maps per image instead of on every design (withReconstruction `through`).
 */
import type { NodeInfo, OnnxModel } from './model';

/** Operators that are affine in their varying input when every other input is a constant. */
const AFFINE = new Set([
  'Identity',
  'Flatten',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Transpose',
  'GlobalAveragePool',
  'AveragePool',
  'ReduceMean',
  'ReduceSum',
  'Pad',
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'BatchNormalization',
  'Add',
  'Sub',
  'Mul',
  'Div',
]);

/** Where the varying tensor must sit: the data input of convolutions and poolings, the numerator of Div. */
const FIRST_INPUT_ONLY = new Set([
  'Conv',
  'ConvTranspose',
  'Div',
  'BatchNormalization',
  'Pad',
  'Flatten',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'ReduceMean',
  'ReduceSum',
]);

export interface AffinePrefix {
  /** The prefix's nodes, in graph order. */
  nodes: NodeInfo[];
  /** The tensor at its end (the last node's output). */
  output: string;
}

/** Whether the node computes an affine function of `x` alone (every other input constant). */
function isAffineIn(node: NodeInfo, x: string, constants: Set<string>): boolean {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return false;
  if (!AFFINE.has(node.opType) || node.outerInputs.length > 0 || node.outputs.length !== 1) return false;
  // Training-mode batch norm uses the batch's own statistics.
  if (node.opType === 'BatchNormalization' && node.attributeNames.includes('training_mode')) return false;
  const at = node.inputs.filter((i) => i === x).length;
  if (at !== 1) return false;
  if (FIRST_INPUT_ONLY.has(node.opType) && node.inputs[0] !== x) return false;
  return node.inputs.every((i) => i === x || i === '' || constants.has(i));
}

/**
 * The affine chain at the start of `model` from its only input, or null when its first node is not
 * affine. The chain stops before a node that is not affine, at a tensor read by more than one node,
 * and at a graph output.
 */
export function affinePrefix(model: OnnxModel): AffinePrefix | null {
  if (model.inputs.length !== 1) return null;
  const constants = new Set(model.initializers.map((i) => i.name));
  for (const n of model.nodes) if (n.opType === 'Constant' && n.inputs.length === 0) n.outputs.forEach((o) => constants.add(o));
  const outputs = new Set(model.outputs.map((o) => o.name));
  const nodes: NodeInfo[] = [];
  let x = model.inputs[0].name;
  for (;;) {
    if (nodes.length > 0 && outputs.has(x)) break;
    const readers = model.nodes.filter((n) => n.inputs.includes(x) || n.outerInputs.includes(x));
    if (readers.length !== 1 || !isAffineIn(readers[0], x, constants)) break;
    nodes.push(readers[0]);
    x = readers[0].outputs[0];
  }
  return nodes.length > 0 ? { nodes, output: x } : null;
}

/**
 * The layers a concept can be refined at: usable layers (non-negative, clean cut) that the parent's
 * layer is computed from, and the default among them (docs/method.md §8).
 */
import { CraftError } from '../errors';
import { upstream, type LayerCandidate, type ModelInfo } from '../onnx/inspect';
import { latentSize } from '../stages/activations';

export interface RefineLayers {
  /** Usable layers before the parent's, in graph order. */
  layers: LayerCandidate[];
  /** The default: the last of them whose latent grid is finer than the parent's (else the last spatial one). */
  defaultLayer?: string;
  parentLayer: string;
}

/** Latent cells of a layer's per-item shape (1 for a vector). */
function cells(shape: number[], layout: 'NCHW' | 'NHWC'): number {
  const [h, w] = latentSize(shape, layout);
  return h * w;
}

/**
 * The layers earlier than `parentLayer` (it depends on them) that CRAFT can split at, and the default:
 * the last one with more latent cells than the parent's, i.e. the end of the previous resolution stage
 * (a padding of that map aside).
 * Late layers collapse a class's activations together, which is the paper's reason to go earlier; one
 * resolution stage back separates more while the crops are still described by the same kind of parts.
 */
export function refineLayers(info: ModelInfo, candidates: LayerCandidate[], parentLayer: string, parentShape: number[]): RefineLayers {
  const before = upstream(info.model, [parentLayer]);
  before.delete(parentLayer);
  const layers = candidates.filter((c) => before.has(c.name) && c.nonNegative && c.cleanCut);
  // A Pad's output is the map before it with a zero border (MobileNetV2's block_13_pad): never the default.
  const spatial = layers.filter((c) => c.shape.length === 3 && cells(c.shape, info.layout) > 1 && c.op !== 'Pad');
  const parentCells = cells(parentShape, info.layout);
  const finer = spatial.filter((c) => cells(c.shape, info.layout) > parentCells);
  return { layers, defaultLayer: (finer.length ? finer : spatial).at(-1)?.name, parentLayer };
}

/** "a [64×14×14], b [32×14×14] (and 3 earlier)": the layers that work, latest first, for messages. */
function layersText(layers: LayerCandidate[]): string {
  const shown = layers
    .slice(-6)
    .reverse()
    .map((c) => `${c.name} [${c.shape.join('×')}]`);
  return `${shown.join(', ')}${layers.length > 6 ? ` (and ${layers.length - 6} earlier)` : ''}`;
}

/** Checks a layer the user chose against the choices; returns it. */
export function checkRefineLayer(layer: string, choice: RefineLayers, info: ModelInfo): string {
  const ok = choice.layers.find((c) => c.name === layer);
  if (ok) return layer;
  const works = choice.layers.length
    ? `Layers before ${choice.parentLayer} that work: ${layersText(choice.layers)}.`
    : `No layer before ${choice.parentLayer} is usable (non-negative on the crops, no skip connection crossing it).`;
  const produced = info.model.nodes.some((n) => n.outputs.includes(layer));
  if (!produced) throw new CraftError('usage', `The model has no tensor named ${JSON.stringify(layer)}.`, works);
  if (layer === choice.parentLayer) {
    throw new CraftError('usage', `${layer} is the layer the run's concepts were found at; sub-concepts are looked for at an earlier layer.`, works);
  }
  if (!upstream(info.model, [choice.parentLayer]).has(layer)) {
    throw new CraftError(
      'usage',
      `${layer} is not earlier than ${choice.parentLayer}, the layer of the run's concepts: that layer is not computed from it.`,
      works,
    );
  }
  throw new CraftError(
    'model',
    `${layer} is earlier than ${choice.parentLayer} but cannot be used: it is not a non-negative 4-D feature map on the crops, or a skip connection crosses it.`,
    works,
  );
}

import { makePreprocess } from './images/preprocess';
import { listImages } from './images/list';
import { describeModel, inputSize, probeLayers, defaultLayer, type LayerCandidate } from './onnx/inspect';
import { SessionFactory } from './onnx/sessions';
import { probeBatch } from './stages/model';
import { effectiveBatch } from './run';
import type { ProviderRequest } from '../protocol';

export interface LayerListing {
  layers: LayerCandidate[];
  defaultLayer?: string;
  /** What the probe batch was made of. */
  probe: string;
  provider: string;
}

/**
 * The candidate split tensors of a model (4-D float maps, found by one probe run), with the default
 * choice. Non-negativity is judged on the probe: real images when a folder is given, else a smooth
 * synthetic pattern in [0, 1].
 */
export async function listLayers(args: {
  model: string;
  size?: [number, number];
  images?: string;
  preset?: string;
  provider?: ProviderRequest;
}): Promise<LayerListing> {
  const info = describeModel(args.model);
  const size = inputSize(info, args.size);
  const pre = makePreprocess(args.preset ?? '[0,1]', size, info.layout);
  const factory = await SessionFactory.open(args.provider ?? 'cpu');
  // Two probe images, unless one already fills a forward batch (large inputs).
  const batch = effectiveBatch(2, 3 * size[0] * size[1], info.fixedBatch);
  let probe: { data: Float32Array; dims: number[] };
  let description: string;
  if (args.images) {
    const files = await listImages(args.images);
    const p = await probeBatch(files, pre, undefined, batch);
    probe = p;
    description = `${p.images} image(s) from ${args.images}`;
  } else {
    const [H, W] = size;
    const data = new Float32Array(batch * 3 * H * W);
    for (let k = 0; k < data.length; k++) data[k] = 0.5 + 0.5 * Math.sin(k * 0.37) * Math.cos(k * 0.011);
    probe = { data, dims: info.layout === 'NCHW' ? [batch, 3, H, W] : [batch, H, W, 3] };
    description = 'a synthetic pattern in [0, 1] (pass --images DIR to probe real images)';
  }
  const layers = await probeLayers(info, factory, probe);
  return { layers, defaultLayer: defaultLayer(info, layers), probe: description, provider: factory.provider };
}

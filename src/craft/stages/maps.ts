/**
 * The 'maps' stage: each image's concept attribution maps (one coloured overlay per concept, from its
 * latent coefficients) and each concept's mean coefficient per image ("presence").
 */
import { conceptColor } from '../images/colors';
import { throwIfCancelled } from '../errors';
import { encodePng } from '../images/png';
import { attributionMap, colourMap, mapSize, percentile, rampTable } from '../images/heatmap';
import type { Matrix } from '../math/matrix';
import { Pending } from '../pending';
import type { Run } from '../run';
import type { Model } from './model';
import type { Coefficients } from './transform';

export interface Maps {
  /** Each image's map strip (relative to the bundle); undefined for vector layers, which have no map. */
  files?: string[];
  /** presence[i][c]: concept c's mean coefficient over image i's latent positions. */
  presence: number[][];
}

export async function mapsStage(run: Run, m: Model, coefficients: Coefficients): Promise<Maps> {
  run.stage('maps');
  const { U, images } = coefficients;
  const r = U.cols;
  if (!m.spatial) return { presence: Array.from({ length: images }, (_, i) => Array.from(U.data.subarray(i * r, (i + 1) * r))) };
  const { maps, presence } = await writeMaps({
    Uimg: U, images, latent: coefficients.latent, size: m.preprocess.size, percentile: run.options.mapPercentile,
    write: run.write, signal: run.signal, onProgress: (d, t) => run.progress('maps', d, t, 'images'),
  });
  return { files: maps, presence };
}

/**
 * Concept attribution maps for every image: the coefficients of each latent position (the transform of
 * the full image's activations), thresholded at the dataset-wide percentile of that concept, upsampled
 * (to the model input size, capped by mapSize) and coloured (torch notebook `concept_attribution_maps`). Also returns each
 * image's mean coefficient per concept ("presence"). Each image's r maps form one vertical strip PNG.
 */
export async function writeMaps(args: {
  Uimg: Matrix;
  images: number;
  latent: [number, number];
  size: [number, number];
  percentile: number;
  write: (rel: string, png: Buffer) => Promise<void>;
  onProgress: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<{ maps: string[]; presence: number[][] }> {
  const { Uimg } = args;
  const r = Uimg.cols;
  const [h, w] = args.latent;
  const hw = h * w;
  const [H, W] = mapSize(args.latent, args.size);
  const thresholds: number[] = [];
  for (let c = 0; c < r; c++) {
    const column = new Float64Array(Uimg.rows);
    for (let k = 0; k < Uimg.rows; k++) column[k] = Uimg.data[k * r + c];
    thresholds.push(percentile(column, args.percentile));
  }
  const tables = Array.from({ length: r }, (_, c) => rampTable(conceptColor(c)));
  const maps: string[] = [];
  const presence: number[][] = [];
  const tile = 4 * H * W;
  const pending = new Pending();
  try {
    for (let i = 0; i < args.images; i++) {
      throwIfCancelled(args.signal);
      const means: number[] = [];
      const strip = new Uint8Array(r * tile);
      for (let c = 0; c < r; c++) {
        const heat = new Float64Array(hw);
        let sum = 0;
        for (let k = 0; k < hw; k++) {
          heat[k] = Uimg.data[(i * hw + k) * r + c];
          sum += heat[k];
        }
        means.push(sum / hw);
        strip.set(colourMap(attributionMap(heat, h, w, thresholds[c], H, W), tables[c]), c * tile);
      }
      // One file per image (not per concept): thousands of tiny files cost more than the maps themselves.
      const file = `maps/${i}.png`;
      await pending.add(encodePng(strip, W, H * r, 4).then((png) => args.write(file, png)));
      maps.push(file);
      presence.push(means);
      args.onProgress(i + 1, args.images);
    }
    await pending.drain();
  } finally {
    await pending.settle();
  }
  return { maps, presence };
}

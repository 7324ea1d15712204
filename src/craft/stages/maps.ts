/**
 * The 'maps' stage: where each concept lies in each image, at both of its scales (docs/method.md §6):
 * image-scale attribution maps (from the latent coefficients, as the reference notebooks draw them)
 * and crop-scale maps (each crop's coefficient painted over its patch); each concept's top image
 * regions beside its top crops, and how well the two scales agree; each concept's mean coefficient
 * per image ("presence").
 */
import { writePatches, type Patch } from '../bundle/pictures';
import { throwIfCancelled } from '../errors';
import { conceptColor } from '../images/colors';
import { attributionMap, colourMap, mapSize, percentile, rampTable } from '../images/heatmap';
import { encodePng } from '../images/png';
import type { Matrix } from '../math/matrix';
import { cropScaleMap, scaleAgreement } from '../math/scales';
import { Pending } from '../pending';
import type { Run } from '../run';
import type { Model } from './model';
import type { Coefficients } from './transform';
import type { CropEntry } from '../../protocol';

/** Longest side of a crop-scale map tile (pixels). */
const CROP_MAP_SIDE = 56;

export interface Maps {
  /** Each image's image-scale map strip (relative to the bundle); undefined for vector layers. */
  files?: string[];
  /** Each image's crop-scale map strip. */
  cropFiles: string[];
  /** presence[i][c]: concept c's mean coefficient over image i's latent positions. */
  presence: number[][];
  /** Each concept's top image regions (undefined for vector layers: one cell per image). */
  regions?: CropEntry[][];
  /** Per concept: rank correlation of crop-scale and image-scale coefficients over all crops. */
  scaleAgreement: number[];
}

/**
 * One kind of map: the heat of concept c on image i (on an h×w grid), the per-concept thresholds, and
 * the size of its tiles in the PNG.
 */
interface MapKind {
  grid: [number, number];
  tile: [number, number];
  thresholds: number[];
  heat(image: number, concept: number): Float64Array;
  file(image: number): string;
}

export async function mapsStage(run: Run, m: Model, coefficients: Coefficients, cropU: Matrix, top: number): Promise<Maps> {
  run.stage('maps');
  const { U, images, latent } = coefficients;
  const r = U.cols;
  const size = m.preprocess.size;
  const hw = latent[0] * latent[1];
  const q = run.options.mapPercentile;
  const presence = Array.from({ length: images }, (_, i) =>
    Array.from({ length: r }, (_, c) => {
      let sum = 0;
      for (let k = 0; k < hw; k++) sum += U.data[(i * hw + k) * r + c];
      return sum / hw;
    }),
  );
  const agreement = scaleAgreement({ U: cropU.data, Uimg: U.data, r, images, grid: m.grid, latent, input: size });
  run.log(`Scale agreement (crops vs maps, per concept): ${agreement.map((v) => v.toFixed(2)).join(', ')}.`);

  // Crop-scale maps are painted at their stored size (patch edges stay sharp), at most CROP_MAP_SIDE.
  const scale = Math.min(1, CROP_MAP_SIDE / Math.max(size[0], size[1]));
  const cropGridSize: [number, number] = [Math.max(1, Math.round(size[0] * scale)), Math.max(1, Math.round(size[1] * scale))];
  const perImage = m.grid.perImage;
  const cropKind: MapKind = {
    grid: cropGridSize,
    tile: cropGridSize,
    thresholds: columnPercentiles(cropU, q),
    heat: (i, c) => cropScaleMap((j) => cropU.data[(i * perImage + j) * r + c], m.grid, size, cropGridSize),
    file: (i) => `maps/crops-${i}.png`,
  };
  const kinds = [cropKind];
  if (m.spatial) {
    kinds.unshift({
      grid: latent,
      tile: mapSize(latent, size),
      thresholds: columnPercentiles(U, q),
      heat: (i, c) => Float64Array.from({ length: hw }, (_, k) => U.data[(i * hw + k) * r + c]),
      file: (i) => `maps/${i}.png`,
    });
  }
  await writeMapStrips(run, kinds, images, r);
  const regions = m.spatial ? await writeRegions(run, coefficients, m.grid.patch, size, top) : undefined;
  return {
    files: m.spatial ? Array.from({ length: images }, (_, i) => `maps/${i}.png`) : undefined,
    cropFiles: Array.from({ length: images }, (_, i) => cropKind.file(i)),
    presence,
    regions,
    scaleAgreement: agreement,
  };
}

/** The dataset-wide percentile of each column (concept) of a coefficient matrix. */
function columnPercentiles(M: Matrix, q: number): number[] {
  return Array.from({ length: M.cols }, (_, c) => {
    const column = new Float64Array(M.rows);
    for (let k = 0; k < M.rows; k++) column[k] = M.data[k * M.cols + c];
    return percentile(column, q);
  });
}

/**
 * The reference notebooks' attribution map (craft_pytorch.ipynb `concept_attribution_maps`), for each
 * kind: keep the heat above the concept's dataset-wide percentile, upsample bilinearly (to the input
 * size, capped by mapSize), min/max normalise, colour. One vertical strip PNG of r tiles per image and
 * kind: thousands of tiny files cost more than the maps themselves.
 */
async function writeMapStrips(run: Run, kinds: MapKind[], images: number, r: number): Promise<void> {
  const tables = Array.from({ length: r }, (_, c) => rampTable(conceptColor(c)));
  const pending = new Pending();
  try {
    for (let i = 0; i < images; i++) {
      throwIfCancelled(run.signal);
      for (const kind of kinds) {
        const [h, w] = kind.grid;
        const [H, W] = kind.tile;
        const tile = 4 * H * W;
        const strip = new Uint8Array(r * tile);
        for (let c = 0; c < r; c++) strip.set(colourMap(attributionMap(kind.heat(i, c), h, w, kind.thresholds[c], H, W), tables[c]), c * tile);
        await pending.add(encodePng(strip, W, H * r, 4).then((png) => run.write(kind.file(i), png)));
      }
      run.progress('maps', i + 1, images, 'images');
    }
    await pending.drain();
  } finally {
    await pending.settle();
  }
}

/**
 * Each concept's top image regions: the latent cells with the highest image-scale coefficients, at
 * most one per image, each shown as a square around the cell as large as a crop (so the two rows of a
 * concept card compare), cut from the image as the model saw it.
 */
async function writeRegions(run: Run, coefficients: Coefficients, patch: number, input: [number, number], top: number): Promise<CropEntry[][]> {
  const { U, images, latent } = coefficients;
  const [h, w] = latent;
  const [H, W] = input;
  const hw = h * w;
  const r = U.cols;
  const side = Math.min(H, W, Math.max(patch, Math.ceil((2 * H) / h), Math.ceil((2 * W) / w)));
  const candidates: Patch[][] = [];
  for (let c = 0; c < r; c++) {
    // Each image's best cell, then the images by that coefficient.
    const best = Array.from({ length: images }, (_, i) => {
      let cell = 0;
      for (let k = 1; k < hw; k++) if (U.data[(i * hw + k) * r + c] > U.data[(i * hw + cell) * r + c]) cell = k;
      return { image: i, cell, value: U.data[(i * hw + cell) * r + c] };
    });
    best.sort((a, b) => b.value - a.value || a.image - b.image);
    candidates.push(
      best.slice(0, top * 4).map(({ image, cell, value }): Patch => {
        const cy = ((Math.floor(cell / w) + 0.5) * H) / h;
        const cx = (((cell % w) + 0.5) * W) / w;
        const clamp = (v: number, limit: number) => Math.max(0, Math.min(limit - side, Math.round(v - side / 2)));
        return { image, y: clamp(cy, H), x: clamp(cx, W), size: side, coefficient: value };
      }),
    );
  }
  return writePatches({ candidates, top, prefix: 'regions', width: W, pixels: (i) => run.pixels.read(i), write: run.write, signal: run.signal });
}

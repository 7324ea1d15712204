import { alphaRamp, type Rgb } from './colors';

/** numpy.percentile's default: linear interpolation at rank (n−1)·q/100. Sorts a copy. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const rank = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/**
 * Bilinear resize with half-pixel centres and edge clamping (cv2 INTER_LINEAR / torch
 * align_corners=False, no antialias): src = (dst + 0.5)·in/out − 0.5, clamped below at 0.
 */
export function resizeBilinear(src: Float64Array, h: number, w: number, outH: number, outW: number): Float64Array {
  const out = new Float64Array(outH * outW);
  const sy = h / outH;
  const sx = w / outW;
  for (let i = 0; i < outH; i++) {
    const fy = Math.max(0, (i + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let j = 0; j < outW; j++) {
      const fx = Math.max(0, (j + 0.5) * sx - 0.5);
      const x0 = Math.min(w - 1, Math.floor(fx));
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fx - x0;
      const top = src[y0 * w + x0] * (1 - tx) + src[y0 * w + x1] * tx;
      const bottom = src[y1 * w + x0] * (1 - tx) + src[y1 * w + x1] * tx;
      out[i * outW + j] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/**
 * The notebooks' concept attribution map (craft_pytorch.ipynb `concept_attribution_maps`): keep the
 * coefficients above the dataset-wide threshold σ (a percentile of that concept over all images),
 * upsample to the image size, min/max normalise. Returns values in [0, 1] (all 0 when nothing passes).
 */
export function attributionMap(heat: Float64Array, h: number, w: number, threshold: number, outH: number, outW: number): Float64Array {
  const kept = heat.map((v) => (v > threshold ? v : 0));
  const up = h === outH && w === outW ? kept : resizeBilinear(kept, h, w, outH, outW);
  let min = Infinity;
  let max = -Infinity;
  for (const v of up) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  if (!(span > 0)) return up.fill(0);
  for (let k = 0; k < up.length; k++) up[k] = (up[k] - min) / span;
  return up;
}

/** A concept's alpha ramp sampled at 256 levels as RGBA bytes (the reference samples its colormap at 256 levels too). */
export function rampTable(color: Rgb): Uint8Array {
  const ramp = alphaRamp(color);
  const lut = new Uint8Array(256 * 4);
  for (let k = 0; k < 256; k++) lut.set(ramp(k / 255), k * 4);
  return lut;
}

/** Colours a [0, 1] map with a rampTable: RGBA bytes, transparent where the map is 0. */
export function colourMap(values: Float64Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    const level = (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255)) * 4;
    const o = k * 4;
    out[o] = table[level];
    out[o + 1] = table[level + 1];
    out[o + 2] = table[level + 2];
    out[o + 3] = table[level + 3];
  }
  return out;
}

/**
 * Size at which maps are stored: the model input size, but at most 8 pixels per latent position.
 * A map is a bilinear upsampling of an h×w grid, so a larger file adds no information; the viewer
 * scales it to the image with smooth interpolation.
 */
export function mapSize(latent: [number, number], input: [number, number]): [number, number] {
  return [Math.min(input[0], 8 * latent[0]), Math.min(input[1], 8 * latent[1])];
}

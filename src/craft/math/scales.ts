/**
 * The two scales of a concept (docs/method.md §6.1). The NMF and the top crops live at crop scale (a
 * P-px patch resized to the model input, one row of U per crop); the transform, the maps and the
 * importance live at image scale (the whole image at the model input, one row per latent cell). These
 * functions relate the two: which cells a crop covers, how well a concept's crop coefficients agree
 * with its image-scale ones, and each crop's coefficient painted back onto its image.
 */
import type { CropGrid } from '../images/crops';

/**
 * The latent cells (row-major indices into the h×w grid) whose centres lie inside a crop at (y, x) of
 * side `size` on an H×W input; when none does (a crop smaller than a cell), the cell under its centre.
 */
export function cellsCovered(y: number, x: number, size: number, latent: [number, number], input: [number, number]): number[] {
  const [h, w] = latent;
  const [H, W] = input;
  const cells: number[] = [];
  for (let a = 0; a < h; a++) {
    const cy = ((a + 0.5) * H) / h;
    if (cy < y || cy >= y + size) continue;
    for (let b = 0; b < w; b++) {
      const cx = ((b + 0.5) * W) / w;
      if (cx >= x && cx < x + size) cells.push(a * w + b);
    }
  }
  if (cells.length === 0) {
    const a = Math.min(h - 1, Math.floor(((y + size / 2) * h) / H));
    const b = Math.min(w - 1, Math.floor(((x + size / 2) * w) / W));
    cells.push(a * w + b);
  }
  return cells;
}

/** Ranks 1…n with ties given their average rank (as scipy.stats.rankdata's default). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman's rank correlation: Pearson's on average ranks. 0 when either side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const n = ra.length;
  const mean = (n + 1) / 2;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - mean;
    const y = rb[i] - mean;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

export interface ScaleInputs {
  /** Crop coefficients, (image, crop) × r, row-major. */
  U: Float64Array;
  /** Image-scale coefficients, (image, cell) × r, row-major. */
  Uimg: Float64Array;
  r: number;
  images: number;
  grid: CropGrid;
  latent: [number, number];
  input: [number, number];
}

/**
 * Per concept, over every crop of every image: the rank correlation between the crop's coefficient
 * and the image-scale coefficient averaged over the cells the crop covers. Near 1: the crops that show
 * a concept are where its map lies; near 0 or below: the concept looks different at image scale.
 */
export function scaleAgreement(s: ScaleInputs): number[] {
  const { r, grid } = s;
  const hw = s.latent[0] * s.latent[1];
  const covered = grid.positions.map((p) => cellsCovered(p.y, p.x, grid.patch, s.latent, s.input));
  const n = s.images * grid.perImage;
  const out: number[] = [];
  for (let c = 0; c < r; c++) {
    const crop = new Float64Array(n);
    const image = new Float64Array(n);
    for (let i = 0; i < s.images; i++) {
      for (let j = 0; j < grid.perImage; j++) {
        const k = i * grid.perImage + j;
        crop[k] = s.U[k * r + c];
        let sum = 0;
        for (const cell of covered[j]) sum += s.Uimg[(i * hw + cell) * r + c];
        image[k] = sum / covered[j].length;
      }
    }
    out.push(spearman(crop, image));
  }
  return out;
}

/**
 * One image's crop-scale map of one concept on an outH×outW grid over the input: each crop's
 * coefficient painted over its patch, overlapping patches averaged; pixels no crop covers are 0.
 */
export function cropScaleMap(coefficients: (crop: number) => number, grid: CropGrid, input: [number, number], out: [number, number]): Float64Array {
  const [H, W] = input;
  const [oh, ow] = out;
  const sum = new Float64Array(oh * ow);
  const count = new Float64Array(oh * ow);
  grid.positions.forEach((p, j) => {
    const v = coefficients(j);
    // Output pixels whose centres fall inside the patch.
    const y0 = Math.ceil((p.y * oh) / H - 0.5);
    const y1 = Math.ceil(((p.y + grid.patch) * oh) / H - 0.5);
    const x0 = Math.ceil((p.x * ow) / W - 0.5);
    const x1 = Math.ceil(((p.x + grid.patch) * ow) / W - 0.5);
    for (let a = Math.max(0, y0); a < Math.min(oh, y1); a++) {
      for (let b = Math.max(0, x0); b < Math.min(ow, x1); b++) {
        sum[a * ow + b] += v;
        count[a * ow + b]++;
      }
    }
  });
  for (let k = 0; k < sum.length; k++) sum[k] = count[k] > 0 ? sum[k] / count[k] : 0;
  return sum;
}

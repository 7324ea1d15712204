import { CraftError } from '../errors';
import type { PreprocessConfig } from '../../protocol';

/**
 * Preprocessing presets, named as users see them. Values follow the usual training recipes:
 * torchvision ToTensor ([0,1]), ToTensor + ImageNet Normalize, and the [−1, 1] scaling of
 * Keras/TF "inception"-style models.
 */
export const PREPROCESS_PRESETS = {
  '[0,1]': { range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] },
  imagenet: { range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  '[-1,1]': { range: [-1, 1], mean: [0, 0, 0], std: [1, 1, 1] },
} as const satisfies Record<string, Pick<PreprocessConfig, 'range' | 'mean' | 'std'>>;

export type PresetName = keyof typeof PREPROCESS_PRESETS;
export const PRESET_NAMES = Object.keys(PREPROCESS_PRESETS) as PresetName[];

export const KERNELS: readonly PreprocessConfig['resize'][] = ['bilinear', 'bicubic', 'nearest', 'lanczos3'];
export const LAYOUTS: readonly PreprocessConfig['layout'][] = ['NCHW', 'NHWC'];
export const ORDERS: readonly PreprocessConfig['channelOrder'][] = ['RGB', 'BGR'];
const FIELDS = ['size', 'layout', 'channelOrder', 'range', 'mean', 'std', 'resize'] as const;
/** Model inputs larger than this per side are almost certainly a mistake (and would not fit memory). */
export const MAX_INPUT_SIDE = 8192;

/** Accepts the preset names with spaces or other case ("[0, 1]", "ImageNet"). */
export function presetName(name: string): PresetName | undefined {
  const key = name.replace(/\s+/g, '').toLowerCase();
  return PRESET_NAMES.find((p) => p === key);
}

/**
 * A full PreprocessConfig from a preset, the model input size [h, w] and layout, plus overrides
 * (e.g. channelOrder 'BGR' or another resize kernel). Defaults: RGB, bilinear. The result is
 * validated, so bad overrides throw a CraftError naming the field.
 */
export function makePreprocess(preset: string, size: [number, number], layout: 'NCHW' | 'NHWC', overrides: Partial<PreprocessConfig> = {}): PreprocessConfig {
  const name = presetName(preset);
  if (!name) {
    throw new CraftError(
      'usage',
      `Unknown preprocessing preset "${preset}".`,
      `Use one of ${PRESET_NAMES.map((p) => `"${p}"`).join(', ')}, or give range/mean/std explicitly.`,
    );
  }
  const p = PREPROCESS_PRESETS[name];
  const config: PreprocessConfig = {
    size: [size[0], size[1]],
    layout,
    channelOrder: 'RGB',
    range: [p.range[0], p.range[1]],
    mean: [p.mean[0], p.mean[1], p.mean[2]],
    std: [p.std[0], p.std[1], p.std[2]],
    resize: 'bilinear',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  return validatePreprocess(config, `preset "${name}"`);
}

function fail(where: string, field: string, message: string): never {
  throw new CraftError(
    'input',
    `${where}: preprocess.${field} ${message}`,
    'Expected: size [height, width], layout "NCHW"|"NHWC", channelOrder "RGB"|"BGR", range [lo, hi], ' +
      'mean [m0, m1, m2], std [s0, s1, s2] (> 0), resize "bilinear"|"bicubic"|"nearest"|"lanczos3".',
  );
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
}

function numbers(where: string, field: string, v: unknown, n: number): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    fail(where, field, `must be an array of ${n} finite numbers, got ${describe(v)}.`);
  }
  return v as number[];
}

function oneOf<T extends string>(where: string, field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    fail(where, field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(v)}.`);
  }
  return v as T;
}

/**
 * Checks a PreprocessConfig read from JSON (workspace config, results.json) and returns a clean
 * copy. `where` names the source (e.g. the file path) and starts every error message; unknown
 * fields are refused so that a misspelt key is not silently ignored.
 */
export function validatePreprocess(value: unknown, where: string): PreprocessConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CraftError('input', `${where}: preprocess must be an object with fields ${FIELDS.join(', ')}; got ${describe(value)}.`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      fail(where, key, `is not a known field (expected ${FIELDS.join(', ')}).`);
    }
  }
  for (const key of FIELDS) if (!(key in o)) fail(where, key, 'is missing.');

  const size = numbers(where, 'size', o.size, 2);
  if (!size.every((s) => Number.isInteger(s) && s >= 1 && s <= MAX_INPUT_SIDE)) {
    fail(where, 'size', `must be [height, width], whole numbers from 1 to ${MAX_INPUT_SIDE}, got ${describe(o.size)}.`);
  }
  const range = numbers(where, 'range', o.range, 2);
  if (range[0] === range[1]) fail(where, 'range', `must span an interval (range[0] ≠ range[1]), got ${describe(o.range)}.`);
  const mean = numbers(where, 'mean', o.mean, 3);
  const std = numbers(where, 'std', o.std, 3);
  if (!std.every((s) => s > 0)) fail(where, 'std', `must hold 3 positive numbers (it divides), got ${describe(o.std)}.`);

  return {
    size: [size[0], size[1]],
    layout: oneOf(where, 'layout', o.layout, LAYOUTS),
    channelOrder: oneOf(where, 'channelOrder', o.channelOrder, ORDERS),
    range: [range[0], range[1]],
    mean: [mean[0], mean[1], mean[2]],
    std: [std[0], std[1], std[2]],
    resize: oneOf(where, 'resize', o.resize, KERNELS),
  };
}

/**
 * Model input for one image from its resized RGB pixels (h·w·3, row-major, interleaved):
 * x = range[0] + (v/255)·(range[1] − range[0]), then (x − mean[c]) / std[c], with c counted in the
 * configured channel order, laid out as 3×h×w (NCHW) or h×w×3 (NHWC). Written into `out` at
 * `offset` when given (e.g. a batch buffer), else into a new array.
 */
export function preprocessRgb(rgb: Uint8Array, config: PreprocessConfig, out?: Float32Array, offset = 0): Float32Array {
  const [h, w] = config.size;
  const n = h * w;
  if (rgb.length !== n * 3) {
    throw new RangeError(`preprocessRgb: ${rgb.length} bytes for a ${h}×${w} RGB image (expected ${n * 3})`);
  }
  const target = out ?? new Float32Array(n * 3);
  if (offset < 0 || offset + n * 3 > target.length) throw new RangeError(`preprocessRgb: no room for ${n * 3} values at ${offset}`);
  // One lookup table per input channel (R, G, B): every 8-bit value maps to one float, computed in
  // float64; `plane[k]` is where input channel k goes in the configured channel order.
  const [r0, r1] = config.range;
  const bgr = config.channelOrder === 'BGR';
  const luts: Float32Array[] = [];
  const plane: number[] = [];
  for (let k = 0; k < 3; k++) {
    const c = bgr ? 2 - k : k;
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (r0 + (v / 255) * (r1 - r0) - config.mean[c]) / config.std[c];
    luts.push(lut);
    plane.push(c);
  }
  const [lr, lg, lb] = luts;
  // One pass over the pixels (reading them once is what makes this fast), three output streams.
  if (config.layout === 'NCHW') {
    const pr = offset + plane[0] * n;
    const pg = offset + plane[1] * n;
    const pb = offset + plane[2] * n;
    for (let i = 0, s = 0; i < n; i++, s += 3) {
      target[pr + i] = lr[rgb[s]];
      target[pg + i] = lg[rgb[s + 1]];
      target[pb + i] = lb[rgb[s + 2]];
    }
  } else {
    const [qr, qg, qb] = plane;
    for (let i = 0, s = offset; i < n * 3; i += 3, s += 3) {
      target[s + qr] = lr[rgb[i]];
      target[s + qg] = lg[rgb[i + 1]];
      target[s + qb] = lb[rgb[i + 2]];
    }
  }
  return target;
}

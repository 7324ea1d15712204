/**
 * Concept colours. The first 16 follow xplique's `Sensitivity` defaults (the 5 notebook colours,
 * (55,35,235), then matplotlib's tab10); beyond 16 (where xplique raises) we continue with evenly
 * spread hues so any number of concepts gets a colour.
 */
const BASE: [number, number, number][] = [
  [54, 197, 240], [210, 40, 95], [236, 178, 46], [15, 157, 88], [84, 25, 85], [55, 35, 235],
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

export type Rgb = [number, number, number];

export function conceptColor(index: number): Rgb {
  if (index < BASE.length) return BASE[index];
  const hue = ((index - BASE.length) * 137.508) % 360; // golden angle keeps neighbours apart
  return hlsToRgb(hue / 360, 0.5, 0.65).map((v) => Math.round(v * 255)) as Rgb;
}

export function toHex([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}

/**
 * The reference `get_alpha_cmap(c)`: a ramp from c to c with HLS saturation forced to 1, alpha from
 * 0 to 0.85. Returns RGBA (0..255) for a value v in [0, 1].
 */
export function alphaRamp(color: Rgb): (v: number) => [number, number, number, number] {
  const base = color.map((x) => x / 255) as Rgb;
  const [h, l] = rgbToHls(base);
  const saturated = hlsToRgb(h, l, 1).map((x) => Math.min(1, Math.max(0, x)));
  return (v) => {
    const t = Math.min(1, Math.max(0, v));
    return [
      Math.round(255 * (base[0] + (saturated[0] - base[0]) * t)),
      Math.round(255 * (base[1] + (saturated[1] - base[1]) * t)),
      Math.round(255 * (base[2] + (saturated[2] - base[2]) * t)),
      Math.round(255 * 0.85 * t),
    ];
  };
}

/** Python colorsys.rgb_to_hls (all components in [0, 1]). */
function rgbToHls([r, g, b]: Rgb): Rgb {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, l, 0];
  const d = max - min;
  const s = l <= 0.5 ? d / (max + min) : d / (2 - max - min);
  const rc = (max - r) / d;
  const gc = (max - g) / d;
  const bc = (max - b) / d;
  let h = r === max ? bc - gc : g === max ? 2 + rc - bc : 4 + gc - rc;
  h = (((h / 6) % 1) + 1) % 1;
  return [h, l, s];
}

/** Python colorsys.hls_to_rgb. */
function hlsToRgb(h: number, l: number, s: number): Rgb {
  if (s === 0) return [l, l, l];
  const m2 = l <= 0.5 ? l * (1 + s) : l + s - l * s;
  const m1 = 2 * l - m2;
  const v = (hue: number) => {
    hue = ((hue % 1) + 1) % 1;
    if (hue < 1 / 6) return m1 + (m2 - m1) * hue * 6;
    if (hue < 0.5) return m2;
    if (hue < 2 / 3) return m1 + (m2 - m1) * (2 / 3 - hue) * 6;
    return m1;
  };
  return [v(h + 1 / 3), v(h), v(h - 1 / 3)];
}

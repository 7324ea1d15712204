/**
 * Concept colours. Each is a saturated hue (HLS saturation 0.85) whose lightness is chosen so that its
 * relative luminance is 0.2: that keeps a contrast of about 4:1 against white and 3.9:1 against VS
 * Code's darkest panel backgrounds (#1f1f1f, #000000), so a concept's colour stays visible in light,
 * dark and high-contrast themes (WCAG 1.4.11 asks 3:1). The reference notebooks' colours (e.g.
 * (54, 197, 240), 2:1 on white) do not. The 20 hues were picked greedily, each the one farthest (CIE76
 * ΔE) from those before it at this luminance, so the first ten differ by ΔE ≥ 27; beyond 20 the golden
 * angle keeps new hues apart.
 */
const HUES = [200, 10, 120, 295, 45, 330, 235, 170, 75, 315, 25, 350, 270, 150, 210, 190, 340, 35, 305, 90];
/** Relative luminance every concept colour has (WCAG 2 definition). */
export const CONCEPT_LUMINANCE = 0.2;

export type Rgb = [number, number, number];

export function conceptColor(index: number): Rgb {
  const hue = index < HUES.length ? HUES[index] : (HUES.at(-1)! + (index - HUES.length + 1) * 137.508) % 360;
  // Bisection on the lightness: luminance grows with it at fixed hue and saturation.
  let lo = 0;
  let hi = 1;
  for (let k = 0; k < 40; k++) {
    const mid = (lo + hi) / 2;
    if (relativeLuminance(toBytes(hlsToRgb(hue / 360, mid, 0.85))) < CONCEPT_LUMINANCE) lo = mid;
    else hi = mid;
  }
  return toBytes(hlsToRgb(hue / 360, (lo + hi) / 2, 0.85));
}

const toBytes = (rgb: Rgb): Rgb => rgb.map((v) => Math.round(v * 255)) as Rgb;

/** WCAG 2 relative luminance of an sRGB colour (0..255 components). */
export function relativeLuminance(rgb: Rgb): number {
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [la, lb] = [relativeLuminance(a), relativeLuminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
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

/** Concept colours stay visible on every VS Code theme's panel background (WCAG 1.4.11: 3:1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conceptColor, contrastRatio, toHex, type Rgb } from '../../src/craft/images/colors';

// Editor (= webview) backgrounds of VS Code's default themes: Light Modern, Dark Modern, Dark+ (old
// default), High Contrast (dark) and High Contrast Light.
const BACKGROUNDS: Record<string, Rgb> = {
  'Light Modern': [255, 255, 255],
  'Dark Modern': [31, 31, 31],
  'Dark+': [30, 30, 30],
  'High Contrast': [0, 0, 0],
  'High Contrast Light': [255, 255, 255],
};

test('the first 64 concept colours have at least 3:1 contrast against every theme background', () => {
  for (let c = 0; c < 64; c++) {
    for (const [theme, bg] of Object.entries(BACKGROUNDS)) {
      const ratio = contrastRatio(conceptColor(c), bg);
      assert.ok(ratio >= 3, `concept ${c} ${toHex(conceptColor(c))} on ${theme}: ${ratio.toFixed(2)}:1`);
    }
  }
});

test('contrastRatio follows WCAG: 21 for black on white, 1 for equal colours', () => {
  assert.ok(Math.abs(contrastRatio([0, 0, 0], [255, 255, 255]) - 21) < 1e-9);
  assert.equal(contrastRatio([12, 34, 56], [12, 34, 56]), 1);
});

/** CIE L*a*b* (D65) of an sRGB colour, for colour differences. */
function lab(rgb: Rgb): [number, number, number] {
  const [r, g, b] = rgb.map((c) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
  const xyz = [(0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883];
  const [fx, fy, fz] = xyz.map((t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116));
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

test('the first ten concept colours (the default r) are clearly different from one another (CIE76 ΔE ≥ 25)', () => {
  for (let c = 0; c < 10; c++) {
    for (let d = c + 1; d < 10; d++) {
      const [a, b] = [lab(conceptColor(c)), lab(conceptColor(d))];
      const dE = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
      assert.ok(dE >= 25, `${c} ${toHex(conceptColor(c))} vs ${d} ${toHex(conceptColor(d))}: ΔE ${dE.toFixed(1)}`);
    }
  }
});

/** Number and text formatting shared by the page's sections. */

/** A share in [0, 1] as a percentage that never rounds a non-zero value to "0%". */
export function percent(share: number): string {
  if (!Number.isFinite(share) || share <= 0) return '0%';
  const p = share * 100;
  if (p < 0.1) return '<0.1%';
  return `${p.toFixed(1)}%`;
}

/** A value with 3 significant digits, exponent form when tiny. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(2);
  return x.toPrecision(3);
}

export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 0.01) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

/** Last path segment, for '/' and '\' separated paths. */
export function basename(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : p;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

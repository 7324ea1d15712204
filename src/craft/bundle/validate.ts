/**
 * The full shape of a results.json (ResultsBundle in src/protocol.ts), checked field by field when a
 * bundle is read back: a damaged or hand-edited file ends in one CraftError ('input') naming the first
 * bad field and what it holds, never in a TypeError deep inside the report or the results page.
 */
import { CraftError } from '../errors';
import { validatePreprocess } from '../images/preprocess';
import { PROVIDER_REQUESTS, PROVIDERS, RESULTS_VERSION, type ResultsBundle } from '../../protocol';

const HINT = 'The file was changed or damaged: re-run the explanation (or restore results.json from a copy).';

type Json = Record<string, unknown>;

/** `value` as JSON text for a message, cut short. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Returns `value` as a ResultsBundle when it has the full shape; throws CraftError('input') otherwise. */
export function validateBundle(value: unknown, file: string): ResultsBundle {
  /** `got` is the value found, shown as JSON; `length` describes an array by its length instead. */
  const fail = (at: string, expected: string, got: unknown, length?: number): never => {
    throw new CraftError('input', `${file}: ${at} must be ${expected}, got ${length === undefined ? shown(got) : `an array of ${length}`}.`, HINT);
  };
  const obj = (v: unknown, at: string): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : fail(at, 'an object', v));
  const str = (v: unknown, at: string): string => (typeof v === 'string' ? v : fail(at, 'a string', v));
  const bool = (v: unknown, at: string): boolean => (typeof v === 'boolean' ? v : fail(at, 'true or false', v));
  // JSON has no NaN or Infinity: a number that is there is finite; "NaN" (a string) is not a number.
  const num = (v: unknown, at: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(at, 'a finite number', v));
  const int = (v: unknown, at: string, min = 0, max = Number.MAX_SAFE_INTEGER): number =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : fail(at, `a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`, v);
  const arr = (v: unknown, at: string, length?: number, why = 'one per concept'): unknown[] => {
    if (!Array.isArray(v)) return fail(at, length === undefined ? 'an array' : `an array of ${length}`, v);
    if (length !== undefined && v.length !== length) return fail(at, `an array of ${length} (${why})`, v, v.length);
    return v;
  };
  const nums = (v: unknown, at: string, length?: number, why?: string): number[] => arr(v, at, length, why).map((x, i) => num(x, `${at}[${i}]`));
  const oneOf = <T extends string>(v: unknown, at: string, allowed: readonly T[]): T =>
    allowed.includes(v as T) ? (v as T) : fail(at, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, v);
  const optional = <T>(v: unknown, check: (v: unknown) => T): T | undefined => (v === undefined ? undefined : check(v));

  const b = obj(value, 'the file');
  if (b.version !== RESULTS_VERSION) {
    throw new CraftError(
      'input',
      `${file} has results version ${shown(b.version)}; this tool reads version ${RESULTS_VERSION}.`,
      'Re-run the explanation with this version.',
    );
  }
  str(b.createdAt, 'createdAt');
  const tool = obj(b.tool, 'tool');
  str(tool.name, 'tool.name');
  str(tool.version, 'tool.version');

  const model = obj(b.model, 'model');
  str(model.path, 'model.path');
  optional(model.hPath, (v) => str(v, 'model.hPath'));
  optional(model.sha256, (v) => str(v, 'model.sha256'));
  optional(model.hSha256, (v) => str(v, 'model.hSha256'));
  str(model.inputName, 'model.inputName');
  arr(model.inputShape, 'model.inputShape').forEach((d, i) => (typeof d === 'string' ? d : int(d, `model.inputShape[${i}]`)));
  str(model.outputName, 'model.outputName');

  const layer = obj(b.layer, 'layer');
  str(layer.name, 'layer.name');
  arr(layer.shape, 'layer.shape').forEach((d, i) => int(d, `layer.shape[${i}]`, 1));
  bool(layer.spatial, 'layer.spatial');

  const cls = obj(b.class, 'class');
  int(cls.index, 'class.index');
  optional(cls.label, (v) => str(v, 'class.label'));
  optional(b.labels, (v) => arr(v, 'labels').forEach((l, i) => str(l, `labels[${i}]`)));
  str(b.datasetRoot, 'datasetRoot');

  const s = obj(b.settings, 'settings');
  const r = int(s.concepts, 'settings.concepts', 1);
  for (const key of ['patchSize', 'stride', 'cropsPerImage', 'batchSize', 'designs'] as const) int(s[key], `settings.${key}`, 1);
  validatePreprocess(s.preprocess, `${file}: settings`);
  const nmfSettings = obj(s.nmf, 'settings.nmf');
  num(nmfSettings.tol, 'settings.nmf.tol');
  int(nmfSettings.maxIter, 'settings.nmf.maxIter', 1);
  num(nmfSettings.alphaW, 'settings.nmf.alphaW');
  num(s.mapPercentile, 'settings.mapPercentile');
  oneOf(s.providerRequested, 'settings.providerRequested', PROVIDER_REQUESTS);
  oneOf(b.provider, 'provider', PROVIDERS);
  optional(b.providerDetails, (v) => {
    const d = obj(v, 'providerDetails');
    str(d.notice, 'providerDetails.notice');
    optional(d.device, (x) => str(x, 'providerDetails.device'));
    arr(d.skipped, 'providerDetails.skipped').forEach((x, i) => {
      const sk = obj(x, `providerDetails.skipped[${i}]`);
      oneOf(sk.provider, `providerDetails.skipped[${i}].provider`, PROVIDERS);
      str(sk.reason, `providerDetails.skipped[${i}].reason`);
    });
    optional(d.nodeShare, (x) => {
      const share = obj(x, 'providerDetails.nodeShare');
      num(share.g, 'providerDetails.nodeShare.g');
      num(share.h, 'providerDetails.nodeShare.h');
    });
  });
  const concepts = arr(b.concepts, 'concepts', r, 'settings.concepts');

  const images = arr(b.images, 'images');
  images.forEach((v, i) => {
    const at = `images[${i}]`;
    const im = obj(v, at);
    str(im.path, `${at}.path`);
    int(im.width, `${at}.width`, 1);
    int(im.height, `${at}.height`, 1);
    str(im.thumbnail, `${at}.thumbnail`);
    nums(im.importances, `${at}.importances`, r);
    nums(im.presence, `${at}.presence`, r);
    optional(im.predicted, (v) => int(v, `${at}.predicted`));
    optional(im.classScore, (v) => num(v, `${at}.classScore`));
    optional(im.classProbability, (v) => num(v, `${at}.classProbability`));
    optional(im.maps, (m) => str(m, `${at}.maps`));
    optional(im.cropMaps, (m) => str(m, `${at}.cropMaps`));
  });
  arr(b.skipped, 'skipped').forEach((v, i) => {
    const sk = obj(v, `skipped[${i}]`);
    str(sk.path, `skipped[${i}].path`);
    str(sk.reason, `skipped[${i}].reason`);
  });

  concepts.forEach((v, c) => {
    const at = `concepts[${c}]`;
    const concept = obj(v, at);
    int(concept.index, `${at}.index`, 0, r - 1);
    if (typeof concept.color !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(concept.color)) fail(`${at}.color`, 'a colour "#rrggbb"', concept.color);
    num(concept.importance, `${at}.importance`);
    num(concept.share, `${at}.share`);
    int(concept.rank, `${at}.rank`, 0, r - 1);
    const patches = (list: unknown, where: string) =>
      arr(list, where).forEach((k, j) => {
        const cat = `${where}[${j}]`;
        const crop = obj(k, cat);
        int(crop.image, `${cat}.image`, 0, images.length - 1);
        int(crop.x, `${cat}.x`);
        int(crop.y, `${cat}.y`);
        int(crop.size, `${cat}.size`, 1);
        num(crop.coefficient, `${cat}.coefficient`);
        str(crop.file, `${cat}.file`);
      });
    patches(concept.crops, `${at}.crops`);
    optional(concept.regions, (v) => patches(v, `${at}.regions`));
    optional(concept.scaleAgreement, (v) => num(v, `${at}.scaleAgreement`));
  });

  const W = arr(b.W, 'W', r);
  const p = arr(W[0], 'W[0]').length;
  if (p < 1) fail('W[0]', 'a non-empty array', W[0]);
  W.forEach((row, c) => {
    if (Array.isArray(row) && row.length !== p) fail(`W[${c}]`, `an array of ${p} like W[0]`, row, row.length);
    nums(row, `W[${c}]`);
  });
  nums(b.importances, 'importances', r);
  const ranking = arr(b.ranking, 'ranking', r).map((v, k) => int(v, `ranking[${k}]`, 0, r - 1));
  if (new Set(ranking).size !== r) fail('ranking', `each concept index 0…${r - 1} once`, b.ranking);

  optional(b.fidelity, (v) => {
    // Curves at k = 0…r concepts removed (deletion) or kept (insertion).
    const curves = (c: Json, at: string) => {
      nums(c.deletion, `${at}.deletion`, r + 1, 'k = 0…r concepts');
      nums(c.insertion, `${at}.insertion`, r + 1, 'k = 0…r concepts');
      num(c.deletionAuc, `${at}.deletionAuc`);
      num(c.insertionAuc, `${at}.insertionAuc`);
    };
    const f = obj(v, 'fidelity');
    curves(f, 'fidelity');
    const random = obj(f.random, 'fidelity.random');
    curves(random, 'fidelity.random');
    int(random.orders, 'fidelity.random.orders', 1);
  });
  optional(b.arrays, (v) => {
    const a = obj(v, 'arrays');
    for (const key of ['cropCoefficients', 'imageCoefficients'] as const) {
      const ref = obj(a[key], `arrays.${key}`);
      str(ref.file, `arrays.${key}.file`);
      int(ref.rows, `arrays.${key}.rows`);
      if (int(ref.cols, `arrays.${key}.cols`) !== r) fail(`arrays.${key}.cols`, `${r} (one per concept)`, ref.cols);
    }
  });
  const nmf = obj(b.nmf, 'nmf');
  num(nmf.reconstructionError, 'nmf.reconstructionError');
  int(nmf.iterations, 'nmf.iterations');
  bool(nmf.converged, 'nmf.converged');
  optional(b.splitCheck, (v) => {
    const sc = obj(v, 'splitCheck');
    num(sc.maxAbsDiff, 'splitCheck.maxAbsDiff');
    int(sc.images, 'splitCheck.images');
  });
  optional(b.parent, (v) => {
    const link = obj(v, 'parent');
    str(link.run, 'parent.run');
    int(link.concept, 'parent.concept');
    num(link.percentile, 'parent.percentile');
    num(link.threshold, 'parent.threshold');
    const crops = arr(link.crops, 'parent.crops', images.length, 'one per image').map((k, i) => int(k, `parent.crops[${i}]`));
    if (new Set(crops).size !== crops.length) fail('parent.crops', 'distinct crop indices', link.crops);
  });
  const timings = obj(b.timings, 'timings');
  for (const [k, v] of Object.entries(timings)) num(v, `timings.${k}`);
  arr(b.warnings, 'warnings').forEach((w, i) => str(w, `warnings[${i}]`));
  return value as ResultsBundle;
}

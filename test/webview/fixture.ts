/**
 * A real results bundle for the page and report tests: the engine run on the sample Fashion-MNIST
 * model over a few ankle boots, some of them renamed to hostile file names (HTML, quotes, and a
 * `</script>` made of a folder named `<` holding `script>…png`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../../src/craft/explain';
import { DEFAULTS } from '../../src/craft/options';
import type { ResultsBundle } from '../../src/protocol';

export const repoRoot = path.resolve(__dirname, '../../..');

export const HOSTILE_HTML = '<img src=x onerror=alert(1)>.png';
export const HOSTILE_QUOTES = 'boot "double" \'single\' &amp; <b>bold.png';
/** A relative path (folder `<`, file `script>…`) whose text contains `</script>`. */
export const HOSTILE_SCRIPT = '</script><img src=x onerror=alert(2)>.png';

export interface Fixture {
  /** Temporary folder holding the images and the results; remove with cleanup(). */
  temp: string;
  runDir: string;
  bundle: ResultsBundle;
  cleanup(): void;
}

export async function makeFixtureBundle(o: { images?: number; concepts?: number; designs?: number } = {}): Promise<Fixture> {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-webview-'));
  const images = path.join(temp, 'images');
  fs.mkdirSync(path.join(images, '<'), { recursive: true });
  const source = path.join(repoRoot, 'sample', 'images', 'ankle_boot');
  const files = fs
    .readdirSync(source)
    .filter((f) => f.endsWith('.png'))
    .sort();
  const n = o.images ?? 12;
  for (const f of files.slice(0, n)) fs.copyFileSync(path.join(source, f), path.join(images, f));
  fs.copyFileSync(path.join(source, files[n]), path.join(images, HOSTILE_HTML));
  fs.copyFileSync(path.join(source, files[n + 1]), path.join(images, HOSTILE_QUOTES));
  fs.copyFileSync(path.join(source, files[n + 2]), path.join(images, ...HOSTILE_SCRIPT.split('/')));
  const { dir, bundle } = await explain({
    ...DEFAULTS,
    model: path.join(repoRoot, 'sample', 'model', 'fmnist_cnn.onnx'),
    labelsFile: path.join(repoRoot, 'sample', 'model', 'labels.json'),
    images,
    classId: 9,
    layer: '/g/MaxPool_1_output_0',
    size: [28, 28],
    preset: '[0,1]',
    concepts: o.concepts ?? 4,
    patch: 14,
    designs: o.designs ?? 8,
    provider: 'cpu',
    out: path.join(temp, 'results'),
  });
  return { temp, runDir: dir, bundle, cleanup: () => fs.rmSync(temp, { recursive: true, force: true }) };
}

/**
 * A realistic bundle for the screenshots and the prediction checks: the clip-art MobileNetV2 (224 px,
 * 7×7 grid) on the 24 playing cards in test/fixtures, three of which it predicts as another class (so
 * the run warns). 10 concepts, 8 Sobol designs: a few seconds on 2 cores.
 */
export async function makeClipartBundle(): Promise<Fixture> {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-webview-clipart-'));
  const fixtures = path.join(repoRoot, 'test', 'fixtures', 'clipart-mobilenetv2');
  const { dir, bundle } = await explain({
    ...DEFAULTS,
    model: path.join(fixtures, 'clipart_mobilenetv2.onnx'),
    labelsFile: path.join(fixtures, 'labels.json'),
    images: path.join(fixtures, 'images', 'playing_cards'),
    classId: 'playing_cards',
    concepts: 10,
    designs: 8,
    maxImages: 24,
    provider: 'cpu',
    out: path.join(temp, 'results'),
  });
  return { temp, runDir: dir, bundle, cleanup: () => fs.rmSync(temp, { recursive: true, force: true }) };
}

/** `b` as a run made before the trust features: no predictions, regions, crop-scale maps, scale agreement or fidelity. */
export function asOldBundle(b: ResultsBundle): ResultsBundle {
  const images = b.images.map(({ predicted: _p, classScore: _s, classProbability: _q, cropMaps: _c, ...rest }) => rest);
  const concepts = b.concepts.map(({ regions: _r, scaleAgreement: _a, ...rest }) => rest);
  const { fidelity: _f, labels: _l, ...rest } = b;
  return { ...rest, images, concepts, warnings: b.warnings.filter((w) => !w.includes('predicted as another class')) };
}

/**
 * `b` with `r` synthetic concepts (for paging): distinct importances in a shuffled order, each
 * concept reusing a real concept's crops and regions (so every picture loads). Without maps: the
 * strips hold b's concepts, not r.
 */
export function withManyConcepts(b: ResultsBundle, r: number): ResultsBundle {
  const importance = (i: number) => (1 + ((i * 37) % r)) / r; // a permutation of 1/r … 1 when gcd(37, r) = 1
  const total = Array.from({ length: r }, (_, i) => importance(i)).reduce((s, v) => s + v, 0);
  const ranking = Array.from({ length: r }, (_, i) => i).sort((x, y) => importance(y) - importance(x));
  const concepts = Array.from({ length: r }, (_, i) => {
    const real = b.concepts[i % b.concepts.length];
    return { ...real, index: i, importance: importance(i), share: importance(i) / total, rank: ranking.indexOf(i) };
  });
  const images = b.images.map((im) => {
    const { maps: _, cropMaps: __, ...rest } = im;
    const per = (v: number[]) => Array.from({ length: r }, (_, i) => v[i % v.length]);
    return { ...rest, importances: per(im.importances), presence: per(im.presence) };
  });
  const W = Array.from({ length: r }, (_, i) => b.W[i % b.W.length]);
  return { ...b, settings: { ...b.settings, concepts: r }, concepts, ranking, importances: concepts.map((c) => c.importance), W, images };
}

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
  const files = fs.readdirSync(source).filter((f) => f.endsWith('.png')).sort();
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
 * `b` with `r` synthetic concepts (for paging): distinct importances in a shuffled order, each
 * concept reusing a real concept's crops (so every crop loads). Without maps: the strips hold b's
 * concepts, not r.
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
    const { maps: _, ...rest } = im;
    const per = (v: number[]) => Array.from({ length: r }, (_, i) => v[i % v.length]);
    return { ...rest, importances: per(im.importances), presence: per(im.presence) };
  });
  const W = Array.from({ length: r }, (_, i) => b.W[i % b.W.length]);
  return { ...b, settings: { ...b.settings, concepts: r }, concepts, ranking, importances: concepts.map((c) => c.importance), W, images };
}

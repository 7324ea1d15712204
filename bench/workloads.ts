// The two benchmark workloads, shared by bench/run.ts and bench/gpu-check.ts:
// (a) Fashion-MNIST CNN, 500 ankle boots, r = 10, P = 14 (split /g/MaxPool_1_output_0)
// (b) MobileNetV2 224×224, the first 100 playing_cards, r = 10, P = 64 (split out_relu)
// They read ../shared/fixtures; where it is absent, the copies in the repository (sample/ and
// test/fixtures/, fewer images), and say so.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
// $CRAFT_FIXTURES names the shared fixtures where they are not ../shared/fixtures (e.g. from a git worktree).
const FIXTURES = process.env.CRAFT_FIXTURES ? path.resolve(process.env.CRAFT_FIXTURES) : path.resolve(ROOT, '../shared/fixtures');

export interface Workload {
  key: string;
  title: string;
  model: string;
  imagesDir: string;
  count: number;
  options: Record<string, unknown>;
  layer: string;
  size: [number, number];
  /** Floats of one item of the layer (p·h·w), for the h batch. */
  layerFloats: number;
  available: boolean;
  /** Where the data came from, when not the full fixtures; or why the workload cannot run. */
  note?: string;
}

function firstExisting(...candidates: { model: string; images: string; note?: string }[]) {
  return candidates.find((c) => fs.existsSync(c.model) && fs.existsSync(c.images));
}

export function benchWorkloads(): Workload[] {
  const a = firstExisting(
    { model: path.join(FIXTURES, 'fashion-mnist/model/fmnist_cnn.onnx'), images: path.join(FIXTURES, 'fashion-mnist/images/ankle_boot') },
    {
      model: path.join(ROOT, 'sample/model/fmnist_cnn.onnx'),
      images: path.join(ROOT, 'sample/images/ankle_boot'),
      note: 'the 200 ankle boots of sample/ (../shared/fixtures is absent)',
    },
  );
  const b = firstExisting(
    { model: path.join(FIXTURES, 'clipart-mobilenetv2/clipart_mobilenetv2.onnx'), images: path.join(FIXTURES, 'clipart-mobilenetv2/images/playing_cards') },
    {
      model: path.join(ROOT, 'test/fixtures/clipart-mobilenetv2/clipart_mobilenetv2.onnx'),
      images: path.join(ROOT, 'test/fixtures/clipart-mobilenetv2/images/playing_cards'),
      note: 'the playing cards copied into test/fixtures (../shared/fixtures is absent)',
    },
  );
  return [
    {
      key: 'a',
      title: 'Fashion-MNIST CNN, 500 ankle boots, r=10, P=14',
      model: a?.model ?? '',
      imagesDir: a?.images ?? '',
      count: 500,
      layer: '/g/MaxPool_1_output_0',
      size: [28, 28],
      layerFloats: 64 * 7 * 7,
      options: { classId: 9, concepts: 10, patch: 14 },
      available: a !== undefined,
      note: a ? a.note : 'no Fashion-MNIST data found',
    },
    {
      key: 'b',
      title: 'MobileNetV2 224×224, first 100 playing_cards, r=10, P=64',
      model: b?.model ?? '',
      imagesDir: b?.images ?? '',
      count: 100,
      layer: 'out_relu',
      size: [224, 224],
      layerFloats: 1280 * 7 * 7,
      options: { classId: 'playing_cards', concepts: 10, patch: 64 },
      available: b !== undefined,
      note: b ? b.note : 'no clip-art data found',
    },
  ];
}

/** A folder with links to the first `count` images (sorted), so every run sees the same set. */
export function subset(dir: string, count: number): string {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .slice(0, count);
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bench-images-'));
  for (const f of files) fs.symlinkSync(path.join(dir, f), path.join(target, f));
  return target;
}

/** What bench/one.js prints for one end-to-end run. */
export interface RunResult {
  timings: Record<string, number>;
  maxRssMB: number;
  images: number;
  crops: number;
  provider: string;
  providerDetails?: { device?: string; nodeShare?: { g: number; h: number } };
  ranking: number[];
  importances: number[];
}

/** What bench/floor.js prints: seconds per part of the bare onnxruntime work. */
export type FloorResult = Record<'g_crops' | 'g_images' | 'h_designs' | 'total', number>;

/** The machine a benchmark ran on, recorded with its results. */
export function machine(): { date: string; node: string; cpus: number; cpuModel?: string; memGB: number } {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGB: Math.round(os.totalmem() / 2 ** 30),
  };
}

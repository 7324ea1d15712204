// Scale benchmark: peak RSS and time against the number of images on the clip-art MobileNetV2 (CPU,
// r = 10, P = 64, split out_relu), on images derived from the fixtures by bench/scale-images.ts.
//   node out/bench/scale.js [--counts 300,1244,2500,5000] [--runs 3,3,1,1] [--no-cache] [--write]
// Each run is its own process (peak RSS from process.resourceUsage()); the child also samples
// process.memoryUsage() every 100 ms and keeps each stage's largest sample, so the table says which
// stage holds the peak and how much of it is the JavaScript heap, array buffers or native memory
// (ONNX Runtime), and the CPU time (user + system) per image, which other work on a shared machine
// does not inflate as it does the wall time. --write records the numbers in bench/scale.json (the
// table goes into bench/scale.md by hand, with what it means). Each run starts with an empty cache of
// the default size (2048 MB), as a first run does, so every point does all the work and writes its
// entries; --no-cache runs without one.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../src/craft/explain';
import { option } from '../src/craft/option-table';
import { DEFAULTS, type Stage } from '../src/craft/options';
import { scaleImages, SCALE_IMAGES_DIR } from './scale-images';
import { machine } from './workloads';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE_MODELS = [
  ...(process.env.CRAFT_FIXTURES ? [path.resolve(process.env.CRAFT_FIXTURES, 'clipart-mobilenetv2/clipart_mobilenetv2.onnx')] : []),
  path.resolve(ROOT, '../shared/fixtures/clipart-mobilenetv2/clipart_mobilenetv2.onnx'),
  path.join(ROOT, 'test/fixtures/clipart-mobilenetv2/clipart_mobilenetv2.onnx'),
];

interface StageMemory {
  rssMB: number;
  heapMB: number;
  arrayBuffersMB: number;
  externalMB: number;
}

export interface ScaleResult {
  images: number;
  maxRssMB: number;
  timings: Record<string, number>;
  /** Images per second through the activations stage (the first pass: decode, crops, g). */
  activationsRate: number;
  /** Images per second over the whole run. */
  totalRate: number;
  /** CPU seconds (user + system, all threads) per image: in the activations stage, and over the whole run. */
  cpuPerImage: { activations: number; total: number };
  stages: Partial<Record<Stage, StageMemory>>;
}

const MB = 1024 * 1024;

async function child(count: number, images: string, cacheSize: number): Promise<void> {
  const model = FIXTURE_MODELS.find((m) => fs.existsSync(m));
  if (!model) throw new Error('The clip-art model is missing.');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-scale-out-'));
  const stages: Partial<Record<Stage, StageMemory>> = {};
  let stage: Stage = 'model';
  const cpu: Partial<Record<Stage, number>> = {};
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let stageCpu = cpuNow();
  const sample = () => {
    const m = process.memoryUsage();
    const s = (stages[stage] ??= { rssMB: 0, heapMB: 0, arrayBuffersMB: 0, externalMB: 0 });
    s.rssMB = Math.max(s.rssMB, m.rss / MB);
    s.heapMB = Math.max(s.heapMB, m.heapUsed / MB);
    s.arrayBuffersMB = Math.max(s.arrayBuffersMB, m.arrayBuffers / MB);
    s.externalMB = Math.max(s.externalMB, m.external / MB);
  };
  const timer = setInterval(sample, 100);
  try {
    const { bundle } = await explain({
      ...DEFAULTS,
      model,
      images,
      classId: 'playing_cards',
      layer: 'out_relu',
      concepts: 10,
      patch: 64,
      provider: 'cpu',
      maxImages: count,
      out,
      cacheSize,
      onProgress: (p) => {
        if (p.stage !== stage) {
          sample();
          const t = cpuNow();
          cpu[stage] = (cpu[stage] ?? 0) + t - stageCpu;
          stageCpu = t;
          stage = p.stage;
        }
        sample();
      },
    });
    clearInterval(timer);
    const result: ScaleResult = {
      images: bundle.images.length,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      timings: bundle.timings,
      activationsRate: bundle.images.length / bundle.timings.activations,
      totalRate: bundle.images.length / bundle.timings.total,
      cpuPerImage: { activations: (cpu.activations ?? 0) / bundle.images.length, total: cpuNow() / bundle.images.length },
      stages,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    clearInterval(timer);
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function runChild(count: number, images: string, cacheSize: number): ScaleResult {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', String(count), images, String(cacheSize)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`run of ${count} images failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ScaleResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const counts = (arg('--counts') ?? '300,1244,2500,5000').split(',').map(Number);
  const runs = (arg('--runs') ?? '3,3,1,1').split(',').map(Number);
  const cacheSize = process.argv.includes('--no-cache') ? 0 : (option('cacheSize').default as number);
  const images = await scaleImages(Math.max(...counts), SCALE_IMAGES_DIR, (s) => console.error(s));
  const rows: { count: number; runs: ScaleResult[] }[] = [];
  for (const [k, count] of counts.entries()) {
    const results: ScaleResult[] = [];
    for (let j = 0; j < (runs[k] ?? 1); j++) {
      const r = runChild(count, images, cacheSize);
      results.push(r);
      const peak = Object.entries(r.stages).sort((a, b) => b[1].rssMB - a[1].rssMB)[0];
      console.error(
        `${count} images, run ${j + 1}: peak RSS ${r.maxRssMB.toFixed(0)} MB (in ${peak?.[0]}: heap ${peak?.[1].heapMB.toFixed(0)} MB, array buffers ${peak?.[1].arrayBuffersMB.toFixed(0)} MB), ` +
          `total ${r.timings.total.toFixed(1)} s, activations ${r.activationsRate.toFixed(2)} images/s, overall ${r.totalRate.toFixed(2)} images/s, ` +
          `CPU ${r.cpuPerImage.activations.toFixed(3)} s/image in activations, ${r.cpuPerImage.total.toFixed(3)} s/image in all`,
      );
      console.error(
        `  stages: ${Object.entries(r.stages)
          .map(([s, m]) => `${s} ${m.rssMB.toFixed(0)}/${m.heapMB.toFixed(0)}/${m.arrayBuffersMB.toFixed(0)}`)
          .join(', ')} (RSS/heap/arrays MB); times: ${Object.entries(r.timings)
          .map(([s, t]) => `${s} ${t.toFixed(1)}`)
          .join(', ')}`,
      );
    }
    rows.push({ count, runs: results });
  }
  const lines = [
    '| images | runs | peak RSS (MB, median; range) | total s (median) | activations images/s | whole run images/s | CPU s/image (activations; all) | stage at the peak | A (MB) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const rss = row.runs.map((r) => r.maxRssMB);
    const peakStage = Object.entries(row.runs[0].stages).sort((a, b) => b[1].rssMB - a[1].rssMB)[0]?.[0];
    const a = (row.runs[0].images * 16 * 1280 * 4) / MB;
    lines.push(
      `| ${row.runs[0].images} | ${row.runs.length} | ${median(rss).toFixed(0)}${rss.length > 1 ? ` (${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)})` : ''} | ${median(row.runs.map((r) => r.timings.total)).toFixed(1)} | ${median(row.runs.map((r) => r.activationsRate)).toFixed(2)} | ${median(row.runs.map((r) => r.totalRate)).toFixed(2)} | ${median(row.runs.map((r) => r.cpuPerImage.activations)).toFixed(3)}; ${median(row.runs.map((r) => r.cpuPerImage.total)).toFixed(3)} | ${peakStage} | ${a.toFixed(0)} |`,
    );
  }
  console.log(lines.join('\n'));
  if (process.argv.includes('--write')) {
    const meta = machine();
    fs.writeFileSync(path.join(ROOT, 'bench/scale.json'), JSON.stringify({ meta, rows }, null, 2) + '\n');
    console.error('bench/scale.json written; copy the table into bench/scale.md.');
  }
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), process.argv[4], Number(process.argv[5])).catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}

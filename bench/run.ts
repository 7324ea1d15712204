// Benchmarks CRAFT on the project's fixtures and records the results in bench/results.{json,md}.
// Usage: node out/bench/run.js [--runs 3] [--only a|b]
// (a) Fashion-MNIST CNN, 500 ankle boots, r = 10, P = 14 (split /g/MaxPool_1_output_0)
// (b) MobileNetV2 224×224, the first 100 playing_cards, r = 10, P = 64 (split out_relu)
// For each: the median of N end-to-end runs (each in its own process: stage timings and peak RSS)
// and, alternating with them in the same session, the floor: bare onnxruntime forward passes.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { effectiveBatch } from '../src/craft/run';
import { benchWorkloads, machine, subset, type FloorResult, type RunResult } from './workloads';

const ROOT = path.resolve(__dirname, '../..');

/** One workload's recorded result (bench/results.json). */
interface BenchResult {
  workload: string;
  title: string;
  runs: number;
  images: number;
  crops: number;
  stagesMedianS: Record<string, number>;
  floorMedianS: Record<string, number>;
  totalOverFloorMedian: number;
  totalOverFloorRuns: number[];
  nmfShareOfTotal: number;
  peakRssMBMedian: number;
  peakRssMBMax: number;
  rankingRun1: number[];
  scaling: { images: number; maxRssMB: number }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function node<T>(script: string, arg: unknown): T {
  const out = execFileSync(process.execPath, [path.join(__dirname, script), JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

function main(): void {
  const argv = process.argv.slice(2);
  const runs = Number(argv[argv.indexOf('--runs') + 1]) || 3;
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const results: BenchResult[] = [];
  for (const w of benchWorkloads()) {
    if (only && w.key !== only) continue;
    if (!w.available || w.note) {
      // The recorded numbers are comparable only on the full fixtures.
      console.log(`(${w.key}) skipped: ../shared/fixtures is absent (${w.note ?? 'no data'}); the benchmarks read it.`);
      continue;
    }
    const images = subset(w.imagesDir, w.count);
    const options = { model: w.model, images, layer: w.layer, size: w.size, provider: 'cpu', ...w.options };
    const explainRuns: RunResult[] = [];
    const floorRuns: FloorResult[] = [];
    for (let k = 0; k < runs; k++) {
      explainRuns.push(node<RunResult>('one.js', options));
      floorRuns.push(
        node<FloorResult>('floor.js', {
          model: w.model,
          layer: w.layer,
          size: w.size,
          images: explainRuns[k].images,
          cropsPerImage: explainRuns[k].crops / explainRuns[k].images,
          concepts: 10,
          designs: 32,
          gBatch: effectiveBatch(64, 3 * w.size[0] * w.size[1]),
          hBatch: effectiveBatch(64, w.layerFloats),
        }),
      );
      console.log(
        `(${w.key}) run ${k + 1}/${runs}: total ${explainRuns[k].timings.total.toFixed(2)} s, floor ${floorRuns[k].total.toFixed(2)} s, peak RSS ${explainRuns[k].maxRssMB.toFixed(0)} MB`,
      );
    }
    fs.rmSync(images, { recursive: true, force: true });
    // Memory scaling: one run at a quarter and at twice the image count. Only A (crops × p floats) and
    // the coefficients should grow with N.
    const scaling: { images: number; maxRssMB: number }[] = [];
    if (w.key === 'b') {
      for (const count of [25, 200]) {
        const dir = subset(w.imagesDir, count);
        const r = node<RunResult>('one.js', { ...options, images: dir });
        fs.rmSync(dir, { recursive: true, force: true });
        scaling.push({ images: r.images, maxRssMB: r.maxRssMB });
        console.log(`(${w.key}) scaling: ${r.images} images, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
      }
    }
    const stages = Object.keys(explainRuns[0].timings);
    const stageMedians = Object.fromEntries(stages.map((s) => [s, median(explainRuns.map((r) => r.timings[s]))]));
    const floor = Object.fromEntries((Object.keys(floorRuns[0]) as (keyof FloorResult)[]).map((s) => [s, median(floorRuns.map((r) => r[s]))]));
    const ratios = explainRuns.map((r, k) => r.timings.total / floorRuns[k].total);
    results.push({
      workload: w.key,
      title: w.title,
      runs,
      images: explainRuns[0].images,
      crops: explainRuns[0].crops,
      stagesMedianS: stageMedians,
      floorMedianS: floor,
      totalOverFloorMedian: median(ratios),
      totalOverFloorRuns: ratios,
      nmfShareOfTotal: stageMedians.nmf / stageMedians.total,
      peakRssMBMedian: median(explainRuns.map((r) => r.maxRssMB)),
      peakRssMBMax: Math.max(...explainRuns.map((r) => r.maxRssMB)),
      rankingRun1: explainRuns[0].ranking,
      scaling,
    });
  }
  const meta = {
    ...machine(),
    provider: 'cpu',
  };
  fs.writeFileSync(path.join(ROOT, 'bench/results.json'), JSON.stringify({ meta, results }, null, 2) + '\n');
  const lines = [
    '# Benchmark results',
    '',
    `Recorded by \`npm run bench\` on ${meta.date.slice(0, 10)}: ${meta.cpus} × ${meta.cpuModel}, ${meta.memGB} GB, Node ${meta.node}, CPU provider.`,
    'Each end-to-end run is a separate process; the floor (bare onnxruntime forward passes of the same work) is measured alternately in the same session. Times are medians in seconds.',
    '',
  ];
  for (const r of results) {
    lines.push(`## (${r.workload}) ${r.title}`, '', `${r.images} images, ${r.crops} crops, ${r.runs} runs.`, '', '| stage | median s |', '|---|---|');
    for (const [s, v] of Object.entries(r.stagesMedianS)) lines.push(`| ${s} | ${(v as number).toFixed(3)} |`);
    lines.push('', '| floor part | median s |', '|---|---|');
    for (const [s, v] of Object.entries(r.floorMedianS)) lines.push(`| ${s} | ${(v as number).toFixed(3)} |`);
    lines.push(
      '',
      `- total / floor (median of per-run ratios): **${r.totalOverFloorMedian.toFixed(3)}×** (runs: ${r.totalOverFloorRuns.map((x: number) => x.toFixed(2)).join(', ')})`,
      `- NMF share of total: ${(100 * r.nmfShareOfTotal).toFixed(1)} %`,
      `- peak RSS: median ${r.peakRssMBMedian.toFixed(0)} MB, max ${r.peakRssMBMax.toFixed(0)} MB`,
    );
    if (r.scaling.length) {
      lines.push(
        `- peak RSS against the number of images: ${r.scaling.map((x: { images: number; maxRssMB: number }) => `${x.images} images ${x.maxRssMB.toFixed(0)} MB`).join(', ')}`,
      );
    }
    lines.push('');
  }
  fs.writeFileSync(path.join(ROOT, 'bench/results.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

main();

// The GPU check (`npm run gpu-check`): prints this machine's GPU facts, then runs the two benchmark
// workloads on every GPU provider that loads here and on the CPU, and appends what it measured to
// bench/results-gpu.md: total time, its ratio to the bare onnxruntime floor on the same provider,
// parity of the importances with the CPU run, and the share of graph nodes that ran on the GPU.
// Needs nothing outside the working tree (a GPU machine may have no network): the workloads read
// ../shared/fixtures when present, else the copies in the repository (fewer images; it says so).
//   node out/bench/gpu-check.js [--runs 1] [--allow-software]
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseProvider, realHost, staticReason, vulkanDrivers, autoOrder } from '../src/craft/onnx/providers';
import { ortBinaryDir } from '../src/craft/onnx/sessions';
import { effectiveBatch } from '../src/craft/run';
import type { ProviderName } from '../src/protocol';
import { benchWorkloads, subset, type FloorResult, type RunResult } from './workloads';

const ROOT = path.resolve(__dirname, '../..');

function sh(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  return r.error ? `(${command}: ${r.error.message})` : `${r.stdout}${r.stderr}`.trim() || `(${command}: no output, exit ${r.status})`;
}

function node<T>(script: string, arg: unknown): T {
  const out = execFileSync(process.execPath, [path.join(__dirname, script), JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runs = Number(argv[argv.indexOf('--runs') + 1]) || 1;
  const allowSoftware = argv.includes('--allow-software');
  const host = realHost(ortBinaryDir());
  const facts = [
    `date: ${new Date().toISOString()}`,
    `host: ${os.hostname()}, ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GB, ${process.platform}-${process.arch}, Node ${process.version}`,
    `nvidia-smi: ${sh('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'])}`,
    `Vulkan drivers: ${
      vulkanDrivers(host)
        .map((d) => `${d.name} (${d.file})`)
        .join('; ') || 'none'
    }`,
    `GPU device nodes: ${
      [
        ...host.list('/dev/dri').map((n) => `/dev/dri/${n}`),
        ...host
          .list('/dev')
          .filter((n) => n.startsWith('nvidia'))
          .map((n) => `/dev/${n}`),
      ].join(' ') || 'none'
    }`,
    `libraries (ldconfig): ${sh('sh', ['-c', "ldconfig -p | grep -E 'cudart|cudnn|cublas|vulkan' | awk '{print $1}' | sort -u | tr '\\n' ' '"]) || 'none'}`,
    `onnxruntime-node files: ${host.list(host.ortDir).join(' ')}`,
  ];
  console.log(facts.join('\n'));
  const auto = await chooseProvider('auto', host, async () => ({ ok: true, ms: 1, cpuMs: 1 }));
  console.log(`auto would consider: ${autoOrder(process.platform).join(', ')}; static checks: ${auto.notice}`);

  const providers: ProviderName[] = ['cpu'];
  const notes: string[] = [];
  for (const p of autoOrder(process.platform)) {
    const why = staticReason(p, host, !allowSoftware);
    if (why) notes.push(`${p}: not run (${why})`);
    else providers.push(p);
  }
  const rows: string[] = [];
  for (const w of benchWorkloads()) {
    if (!w.available) {
      notes.push(`(${w.key}) skipped: ${w.note}`);
      continue;
    }
    const images = subset(w.imagesDir, w.count);
    let cpu: RunResult | undefined;
    for (const provider of providers) {
      for (let k = 0; k < runs; k++) {
        let run: RunResult;
        try {
          run = node<RunResult>('one.js', { model: w.model, images, layer: w.layer, size: w.size, provider, ...w.options });
        } catch (e) {
          notes.push(
            `(${w.key}) ${provider}: the run failed: ${String((e as Error).message)
              .split('\n')
              .slice(-3)
              .join(' ')}`,
          );
          break;
        }
        const floor = node<FloorResult>('floor.js', {
          model: w.model,
          layer: w.layer,
          size: w.size,
          images: run.images,
          cropsPerImage: run.crops / run.images,
          concepts: 10,
          designs: 32,
          gBatch: effectiveBatch(64, 3 * w.size[0] * w.size[1]),
          hBatch: effectiveBatch(64, w.layerFloats),
          provider,
        });
        if (provider === 'cpu' && k === 0) cpu = run;
        const ref = cpu;
        const parity = ref ? Math.max(...run.importances.map((v, i) => Math.abs(v - ref.importances[i]))) : NaN;
        const sameTop3 = ref ? run.ranking.slice(0, 3).join(',') === ref.ranking.slice(0, 3).join(',') : false;
        const share = run.providerDetails?.nodeShare;
        rows.push(
          `| (${w.key}) ${run.images} img | ${provider}${run.providerDetails?.device ? ` (${run.providerDetails.device})` : ''} | ${run.timings.total.toFixed(2)} | ${floor.total.toFixed(2)} | ${(run.timings.total / floor.total).toFixed(2)}× | ${provider === 'cpu' ? '—' : `${parity.toExponential(1)}${sameTop3 ? ', same top 3' : ', top 3 differs'}`} | ${share ? `g ${(100 * share.g).toFixed(0)} %, h ${(100 * share.h).toFixed(0)} %` : provider === 'cpu' ? '100 %' : '?'} |`,
        );
        console.log(rows.at(-1));
      }
    }
    fs.rmSync(images, { recursive: true, force: true });
  }
  const section = [
    `## ${facts[0].slice(6, 16)} — ${os.hostname()}`,
    '',
    '```',
    ...facts,
    '```',
    '',
    '| workload | provider | total s | floor s | total / floor | max \\|Δ importance\\| vs CPU | nodes on the provider |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  const file = path.join(ROOT, 'bench/results-gpu.md');
  if (!fs.existsSync(file))
    fs.writeFileSync(file, '# GPU check results\n\nAppended by `npm run gpu-check` (bench/gpu-check.ts), one section per machine and run.\n\n');
  fs.appendFileSync(file, section);
  console.log(`\nAppended to ${path.relative(ROOT, file)}.`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});

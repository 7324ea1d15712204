// Cache benchmark on workload (b), the clip-art MobileNetV2 on the first 100 playing cards (r = 10,
// P = 64, CPU), each run in its own process, side by side in every round:
//   off     no cache (--cache-size 0): the plain run
//   first   an empty cache: the plain run plus writing the entries
//   repeat  the same run again on that cache: the earlier run folder is copied
//   class   the same images, another class explained (animals): the first pass, the NMF and the
//           second pass come from the cache; the importance, fidelity, maps and pictures are computed
//   add     10 more images (110): their first pass is computed, the NMF, the second pass and
//           everything after it run again (a new A, so a new W)
//   add-off the same 110 images without a cache, for comparison
//   node out/bench/cache.js [--rounds 3] [--write]
// --write records bench/cache.json (the table goes into bench/cache.md by hand, with what it means).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { explain } from '../src/craft/explain';
import { DEFAULTS, type ExplainOptions } from '../src/craft/options';
import { benchWorkloads, machine, subset } from './workloads';

const ROOT = path.resolve(__dirname, '../..');

interface Result {
  timings: Record<string, number>;
  images: number;
  log: string[];
  importances: number[];
}

async function child(options: Partial<ExplainOptions>): Promise<void> {
  const log: string[] = [];
  const { bundle } = await explain({ ...DEFAULTS, ...options, log: (l) => log.push(l) } as ExplainOptions);
  const keep = log.filter((l) => /cache|reused|NMF|Transform:/i.test(l));
  process.stdout.write(JSON.stringify({ timings: bundle.timings, images: bundle.images.length, log: keep, importances: bundle.importances }) + '\n');
}

function run(options: Partial<ExplainOptions>): Result {
  const r = spawnSync(process.execPath, [__filename, '--child', JSON.stringify(options)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const rounds = Number(arg('--rounds') ?? 3);
  const w = benchWorkloads().find((x) => x.key === 'b')!;
  if (!w.available || w.note) throw new Error(`workload (b) needs the shared fixtures: ${w.note ?? 'absent'}`);
  const base: Partial<ExplainOptions> = { model: w.model, layer: w.layer, size: w.size, provider: 'cpu', ...w.options };
  const kinds = ['off', 'first', 'repeat', 'class', 'add', 'add-off'] as const;
  const all: Record<(typeof kinds)[number], Result[]> = { off: [], first: [], repeat: [], class: [], add: [], 'add-off': [] };
  for (let k = 0; k < rounds; k++) {
    const images = subset(w.imagesDir, 100);
    const more = subset(w.imagesDir, 110);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bench-cache-'));
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bench-nocache-'));
    try {
      const r = {
        off: run({ ...base, images, out: scratch, cacheSize: 0 }),
        first: run({ ...base, images, out, cacheSize: 2048 }),
        repeat: run({ ...base, images, out, cacheSize: 2048 }),
        class: run({ ...base, images, out, cacheSize: 2048, classId: 'animals' }),
        add: run({ ...base, images: more, out, cacheSize: 2048 }),
        'add-off': run({ ...base, images: more, out: scratch, cacheSize: 0 }),
      };
      if (
        JSON.stringify(r.repeat.importances) !== JSON.stringify(r.first.importances) ||
        JSON.stringify(r.off.importances) !== JSON.stringify(r.first.importances)
      ) {
        throw new Error('a cached run gave other importances than the uncached one');
      }
      if (JSON.stringify(r.add.importances) !== JSON.stringify(r['add-off'].importances)) throw new Error('the incremental run differs from the uncached one');
      for (const kind of kinds) all[kind].push(r[kind]);
      console.error(
        `round ${k + 1}: ${kinds.map((kind) => `${kind} ${r[kind].timings.total.toFixed(2)} s`).join(', ')}; repeat/first ${((100 * r.repeat.timings.total) / r.first.timings.total).toFixed(1)} %`,
      );
      for (const kind of ['repeat', 'class', 'add'] as const) console.error(`  ${kind}: ${r[kind].log.join(' | ')}`);
    } finally {
      for (const d of [images, more, out, scratch]) fs.rmSync(d, { recursive: true, force: true });
    }
  }
  const stages = ['model', 'activations', 'nmf', 'transform', 'importance', 'fidelity', 'maps', 'write', 'total'];
  const lines = [`| run | ${stages.join(' | ')} |`, `|---|${stages.map(() => '---').join('|')}|`];
  for (const kind of kinds) {
    lines.push(
      `| ${kind} | ${stages.map((s) => (all[kind].some((r) => s in r.timings) ? median(all[kind].map((r) => r.timings[s] ?? 0)).toFixed(2) : '—')).join(' | ')} |`,
    );
  }
  const ratio = all.repeat.map((r, k) => r.timings.total / all.first[k].timings.total);
  lines.push('', `repeat / first (per round): ${ratio.map((x) => `${(100 * x).toFixed(1)} %`).join(', ')}; median ${(100 * median(ratio)).toFixed(1)} %`);
  const addRatio = all.add.map((r, k) => r.timings.total / all['add-off'][k].timings.total);
  lines.push(`add / add-off (per round): ${addRatio.map((x) => `${(100 * x).toFixed(1)} %`).join(', ')}`);
  console.log(lines.join('\n'));
  if (process.argv.includes('--write')) {
    const meta = { ...machine(), load: os.loadavg() };
    fs.writeFileSync(path.join(ROOT, 'bench/cache.json'), JSON.stringify({ meta, rounds: all }, null, 2) + '\n');
    console.error('bench/cache.json written; copy the table into bench/cache.md.');
  }
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]) as Partial<ExplainOptions>).catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exit(1);
  });
} else {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}

// Peak memory of the layer probe (`craft layers`) against its floor, one plain inference of one image
// at the same size, each in its own process so its peak RSS is its own:
//   node out/bench/probe-memory.js [--model M.onnx] [--sizes 28,512,1024,2048]
// Prints a markdown table; the recorded one is in probe-memory.md.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { listLayers } from '../src/craft/layers';
import { describeModel } from '../src/craft/onnx/inspect';

const ROOT = path.resolve(__dirname, '../..');

async function child(mode: string, model: string, size: number): Promise<void> {
  const start = performance.now();
  if (mode === 'probe') {
    await listLayers({ model, size: [size, size], provider: 'cpu' });
  } else {
    const info = describeModel(model);
    const session = await ort.InferenceSession.create(info.model.bytes, { executionProviders: ['cpu'], logSeverityLevel: 3, graphOptimizationLevel: 'all' });
    const data = new Float32Array(3 * size * size).fill(0.5);
    const dims = info.layout === 'NCHW' ? [1, 3, size, size] : [1, size, size, 3];
    await session.run({ [info.inputName]: new ort.Tensor('float32', data, dims) });
  }
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - start) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

function measure(mode: string, model: string, size: number): { seconds: number; maxRssMB: number } {
  const r = spawnSync(process.execPath, [__filename, '--child', mode, model, String(size)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} at ${size}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const model = path.resolve(arg('--model') ?? path.join(ROOT, 'sample/model/fmnist_cnn.onnx'));
  const sizes = (arg('--sizes') ?? '28,512,1024,2048').split(',').map(Number);
  const lines = [
    `Layer probe vs one inference of one image, ${path.basename(model)}, CPU:`,
    '',
    '| --size | probe peak RSS | probe time | floor peak RSS | floor time |',
    '|---|---|---|---|---|',
  ];
  for (const size of sizes) {
    const p = measure('probe', model, size);
    const f = measure('floor', model, size);
    lines.push(`| ${size} | ${p.maxRssMB.toFixed(0)} MB | ${p.seconds.toFixed(1)} s | ${f.maxRssMB.toFixed(0)} MB | ${f.seconds.toFixed(1)} s |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], Number(process.argv[5])).catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exit(1);
  });
} else {
  main();
}

/**
 * Quick runs of the bundled sample's Fashion-MNIST CNN, shared by the tests: 28 px inputs, its 7×7
 * MaxPool layer, 14 px patches, the CPU, on copies of the first sample images. Each test adds what it
 * varies, as CLI flags or as engine options.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULTS, type ExplainOptions } from '../../src/craft/options';

export const ROOT = path.resolve(__dirname, '../../..');
export const SAMPLE_MODEL = path.join(ROOT, 'sample/model/fmnist_cnn.onnx');
export const CRAFT_BIN = path.join(ROOT, 'bin/craft.js');

/** `classId` undefined: no --class (the test gives its own). */
export function quickExplainArgs(images: string, classId: string | undefined, out: string, ...extra: string[]): string[] {
  return [
    'explain',
    '--model',
    SAMPLE_MODEL,
    '--images',
    images,
    ...(classId === undefined ? [] : ['--class', classId]),
    '--size',
    '28',
    '--layer',
    '/g/MaxPool_1_output_0',
    '--patch',
    '14',
    '--provider',
    'cpu',
    '--out',
    out,
    ...extra,
  ];
}

/** Runs bin/craft.js to its end (killed past `timeoutMs`). */
export function runCraft(args: string[], o: { cwd?: string; timeoutMs?: number } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CRAFT_BIN, ...args], { cwd: o.cwd ?? ROOT, encoding: 'utf8', timeout: o.timeoutMs ?? 120_000, killSignal: 'SIGKILL' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temp folder holding copies of the first `n` sample images of a class folder. */
export function sampleImages(n: number, cls = 'ankle_boot', dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-sample-'))): string {
  const src = path.join(ROOT, 'sample/images', cls);
  for (const f of fs.readdirSync(src).sort().slice(0, n)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

/** Engine options of the same quick run (class 9, Ankle boot), into a fresh results folder. */
export function quickExplainOptions(images: string, o: Partial<ExplainOptions> = {}): ExplainOptions {
  return {
    ...DEFAULTS,
    model: SAMPLE_MODEL,
    images,
    classId: 9,
    layer: '/g/MaxPool_1_output_0',
    size: [28, 28],
    patch: 14,
    provider: 'cpu',
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'craft-sample-out-')),
    ...o,
  };
}

/**
 * The flags of a quick `craft explain` on the bundled sample's Fashion-MNIST CNN, shared by the CLI
 * tests: 28 px inputs, its 7×7 MaxPool layer, 14 px patches, the CPU. Each test adds what it varies.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

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

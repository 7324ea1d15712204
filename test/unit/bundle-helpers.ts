/** Shared by the results-bundle tests and their child processes (not a test file itself). */
import { spawn, spawnSync, type SpawnOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RESULTS_VERSION, type ResultsBundle } from '../../src/protocol';

export const ROOT = path.resolve(__dirname, '../../..');
/** Compiled child entry (test/unit/children/writer-child.ts). */
export const WRITER_CHILD = path.join(__dirname, 'children', 'writer-child.js');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `craft-${prefix}-`));
}

/**
 * A small but complete bundle (2 images, 2 concepts, W 2×3). `padding` adds that many W columns so
 * results.json takes a while to write (the atomicity tests want a long write window).
 */
export function tinyBundle(marker = 'tiny', padding = 0): ResultsBundle {
  const p = 3 + padding;
  const row = (seed: number) => Array.from({ length: p }, (_, j) => ((seed + 1) * 0.12345 + j * 0.001) % 1);
  return {
    version: RESULTS_VERSION,
    createdAt: '2026-01-02T03:04:05.000Z',
    tool: { name: 'craft-explain', version: 'test' },
    model: { path: '/models/m.onnx', inputName: 'input', inputShape: ['N', 3, 28, 28], outputName: 'logits' },
    layer: { name: '/g/MaxPool_1_output_0', shape: [p, 7, 7], spatial: true },
    class: { index: 9, label: 'Ankle boot' },
    labels: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'Ankle boot'],
    datasetRoot: '/data/boots',
    settings: {
      concepts: 2,
      patchSize: 14,
      stride: 11,
      cropsPerImage: 4,
      batchSize: 64,
      designs: 8,
      preprocess: { size: [28, 28], layout: 'NCHW', channelOrder: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], resize: 'bilinear' },
      nmf: { tol: 1e-4, maxIter: 200, alphaW: 0 },
      mapPercentile: 90,
      providerRequested: 'cpu',
    },
    provider: 'cpu',
    images: [0, 1].map((i) => ({
      path: `img${i}.png`,
      width: 28,
      height: 28,
      predicted: 9,
      classScore: 3.5,
      classProbability: 0.9,
      thumbnail: `thumbs/${i}.png`,
      importances: [0.5, 0.25],
      presence: [0.1, 0.2],
      maps: `maps/${i}.png`,
      cropMaps: `crop-maps/${i}.png`,
    })),
    skipped: [],
    concepts: [0, 1].map((c) => ({
      index: c,
      color: c ? '#00ff00' : '#ff0000',
      importance: c ? 0.25 : 0.5,
      share: c ? 1 / 3 : 2 / 3,
      rank: c,
      crops: [{ image: c, x: 0, y: 11, size: 14, coefficient: 0.75, file: `crops/c${c}_0.png` }],
      regions: [{ image: 1 - c, x: 11, y: 0, size: 14, coefficient: 0.5, file: `regions/c${c}_0.png` }],
      scaleAgreement: 0.8,
    })),
    W: [row(0), row(1)],
    importances: [0.5, 0.25],
    ranking: [0, 1],
    fidelity: {
      deletion: [1, 0.5, 0.1],
      insertion: [0.1, 0.6, 1],
      deletionAuc: 0.55,
      insertionAuc: 0.575,
      random: { deletion: [1, 0.7, 0.1], insertion: [0.1, 0.4, 1], deletionAuc: 0.625, insertionAuc: 0.475, orders: 8 },
    },
    nmf: { reconstructionError: 0.08, iterations: 12, converged: true },
    splitCheck: { maxAbsDiff: 1e-6, images: 2 },
    timings: { model: 0.1, total: 1.5 },
    warnings: [marker],
  };
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a node script to completion (asynchronously, so several can run at once). */
export function runNode(args: string[], options: SpawnOptions = {}, timeoutMs = 60_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The partial folders (and temporary files) in a results root. */
export function partials(root: string): string[] {
  return fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((n) => n.startsWith('.partial-'))
        .sort()
    : [];
}

/**
 * Whether the user 'nobody' can read `file` (a compiled module of this checkout): the tests that run a
 * process as another user need the checkout readable by it, which a private folder (mktemp -d) is not.
 */
export function nobodyCanRead(file: string): boolean {
  const check = `require('fs').accessSync(${JSON.stringify(file)}, require('fs').constants.R_OK)`;
  return spawnSync(process.execPath, ['-e', check], { uid: 65534, gid: 65534, stdio: 'ignore' }).status === 0;
}

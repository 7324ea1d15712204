import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Ort from 'onnxruntime-node';
import { CraftError } from '../errors';
import { buildModel } from './build';
import { DataType } from './fields';
import { chooseProvider, ProviderUnavailable, providerTitle, realHost, type Choice, type Trial } from './providers';
import type { ProviderName, ProviderRequest } from '../../protocol';

/** ORT's native logging is noisy on stderr; 3 = errors only. */
const QUIET = 3;

let loaded: typeof Ort | undefined;

/**
 * onnxruntime-node, loaded on first use, so that a platform it does not serve gets a sentence, not a
 * "Cannot find module …/onnxruntime_binding.node" from deep inside the first import.
 */
export function ortModule(): typeof Ort {
  if (loaded) return loaded;
  try {
    loaded = require('onnxruntime-node') as typeof Ort;
    return loaded;
  } catch (e) {
    const here = `${process.platform}-${process.arch}`;
    const served = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-arm64'];
    throw new CraftError(
      'provider',
      served.includes(here)
        ? `ONNX Runtime could not be loaded: ${firstLine(e)}`
        : `onnxruntime-node 1.30 has no build for ${here}${here === 'darwin-x64' ? ' (Intel Macs)' : ''}, so CRAFT cannot run models here.`,
      served.includes(here)
        ? 'Reinstall the extension (or run `npm ci` in the repository) so that its native files are complete.'
        : `Run CRAFT on a machine it serves (${served.join(', ')}), e.g. through VS Code Remote-SSH: the extension runs where the workspace is.`,
    );
  }
}

/**
 * Creates every ORT session of a run on one execution provider, chosen once by chooseProvider
 * (providers.ts). ORT does not fall back between providers by itself (with ['cuda', 'cpu'] session
 * creation throws when CUDA cannot load), so the choice is made before the run's sessions exist.
 */
export class SessionFactory {
  private constructor(
    readonly provider: ProviderName,
    /** One line for the user: which provider runs, and why each better one was skipped. */
    readonly notice: string,
    private readonly threads: number,
    readonly choice: Choice,
  ) {}

  static async open(request: ProviderRequest, threads = 0): Promise<SessionFactory> {
    try {
      const choice = await chooseProvider(request, realHost(ortBinaryDir()), (p) => tryProvider(p, threads));
      return new SessionFactory(choice.provider, choice.notice, threads, choice);
    } catch (e) {
      if (e instanceof ProviderUnavailable) {
        throw new CraftError('provider', e.message, 'Use --provider auto to run on the best provider that works here (the CPU at worst).');
      }
      throw e;
    }
  }

  /**
   * `spinning: false` for sessions called many times in short runs between JavaScript work (the NMF
   * products, h on the masks): ORT's idle threads then sleep instead of spinning on a core the main
   * thread and libuv need (on the clip-art MobileNetV2 benchmark the NMF took 0.89 s instead of 1.23 s, with half the CPU time).
   */
  async create(model: Uint8Array, what: string, tuning: { spinning?: boolean; profile?: string } = {}): Promise<Ort.InferenceSession> {
    try {
      return await ortModule().InferenceSession.create(model, {
        ...options(this.provider, this.threads, tuning.spinning ?? true),
        ...(tuning.profile ? { enableProfiling: true, profileFilePrefix: tuning.profile } : {}),
      });
    } catch (e) {
      throw new CraftError('model', `ONNX Runtime could not load ${what} on the ${providerTitle(this.provider)} provider: ${firstLine(e)}`);
    }
  }

  /**
   * The share of `model`'s graph nodes that ran on this provider rather than on the CPU fallback, from
   * ONNX Runtime's profile of one run on `feeds` (its node events name the provider of each kernel).
   */
  async nodeShare(model: Uint8Array, feeds: Record<string, { data: Float32Array; dims: readonly number[] }>, output: string): Promise<number> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'craft-profile-'));
    try {
      const session = await this.create(model, 'a profiled graph', { profile: path.join(dir, 'profile') });
      await runFloat(session, feeds, [output]);
      session.endProfiling();
      await session.release();
      const file = (await fs.promises.readdir(dir)).find((f) => f.endsWith('.json'));
      if (!file) return NaN;
      return providerShare(JSON.parse(await fs.promises.readFile(path.join(dir, file), 'utf8')) as ProfileEvent[], this.provider);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: { provider?: string; op_name?: string };
}

const ORT_PROVIDER_IDS: Record<ProviderName, string> = {
  cpu: 'CPUExecutionProvider',
  cuda: 'CUDAExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
  dml: 'DmlExecutionProvider',
  coreml: 'CoreMLExecutionProvider',
};

/** Distinct nodes of a profile whose kernels ran on `provider`, over all distinct nodes. */
export function providerShare(events: ProfileEvent[], provider: ProviderName): number {
  const where = new Map<string, string>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name || !e.args?.provider) continue;
    where.set(e.name.replace(/_(kernel_time|fence_before|fence_after)$/, ''), e.args.provider);
  }
  if (where.size === 0) return NaN;
  let on = 0;
  for (const p of where.values()) if (p === ORT_PROVIDER_IDS[provider]) on++;
  return on / where.size;
}

/** Where onnxruntime-node keeps its native libraries on this platform. */
export function ortBinaryDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * The probe every GPU provider must pass before a run uses it: a small convolutional net (input
 * 1×3×64×64, two 3×3 convolutions of 32 channels, global pooling, a linear layer; ~40 M multiply-adds,
 * enough for a GPU to beat the CPU and for a software device to stand out), with fixed weights.
 */
export function probeModel(): Uint8Array {
  const weights = (n: number, seed: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(seed + k * 0.7) * 0.2);
  return buildModel({
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: [1, 3, 64, 64] }],
    outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: [1, 10] }],
    initializers: [
      { name: 'w1', dataType: DataType.FLOAT, dims: [32, 3, 3, 3], values: weights(864, 1) },
      { name: 'w2', dataType: DataType.FLOAT, dims: [32, 32, 3, 3], values: weights(9216, 2) },
      { name: 'w3', dataType: DataType.FLOAT, dims: [10, 32], values: weights(320, 3) },
    ],
    nodes: [
      { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'], attributes: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
      { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { opType: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], attributes: [{ name: 'pads', ints: [1, 1, 1, 1] }] },
      { opType: 'Relu', inputs: ['c2'], outputs: ['r2'] },
      { opType: 'GlobalAveragePool', inputs: ['r2'], outputs: ['gap'] },
      { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'] },
      { opType: 'Gemm', inputs: ['flat', 'w3'], outputs: ['y'], attributes: [{ name: 'transB', int: 1 }] },
    ],
  }).bytes;
}

/** Relative gap to the CPU's probe output above which a provider counts as giving wrong results. */
const PROBE_AGREEMENT = 1e-2;

/**
 * Loads a provider, runs the probe on it and on the CPU (after one warm-up run each: the first run
 * compiles shaders), and compares the outputs and the median times of three runs.
 */
async function tryProvider(provider: ProviderName, threads: number): Promise<Trial> {
  const ort = ortModule();
  const bytes = probeModel();
  const input = new Float32Array(3 * 64 * 64).map((_, k) => ((k * 37) % 101) / 100);
  const time = async (p: ProviderName): Promise<{ ms: number; y: Float32Array }> => {
    const session = await ort.InferenceSession.create(bytes, options(p, threads, true));
    try {
      const feeds = { x: new ort.Tensor('float32', input, [1, 3, 64, 64]) };
      let y = (await session.run(feeds)).y.data as Float32Array;
      const times: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        y = (await session.run(feeds)).y.data as Float32Array;
        times.push(performance.now() - t0);
      }
      return { ms: times.sort((a, b) => a - b)[1], y };
    } finally {
      await session.release();
    }
  };
  let gpu: { ms: number; y: Float32Array };
  try {
    gpu = await time(provider);
  } catch (e) {
    const text = firstLine(e);
    // Dawn's way of saying there is no GPU it can use.
    if (/RequestAdapterStatus|No supported adapters|adapter/i.test(text))
      return { ok: false, reason: 'no WebGPU adapter was found (no GPU, or its driver does not support WebGPU).' };
    return { ok: false, reason: `it could not run a probe model: ${text}` };
  }
  const cpu = await time('cpu');
  let gap = 0;
  let scale = 0;
  cpu.y.forEach((v, i) => {
    gap = Math.max(gap, Math.abs(v - gpu.y[i]));
    scale = Math.max(scale, Math.abs(v));
  });
  if (!(gap <= PROBE_AGREEMENT * Math.max(scale, 1e-6))) {
    return { ok: false, reason: `it gave results that differ from the CPU's by ${gap.toPrecision(3)} on a probe model.` };
  }
  return { ok: true, ms: gpu.ms, cpuMs: cpu.ms };
}

function options(provider: ProviderName, threads: number, spinning = true): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    logSeverityLevel: QUIET,
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0].slice(0, 300);
}

/** Runs a session with a single float32 input and returns the requested float32 outputs. */
export async function runFloat(
  session: Ort.InferenceSession,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
  outputs: string[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const ort = ortModule();
  const tensors: Record<string, Ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', f.data, f.dims);
  const result = await session.run(tensors, outputs);
  const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const name of outputs) {
    const t = result[name];
    if (t.type !== 'float32') throw new CraftError('model', `Tensor '${name}' is ${t.type}; CRAFT needs float32.`);
    out[name] = { data: t.data as Float32Array, dims: t.dims };
  }
  return out;
}

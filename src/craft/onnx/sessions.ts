import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { CraftError } from '../errors';
import type { ProviderName, ProviderRequest } from '../../protocol';

/** ORT's native logging is noisy on stderr; 3 = errors only. */
const QUIET = 3;

export const CUDA_INSTALL_HINT =
  'GPU support is an extra install step: on a machine with an NVIDIA driver and internet, run ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` ' +
  'in the folder that holds node_modules, then use --provider auto or cuda.';

/**
 * Creates every ORT session of a run on one execution provider. 'auto' tries CUDA once and falls back
 * to CPU (ORT itself does not fall back: with ['cuda','cpu'] session creation throws when CUDA cannot load).
 */
export class SessionFactory {
  private constructor(
    readonly provider: ProviderName,
    /** One line for the user: which provider runs, and why when it is not the one asked for. */
    readonly notice: string,
    private readonly threads: number,
  ) {}

  /** Decides the provider by opening `probeModel` (any model of the run). */
  static async open(request: ProviderRequest, probeModel: Uint8Array, threads = 0): Promise<SessionFactory> {
    if (request === 'cpu') return new SessionFactory('cpu', 'Execution provider: CPU (requested).', threads);
    const missing = missingCudaLibrary();
    if (missing) {
      // Trying anyway would only make ORT print a native error on stderr.
      if (request === 'cuda') throw new CraftError('provider', `The CUDA execution provider is not installed (${missing} is missing).`, CUDA_INSTALL_HINT);
      return new SessionFactory('cpu', 'Execution provider: CPU (the CUDA provider is not installed; see the README to add GPU support).', threads);
    }
    try {
      const s = await ort.InferenceSession.create(probeModel, options('cuda', threads));
      await s.release();
      return new SessionFactory('cuda', 'Execution provider: CUDA.', threads);
    } catch (e) {
      const why = firstLine(e);
      if (request === 'cuda') {
        throw new CraftError('provider', `The CUDA execution provider could not be loaded: ${why}`, CUDA_INSTALL_HINT);
      }
      return new SessionFactory('cpu', `Execution provider: CPU (CUDA not available: ${why}).`, threads);
    }
  }

  /**
   * `spinning: false` for sessions called many times in short runs between JavaScript work (the NMF
   * products, h on the masks): ORT's idle threads then sleep instead of spinning on a core the main
   * thread and libuv need (on the clip-art MobileNetV2 benchmark the NMF took 0.89 s instead of 1.23 s, with half the CPU time).
   */
  async create(model: Uint8Array, what: string, tuning: { spinning?: boolean } = {}): Promise<ort.InferenceSession> {
    try {
      return await ort.InferenceSession.create(model, options(this.provider, this.threads, tuning.spinning ?? true));
    } catch (e) {
      throw new CraftError('model', `ONNX Runtime could not load ${what}: ${firstLine(e)}`);
    }
  }
}

/** Where onnxruntime-node keeps its native libraries on this platform. */
export function ortBinaryDir(): string {
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** The CUDA provider library's name when it is absent (CUDA cannot load), else undefined. */
function missingCudaLibrary(): string | undefined {
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  try {
    return fs.existsSync(path.join(ortBinaryDir(), lib)) ? undefined : lib;
  } catch {
    return undefined; // unknown layout: let ORT decide
  }
}

function options(provider: ProviderName, threads: number, spinning = true): ort.InferenceSession.SessionOptions {
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
  session: ort.InferenceSession,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
  outputs: string[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const tensors: Record<string, ort.Tensor> = {};
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

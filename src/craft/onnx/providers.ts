/**
 * Which ONNX Runtime execution provider a run uses. onnxruntime-node 1.30 bundles the CPU provider
 * everywhere, WebGPU on Linux x64, Windows and Apple-silicon macOS, DirectML on Windows and CoreML on
 * Apple-silicon macOS; CUDA (Linux x64) is an extra download that also needs the CUDA runtime and
 * cuDNN 9. 'auto' takes the first of CUDA, DirectML / CoreML, WebGPU that passes the checks here and
 * really runs a probe model with the CPU's results, else the CPU, and says why each better one was
 * skipped. A software GPU (SwiftShader, lavapipe, Microsoft Basic Render Driver) is never chosen by
 * 'auto': on Linux it is recognised from the Vulkan driver files before anything is loaded; elsewhere
 * (and as a second guard) by a probe that runs far slower than on the CPU.
 *
 * Everything this module learns about the machine goes through HostFacts and a Trial function, so the
 * selection logic is tested with a faked platform and loader.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { ProviderName, ProviderRequest } from '../../protocol';

/** What the selection reads from the machine. */
export interface HostFacts {
  platform: NodeJS.Platform;
  arch: string;
  env: Record<string, string | undefined>;
  /** Folder of onnxruntime-node's native files for this platform. */
  ortDir: string;
  exists(file: string): boolean;
  read(file: string): string | undefined;
  list(dir: string): string[];
  /** A command's stdout, or undefined when it cannot run (missing, non-zero exit, timeout). */
  exec(command: string, args: string[]): string | undefined;
}

/** The outcome of loading a provider and running the probe model on it. */
export type Trial = { ok: true; /** Median ms of a probe run on the provider, and on the CPU. */ ms: number; cpuMs: number } | { ok: false; reason: string };

export interface Choice {
  provider: ProviderName;
  /** One line for the user: which provider runs, and why each better one was skipped. */
  notice: string;
  skipped: { provider: ProviderName; reason: string }[];
  /** The device, where the machine tells it (e.g. "NVIDIA H200", "SwiftShader (software Vulkan)"). */
  device?: string;
}

/** 'auto' tries these, best first; the CPU always works. */
export function autoOrder(platform: NodeJS.Platform): ProviderName[] {
  if (platform === 'win32') return ['cuda', 'dml', 'webgpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu'];
  return ['cuda', 'webgpu'];
}

/** A probe that runs this many times slower than the CPU marks a software or unusable GPU. */
export const SLOWER_THAN_CPU = 10;

export const CUDA_INSTALL_HINT =
  'CUDA support is an extra install step: on a machine with an NVIDIA driver, the CUDA 12 runtime, cuDNN 9 and internet, run ' +
  '`ONNXRUNTIME_NODE_INSTALL=1 node node_modules/onnxruntime-node/script/install.js` in the folder that holds node_modules ' +
  '(for the VS Code extension: its install folder), then use --provider auto or cuda.';

const NAMES: Record<ProviderName, string> = { cpu: 'CPU', cuda: 'CUDA', webgpu: 'WebGPU', dml: 'DirectML', coreml: 'CoreML' };
export const providerTitle = (p: ProviderName): string => NAMES[p];

export interface VulkanDriver {
  /** The driver file (ICD manifest). */
  file: string;
  library: string;
  software: boolean;
  name: string;
}

/** Vulkan driver libraries that are CPU implementations. */
const SOFTWARE_VULKAN = [/swiftshader/i, /lvp|lavapipe/i, /llvmpipe/i, /mock_icd/i];

/**
 * The Vulkan drivers the loader would use: VK_DRIVER_FILES / VK_ICD_FILENAMES when set (as the loader
 * itself does), else the manifests in the standard folders.
 */
export function vulkanDrivers(host: HostFacts): VulkanDriver[] {
  const fromEnv = host.env.VK_DRIVER_FILES ?? host.env.VK_ICD_FILENAMES;
  let files: string[];
  if (fromEnv) {
    files = fromEnv
      .split(':')
      .filter(Boolean)
      .flatMap((f) => (f.endsWith('.json') ? [f] : host.list(f).map((n) => path.join(f, n))));
  } else {
    const home = host.env.HOME ?? '';
    const dirs = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d', path.join(home, '.local/share/vulkan/icd.d')];
    files = dirs.flatMap((d) =>
      host
        .list(d)
        .filter((n) => n.endsWith('.json'))
        .map((n) => path.join(d, n)),
    );
  }
  const drivers: VulkanDriver[] = [];
  for (const file of files) {
    let library = '';
    try {
      library = String((JSON.parse(host.read(file) ?? '{}') as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
    } catch {
      continue;
    }
    if (!library) continue;
    const software = SOFTWARE_VULKAN.some((re) => re.test(library) || re.test(path.basename(file)));
    drivers.push({ file, library, software, name: driverName(file, library) });
  }
  return drivers;
}

function driverName(file: string, library: string): string {
  const id = `${path.basename(file)} ${library}`.toLowerCase();
  if (id.includes('swiftshader')) return 'SwiftShader (software Vulkan)';
  if (id.includes('lvp') || id.includes('lavapipe')) return 'lavapipe (software Vulkan)';
  if (id.includes('nvidia')) return 'NVIDIA (Vulkan)';
  if (id.includes('radeon') || id.includes('amd')) return 'AMD (Vulkan)';
  if (id.includes('intel')) return 'Intel (Vulkan)';
  return path.basename(library);
}

/** Shared libraries a library needs that the loader cannot find (from ldd; Linux only). */
export function missingLibraries(library: string, host: HostFacts): string[] {
  const out = host.exec('ldd', [library]);
  if (!out) return [];
  return out.split('\n').flatMap((line) => {
    const m = /^\s*(\S+)\s*=>\s*not found/.exec(line);
    return m ? [m[1]] : [];
  });
}

/** The NVIDIA GPU's name, when nvidia-smi answers. */
function nvidiaName(host: HostFacts): string | undefined {
  return host.exec('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'])?.split('\n')[0]?.trim() || undefined;
}

/**
 * Why `provider` cannot run on this machine, from what can be checked without loading it, and what
 * to do about it; undefined when it is worth a try.
 */
export function staticReason(provider: ProviderName, host: HostFacts, auto: boolean): string | undefined {
  const { platform, arch } = host;
  switch (provider) {
    case 'cpu':
      return undefined;
    case 'dml':
      return platform === 'win32' ? undefined : 'DirectML exists only on Windows; use --provider auto, cpu or webgpu here.';
    case 'coreml':
      return platform === 'darwin' && arch === 'arm64' ? undefined : 'CoreML exists only on Apple-silicon macOS; use --provider auto, cpu or webgpu here.';
    case 'cuda': {
      if (platform !== 'linux' || arch !== 'x64') return 'onnxruntime-node ships its CUDA provider for Linux x64 only; use --provider auto here.';
      const lib = path.join(host.ortDir, 'libonnxruntime_providers_cuda.so');
      if (!host.exists(lib)) return `the CUDA provider is not installed (libonnxruntime_providers_cuda.so is missing). ${CUDA_INSTALL_HINT}`;
      const missing = missingLibraries(lib, host);
      if (missing.length) {
        const what = missing.some((m) => m.startsWith('libcudnn'))
          ? 'cuDNN 9'
          : missing.some((m) => /cublas|cudart|cufft|curand/.test(m))
            ? 'the CUDA 12 runtime'
            : 'its libraries';
        return `the CUDA provider cannot load: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing. Install ${what} (and check LD_LIBRARY_PATH), or use --provider cpu.`;
      }
      return undefined;
    }
    case 'webgpu': {
      if (!((platform === 'linux' && arch === 'x64') || platform === 'win32' || (platform === 'darwin' && arch === 'arm64'))) {
        return `onnxruntime-node 1.30 has no WebGPU provider for ${platform}-${arch}; use --provider cpu.`;
      }
      if (platform !== 'linux') return undefined;
      if (!hasVulkanLoader(host)) return 'WebGPU needs the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: apt install libvulkan1) and a Vulkan driver.';
      const drivers = vulkanDrivers(host);
      if (drivers.length === 0) return "no Vulkan driver is installed (NVIDIA: its proprietary driver; AMD/Intel: Mesa's mesa-vulkan-drivers).";
      if (auto) {
        // A hardware driver needs a GPU device node to drive: Mesa's drivers /dev/dri/renderD*, NVIDIA's /dev/nvidiactl.
        const gpu = host.list('/dev/dri').some((n) => n.startsWith('renderD')) || host.exists('/dev/nvidiactl');
        const hardware = drivers.filter((d) => !d.software);
        if (hardware.length === 0 || !gpu) {
          const soft = drivers.filter((d) => d.software).map((d) => d.name);
          return soft.length
            ? `the only Vulkan device is a software one (${soft.join(', ')}), far slower than the CPU provider.`
            : 'no GPU device (/dev/dri/renderD*, /dev/nvidiactl) for its Vulkan drivers to use.';
        }
      }
      return undefined;
    }
  }
}

function hasVulkanLoader(host: HostFacts): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib'];
  if (dirs.some((d) => host.exists(path.join(d, 'libvulkan.so.1')))) return true;
  return /libvulkan\.so\.1\b/.test(host.exec('ldconfig', ['-p']) ?? '');
}

/** The device a provider runs on, where the machine tells it. */
export function deviceName(provider: ProviderName, host: HostFacts): string | undefined {
  if (provider === 'cuda') return nvidiaName(host);
  if (provider === 'webgpu' && host.platform === 'linux') {
    const drivers = vulkanDrivers(host);
    const hardware = drivers.filter((d) => !d.software);
    const pick = hardware[0] ?? drivers[0];
    if (!pick) return undefined;
    return pick.name.startsWith('NVIDIA') ? (nvidiaName(host) ?? pick.name) : pick.name;
  }
  return undefined;
}

/**
 * Picks the provider for a request. `trial` loads a provider and runs the probe on it (and on the
 * CPU); it is called only for providers that pass the static checks.
 */
export async function chooseProvider(request: ProviderRequest, host: HostFacts, trial: (p: ProviderName) => Promise<Trial>): Promise<Choice> {
  if (request === 'cpu') return { provider: 'cpu', notice: 'Execution provider: CPU (requested).', skipped: [] };
  if (request !== 'auto') {
    const why = staticReason(request, host, false);
    if (why) throw new ProviderUnavailable(request, why);
    const t = await trial(request);
    if (!t.ok) throw new ProviderUnavailable(request, t.reason);
    const device = deviceName(request, host);
    const slow = t.ms > SLOWER_THAN_CPU * t.cpuMs ? ` It ran the probe ${Math.round(t.ms / t.cpuMs)}× slower than the CPU.` : '';
    return { provider: request, notice: `Execution provider: ${NAMES[request]}${device ? ` on ${device}` : ''} (requested).${slow}`, skipped: [], device };
  }
  const skipped: Choice['skipped'] = [];
  for (const p of autoOrder(host.platform)) {
    const why = staticReason(p, host, true);
    if (why) {
      skipped.push({ provider: p, reason: why });
      continue;
    }
    const t = await trial(p);
    if (!t.ok) {
      skipped.push({ provider: p, reason: t.reason });
      continue;
    }
    if (t.ms > SLOWER_THAN_CPU * t.cpuMs) {
      skipped.push({ provider: p, reason: `it ran the probe model ${Math.round(t.ms / t.cpuMs)}× slower than the CPU (a software or very weak device).` });
      continue;
    }
    const device = deviceName(p, host);
    return { provider: p, notice: `Execution provider: ${NAMES[p]}${device ? ` on ${device}` : ''} (auto).${skippedText(skipped)}`, skipped, device };
  }
  return { provider: 'cpu', notice: `Execution provider: CPU (auto).${skippedText(skipped)}`, skipped };
}

function skippedText(skipped: Choice['skipped']): string {
  return skipped.length ? ` Not used: ${skipped.map((s) => `${NAMES[s.provider]}: ${s.reason.split('. ')[0].replace(/\.$/, '')}`).join('; ')}.` : '';
}

/** A named provider that cannot run here: the CLI exits 5 with this message. */
export class ProviderUnavailable extends Error {
  constructor(
    readonly provider: ProviderName,
    readonly reason: string,
  ) {
    super(`The ${NAMES[provider]} execution provider cannot run here: ${reason}`);
    this.name = 'ProviderUnavailable';
  }
}

/** This machine, as the selection sees it. */
export function realHost(ortDir: string): HostFacts {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    ortDir,
    exists: (f) => fs.existsSync(f),
    read: (f) => {
      try {
        return fs.readFileSync(f, 'utf8');
      } catch {
        return undefined;
      }
    },
    list: (d) => {
      try {
        return fs.readdirSync(d);
      } catch {
        return [];
      }
    },
    exec: (command, args) => {
      const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
      return r.status === 0 ? r.stdout : undefined;
    },
  };
}

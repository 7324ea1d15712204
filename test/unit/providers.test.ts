/**
 * Execution-provider selection (src/craft/onnx/providers.ts) with the machine faked at its boundary
 * (HostFacts: platform, files, commands) and the loader faked as a trial outcome; the real "not
 * available here" errors on this Linux machine are checked against the real host too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseProvider,
  missingLibraries,
  ProviderUnavailable,
  realHost,
  staticReason,
  vulkanDrivers,
  type HostFacts,
  type Trial,
} from '../../src/craft/onnx/providers';
import { ortBinaryDir } from '../../src/craft/onnx/sessions';
import type { ProviderName } from '../../src/protocol';

const ORT = '/ext/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';

/** A fake machine: files with contents, folders listed from them, command outputs. */
function host(
  o: { platform?: NodeJS.Platform; arch?: string; files?: Record<string, string>; commands?: Record<string, string>; env?: Record<string, string> } = {},
): HostFacts {
  const files = o.files ?? {};
  return {
    platform: o.platform ?? 'linux',
    arch: o.arch ?? 'x64',
    env: o.env ?? { HOME: '/home/u' },
    ortDir: ORT,
    exists: (f) => f in files,
    read: (f) => files[f],
    list: (d) =>
      Object.keys(files)
        .filter((f) => f.startsWith(d + '/') && !f.slice(d.length + 1).includes('/'))
        .map((f) => f.slice(d.length + 1)),
    exec: (cmd, args) => o.commands?.[[cmd, ...args].join(' ')],
  };
}

const VULKAN = { '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': '' };
const SWIFTSHADER = { '/usr/share/vulkan/icd.d/vk_swiftshader_icd.json': JSON.stringify({ ICD: { library_path: '/usr/lib/chromium/libvk_swiftshader.so' } }) };
const LAVAPIPE = { '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': JSON.stringify({ ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so' } }) };
const NVIDIA_ICD = { '/usr/share/vulkan/icd.d/nvidia_icd.json': JSON.stringify({ ICD: { library_path: 'libGLX_nvidia.so.0' } }), '/dev/nvidiactl': '' };
const MESA_ICDS = {
  '/usr/share/vulkan/icd.d/intel_icd.x86_64.json': JSON.stringify({ ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_intel.so' } }),
  '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json': JSON.stringify({ ICD: { library_path: '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so' } }),
};
const CUDA_LIB = { [`${ORT}/libonnxruntime_providers_cuda.so`]: '' };
const SMI = { 'nvidia-smi --query-gpu=name --format=csv,noheader': 'NVIDIA H200\n' };

/** A loader that records what it was asked and answers from a table (default: runs at CPU speed). */
function loader(outcomes: Partial<Record<ProviderName, Trial>> = {}) {
  const tried: ProviderName[] = [];
  const trial = async (p: ProviderName): Promise<Trial> => {
    tried.push(p);
    return outcomes[p] ?? { ok: true, ms: 5, cpuMs: 10 };
  };
  return { tried, trial };
}

test('auto on Linux with CUDA installed and working picks CUDA, names the GPU, tries nothing else', async () => {
  const l = loader();
  const c = await chooseProvider(
    'auto',
    host({ files: { ...CUDA_LIB }, commands: { [`ldd ${ORT}/libonnxruntime_providers_cuda.so`]: '\tlibcudnn.so.9 => /usr/lib/libcudnn.so.9\n', ...SMI } }),
    l.trial,
  );
  assert.equal(c.provider, 'cuda');
  assert.equal(c.device, 'NVIDIA H200');
  assert.deepEqual(l.tried, ['cuda']);
  assert.match(c.notice, /^Execution provider: CUDA on NVIDIA H200 \(auto\)\.$/);
});

test('auto: CUDA without cuDNN is skipped naming the missing library (read from ldd), WebGPU on an NVIDIA Vulkan driver is used', async () => {
  const l = loader();
  const h = host({
    files: { ...CUDA_LIB, ...VULKAN, ...NVIDIA_ICD },
    commands: { [`ldd ${ORT}/libonnxruntime_providers_cuda.so`]: '\tlibcudnn.so.9 => not found\n\tlibcublas.so.12 => /usr/lib/libcublas.so.12\n', ...SMI },
  });
  const c = await chooseProvider('auto', h, l.trial);
  assert.equal(c.provider, 'webgpu');
  assert.deepEqual(l.tried, ['webgpu'], 'CUDA is not even loaded when a library is missing');
  assert.equal(c.device, 'NVIDIA H200');
  assert.match(c.skipped[0].reason, /libcudnn\.so\.9 is missing\. Install cuDNN 9/);
  assert.match(c.notice, /Not used: CUDA: the CUDA provider cannot load: libcudnn\.so\.9 is missing/);
});

test('auto on a machine whose only Vulkan device is software (SwiftShader, lavapipe) picks the CPU and says why', async () => {
  for (const icd of [SWIFTSHADER, LAVAPIPE]) {
    const l = loader();
    const c = await chooseProvider('auto', host({ files: { ...VULKAN, ...icd } }), l.trial);
    assert.equal(c.provider, 'cpu');
    assert.deepEqual(l.tried, [], 'nothing is loaded');
    assert.match(
      c.notice,
      /^Execution provider: CPU \(auto\)\. Not used: CUDA: the CUDA provider is not installed .*; WebGPU: the only Vulkan device is a software one \((SwiftShader|lavapipe) \(software Vulkan\)\), far slower than the CPU provider\.$/,
    );
  }
});

test("auto: Mesa's hardware Vulkan drivers without a GPU device node (a VM, a container) are not tried; with /dev/dri they are", async () => {
  const l = loader();
  const c = await chooseProvider('auto', host({ files: { ...VULKAN, ...MESA_ICDS, ...LAVAPIPE } }), l.trial);
  assert.equal(c.provider, 'cpu');
  assert.deepEqual(l.tried, []);
  assert.match(c.skipped[1].reason, /software one \(lavapipe/);
  assert.match(staticReason('webgpu', host({ files: { ...VULKAN, ...MESA_ICDS } }), true)!, /no GPU device \(\/dev\/dri\/renderD\*, \/dev\/nvidiactl\)/);
  assert.equal(staticReason('webgpu', host({ files: { ...VULKAN, ...MESA_ICDS, '/dev/dri/renderD128': '' } }), true), undefined);
});

test('auto: VK_ICD_FILENAMES pointing at SwiftShader counts as software too; a hardware driver beside it does not hide', () => {
  const swift = { '/opt/sw/icd.json': JSON.stringify({ ICD: { library_path: '/opt/sw/libvk_swiftshader.so' } }) };
  assert.match(
    staticReason('webgpu', host({ files: { ...VULKAN, ...NVIDIA_ICD, ...swift }, env: { VK_ICD_FILENAMES: '/opt/sw/icd.json' } }), true)!,
    /software/,
  );
  assert.equal(staticReason('webgpu', host({ files: { ...VULKAN, ...NVIDIA_ICD, ...SWIFTSHADER } }), true), undefined);
  assert.deepEqual(
    vulkanDrivers(host({ files: { ...NVIDIA_ICD, ...SWIFTSHADER } })).map((d) => [d.name, d.software]),
    [
      ['NVIDIA (Vulkan)', false],
      ['SwiftShader (software Vulkan)', true],
    ],
  );
});

test('auto: a provider that loads but runs the probe 10× slower than the CPU (a software adapter elsewhere) is skipped', async () => {
  const l = loader({ dml: { ok: true, ms: 900, cpuMs: 12 }, webgpu: { ok: true, ms: 40, cpuMs: 12 } });
  const c = await chooseProvider('auto', host({ platform: 'win32' }), l.trial);
  assert.deepEqual(l.tried, ['dml', 'webgpu']);
  assert.equal(c.provider, 'webgpu');
  assert.match(c.skipped.find((s) => s.provider === 'dml')!.reason, /75× slower than the CPU/);
});

test('auto order per platform: Windows CUDA → DirectML → WebGPU, Apple silicon CoreML → WebGPU, then the CPU', async () => {
  const fail: Trial = { ok: false, reason: 'could not create a session: boom' };
  const win = loader({ dml: fail, webgpu: fail });
  assert.equal((await chooseProvider('auto', host({ platform: 'win32' }), win.trial)).provider, 'cpu');
  assert.deepEqual(win.tried, ['dml', 'webgpu'], 'CUDA is Linux-only in onnxruntime-node 1.30');
  const mac = loader({ coreml: fail });
  const m = await chooseProvider('auto', host({ platform: 'darwin', arch: 'arm64' }), mac.trial);
  assert.equal(m.provider, 'webgpu');
  assert.deepEqual(mac.tried, ['coreml', 'webgpu']);
  assert.match(m.notice, /Not used: CoreML: could not create a session: boom/);
  const arm = loader();
  assert.equal((await chooseProvider('auto', host({ arch: 'arm64' }), arm.trial)).provider, 'cpu');
  assert.deepEqual(arm.tried, [], 'Linux arm64 has only the CPU provider');
});

test('a named provider that cannot run here is a ProviderUnavailable saying what to do on this platform', async () => {
  const l = loader();
  const cases: [ProviderName, HostFacts, RegExp][] = [
    ['dml', host(), /DirectML exists only on Windows/],
    ['coreml', host({ platform: 'win32' }), /CoreML exists only on Apple-silicon macOS/],
    ['cuda', host({ platform: 'darwin', arch: 'arm64' }), /CUDA provider for Linux x64 only/],
    ['cuda', host(), /not installed \(libonnxruntime_providers_cuda\.so is missing\)\. CUDA support is an extra install step.*ONNXRUNTIME_NODE_INSTALL=1/],
    ['webgpu', host({ arch: 'arm64' }), /no WebGPU provider for linux-arm64/],
    ['webgpu', host(), /Vulkan loader libvulkan\.so\.1 \(Debian\/Ubuntu: apt install libvulkan1\)/],
    ['webgpu', host({ files: VULKAN }), /no Vulkan driver is installed/],
  ];
  for (const [p, h, message] of cases) {
    await assert.rejects(
      chooseProvider(p, h, l.trial),
      (e: unknown) => e instanceof ProviderUnavailable && message.test(e.message),
      `${p} on ${h.platform}-${h.arch}`,
    );
  }
  assert.deepEqual(l.tried, []);
  // A named provider whose load fails passes the loader's reason on.
  await assert.rejects(
    chooseProvider('dml', host({ platform: 'win32' }), async () => ({ ok: false, reason: 'no D3D12 adapter' })),
    /DirectML execution provider cannot run here: no D3D12 adapter/,
  );
});

test('a named software device still runs when asked for by name (CI), and the notice says how slow it was', async () => {
  const c = await chooseProvider('webgpu', host({ files: { ...VULKAN, ...SWIFTSHADER } }), async () => ({ ok: true, ms: 2000, cpuMs: 10 }));
  assert.equal(c.provider, 'webgpu');
  assert.equal(c.device, 'SwiftShader (software Vulkan)');
  assert.match(c.notice, /WebGPU on SwiftShader \(software Vulkan\) \(requested\)\. It ran the probe 200× slower than the CPU\./);
});

test('missingLibraries reads ldd\'s "not found" lines', () => {
  const h = host({
    commands: { 'ldd /x.so': '\tlinux-vdso.so.1 (0x1)\n\tlibcudnn.so.9 => not found\n\tlibcudart.so.12 => not found\n\tlibc.so.6 => /lib/libc.so.6\n' },
  });
  assert.deepEqual(missingLibraries('/x.so', h), ['libcudnn.so.9', 'libcudart.so.12']);
});

test('on this Linux x64 machine: the real "not available here" errors', async () => {
  const real = realHost(ortBinaryDir());
  assert.match(staticReason('dml', real, false)!, /only on Windows/);
  assert.match(staticReason('coreml', real, false)!, /only on Apple-silicon macOS/);
  // CUDA is an extra download that this repository's install skips.
  assert.match(staticReason('cuda', real, false) ?? 'loadable', /not installed|cannot load|loadable/);
});

/**
 * The WebGPU path for real, on a software Vulkan device (Chromium's SwiftShader, installed with the
 * test dependencies): the CLI explains the sample on 8 images with --provider webgpu and gets the CPU
 * run's concepts, within the tolerance the README states for GPU providers; 'auto' on the same
 * machine, whose only Vulkan device is software, runs on the CPU and says why. SwiftShader is some
 * 200× slower than the CPU provider, so the run is small (8 images, 4 designs): about a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ResultsBundle } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** The tolerance on importances the README guarantees for GPU providers against the CPU's. */
const GPU_TOLERANCE = 1e-3;

function explain(provider: string): { code: number | null; stderr: string; bundle?: ResultsBundle } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `craft-${provider}-`));
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-xdg-'));
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'bin/craft.js'),
      'explain',
      '--config',
      path.join(ROOT, 'sample/craft.config.json'),
      '--max-images',
      '8',
      '--designs',
      '4',
      '--provider',
      provider,
      '--out',
      out,
      '--json',
    ],
    { encoding: 'utf8', timeout: 600_000, env: { ...process.env, VK_ICD_FILENAMES: ICD, XDG_RUNTIME_DIR: runtime } },
  );
  const dir = r.status === 0 ? (JSON.parse(r.stdout) as { dir: string }).dir : undefined;
  return { code: r.status, stderr: r.stderr, bundle: dir ? (JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsBundle) : undefined };
}

test(
  "WebGPU on SwiftShader gives the CPU run's concepts: same top 3, importances within the stated tolerance; results.json says webgpu",
  { timeout: 900_000 },
  () => {
    assert.ok(fs.existsSync(ICD), `${ICD} is missing: install Debian's chromium (scripts/setup-system.sh does)`);
    const cpu = explain('cpu');
    assert.equal(cpu.code, 0, cpu.stderr);
    const gpu = explain('webgpu');
    assert.equal(gpu.code, 0, gpu.stderr);
    const [c, g] = [cpu.bundle!, gpu.bundle!];
    assert.equal(g.provider, 'webgpu');
    assert.equal(g.providerDetails?.device, 'SwiftShader (software Vulkan)');
    assert.match(g.providerDetails!.notice, /WebGPU on SwiftShader \(software Vulkan\) \(requested\)\. It ran the probe \d+× slower than the CPU/);
    // Every node of g and h ran on the GPU (nothing fell back to the CPU).
    assert.ok(g.providerDetails!.nodeShare!.g > 0.9 && g.providerDetails!.nodeShare!.h > 0.9, JSON.stringify(g.providerDetails!.nodeShare));
    assert.deepEqual(g.ranking.slice(0, 3), c.ranking.slice(0, 3));
    const worst = Math.max(...g.importances.map((v, i) => Math.abs(v - c.importances[i])));
    assert.ok(worst <= GPU_TOLERANCE, `max |Δ importance| ${worst}`);
    assert.equal(c.providerDetails?.nodeShare, undefined, 'the CPU run is not profiled');
  },
);

test('auto on a machine whose only Vulkan device is software picks the CPU and says why', () => {
  const auto = explain('auto');
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal(auto.bundle!.provider, 'cpu');
  assert.match(
    auto.bundle!.providerDetails!.notice,
    /^Execution provider: CPU \(auto\)\. Not used: .*WebGPU: the only Vulkan device is a software one \(SwiftShader \(software Vulkan\)\)/,
  );
  assert.match(auto.stderr, /Execution provider: CPU \(auto\)/);
});

// The pure part of the per-platform packaging (scripts/vsix-files.js): which packages and which files
// each target's VSIX carries, on the real package-lock.json and on a fake node_modules tree. The VSIXs
// themselves are checked by test/integration/vsix-contents.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

interface Pkg {
  path: string;
  name: string;
  version: string;
  integrity?: string;
}
interface VsixFiles {
  TARGETS: Record<string, { os: string; cpu: string; libc?: string }>;
  platformMatches(entry: object, target: string): boolean;
  productionPackages(lock: object, target: string, bundled?: string[]): Pkg[];
  keepFile(name: string, rel: string, target: string): boolean;
  packageFiles(name: string, dir: string, target: string): string[];
  extensionFiles(root: string): string[];
  stagedManifest(manifest: object): Record<string, unknown>;
}
// A plain CommonJS script (run by node without a build); its shape is declared above.
const vf = require(path.join(ROOT, 'scripts', 'vsix-files.js')) as VsixFiles;

const TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-arm64'];

function write(file: string, text = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

test('the targets are the five onnxruntime-node 1.30 serves (no darwin-x64)', () => {
  assert.deepEqual(Object.keys(vf.TARGETS).sort(), [...TARGETS].sort());
});

test('on the real package-lock.json each target gets its own sharp packages, at the versions sharp names', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const sharpOptional = lock.packages['node_modules/sharp'].optionalDependencies as Record<string, string>;
  const expected: Record<string, string[]> = {
    'linux-x64': ['@img/sharp-libvips-linux-x64', '@img/sharp-linux-x64'],
    'linux-arm64': ['@img/sharp-libvips-linux-arm64', '@img/sharp-linux-arm64'],
    'win32-x64': ['@img/sharp-win32-x64'],
    'win32-arm64': ['@img/sharp-win32-arm64'],
    'darwin-arm64': ['@img/sharp-darwin-arm64', '@img/sharp-libvips-darwin-arm64'],
  };
  for (const target of TARGETS) {
    const pkgs = vf.productionPackages(lock, target);
    const names = pkgs.map((p) => p.name);
    assert.deepEqual(names.filter((n) => n.startsWith('@img/sharp-')).sort(), expected[target], target);
    for (const p of pkgs.filter((q) => q.name.startsWith('@img/sharp-'))) {
      assert.equal(p.version, sharpOptional[p.name], `${target}: ${p.name}`);
      assert.match(p.integrity ?? '', /^sha512-/, `${target}: ${p.name} has an integrity to check the download against`);
    }
    for (const n of ['onnxruntime-node', 'onnxruntime-common', 'sharp', '@img/colour', 'detect-libc', 'semver'])
      assert.ok(names.includes(n), `${target}: ${n}`);
    // Bundled into media/webview.js, or only for development.
    for (const n of ['@vscode/webview-ui-toolkit', 'react', '@microsoft/fast-foundation', 'typescript', '@vscode/vsce', 'playwright-core'])
      assert.ok(!names.includes(n), `${target}: ${n}`);
  }
});

test('platform matching follows npm: os/cpu lists, negations, libc only on Linux', () => {
  assert.equal(vf.platformMatches({}, 'win32-x64'), true);
  assert.equal(vf.platformMatches({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] }, 'linux-x64'), true);
  assert.equal(vf.platformMatches({ os: ['linux'], cpu: ['x64'], libc: ['musl'] }, 'linux-x64'), false);
  assert.equal(vf.platformMatches({ os: ['linux'], cpu: ['arm64'] }, 'linux-x64'), false);
  assert.equal(vf.platformMatches({ os: ['!win32'] }, 'win32-arm64'), false);
  assert.equal(vf.platformMatches({ os: ['!win32'] }, 'darwin-arm64'), true);
  assert.equal(vf.platformMatches({ libc: ['glibc'] }, 'darwin-arm64'), false);
  assert.equal(vf.platformMatches({ cpu: ['wasm32'] }, 'linux-x64'), false);
});

test('the package closure resolves nested copies first, skips optional packages of other platforms, refuses required ones', () => {
  const lock = {
    packages: {
      '': { dependencies: { app: '1', bundled: '1' }, devDependencies: { tool: '1' } },
      'node_modules/app': {
        version: '1.0.0',
        dependencies: { util: '^2' },
        optionalDependencies: { '@x/native-linux': '1', '@x/native-win': '1', '@x/not-locked': '1' },
      },
      'node_modules/app/node_modules/util': { version: '2.0.0' },
      'node_modules/util': { version: '1.0.0' },
      'node_modules/@x/native-linux': { version: '1.0.0', os: ['linux'], cpu: ['x64'], optional: true, dependencies: { util: '^1' } },
      'node_modules/@x/native-win': { version: '1.0.0', os: ['win32'], cpu: ['x64'], optional: true },
      'node_modules/bundled': { version: '1.0.0' },
      'node_modules/tool': { version: '1.0.0', dev: true },
    },
  };
  const paths = (t: string): string[] => vf.productionPackages(lock, t, ['bundled']).map((p) => p.path);
  assert.deepEqual(paths('linux-x64'), ['node_modules/@x/native-linux', 'node_modules/app', 'node_modules/app/node_modules/util', 'node_modules/util']);
  assert.deepEqual(paths('win32-x64'), ['node_modules/@x/native-win', 'node_modules/app', 'node_modules/app/node_modules/util']);
  assert.deepEqual(paths('darwin-arm64'), ['node_modules/app', 'node_modules/app/node_modules/util']);

  const broken = structuredClone(lock) as { packages: Record<string, object> };
  broken.packages['node_modules/app/node_modules/util'] = { version: '2.0.0', os: ['linux'] };
  delete broken.packages['node_modules/util'];
  assert.throws(() => vf.productionPackages(broken, 'win32-x64', ['bundled']), /util \(needed by node_modules\/app\) does not install on win32-x64/);
  delete broken.packages['node_modules/app/node_modules/util'];
  assert.throws(() => vf.productionPackages(broken, 'linux-x64', ['bundled']), /util \(needed by node_modules\/app\) is not in package-lock.json/);
});

test('each target keeps only its own onnxruntime-node binaries, and no docs, sources, tests or tool settings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-pack-'));
  try {
    const ort = path.join(dir, 'onnxruntime-node');
    const bins: Record<string, string[]> = {
      'linux/x64': ['libonnxruntime.so.1', 'onnxruntime_binding.node', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'],
      'linux/arm64': ['libonnxruntime.so.1', 'onnxruntime_binding.node'],
      'win32/x64': ['onnxruntime.dll', 'DirectML.dll', 'dxil.dll', 'dxcompiler.dll', 'onnxruntime_binding.node'],
      'win32/arm64': ['onnxruntime.dll', 'DirectML.dll', 'dxil.dll', 'dxcompiler.dll', 'onnxruntime_binding.node'],
      'darwin/arm64': ['libonnxruntime.1.30.0.dylib', 'libonnxruntime.1.dylib', 'onnxruntime_binding.node'],
    };
    for (const [osArch, files] of Object.entries(bins)) for (const f of files) write(path.join(ort, 'bin/napi-v6', osArch, f));
    for (const f of [
      'package.json',
      'LICENSE',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'lib/index.ts',
      'script/install.js',
      '.eslintrc',
      '.github/FUNDING.yml',
      'test/a.js',
      'dist/a.test.js',
      'tsconfig.json',
      'CHANGELOG.md',
      'node_modules/nested/index.js',
    ])
      write(path.join(ort, f));

    const common = ['LICENSE', 'dist/index.js', 'package.json', 'script/install.js'];
    const expected: Record<string, string[]> = {
      'linux-x64': ['bin/napi-v6/linux/x64/libonnxruntime.so.1', 'bin/napi-v6/linux/x64/onnxruntime_binding.node'],
      'linux-arm64': ['bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'bin/napi-v6/linux/arm64/onnxruntime_binding.node'],
      'win32-x64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'].map((f) => `bin/napi-v6/win32/x64/${f}`),
      'win32-arm64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'].map((f) => `bin/napi-v6/win32/arm64/${f}`),
      'darwin-arm64': ['bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib', 'bin/napi-v6/darwin/arm64/onnxruntime_binding.node'],
    };
    for (const target of TARGETS) {
      assert.deepEqual(vf.packageFiles('onnxruntime-node', ort, target), [...expected[target], ...common].sort(), target);
    }

    // The bin rule is onnxruntime-node's own; sharp's C++ sources are dropped, its dist kept.
    const sharp = path.join(dir, 'sharp');
    for (const f of ['package.json', 'LICENSE', 'dist/index.cjs', 'dist/index.mjs', 'src/sharp.cc', 'src/binding.gyp', 'install/build.js', 'bin/x.js'])
      write(path.join(sharp, f));
    assert.deepEqual(vf.packageFiles('sharp', sharp, 'win32-x64'), [
      'LICENSE',
      'bin/x.js',
      'dist/index.cjs',
      'dist/index.mjs',
      'install/build.js',
      'package.json',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the staged package.json has no scripts, no dev dependencies and no bundled dependency', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const staged = vf.stagedManifest(manifest);
  assert.equal(staged.scripts, undefined, 'vsce would run vscode:prepublish (npm run build) in the staging folder');
  assert.equal(staged.devDependencies, undefined);
  assert.deepEqual(Object.keys(staged.dependencies as object).sort(), ['onnxruntime-node', 'sharp']);
  assert.equal(staged.main, manifest.main);
  assert.deepEqual(staged.contributes, manifest.contributes);
  assert.ok(manifest.scripts['vscode:prepublish'], 'the repository manifest itself is left alone');
});

test('the extension files are the build output without source maps, plus README, LICENSE and the method doc', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-pack-root-'));
  try {
    for (const f of ['README.md', 'LICENSE', 'docs/method.md', 'docs/other.md', 'media/webview.js', 'schemas/s.json', 'src/a.ts', 'out/test/t.js'])
      write(path.join(root, f));
    assert.throws(() => vf.extensionFiles(root), /out\/src\/ is missing: run npm run build first/);
    for (const f of ['out/src/extension/index.js', 'out/src/extension/index.js.map']) write(path.join(root, f));
    assert.deepEqual(vf.extensionFiles(root), ['out/src/extension/index.js', 'media/webview.js', 'schemas/s.json', 'README.md', 'LICENSE', 'docs/method.md']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

'use strict';
// What goes into each platform's VSIX: the pure part of scripts/package-all.js (no network, no vsce), so
// that the unit suite can check the selection on a fake lockfile and node_modules tree
// (test/unit/packaging.test.ts).
//
// The production packages come from package-lock.json rather than from node_modules: the lockfile also
// records the other platforms' sharp packages (optional dependencies npm did not install here), with
// their os/cpu/libc, exact version and integrity.
const fs = require('fs');
const path = require('path');

/**
 * The VSIX targets, named as vsce names them, with the npm os/cpu/libc each one stands for. vsce's
 * linux-* targets are glibc (alpine-* are musl). darwin-x64 is left out: onnxruntime-node 1.30 ships no
 * darwin/x64 binaries.
 */
const TARGETS = {
  'linux-x64': { os: 'linux', cpu: 'x64', libc: 'glibc' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'win32-x64': { os: 'win32', cpu: 'x64' },
  'win32-arm64': { os: 'win32', cpu: 'arm64' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
};

/** Dependencies that esbuild bundles into media/webview.js: not needed at run time. */
const BUNDLED = ['@vscode/webview-ui-toolkit'];

function platformOf(target) {
  const p = TARGETS[target];
  if (!p) throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  return p;
}

/** npm's rule for one of os/cpu/libc: absent = any; `!x` excludes x; otherwise the value must be listed. */
function fieldAllows(list, value) {
  if (list === undefined) return true;
  const values = Array.isArray(list) ? list : [list];
  if (values.includes(`!${value}`)) return false;
  const positive = values.filter((v) => !v.startsWith('!'));
  return positive.length === 0 || (value !== undefined && positive.includes(value));
}

/** Whether a package (its package.json or lockfile entry) can be installed on the target. */
function platformMatches(entry, target) {
  const p = platformOf(target);
  // libc only exists on Linux: a package that names one is Linux-only.
  if (entry.libc !== undefined && p.libc === undefined) return false;
  return fieldAllows(entry.os, p.os) && fieldAllows(entry.cpu, p.cpu) && fieldAllows(entry.libc, p.libc);
}

/** The package name a lockfile path stands for: `node_modules/a/node_modules/@s/b` -> `@s/b`. */
function nameOf(lockPath) {
  const i = lockPath.lastIndexOf('node_modules/');
  return lockPath.slice(i + 'node_modules/'.length);
}

/** Node's lookup of `name` from the package at `from`, over the lockfile's paths. */
function resolveIn(packages, from, name) {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/**
 * The production packages the target's VSIX carries, from a package-lock.json (v2/v3): the closure of the
 * root's dependencies less BUNDLED, following dependencies and optionalDependencies, keeping the
 * optional ones that exist in the lockfile and match the target's os/cpu/libc. A required dependency
 * that is missing or built for another platform is an error. Peer dependencies are not followed (none of
 * ours needs one). Returns [{ path, name, version, integrity, resolved }] sorted by path.
 */
function productionPackages(lock, target, bundled = BUNDLED) {
  platformOf(target);
  const packages = lock.packages;
  if (!packages || !packages['']) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 needed)');
  const seen = new Map();
  const visit = (from, deps, optional) => {
    for (const name of Object.keys(deps || {})) {
      if (from === '' && bundled.includes(name)) continue;
      const at = resolveIn(packages, from, name);
      if (!at) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${from || 'the extension'}) is not in package-lock.json`);
      }
      const entry = packages[at];
      if (!platformMatches(entry, target)) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${from || 'the extension'}) does not install on ${target}`);
      }
      if (seen.has(at)) continue;
      seen.set(at, { path: at, name: nameOf(at), version: entry.version, integrity: entry.integrity, resolved: entry.resolved });
      visit(at, entry.dependencies, false);
      visit(at, entry.optionalDependencies, true);
    }
  };
  visit('', packages[''].dependencies, false);
  visit('', packages[''].optionalDependencies, true);
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const JUNK_NAME = /^(readme|changelog|history)(\.|$)/i;
const JUNK_EXT = /\.(ts|mts|cts|map|h)$/; // sources, type declarations, source maps, C headers
const JUNK_TEST = /\.test\.[cm]?js$/;

/**
 * Whether a file of package `name` (path relative to the package, `/`-separated) ships in the target's
 * VSIX. Keeps licences and everything else that runs; drops docs, type declarations, sources, tests and
 * tool settings, and every onnxruntime-node binary that is not the target's own.
 */
function keepFile(name, rel, target) {
  const { os, cpu } = platformOf(target);
  const parts = rel.split('/');
  const base = parts[parts.length - 1];
  if (JUNK_NAME.test(base) || JUNK_EXT.test(base) || JUNK_TEST.test(base) || base === 'tsconfig.json') return false;
  if (parts.slice(0, -1).includes('test')) return false;
  if (parts.some((p) => p.startsWith('.'))) return false; // lint, CI and editor settings (.eslintrc, .github/)
  if (name === 'sharp' && parts[0] === 'src') return false; // C++ sources, for building sharp from source
  if (name === 'onnxruntime-node' && parts[0] === 'bin') {
    const own = ['bin', 'napi-v6', os, cpu];
    if (parts.length <= own.length || own.some((p, i) => parts[i] !== p)) return false;
    // CUDA/TensorRT providers, present only where someone ran onnxruntime-node's install script: users
    // add them to the installed extension themselves (README, GPU).
    if (/^libonnxruntime_providers_/.test(base)) return false;
    // npm's tarball carries libonnxruntime.1.dylib twice, once as libonnxruntime.1.30.0.dylib (a
    // symbolic link upstream); the binding loads @rpath/libonnxruntime.1.dylib (its LC_LOAD_DYLIB).
    if (os === 'darwin' && /^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/.test(base)) return false;
  }
  return true;
}

/** Every file under `dir`, relative and `/`-separated, sorted; nested node_modules are left out. */
function listFiles(dir) {
  const out = [];
  const walk = (d, prefix) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(path.join(d, e.name), rel);
      } else if (e.isFile()) out.push(rel);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** The files of one package directory that ship for the target (relative to the package). */
function packageFiles(name, dir, target) {
  return listFiles(dir).filter((rel) => keepFile(name, rel, target));
}

/** The extension's own files, relative to the repository root: compiled code (no source maps), the
 *  results page, the settings schema, the manifest's README/LICENSE and the method document the README
 *  links to. */
function extensionFiles(root) {
  const files = [];
  for (const dir of ['out/src', 'media', 'schemas']) {
    if (!fs.existsSync(path.join(root, dir))) throw new Error(`${dir}/ is missing: run npm run build first`);
    for (const rel of listFiles(path.join(root, dir))) if (!rel.endsWith('.map')) files.push(`${dir}/${rel}`);
  }
  for (const f of ['README.md', 'LICENSE', 'docs/method.md']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing`);
    files.push(f);
  }
  return files;
}

/** The package.json that ships: no scripts (vsce would run vscode:prepublish in the staging folder), no
 *  dev dependencies, and only the dependencies the VSIX carries. */
function stagedManifest(manifest, bundled = BUNDLED) {
  const m = { ...manifest };
  delete m.scripts;
  delete m.devDependencies;
  m.dependencies = Object.fromEntries(Object.entries(manifest.dependencies || {}).filter(([n]) => !bundled.includes(n)));
  return m;
}

module.exports = { TARGETS, BUNDLED, platformMatches, productionPackages, keepFile, listFiles, packageFiles, extensionFiles, stagedManifest };

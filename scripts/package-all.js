#!/usr/bin/env node
// Builds one VSIX per platform into dist/, each with only its own platform's native files
// (onnxruntime-node's bin/napi-v6/<os>/<arch> and sharp's @img/sharp-<os>-<arch> packages).
//
//   node scripts/package-all.js [--target T]... [--out DIR] [--keep-stage]
//
// Run `npm run build` first (`npm run package:all` does both). Targets: linux-x64, linux-arm64,
// win32-x64, win32-arm64, darwin-arm64 (all by default); no darwin-x64: onnxruntime-node 1.30 ships no
// binaries for it.
//
// For each target, a temporary staging folder gets a copy of the built extension and the target's
// production node_modules, and `vsce package --target` runs there; the repository's node_modules is only
// read. What each VSIX holds is chosen in scripts/vsix-files.js.
// Packages that npm did not install on this machine (the other platforms' sharp packages) are fetched
// from the npm registry by name and the exact version in package-lock.json (`npm pack`), checked against
// the lockfile's integrity and kept in .cache/package-all/npm, so later runs need no network.
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const files = require('./vsix-files');

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(root, '.cache', 'package-all');

function parseArgs(argv) {
  const o = { targets: [], out: path.join(root, 'dist'), keepStage: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target' && argv[i + 1]) o.targets.push(argv[++i]);
    else if (a === '--out' && argv[i + 1]) o.out = path.resolve(argv[++i]);
    else if (a === '--keep-stage') o.keepStage = true;
    else {
      console.error(`unknown argument ${a}\nusage: node scripts/package-all.js [--target T]... [--out DIR] [--keep-stage]`);
      process.exit(2);
    }
  }
  if (o.targets.length === 0) o.targets = Object.keys(files.TARGETS);
  for (const t of o.targets) {
    if (!files.TARGETS[t]) {
      console.error(`unknown target ${t} (known: ${Object.keys(files.TARGETS).join(', ')})`);
      process.exit(2);
    }
  }
  return o;
}

/** A reason to stop, printed without a stack trace. */
class PackageError extends Error {}

function fail(message) {
  throw new PackageError(message);
}

function run(cmd, args, cwd) {
  // A .cmd file only starts through a shell on Windows.
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, shell: cmd.endsWith('.cmd') });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${(r.stdout + r.stderr).slice(-4000)}`);
  return r.stdout;
}

/** npm's command line: the npm that runs this script (`npm run package:all`), else the one on PATH. */
function npm(args) {
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli)) return [process.execPath, [cli, ...args]];
  return [process.platform === 'win32' ? 'npm.cmd' : 'npm', args];
}

function integrityOf(file, algorithm) {
  return crypto.createHash(algorithm).update(fs.readFileSync(file)).digest('base64');
}

/** The package's tarball from the npm registry (or the cache), checked against the lockfile. */
function fetchTarball(pkg) {
  const dir = path.join(cacheDir, 'npm');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`);
  const [algorithm, expected] = (pkg.integrity || '').split(/-(.*)/s);
  if (!algorithm || !expected) fail(`${pkg.name}@${pkg.version} has no integrity in package-lock.json`);
  if (!fs.existsSync(file) || integrityOf(file, algorithm) !== expected) {
    console.log(`  fetching ${pkg.name}@${pkg.version} from the npm registry`);
    const out = run(...npm(['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', dir, '--json', '--loglevel=error']), dir);
    const packed = path.join(dir, JSON.parse(out)[0].filename);
    if (packed !== file) fs.renameSync(packed, file);
    if (integrityOf(file, algorithm) !== expected) fail(`${pkg.name}@${pkg.version}: the registry's tarball does not match package-lock.json's integrity`);
  }
  return file;
}

/** Where the package's files are read from: the repository's node_modules when npm installed that very
 *  version there, else the fetched tarball unpacked under .cache/package-all/unpacked. */
function packageSource(pkg) {
  const installed = path.join(root, pkg.path);
  const manifest = path.join(installed, 'package.json');
  if (fs.existsSync(manifest)) {
    const version = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
    if (version !== pkg.version) fail(`${pkg.path} is ${version}, package-lock.json says ${pkg.version}: run npm ci`);
    return installed;
  }
  const dir = path.join(cacheDir, 'unpacked', `${pkg.name}@${pkg.version}`);
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    const tarball = fetchTarball(pkg);
    // Unpacked beside, then renamed: a run that stops half-way leaves no half-filled package behind.
    const tmp = `${dir}.${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1'], tmp);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return dir;
}

/** A path for messages: relative inside the repository, else absolute. */
function shown(p) {
  return p.startsWith(root + path.sep) ? path.relative(root, p) : p;
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** Fills the staging folder for one target; returns the number of files staged. */
function stage(target, lock, manifest, dir) {
  let count = 0;
  for (const rel of files.extensionFiles(root)) {
    copy(path.join(root, rel), path.join(dir, rel));
    count++;
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(files.stagedManifest(manifest), null, 2) + '\n');
  // The folder holds exactly what ships; an ignore file keeps vsce from warning that there is none.
  fs.writeFileSync(path.join(dir, '.vscodeignore'), '# Staged by scripts/package-all.js: everything here ships.\n');
  for (const pkg of files.productionPackages(lock, target)) {
    const src = packageSource(pkg);
    for (const rel of files.packageFiles(pkg.name, src, target)) {
      copy(path.join(src, rel), path.join(dir, pkg.path, rel));
      count++;
    }
  }
  return count + 1;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const vsceDir = path.dirname(require.resolve('@vscode/vsce/package.json', { paths: [root] }));
  const vsce = path.join(vsceDir, require(path.join(vsceDir, 'package.json')).bin.vsce);
  fs.mkdirSync(opts.out, { recursive: true });
  const rows = [];
  const started = Date.now();
  for (const target of opts.targets) {
    const t0 = Date.now();
    console.log(`${target}:`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `craft-stage-${target}-`));
    const vsix = path.join(opts.out, `${manifest.name}-${target}-${manifest.version}.vsix`);
    let staged;
    try {
      staged = stage(target, lock, manifest, dir);
      fs.rmSync(vsix, { force: true });
      // --no-rewrite-relative-links: the README's docs/method.md link points at the copy inside the VSIX
      // (vsce would otherwise want a repository URL to rewrite it).
      run(
        process.execPath,
        [vsce, 'package', '--target', target, '--allow-missing-repository', '--no-rewrite-relative-links', '--no-yarn', '--out', vsix],
        dir,
      );
    } finally {
      if (opts.keepStage) console.log(`  staged in ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    }
    const bytes = fs.statSync(vsix).size;
    const seconds = (Date.now() - t0) / 1000;
    rows.push({ target, bytes, seconds });
    console.log(`  ${shown(vsix)}: ${(bytes / 1024 / 1024).toFixed(1)} MB, ${staged} files staged, ${seconds.toFixed(1)} s`);
  }
  console.log(`\n| target | VSIX size |\n|---|---|`);
  for (const r of rows) console.log(`| ${r.target} | ${(r.bytes / 1024 / 1024).toFixed(1)} MB |`);
  console.log(`\n${rows.length} VSIX(s) in ${shown(opts.out)}/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  console.error(`package-all: ${e instanceof PackageError ? e.message : e.stack}`);
  process.exitCode = 1;
}

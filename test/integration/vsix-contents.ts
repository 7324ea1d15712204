// Checks what each platform's VSIX holds, by reading the zip (no install): its target platform, its own
// onnxruntime-node binaries and sharp packages and nobody else's, the compiled extension, and no sources,
// tests or dev packages. Part of `npm test` (scripts/test.js), where it first builds every VSIX with
// scripts/package-all.js into a temporary folder (about 40 s); `--dir DIR` checks VSIXs already built
// there instead (`npm run package:all && npm run test:vsix` checks dist/).
//
//   node out/test/integration/vsix-contents.js [--dir DIR] [--summary FILE] [--grep PATTERN]
//
// Prints each VSIX's size and `N passed, N failed`; exit code = failures.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZipEntry, readZipEntries, readZipEntry } from './zip';

const repoRoot = path.resolve(__dirname, '../../..');

export const VSIX_TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-arm64'] as const;
export type VsixTarget = (typeof VSIX_TARGETS)[number];

interface Expected {
  /** Every file of onnxruntime-node's bin/napi-v6/<os>/<arch>/ folder: exactly these. */
  ort: string[];
  /** The @img packages that must be there (and no other @img/sharp-*), */
  sharp: string[];
  /** with these native files (paths under node_modules/). */
  sharpNative: RegExp[];
  /** A ceiling about 15% over the size measured when this test was written: a regression shows. */
  maxMB: number;
}

// Written out by hand from what onnxruntime-node 1.30.0 and sharp 0.35.5 publish (not derived from
// scripts/vsix-files.js, whose choices this checks).
const EXPECTED: Record<VsixTarget, Expected> = {
  'linux-x64': {
    ort: ['libonnxruntime.so.1', 'onnxruntime_binding.node'],
    sharp: ['@img/sharp-libvips-linux-x64', '@img/sharp-linux-x64'],
    sharpNative: [/^@img\/sharp-linux-x64\/lib\/sharp-linux-x64-[\d.]+\.node$/, /^@img\/sharp-libvips-linux-x64\/lib\/libvips-cpp\.so\.[\d.]+$/],
    maxMB: 30,
  },
  'linux-arm64': {
    ort: ['libonnxruntime.so.1', 'onnxruntime_binding.node'],
    sharp: ['@img/sharp-libvips-linux-arm64', '@img/sharp-linux-arm64'],
    sharpNative: [/^@img\/sharp-linux-arm64\/lib\/sharp-linux-arm64-[\d.]+\.node$/, /^@img\/sharp-libvips-linux-arm64\/lib\/libvips-cpp\.so\.[\d.]+$/],
    maxMB: 22,
  },
  'win32-x64': {
    ort: ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'],
    sharp: ['@img/sharp-win32-x64'],
    sharpNative: [/^@img\/sharp-win32-x64\/lib\/sharp-win32-x64-[\d.]+\.node$/, /^@img\/sharp-win32-x64\/lib\/libvips-42\.dll$/],
    maxMB: 42,
  },
  'win32-arm64': {
    ort: ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'],
    sharp: ['@img/sharp-win32-arm64'],
    sharpNative: [/^@img\/sharp-win32-arm64\/lib\/sharp-win32-arm64-[\d.]+\.node$/, /^@img\/sharp-win32-arm64\/lib\/libvips-42\.dll$/],
    maxMB: 42,
  },
  'darwin-arm64': {
    // libonnxruntime.1.dylib only: the binding loads @rpath/libonnxruntime.1.dylib; npm's
    // libonnxruntime.1.30.0.dylib is a byte-identical copy.
    ort: ['libonnxruntime.1.dylib', 'onnxruntime_binding.node'],
    sharp: ['@img/sharp-darwin-arm64', '@img/sharp-libvips-darwin-arm64'],
    sharpNative: [/^@img\/sharp-darwin-arm64\/lib\/sharp-darwin-arm64-[\d.]+\.node$/, /^@img\/sharp-libvips-darwin-arm64\/lib\/libvips-cpp\.[\d.]+\.dylib$/],
    maxMB: 25,
  },
};

const CHECK_TITLES = [
  'target platform in the manifest',
  'its own onnxruntime-node binaries, the libraries its binding loads',
  'its own sharp packages with their native files',
  "no other platform's native files",
  'the compiled extension, worker, results page and schema',
  'no sources, tests, source maps or dev packages',
  'size under its ceiling',
] as const;

export interface VsixCheck {
  name: string;
  problems: string[];
}

const EXT = 'extension/';
const NM = `${EXT}node_modules/`;

/** The onnxruntime libraries a binary names (ELF DT_NEEDED, Mach-O LC_LOAD_DYLIB without its `@rpath/`,
 *  PE import), found by scanning its bytes for the file names. */
function namedLibraries(binary: Buffer): string[] {
  const text = binary.toString('latin1');
  const found = text.match(/[A-Za-z0-9_.-]*onnxruntime[A-Za-z0-9_.-]*\.(?:so(?:\.\d+)*|dylib|dll)/g) ?? [];
  return [...new Set(found)].sort();
}

/** The top-level packages under node_modules/ (`a`, `@s/b`), from the entries' paths. */
function packagesOf(names: string[]): string[] {
  const out = new Set<string>();
  for (const n of names) {
    if (!n.startsWith(NM)) continue;
    const parts = n.slice(NM.length).split('/');
    out.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  return [...out].sort();
}

/** Every check of one VSIX, each with its problems (none = passed). */
export function checkVsix(file: string, target: VsixTarget): VsixCheck[] {
  const exp = EXPECTED[target];
  const entries = readZipEntries(file);
  const byName = new Map<string, ZipEntry>(entries.map((e) => [e.name, e]));
  const names = entries.map((e) => e.name);
  const read = (name: string): Buffer => readZipEntry(file, byName.get(name)!);
  const [os, cpu] = target.split('-');
  const ortDir = `${NM}onnxruntime-node/bin/napi-v6/${os}/${cpu}/`;
  const checks: VsixCheck[] = [];
  const add = (title: (typeof CHECK_TITLES)[number], problems: string[]): void => {
    checks.push({ name: `${target}: ${title}`, problems });
  };

  {
    const p: string[] = [];
    if (!byName.has('extension.vsixmanifest')) p.push('no extension.vsixmanifest');
    else {
      const identity = /<Identity\b[^>]*>/.exec(read('extension.vsixmanifest').toString('utf8'))?.[0] ?? '';
      const platform = /\bTargetPlatform="([^"]*)"/.exec(identity)?.[1];
      if (platform !== target)
        p.push(`TargetPlatform is ${platform === undefined ? 'missing' : `"${platform}"`} in ${identity || 'a manifest without <Identity>'}`);
    }
    add('target platform in the manifest', p);
  }

  {
    const p: string[] = [];
    const present = names
      .filter((n) => n.startsWith(ortDir))
      .map((n) => n.slice(ortDir.length))
      .sort();
    if (present.join() !== [...exp.ort].sort().join()) p.push(`${ortDir} holds [${present.join(', ')}], expected [${exp.ort.join(', ')}]`);
    const binding = `${ortDir}onnxruntime_binding.node`;
    if (byName.has(binding)) {
      const libs = namedLibraries(read(binding));
      if (libs.length === 0) p.push('the binding names no onnxruntime library (scan found nothing)');
      for (const lib of libs) if (!byName.has(ortDir + lib)) p.push(`the binding loads ${lib}, which is not in ${ortDir}`);
    }
    add('its own onnxruntime-node binaries, the libraries its binding loads', p);
  }

  {
    const p: string[] = [];
    const sharpPackages = packagesOf(names).filter((n) => n.startsWith('@img/sharp-'));
    if (sharpPackages.join() !== [...exp.sharp].sort().join())
      p.push(`@img/sharp-* packages [${sharpPackages.join(', ')}], expected [${exp.sharp.join(', ')}]`);
    for (const pkg of [...exp.sharp, 'sharp', '@img/colour']) if (!byName.has(`${NM}${pkg}/package.json`)) p.push(`no ${pkg}/package.json`);
    const inNm = names.filter((n) => n.startsWith(NM)).map((n) => n.slice(NM.length));
    for (const re of exp.sharpNative) if (!inNm.some((n) => re.test(n))) p.push(`no file matching ${re} under node_modules/`);
    add('its own sharp packages with their native files', p);
  }

  {
    const p: string[] = [];
    const ortBin = `${NM}onnxruntime-node/bin/`;
    const foreign = names.filter((n) => n.startsWith(ortBin) && !n.startsWith(ortDir));
    if (foreign.length)
      p.push(`other platforms' onnxruntime-node files: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ` (+${foreign.length - 5})` : ''}`);
    const otherSharp = VSIX_TARGETS.filter((t) => t !== target)
      .flatMap((t) => EXPECTED[t].sharp)
      .filter((pkg) => !exp.sharp.includes(pkg));
    for (const pkg of otherSharp) if (names.some((n) => n.startsWith(`${NM}${pkg}/`))) p.push(`${pkg} is packaged`);
    // Native files outside the places above (another platform's copy in a place not listed here).
    const native = names.filter((n) => /\.(node|dll|dylib|so(\.\d+)*)$/.test(n));
    const allowed = (n: string): boolean => n.startsWith(ortDir) || exp.sharp.some((pkg) => n.startsWith(`${NM}${pkg}/`));
    for (const n of native) if (!allowed(n)) p.push(`native file outside the target's folders: ${n}`);
    add("no other platform's native files", p);
  }

  {
    const p: string[] = [];
    let main = 'out/src/extension/index.js';
    if (!byName.has(`${EXT}package.json`)) p.push('no extension/package.json');
    else main = path.posix.normalize(String(JSON.parse(read(`${EXT}package.json`).toString('utf8')).main ?? ''));
    for (const f of [main, 'out/src/craft/worker.js', 'media/webview.js', 'media/webview.css', 'schemas/craft.config.schema.json']) {
      if (!byName.has(EXT + f)) p.push(`${f} is missing`);
    }
    add('the compiled extension, worker, results page and schema', p);
  }

  {
    const p: string[] = [];
    const bad = names.filter(
      (n) =>
        /\.(ts|mts|cts|map)$/.test(n) ||
        /^extension\/(src|test|bench|webview|scripts|sample|bin|test-artifacts|\.craft|\.cache)\//.test(n) ||
        /^extension\/out\/(test|bench)\//.test(n),
    );
    if (bad.length) p.push(`${bad.length} source/test files, e.g. ${bad.slice(0, 5).join(', ')}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
    const dev = [
      ...Object.keys(manifest.devDependencies ?? {}),
      '@vscode/webview-ui-toolkit',
      'react',
      '@microsoft/fast-element',
      '@microsoft/fast-foundation',
    ];
    for (const pkg of packagesOf(names)) if (dev.includes(pkg)) p.push(`node_modules/${pkg} is packaged (a dev or bundled package)`);
    add('no sources, tests, source maps or dev packages', p);
  }

  {
    const mb = fs.statSync(file).size / 1024 / 1024;
    add('size under its ceiling', mb > exp.maxMB ? [`${mb.toFixed(1)} MB, more than ${exp.maxMB} MB`] : []);
  }
  return checks;
}

/** The VSIX file of a target in a folder, as scripts/package-all.js names it. */
export function vsixPath(dir: string, target: VsixTarget): string {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return path.join(dir, `${name}-${target}-${version}.vsix`);
}

interface Options {
  dir?: string;
  summary?: string;
  grep?: RegExp;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--dir') o.dir = path.resolve(value());
    else if (a === '--summary') o.summary = path.resolve(value());
    else if (a === '--grep') o.grep = new RegExp(value());
    else throw new Error(`unknown argument ${a}\nusage: vsix-contents.js [--dir DIR] [--summary FILE] [--grep PATTERN]`);
  }
  return o;
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  let passed = 0;
  let failed = 0;
  const finish = (): number => {
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    if (opts.summary) fs.writeFileSync(opts.summary, JSON.stringify({ passed, failed, skipped: 0, ran: passed + failed }));
    return Math.min(failed, 255);
  };
  const report = (name: string, problems: string[]): void => {
    if (opts.grep && !opts.grep.test(name)) return;
    if (problems.length === 0) {
      passed++;
      process.stdout.write(`passed: ${name}\n`);
    } else {
      failed++;
      process.stdout.write(`FAILED: ${name}\n  ${problems.join('\n  ')}\n`);
    }
  };
  const packageCheck = 'scripts/package-all.js builds every VSIX';
  const all = [packageCheck, ...VSIX_TARGETS.flatMap((t) => CHECK_TITLES.map((c) => `${t}: ${c}`))];
  if (opts.grep && !all.some((n) => opts.grep!.test(n))) return finish(); // nothing selected: no packaging

  let dir = opts.dir;
  let tmp: string | undefined;
  try {
    if (!dir) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-vsix-'));
      dir = tmp;
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'package-all.js'), '--out', dir], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 10 * 60_000,
      });
      process.stdout.write(`package-all: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      const problems = r.status === 0 ? [] : [`exit ${r.status ?? r.signal}:\n${(r.stdout + r.stderr).slice(-3000)}`];
      report(packageCheck, problems);
      if (problems.length) return finish();
    }
    for (const target of VSIX_TARGETS) {
      const file = vsixPath(dir, target);
      if (!fs.existsSync(file)) {
        for (const c of CHECK_TITLES) report(`${target}: ${c}`, [`${file} is missing (build it: npm run package:all)`]);
        continue;
      }
      process.stdout.write(`${path.basename(file)}: ${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MB\n`);
      for (const c of checkVsix(file, target)) report(c.name, c.problems);
    }
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  return finish();
}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (e) {
    process.stdout.write(`HARNESS ERROR: ${(e as Error).stack ?? e}\n0 passed, 1 failed\n`);
    process.exitCode = 1;
  }
}

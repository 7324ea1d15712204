#!/usr/bin/env node
// Runs every test suite of the project and closes with one plain "N passed, N failed, N skipped" line
// (always the last line printed):
// 1. engine unit tests with node's test runner (real onnxruntime-node and sharp);
// 2. the extension's Mocha suite inside a real VS Code extension host (code-server's VS Code server,
//    driven by headless Chromium), plus the webview tests in Chromium;
// 3. every platform's VSIX, built by scripts/package-all.js into a temporary folder, read back and
//    checked (test/integration/vsix-contents.ts; about 40 s, the npm registry on a first run).
//
//   node scripts/test.js [--unit] [--grep PATTERN]
//
// `--unit` runs only the first part. `--grep PATTERN` runs the tests whose names match, in every suite
// (a regular expression for node's --test-name-pattern and Mocha's grep, plain text for the webview
// runner's --grep).
//
// The counts are only worth something if every suite really ran, so each of these is a failure: a suite
// that should run and did not (entry not compiled, no summary, runner crashed), a test source without its
// compiled file, and a suite that ran no test at all, unless --grep was given here. A grep inherited from
// the environment (CRAFT_IT_GREP) is not honoured: it would quietly run a subset.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'out');

function parseArgs(argv) {
  const o = { onlyUnit: false, grep: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--unit') o.onlyUnit = true;
    else if (a === '--grep' && argv[i + 1] !== undefined) o.grep = argv[++i];
    else if (a.startsWith('--grep=')) o.grep = a.slice('--grep='.length);
    else {
      console.error(`unknown argument ${a}\nusage: node scripts/test.js [--unit] [--grep PATTERN]`);
      process.exit(2);
    }
  }
  if (o.grep === '') {
    console.error('--grep needs a non-empty pattern');
    process.exit(2);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const totals = { passed: 0, failed: 0, skipped: 0 };
/** One line per suite (and per problem), printed together before the closing line. */
const report = [];

function problem(text) {
  totals.failed += 1;
  report.push(`FAILED: ${text}`);
}

// Children get this environment: without --grep, a CRAFT_IT_GREP left in the shell must not filter.
const env = { ...process.env };
if (env.CRAFT_IT_GREP !== undefined) {
  if (opts.grep === undefined) console.log(`note: CRAFT_IT_GREP=${env.CRAFT_IT_GREP} is ignored (use --grep to select tests)`);
  delete env.CRAFT_IT_GREP;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
  return r.status ?? 1;
}

/** Test sources under `dir` (recursive), relative, sorted: the list of files that must run. */
function testSources(dir, suffix = '.test.ts') {
  const found = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(suffix)) found.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

/** Adds one suite's counts; `ran` is the number of tests that passed or failed (not skipped). */
function record(name, s) {
  totals.passed += s.passed;
  totals.failed += s.failed;
  totals.skipped += s.skipped;
  report.push(`${name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  if (s.ran === 0 && opts.grep === undefined) problem(`${name}: no test ran`);
}

// ---- 1. Unit tests: spec output for people, TAP to a file for the counts.
function unitSuite() {
  const srcDir = path.join(root, 'test', 'unit');
  const unitDir = path.join(outDir, 'test', 'unit');
  const files = [];
  for (const src of testSources(srcDir)) {
    const js = path.join(unitDir, src.replace(/\.ts$/, '.js'));
    if (fs.existsSync(js)) files.push(js);
    else problem(`unit: test/unit/${src} has no compiled ${path.relative(root, js)} (build first: npm run build)`);
  }
  // A compiled test whose source is gone is a leftover of an earlier build: not part of the suite.
  if (fs.existsSync(unitDir)) {
    for (const js of testSources(unitDir, '.test.js')) {
      if (!fs.existsSync(path.join(srcDir, js.replace(/\.js$/, '.ts')))) console.log(`note: out/test/unit/${js} has no source; not run`);
    }
  }
  if (files.length === 0) {
    problem('unit: no compiled unit test files');
    return;
  }
  const tap = path.join(outDir, 'unit.tap');
  fs.rmSync(tap, { force: true }); // a TAP file of an earlier run must not be read as this one's
  const status = run(process.execPath, [
    '--test',
    '--test-concurrency=1',
    ...(opts.grep !== undefined ? [`--test-name-pattern=${opts.grep}`] : []),
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ]);
  const tapText = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (name) => {
    const m = tapText.match(new RegExp(`^# ${name} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : undefined;
  };
  const [pass, fail, cancelled, skipped, todo] = ['pass', 'fail', 'cancelled', 'skipped', 'todo'].map(count);
  if (pass === undefined || fail === undefined) {
    problem(`unit: node's test runner wrote no summary to ${path.relative(root, tap)} (exit ${status})`);
    return;
  }
  // Under --test-name-pattern node 20 reports the tests left out as skipped: they were deselected.
  const deselected = (tapText.match(/# SKIP test name does not match pattern$/gm) || []).length;
  const s = {
    passed: pass,
    failed: fail + (cancelled ?? 0),
    skipped: Math.max(0, (skipped ?? 0) - deselected) + (todo ?? 0), // todo tests neither pass nor fail
    ran: pass + fail + (cancelled ?? 0),
  };
  if (status !== 0 && s.failed === 0) s.failed += 1; // the runner itself failed
  record('unit', s);
}

// ---- 2. The extension in a real VS Code, and the webview in Chromium: each writes a summary file.
function launcherSuite(name, entry, sourcesDir) {
  const file = path.join(outDir, 'test', entry);
  if (!fs.existsSync(file)) {
    problem(`${name}: ${path.relative(root, file)} is missing (build first: npm run build)`);
    return;
  }
  if (sourcesDir) {
    for (const src of testSources(path.join(root, sourcesDir))) {
      const js = path.join(outDir, sourcesDir, src.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(js)) problem(`${name}: ${sourcesDir}/${src} has no compiled ${path.relative(root, js)}`);
    }
  }
  const summary = path.join(outDir, `${path.basename(entry)}.summary.json`);
  fs.rmSync(summary, { force: true });
  const status = run(process.execPath, [file, '--summary', summary, ...(opts.grep !== undefined ? ['--grep', opts.grep] : [])]);
  let s;
  try {
    s = JSON.parse(fs.readFileSync(summary, 'utf8'));
  } catch (e) {
    problem(`${name}: no readable summary from ${entry} (exit ${status}): ${e.message.split('\n')[0]}`);
    return;
  }
  if (!Number.isInteger(s.passed) || !Number.isInteger(s.failed)) {
    problem(`${name}: malformed summary ${JSON.stringify(s)}`);
    return;
  }
  const skipped = Number.isInteger(s.skipped) ? s.skipped : 0;
  const ran = Number.isInteger(s.ran) ? s.ran : s.passed + s.failed;
  const failed = s.failed + (status !== 0 && s.failed === 0 ? 1 : 0);
  record(name, { passed: s.passed, failed, skipped, ran });
}

// Debian packages the suites need (Chromium, its SwiftShader for the WebGPU test, the Vulkan loader,
// ripgrep and kerberos headers for the VS Code server), installed with apt when missing.
const systemSetup = path.join(root, 'scripts', 'setup-system.sh');
if (fs.existsSync(systemSetup) && run('bash', [systemSetup]) !== 0) problem('setup: scripts/setup-system.sh failed (see above)');

/** ESLint and Prettier (npm run lint) as one suite: each tool that reports a problem is one failure. */
function lintSuite() {
  if (!fs.existsSync(path.join(root, 'eslint.config.mjs'))) return; // a checkout without lint set up
  const bin = (name) => path.join(root, 'node_modules', '.bin', name);
  if (!fs.existsSync(bin('eslint')) || !fs.existsSync(bin('prettier'))) {
    problem('lint: eslint or prettier is not installed (npm ci)');
    return;
  }
  let passed = 0;
  let failed = 0;
  for (const [tool, args] of [
    ['eslint', ['.']],
    ['prettier', ['--check', '.', '--log-level', 'warn']],
  ]) {
    if (run(bin(tool), args) === 0) passed++;
    else {
      failed++;
      console.log(`✖ ${tool} reported problems (npm run lint; npm run format fixes the formatting)`);
    }
  }
  record('lint', { passed, failed, skipped: 0, ran: passed + failed });
}

unitSuite();
if (!opts.onlyUnit) {
  lintSuite();
  launcherSuite('integration', 'integration/launch.js', 'test/integration');
  launcherSuite('webview', 'webview/webview-launch.js');
  launcherSuite('vsix', 'integration/vsix-contents.js');
}

console.log('');
for (const line of report) console.log(line);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exitCode = totals.failed > 0 ? 1 : 0;

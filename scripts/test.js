#!/usr/bin/env node
// Runs every test suite of the project and closes with one plain "N passed, N failed" line:
// 1. engine unit tests with node's test runner (real onnxruntime-node and sharp);
// 2. the extension's Mocha suite inside a real VS Code extension host (code-server's VS Code server,
//    driven by headless Chromium), plus the webview tests in Chromium.
// `--unit` runs only the first part.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'out');
const onlyUnit = process.argv.includes('--unit');
let passed = 0;
let failed = 0;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  return r.status ?? 1;
}

// Unit tests: spec output for people, TAP to a file for the counts.
const tap = path.join(outDir, 'unit.tap');
const unitDir = path.join(outDir, 'test', 'unit');
const files = fs.readdirSync(unitDir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(unitDir, f));
const unitStatus = run(process.execPath, [
  '--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
]);
const tapText = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
const count = (name) => Number((tapText.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) || [])[1] || 0);
passed += count('pass');
failed += count('fail') + count('cancelled');
if (unitStatus !== 0 && count('fail') === 0) failed += 1; // the runner itself failed

if (!onlyUnit) {
  for (const suite of ['launch.js', 'webview-launch.js']) {
    const entry = path.join(outDir, 'test', suite.startsWith('webview') ? 'webview' : 'integration', suite);
    if (!fs.existsSync(entry)) continue;
    const summary = path.join(outDir, `${suite}.summary.json`);
    fs.rmSync(summary, { force: true });
    const status = run(process.execPath, [entry, '--summary', summary]);
    const s = fs.existsSync(summary) ? JSON.parse(fs.readFileSync(summary, 'utf8')) : { passed: 0, failed: 1 };
    passed += s.passed;
    failed += s.failed + (status !== 0 && s.failed === 0 ? 1 : 0);
  }
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

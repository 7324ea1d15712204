// Mocha entry executed inside the VS Code extension host (extensionTestsPath):
// the same `run()` contract for launch.ts (offline, VS Code server) and
// run-electron.ts (@vscode/test-electron). Runs every compiled *.test.js next
// to this file and reports the counts back to the launcher.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export interface FailureInfo {
  title: string;
  message: string;
  stack?: string;
}

export interface SuiteResult {
  passed: number;
  failed: number;
  pending: number;
  failures: FailureInfo[];
  durationMs: number;
}

// Printed to the console with the JSON result: the workbench forwards the
// extension host's console to codeAutomationLog, a second channel next to the file.
const RESULT_PREFIX = 'CRAFT_IT_RESULT ';

function report(result: SuiteResult): void {
  const file = process.env.CRAFT_IT_RESULT_FILE;
  if (file) fs.writeFileSync(file, JSON.stringify(result, null, 2));
  console.log(RESULT_PREFIX + JSON.stringify(result));
}

export function testFiles(dir: string = __dirname): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function run(): Promise<void> {
  const started = Date.now();
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    // Model loading and the first native calls are slow on 2 cores.
    timeout: 120_000,
    grep: process.env.CRAFT_IT_GREP || undefined,
  });
  const result: SuiteResult = { passed: 0, failed: 0, pending: 0, failures: [], durationMs: 0 };

  return new Promise<void>((resolve, reject) => {
    try {
      const files = testFiles();
      if (files.length === 0) throw new Error(`no *.test.js files in ${__dirname}`);
      for (const f of files) mocha.addFile(f);
      const runner = mocha.run((failures) => {
        result.durationMs = Date.now() - started;
        // A failing hook reports through 'fail' too; keep the larger count.
        result.failed = Math.max(result.failed, failures);
        report(result);
        if (result.failed > 0) reject(new Error(`${result.failed} tests failed`));
        else resolve();
      });
      runner.on('pass', () => {
        result.passed++;
      });
      runner.on('pending', () => {
        result.pending++;
      });
      runner.on('fail', (test, err: Error) => {
        result.failed++;
        result.failures.push({
          title: test.fullTitle(),
          message: err?.message ?? String(err),
          stack: err?.stack,
        });
      });
    } catch (e) {
      // A test file that throws while loading fails the run, with its reason.
      const err = e as Error;
      result.failed = 1;
      result.failures.push({ title: 'loading the integration tests', message: err.message, stack: err.stack });
      result.durationMs = Date.now() - started;
      report(result);
      reject(err);
    }
  });
}

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
  /** Skipped tests (it.skip, this.skip()). */
  pending: number;
  /** The Mocha grep in effect, if any: a grep may legitimately select no test. */
  grep?: string;
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

/**
 * The compiled test files to run: one per `*.test.ts` source in test/integration, so a source that was
 * not compiled fails the run instead of quietly dropping its tests. A compiled file whose source is gone
 * (a leftover of an earlier build) is not run. Without the sources (a copy of out/ alone), every
 * compiled `*.test.js` runs.
 */
export function testFiles(dir: string = __dirname, sources: string = path.resolve(dir, '../../../test/integration')): string[] {
  const compiled = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (!fs.existsSync(sources)) return compiled.map((f) => path.join(dir, f));
  const expected = fs
    .readdirSync(sources)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => f.replace(/\.ts$/, '.js'));
  const missing = expected.filter((f) => !compiled.includes(f));
  if (missing.length > 0) throw new Error(`not compiled (build first: npm run build): ${missing.join(', ')} in ${dir}`);
  return expected.map((f) => path.join(dir, f));
}

export function run(): Promise<void> {
  const started = Date.now();
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    // Model loading and the first native calls are slow on 2 cores.
    timeout: 120_000,
    grep: process.env.CRAFT_IT_GREP || undefined,
    // An `.only` left in a file would silently run that test alone.
    forbidOnly: true,
  });
  const result: SuiteResult = { passed: 0, failed: 0, pending: 0, grep: process.env.CRAFT_IT_GREP || undefined, failures: [], durationMs: 0 };

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

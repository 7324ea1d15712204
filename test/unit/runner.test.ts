import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// scripts/test.js decides what "N passed, N failed, N skipped" means for the whole project, so its rules
// are checked here: it runs on a small copy of the repo layout whose suites are tiny stand-ins (a real
// node:test file for the unit part; the three launchers replaced by scripts that write a given summary).

const ROOT = path.resolve(__dirname, '../../..');
const RUNNER = path.join(ROOT, 'scripts', 'test.js');

interface Sandbox {
  dir: string;
  /** Writes a source file and, unless `compiled` is false, its compiled test. */
  unit(name: string, body: string, compiled?: boolean): void;
  /** What a launcher stand-in does: its summary (undefined: none) and exit code. */
  launcher(which: 'integration' | 'webview' | 'vsix', summary: object | undefined | 'garbled', exit?: number): void;
  run(
    args?: string[],
    env?: Record<string, string>,
  ): { stdout: string; lines: string[]; status: number | null; calls: Record<string, { args: string[]; grepEnv?: string }> };
}

function sandbox(t: { after: (fn: () => void) => void }): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-runner-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(RUNNER, path.join(dir, 'scripts', 'test.js'));
  for (const d of ['test/unit', 'test/integration', 'out/test/unit', 'out/test/integration', 'out/test/webview'])
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'test/integration/smoke.test.ts'), '// stand-in\n');
  fs.writeFileSync(path.join(dir, 'out/test/integration/smoke.test.js'), '// stand-in\n');
  const s: Sandbox = {
    dir,
    unit(name, body, compiled = true) {
      fs.writeFileSync(path.join(dir, 'test/unit', `${name}.test.ts`), '// stand-in source\n');
      if (compiled) fs.writeFileSync(path.join(dir, 'out/test/unit', `${name}.test.js`), `const { test } = require('node:test');\n${body}\n`);
    },
    launcher(which, summary, exit = 0) {
      const file = path.join(
        dir,
        'out/test',
        { integration: 'integration/launch.js', webview: 'webview/webview-launch.js', vsix: 'integration/vsix-contents.js' }[which],
      );
      const content = summary === 'garbled' ? '{"passed": 1,' : summary === undefined ? undefined : JSON.stringify(summary);
      // Records how it was called, then writes the summary where --summary says.
      fs.writeFileSync(
        file,
        `const fs = require('fs');
const args = process.argv.slice(2);
fs.writeFileSync(${JSON.stringify(path.join(dir, `${which}.call.json`))}, JSON.stringify({ args, grepEnv: process.env.CRAFT_IT_GREP }));
const content = ${JSON.stringify(content)};
if (content !== undefined) fs.writeFileSync(args[args.indexOf('--summary') + 1], content);
console.log('${which} stand-in done');
process.exit(${exit});
`,
      );
    },
    run(args = [], env = {}) {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
      delete childEnv.NODE_TEST_CONTEXT; // this test runs under node --test: the child must not report to it
      if (!('CRAFT_IT_GREP' in env)) delete childEnv.CRAFT_IT_GREP;
      const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'test.js'), ...args], { cwd: dir, env: childEnv, encoding: 'utf8', timeout: 60_000 });
      const lines = r.stdout.trimEnd().split('\n');
      const calls: Record<string, { args: string[]; grepEnv?: string }> = {};
      for (const which of ['integration', 'webview', 'vsix']) {
        const f = path.join(dir, `${which}.call.json`);
        if (fs.existsSync(f)) calls[which] = JSON.parse(fs.readFileSync(f, 'utf8'));
      }
      return { stdout: r.stdout + r.stderr, lines, status: r.status, calls };
    },
  };
  s.launcher('integration', { passed: 3, failed: 0, skipped: 1, ran: 3 });
  s.launcher('webview', { passed: 2, failed: 0 });
  s.launcher('vsix', { passed: 1, failed: 0, skipped: 0, ran: 1 });
  return s;
}

const PASS_SKIP_TODO = `test('a', () => {});
test('b', () => {});
test('c', (t) => t.skip('not here'));
test('d', { todo: true }, () => {});`;

test('runner: the closing line counts every suite, skipped and todo tests included, and comes last', (t) => {
  const s = sandbox(t);
  s.unit('one', PASS_SKIP_TODO);
  const r = s.run();
  assert.equal(r.lines.at(-1), '8 passed, 0 failed, 3 skipped', r.stdout);
  assert.equal(r.status, 0);
  assert.ok(r.lines.includes('unit: 2 passed, 0 failed, 2 skipped'), r.stdout);
  assert.ok(r.lines.includes('integration: 3 passed, 0 failed, 1 skipped'), r.stdout);
  assert.ok(r.lines.includes('webview: 2 passed, 0 failed, 0 skipped'), r.stdout);
  assert.ok(r.lines.includes('vsix: 1 passed, 0 failed, 0 skipped'), r.stdout);
  assert.deepEqual(r.calls.integration.args.slice(0, 1), ['--summary']);
});

test('runner: a unit test source without its compiled file is a failure', (t) => {
  const s = sandbox(t);
  s.unit('one', PASS_SKIP_TODO);
  s.unit('forgotten', '', false);
  const r = s.run(['--unit']);
  assert.equal(r.lines.at(-1), '2 passed, 1 failed, 2 skipped', r.stdout);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED: unit: test\/unit\/forgotten\.test\.ts has no compiled out\/test\/unit\/forgotten\.test\.js/);
});

test('runner: a unit test that fails, or a file that does not load, is counted as failed', (t) => {
  const s = sandbox(t);
  s.unit('one', `test('a', () => {}); test('b', () => { throw new Error('no'); });`);
  s.unit('two', `throw new Error('cannot load');`);
  const r = s.run(['--unit']);
  assert.equal(r.status, 1);
  assert.match(r.lines.at(-1)!, /^1 passed, [2-9] failed, 0 skipped$/, r.stdout);
});

test('runner: a suite that ran no test is a failure unless --grep was given', (t) => {
  const s = sandbox(t);
  s.unit('one', `test('a', (t) => t.skip()); test('b', { skip: true }, () => {});`);
  let r = s.run(['--unit']);
  assert.equal(r.lines.at(-1), '0 passed, 1 failed, 2 skipped', r.stdout);
  assert.match(r.stdout, /FAILED: unit: no test ran/);

  s.unit('one', PASS_SKIP_TODO);
  s.launcher('integration', { passed: 0, failed: 0, skipped: 4, ran: 0 });
  r = s.run();
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED: integration: no test ran/);
  assert.equal(r.lines.at(-1), '5 passed, 1 failed, 6 skipped');

  // A webview summary without `ran`: passed + failed is what ran.
  s.launcher('integration', { passed: 3, failed: 0, skipped: 0, ran: 3 });
  s.launcher('webview', { passed: 0, failed: 0 });
  r = s.run();
  assert.match(r.stdout, /FAILED: webview: no test ran/);
  assert.equal(r.status, 1);

  // An explicit grep may select nothing; it reaches every suite, and tests it leaves out are not skipped.
  s.launcher('integration', { passed: 0, failed: 0, skipped: 0, ran: 0 });
  s.launcher('vsix', { passed: 0, failed: 0, skipped: 0, ran: 0 });
  r = s.run(['--grep', 'nothing matches this']);
  assert.equal(r.lines.at(-1), '0 passed, 0 failed, 0 skipped', r.stdout);
  assert.equal(r.status, 0);
  assert.deepEqual(r.calls.integration.args.slice(2), ['--grep', 'nothing matches this']);
  assert.deepEqual(r.calls.webview.args.slice(2), ['--grep', 'nothing matches this']);
  assert.deepEqual(r.calls.vsix.args.slice(2), ['--grep', 'nothing matches this']);
  r = s.run(['--unit', '--grep', '^a$']);
  assert.equal(r.lines.at(-1), '1 passed, 0 failed, 0 skipped', r.stdout);
});

test('runner: CRAFT_IT_GREP from the environment does not reach the suites', (t) => {
  const s = sandbox(t);
  s.unit('one', PASS_SKIP_TODO);
  const r = s.run([], { CRAFT_IT_GREP: 'smoke' });
  assert.equal(r.status, 0, r.stdout);
  assert.equal(r.calls.integration.grepEnv, undefined);
  assert.deepEqual(r.calls.integration.args.length, 2, 'no --grep either');
  assert.match(r.stdout, /CRAFT_IT_GREP=smoke is ignored/);
});

test('runner: a launcher that is not built, writes no summary, or fails without a failed test is a failure', (t) => {
  const s = sandbox(t);
  s.unit('one', PASS_SKIP_TODO);
  fs.rmSync(path.join(s.dir, 'out/test/webview/webview-launch.js'));
  let r = s.run();
  assert.match(r.stdout, /FAILED: webview: out\/test\/webview\/webview-launch\.js is missing/);
  assert.equal(r.lines.at(-1), '6 passed, 1 failed, 3 skipped');
  assert.equal(r.status, 1);

  s.launcher('webview', { passed: 2, failed: 0 });
  fs.rmSync(path.join(s.dir, 'out/test/integration/smoke.test.js'));
  r = s.run();
  assert.match(r.stdout, /FAILED: integration: test\/integration\/smoke\.test\.ts has no compiled/);
  assert.equal(r.status, 1);
  fs.writeFileSync(path.join(s.dir, 'out/test/integration/smoke.test.js'), '');

  for (const [summary, exit, why] of [
    [undefined, 1, /no readable summary/],
    ['garbled', 0, /no readable summary/],
    [{ passed: 'many', failed: 0 }, 0, /malformed summary/],
  ] as const) {
    s.launcher('integration', summary, exit);
    r = s.run();
    assert.match(r.stdout, why);
    assert.equal(r.lines.at(-1), '5 passed, 1 failed, 2 skipped', r.stdout);
    assert.equal(r.status, 1);
  }
  s.launcher('integration', { passed: 3, failed: 0, skipped: 0, ran: 3 }, 1);
  r = s.run();
  assert.equal(r.lines.at(-1), '8 passed, 1 failed, 2 skipped', r.stdout);
});

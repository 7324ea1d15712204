// Runs the integration suite (out/test/integration/index.js) in a real VS Code
// extension host, offline: the VS Code server shipped in the npm package
// code-server, driven by headless Debian Chromium through playwright-core.
// Recipe and reasons: test/integration/README.md.
//
//   node out/test/integration/launch.js [--workspace DIR] [--screenshot-dir DIR] [--grep PATTERN]
//                                       [--palette-check] [--no-ui-check] [--verbose] [--keep-temp]
//
// The suite's window and the UI check's record the CSP violations of every results webview frame
// (csp-watch.ts); any violation fails the run.
//
// After the suite, a UI check drives "CRAFT: Explain class" through the palette on a fresh copy of
// sample/ without craft.config.json (every prompt answered by typing and Enter), counts the concept
// cards in the results webview, reloads the window and counts them again (panel restored). It is
// skipped with --no-ui-check, and when a grep (--grep or CRAFT_IT_GREP) selects a subset of the suite.
//
// Prints `N passed, N failed, N skipped` and exits with the number of failures (0 = ok). A suite that ran
// no test without a grep is a failure.
// Env: CRAFT_IT_TIMEOUT_MS (overall limit, default 600000), CRAFT_IT_GREP
// (Mocha grep; --grep wins), CRAFT_VSCODE_SERVER_DIR (server cache, as in the setup script).
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Browser, Frame, Page } from 'playwright-core';
import { CspWatch } from './csp-watch';
import type { SuiteResult } from './index';
import { severalClassesFromThePrompt } from './class-set-ui';
import { conceptCards, explainAnsweringEveryPrompt, openWorkbench, refineFromCard, runFromPalette, tabTitles, waitForPrompt } from './ui';
import { postAsPage, received, recordWebviewMessages, type Received } from './webview-messages';

export const CODE_SERVER_VERSION = '4.100.3';
// One set of Chromium flags for every browser test (see test/integration/README.md).
export { CHROMIUM, launchChromium } from '../webview/browser-harness';
import { CHROMIUM, launchChromium } from '../webview/browser-harness';

export const repoRoot = path.resolve(__dirname, '../../..');

interface Options {
  workspace?: string;
  screenshotDir: string;
  paletteCheck: boolean;
  uiCheck: boolean;
  verbose: boolean;
  keepTemp: boolean;
  timeoutMs: number;
  /** Mocha grep passed to the extension host (as CRAFT_IT_GREP). */
  grep?: string;
  /** Where to write {"passed", "failed", "skipped", "ran"} for scripts/test.js. */
  summary?: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    screenshotDir: path.join(repoRoot, 'test-artifacts'),
    paletteCheck: false,
    uiCheck: true,
    verbose: process.env.CRAFT_IT_VERBOSE === '1',
    keepTemp: process.env.CRAFT_IT_KEEP_TEMP === '1',
    timeoutMs: Number(process.env.CRAFT_IT_TIMEOUT_MS) > 0 ? Number(process.env.CRAFT_IT_TIMEOUT_MS) : 10 * 60_000,
    grep: process.env.CRAFT_IT_GREP || undefined,
  };
  let uiCheckAsked = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--workspace') opts.workspace = path.resolve(value());
    else if (a === '--screenshot-dir') opts.screenshotDir = path.resolve(value());
    else if (a === '--palette-check') opts.paletteCheck = true;
    else if (a === '--ui-check') {
      opts.uiCheck = true;
      uiCheckAsked = true;
    } else if (a === '--no-ui-check') opts.uiCheck = false;
    else if (a === '--grep') opts.grep = value() || undefined;
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--keep-temp') opts.keepTemp = true;
    else if (a === '--summary') opts.summary = path.resolve(value());
    else throw new Error(`unknown argument ${a}`);
  }
  // The UI check is not part of a selection.
  if (opts.grep !== undefined && !uiCheckAsked) opts.uiCheck = false;
  return opts;
}

function serverDir(): string {
  return process.env.CRAFT_VSCODE_SERVER_DIR ?? path.join(os.homedir(), '.cache', 'craft-vscode-server', CODE_SERVER_VERSION);
}

/** Runs scripts/setup-code-server.sh unless its completion marker exists; returns lib/vscode. */
export function ensureSetup(timeoutMs: number): string {
  const dir = serverDir();
  const vscodeDir = path.join(dir, 'node_modules', 'code-server', 'lib', 'vscode');
  const ready = fs.existsSync(path.join(dir, '.craft-setup-complete')) && fs.existsSync(path.join(vscodeDir, 'out', 'server-main.js'));
  if (!ready || !fs.existsSync(CHROMIUM)) {
    log(`provisioning the VS Code server into ${dir} (one-off, about a minute)`);
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'setup-code-server.sh')], { stdio: 'inherit', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`scripts/setup-code-server.sh failed (exit ${r.status ?? r.signal})`);
  }
  return vscodeDir;
}

const t0 = Date.now();
export function log(msg: string): void {
  process.stdout.write(`[launch +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function waitForServer(url: string, server: ChildProcess, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`VS Code server exited early (${server.exitCode ?? server.signalCode}); see its log`);
    }
    try {
      if ((await httpStatus(url)) > 0) return; // any answer: it listens
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`VS Code server did not answer on ${url} within ${limitMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** server-main.js and its flags; dirs = [server data, user data, extensions]. */
export function serverArgs(vscodeDir: string, port: number, dirs: string[]): string[] {
  return [
    path.join(vscodeDir, 'out', 'server-main.js'),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-telemetry',
    '--disable-workspace-trust',
    '--server-data-dir',
    dirs[0],
    '--user-data-dir',
    dirs[1],
    '--extensions-dir',
    dirs[2],
  ];
}

/** A fresh copy of the repo's sample/ so that tests never modify the repo. */
export function copySample(tmpRoot: string): string {
  const dest = path.join(tmpRoot, 'sample');
  fs.cpSync(path.join(repoRoot, 'sample'), dest, {
    recursive: true,
    filter: (src) => path.basename(src) !== '.craft', // outputs of earlier runs
  });
  return dest;
}

/** The environment without CRAFT_IT_GREP: the extension host gets the launcher's grep or none. */
function withoutGrep(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.CRAFT_IT_GREP;
  return copy;
}

/** Formats the workbench's printf-style log arguments. */
function formatLog(args: unknown[]): string {
  if (args.length === 0) return '';
  const [first, ...rest] = args;
  if (typeof first !== 'string') return args.map(String).join(' ');
  let i = 0;
  const out = first.replace(/%[sdifoOc%]/g, (m) => {
    if (m === '%%') return '%';
    if (i >= rest.length) return m;
    const v = rest[i++];
    if (m === '%c') return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
  return [out, ...rest.slice(i).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))].join(' ');
}

// Workbench log lines the harness does not need to show (offline noise).
const NOISE = [/ENOTFOUND/, /open-vsx\.org/, /service ?worker/i, /telemetry/i, /marketplace/i, /ERR_NAME_NOT_RESOLVED/];

const RESULT_PREFIX = 'CRAFT_IT_RESULT ';

export class Run {
  server?: ChildProcess;
  browser?: Browser;
  tmpRoot?: string;
  private cleaned = false;

  /** Throws once cleanup started (timeout, signal): the run must not start more processes. */
  checkpoint(): void {
    if (this.cleaned) throw new Error('run stopped');
  }

  /** Where server.log is copied when a run fails (temp files are removed). */
  artifactsDir?: string;

  private cleaning?: Promise<void>;

  /** Idempotent: a second caller (signal handler vs. main flow) awaits the first. */
  cleanup(keepTemp: boolean, saveLog = false): Promise<void> {
    this.cleaned = true;
    this.cleaning ??= this.doCleanup(keepTemp, saveLog);
    return this.cleaning;
  }

  private async doCleanup(keepTemp: boolean, saveLog: boolean): Promise<void> {
    const browser = this.browser;
    if (browser) {
      await Promise.race([browser.close().catch(() => undefined), sleep(5000)]);
    }
    await this.killServer();
    const serverLog = this.tmpRoot && path.join(this.tmpRoot, 'server.log');
    if (saveLog && this.artifactsDir && serverLog && fs.existsSync(serverLog)) {
      fs.mkdirSync(this.artifactsDir, { recursive: true });
      fs.copyFileSync(serverLog, path.join(this.artifactsDir, 'server.log'));
      log(`server log: ${path.join(this.artifactsDir, 'server.log')}`);
    }
    if (this.tmpRoot && !keepTemp) fs.rmSync(this.tmpRoot, { recursive: true, force: true });
    else if (this.tmpRoot) log(`kept temp files in ${this.tmpRoot}`);
  }

  /** The server and its extension hosts share one process group (setsid): kill the group. */
  private async killServer(): Promise<void> {
    const pid = this.server?.pid;
    if (!pid) return;
    const alive = (): boolean => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 30 && alive(); i++) await sleep(100);
    if (alive()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Synchronous last resort for process exit paths. */
  killSync(): void {
    const pid = this.server?.pid;
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function paletteCheck(page: Page, screenshotDir: string): Promise<string> {
  // F1 opens the command palette; type a command without running it.
  await page
    .locator('.monaco-workbench')
    .click({ position: { x: 600, y: 300 } })
    .catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.type('Developer: Show Running Extensions', { delay: 10 });
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Show Running Extensions' }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  const file = path.join(screenshotDir, 'palette-check.png');
  await page.screenshot({ path: file });
  await page.keyboard.press('Escape');
  return file;
}

/** Waits for the page in `frame` to have received a message `match` accepts; returns the last such. */
async function waitForReceived(frame: Frame, match: (m: Received) => boolean, ms = 15_000): Promise<Received> {
  const end = Date.now() + ms;
  for (;;) {
    const found = (await received(frame)).filter(match);
    if (found.length) return found[found.length - 1];
    if (Date.now() > end) throw new Error(`the page received no such message within ${ms} ms: ${JSON.stringify(await received(frame))}`);
    await sleep(100);
  }
}

interface CheckResult {
  name: string;
  error?: string;
}

/**
 * The palette-driven run on a fresh workspace copy without craft.config.json (see the header). Each
 * named check passes or fails on its own; a failure of the run itself fails the checks after it.
 */
async function explainUiCheck(browser: Browser, base: string, port: number, tmpRoot: string, screenshotDir: string): Promise<CheckResult[]> {
  const parent = path.join(tmpRoot, 'ui');
  fs.mkdirSync(parent);
  const workspace = copySample(parent);
  fs.rmSync(path.join(workspace, 'craft.config.json'));
  const results: CheckResult[] = [];
  const check = async (name: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      results.push({ name });
      log(`ui check passed: ${name}`);
      return true;
    } catch (e) {
      results.push({ name, error: (e as Error).message });
      log(`ui check FAILED: ${name}: ${(e as Error).message}`);
      return false;
    }
  };
  const csp = new CspWatch();
  const { context, page } = await openWorkbench(browser, base, port, workspace, repoRoot, async (c) => {
    await csp.attach(c);
    await recordWebviewMessages(c);
  });
  page.on('pageerror', (e) => process.stdout.write(`[ui browser error] ${e.message}\n`));
  // The window's console (webview frames included), shown when a check fails.
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    consoleLines.push(`[+${((Date.now() - t0) / 1000).toFixed(1)}s ${m.type()}] ${m.text().slice(0, 300)}`);
    if (consoleLines.length > 400) consoleLines.shift();
  });
  try {
    let run: Awaited<ReturnType<typeof explainAnsweringEveryPrompt>> | undefined;
    const ran = await check('palette: "CRAFT: Explain class" asks model, size, images, class and layer, then writes a run', async () => {
      run = await explainAnsweringEveryPrompt(page, workspace, log, screenshotDir);
      log(`ui: run ${run.runDir}`);
    });
    const names = [
      'panel: the webview shows one .concept-card per concept',
      'config: craft.config.json remembers the answers (relative paths)',
      'prompts: the image folder prompt offers images/ankle_boot first; the class prompt the class the folder is named for',
      'progress: the notification names the class, with the run percentage and the stage',
      'panel: the tab names the class, the image folder and the image count',
      'confirmation: "CRAFT: Explain class" with remembered choices shows them first; Escape runs nothing and changes nothing',
      'panel: "Save HTML report" proposes the workspace folder, writes the report there, and its notice reveals it in the Explorer',
      'names: a concept renamed from the page is written to names.json and sent back; results.json unchanged',
      'panel: restored with its cards after a window reload (serializer)',
      'names: the restored panel is shown the concept name from names.json',
      'panel (restored): clicking a crop opens its source image in an editor',
      "what-if: the large view's sliders ask the engine, whose answer (score and probability against the reconstruction) arrives in well under a second",
      'panel: "Refine…" on a concept card asks for the layer, then nests the sub-concepts in that card; "Open sub-concepts" opens the refined run',
      'palette: "Several classes…" in the class prompt runs two classes; the panel switches class with its selector',
      'panel: no CSP violation in the results webview frames (first open, report, reload, restored panel, refined run, a set)',
    ];
    if (!ran || !run) {
      for (const name of names) results.push({ name, error: 'the palette run failed' });
      return results;
    }
    const r = run;
    const shoot = async (name: string) => {
      fs.mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDir, name) });
    };
    await check(names[0], async () => {
      if (r.concepts < 1 || r.cards !== r.concepts) throw new Error(`${r.cards} concept cards for ${r.concepts} concepts`);
    });
    await check(names[1], async () => {
      const want = { model: 'model/fmnist_cnn.onnx', size: [28, 28], images: 'images/ankle_boot', class: 9, layer: '/g/MaxPool_1_output_0' };
      const got = r.config;
      for (const [k, v] of Object.entries(want)) {
        if (JSON.stringify(got[k]) !== JSON.stringify(v)) throw new Error(`"${k}" is ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)}`);
      }
    });
    await check(names[2], async () => {
      const [images, cls] = [r.offered.images, r.offered.class];
      if (images[0] !== 'images/ankle_boot · 200 images · suggested (most images directly)') throw new Error(`images prompt rows: ${JSON.stringify(images)}`);
      if (!images.some((row) => row.startsWith('. · '))) throw new Error(`no row for the workspace folder: ${JSON.stringify(images)}`);
      if (cls[0] !== '-- matches the image folder ankle_boot --' || cls[1] !== '9 Ankle boot · matches the folder')
        throw new Error(`class prompt rows: ${JSON.stringify(cls.slice(0, 4))}`);
    });
    await check(names[3], async () => {
      log(`ui: progress notification:\n  ${r.progress.join('\n  ')}`);
      const good = r.progress.filter((t) =>
        /CRAFT: explaining Ankle boot \(ankle_boot\).*\d{1,3}% · (model|activations|nmf|transform|importance|fidelity|maps|write) \d+\/\d+ \w+/.test(t),
      );
      if (good.length === 0) throw new Error(`no progress text with the class and a percentage: ${JSON.stringify(r.progress)}`);
    });
    await check(names[4], async () => {
      const titles = await tabTitles(page);
      if (!titles.includes('CRAFT: Ankle boot · ankle_boot (200)')) throw new Error(`tabs: ${JSON.stringify(titles)}`);
    });
    await check(names[5], async () => {
      const configFile = path.join(workspace, 'craft.config.json');
      const config = fs.readFileSync(configFile, 'utf8');
      const latest = fs.readFileSync(path.join(workspace, '.craft', 'latest.json'), 'utf8');
      await runFromPalette(page, 'CRAFT: Explain class');
      const rows = await waitForPrompt(page, 'run with these choices?');
      await shoot('ui-confirm.png');
      const want = [
        'Run · Ankle boot on 200 images of ankle_boot',
        'Model · model/fmnist_cnn.onnx',
        'Images · images/ankle_boot · 200 images',
        'Class · 9 Ankle boot',
        'Layer · /g/MaxPool_1_output_0',
        'Concepts · 10',
        'Provider · auto',
      ];
      const shown = rows.filter((row) => !row.startsWith('--'));
      if (JSON.stringify(shown) !== JSON.stringify(want)) throw new Error(`confirmation rows: ${JSON.stringify(rows)}`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(3000);
      if (fs.readFileSync(configFile, 'utf8') !== config) throw new Error('craft.config.json changed');
      if (fs.readFileSync(path.join(workspace, '.craft', 'latest.json'), 'utf8') !== latest) throw new Error('a run started');
    });
    await check(names[6], async () => {
      const { frame } = await conceptCards(page, r.concepts, 10_000);
      await frame.getByText('Save HTML report', { exact: true }).first().click();
      // Remote window: VS Code's own save dialog, a quick input prefilled with the proposed path.
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      const expected = path.join(workspace, `craft-${path.basename(r.runDir)}.html`);
      let proposed = '';
      for (let i = 0; i < 50 && !proposed.endsWith('.html'); i++) {
        proposed = await input.inputValue();
        await page.waitForTimeout(100);
      }
      if (proposed !== expected) throw new Error(`the save dialog proposed ${proposed}, expected ${expected}`);
      await page.keyboard.press('Enter');
      const end = Date.now() + 60_000;
      while (!fs.existsSync(expected) && Date.now() < end) await new Promise((res) => setTimeout(res, 250));
      if (!fs.existsSync(expected)) throw new Error(`${expected} was not written`);
      if (!/^<!DOCTYPE html>/i.test(fs.readFileSync(expected, 'utf8'))) throw new Error('the report is not an HTML page');
      // The notice: in this browser window (the file is on the server) no "Open", but "Reveal in Explorer".
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'report saved to' }).first();
      await toast.waitFor({ state: 'visible', timeout: 15_000 });
      const buttons = (await toast.locator('.monaco-button').allTextContents()).map((b) => b.trim()).filter(Boolean);
      if (JSON.stringify(buttons) !== JSON.stringify(['Reveal in Explorer', 'Copy Path'])) throw new Error(`the notice offers ${JSON.stringify(buttons)}`);
      await shoot('ui-report-saved.png');
      await toast.locator('.monaco-button', { hasText: 'Reveal in Explorer' }).click();
      const row = page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: path.basename(expected) });
      await row.waitFor({ state: 'visible', timeout: 15_000 });
      await shoot('ui-report-revealed.png');
    });
    const resultsJson = path.join(r.runDir, 'results.json');
    const resultsBefore = fs.readFileSync(resultsJson, 'utf8');
    const NAME = 'Laces & eyelets';
    await check(names[7], async () => {
      const { frame } = await conceptCards(page, r.concepts, 10_000);
      await postAsPage(frame, { type: 'renameConcept', concept: 0, name: ` ${NAME} ` });
      const namesFile = path.join(r.runDir, 'names.json');
      const end = Date.now() + 15_000;
      while (!fs.existsSync(namesFile) && Date.now() < end) await page.waitForTimeout(100);
      const stored = fs.existsSync(namesFile) ? fs.readFileSync(namesFile, 'utf8') : 'missing';
      if (stored === 'missing' || JSON.stringify(JSON.parse(stored)) !== JSON.stringify({ 0: NAME })) throw new Error(`names.json: ${stored}`);
      const reply = await waitForReceived(frame, (m) => m.type === 'names');
      if (JSON.stringify(reply.names) !== JSON.stringify({ 0: NAME })) throw new Error(`the page was sent ${JSON.stringify(reply)}`);
      if (fs.readFileSync(resultsJson, 'utf8') !== resultsBefore) throw new Error('results.json changed');
    });
    await check(names[8], async () => {
      // The browser workbench serves every webview from the page's own origin, through one service
      // worker registration per webview id; a webview restored under the previous id's worker (or
      // racing another webview, e.g. VS Code's image preview, for it) can wait for its
      // 'controllerchange' for minutes (seen here). Desktop VS Code gives each webview its own origin.
      // So the reload comes before any other webview is opened, and the registrations are dropped
      // first: the restored webview then starts like the first one.
      await page.evaluate('navigator.serviceWorker.getRegistrations().then((rs) => Promise.all(rs.map((r) => r.unregister())))');
      // Through the workbench's own command: its shutdown flushes the editor state (with the page's
      // setState) to storage before the reload, as the desktop window does.
      await runFromPalette(page, 'Developer: Reload Window');
      await page.waitForEvent('load', { timeout: 30_000 }).catch(() => undefined);
      await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
      const { count } = await conceptCards(page, r.concepts, 90_000);
      log(`ui: tabs after the reload: ${JSON.stringify(await tabTitles(page))}`);
      fs.mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDir, 'ui-restored.png') });
      if (count !== r.concepts) throw new Error(`${count} concept cards after the reload, expected ${r.concepts}`);
    });
    await check(names[9], async () => {
      const { frame } = await conceptCards(page, r.concepts, 10_000);
      const shown = await waitForReceived(frame, (m) => m.type === 'show');
      if (shown.type !== 'show' || JSON.stringify(shown.names) !== JSON.stringify({ 0: NAME }))
        throw new Error(`the restored page was sent ${JSON.stringify(shown)}`);
      if (fs.readFileSync(resultsJson, 'utf8') !== resultsBefore) throw new Error('results.json changed');
    });
    await check(names[10], async () => {
      const { frame } = await conceptCards(page, r.concepts, 10_000);
      const crop = frame.locator('.concept-card button.crop').first();
      const source = ((await crop.getAttribute('title')) ?? '').split('\n')[0];
      if (!source) throw new Error('the crop names no source image');
      await crop.click();
      const tab = page.locator('.tabs-container .tab', { has: page.locator('.label-name', { hasText: path.basename(source) }) }).first();
      await tab.waitFor({ state: 'visible', timeout: 15_000 });
    });
    await check(names[11], async () => {
      const { frame } = await conceptCards(page, r.concepts, 10_000);
      await frame.locator('.whatif > summary').click();
      // The first answer starts the engine's what-if process (h opened once); later ones reuse it.
      await frame.locator('.whatif-result .whatif-target').waitFor({ state: 'visible', timeout: 30_000 });
      const slider = frame.locator('.whatif-row input[type="range"]').first();
      await slider.focus();
      const asked = Date.now();
      await page.keyboard.press('Home');
      await frame.locator('.whatif-result .whatif-target', { hasText: '→' }).waitFor({ state: 'visible', timeout: 15_000 });
      // Includes the page's 120 ms debounce after the key.
      const ms = Date.now() - asked;
      log(`ui: what-if answered ${ms} ms after the slider moved`);
      await page.screenshot({ path: path.join(screenshotDir, 'ui-whatif.png') });
      if (ms > 1000) throw new Error(`the what-if answer took ${ms} ms`);
    });
    await check(names[12], async () => {
      await refineFromCard(page, r.runDir, r.concepts, screenshotDir);
    });
    await check(names[13], () => severalClassesFromThePrompt(page, workspace, log));
    await check(names[14], async () => {
      const { frame, count } = await conceptCards(page, r.concepts, 10_000);
      if (count < 1) throw new Error('no results frame to check');
      if (!(await CspWatch.watching(frame))) throw new Error('the CSP recorder does not run in the results frame');
      csp.assertClean('the UI check window');
      log(`ui: ${csp.pages} results pages watched for CSP violations`);
    });
    return results;
  } finally {
    if (results.some((c) => c.error)) {
      await page.screenshot({ path: path.join(screenshotDir, 'ui-failure.png') }).catch(() => undefined);
      const relevant = consoleLines.filter((l) => !NOISE.some((re) => re.test(l)) || /service worker/i.test(l));
      process.stdout.write(`ui window console (last lines):\n${relevant.slice(-60).join('\n')}\n`);
      process.stdout.write(
        `ui frames: ${page
          .frames()
          .map((f) => f.url().slice(0, 160))
          .join('\n  ')}\n`,
      );
    }
    await context.close().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const run = new Run();
  run.artifactsDir = opts.screenshotDir;
  // Artifacts of an earlier failed run would mislead.
  for (const f of ['failure.png', 'server.log']) fs.rmSync(path.join(opts.screenshotDir, f), { force: true });

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping`);
    interrupted = true;
    void run.cleanup(opts.keepTemp).finally(() => {
      process.stdout.write('interrupted\n');
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  process.once('exit', () => run.killSync());

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`overall timeout of ${opts.timeoutMs} ms reached`)), opts.timeoutMs);
  });

  let result: SuiteResult | undefined;
  let logResult: SuiteResult | undefined;
  let exitCodeFromHost: number | undefined;
  let harnessError: string | undefined;
  let paletteError: string | undefined;
  let uiChecks: CheckResult[] = [];
  const suiteCsp = new CspWatch();
  const suiteChecks: CheckResult[] = [];
  let page: Page | undefined;

  try {
    await Promise.race([
      timeout,
      (async () => {
        const vscodeDir = ensureSetup(opts.timeoutMs);
        const testsEntry = path.join(repoRoot, 'out', 'test', 'integration', 'index.js');
        if (!fs.existsSync(testsEntry)) throw new Error(`${testsEntry} missing: build first (npx tsc -p .)`);
        const main = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).main as string;
        if (main && !fs.existsSync(path.resolve(repoRoot, main))) log(`warning: extension entry ${main} is not built`);

        run.tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-it-'));
        const workspace = opts.workspace ?? copySample(run.tmpRoot);
        const resultFile = path.join(run.tmpRoot, 'mocha-result.json');
        const serverLog = path.join(run.tmpRoot, 'server.log');
        const port = await freePort();
        const dirs = ['server-data', 'user-data', 'extensions'].map((d) => {
          const p = path.join(run.tmpRoot!, d);
          fs.mkdirSync(p);
          return p;
        });

        run.checkpoint();
        // detached: Node calls setsid(2), so the server and every extension
        // host it forks form one process group that cleanup() kills.
        const logFd = fs.openSync(serverLog, 'a');
        run.server = spawn(process.execPath, serverArgs(vscodeDir, port, dirs), {
          detached: true,
          stdio: ['ignore', logFd, logFd],
          // The extension host inherits this environment: index.ts writes
          // its counts to CRAFT_IT_RESULT_FILE.
          env: {
            ...withoutGrep(process.env),
            ...(opts.grep ? { CRAFT_IT_GREP: opts.grep } : {}),
            CRAFT_IT_RESULT_FILE: resultFile,
            CRAFT_IT_WORKSPACE: workspace,
          },
        });
        fs.closeSync(logFd);
        const base = `http://127.0.0.1:${port}`;
        await waitForServer(`${base}/version`, run.server, 60_000);
        log(`VS Code server ${CODE_SERVER_VERSION} listening on ${base} (log: ${serverLog})`);

        run.checkpoint();
        const browser = await launchChromium();
        try {
          run.checkpoint();
        } catch (e) {
          await browser.close();
          throw e;
        }
        run.browser = browser;
        log(`chromium ${browser.version()} started`);
        page = await run.browser.newPage({ viewport: { width: 1280, height: 800 } });
        // The suite's panels are watched from here: the extension host cannot see its webviews' CSP.
        await suiteCsp.attach(page.context());

        let resolveExit!: (code: number) => void;
        const exited = new Promise<number>((r) => (resolveExit = r));
        await page.exposeFunction('codeAutomationLog', (...args: unknown[]) => {
          // Workbench logger calls it as (level, message); message may carry printf args.
          // The workbench calls it as (level, message); console output of the
          // extension host arrives as (level, [format, ...args]).
          const [level, ...rest] = args;
          const text = formatLog(rest.length === 1 && Array.isArray(rest[0]) ? rest[0] : rest);
          const at = text.indexOf(RESULT_PREFIX);
          if (at >= 0) {
            try {
              logResult = JSON.parse(text.slice(at + RESULT_PREFIX.length).split('\n')[0]) as SuiteResult;
            } catch {
              // garbled: the result file is the primary channel
            }
            return;
          }
          if (!opts.verbose && NOISE.some((re) => re.test(text))) return;
          for (const line of text.split('\n')) process.stdout.write(`[vscode ${String(level)}] ${line}\n`);
        });
        await page.exposeFunction('codeAutomationExit', (code: unknown) => resolveExit(Number(code)));
        if (opts.verbose) {
          page.on('console', (m) => process.stdout.write(`[browser ${m.type()}] ${m.text()}\n`));
        }
        page.on('pageerror', (e) => process.stdout.write(`[browser error] ${e.message}\n`));

        const remote = (p: string): string => `vscode-remote://127.0.0.1:${port}${p}`;
        const payload = [
          ['extensionDevelopmentPath', remote(repoRoot)],
          ['extensionTestsPath', remote(testsEntry)],
          ['skipWelcome', 'true'],
        ];
        const url = `${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
        log(`workspace ${workspace}`);
        await page.goto(url);

        exitCodeFromHost = await exited;
        log(`extension host finished the suite (exit code ${exitCodeFromHost})`);
        if (opts.verbose) log(`result channels: file=${fs.existsSync(resultFile)} log=${logResult !== undefined}`);
        if (fs.existsSync(resultFile)) result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as SuiteResult;
        else if (logResult) {
          log('no result file (environment not passed to the extension host?): using the logged result');
          result = logResult;
        }

        const cspName = 'suite window: no CSP violation in the results webview frames';
        if (suiteCsp.pages === 0 && process.env.CRAFT_IT_GREP) log(`${cspName}: skipped, this part of the suite opened no results page`);
        else {
          try {
            suiteCsp.assertClean('the suite window');
            suiteChecks.push({ name: cspName });
            log(`check passed: ${cspName} (${suiteCsp.pages} results pages watched)`);
          } catch (e) {
            suiteChecks.push({ name: cspName, error: (e as Error).message });
          }
        }

        if (opts.paletteCheck) {
          fs.mkdirSync(opts.screenshotDir, { recursive: true });
          try {
            log(`palette check: screenshot ${await paletteCheck(page, opts.screenshotDir)}`);
          } catch (e) {
            paletteError = (e as Error).message;
          }
        }

        if (opts.uiCheck) {
          run.checkpoint();
          // The suite's window is done with (its screenshot is only wanted when it failed): close it so
          // its workbench does not compete for the CPU with the UI check's.
          if (result && result.failed === 0) {
            await page.close().catch(() => undefined);
            page = undefined;
          }
          fs.mkdirSync(opts.screenshotDir, { recursive: true });
          uiChecks = await explainUiCheck(run.browser, base, port, run.tmpRoot, opts.screenshotDir);
        }
      })(),
    ]);
  } catch (e) {
    harnessError = (e as Error).stack ?? String(e);
  } finally {
    if (timer) clearTimeout(timer);
  }

  const failedRun = harnessError !== undefined || (result?.failed ?? 1) > 0 || [...suiteChecks, ...uiChecks].some((c) => c.error !== undefined);
  if (failedRun && page) {
    try {
      fs.mkdirSync(opts.screenshotDir, { recursive: true });
      const shot = path.join(opts.screenshotDir, 'failure.png');
      await Promise.race([page.screenshot({ path: shot }), sleep(10_000)]);
      log(`screenshot of the workbench: ${shot}`);
    } catch {
      // the page may be gone
    }
  }
  await run.cleanup(opts.keepTemp, failedRun);
  if (interrupted) {
    process.stdout.write('interrupted\n');
    return 130;
  }

  let passed = result?.passed ?? 0;
  let failed = result?.failed ?? 0;
  const skipped = result?.pending ?? 0;
  // Tests of the suite itself that ran (the UI checks below come on top).
  const ran = (result?.passed ?? 0) + (result?.failed ?? 0);
  for (const f of result?.failures ?? []) {
    process.stdout.write(`FAILED: ${f.title}\n  ${f.message.split('\n').join('\n  ')}\n`);
  }
  if (harnessError) {
    process.stdout.write(`HARNESS ERROR: ${harnessError}\n`);
    failed += 1;
  } else if (!result) {
    process.stdout.write(`HARNESS ERROR: the extension host exited with code ${exitCodeFromHost} without a Mocha result\n`);
    failed += 1;
  } else if ((exitCodeFromHost ?? 0) !== 0 && failed === 0) {
    process.stdout.write(`HARNESS ERROR: extension host exit code ${exitCodeFromHost} but no failed test\n`);
    failed += 1;
  } else if (ran === 0 && !opts.grep) {
    process.stdout.write(`FAILED: the Mocha suite ran no test (${skipped} skipped)\n`);
    failed += 1;
  }
  for (const c of suiteChecks) {
    if (c.error) {
      process.stdout.write(`FAILED: check: ${c.name}\n  ${c.error}\n`);
      failed += 1;
    } else passed += 1;
  }
  for (const c of uiChecks) {
    if (c.error) {
      process.stdout.write(`FAILED: ui check: ${c.name}\n  ${c.error}\n`);
      failed += 1;
    } else passed += 1;
  }
  if (paletteError) {
    process.stdout.write(`FAILED: palette check\n  ${paletteError}\n`);
    failed += 1;
  } else if (opts.paletteCheck && !harnessError) {
    passed += 1;
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  if (opts.summary) fs.writeFileSync(opts.summary, JSON.stringify({ passed, failed, skipped, ran }));
  // Exit codes are 8-bit: never let 256 failures read as success.
  return Math.min(failed, 255);
}

// vsix-check.ts imports the helpers above without running the suite.
if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stdout.write(`HARNESS ERROR: ${(e as Error).stack ?? e}\n0 passed, 1 failed, 0 skipped\n`);
      process.exit(1);
    },
  );
}

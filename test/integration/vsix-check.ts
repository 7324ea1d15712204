// Checks the VSIXs that `npm run package:all` wrote to dist/: first what each platform's VSIX holds
// (vsix-contents.ts), then installs this machine's one into the VS Code server like a user would
// (server-main.js --install-extension), opens a copy of sample/ WITHOUT the development extension, and
// runs "CRAFT: Explain class" from the palette: the installed extension must run the engine (native
// onnxruntime-node and sharp from the VSIX) and show the concept cards.
//
//   npm run package:all && node out/test/integration/vsix-check.js [--dir DIR] [--vsix FILE]
//                                                                  [--screenshot-dir DIR] [--keep-temp]
//
// --dir: where the VSIXs are (default dist/); --vsix: install this file instead of DIR's VSIX for this
// machine. Prints `N passed, N failed`; exit code = failures.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Run, copySample, launchChromium, ensureSetup, freePort, log, repoRoot, serverArgs, waitForServer } from './launch';
import { conceptCards, openWorkbench, runFromPalette, waitForRun } from './ui';
import { VSIX_TARGETS, VsixTarget, checkVsix, vsixPath } from './vsix-contents';

const EXTENSION_ID = 'craft-explain.craft-explain';

/** A failed step that later steps need: stop (already counted). */
class Stop extends Error {}

interface Options {
  dir: string;
  vsix?: string;
  screenshotDir: string;
  keepTemp: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { dir: path.join(repoRoot, 'dist'), screenshotDir: path.join(repoRoot, 'test-artifacts'), keepTemp: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dir') o.dir = path.resolve(argv[++i]);
    else if (a === '--vsix') o.vsix = path.resolve(argv[++i]);
    else if (a === '--screenshot-dir') o.screenshotDir = path.resolve(argv[++i]);
    else if (a === '--keep-temp') o.keepTemp = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const run = new Run();
  run.artifactsDir = opts.screenshotDir;
  process.once('exit', () => run.killSync());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void run.cleanup(opts.keepTemp).finally(() => process.exit(130)));
  }
  let passed = 0;
  let failed = 0;
  const check = async (name: string, fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      passed++;
      log(`passed: ${name}`);
      return true;
    } catch (e) {
      failed++;
      process.stdout.write(`FAILED: ${name}\n  ${(e as Error).message.split('\n').join('\n  ')}\n`);
      return false;
    }
  };

  try {
    for (const target of VSIX_TARGETS) {
      const file = vsixPath(opts.dir, target);
      if (!fs.existsSync(file)) {
        await check(`${target}: the VSIX exists`, async () => {
          throw new Error(`${file} is missing (build it: npm run package:all)`);
        });
        continue;
      }
      log(`${path.basename(file)}: ${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MB`);
      for (const c of checkVsix(file, target)) {
        await check(c.name, async () => {
          if (c.problems.length) throw new Error(c.problems.join('\n'));
        });
      }
    }

    const host = `${process.platform}-${process.arch}` as VsixTarget;
    const vsix = opts.vsix ?? vsixPath(opts.dir, host);
    if (!opts.vsix && !VSIX_TARGETS.includes(host)) throw new Error(`no VSIX target for this machine (${host})`);
    if (!fs.existsSync(vsix)) {
      if (opts.vsix) throw new Error(`${vsix} does not exist`);
      throw new Stop(); // its missing VSIX was counted above
    }
    const [hostOs, hostCpu] = host.split('-');

    const vscodeDir = ensureSetup(10 * 60_000);
    run.tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-vsix-'));
    const dirs = ['server-data', 'user-data', 'extensions'].map((d) => {
      const p = path.join(run.tmpRoot!, d);
      fs.mkdirSync(p);
      return p;
    });

    const installed = await check('server-main.js --install-extension installs it', async () => {
      const args = [
        path.join(vscodeDir, 'out', 'server-main.js'),
        '--accept-server-license-terms',
        '--server-data-dir',
        dirs[0],
        '--user-data-dir',
        dirs[1],
        '--extensions-dir',
        dirs[2],
        '--install-extension',
        vsix,
      ];
      const r = spawnSync(process.execPath, args, {
        encoding: 'utf8',
        timeout: 3 * 60_000,
      });
      if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}: ${(r.stdout + r.stderr).slice(-2000)}`);
      const folder = fs.readdirSync(dirs[2]).find((n) => n.startsWith(`${EXTENSION_ID}-`));
      if (!folder) throw new Error(`no ${EXTENSION_ID}-* folder in ${dirs[2]}: ${fs.readdirSync(dirs[2]).join(', ')}`);
      const ext = path.join(dirs[2], folder);
      for (const f of [
        'out/src/extension/index.js',
        'out/src/craft/worker.js',
        'media/webview.js',
        'schemas/craft.config.schema.json',
        `node_modules/onnxruntime-node/bin/napi-v6/${hostOs}/${hostCpu}/onnxruntime_binding.node`,
      ]) {
        if (!fs.existsSync(path.join(ext, f))) throw new Error(`${f} is missing from the installed extension`);
      }
      log(`installed into ${ext}`);
    });
    if (!installed) throw new Stop();

    const workspace = copySample(run.tmpRoot);
    const port = await freePort();
    const serverLog = path.join(run.tmpRoot, 'server.log');
    const logFd = fs.openSync(serverLog, 'a');
    run.server = spawn(process.execPath, serverArgs(vscodeDir, port, dirs), { detached: true, stdio: ['ignore', logFd, logFd], env: process.env });
    fs.closeSync(logFd);
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(`${base}/version`, run.server, 60_000);
    run.browser = await launchChromium();
    // No extensionDevelopmentPath: only the installed VSIX can provide the command.
    const { page } = await openWorkbench(run.browser, base, port, workspace);
    await check('the installed extension runs "CRAFT: Explain class" from the palette and shows the concept cards', async () => {
      // sample/craft.config.json names model, images, class, layer and size: no prompt.
      await runFromPalette(page, 'CRAFT: Explain class');
      const runDir = await waitForRun(path.join(workspace, '.craft'), undefined, 180_000);
      const bundle = JSON.parse(fs.readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { concepts: unknown[]; provider: string };
      const { count } = await conceptCards(page, bundle.concepts.length, 60_000);
      fs.mkdirSync(opts.screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(opts.screenshotDir, 'vsix-check.png') });
      if (count !== bundle.concepts.length) throw new Error(`${count} concept cards for ${bundle.concepts.length} concepts`);
      log(`run ${runDir}: ${count} concept cards, provider ${bundle.provider}`);
    });
  } catch (e) {
    if (!(e instanceof Stop)) {
      failed++;
      process.stdout.write(`HARNESS ERROR: ${(e as Error).stack ?? e}\n`);
    }
  } finally {
    await run.cleanup(opts.keepTemp, failed > 0);
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return Math.min(failed, 255);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stdout.write(`HARNESS ERROR: ${(e as Error).stack ?? e}\n0 passed, 1 failed\n`);
    process.exit(1);
  },
);

// Runs the results page's tests in real headless Chromium (playwright-core, /usr/bin/chromium):
// builds media/webview.{js,css}, runs the engine on a few sample images (some with hostile file names),
// serves the extension's own page HTML (its strict CSP included) from a stand-in VS Code webview host,
// then checks the page and the standalone HTML report.
//
//   node out/test/webview/webview-launch.js [--summary FILE] [--artifacts DIR] [--grep TEXT] [--keep-temp]
//
// Prints `N passed, N failed`, writes {"passed": N, "failed": N} to --summary, exits 1 on any failure.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/craft/bundle/report';
import { CHROMIUM, CHROMIUM_ARGS } from './browser-harness';
import { reportCases, webviewCases, type Case, type Ctx } from './cases';
import { classSetCases, makeClassSetFixture } from './class-set-cases';
import { makeClipartBundle, makeFixtureBundle, repoRoot } from './fixture';
import { startHost } from './host';
import { trustCases } from './trust-cases';
import { refineCases, refineFixture } from './refine-cases';

interface Options {
  summary?: string;
  artifacts: string;
  grep?: string;
  keepTemp: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { artifacts: path.join(repoRoot, 'test-artifacts'), keepTemp: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--summary') o.summary = path.resolve(value());
    else if (a === '--artifacts') o.artifacts = path.resolve(value());
    else if (a === '--grep') o.grep = value();
    else if (a === '--keep-temp') o.keepTemp = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  let passed = 0;
  let failed = 0;
  const writeSummary = () => {
    console.log(`${passed} passed, ${failed} failed`);
    if (o.summary) {
      fs.mkdirSync(path.dirname(o.summary), { recursive: true });
      fs.writeFileSync(o.summary, JSON.stringify({ passed, failed }));
    }
  };

  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    const build = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-webview.js')], { cwd: repoRoot, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building the page failed:\n${build.stdout}${build.stderr}`);
    console.log(build.stdout.trim());

    const t0 = Date.now();
    const fixture = await makeFixtureBundle();
    cleanups.push(() => (o.keepTemp ? console.log(`kept ${fixture.temp}`) : fixture.cleanup()));
    console.log(`fixture bundle: ${fixture.bundle.images.length} images, ${fixture.bundle.concepts.length} concepts (${Date.now() - t0} ms)`);
    const tr = Date.now();
    const refined = await refineFixture(fixture);
    console.log(`refined run: ${refined.child.bundle.images.length} crops, ${refined.child.bundle.concepts.length} sub-concepts (${Date.now() - tr} ms)`);
    const t1 = Date.now();
    const clipart = await makeClipartBundle();
    cleanups.push(() => (o.keepTemp ? console.log(`kept ${clipart.temp}`) : clipart.cleanup()));
    console.log(`clip-art bundle: ${clipart.bundle.images.length} images, ${clipart.bundle.concepts.length} concepts (${Date.now() - t1} ms)`);
    const t2 = Date.now();
    const classSet = await makeClassSetFixture();
    cleanups.push(() => (o.keepTemp ? console.log(`kept ${classSet.temp}`) : classSet.cleanup()));
    console.log(`class set: ${classSet.runs.map((r) => `${r.bundle.class.label} ${r.bundle.images.length}`).join(', ')} images (${Date.now() - t2} ms)`);
    const reportFile = await writeReport(fixture.runDir, path.join(fixture.temp, 'report.html'));
    console.log(`report: ${(fs.statSync(reportFile).size / 1024).toFixed(1)} KB`);
    const clipartReport = await writeReport(clipart.runDir, path.join(clipart.temp, 'report.html'));
    console.log(`clip-art report: ${(fs.statSync(clipartReport).size / 1024).toFixed(1)} KB`);

    const host = await startHost({ runDir: fixture.runDir, mediaDir: path.join(repoRoot, 'media'), bundle: fixture.bundle });
    cleanups.push(() => host.close());
    host.addBundle('clipart', clipart.bundle, clipart.runDir);
    host.addSet(
      'set',
      classSet.index,
      classSet.runs.map((r) => ({ bundle: r.bundle, runDir: r.dir })),
    );
    host.addBundle('refined', refined.child.bundle, refined.child.dir);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    fs.mkdirSync(o.artifacts, { recursive: true });

    const ctx: Ctx = {
      browser,
      host,
      fixture,
      reportFile,
      clipart,
      clipartReport,
      classSet,
      refined,
      artifacts: o.artifacts,
      log: (line) => console.log(line),
    };
    const cases: Case[] = [...webviewCases, ...trustCases, ...classSetCases, ...refineCases, ...reportCases].filter((c) => !o.grep || c.name.includes(o.grep));
    for (const c of cases) {
      const start = Date.now();
      try {
        await withTimeout(c.run(ctx), 60_000, c.name);
        passed++;
        console.log(`✔ ${c.name} (${Date.now() - start} ms)`);
      } catch (e) {
        failed++;
        console.log(`✖ ${c.name} (${Date.now() - start} ms)\n  ${(e instanceof Error ? (e.stack ?? e.message) : String(e)).split('\n').join('\n  ')}`);
      }
    }
  } catch (e) {
    failed++;
    console.log(`✖ setup: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
  writeSummary();
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

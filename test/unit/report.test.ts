import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CraftError } from '../../src/craft/errors';
import sharp from 'sharp';
import { REPORT_WEBP_QUALITY, writeReport } from '../../src/craft/bundle/report';
import { readBundle } from '../../src/craft/bundle/writer';
import { HOSTILE_SCRIPT, makeFixtureBundle, type Fixture } from '../webview/fixture';

const repoRoot = path.resolve(__dirname, '../../..');
let fx: Fixture;
let html: string;
let reportPath: string;

/** The report without the contents of its <script> and <style> elements (they hold no markup). */
function markupOnly(page: string): string {
  return page.replace(/(<script\b[^>]*>)[\s\S]*?(<\/script>)/gi, '$1$2').replace(/(<style\b[^>]*>)[\s\S]*?(<\/style>)/gi, '$1$2');
}

function dataBlock(page: string): string {
  const m = /<script type="application\/json" id="craft-report-data">([\s\S]*?)<\/script>/.exec(page);
  assert.ok(m, 'the report has its data block');
  return m[1];
}

before(async () => {
  const build = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-webview.js'), '--quiet'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, `build-webview failed: ${build.stderr}`);
  fx = await makeFixtureBundle({ images: 5, concepts: 3, designs: 4 });
  reportPath = await writeReport(fx.runDir);
  html = fs.readFileSync(reportPath, 'utf8');
});

after(() => fx?.cleanup());

test('writeReport writes <runDir>/report.html by default and returns its absolute path', () => {
  assert.equal(reportPath, path.join(fx.runDir, 'report.html'));
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(
    fs.readdirSync(fx.runDir).every((f) => !f.endsWith('.tmp')),
    'no temporary file left behind',
  );
});

test('the report is self-contained: no src, href or url() that is not a data: URI', () => {
  const markup = markupOnly(html);
  const refs = [...markup.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]);
  assert.deepEqual(
    refs.filter((r) => !r.startsWith('data:')),
    [],
  );
  const css = /<style[^>]*>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  assert.ok(css.length > 1000, 'styles are inlined');
  assert.deepEqual(
    [...css.matchAll(/url\(\s*["']?([^"')]*)/g)].map((m) => m[1]).filter((u) => !u.startsWith('data:')),
    [],
  );
  assert.ok(!/<link\b/i.test(markup), 'no <link>');
  assert.ok(!/\bhttps?:\/\//.test(markup), 'no remote address in the markup');
});

test('a strict CSP with one nonce covers every inline script and style', () => {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(csp, 'CSP meta tag');
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
  assert.ok(nonce && nonce.length >= 16, 'script nonce');
  assert.ok(csp.includes("default-src 'none'"));
  assert.ok(csp.includes('img-src data:'));
  assert.ok(csp.includes(`style-src 'nonce-${nonce}'`));
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  const markup = markupOnly(html);
  const scripts = [...markup.matchAll(/<script\b([^>]*)>/gi)].map((m) => m[1]);
  assert.equal(scripts.length, 3, 'data block, bootstrap and page script');
  for (const attrs of scripts) assert.ok(attrs.includes('type="application/json"') || attrs.includes(`nonce="${nonce}"`), `script ${attrs} has the nonce`);
  for (const m of markup.matchAll(/<style\b([^>]*)>/gi)) assert.ok(m[1].includes(`nonce="${nonce}"`));
  assert.ok(!/\son[a-z]+\s*=/i.test(markup), 'no inline event handler');
  assert.ok(markup.includes(`<meta property="csp-nonce" content="${nonce}">`), 'FAST reads the style nonce from this tag');
});

test('the bundle JSON and every picture are embedded: overlays as the same PNG, thumbnails and crops as WebP when smaller', async () => {
  const view = JSON.parse(dataBlock(html)) as { bundle: unknown; baseUrl: string; runDir: string; files: Record<string, string> };
  const b = await readBundle(fx.runDir);
  // Local paths by their base names (the report is meant to be shared; see bundle-report.test.ts).
  assert.deepEqual(view.bundle, { ...b, model: { ...b.model, path: path.basename(b.model.path) }, datasetRoot: path.basename(b.datasetRoot) });
  assert.equal(view.baseUrl, '.');
  assert.equal(view.runDir, path.basename(fx.runDir));
  const wanted = new Set([
    ...b.images.flatMap((im) => [im.thumbnail, im.maps ?? im.thumbnail, im.cropMaps ?? im.thumbnail]),
    ...b.concepts.flatMap((c) => [...c.crops, ...(c.regions ?? [])].map((k) => k.file)),
  ]);
  assert.deepEqual(Object.keys(view.files).sort(), [...wanted].sort());
  const overlays = new Set(b.images.flatMap((im) => [im.maps, im.cropMaps]).filter((f): f is string => f !== undefined));
  assert.ok(overlays.size > 0, 'the fixture has map overlays');
  let webp = 0;
  for (const [rel, uri] of Object.entries(view.files)) {
    const png = fs.readFileSync(path.join(fx.runDir, rel));
    const [, type, base64] = /^data:(image\/(?:png|webp));base64,(.*)$/.exec(uri) ?? [];
    assert.ok(type, `${rel}: ${uri.slice(0, 30)}`);
    const data = Buffer.from(base64, 'base64');
    if (overlays.has(rel)) {
      // Transparent overlays stay exact.
      assert.equal(type, 'image/png', rel);
      assert.ok(data.equals(png), `${rel} bytes`);
      continue;
    }
    // A photo: WebP where that is smaller than its PNG, else the PNG itself.
    const smaller = (await sharp(png).webp({ quality: REPORT_WEBP_QUALITY }).toBuffer()).length < png.length;
    assert.equal(type, smaller ? 'image/webp' : 'image/png', rel);
    if (type === 'image/png') {
      assert.ok(data.equals(png), `${rel} bytes`);
      continue;
    }
    webp++;
    assert.ok(data.length < png.length, `${rel}: ${data.length} bytes of WebP for ${png.length} of PNG`);
    // The same picture: same size, pixels within what q80 changes.
    const [a, c] = await Promise.all([
      sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true }),
      sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true }),
    ]);
    assert.deepEqual([c.info.width, c.info.height], [a.info.width, a.info.height], rel);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - c.data[i]);
    assert.ok(diff / a.data.length < 6, `${rel}: mean difference ${(diff / a.data.length).toFixed(2)} of 255`);
  }
  assert.ok(webp > 0, 'some thumbnails or crops are smaller as WebP');
});

test('a file name containing </script> cannot end the data block', () => {
  assert.ok(
    fx.bundle.images.some((im) => im.path === HOSTILE_SCRIPT),
    'the fixture has the hostile name',
  );
  const closings = html.match(/<\/script/gi) ?? [];
  assert.equal(closings.length, 3, 'only the three real </script> tags');
  const data = dataBlock(html);
  assert.ok(!data.includes('<'), 'no raw < inside the data block');
  assert.ok(data.includes('\\u003c/script>\\u003cimg src=x onerror=alert(2)>.png'), 'the name is escaped, not dropped');
  const view = JSON.parse(data) as { bundle: { images: { path: string }[] } };
  assert.ok(
    view.bundle.images.some((im) => im.path === HOSTILE_SCRIPT),
    'and reads back exactly',
  );
  assert.ok(!/<script/i.test(dataBlock(html)));
});

test('writeReport writes to a chosen file, creating its folder', async () => {
  const target = path.join(fx.temp, 'exports', 'nested', 'boots.html');
  const written = await writeReport(fx.runDir, target);
  assert.equal(written, target);
  const second = fs.readFileSync(target, 'utf8');
  assert.ok(second.length > 50_000);
  const nonceOf = (page: string) => /script-src 'nonce-([^']+)'/.exec(page)?.[1];
  assert.notEqual(nonceOf(second), nonceOf(html), 'each report gets a fresh nonce');
});

test('writeReport refuses a folder that is not a results bundle', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-not-a-bundle-'));
  try {
    await assert.rejects(writeReport(empty), (e: unknown) => {
      assert.ok(e instanceof CraftError);
      assert.equal(e.kind, 'input');
      assert.match(e.message, /results\.json is missing or is not valid JSON/);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(empty, 'report.html')));
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('writeReport says how to build the page when webview.js is missing', async () => {
  const noMedia = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-no-media-'));
  try {
    await assert.rejects(writeReport(fx.runDir, path.join(noMedia, 'r.html'), { mediaDir: noMedia }), (e: unknown) => {
      assert.ok(e instanceof CraftError);
      assert.match(e.message, /has not been built/);
      assert.match(e.hint ?? '', /build-webview/);
      return true;
    });
  } finally {
    fs.rmSync(noMedia, { recursive: true, force: true });
  }
});

test('writeReport does not embed files outside the run folder', async () => {
  const copy = path.join(fx.temp, 'tampered');
  fs.cpSync(fx.runDir, copy, { recursive: true });
  const b = JSON.parse(fs.readFileSync(path.join(copy, 'results.json'), 'utf8'));
  b.images[0].thumbnail = '../../images/t10k_00000.png';
  fs.writeFileSync(path.join(copy, 'results.json'), JSON.stringify(b));
  await assert.rejects(writeReport(copy), (e: unknown) => e instanceof CraftError && /outside the results folder/.test(e.message));
  b.images[0].thumbnail = 'images/missing.png';
  fs.writeFileSync(path.join(copy, 'results.json'), JSON.stringify(b));
  await assert.rejects(writeReport(copy), (e: unknown) => e instanceof CraftError && /incomplete: images\/missing\.png/.test(e.message));
});

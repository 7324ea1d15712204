/**
 * The standalone HTML report: one file that renders a run with the same page code as the VS Code
 * webview, in "report" mode (no host actions). Everything is inside: the page script and styles, the
 * bundle's JSON, and its pictures as data: URIs (thumbnails and crops as WebP, the transparent map
 * overlays as PNG); a strict CSP meta tag with a per-file nonce allows only those inline scripts and
 * styles and data: images, so the file works offline and loads nothing.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { CraftError } from '../errors';
import { readNames } from './names';
import { readBundle } from './writer';
import { runClassLabel, type BundleView, type ResultsBundle } from '../../protocol';

export const REPORT_FILE = 'report.html';

export interface ReportOptions {
  /** Folder holding the built webview.js and webview.css (default: the repository's media/). */
  mediaDir?: string;
  /**
   * Keep the absolute local paths (model, image folder, run folder) in the report. Off by default: a
   * report is meant to be shared, and paths say more about the machine than about the model.
   */
  includePaths?: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A bundle PNG is a thumbnail, a crop or a strip of map tiles: far below these sizes. */
const MAX_EMBED_FILE = 32 * 1024 * 1024;
const MAX_EMBED_TOTAL = 256 * 1024 * 1024;

/**
 * Writes the report of the run in `runDir` to `output` (default `<runDir>/report.html`) and returns the
 * file's absolute path. Throws CraftError when the page has not been built or the folder is not a bundle.
 */
export async function writeReport(runDir: string, output?: string, options: ReportOptions = {}): Promise<string> {
  const dir = path.resolve(runDir);
  const { js, css } = readMedia(options.mediaDir);
  const bundle = await readBundle(dir);
  const target = path.resolve(output ?? path.join(dir, REPORT_FILE));
  await refuseBundleTarget(dir, target);
  const files = await embedFiles(dir, bundle);
  const nonce = crypto.randomBytes(18).toString('base64');
  const shown = options.includePaths ? bundle : withoutLocalPaths(bundle, dir);
  const view: BundleView & { files: Record<string, string> } = {
    bundle: shown,
    baseUrl: '.',
    runDir: options.includePaths ? dir : path.basename(dir),
    files,
    names: readNames(dir, bundle.concepts.length),
  };
  const html = reportHtml({ bundle: shown, view, js, css, nonce });

  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    await fs.promises.writeFile(temp, html);
    await fs.promises.rename(temp, target);
  } catch (e) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    throw new CraftError('io', `Could not write the report ${target}: ${(e as Error).message}`, 'Choose a writable location for the report.');
  }
  return target;
}

/** The built page, from the first folder that has it (out/src/craft → repo root, or a bundled dist/). */
function readMedia(mediaDir?: string): { js: string; css: string } {
  const candidates = mediaDir
    ? [path.resolve(mediaDir)]
    : [path.resolve(__dirname, '../../../../media'), path.resolve(__dirname, '../media'), path.resolve(__dirname, 'media')];
  for (const d of candidates) {
    const jsFile = path.join(d, 'webview.js');
    const cssFile = path.join(d, 'webview.css');
    if (fs.existsSync(jsFile) && fs.existsSync(cssFile)) {
      return { js: fs.readFileSync(jsFile, 'utf8'), css: fs.readFileSync(cssFile, 'utf8') };
    }
  }
  throw new CraftError(
    'usage',
    `The results page has not been built: no webview.js and webview.css in ${candidates.join(' or ')}.`,
    'Build it with `node scripts/build-webview.js` (part of `npm run build`), then export the report again.',
  );
}

/**
 * Refuses an output path that would replace part of the bundle being read (results.json, a PNG, one of
 * its folders, the run folder itself), also through links: folders are compared by their real paths.
 * Inside the run folder only an .html file beside results.json is allowed (report.html is the default).
 */
async function refuseBundleTarget(dir: string, target: string): Promise<void> {
  const realDir = await fs.promises.realpath(dir);
  const realTarget = path.join(await realAncestor(path.dirname(target)), path.basename(target));
  const stat = await fs.promises.stat(target).catch(() => undefined);
  if (stat?.isDirectory()) {
    throw new CraftError('usage', `The report output ${target} is a folder.`, `Give a file name, e.g. ${path.join(target, REPORT_FILE)}.`);
  }
  if (realTarget === realDir || isInside(realDir, realTarget)) {
    const besideResults = path.dirname(realTarget) === realDir && /\.html?$/i.test(realTarget);
    if (!besideResults) {
      throw new CraftError(
        'usage',
        `The report output ${target} is inside the results folder ${dir}: writing it would overwrite the bundle.`,
        `Write the report outside the run folder, or as ${path.join(dir, REPORT_FILE)}.`,
      );
    }
  }
}

/** The real path of `p`, through its deepest existing ancestor (the rest does not exist yet). */
async function realAncestor(p: string): Promise<string> {
  try {
    return await fs.promises.realpath(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(await realAncestor(parent), path.basename(p));
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Every PNG the bundle refers to, as data: URIs keyed by their path relative to the run folder. Only
 * regular files whose real path is inside the run folder's real path: a tampered results.json, or a
 * symbolic link placed in the bundle, must not pull other files of the machine into a shared report.
 */
async function embedFiles(dir: string, bundle: ResultsBundle): Promise<Record<string, string>> {
  const wanted = new Set<string>();
  // The map overlays are transparent and drawn over the thumbnails: they stay lossless PNGs.
  const overlays = new Set<string>();
  for (const im of bundle.images) {
    if (im.thumbnail) wanted.add(im.thumbnail);
    for (const m of [im.maps, im.cropMaps]) {
      if (!m) continue;
      wanted.add(m);
      overlays.add(m);
    }
  }
  for (const c of bundle.concepts) for (const k of [...(c.crops ?? []), ...(c.regions ?? [])]) if (k.file) wanted.add(k.file);

  const realDir = await fs.promises.realpath(dir);
  const files: Record<string, string> = {};
  let total = 0;
  const refuse = (message: string): never => {
    throw new CraftError('input', message, 'Re-run the explanation to get a clean bundle.');
  };
  for (const rel of wanted) {
    const full = path.resolve(dir, rel);
    if (path.isAbsolute(rel) || !isInside(dir, full)) {
      refuse(`${path.join(dir, 'results.json')} refers to ${JSON.stringify(rel)}, which is outside the results folder.`);
    }
    let real: string;
    try {
      real = await fs.promises.realpath(full);
    } catch (e) {
      throw new CraftError(
        'input',
        `The results folder ${dir} is incomplete: ${rel} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
        'Re-run the explanation to rebuild the results.',
      );
    }
    if (!isInside(realDir, real)) refuse(`${rel} in ${dir} is a link to a file outside the results folder: it is not embedded.`);
    const data = await readRegularFile(real, rel, MAX_EMBED_FILE, refuse);
    total += data.length;
    if (total > MAX_EMBED_TOTAL) refuse(`The pictures of ${dir} add up to more than ${mb(MAX_EMBED_TOTAL)}: too much for one HTML file.`);
    if (data.length < 8 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) refuse(`${full} is not a PNG file.`);
    files[rel] = overlays.has(rel) ? dataUri('image/png', data) : await photoUri(data);
  }
  return files;
}

/**
 * WebP quality of the embedded thumbnails and crops: no visible loss at their size. On the clip-art run
 * WebP q80 takes 1.0 MB where the PNGs take 8.0 MB and mozjpeg q80 1.7 MB; every browser of the last
 * years reads it (Chromium, Firefox, Safari 14+).
 */
export const REPORT_WEBP_QUALITY = 80;

function dataUri(type: string, data: Buffer): string {
  return `data:${type};base64,${data.toString('base64')}`;
}

/**
 * A thumbnail or crop as it is embedded: a lossy WebP, unless the PNG is smaller (tiny pictures, flat
 * colours) or has an alpha channel (kept exact).
 */
async function photoUri(png: Buffer): Promise<string> {
  const image = sharp(png);
  const { hasAlpha } = await image.metadata();
  if (hasAlpha) return dataUri('image/png', png);
  const webp = await image.webp({ quality: REPORT_WEBP_QUALITY }).toBuffer();
  return webp.length < png.length ? dataUri('image/webp', webp) : dataUri('image/png', png);
}

/**
 * Reads a regular file of at most `limit` bytes. Opened without blocking (a FIFO would wait for a
 * writer forever) and checked on the open descriptor, so what is read is what was checked.
 */
async function readRegularFile(file: string, rel: string, limit: number, refuse: (message: string) => never): Promise<Buffer> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') refuse(`${rel} is not a regular file.`);
    throw new CraftError('input', `${rel} cannot be read (${code ?? (e as Error).message}).`, 'Re-run the explanation to rebuild the results.');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) refuse(`${rel} is not a regular file.`);
    if (st.size > limit) refuse(`${rel} is ${mb(st.size)}, more than a picture of a results bundle can be (${mb(limit)}).`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Absolute paths found in a bundle's text, longest first, with what a shared report shows instead. */
function localPaths(bundle: ResultsBundle, dir: string): [string, string][] {
  const named = (p: string | undefined, as = p && path.basename(p)): [string, string][] =>
    p && path.isAbsolute(p) && path.parse(p).root !== p ? [[p, as ?? '']] : [];
  const pairs: [string, string][] = [
    ...named(bundle.datasetRoot),
    ...named(bundle.model.path),
    ...named(bundle.model.hPath),
    ...named(path.dirname(bundle.model.path)),
    ...(bundle.model.hPath ? named(path.dirname(bundle.model.hPath)) : []),
    ...named(dir),
    ...named(path.dirname(dir)),
    ...named(os.homedir(), '~'),
  ];
  return pairs.sort((a, b) => b[0].length - a[0].length);
}

/**
 * A copy of the bundle for a shared report: the model, the image folder and the run folder by their
 * base names, and those paths (and the home folder) cut from every text (warnings, skip reasons).
 */
function withoutLocalPaths(bundle: ResultsBundle, dir: string): ResultsBundle {
  const pairs = localPaths(bundle, dir);
  const scrub = (s: string): string => {
    for (const [abs, short] of pairs) {
      let at = s.indexOf(abs);
      while (at >= 0) {
        const next = s[at + abs.length];
        // Whole path segments only: /data/boots must not cut /data/boots2.
        if (next === undefined || !/[\w.-]/.test(next)) {
          s = s.slice(0, at) + short + s.slice(at + abs.length);
          at = s.indexOf(abs, at + short.length);
        } else {
          at = s.indexOf(abs, at + 1);
        }
      }
    }
    return s;
  };
  const walk = (v: unknown): unknown =>
    typeof v === 'string'
      ? scrub(v)
      : Array.isArray(v)
        ? v.map(walk)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v;
  return walk(bundle) as ResultsBundle;
}

// FAST (under the toolkit) probes :focus-visible support with a <style> element and takes its nonce
// from <meta property="csp-nonce">; without the tag that probe is a CSP violation.
function reportHtml(o: { bundle: ResultsBundle; view: BundleView; js: string; css: string; nonce: string }): string {
  const b = o.bundle;
  const label = runClassLabel(b);
  const title = `CRAFT · ${label ? `${label} (class ${b.class.index})` : `class ${b.class.index}`} · ${path.basename(b.model.path)}`;
  const csp = [
    "default-src 'none'",
    'img-src data:',
    `style-src 'nonce-${o.nonce}'`,
    `script-src 'nonce-${o.nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en" class="craft-report">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${o.nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="${escapeHtml(`${b.tool?.name ?? 'craft'} ${b.tool?.version ?? ''}`.trim())}">
<title>${escapeHtml(title)}</title>
<style nonce="${o.nonce}">
${inlineStyle(o.css)}
</style>
</head>
<body>
<main id="craft-root" class="craft"><noscript>This report needs JavaScript to display the results.</noscript></main>
<script type="application/json" id="craft-report-data">${scriptJson(o.view)}</script>
<script nonce="${o.nonce}">window.__CRAFT_REPORT__ = JSON.parse(document.getElementById('craft-report-data').textContent);</script>
<script nonce="${o.nonce}">
${inlineScript(o.js)}
</script>
</body>
</html>
`;
}

/**
 * JSON for a data block inside <script>: every '<' becomes \u003c so no text in the bundle (a file
 * named `</script>…`, say) can end the element or open a comment; JSON.parse reads it back unchanged.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * The page script inside <script>: `</script` would end the element and `<script` after `<!--` would
 * keep it open; both become `\x3C…`, which means '<' in string, template and regular expression literals
 * (the only places such text occurs in the minified bundle).
 */
function inlineScript(js: string): string {
  return js.replace(/<(\/?script)/gi, '\\x3C$1');
}

function inlineStyle(css: string): string {
  return css.replace(/<\/style/gi, '\\3c /style');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The standalone HTML report: one file that renders a run with the same page code as the VS Code
 * webview, in "report" mode (no host actions). Everything is inside: the page script and styles, the
 * bundle's JSON, and its PNGs as data: URIs; a strict CSP meta tag with a per-file nonce allows only
 * those inline scripts and styles and data: images, so the file works offline and loads nothing.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import { readBundle } from './writer';
import type { BundleView, ResultsBundle } from '../../protocol';

export const REPORT_FILE = 'report.html';

export interface ReportOptions {
  /** Folder holding the built webview.js and webview.css (default: the repository's media/). */
  mediaDir?: string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Writes the report of the run in `runDir` to `output` (default `<runDir>/report.html`) and returns the
 * file's absolute path. Throws CraftError when the page has not been built or the folder is not a bundle.
 */
export async function writeReport(runDir: string, output?: string, options: ReportOptions = {}): Promise<string> {
  const dir = path.resolve(runDir);
  const { js, css } = readMedia(options.mediaDir);
  const bundle = await readBundle(dir);
  const files = await embedFiles(dir, bundle);
  const nonce = crypto.randomBytes(18).toString('base64');
  const view: BundleView & { files: Record<string, string> } = { bundle, baseUrl: '.', runDir: dir, files };
  const html = reportHtml({ bundle, view, js, css, nonce });

  const target = path.resolve(output ?? path.join(dir, REPORT_FILE));
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

/** Every PNG the bundle refers to, as data: URIs keyed by their path relative to the run folder. */
async function embedFiles(dir: string, bundle: ResultsBundle): Promise<Record<string, string>> {
  const wanted = new Set<string>();
  for (const im of bundle.images) {
    if (im.thumbnail) wanted.add(im.thumbnail);
    if (im.maps) wanted.add(im.maps);
  }
  for (const c of bundle.concepts) for (const k of c.crops ?? []) if (k.file) wanted.add(k.file);

  const files: Record<string, string> = {};
  for (const rel of wanted) {
    const full = path.resolve(dir, rel);
    // Only files inside the run folder: a tampered results.json must not pull other files into a report.
    if (path.isAbsolute(rel) || !full.startsWith(dir + path.sep)) {
      throw new CraftError('input', `${path.join(dir, 'results.json')} refers to ${JSON.stringify(rel)}, which is outside the results folder.`, 'Re-run the explanation to get a clean bundle.');
    }
    let data: Buffer;
    try {
      data = await fs.promises.readFile(full);
    } catch (e) {
      throw new CraftError('input', `The results folder ${dir} is incomplete: ${rel} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Re-run the explanation to rebuild the results.');
    }
    if (data.length < 8 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) {
      throw new CraftError('input', `${full} is not a PNG file.`, 'Re-run the explanation to rebuild the results.');
    }
    files[rel] = `data:image/png;base64,${data.toString('base64')}`;
  }
  return files;
}

// FAST (under the toolkit) probes :focus-visible support with a <style> element and takes its nonce
// from <meta property="csp-nonce">; without the tag that probe is a CSP violation.
function reportHtml(o: { bundle: ResultsBundle; view: BundleView; js: string; css: string; nonce: string }): string {
  const b = o.bundle;
  const label = b.class.label ?? b.labels?.[b.class.index];
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

/**
 * The results page's HTML as plain strings (no 'vscode' import): the extension's webview
 * (webviewHtml.ts) and the webview tests' stand-in host (test/webview/host.ts) serve exactly this, so
 * the page is tested under the one CSP defined here. Nothing inline but the nonce'd script tag.
 */
import { randomBytes } from 'crypto';

export function nonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

/**
 * default-src 'none'; images from the extension and the run folder (and data: URIs the page makes);
 * styles from files or the nonce; scripts only with the nonce; no fonts (the page loads none), no
 * <base>, no form targets.
 */
export function contentSecurityPolicy(cspSource: string, n: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${n}'`,
    `script-src 'nonce-${n}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface PageSources {
  /** The webview's cspSource (the origin its resource URLs are served from). */
  cspSource: string;
  /** URL of media/webview.js. */
  scriptUrl: string;
  /** URL of media/webview.css, when it exists. */
  styleUrl?: string;
  title: string;
  nonce: string;
}

/** The page that runs media/webview.js in #craft-root. */
export function resultsPageHtml(o: PageSources): string {
  const link = o.styleUrl ? `<link rel="stylesheet" href="${escapeHtml(o.styleUrl)}" nonce="${o.nonce}">` : '';
  return page(
    o,
    link,
    `<main id="craft-root"></main>
<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUrl)}"></script>`,
  );
}

/** The page shown instead when media/webview.js (at `missing`) has not been built. */
export function notBuiltHtml(o: Omit<PageSources, 'scriptUrl' | 'styleUrl'> & { missing: string }): string {
  return page(
    o,
    '',
    `<main id="craft-root"><div role="alert">
<h2>CRAFT: the results view is not built</h2>
<p>${escapeHtml(o.missing)} is missing. Build it with <code>npm run build</code> (or <code>npm run build:webview</code>), then reopen these results with “CRAFT: Open results…”.</p>
<p>The results themselves are complete in the run folder.</p></div></main>`,
  );
}

// The toolkit's FAST layer probes :focus-visible support at load with a <style> element, nonce'd from
// <meta property="csp-nonce">; without that tag the probe is an inline style the CSP blocks (a violation
// on every open). Its component styles use adoptedStyleSheets, which the CSP does not govern.
function page(o: { cspSource: string; nonce: string; title: string }, head: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(o.cspSource, o.nonce)}">
<meta property="csp-nonce" content="${o.nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
${head}
</head>
<body>
${body}
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The results page's HTML: the built webview (media/webview.js + .css, from webview/ by
 * scripts/build-webview.js) under a strict CSP; nothing inline but the nonce'd script tag.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as vscode from 'vscode';

export function nonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

/**
 * default-src 'none'; images from the extension and the run folder (and data: URIs the page makes);
 * styles from files or the nonce; scripts only with the nonce; fonts (codicons) from the extension.
 */
export function contentSecurityPolicy(cspSource: string, n: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${n}'`,
    `script-src 'nonce-${n}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function resultsHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const media = vscode.Uri.joinPath(extensionUri, 'media');
  const js = vscode.Uri.joinPath(media, 'webview.js');
  const css = vscode.Uri.joinPath(media, 'webview.css');
  const n = nonce();
  const csp = contentSecurityPolicy(webview.cspSource, n);
  if (!fs.existsSync(js.fsPath)) {
    return page(csp, title, '', `<main id="craft-root"><div role="alert">
<h2>CRAFT: the results view is not built</h2>
<p>${escapeHtml(js.fsPath)} is missing. Build it with <code>npm run build</code> (or <code>npm run build:webview</code>), then reopen these results with “CRAFT: Open results…”.</p>
<p>The results themselves are complete in the run folder.</p></div></main>`);
  }
  const link = fs.existsSync(css.fsPath) ? `<link rel="stylesheet" href="${webview.asWebviewUri(css).toString()}" nonce="${n}">` : '';
  return page(csp, title, link, `<main id="craft-root"></main>
<script nonce="${n}" src="${webview.asWebviewUri(js).toString()}"></script>`);
}

function page(csp: string, title: string, head: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
${head}
</head>
<body>
${body}
</body>
</html>`;
}

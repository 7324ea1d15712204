/**
 * The results page's HTML for a VS Code webview: the built webview (media/webview.js + .css, from
 * webview/ by scripts/build-webview.js) at the webview's URLs; the markup and CSP are resultsPageHtml.ts.
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { nonce, notBuiltHtml, resultsPageHtml } from './resultsPageHtml';

export function resultsHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const media = vscode.Uri.joinPath(extensionUri, 'media');
  const js = vscode.Uri.joinPath(media, 'webview.js');
  const css = vscode.Uri.joinPath(media, 'webview.css');
  const n = nonce();
  if (!fs.existsSync(js.fsPath)) return notBuiltHtml({ cspSource: webview.cspSource, title, nonce: n, missing: js.fsPath });
  return resultsPageHtml({
    cspSource: webview.cspSource,
    scriptUrl: webview.asWebviewUri(js).toString(),
    styleUrl: fs.existsSync(css.fsPath) ? webview.asWebviewUri(css).toString() : undefined,
    title,
    nonce: n,
  });
}

/// <reference types="mocha" />
// Failures a user can cause end in a message (with a hint, logged), the command returns undefined, and
// the extension keeps working.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { LayerListing } from '../../src/craft/layers';
import { imagePath } from '../../src/extension/panel';
import { resultsHtml } from '../../src/extension/webviewHtml';
import type { ResultsBundle } from '../../src/protocol';
import { EXTENSION_ID, LAYER, api, resultsEntries, within, workspaceRoot } from './helpers';

describe('errors', () => {
  let root: string;

  before(async () => {
    root = workspaceRoot();
    await api();
  });

  it('a text file named .onnx: undefined, an error with a hint in the log, no results, the host lives on', async () => {
    const craft = await api();
    const bad = path.join(root, 'not-a-model.onnx');
    fs.writeFileSync(bad, 'this is not an ONNX model\n');
    const out = path.join(root, '.craft-errors');
    const config = fs.readFileSync(path.join(root, 'craft.config.json'), 'utf8');
    const result = await within(
      60_000,
      'craft.explain',
      vscode.commands.executeCommand('craft.explain', {
        model: bad,
        images: 'images/ankle_boot',
        class: 9,
        layer: LAYER,
        size: [28, 28],
        out,
        reveal: false,
      }),
    );
    assert.equal(result, undefined);
    const err = craft.lastError();
    assert.ok(err, 'an error was reported');
    assert.equal(err.kind, 'model');
    assert.match(err.message, /not-a-model\.onnx is not a readable ONNX model/);
    assert.match(err.hint ?? '', /Export the classifier to ONNX/);
    assert.match(craft.logLines().join('\n'), /\[error\] craft\.explain: not-a-model\.onnx is not a readable ONNX model[^]*→ Export the classifier/);
    assert.deepEqual(resultsEntries(out), { runs: [], partials: [] });
    assert.equal(fs.readFileSync(path.join(root, 'craft.config.json'), 'utf8'), config, 'a failed run remembers nothing');

    // The extension and the engine still work.
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
    const listing = await vscode.commands.executeCommand<LayerListing>('craft.listLayers', { model: 'model/fmnist_cnn.onnx', size: 28 });
    assert.ok(listing, 'craft.listLayers answered');
    assert.equal(listing.defaultLayer, '/h/Relu_output_0');
    assert.ok(listing.layers.some((l) => l.name === LAYER && l.nonNegative && l.shape.join() === '64,7,7'));
  });

  it('bad arguments: a usage error, no run', async () => {
    const craft = await api();
    const result = await vscode.commands.executeCommand('craft.explain', { concepts: -1 });
    assert.equal(result, undefined);
    assert.equal(craft.lastError()?.kind, 'usage');
    assert.match(craft.lastError()?.message ?? '', /"concepts" must be an integer ≥ 1/);
    // The table's keys only: a misspelt argument is refused with the nearest one.
    assert.equal(await vscode.commands.executeCommand('craft.explain', { concept: 3 }), undefined);
    assert.equal(craft.lastError()?.kind, 'usage');
    assert.match(craft.lastError()?.message ?? '', /unknown argument "concept"; did you mean "concepts"\?/);
    assert.equal(await vscode.commands.executeCommand('craft.explain', { designs: 2000 }), undefined);
    assert.match(craft.lastError()?.message ?? '', /"designs" must be an integer ≥ 2 and ≤ 1024, got 2000/);
  });

  it('too many concepts for the crops: the engine explains what to change', async () => {
    const craft = await api();
    const result = await within(
      60_000,
      'craft.explain',
      vscode.commands.executeCommand('craft.explain', {
        images: 'images/ankle_boot',
        maxImages: 1,
        concepts: 50,
        reveal: false,
        out: path.join(root, '.craft-errors'),
      }),
    );
    assert.equal(result, undefined);
    assert.equal(craft.lastError()?.kind, 'input');
    assert.match(craft.lastError()?.message ?? '', /NMF needs at least as many crops as concepts/);
  });

  it('a missing run folder cannot be opened', async () => {
    const craft = await api();
    assert.equal(await vscode.commands.executeCommand('craft.openResults', path.join(root, 'no-such-run')), undefined);
    assert.equal(craft.lastError()?.kind, 'input');
  });

  it('the panel refuses image paths that leave the dataset folder', () => {
    const bundle = {
      datasetRoot: path.join(root, 'images', 'ankle_boot'),
      images: [{ path: 'a/b.png' }, { path: '../sneaker/x.png' }, { path: '/etc/passwd' }, { path: '' }],
    } as unknown as ResultsBundle;
    assert.equal(imagePath(bundle, 0), path.join(root, 'images', 'ankle_boot', 'a', 'b.png'));
    assert.equal(imagePath(bundle, 1), undefined);
    assert.equal(imagePath(bundle, 2), undefined);
    assert.equal(imagePath(bundle, 3), undefined);
    assert.equal(imagePath(bundle, 4), undefined);
  });
});

describe('results page HTML', () => {
  // Only cspSource and asWebviewUri are read to build the HTML.
  const webview = {
    cspSource: 'https://example.vscode-cdn.net',
    asWebviewUri: (u: vscode.Uri) => vscode.Uri.parse(`https://example.vscode-cdn.net${u.path}`),
  } as unknown as vscode.Webview;

  // The page's behaviour under this CSP (no violation) is checked in the browser: launch.ts records
  // the violations of every results webview frame, test/webview/ runs this same HTML in Chromium.
  it('builds the page HTML with a strict nonce CSP and the nonce the toolkit reads', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const html = resultsHtml(webview, ext.extensionUri, 'CRAFT: <x>');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce && nonce.length >= 16, csp);
    assert.equal(
      csp,
      `default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'`,
    );
    assert.ok(!csp.includes('unsafe-'), csp);
    assert.ok(html.includes(`<meta property="csp-nonce" content="${nonce}">`), 'FAST nonces its <style> probe from this tag');
    assert.match(html, new RegExp(`<script nonce="${nonce}" src="https://example\\.vscode-cdn\\.net[^"]*/media/webview\\.js"></script>`));
    assert.match(html, /<link rel="stylesheet" href="[^"]*\/media\/webview\.css"/);
    assert.ok(!/<script(?![^>]*nonce=)/.test(html), 'every script carries the nonce');
    assert.match(html, /<title>CRAFT: &lt;x&gt;<\/title>/);
    assert.notEqual(resultsHtml(webview, ext.extensionUri, 't'), resultsHtml(webview, ext.extensionUri, 't'), 'a new nonce each time');
  });

  it('says how to build the page when media/webview.js is missing', () => {
    const html = resultsHtml(webview, vscode.Uri.file(path.join(workspaceRoot(), 'no-extension-here')), 't');
    assert.match(html, /the results view is not built/);
    assert.match(html, /npm run build/);
    assert.ok(!html.includes('<script'), 'no script at all');
  });
});

/// <reference types="mocha" />
// Several classes in one run, in the real extension host: craft.explain with a list of classes writes a
// set (one run per class and classes.json) and opens the first class's panel, which knows its set; the
// page's request for another class (a real webview message) switches the same panel to that class.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Log } from '../../src/extension/log';
import { PanelManager, VIEW_TYPE } from '../../src/extension/panel';
import { resultsHtml } from '../../src/extension/webviewHtml';
import type { ClassSet } from '../../src/protocol';
import { EXTENSION_ID, LAYER, api, closeAll, readJson, waitFor, within, workspaceRoot } from './helpers';

/** A page that asks for class `position` of the set, as the results page's class selector does. */
function askingPage(position: number): string {
  const nonce = 'n' + Math.random().toString(36).slice(2);
  return `<!DOCTYPE html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'">
</head><body><script nonce="${nonce}">
acquireVsCodeApi().postMessage({ type: 'showClass', position: ${position} });
</script></body></html>`;
}

describe('several classes in one run', () => {
  let log: Log | undefined;
  let manager: PanelManager | undefined;
  let config: string | undefined;
  const configFile = () => path.join(workspaceRoot(), 'craft.config.json');

  before(() => {
    config = fs.readFileSync(configFile(), 'utf8');
  });

  after(async () => {
    manager?.dispose();
    log?.dispose();
    await closeAll();
    // The other tests read the sample's config as it was.
    if (config !== undefined) fs.writeFileSync(configFile(), config);
  });

  it('craft.explain with class: [a, b] writes one run per class beside classes.json and opens the first class, which knows its set', async () => {
    const root = workspaceRoot();
    const craft = await api();
    const out = path.join(root, '.craft-set');
    const before = readJson<Record<string, unknown>>(configFile());
    const dir = await within(
      180_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: 'model/fmnist_cnn.onnx',
        images: 'images',
        class: ['Ankle boot', 'sneaker'],
        layer: LAYER,
        size: [28, 28],
        maxImages: 10,
        concepts: 3,
        designs: 4,
        out,
      }),
    );
    assert.ok(dir, 'craft.explain returned a run folder');
    const setDir = path.dirname(dir);
    assert.equal(path.dirname(setDir), out);
    assert.equal(path.basename(dir), 'ankle-boot', "the first class's run");
    const index = readJson<ClassSet>(path.join(setDir, 'classes.json'));
    assert.deepEqual(
      index.classes.map((c) => [c.index, c.run, c.images]),
      [
        [9, 'ankle-boot', 10],
        [7, 'sneaker', 10],
      ],
    );
    for (const c of index.classes) assert.ok(fs.existsSync(path.join(setDir, c.run, 'results.json')), c.run);

    const panel = await waitFor(
      'the panel of the first class, with its set',
      () => {
        const p = craft.panels.get(dir);
        return p && p.shown >= 1 && p.set ? p : undefined;
      },
      60_000,
    );
    assert.deepEqual(panel.set, { dir: setDir, classes: 2, position: 0 });
    assert.equal(panel.title, 'CRAFT: Ankle boot · ankle_boot (10)');
    assert.ok(
      craft.logLines().some((l) => l.includes(`Set of 2 classes: ${setDir}`)),
      'the log names the set',
    );
    // A set's folder is not remembered as the image folder, nor its classes as the class.
    const remembered = readJson<Record<string, unknown>>(configFile());
    assert.deepEqual([remembered.images, remembered.class], [before.images, before.class]);
  });

  it("the page's request for another class switches the same panel to that class's run, set and all", async () => {
    const root = workspaceRoot();
    const out = path.join(root, '.craft-set');
    const setDir = path.join(
      out,
      fs.readdirSync(out).find((n) => !n.startsWith('.') && fs.statSync(path.join(out, n)).isDirectory())!,
    );
    const [boots, sneakers] = ['ankle-boot', 'sneaker'].map((r) => path.join(setDir, r));

    // The extension's panel code, with a log of its own, adopting a webview made here (the restore path).
    log = new Log();
    const extensionUri = vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri;
    manager = new PanelManager(extensionUri, log);
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'CRAFT set',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true },
    );
    await manager.deserializeWebviewPanel(panel, { runDir: boots });
    const first = await waitFor(
      'the results page of the ankle boots',
      () => {
        const p = manager!.get(boots);
        return p && p.shown >= 1 && p.set ? p : undefined;
      },
      60_000,
    );
    assert.equal(first.set?.position, 0);

    // A real message from the webview, through VS Code's channel.
    panel.webview.html = askingPage(1);
    const switched = await waitFor('the panel to show the sneakers', () => manager!.get(sneakers), 60_000);
    assert.equal(manager.get(boots), undefined, 'the panel is filed under the run it shows now');
    assert.equal(manager.list().length, 1, 'the same panel, not a new one');
    assert.equal(switched.title, 'CRAFT: Sneaker · sneaker (10)');
    assert.equal(panel.title, switched.title);
    assert.deepEqual(switched.set, { dir: setDir, classes: 2, position: 1 });
    assert.equal(switched.shown, first.shown + 1, "the sneakers' run was sent to the page");

    // The results page again: it loads the sneakers' run (the panel's run now), with the set.
    panel.webview.html = resultsHtml(panel.webview, extensionUri, panel.title);
    const shown = await waitFor(
      'the results page of the sneakers',
      () => {
        const p = manager!.get(sneakers);
        return p && p.ready > switched.ready && p.shown > switched.shown ? p : undefined;
      },
      60_000,
    );
    assert.equal(shown.runDir, sneakers);
    assert.equal(shown.concepts, 3);
    // Out of range (the set has 2 classes): refused and logged, nothing switches.
    panel.webview.html = askingPage(2);
    await waitFor(
      'the refusal in the log',
      () => log!.lines().some((l) => l.includes('ignored a malformed message {"type":"showClass","position":2}')),
      30_000,
    );
    assert.equal(manager.get(sneakers)?.runDir, sneakers);
    assert.ok(!log.lines().some((l) => l.includes('[error]')), log.lines().join('\n'));
  });
});

/// <reference types="mocha" />
// The results panel's host side acts only on well-formed messages from its page (parseFromWebview): the
// page renders untrusted content, so anything else is ignored and logged. Here a real webview page posts
// malformed messages through VS Code's own channel into a real ResultsPanel.
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import { Log } from '../../src/extension/log';
import { PanelManager, VIEW_TYPE } from '../../src/extension/panel';
import { EXTENSION_ID, LAYER, api, sleep, waitFor, within, workspaceRoot } from './helpers';

const IMAGES = 8;

/** What the page posts, in order; every one must be refused. JSON, so "__proto__" stays an own key. */
const MALFORMED = `[
  {"type": "openImage", "image": ${IMAGES}},
  {"type": "openImage", "image": -1},
  {"type": "openImage", "image": 1.5},
  {"type": "openImage", "image": "0"},
  {"type": "openImage", "image": 0, "extra": true},
  {"type": "ready", "__proto__": {"polluted": true}},
  {"type": "openFolder", "path": "/etc"},
  {"type": "refineConcept", "concept": 2},
  {"type": "refineConcept", "concept": "0"},
  {"type": "openChild", "child": 0},
  {"type": "openParent", "run": "/etc"},
  {"type": "show"},
  {},
  "ready",
  ["ready"],
  null
]`;
const COUNT = (JSON.parse(MALFORMED) as unknown[]).length;

/** A page that posts the malformed messages, then one valid 'ready' that marks the end. */
function senderPage(): string {
  const nonce = 'n' + Math.random().toString(36).slice(2);
  return `<!DOCTYPE html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'">
</head><body><script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const m of JSON.parse(${JSON.stringify(MALFORMED)})) vscode.postMessage(m);
vscode.postMessage({ type: 'ready' });
</script></body></html>`;
}

const tabCount = (): number => vscode.window.tabGroups.all.reduce((n, g) => n + g.tabs.length, 0);

describe('results panel: messages from the page', () => {
  let log: Log | undefined;
  let manager: PanelManager | undefined;

  after(() => {
    manager?.dispose();
    log?.dispose();
  });

  it('ignores and logs malformed messages, and still answers a valid one', async () => {
    const root = workspaceRoot();
    await api();
    const runDir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: 'model/fmnist_cnn.onnx',
        images: 'images/ankle_boot',
        class: 9,
        layer: LAYER,
        size: [28, 28],
        maxImages: IMAGES,
        concepts: 2,
        designs: 4,
        out: path.join(root, '.craft-messages'),
        reveal: false,
      }),
    );
    assert.ok(runDir, 'a run to show');

    // The panel code of the extension, with a log of its own: the restore path adopts a webview panel that
    // VS Code made (here, made by the test) and loads the real results page into it.
    log = new Log();
    manager = new PanelManager(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, log);
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      'CRAFT messages',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true },
    );
    await manager.deserializeWebviewPanel(panel, { runDir });
    const first = await waitFor(
      'the results page to say ready',
      () => {
        const p = manager!.get(runDir);
        return p && p.ready >= 1 && p.shown >= 1 ? p : undefined;
      },
      60_000,
    );

    // Then the page is replaced by one that sends the malformed messages.
    const received: unknown[] = [];
    const ended = new Promise<void>((resolve) => {
      panel.webview.onDidReceiveMessage((m) => {
        received.push(m);
        if (JSON.stringify(m) === '{"type":"ready"}') resolve();
      });
    });
    const tabs = tabCount();
    panel.webview.html = senderPage();
    await within(60_000, 'the messages of the sending page', ended);
    await sleep(1000); // an accepted openImage would open its tab asynchronously

    assert.equal(received.length, COUNT + 1, `every message arrived: ${JSON.stringify(received)}`);
    const ignored = log.lines().filter((l) => l.includes('[warn] Results panel: ignored a malformed message '));
    assert.equal(ignored.length, COUNT, `each malformed message logged once:\n${log.lines().join('\n')}`);
    received.slice(0, COUNT).forEach((m, i) => {
      assert.ok(ignored[i].endsWith(`ignored a malformed message ${JSON.stringify(m)}.`), `logged: ${ignored[i]}`);
    });
    // Only the final, valid 'ready' was acted on; no image was opened; nothing reached Object.prototype.
    const after = manager.get(runDir)!;
    assert.equal(after.ready, first.ready + 1);
    assert.equal(after.shown, first.shown + 1);
    assert.equal(tabCount(), tabs, 'no editor opened');
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.ok(!log.lines().some((l) => l.includes('[error]')), log.lines().join('\n'));
  });
});

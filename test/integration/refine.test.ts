/// <reference types="mocha" />
// craft.refine in the real extension host (docs/method.md §8): a concept refined into sub-concepts in
// the engine worker, the refined run written into the run's refined/ folder and sent to the run's
// panel, opened in its own panel, refined again; the page's "Refine…" message asking for the layer;
// the refined runs found again when a panel is restored; and the refusals.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Commands } from '../../src/extension/commands';
import { Log } from '../../src/extension/log';
import { PanelManager, VIEW_TYPE } from '../../src/extension/panel';
import { Runs } from '../../src/extension/progress';
import { ProviderStatus } from '../../src/extension/statusbar';
import type { ResultsBundle } from '../../src/protocol';
import { EXTENSION_ID, LAYER, api, closeAll, readJson, waitFor, within, workspaceRoot } from './helpers';

/** A page that reports to the test, as messages to the host, every message the host sends it; then asks to refine. */
function echoPage(concept: number): string {
  const nonce = 'n' + Math.random().toString(36).slice(2);
  return `<!DOCTYPE html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'">
</head><body><script nonce="${nonce}">
const vscode = acquireVsCodeApi();
window.addEventListener('message', (e) => vscode.postMessage({ type: 'echo', data: e.data }));
vscode.postMessage({ type: 'refineConcept', concept: ${concept} });
</script></body></html>`;
}

describe('craft.refine', () => {
  let root: string;
  let run: string;
  let parent: ResultsBundle;
  let child: string;

  before(async () => {
    root = workspaceRoot();
    await api();
    const dir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: 'model/fmnist_cnn.onnx',
        images: 'images/ankle_boot',
        class: 9,
        layer: LAYER,
        size: [28, 28],
        maxImages: 30,
        concepts: 4,
        designs: 4,
        out: path.join(root, '.craft-refine'),
        reveal: false,
      }),
    );
    assert.ok(dir, 'a run to refine');
    run = dir;
    parent = readJson<ResultsBundle>(path.join(run, 'results.json'));
  });

  after(closeAll);

  it("refines a concept by its #rank without asking, writes the refined run in the run's folder and nests it in the run's panel", async () => {
    const craft = await api();
    const dir = await within(120_000, 'craft.refine', vscode.commands.executeCommand<string | undefined>('craft.refine', { run, concept: '#1', designs: 4 }));
    assert.ok(dir, `a refined run (${JSON.stringify(craft.lastError())})`);
    child = dir;
    assert.equal(path.dirname(dir), path.join(run, 'refined'));
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.equal(b.parent?.concept, parent.ranking[0]);
    assert.equal(b.parent?.run, '../..');
    assert.equal(b.layer.name, '/g/Relu_3_output_0', 'the default layer: no prompt for a command with arguments');
    assert.equal(b.images.length, b.parent?.crops.length);
    assert.equal(b.concepts.length, 5);
    assert.ok(b.importances.every(Number.isFinite) && b.importances.some((v) => v > 0), `${b.importances}`);
    // The run's panel opened (reveal), and its page was sent the refined run with its sub-concepts.
    const panel = await waitFor(
      "the run's panel with its refined run",
      () => {
        const p = craft.panels.get(run);
        return p && p.shown >= 1 && p.children.length === 1 && p;
      },
      60_000,
    );
    assert.deepEqual(panel.children, [{ path: `refined/${path.basename(dir)}`, concept: parent.ranking[0], concepts: 5 }]);
    assert.match(craft.logLines().join('\n'), /Refined: 5 sub-concepts at \/g\/Relu_3_output_0 from \d+ crops/);
    assert.equal(craft.isRunning(), false);
  });

  it('opens the refined run in its own panel, and refines it again: a tree of folders', async () => {
    const craft = await api();
    const opened = await vscode.commands.executeCommand<string | undefined>('craft.openResults', child);
    assert.equal(opened, child);
    await waitFor("the refined run's page", () => craft.panels.get(child)?.shown, 60_000);
    assert.equal(craft.panels.get(child)?.concepts, 5);
    const grand = await within(
      120_000,
      'craft.refine',
      vscode.commands.executeCommand<string | undefined>('craft.refine', { run: child, concept: 0, concepts: 2, designs: 4 }),
    );
    assert.ok(grand, JSON.stringify(craft.lastError()));
    assert.equal(path.dirname(grand), path.join(child, 'refined'));
    const g = readJson<ResultsBundle>(path.join(grand, 'results.json'));
    assert.equal(g.layer.name, '/g/Relu_1_output_0');
    assert.equal(g.concepts.length, 2);
    await waitFor("the refined run's panel to list its own refined run", () => craft.panels.get(child)?.children.length === 1, 30_000);
  });

  it('the page\'s "Refine…" message asks for the layer, runs, and sends the page the running state and the new sub-concepts', async () => {
    const log = new Log();
    const manager = new PanelManager(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, log);
    const status = new ProviderStatus();
    const runs = new Runs(log);
    // The extension's own command handlers over this panel manager: they wire the pages' "Refine…".
    new Commands(log, runs, manager, status);
    try {
      const panel = vscode.window.createWebviewPanel(
        VIEW_TYPE,
        'CRAFT refine',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true },
      );
      await manager.deserializeWebviewPanel(panel, { runDir: run });
      await waitFor('the results page', () => manager.get(run)?.shown, 60_000);
      const concept = parent.ranking[1];
      const echoed: { type: string; concept?: number; running?: boolean; error?: string; children?: unknown[] }[] = [];
      panel.webview.onDidReceiveMessage((m: { type?: string; data?: (typeof echoed)[number] }) => {
        if (m?.type === 'echo' && m.data) echoed.push(m.data);
      });
      panel.webview.html = echoPage(concept);
      // The layer prompt: the default (first) layer is accepted.
      let done = false;
      const finished = waitFor('the refinement to end', () => echoed.some((m) => m.type === 'refining' && m.running === false), 180_000).finally(
        () => (done = true),
      );
      await waitFor(
        'the layer prompt or the run',
        async () => {
          await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
          return done || echoed.some((m) => m.type === 'refining' && m.running);
        },
        90_000,
        300,
      );
      await finished;
      const types = echoed.map((m) => `${m.type}${m.type === 'refining' ? `:${m.running}` : ''}`);
      assert.deepEqual(types, ['refining:true', 'children', 'refining:false'], JSON.stringify(echoed).slice(0, 500));
      assert.equal(echoed[2].error, undefined);
      const children = echoed[1].children as { concept: number; layer: string; concepts: unknown[] }[];
      assert.equal(children.length, 2, 'both refined runs of the run');
      const mine = children.find((c) => c.concept === concept);
      assert.ok(mine, 'the new one refines the concept the page asked for');
      assert.equal(mine.layer, '/g/Relu_3_output_0', 'the default layer, first in the prompt');
      assert.ok(
        log.lines().some((l) => l.includes(`Refine: Concept #2 (concept ${concept})`)),
        log.lines().join('\n'),
      );
      assert.equal(manager.get(run)?.children.length, 2);

      // Dismissing the layer prompt runs nothing, and the page is told (its button is "Refining…" since the click).
      const dismissed: typeof echoed = [];
      panel.webview.onDidReceiveMessage((m: { type?: string; data?: (typeof echoed)[number] }) => {
        if (m?.type === 'echo' && m.data) dismissed.push(m.data);
      });
      panel.webview.html = echoPage(parent.ranking[2]);
      await waitFor(
        'the dismissed prompt to end the refinement',
        async () => {
          await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
          return dismissed.length > 0;
        },
        90_000,
        300,
      );
      assert.deepEqual(dismissed, [{ type: 'refining', concept: parent.ranking[2], running: false }]);
      assert.equal(fs.readdirSync(path.join(run, 'refined')).filter((n) => !n.startsWith('.') && n !== 'latest.json').length, 2);
    } finally {
      manager.dispose();
      status.dispose();
      runs.dispose();
      log.dispose();
    }
  });

  it('finds the refined runs again when the panel is restored', async () => {
    const log = new Log();
    const manager = new PanelManager(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, log);
    try {
      const panel = vscode.window.createWebviewPanel(
        VIEW_TYPE,
        'CRAFT restored',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true },
      );
      await manager.deserializeWebviewPanel(panel, { runDir: run });
      const info = await waitFor('the restored page', () => manager.get(run)?.shown && manager.get(run), 60_000);
      assert.equal(info.children.length, 2);
      assert.ok(info.children.some((c) => c.path === `refined/${path.basename(child)}`));
    } finally {
      manager.dispose();
      log.dispose();
    }
  });

  it('refusals are usage or input errors with a hint; nothing is written, the host lives on', async () => {
    const craft = await api();
    const before = fs.readdirSync(path.join(run, 'refined')).sort();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ run, concept: 9 }, 'usage', /there is no concept 9/],
      [{ run, concept: 0, layer: '/h/Relu_output_0' }, 'usage', /not earlier than \/g\/MaxPool_1_output_0/],
      [{ run, concept: 0, concepts: 100 }, 'input', /fewer than the 100 sub-concepts/],
      [{ run, concpet: 0 }, 'usage', /unknown argument "concpet"; did you mean "concept"\?/],
      [{ concept: 0 }, 'usage', /needs "run"/],
      [{ run: path.join(root, 'images'), concept: 0 }, 'input', /holds no results\.json/],
    ];
    const old = path.join(root, '.craft-refine', 'old-run');
    fs.cpSync(run, old, { recursive: true, filter: (s) => !path.relative(run, s).startsWith('refined') });
    const b = readJson<Record<string, unknown>>(path.join(old, 'results.json'));
    delete b.arrays;
    fs.writeFileSync(path.join(old, 'results.json'), JSON.stringify(b));
    cases.push([{ run: old, concept: 0 }, 'input', /Re-run the explanation/]);
    for (const [args, kind, message] of cases) {
      const r = await within(120_000, 'craft.refine', vscode.commands.executeCommand('craft.refine', args));
      assert.equal(r, undefined, JSON.stringify(args));
      const err = craft.lastError();
      assert.equal(err?.command, 'craft.refine');
      assert.equal(err?.kind, kind, `${JSON.stringify(args)}: ${err?.message}`);
      assert.match(`${err?.message} ${err?.hint ?? ''}`, message);
    }
    assert.deepEqual(fs.readdirSync(path.join(run, 'refined')).sort(), before);
    assert.ok(!fs.existsSync(path.join(old, 'refined')) || fs.readdirSync(path.join(old, 'refined')).every((n) => !n.startsWith('.partial')));
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
    assert.equal(craft.isRunning(), false);
  });
});

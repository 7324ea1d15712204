/// <reference types="mocha" />
// Runs told apart: a run's tab and its row in "CRAFT: Open results…" name the class, the image folder
// and the image count; a second run of the same class gets its own tab, with another title, shown.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { LAYER, api, closeAll, dismissPrompt, promptAfter, promptMark, waitFor, within, workspaceRoot } from './helpers';

describe('runs told apart', () => {
  const runs: string[] = [];

  before(async () => {
    workspaceRoot();
    await api();
    await closeAll();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await closeAll();
  });

  it('a second run of the same class and images opens its own tab, titled apart, and shows it', async () => {
    const craft = await api();
    // Into the workspace's results folder, which "Open results…" lists.
    const args = { model: 'model/fmnist_cnn.onnx', images: 'images/ankle_boot', class: 9, layer: LAYER, size: 28, concepts: 2, designs: 4, maxImages: 12 };
    for (let i = 0; i < 2; i++) {
      const dir = await within(120_000, 'craft.explain', vscode.commands.executeCommand<string | undefined>('craft.explain', args));
      assert.ok(dir);
      runs.push(dir);
      await waitFor(`run ${i + 1}'s page to be shown the run`, () => (craft.panels.get(dir)?.shown ?? 0) >= 1, 60_000);
    }
    const [first, second] = runs.map((d) => craft.panels.get(d)!);
    assert.equal(first.title, 'CRAFT: Ankle boot · ankle_boot (12)');
    assert.ok(second.title.startsWith('CRAFT: Ankle boot · ankle_boot (12) · '), second.title);
    assert.notEqual(second.title, first.title);
    // The new run's tab is the one in view; the first waits behind it in the same group.
    assert.equal(second.visible, true);
    assert.equal(first.visible, false);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => ({ label: t.label, active: t.isActive, group: g.viewColumn })));
    const tabOf = (title: string) => tabs.find((t) => t.label === title);
    assert.equal(tabOf(second.title)?.active, true, JSON.stringify(tabs));
    assert.equal(tabOf(first.title)?.group, tabOf(second.title)?.group, 'results tabs share a group');
  });

  it('"CRAFT: Open results…" lists each run by class, image folder and image count', async () => {
    const mark = await promptMark();
    const picking = vscode.commands.executeCommand<string | undefined>('craft.openResults');
    const shown = await promptAfter(mark, 'Open results');
    const rows = shown.items.filter((i) => i.startsWith('Ankle boot · ankle_boot (12) — class 9 · 2 concepts · '));
    assert.ok(rows.length >= 2, shown.items.join('\n'));
    await dismissPrompt(picking);
    assert.equal(await within(10_000, 'the dismissed pick', picking), undefined);
  });
});

/// <reference types="mocha" />
// What "CRAFT: Explain class" offers first (the image folder, the class named by the folder), and the
// confirmation before a run the user started with remembered choices: what it shows, a change made in
// it, dismissing it, the setting that turns it off; craft.config.json changes only after a run succeeds.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ResultsBundle } from '../../src/protocol';
import {
  CONFIRM_TITLE,
  LAYER,
  acceptPrompt,
  acceptUntil,
  api,
  closeAll,
  dismissPrompt,
  promptAfter,
  promptMark,
  promptSince,
  readJson,
  resultsEntries,
  settled,
  sleep,
  waitFor,
  within,
  workspaceRoot,
} from './helpers';

/** Moves the active row of the open quick pick down `n` rows (separators are skipped), as ↓ does. */
async function down(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await vscode.commands.executeCommand('quickInput.next');
}

describe('prompts and the confirmation before a run', () => {
  let root: string;
  let configFile: string;
  let original: string;
  let out: string;
  const small = { concepts: 2, designs: 4, maxImages: 8 };

  before(async () => {
    root = workspaceRoot();
    configFile = path.join(root, 'craft.config.json');
    original = fs.readFileSync(configFile, 'utf8');
    out = path.join(root, '.craft-prompts');
    await api();
  });

  afterEach(async () => {
    // A test that failed with a prompt open must not leave it to the next one.
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });

  after(async () => {
    fs.writeFileSync(configFile, original);
    await closeAll();
  });

  /** The sample's config file with some keys changed (undefined removes a key). */
  function writeConfig(changes: Record<string, unknown>): string {
    const cfg: Record<string, unknown> = { ...JSON.parse(original), ...changes, out: '.craft-prompts' };
    for (const [k, v] of Object.entries(changes)) if (v === undefined) delete cfg[k];
    const text = JSON.stringify(cfg, null, 2) + '\n';
    fs.writeFileSync(configFile, text);
    return text;
  }

  it('offers first the folder that directly holds the most images, relative to the workspace, not the workspace folder', async () => {
    fs.rmSync(configFile);
    const mark = await promptMark();
    const running = vscode.commands.executeCommand<string | undefined>('craft.explain', {
      model: 'model/fmnist_cnn.onnx',
      size: 28,
      class: 9,
      layer: LAYER,
      ...small,
      out,
      reveal: false,
    });
    const shown = await promptAfter(mark, 'images');
    // images/ankle_boot and images/sneaker hold 200 each directly (ankle_boot first by path); the
    // workspace folder and images/ hold all 400, in sub-folders.
    assert.equal(shown.items[0], 'images/ankle_boot — 200 images · suggested (most images directly)');
    assert.ok(
      shown.items.some((i) => i.startsWith('images — 400 images in sub-folders')),
      shown.items.join('\n'),
    );
    assert.ok(
      shown.items.slice(1).some((i) => i.startsWith('. — ')),
      `the workspace folder is offered, not first: ${shown.items.join('\n')}`,
    );
    const craft = await api();
    const done = settled(running);
    await acceptUntil('the run', () => craft.isRunning() || done());
    const dir = await within(120_000, 'craft.explain', running);
    assert.ok(dir);
    assert.equal(readJson<ResultsBundle>(path.join(dir, 'results.json')).datasetRoot, path.join(root, 'images', 'ankle_boot'));
    assert.equal(readJson(configFile).images, 'images/ankle_boot', 'the answer is remembered after the run');
  });

  it('offers the folder used last first, then the class the folder is named for (before the class used last)', async () => {
    writeConfig({ images: 'images/sneaker', class: 'Ankle boot' });
    const mark = await promptMark();
    let done = false;
    const running = vscode.commands.executeCommand<string | undefined>('craft.explainChooseAgain', { ...small, reveal: false });
    void Promise.resolve(running).finally(() => (done = true));
    // Enter on every prompt: each one's first row.
    while (!done) {
      await acceptPrompt();
      await sleep(250);
    }
    const dir = await within(120_000, 'craft.explainChooseAgain', running);
    assert.ok(dir, 'the run went through');
    const craft = await api();
    const shown = craft.prompts().filter((p) => p.seq > mark);
    const images = shown.find((p) => p.title.endsWith('images'));
    assert.equal(images?.items[0], 'images/sneaker — 200 images · last used');
    const cls = shown.find((p) => p.title.endsWith('class'));
    assert.deepEqual(cls?.items.slice(0, 5), [
      '-- matches the image folder sneaker --',
      '7 Sneaker — matches the folder',
      '-- last used --',
      '9 Ankle boot — last used',
      '-- all classes --',
    ]);
    assert.ok(!shown.some((p) => p.title.endsWith(CONFIRM_TITLE)), '"choose again" asked everything: no confirmation');
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.deepEqual(b.class, { index: 7, label: 'Sneaker' });
    assert.equal(readJson(configFile).class, 7);
  });

  it('shows what a run with remembered choices will do; a row changes it before it runs; the change is remembered after the run', async () => {
    writeConfig(small);
    const craft = await api();
    let mark = await promptMark();
    // As the palette runs it: no argument.
    const running = vscode.commands.executeCommand<string | undefined>('craft.explain');
    const shown = await promptAfter(mark, CONFIRM_TITLE);
    assert.deepEqual(shown.items, [
      '$(play) Run — Ankle boot on 8 images of ankle_boot',
      '-- or change --',
      '$(file) Model — model/fmnist_cnn.onnx',
      '$(folder) Images — images/ankle_boot · 200 images (the first 8 used)',
      '$(symbol-class) Class — 9 Ankle boot',
      `$(layers) Layer — ${LAYER}`,
      '$(symbol-number) Concepts — 2',
      '$(chip) Provider — auto',
    ]);
    assert.equal(shown.details.filter(Boolean).length, 0, 'no warning: the folder is named for the class');
    // Change the provider: the last row, then "cpu" (the current one, auto, is first).
    mark = await promptMark();
    await sleep(500);
    await down(6);
    const providers = await acceptUntil('the provider prompt', () => promptSince(mark, 'execution provider'));
    assert.deepEqual(providers.items.slice(0, 2), ['auto — current', 'cpu']);
    mark = await promptMark();
    await sleep(500);
    await down(1);
    // Back at the confirmation, with the new provider; Enter runs.
    const again = await acceptUntil('the confirmation', () => promptSince(mark, CONFIRM_TITLE));
    assert.equal(again.items[7], '$(chip) Provider — cpu');
    assert.equal(readJson(configFile).provider, undefined, 'nothing remembered before the run');
    const done = settled(running);
    await acceptUntil('the run', () => craft.isRunning() || done());
    const dir = await within(120_000, 'craft.explain', running);
    assert.ok(dir, 'the run went through');
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.equal(b.settings.providerRequested, 'cpu');
    assert.equal(b.images.length, 8);
    const cfg = readJson(configFile);
    assert.equal(cfg.provider, 'cpu', 'the change is remembered once the run succeeded');
    assert.equal(cfg.images, 'images/ankle_boot');
    assert.ok(craft.panels.get(dir), 'its panel opened');
  });

  it('dismissing the confirmation, or cancelling the run, leaves craft.config.json exactly as it was', async () => {
    // No image folder remembered: the prompt asks it, the rest is remembered, so the confirmation follows.
    const text = writeConfig({ images: undefined, designs: 32, concepts: 10, maxImages: undefined, provider: undefined });
    const before = resultsEntries(out).runs;
    let mark = await promptMark();
    let running = vscode.commands.executeCommand<string | undefined>('craft.explain');
    await promptAfter(mark, 'images');
    mark = await promptMark();
    await acceptUntil('the confirmation', () => promptSince(mark, CONFIRM_TITLE));
    await dismissPrompt(running);
    assert.equal(await within(30_000, 'the dismissed run', running), undefined);
    assert.equal(fs.readFileSync(configFile, 'utf8'), text, 'the answer to the images prompt is not remembered');

    // Again, Run this time, then cancel while it runs (all 200 images, 32 designs: long enough).
    mark = await promptMark();
    running = vscode.commands.executeCommand<string | undefined>('craft.explain');
    await promptAfter(mark, 'images');
    mark = await promptMark();
    await acceptUntil('the confirmation', () => promptSince(mark, CONFIRM_TITLE));
    const craft = await api();
    const done = settled(running);
    await acceptUntil('the run', () => craft.isRunning() || done());
    await waitFor('the partial bundle folder', () => resultsEntries(out).partials.length > 0, 60_000, 20);
    assert.equal(await vscode.commands.executeCommand('craft.cancel'), true);
    assert.equal(await within(30_000, 'the cancelled run', running), undefined);
    assert.equal(fs.readFileSync(configFile, 'utf8'), text, 'a cancelled run remembers nothing');
    assert.deepEqual(resultsEntries(out).runs, before, 'no run written');
  });

  it('runs without asking when the setting craft.confirmBeforeRun is off', async () => {
    writeConfig(small);
    const settings = vscode.workspace.getConfiguration('craft');
    await settings.update('confirmBeforeRun', false, vscode.ConfigurationTarget.Workspace);
    try {
      const mark = await promptMark();
      const dir = await within(120_000, 'craft.explain', vscode.commands.executeCommand<string | undefined>('craft.explain'));
      assert.ok(dir, 'ran without a prompt');
      assert.deepEqual(
        (await api()).prompts().filter((p) => p.seq > mark),
        [],
      );
    } finally {
      await settings.update('confirmBeforeRun', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});

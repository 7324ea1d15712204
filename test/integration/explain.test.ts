/// <reference types="mocha" />
// craft.explain end to end in the real extension host: arguments in, a committed bundle out, the
// results panel opened (its page loaded and was sent the run), choices remembered, the status bar.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ResultsBundle } from '../../src/protocol';
import { LAYER, api, closeAll, readJson, resultsEntries, waitFor, within, workspaceRoot } from './helpers';

/**
 * The importances of a real run: Sobol total-order indices are finite and ≥ 0, and on 40 ankle boots some
 * concept matters (all zeros would mean h's outputs never moved); shares, ranks and the ranking follow
 * from them.
 */
function assertImportances(b: ResultsBundle): void {
  const r = b.concepts.length;
  const imp = b.importances;
  assert.equal(imp.length, r);
  assert.ok(
    imp.every((v) => Number.isFinite(v) && v >= 0),
    `finite, non-negative importances: ${imp}`,
  );
  assert.ok(
    imp.some((v) => v > 0),
    `not all zero: ${imp}`,
  );
  // The global importance is the mean of the per-image ones.
  for (const im of b.images) {
    assert.equal(im.importances.length, r, im.path);
    assert.ok(
      im.importances.every((v) => Number.isFinite(v) && v >= 0),
      `${im.path}: ${im.importances}`,
    );
  }
  for (let c = 0; c < r; c++) {
    const mean = b.images.reduce((s, im) => s + im.importances[c], 0) / b.images.length;
    assert.ok(Math.abs(mean - imp[c]) <= 1e-9 * Math.max(1, imp[c]), `concept ${c}: mean over images ${mean} vs ${imp[c]}`);
  }
  const total = imp.reduce((s, v) => s + v, 0);
  const shares = b.concepts.reduce((s, c) => s + c.share, 0);
  assert.ok(Math.abs(shares - 1) <= 1e-9, `shares sum to 1 (${shares})`);
  assert.deepEqual(
    [...b.ranking].sort(),
    Array.from({ length: r }, (_, c) => c),
    'the ranking is a permutation',
  );
  for (let k = 1; k < r; k++) {
    assert.ok(imp[b.ranking[k - 1]] >= imp[b.ranking[k]], `ranking ${b.ranking} follows importances ${imp}`);
  }
  for (const c of b.concepts) {
    assert.equal(c.importance, imp[c.index], `concept ${c.index}: importance`);
    assert.ok(Math.abs(c.share - imp[c.index] / total) <= 1e-12, `concept ${c.index}: share`);
    assert.equal(b.ranking[c.rank], c.index, `concept ${c.index}: rank`);
  }
}

describe('craft.explain', () => {
  let root: string;
  let out: string;
  let firstRun: string;

  before(async () => {
    root = workspaceRoot();
    out = path.join(root, '.craft');
    await api();
  });

  it('runs with arguments (no prompt) and returns a complete bundle folder', async () => {
    const before = resultsEntries(out).runs;
    const started = Date.now();
    const dir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: path.join(root, 'model', 'fmnist_cnn.onnx'),
        images: path.join(root, 'images', 'ankle_boot'),
        class: 9,
        layer: LAYER,
        size: [28, 28],
        concepts: 4,
        patch: 14,
        designs: 8,
        maxImages: 40,
      }),
    );
    assert.ok(dir, 'craft.explain returned the run folder');
    firstRun = dir;
    assert.equal(path.dirname(dir), out, 'the run is written in the workspace results folder (.craft)');
    assert.ok(Date.now() - started < 60_000);

    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.equal(b.version, 1);
    assert.deepEqual(b.class, { index: 9, label: 'Ankle boot' });
    assert.equal(b.layer.name, LAYER);
    assert.deepEqual(b.layer.shape, [64, 7, 7]);
    assert.equal(b.images.length, 40);
    assert.equal(b.concepts.length, 4);
    assert.equal(b.settings.patchSize, 14);
    assert.equal(b.settings.designs, 8);
    assert.deepEqual(b.settings.preprocess.size, [28, 28]);
    assert.equal(b.provider, 'cpu');
    assert.equal(b.datasetRoot, path.join(root, 'images', 'ankle_boot'));
    assertImportances(b);
    // Every file the bundle names exists.
    for (const im of b.images) {
      assert.ok(fs.existsSync(path.join(dir, im.thumbnail)), im.thumbnail);
      if (im.maps) assert.ok(fs.existsSync(path.join(dir, im.maps)), im.maps);
    }
    for (const c of b.concepts) {
      assert.ok(c.crops.length > 0, `concept ${c.index} has crops`);
      for (const crop of c.crops) assert.ok(fs.existsSync(path.join(dir, crop.file)), crop.file);
    }
    assert.deepEqual(readJson(path.join(out, 'latest.json')), { run: path.basename(dir) });
    assert.deepEqual(resultsEntries(out).runs, [...before, path.basename(dir)].sort());
    assert.deepEqual(resultsEntries(out).partials, []);
  });

  it('opens the results panel beside the editor, and its page receives the run', async () => {
    const craft = await api();
    const panel = craft.panels.get(firstRun);
    assert.ok(panel, 'a panel for the run is open');
    // The class, the image folder and the image count tell runs apart.
    assert.equal(panel.title, 'CRAFT: Ankle boot · ankle_boot (40)');
    assert.equal(panel.concepts, 4);
    // 'ready' comes from the page's script running in the browser under the CSP; 'show' answers it.
    const shown = await waitFor('the page to say ready and be shown the run', () => {
      const p = craft.panels.get(firstRun);
      return p && p.ready >= 1 && p.shown >= 1 ? p : undefined;
    });
    assert.ok(shown.visible);
  });

  it('reveals the open panel instead of opening a second one', async () => {
    const craft = await api();
    const count = craft.panels.list().length;
    const again = await vscode.commands.executeCommand<string>('craft.openResults', firstRun);
    assert.equal(again, firstRun);
    assert.equal(craft.panels.list().length, count);
  });

  it('showed the class by its label, the run percentage and the stage in the progress notification', async () => {
    const shown = (await api()).lastProgress();
    assert.ok(shown, 'the run had a progress notification');
    assert.equal(shown.title, 'CRAFT: explaining Ankle boot (ankle_boot)');
    assert.ok(shown.messages.length > 3, shown.messages.join('\n'));
    const percents = shown.messages.map((m) => {
      const match = /^(\d{1,3})% · (model|activations|nmf|transform|importance|fidelity|maps|write) \d+\/\d+ \w+( · ETA (\d+h)?(\d+m)?[\d.]+s)?$/.exec(m);
      assert.ok(match, `message "${m}"`);
      return Number(match[1]);
    });
    assert.deepEqual(
      percents,
      [...percents].sort((a, b) => a - b),
      'the percentage never goes back',
    );
    assert.equal(percents[percents.length - 1], 100);
  });

  it('shows the execution provider of the last run in the status bar', async () => {
    assert.equal((await api()).statusText(), 'CRAFT: CPU');
  });

  it('logs the run with timestamps and stage timings in the output channel', async () => {
    const lines = (await api()).logLines();
    const text = lines.join('\n');
    assert.match(lines[0], /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[info\] /);
    assert.match(text, /Execution provider: CPU/);
    assert.match(text, /Timings \(s\): model [\d.]+, activations [\d.]+/);
    assert.match(text, /Stage activations finished in [\d.]+ s/);
    assert.match(text, /Done: class 9 \(Ankle boot\)/);
  });

  it('exports the standalone HTML report of a run', async () => {
    const file = path.join(path.dirname(firstRun), 'exported', 'report.html');
    const written = await within(60_000, 'craft.exportReport', vscode.commands.executeCommand<string | undefined>('craft.exportReport', firstRun, file));
    assert.equal(written, file);
    const html = fs.readFileSync(file, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/i);
    assert.match(html, /Content-Security-Policy/);
    assert.ok(html.includes('data:image/png;base64,'), 'the PNGs are embedded');
  });

  it('reopens a past run from its folder without recomputing', async () => {
    const craft = await api();
    const other = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', { maxImages: 10, concepts: 3, designs: 4, reveal: false }),
    );
    assert.ok(other);
    assert.equal(craft.panels.get(other), undefined);
    // Opened by its results.json (the Explorer menu passes that Uri). The first run's panel stays open:
    // VS Code's browser workbench (this harness) serves every webview from one origin, and a webview
    // created after all others were closed can wait forever for its service worker there.
    const t0 = Date.now();
    const dir = await vscode.commands.executeCommand<string>('craft.openResults', vscode.Uri.file(path.join(other, 'results.json')));
    assert.equal(dir, other);
    assert.ok(Date.now() - t0 < 5000, 'instant: no engine run');
    await waitFor('the reopened page to be shown the run', () => (craft.panels.get(other)?.shown ?? 0) >= 1);
    assert.equal(craft.panels.list().length, 2, 'one panel per run folder');
    await closeAll();
  });
});

describe('remembered choices (craft.config.json)', () => {
  let root: string;
  let configFile: string;
  let original: string;

  before(() => {
    root = workspaceRoot();
    configFile = path.join(root, 'craft.config.json');
    original = fs.readFileSync(configFile, 'utf8');
  });

  after(async () => {
    fs.writeFileSync(configFile, original);
    await closeAll();
  });

  it('writes the choices of a run into a new config file, with relative paths', async () => {
    fs.rmSync(configFile);
    const dir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: 'model/fmnist_cnn.onnx', // relative to the workspace folder
        images: 'images/sneaker',
        class: 'Sneaker',
        layer: LAYER,
        size: 28,
        concepts: 3,
        designs: 4,
        maxImages: 20,
        reveal: false,
      }),
    );
    assert.ok(dir);
    assert.equal(readJson<ResultsBundle>(path.join(dir, 'results.json')).class.index, 7);
    assert.deepEqual(readJson(configFile), {
      model: 'model/fmnist_cnn.onnx',
      size: [28, 28],
      images: 'images/sneaker',
      class: 7,
      layer: LAYER,
    });
    assert.equal((await api()).panels.get(dir), undefined, 'reveal: false opens no panel');
  });

  it('merges into an existing file: the file kept as written except the keys set', async () => {
    const raw = readJson(configFile);
    // Notes ("$" keys), a hand layout and a byte order mark stay; only "images" changes.
    const written =
      '\uFEFF' +
      JSON.stringify({ $schema: 'x.json', $comment: { keep: true }, ...raw, class: 'sneaker', images: 'images/ankle_boot' }, null, 2).replace(
        /\[\s*28,\s*28\s*\]/,
        '[28,28]',
      );
    fs.writeFileSync(configFile, written);
    const dir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', { images: 'images/sneaker', concepts: 3, designs: 4, maxImages: 20, reveal: false }),
    );
    assert.ok(dir, 'ran with the model, class and layer from the config file');
    const text = fs.readFileSync(configFile, 'utf8');
    assert.equal(text, written.replace('"images": "images/ankle_boot"', '"images": "images/sneaker"'), 'only the new image folder changed');
    const after = JSON.parse(text.slice(1));
    assert.equal(after.class, 'sneaker', 'the same class, written as a label, stays as written');
    assert.equal(after.images, 'images/sneaker', 'the new image folder is remembered');
  });

  it('"choose again" asks every question, offering the remembered answers first', async () => {
    fs.writeFileSync(configFile, original);
    // Enter on each prompt: the remembered model, size (prefilled), images and class are first; the layer
    // list puts the default layer first, so that answer changes.
    let done = false;
    const running = vscode.commands.executeCommand<string | undefined>('craft.explainChooseAgain', { maxImages: 20, concepts: 3, designs: 4, reveal: false });
    void Promise.resolve(running).finally(() => (done = true));
    let accepted = 0;
    while (!done) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      accepted++;
      await new Promise((r) => setTimeout(r, 250));
    }
    const dir = await within(120_000, 'craft.explainChooseAgain', running);
    assert.ok(dir, `the run went through (${accepted} accepts)`);
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.deepEqual(b.class, { index: 9, label: 'Ankle boot' });
    assert.equal(b.datasetRoot, path.join(root, 'images', 'ankle_boot'));
    assert.equal(b.layer.name, '/h/Relu_output_0', 'the default layer');
    const cfg = readJson(configFile);
    assert.equal(cfg.layer, '/h/Relu_output_0', 'the new answer is remembered');
    assert.equal(cfg.class, 'Ankle boot', `unchanged answers keep their written form: ${JSON.stringify(cfg)}`);
    assert.equal(cfg.images, 'images/ankle_boot');
    assert.deepEqual(cfg.size, [28, 28]);
  });

  it('runs directly, asking nothing, when the config file names model, images, class and layer', async () => {
    fs.writeFileSync(configFile, original);
    const cfg = readJson(configFile);
    assert.ok(cfg.model && cfg.images && cfg.class && cfg.layer);
    // A prompt would never be answered here: `within` fails the test instead of hanging.
    const dir = await within(
      120_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', { maxImages: 30, concepts: 3, designs: 4, reveal: false }),
    );
    assert.ok(dir);
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.deepEqual(b.class, { index: 9, label: 'Ankle boot' });
    assert.equal(b.settings.patchSize, 14, 'patch from the config file');
    assert.equal(fs.readFileSync(configFile, 'utf8'), original, 'nothing new to remember');
  });
});

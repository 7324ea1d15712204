/// <reference types="mocha" />
// The manifest's contributions working in the real workbench: the JSON schema for craft.config.json,
// settings feeding a run, and Explorer-menu arguments (a vscode.Uri).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { ortBinaryDir } from '../../src/craft/onnx/sessions';
import type { ResultsBundle } from '../../src/protocol';
import { CONFIRM_TITLE, acceptUntil, api, settled, closeAll, promptAfter, promptMark, readJson, waitFor, within, workspaceRoot } from './helpers';

async function diagnostics(file: string, settle: (d: vscode.Diagnostic[]) => boolean): Promise<vscode.Diagnostic[]> {
  const doc = await vscode.workspace.openTextDocument(file);
  await vscode.window.showTextDocument(doc);
  return waitFor(
    `JSON diagnostics of ${path.basename(path.dirname(file))}/${path.basename(file)}`,
    () => {
      const d = vscode.languages.getDiagnostics(doc.uri);
      return settle(d) && d;
    },
    60_000,
    200,
  );
}

describe('manifest contributions', () => {
  let root: string;

  before(async () => {
    root = workspaceRoot();
    await api();
  });

  after(closeAll);

  it('validates craft.config.json against the schema (jsonValidation)', async () => {
    const dir = path.join(root, 'schema-check');
    fs.mkdirSync(dir, { recursive: true });
    const bad = path.join(dir, 'craft.config.json');
    fs.writeFileSync(bad, JSON.stringify({ model: 'm.onnx', concepts: 0, provider: 'gpu', size: 'big', colour: 'red' }, null, 2));
    const found = await diagnostics(bad, (d) => d.length >= 4);
    const text = found.map((d) => d.message).join('\n');
    assert.equal(found.length, 4, text);
    assert.match(text, /gpu|auto, cpu, cuda|"auto"/i);
    assert.match(text, /colour/);
    // The sample's real file is valid: the schema matches the format src/craft/config.ts reads. (Its own
    // "$schema" points into the repository, which a copy of sample/ lacks, so it is left out here.)
    const sample = readJson(path.join(root, 'craft.config.json'));
    delete sample.$schema;
    fs.mkdirSync(path.join(dir, 'good'), { recursive: true });
    const goodFile = path.join(dir, 'good', 'craft.config.json');
    fs.writeFileSync(goodFile, JSON.stringify({ ...sample, class: 9, size: '28x28', preset: 'ImageNet', maxImages: 5 }, null, 2));
    const good = await vscode.workspace.openTextDocument(goodFile);
    await vscode.window.showTextDocument(good);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      vscode.languages.getDiagnostics(good.uri).map((d) => d.message),
      [],
    );
  });

  // 'auto' would run anyway (CUDA or CPU): only 'cuda' from the settings can end in CUDA or a provider error,
  // and which one depends on the machine, so the test follows what is installed.
  it('takes the execution provider from the settings: cuda runs on CUDA, or says why it cannot', async () => {
    const craft = await api();
    const config = vscode.workspace.getConfiguration('craft');
    const cudaLibrary = path.join(ortBinaryDir(), 'libonnxruntime_providers_cuda.so');
    const installed = fs.existsSync(cudaLibrary);
    await config.update('provider', 'cuda', vscode.ConfigurationTarget.Workspace);
    try {
      const errorsBefore = craft.lastError();
      const dir = await within(
        120_000,
        'craft.explain',
        vscode.commands.executeCommand<string | undefined>('craft.explain', { maxImages: 10, concepts: 3, designs: 4, reveal: false }),
      );
      const err = craft.lastError();
      if (!installed) {
        // The usual machine (the CPU provider only): the run is refused before ONNX Runtime tries.
        assert.equal(dir, undefined, 'no run without the CUDA provider');
        assert.notEqual(err, errorsBefore, 'a new error was reported');
        assert.equal(err?.kind, 'provider');
        assert.match(
          err?.message ?? '',
          /The CUDA execution provider cannot run here: the CUDA provider is not installed \(libonnxruntime_providers_cuda\.so is missing\)\. CUDA support is an extra install step.*ONNXRUNTIME_NODE_INSTALL=1/,
        );
        assert.match(err?.hint ?? '', /--provider auto/);
      } else if (dir) {
        // Installed and loadable: the run names the provider that ran, everywhere the user sees it.
        const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
        assert.equal(b.settings.providerRequested, 'cuda');
        assert.equal(b.provider, 'cuda');
        assert.equal(craft.statusText(), 'CRAFT: CUDA');
        assert.match(craft.logLines().join('\n'), /Execution provider: CUDA( on [^(]+)? \(requested\)\./);
      } else {
        // Installed but not loadable here (no driver or CUDA runtime): ONNX Runtime's reason is passed on.
        assert.equal(err?.kind, 'provider', `${err?.kind}: ${err?.message}`);
        assert.match(
          err?.message ?? '',
          /The CUDA execution provider cannot run here: (the CUDA provider cannot load: \S+ (is|are) missing|it could not run a probe model: \S)/,
        );
      }
    } finally {
      await config.update('provider', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('runs on a folder from the Explorer menu (a vscode.Uri argument)', async () => {
    const configFile = path.join(root, 'craft.config.json');
    const original = fs.readFileSync(configFile, 'utf8');
    const cfg = readJson(configFile);
    // Keep the run small through the config file (the menu passes only the folder).
    fs.writeFileSync(configFile, JSON.stringify({ ...cfg, maxImages: 12, concepts: 3, designs: 4 }, null, 2));
    try {
      const mark = await promptMark();
      const running = vscode.commands.executeCommand<string | undefined>('craft.explain', vscode.Uri.file(path.join(root, 'images', 'sneaker')));
      // A click in the Explorer with the rest remembered: the confirmation comes first; Enter runs.
      const shown = await promptAfter(mark, CONFIRM_TITLE);
      assert.ok(shown.items.includes('$(folder) Images — images/sneaker · 200 images (the first 12 used)'), shown.items.join('\n'));
      // The remembered class is not what the folder is named for: the row says so.
      const cls = shown.items.indexOf('$(symbol-class) Class — 9 Ankle boot');
      assert.ok(cls > 0, shown.items.join('\n'));
      assert.equal(shown.details[cls], '$(warning) The folder name "sneaker" matches class 7 Sneaker.');
      const craft = await api();
      const done = settled(running);
      await acceptUntil('the run', () => craft.isRunning() || done());
      const dir = await within(120_000, 'craft.explain', running);
      assert.ok(dir);
      const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
      assert.equal(b.datasetRoot, path.join(root, 'images', 'sneaker'));
      assert.equal(b.images.length, 12);
      assert.equal(readJson(configFile).images, 'images/sneaker');
    } finally {
      fs.writeFileSync(configFile, original);
    }
  });
});

/// <reference types="mocha" />
// The 224-px clip-art MobileNetV2 (test/fixtures/clipart-mobilenetv2, 24 playing cards) through the
// real extension with the default batch: the engine process VS Code forks handles the realistic
// model's large tensors. Then the same with craft.nodePath, the engine run by a system Node.js, and
// a craft.nodePath that is not Node, refused with a sentence naming the setting.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ResultsBundle } from '../../src/protocol';
import { EXTENSION_ID, api, readJson, within, workspaceRoot } from './helpers';

describe('the clip-art MobileNetV2 in the real extension', function () {
  // 24 images at 224 px on 2 cores: longer than the suite's default timeout.
  this.timeout(300_000);
  let clipart: string;
  let configFile: string;
  let config: string;

  before(async () => {
    await api();
    // A run remembers its choices in the workspace's craft.config.json: keep the other tests' file as it was.
    configFile = path.join(workspaceRoot(), 'craft.config.json');
    config = fs.readFileSync(configFile, 'utf8');
    clipart = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'test', 'fixtures', 'clipart-mobilenetv2');
    assert.ok(fs.existsSync(path.join(clipart, 'clipart_mobilenetv2.onnx')), clipart);
  });

  afterEach(() => fs.writeFileSync(configFile, config));

  const explain = (extra: Record<string, unknown> = {}) =>
    within(
      300_000,
      'craft.explain',
      vscode.commands.executeCommand<string | undefined>('craft.explain', {
        model: path.join(clipart, 'clipart_mobilenetv2.onnx'),
        images: path.join(clipart, 'images', 'playing_cards'),
        class: 'playing_cards',
        layer: 'out_relu',
        size: [224, 224],
        patch: 64,
        concepts: 10,
        designs: 8,
        reveal: false,
        ...extra,
      }),
    );

  it('explains 24 playing cards at 224 px with the default batch, in the engine process VS Code forks', async () => {
    const dir = await explain();
    assert.ok(dir, `a run folder (${(await api()).lastError()?.message ?? 'no error'})`);
    const b = readJson<ResultsBundle>(path.join(dir, 'results.json'));
    assert.equal(b.images.length, 24);
    assert.equal(b.layer.name, 'out_relu');
    assert.deepEqual(b.layer.shape, [1280, 7, 7]);
    assert.equal(b.settings.batchSize, 64, 'the default batch');
    assert.equal(b.settings.cropsPerImage, 16);
    assert.ok(b.importances.every(Number.isFinite) && b.importances.some((v) => v > 0));
    assert.ok(b.fidelity && b.fidelity.deletionAuc < b.fidelity.random.deletionAuc, 'the ranking beats random orders on deletion');
    assert.ok(b.fidelity && b.fidelity.insertionAuc > b.fidelity.random.insertionAuc, 'and on insertion');
  });

  it('craft.nodePath runs the engine with a system Node.js; a path that is not Node is refused naming the setting', async () => {
    const craft = await api();
    const config = vscode.workspace.getConfiguration('craft');
    // The extension host here is itself plain Node (the VS Code server): its executable is a system Node.
    await config.update('nodePath', process.execPath, vscode.ConfigurationTarget.Workspace);
    try {
      const dir = await explain({ maxImages: 6, concepts: 3 });
      assert.ok(dir, craft.lastError()?.message);
      assert.match(
        craft.logLines().join('\n'),
        new RegExp(`The engine runs with ${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(Node\\.js \\d+\\.`),
      );
      await config.update('nodePath', path.join(clipart, 'labels.json'), vscode.ConfigurationTarget.Workspace);
      const before = craft.lastError();
      assert.equal(await explain({ maxImages: 6, concepts: 3 }), undefined, 'no run with a runtime that is not Node');
      const err = craft.lastError();
      assert.notEqual(err, before);
      assert.match(err?.message ?? '', /The setting "craft\.nodePath" names .*labels\.json, which does not run as Node\.js/);
    } finally {
      await config.update('nodePath', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});

/// <reference types="mocha" />
// The cache in VS Code: a run whose model file changed since is shown as stale in its panel (the host
// hashes the model at every show), and "CRAFT: Clear cache" empties a results folder's cache while its
// runs stay.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DEFAULTS } from '../../src/craft/options';
import type { ClearedCache } from '../../src/extension/cache';
import { startWorker } from '../../src/extension/runner';
import { LAYER, api, closeAll, waitFor, workspaceRoot } from './helpers';

describe('cache: stale results and CRAFT: Clear cache', () => {
  after(async () => {
    await closeAll();
  });

  it('marks a run stale once its model file changes, and Clear cache empties the cache but keeps the runs', async function () {
    this.timeout(180_000);
    const root = workspaceRoot();
    const craft = await api();
    const errorBefore = craft.lastError();
    const out = path.join(root, '.craft-cache');
    const modelDir = path.join(root, '.craft-cache-model');
    fs.mkdirSync(modelDir, { recursive: true });
    const model = path.join(modelDir, 'fmnist_copy.onnx');
    fs.copyFileSync(path.join(root, 'model', 'fmnist_cnn.onnx'), model);
    // The engine in its worker, as craft.explain runs it (without remembering these answers in the workspace's config).
    const run = startWorker({
      type: 'explain',
      options: {
        ...DEFAULTS,
        model,
        images: path.join(root, 'images', 'ankle_boot'),
        classId: 9,
        layer: LAYER,
        size: [28, 28],
        patch: 14,
        concepts: 2,
        designs: 4,
        maxImages: 8,
        provider: 'cpu',
        out,
        cacheSize: 64,
      },
    });
    const done = await run.finished;
    assert.equal(done.type, 'done');
    const runDir = (done as { dir: string }).dir;
    assert.ok(fs.readdirSync(path.join(out, '.cache', 'images')).length >= 8, 'the run filled the cache');

    const show = async () => {
      await closeAll();
      assert.equal(await vscode.commands.executeCommand('craft.openResults', runDir), runDir);
      return waitFor(
        'the results page shown',
        () => {
          const p = craft.panels.get(runDir);
          return p && p.shown >= 1 ? p : undefined;
        },
        60_000,
      );
    };
    assert.equal((await show()).stale, undefined, 'the model is as explained');

    // Retrained: the same file name, other bytes.
    fs.appendFileSync(model, Buffer.from([0x08, 0x01]));
    assert.equal((await show()).stale, 'changed');
    assert.match(craft.logLines().join('\n'), /the model of .* is changed since the run/);
    fs.rmSync(model);
    assert.equal((await show()).stale, 'missing');

    const cleared = await vscode.commands.executeCommand<ClearedCache[]>('craft.clearCache', out);
    assert.equal(cleared?.length, 1);
    assert.equal(cleared[0].dir, path.join(out, '.cache'));
    assert.ok(cleared[0].entries >= 8, `${cleared[0].entries} entries cleared`);
    assert.equal(fs.existsSync(path.join(out, '.cache')), false, 'the cache is gone');
    assert.ok(fs.existsSync(path.join(runDir, 'results.json')), 'the run is kept');
    assert.match(craft.logLines().join('\n'), /Cache cleared: .*\.craft-cache.\.cache \(\d+ entries/);
    const again = await vscode.commands.executeCommand<ClearedCache[]>('craft.clearCache', out);
    assert.equal(again?.[0].entries, 0, 'clearing an empty cache is fine');
    assert.equal(craft.lastError(), errorBefore, `no error shown: ${JSON.stringify(craft.lastError())}`);
  });
});

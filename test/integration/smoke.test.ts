/// <reference types="mocha" />
// First integration test: proves the suite runs in a real VS Code extension
// host backed by Node (native modules load), with the sample workspace open.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import * as vscode from 'vscode';
import { ortBinaryDir } from '../../src/craft/onnx/sessions';

const repoRoot = path.resolve(__dirname, '../../..');
const EXTENSION_ID = 'craft-explain.craft-explain';

function workspaceRoot(): string {
  const folders = vscode.workspace.workspaceFolders;
  assert.ok(folders && folders.length > 0, 'a workspace folder is open');
  return folders[0].uri.fsPath;
}

describe('smoke: real extension host', () => {
  it('finds and activates the extension under development', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is loaded`);
    await ext.activate();
    assert.equal(ext.isActive, true);
    assert.equal(path.resolve(ext.extensionPath), repoRoot);
    assert.equal(ext.packageJSON.name, 'craft-explain');
  });

  it('registers the CRAFT commands', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    const all = await vscode.commands.getCommands(true);
    for (const id of [
      'craft.explain',
      'craft.explainChooseAgain',
      'craft.openResults',
      'craft.listLayers',
      'craft.refine',
      'craft.cancel',
      'craft.exportReport',
      'craft.showLog',
    ]) {
      assert.ok(all.includes(id), `${id} is registered`);
    }
  });

  it('opens a copy of sample/ as the workspace', () => {
    const root = workspaceRoot();
    assert.ok(fs.existsSync(path.join(root, 'model', 'fmnist_cnn.onnx')), `${root} holds model/fmnist_cnn.onnx`);
    assert.ok(fs.existsSync(path.join(root, 'model', 'labels.json')));
    // The launcher's default is a temp copy so tests never write into the repo.
    if (process.env.CRAFT_IT_WORKSPACE) assert.equal(root, process.env.CRAFT_IT_WORKSPACE);
  });

  // The engine needs native addons, which only a Node extension host can load: a web worker host has no
  // process.release, no require cache of .node files, and would at best offer JavaScript stand-ins.
  it('is a Node host with the native bindings of onnxruntime-node and sharp loaded', () => {
    assert.equal(process.release.name, 'node');
    assert.ok(Number(/^(\d+)\.\d+\.\d+$/.exec(process.versions.node)?.[1]) >= 20, `Node ${process.versions.node} (engines: >= 20)`);
    const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const ortAddon = addons.find((f) => path.basename(f) === 'onnxruntime_binding.node');
    assert.ok(ortAddon, `onnxruntime-node's binding is loaded (addons: ${addons.join(', ') || 'none'})`);
    assert.equal(fs.realpathSync(path.dirname(ortAddon)), fs.realpathSync(ortBinaryDir()), 'from the directory the engine uses');
    const binding = require.cache[ortAddon]!.exports as { InferenceSession: unknown; listSupportedBackends: () => { name: string }[] };
    assert.match(Function.prototype.toString.call(binding.InferenceSession), /\[native code\]/, 'InferenceSession is native');
    assert.ok(
      binding.listSupportedBackends().some((b) => b.name === 'cpu'),
      'the native binding answers: CPU backend listed',
    );
    assert.ok(
      addons.some((f) => /^sharp-.+\.node$/.test(path.basename(f))),
      `sharp's libvips binding is loaded (addons: ${addons.join(', ')})`,
    );
    assert.match(sharp.versions.vips ?? '', /^\d+\.\d+/);
  });

  it('decodes images with sharp (native libvips)', async () => {
    const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .png()
      .toBuffer();
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [1, 1, 3]);
    assert.deepEqual([...data], [10, 20, 30]);

    const sneakers = path.join(workspaceRoot(), 'images', 'sneaker');
    const first = fs
      .readdirSync(sneakers)
      .filter((f) => f.endsWith('.png'))
      .sort()[0];
    const meta = await sharp(path.join(sneakers, first)).metadata();
    assert.deepEqual([meta.width, meta.height], [28, 28]);
  });

  it('runs the sample ONNX model with onnxruntime-node', async () => {
    const session = await ort.InferenceSession.create(path.join(workspaceRoot(), 'model', 'fmnist_cnn.onnx'), {
      logSeverityLevel: 3,
    });
    try {
      assert.deepEqual(session.inputNames, ['input']);
      const input = new ort.Tensor('float32', new Float32Array(3 * 28 * 28), [1, 3, 28, 28]);
      const a = await session.run({ input });
      const b = await session.run({ input });
      const logits = a[session.outputNames[0]];
      assert.deepEqual(logits.dims, [1, 10]);
      const values = [...(logits.data as Float32Array)];
      assert.ok(values.every(Number.isFinite), 'finite logits');
      // Same input, same output: a real, deterministic CPU run.
      assert.deepEqual(values, [...(b[session.outputNames[0]].data as Float32Array)]);
    } finally {
      await session.release();
    }
  });
});

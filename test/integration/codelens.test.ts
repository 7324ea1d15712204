/// <reference types="mocha" />
// The CodeLens "Explain a class with CRAFT" on references to existing .onnx files.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { findOnnxReferences } from '../../src/extension/codelens';
import { CONFIRM_TITLE, api, closeAll, dismissPrompt, promptAfter, promptMark, waitFor, within, workspaceRoot } from './helpers';

async function lenses(file: string): Promise<vscode.CodeLens[]> {
  const doc = await vscode.workspace.openTextDocument(file);
  await vscode.window.showTextDocument(doc);
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)) ?? [];
}

function craftLenses(all: vscode.CodeLens[]): vscode.CodeLens[] {
  return all.filter((l) => l.command?.command === 'craft.explain');
}

/** The lens passes the model as a file Uri, as the Explorer menu does (a user's click, not a script). */
function lensModels(lens: vscode.CodeLens): string[] {
  return (lens.command?.arguments ?? []).map((a: unknown) => {
    assert.ok(a instanceof vscode.Uri, `a Uri argument: ${JSON.stringify(a)}`);
    return a.fsPath;
  });
}

describe('CodeLens', () => {
  let root: string;
  let model: string;

  before(async () => {
    root = workspaceRoot();
    model = path.join(root, 'model', 'fmnist_cnn.onnx');
    await api();
  });

  after(closeAll);

  it('appears on a Python string naming an existing model, and not on a missing one', async () => {
    const file = path.join(root, 'train.py');
    fs.writeFileSync(
      file,
      ['import onnxruntime as ort', '', 'MODEL = "model/fmnist_cnn.onnx"', "OTHER = 'missing/nowhere.onnx'", 'sess = ort.InferenceSession(MODEL)', ''].join(
        '\n',
      ),
    );
    const found = await waitFor('a CodeLens', async () => {
      const l = craftLenses(await lenses(file));
      return l.length > 0 && l;
    });
    assert.equal(found.length, 1);
    const lens = found[0];
    assert.equal(lens.range.start.line, 2);
    assert.equal(lens.command?.title, 'Explain a class with CRAFT');
    assert.deepEqual(lensModels(lens), [model]);
  });

  it('asks before running with the remembered choices: its confirmation names them, and dismissing it runs nothing', async () => {
    const file = path.join(root, 'run.py');
    fs.writeFileSync(file, 'MODEL = "model/fmnist_cnn.onnx"\n');
    const lens = await waitFor('a CodeLens', async () => craftLenses(await lenses(file))[0]);
    assert.ok(lens.command?.arguments);
    const configFile = path.join(root, 'craft.config.json');
    const config = fs.readFileSync(configFile, 'utf8');
    const mark = await promptMark();
    // As VS Code runs a lens: its command with its arguments.
    const running = vscode.commands.executeCommand<string | undefined>(lens.command!.command, ...lens.command!.arguments!);
    const shown = await promptAfter(mark, CONFIRM_TITLE);
    assert.match(shown.items[0], /^\$\(play\) Run — Ankle boot on \d+ images of ankle_boot$/);
    assert.ok(shown.items.includes('$(file) Model — model/fmnist_cnn.onnx'), shown.items.join('\n'));
    await dismissPrompt(running);
    assert.equal(await within(10_000, 'the dismissed lens run', running), undefined);
    assert.equal(fs.readFileSync(configFile, 'utf8'), config, 'nothing remembered');
  });

  it('resolves paths relative to the document and bare paths in Markdown and YAML', async () => {
    const docs = path.join(root, 'docs');
    fs.mkdirSync(docs, { recursive: true });
    const md = path.join(docs, 'MODEL.md');
    fs.writeFileSync(md, ['# Model', '', 'The classifier is [here](../model/fmnist_cnn.onnx).', ''].join('\n'));
    const yml = path.join(root, 'params.yaml');
    fs.writeFileSync(yml, ['train:', '  epochs: 3', 'export:', '  onnx: model/fmnist_cnn.onnx', ''].join('\n'));
    for (const [file, line] of [
      [md, 2],
      [yml, 3],
    ] as const) {
      const found = await waitFor(`a CodeLens in ${path.basename(file)}`, async () => {
        const l = craftLenses(await lenses(file));
        return l.length > 0 && l;
      });
      assert.equal(found.length, 1, path.basename(file));
      assert.equal(found[0].range.start.line, line);
      assert.deepEqual(lensModels(found[0]), [model]);
    }
  });

  it('finds quoted and bare references, once each', () => {
    const refs = findOnnxReferences('a = "x/y.onnx"\nb: z.onnx\n[m](../m.onnx) not.onnx.bak c.ONNX');
    assert.deepEqual(
      refs.map((r) => r.text),
      ['x/y.onnx', 'z.onnx', '../m.onnx', 'c.ONNX'],
    );
  });
});

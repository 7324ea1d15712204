/// <reference types="mocha" />
// Results bundles from elsewhere in the panel: a damaged results.json is named field by field, and a
// bundle's datasetRoot alone never opens a file outside the workspace without asking.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { RESULTS_FILE } from '../../src/craft/bundle/writer';
import { Log } from '../../src/extension/log';
import { PanelManager } from '../../src/extension/panel';
import { tinyBundle } from '../unit/bundle-helpers';
import { EXTENSION_ID, api, closeAll, waitFor, workspaceRoot } from './helpers';

/** Absolute paths of the files shown in editor tabs. */
function openFiles(): string[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .flatMap((t) => {
      const uri = (t.input as { uri?: vscode.Uri } | undefined)?.uri;
      return uri ? [uri.fsPath] : [];
    });
}

function writeRun(dir: string, bundle: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, RESULTS_FILE), JSON.stringify(bundle));
  return dir;
}

describe('results bundles', () => {
  let root: string;
  let manager: PanelManager;
  let log: Log;

  before(async () => {
    root = workspaceRoot();
    await api();
    log = new Log();
    manager = new PanelManager(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, log);
  });

  after(async () => {
    manager.dispose();
    log.dispose();
    await closeAll();
  });

  it('a damaged results.json: craft.openResults names the field (input error), no panel, the host lives on', async () => {
    const craft = await api();
    const b = tinyBundle() as unknown as { images: { path: unknown }[] };
    b.images[1].path = 42;
    const dir = writeRun(path.join(root, '.craft-damaged', 'run'), b);
    assert.equal(await vscode.commands.executeCommand('craft.openResults', dir), undefined);
    const err = craft.lastError();
    assert.equal(err?.kind, 'input');
    assert.match(err?.message ?? '', /results\.json: images\[1\]\.path must be a string, got 42\./);
    assert.match(err?.hint ?? '', /re-run the explanation/);
    assert.equal(craft.panels.get(dir), undefined);
    assert.doesNotMatch(craft.logLines().join('\n'), /TypeError|unexpected error/);
  });

  it('a panel restored on a damaged results.json shows the field-by-field message', async () => {
    const b = tinyBundle() as unknown as { W: unknown[][] };
    b.W[1] = ['NaN', 1, 2];
    const dir = writeRun(path.join(root, '.craft-damaged', 'restored'), b);
    const panel = vscode.window.createWebviewPanel('craft.results', 'restoring', vscode.ViewColumn.Beside, {});
    await manager.deserializeWebviewPanel(panel, { runDir: dir });
    const info = manager.get(dir);
    assert.ok(info, 'the panel is kept, showing the error');
    assert.match(info.error ?? '', /results\.json: W\[1\]\[0\] must be a finite number, got "NaN"/);
    await waitFor('the page to ask for its run', () => (manager.get(dir)?.ready ?? 0) >= 1, 30_000);
    assert.equal(manager.get(dir)?.shown, 0, 'no results are shown');
    manager.close(dir);
  });

  it('"open image": under the workspace or this session\'s image folders it opens; elsewhere a modal names the file first', async () => {
    await closeAll();
    const sample = path.join(root, 'images', 'ankle_boot', fs.readdirSync(path.join(root, 'images', 'ankle_boot')).sort()[0]);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-outside-'));
    const secret = path.join(outside, 'secret.png');
    fs.copyFileSync(sample, secret);
    const links = path.join(root, '.craft-links');
    fs.mkdirSync(links, { recursive: true });
    const leak = path.join(links, 'leak.png');
    fs.rmSync(leak, { force: true });
    fs.symlinkSync(secret, leak); // inside the workspace by its path, outside by its real path
    // A shared bundle that claims the whole disk as its dataset folder.
    const b = tinyBundle();
    const fromRoot = (p: string) => path.relative('/', p);
    b.datasetRoot = '/';
    b.images = [sample, secret, leak].map((p, i) => ({ ...b.images[0], path: fromRoot(p), thumbnail: `thumbs/${i}.png` }));
    for (const c of b.concepts) for (const k of c.crops) k.image = 0;
    const dir = writeRun(path.join(root, '.craft-shared', 'run'), b);
    await manager.open(dir, { preserveFocus: true });

    // In the workspace: opens beside.
    assert.equal(await manager.openImage(dir, 0), 'opened');
    await waitFor('the workspace image in an editor', () => openFiles().includes(sample));
    // Outside, by path or through a link: the modal is asked for, naming the real file (VS Code refuses
    // to show dialogs under test and says so, with the dialog's text), and nothing opens.
    for (const index of [1, 2]) {
      await assert.rejects(manager.openImage(dir, index), (e: unknown) => {
        assert.match(
          String((e as Error)?.message ?? e),
          new RegExp(`refused to show dialog in tests\\. Contents: Open ${secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?`),
        );
        return true;
      });
    }
    assert.ok(!openFiles().includes(secret) && !openFiles().includes(leak), `opened: ${openFiles().join(', ')}`);
    // An image folder the user ran on in this session is trusted like the workspace.
    manager.trustImageFolder(outside);
    assert.equal(await manager.openImage(dir, 1), 'opened');
    await waitFor('the trusted outside image in an editor', () => openFiles().includes(secret));
    manager.close(dir);
    await closeAll();
    fs.rmSync(outside, { recursive: true, force: true });
  });
});

/// <reference types="mocha" />
// Cancelling a run: through the command (the worker stops at its next check and its bundle writer
// removes the partial folder), and the kill path (a worker that does not stop in time is killed and
// its partial folder removed by the host). Either way nothing is left behind.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { partialOwner } from '../../src/craft/bundle/partials';
import { readBundle } from '../../src/craft/bundle/writer';
import { DEFAULTS } from '../../src/craft/options';
import { CancelledError } from '../../src/craft/errors';
import { startWorker } from '../../src/extension/runner';
import { EXTENSION_ID, LAYER, api, resultsEntries, sleep, waitFor, workspaceRoot } from './helpers';

describe('cancel', () => {
  let root: string;

  before(async () => {
    root = workspaceRoot();
    await api();
  });

  it('stops a run within two seconds and leaves no run folder and no partial folder', async () => {
    const out = path.join(root, '.craft-cancel');
    fs.mkdirSync(out, { recursive: true });
    const craft = await api();
    const configFile = path.join(root, 'craft.config.json');
    const config = fs.readFileSync(configFile, 'utf8');
    // A large run: both image folders (400 images), full designs.
    const running = vscode.commands.executeCommand<string | undefined>('craft.explain', {
      model: 'model/fmnist_cnn.onnx',
      images: 'images',
      class: 9,
      layer: LAYER,
      size: [28, 28],
      concepts: 10,
      patch: 14,
      designs: 32,
      out,
      reveal: false,
    });
    // The engine has started writing (its hidden partial folder exists) before we cancel.
    await waitFor('the partial bundle folder', () => resultsEntries(out).partials.length > 0, 60_000, 20);
    assert.equal(craft.isRunning(), true);
    const t0 = Date.now();
    assert.equal(await vscode.commands.executeCommand('craft.cancel'), true, 'craft.cancel found the run');
    const result = await running;
    const took = Date.now() - t0;
    console.log(`      cancel → craft.explain returned after ${took} ms`);
    assert.equal(result, undefined, 'a cancelled craft.explain returns undefined');
    assert.ok(took < 2500, `stopped in ${took} ms`);
    assert.deepEqual(resultsEntries(out), { runs: [], partials: [] });
    assert.ok(!fs.existsSync(path.join(out, 'latest.json')));
    assert.equal(craft.isRunning(), false);
    assert.match(craft.logLines().join('\n'), /Run cancelled after [\d.]+ s; no results were written/);
    assert.equal(await vscode.commands.executeCommand('craft.cancel'), false, 'nothing left to cancel');
    assert.equal(fs.readFileSync(configFile, 'utf8'), config, 'arguments of a cancelled run are not remembered');
  });

  it('kills a worker that does not stop in time and removes its partial folder', async () => {
    const out = path.join(root, '.craft-kill');
    fs.mkdirSync(out, { recursive: true });
    const lines: string[] = [];
    // graceMs 0: the host does not wait for the worker's own cleanup, so the kill path runs.
    const run = startWorker(
      {
        type: 'explain',
        options: {
          ...DEFAULTS,
          model: path.join(root, 'model', 'fmnist_cnn.onnx'),
          images: path.join(root, 'images'),
          classId: 9,
          layer: LAYER,
          size: [28, 28],
          patch: 14,
          out,
        },
      },
      { partialRoot: out, graceMs: 0, onLog: (l) => lines.push(l) },
    );
    assert.ok(run.pid);
    await waitFor('the partial bundle folder', () => resultsEntries(out).partials.length > 0, 60_000, 20);
    run.cancel();
    await assert.rejects(run.finished, (e: unknown) => e instanceof CancelledError);
    assert.match(lines.join('\n'), /did not stop within 0 ms: killed/);
    assert.deepEqual(resultsEntries(out), { runs: [], partials: [] });
    // The process is really gone.
    await sleep(100);
    assert.throws(() => process.kill(run.pid!, 0));
  });

  it('the kill path removes only its own partial folder: a CLI run writing into the same results folder completes', async function () {
    this.timeout(180_000);
    const out = path.join(root, '.craft-kill-shared');
    fs.mkdirSync(out, { recursive: true });
    const task = {
      type: 'explain' as const,
      options: {
        ...DEFAULTS,
        model: path.join(root, 'model', 'fmnist_cnn.onnx'),
        images: path.join(root, 'images'),
        classId: 9,
        layer: LAYER,
        size: [28, 28] as [number, number],
        patch: 14,
        provider: 'cpu' as const,
        out,
      },
    };
    const run = startWorker(task, { partialRoot: out, graceMs: 0 });
    // A concurrent CLI run on the same results folder, started after the worker (its partial folder is new to it).
    const cli = spawn(
      process.execPath,
      [
        path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'bin', 'craft.js'),
        'explain',
        '--model',
        task.options.model,
        '--images',
        task.options.images,
        '--class',
        '9',
        '--layer',
        LAYER,
        '--size',
        '28',
        '--patch',
        '14',
        '--provider',
        'cpu',
        '--out',
        out,
        '--json',
        '--quiet',
      ],
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const cliExit = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    const owned = (pid: number | undefined) => resultsEntries(out).partials.filter((n) => partialOwner(n)?.pid === pid);
    await waitFor('both partial folders', () => owned(run.pid).length === 1 && owned(cli.pid).length === 1, 60_000, 20);
    const cliPartial = owned(cli.pid)[0];
    run.cancel();
    await assert.rejects(run.finished, (e: unknown) => e instanceof CancelledError);
    assert.deepEqual(owned(run.pid), [], "the killed worker's partial folder is removed");
    assert.ok(fs.existsSync(path.join(out, cliPartial)), "the CLI run's partial folder is left alone");
    assert.equal(await cliExit, 0, stderr);
    const { dir } = JSON.parse(stdout) as { dir: string };
    const bundle = await readBundle(dir);
    const files = [...bundle.images.flatMap((im) => [im.thumbnail, im.maps ?? im.thumbnail]), ...bundle.concepts.flatMap((c) => c.crops.map((k) => k.file))];
    assert.deepEqual(
      files.filter((f) => !fs.existsSync(path.join(dir, f))),
      [],
      'every file of the CLI run is there',
    );
    assert.deepEqual(resultsEntries(out), { runs: [path.basename(dir)], partials: [] });
  });
});

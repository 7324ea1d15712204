import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseModel } from '../../src/craft/onnx/model';
import { DataType } from '../../src/craft/onnx/fields';
import { ModelEditor } from '../../src/craft/onnx/editor';
import { explain } from '../../src/craft/explain';
import { DEFAULTS } from '../../src/craft/options';
import { CraftError } from '../../src/craft/errors';
import { ProgressPrinter } from '../../src/cli/progress';
import { CRAFT_BIN, ROOT, SAMPLE_MODEL as MODEL, quickExplainArgs, runCraft, sampleImages } from './sample-cli';

const SAMPLE = path.join(ROOT, 'sample');

const craft = (args: string[], cwd = ROOT) => runCraft(args, { cwd });

const images = (n: number) => sampleImages(n, 'sneaker');

test('craft --help prints the usage and exits 0; no command exits 2', () => {
  const help = craft(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /craft explain --model M\.onnx --images DIR --class K\|LABEL/);
  assert.match(help.stdout, /Exit codes/);
  assert.equal(craft([]).code, 2);
});

test('craft explain runs on a small dataset, prints the ranking and the results folder', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cli-out-'));
  const r = craft(quickExplainArgs(images(8), 'Sneaker', out, '--concepts', '3', '--designs', '8'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /class 7 \(Sneaker\), layer \/g\/MaxPool_1_output_0, 8 images, 3 concepts, provider CPU/);
  const dir = r.stdout.match(/Results: (.*)/)![1].trim();
  assert.ok(fs.existsSync(path.join(dir, 'results.json')));
  assert.match(r.stderr, /Execution provider: CPU \(requested\)/);
  assert.match(r.stderr, /\[importance\] 8\/8 images/);
  const report = craft(['report', dir, '--output', path.join(out, 'page.html')]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(fs.readFileSync(path.join(out, 'page.html'), 'utf8'), /<html/i);
  const notARun = craft(['report', out]);
  assert.equal(notARun.code, 3);
  assert.match(notARun.stderr, /results\.json is missing/);
});

test('craft explain --json prints one JSON object; --config is read and flags override it; --quiet prints only warnings', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cli-json-'));
  // Sneakers explained as "Ankle boot" (the config's class): the model predicts another class for them.
  const r = craft([
    'explain',
    '--config',
    path.join(SAMPLE, 'craft.config.json'),
    '--images',
    images(6),
    '--concepts',
    '2',
    '--designs',
    '4',
    '--out',
    out,
    '--json',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.importances.length, 2);
  assert.equal(summary.provider, 'cpu');
  assert.ok(summary.dir.startsWith(out));
  assert.match(summary.warnings.join('\n'), /6 of 6 images are predicted as another class/);
  // No progress and no notices, but the warning: it says the results may not mean what they seem to.
  assert.equal(r.stderr, 'Warning: 6 of 6 images are predicted as another class: the concepts explain the class score on them too.\n');
});

test('the summary after a run lists its warnings; progress names the class with the percentage', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cli-warn-'));
  const r = craft(quickExplainArgs(images(6), '9', out, '--concepts', '2', '--designs', '4'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nWarnings:\n {2}- 6 of 6 images are predicted as another class: the concepts explain the class score on them too\.\nResults: /);
  // The label, not "class 9", and the run's percentage, on every progress line; the last one at 100 %.
  const progress = r.stderr.split('\n').filter((l) => /\[\w+\] \d+\/\d+/.test(l));
  assert.ok(progress.length > 3, r.stderr);
  for (const line of progress) assert.match(line, /^Ankle boot: \d{1,3}% · \[\w+\] \d+\/\d+ \w+/, line);
  const percents = progress.map((l) => Number(/: (\d+)%/.exec(l)![1]));
  assert.deepEqual(
    percents,
    [...percents].sort((a, b) => a - b),
    'the percentage never goes back',
  );
  assert.equal(percents[percents.length - 1], 100);
});

test('craft report --include-paths keeps the local paths; without it the report names them by their base names', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cli-paths-'));
  const imgs = images(4);
  const r = craft(quickExplainArgs(imgs, '7', out, '--concepts', '2', '--designs', '4', '--json', '--quiet'));
  assert.equal(r.code, 0, r.stderr);
  const { dir } = JSON.parse(r.stdout) as { dir: string };
  const view = (file: string) =>
    JSON.parse(/<script type="application\/json" id="craft-report-data">([\s\S]*?)<\/script>/.exec(fs.readFileSync(file, 'utf8'))![1]);
  const shared = path.join(out, 'shared.html');
  const full = path.join(out, 'full.html');
  assert.equal(craft(['report', dir, '--output', shared]).code, 0);
  const withPaths = craft(['report', dir, '--output', full, '--include-paths']);
  assert.equal(withPaths.code, 0, withPaths.stderr);
  assert.equal(view(shared).bundle.datasetRoot, path.basename(imgs));
  assert.equal(view(shared).bundle.model.path, 'fmnist_cnn.onnx');
  assert.ok(!fs.readFileSync(shared, 'utf8').includes(imgs), 'no local path in the shared report');
  assert.equal(view(full).bundle.datasetRoot, imgs);
  assert.equal(view(full).bundle.model.path, MODEL);
  assert.equal(view(full).runDir, dir);
  const help = craft(['--help']).stdout;
  assert.match(help, /--include-paths +keep the absolute local paths/);
  assert.match(help.replace(/\s+/g, ' '), /--layer TENSOR split tensor \(default: the last non-negative 4-D map feeding the final pooling;/);
});

test('usage and input errors exit with their codes and say what to do', () => {
  const few = images(2);
  const unknownClass = craft(['explain', '--model', MODEL, '--images', few, '--class', 'Boot', '--size', '28']);
  assert.equal(unknownClass.code, 2);
  assert.match(unknownClass.stderr, /Unknown class "Boot"/);
  const notAModel = path.join(few, 'notes.onnx');
  fs.writeFileSync(notAModel, 'hello');
  const bad = craft(['explain', '--model', notAModel, '--images', few, '--class', '1']);
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /not a readable ONNX model/);
  const empty = craft(['explain', '--model', MODEL, '--images', fs.mkdtempSync(path.join(os.tmpdir(), 'craft-empty-')), '--class', '1', '--size', '28']);
  assert.equal(empty.code, 3);
  assert.match(empty.stderr, /No images found/);
  assert.equal(craft(['explain', '--model', MODEL]).code, 2);
  const flag = craft(['explain', '--concepts', 'ten']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--concepts must be an integer ≥ 1 and ≤ 512, got "ten"/);
  assert.equal(craft(['explain', '--bogus', '1']).code, 2);
  assert.match(craft(['explain', '--mean', '1,2']).stderr, /three comma-separated numbers/);
});

test('craft layers lists the candidates with shapes and marks the default', () => {
  const r = craft(['layers', '--model', MODEL, '--size', '28', '--images', images(2)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\/g\/MaxPool_1_output_0 {2}\[64, 7, 7\] {2}MaxPool {2}≥0/);
  assert.match(r.stdout, /\/g\/c4\/Conv_output_0 .*has negatives/);
  assert.match(r.stdout, /\* default: \/h\/Relu_output_0/);
  const dynamic = craft(['layers', '--model', MODEL]);
  assert.equal(dynamic.code, 2);
  assert.match(dynamic.stderr, /--size/);
});

test('a model with a fixed batch size of 1 runs (every batch is fed one item at a time)', async () => {
  const ed = new ModelEditor(parseModel(new Uint8Array(fs.readFileSync(MODEL))));
  ed.removeInput('input');
  ed.addInput({ name: 'input', elemType: DataType.FLOAT, shape: [1, 3, 28, 28] }, 'start');
  const fixed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'craft-fixed-')), 'fixed.onnx');
  fs.writeFileSync(fixed, ed.toBytes());
  const o = {
    ...DEFAULTS,
    model: fixed,
    images: images(5),
    classId: 7,
    layer: '/g/MaxPool_1_output_0',
    concepts: 3,
    patch: 14,
    designs: 4,
    provider: 'cpu' as const,
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'craft-fixed-out-')),
  };
  const { bundle } = await explain(o);
  const dynamic = await explain({ ...o, model: MODEL, size: [28, 28], out: fs.mkdtempSync(path.join(os.tmpdir(), 'craft-dyn-out-')) });
  assert.equal(bundle.images.length, 5);
  bundle.importances.forEach((v, i) => assert.ok(Math.abs(v - dynamic.bundle.importances[i]) < 1e-5));
});

test('--provider cuda fails clearly where CUDA is absent; auto falls back to the CPU', async (t) => {
  const o = {
    ...DEFAULTS,
    model: MODEL,
    images: images(3),
    classId: 7,
    size: [28, 28] as [number, number],
    layer: '/g/MaxPool_1_output_0',
    concepts: 2,
    patch: 14,
    designs: 4,
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cuda-')),
  };
  let cudaWorks = true;
  try {
    const { bundle } = await explain({ ...o, provider: 'cuda' });
    assert.equal(bundle.provider, 'cuda');
  } catch (e) {
    cudaWorks = false;
    assert.ok(e instanceof CraftError);
    assert.equal(e.kind, 'provider');
    assert.match(e.full, /CUDA[\s\S]*ONNXRUNTIME_NODE_INSTALL=1/);
  }
  const lines: string[] = [];
  const { bundle } = await explain({ ...o, provider: 'auto', log: (l) => lines.push(l) });
  assert.equal(bundle.provider, cudaWorks ? 'cuda' : 'cpu');
  assert.equal(bundle.settings.providerRequested, 'auto');
  assert.ok(
    lines.some((l) => /^Execution provider: (CUDA|CPU)/.test(l)),
    lines.join('\n'),
  );
  if (!cudaWorks) t.diagnostic('CUDA is not available here: checked the CPU fallback and the error message');
});

test("progress lines: rate and ETA from the stage's first update, at most one line per 2 s off a terminal", () => {
  const lines: string[] = [];
  let now = 0;
  const printer = new ProgressPrinter({ isTTY: false, write: (s: string) => (lines.push(s), true) } as never, () => now);
  printer.update({ stage: 'activations', done: 16, total: 100, unit: 'images' }); // after a first batch
  now = 1000;
  printer.update({ stage: 'activations', done: 32, total: 100, unit: 'images' }); // within 2 s: not printed
  now = 4000;
  printer.update({ stage: 'activations', done: 48, total: 100, unit: 'images' });
  now = 10_500;
  printer.update({ stage: 'activations', done: 100, total: 100, unit: 'images' });
  now = 11_000;
  printer.update({ stage: 'nmf', done: 1, total: 200, unit: 'iterations' });
  // Percentages: the stages before activations weigh 5 of 100, activations 62 (src/craft/progress.ts).
  assert.deepEqual(lines, [
    '14% · [activations] 16/100 images\n',
    '34% · [activations] 48/100 images (8.0/s) · ETA 10s\n',
    '67% · [activations] 100/100 images (8.0/s) · ETA 5.2s\n',
    '67% · [nmf] 1/200 iterations · ETA 5.4s\n',
  ]);
});

test('usage errors exit 2 with a message naming the flag', () => {
  const dir = images(1);
  const fifo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'craft-fifo-')), 'model.onnx');
  spawnSync('mkfifo', [fifo]);
  const base = ['--images', dir, '--class', '7', '--size', '28'];
  const cases: [string[], RegExp][] = [
    [['explain', 'foo', '--model', MODEL, ...base], /Unexpected argument "foo": craft explain takes no arguments/],
    [
      ['explain', '--model', '--images', dir, '--class', '7'],
      /--model needs a value \(FILE\), but the next argument is the option --images[\s\S]*--model=VALUE/,
    ],
    [['explain', '--model', MODEL, ...base, '--alpha-w', '-1'], /--alpha-w must be a number ≥ 0 and ≤ 1,000,000, got "-1"/],
    [['explain', '--model', MODEL, ...base, '--concepts', '513'], /--concepts must be an integer ≥ 1 and ≤ 512, got "513"/],
    [['explain', '--model', MODEL, ...base, '--max-images', '10000001'], /--max-images must be an integer ≥ 1 and ≤ 10,000,000/],
    [['explain', '--model', MODEL, '--images', dir, '--class', '7', '--size', '9000'], /--size: the size must be H or HxW in pixels, each side from 1 to 8192/],
    [['explain', '--model', MODEL, ...base, '--concepts', '3', '--concepts', '4'], /--concepts is given twice/],
    [
      ['explain', '--model', MODEL, ...base, '--concept', '3'],
      /--concept is not an option of craft explain \(it belongs to craft refine\)\. Did you mean --concepts\?/,
    ],
    [['explain', '--model', SAMPLE, ...base], /--model: .*sample is a folder, not a file/],
    [['explain', '--model', path.join(SAMPLE, 'nope.onnx'), ...base], /--model: no such file: .*nope\.onnx/],
    [['explain', '--model', fifo, ...base], /--model: .*model\.onnx is not a regular file \(a FIFO, socket or device\)/],
    [['explain', '--model', MODEL, '--h', SAMPLE, ...base], /--h: .* is a folder, not a file/],
    [['explain', '--model', MODEL, '--labels', SAMPLE, ...base], /--labels: .* is a folder, not a file/],
    [['explain', '--config', SAMPLE], /--config: .* is a folder, not a file/],
    [['explain', '--config', fifo], /--config: .* is not a regular file/],
    [['explain', '--model', MODEL, ...base, '--std', '1,0,1'], /--std: each value must be > 0, got 0/],
    [['explain', '--model', MODEL, ...base, '--mean', '1,2'], /--mean needs three comma-separated numbers \(R,G,B\), got "1,2"/],
    [['explain', '--model', MODEL, ...base, '--resize', 'cubic'], /--resize must be one of "bilinear", "bicubic", "nearest", "lanczos3", got "cubic"/],
    [['explain', '--model', MODEL, ...base, '--preset', 'foo'], /--preset must be one of "\[0,1\]", "imagenet", "\[-1,1\]", got "foo"/],
    [['layers', '--model', MODEL, '--concepts', '3'], /--concepts is not an option of craft layers/],
    [['report', 'a', 'b'], /Unexpected argument "b": craft report takes 1 argument/],
    [['explian'], /Unknown command "explian"\. Did you mean explain\?/],
  ];
  for (const [args, message] of cases) {
    const r = craft(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /unexpected error| {4}at /, 'no stack trace');
  }
  // A value starting with "--" is still possible with "=", and a preset's other spellings work.
  const eq = craft(['explain', '--model=--weird.onnx', ...base]);
  assert.equal(eq.code, 2);
  assert.match(eq.stderr, /--model: no such file: .*--weird\.onnx/);
  assert.match(craft(['--version']).stdout, /^craft-explain \d+\.\d+\.\d+\n$/);
});

test('a config file with a BOM is read; a misspelt key is a usage error with a suggestion', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-cfg-'));
  const file = path.join(dir, 'craft.config.json');
  fs.writeFileSync(file, '\uFEFF' + JSON.stringify({ model: MODEL, images: images(2), class: 'Sneaker', size: 28, concept: 3, patchSize: 14 }));
  const r = craft(['explain', '--config', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /has 2 problems:\n {2}"concept" is not a known key; did you mean "concepts"\?\n {2}"patchSize" is not a known key; did you mean "patch"\?/,
  );
  // A missing model named by the file is a usage error naming the key.
  fs.writeFileSync(file, '\uFEFF' + JSON.stringify({ model: 'gone.onnx', images: 'imgs', class: 1 }));
  const gone = craft(['explain', '--config', file]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /craft\.config\.json: "model": no such file: .*gone\.onnx/);
});

/**
 * Starts a long run, sends the first signal once its importance stage is under way, and each next one
 * once the CLI has said it is cancelling (signals sent together would merge into one); returns how it
 * ended.
 */
async function stopRun(signals: NodeJS.Signals[], designs = 512): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-signal-'));
  const child = spawn(process.execPath, [CRAFT_BIN, ...quickExplainArgs(path.join(SAMPLE, 'images/ankle_boot'), '9', out, '--designs', String(designs))], {
    cwd: ROOT,
  });
  let stderr = '';
  let sent = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (sent === 0 && /\[importance\]/.test(stderr)) {
      // The partial bundle folder exists from the end of the model stage on.
      assert.ok(
        fs.readdirSync(out).some((n) => n.startsWith('.partial-')),
        'a partial folder while running',
      );
      child.kill(signals[sent++]);
    } else if (sent > 0 && sent < signals.length && /cancelling/.test(stderr)) child.kill(signals[sent++]);
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(sent, signals.length, `the run reached the importance stage: ${stderr}`);
  return { code, stderr, out };
}

/** Entries of a results folder but the cache. */
const results = (out: string) => fs.readdirSync(out).filter((n) => n !== '.cache');

test('SIGTERM, SIGHUP and SIGINT cancel a run like Ctrl-C: partial results removed, exit 128 + signal', async () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const) {
    const r = await stopRun([signal]);
    assert.equal(r.code, code, `${signal}: ${r.stderr}`);
    assert.match(r.stderr, /cancelled; no results were written/);
    // The cache (.cache) is kept: a run started again resumes from it (cache-cli.test.ts).
    assert.deepEqual(results(r.out), [], `${signal} leaves no results in the results folder`);
  }
  // A second signal stops at once, and still removes the partial folder.
  // (Many designs: one image's importances take long enough for the second signal to come first.)
  const twice = await stopRun(['SIGTERM', 'SIGTERM'], 1024);
  assert.equal(twice.code, 143, twice.stderr);
  assert.match(twice.stderr, /stopped \(SIGTERM\)/);
  assert.deepEqual(results(twice.out), []);
});

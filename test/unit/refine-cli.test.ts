/** `craft refine` end to end: the child run it prints, its JSON summary, and its exit codes (2, 3, 4). */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ResultsBundle } from '../../src/protocol';
import { ROOT, runCraft, sampleImages } from './sample-cli';

const SAMPLE = path.join(ROOT, 'sample');

const craft = (args: string[]) => runCraft(args);

let temp: string;
let run: string;

before(() => {
  temp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-refine-cli-'));
  const images = path.join(temp, 'images');
  fs.mkdirSync(images);
  sampleImages(30, 'ankle_boot', images);
  const r = craft([
    'explain',
    '--config',
    path.join(SAMPLE, 'craft.config.json'),
    '--images',
    images,
    '--concepts',
    '4',
    '--designs',
    '4',
    '--provider',
    'cpu',
    '--out',
    path.join(temp, 'out'),
    '--json',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  run = JSON.parse(r.stdout).dir;
});

test('craft refine writes a child run inside the run folder and prints its sub-concepts', () => {
  const r = craft(['refine', run, '--concept', '#1', '--designs', '4', '--provider', 'cpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^CRAFT refine: concept \d of class 9 \(Ankle boot\) at \/g\/MaxPool_1_output_0: 12 crops with a coefficient ≥ [\d.e-]+ \(its 90th percentile\), factorised at \/g\/Relu_3_output_0 into 5 sub-concepts, provider CPU/,
  );
  assert.match(r.stdout, /Sub-concepts by importance/);
  assert.equal(r.stdout.match(/^ +\d\. sub-concept \d: /gm)?.length, 5);
  const dir = r.stdout.match(/Results: (.*)/)![1].trim();
  assert.equal(path.dirname(dir), path.join(run, 'refined'));
  const b = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as ResultsBundle;
  assert.equal(b.parent?.run, '../..');
  assert.match(r.stderr, /\[model\] \d+\/\d+ images/, 'the crops are cut with progress');
  assert.match(r.stderr, /Layer: \/g\/Relu_3_output_0 \(default/);
});

test('craft refine --json with --layer and --concepts, into --out', () => {
  const out = path.join(temp, 'elsewhere');
  const r = craft([
    'refine',
    run,
    '--concept',
    '0',
    '--layer',
    '/g/Relu_2_output_0',
    '--concepts',
    '3',
    '--designs',
    '4',
    '--provider',
    'cpu',
    '--out',
    out,
    '--json',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  // --quiet: nothing but warnings on stderr (the crops, whole, are often predicted as another class).
  assert.ok(
    r.stderr
      .split('\n')
      .filter(Boolean)
      .every((l) => l.startsWith('Warning: ')),
    r.stderr,
  );
  const s = JSON.parse(r.stdout);
  assert.ok(Array.isArray(s.warnings));
  assert.equal(s.layer, '/g/Relu_2_output_0');
  assert.equal(s.concept, 0);
  assert.equal(s.importances.length, 3);
  assert.equal(s.percentile, 90);
  assert.equal(s.crops, 12);
  assert.equal(s.parent, run);
  assert.equal(path.dirname(s.dir), out);
});

test('craft refine: exit 2 for usage, 3 for the run folder or too few crops, 4 for an unusable layer', () => {
  const cases: [string[], number, RegExp][] = [
    [['refine'], 2, /Missing RESULTS_DIR/],
    [['refine', run], 2, /Missing --concept/],
    [['refine', run, '--concept', '9'], 2, /there is no concept 9/],
    [['refine', run, '--concept', '#5'], 2, /no concept #5/],
    [['refine', run, '--concept', '0', '--layer', '/h/Relu_output_0'], 2, /not earlier than \/g\/MaxPool_1_output_0/],
    [['refine', run, '--concept', '0', '--layer', '/g/MaxPool_1_output_0'], 2, /earlier layer/],
    [['refine', run, '--concept', '0', '--patch', '4'], 2, /--patch is not an option of craft refine/],
    [['refine', run, '--concept', '0', '--concepts', '13'], 3, /Only 12 crops of concept 0 .*fewer than the 13 sub-concepts/],
    [['refine', path.join(temp, 'out'), '--concept', '0'], 3, /results\.json is missing/],
    [['refine', run, '--concept', '0', '--layer', '/g/c3/Conv_output_0'], 4, /cannot be used/],
  ];
  // A run made before the coefficient arrays: re-run it.
  const old = path.join(temp, 'old');
  fs.cpSync(run, old, { recursive: true, filter: (s) => !path.relative(run, s).startsWith('refined') });
  const b = JSON.parse(fs.readFileSync(path.join(old, 'results.json'), 'utf8'));
  delete b.arrays;
  fs.writeFileSync(path.join(old, 'results.json'), JSON.stringify(b));
  cases.push([['refine', old, '--concept', '0'], 3, /Re-run the explanation/]);
  for (const [args, code, message] of cases) {
    const r = craft([...args, '--quiet']);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /unexpected error/);
  }
  assert.ok(!fs.existsSync(path.join(old, 'refined')) || fs.readdirSync(path.join(old, 'refined')).every((n) => !n.startsWith('.partial')));
});

test('craft --help documents refine', () => {
  const help = craft(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /craft refine {2}RESULTS_DIR --concept K\|#N\|NAME/);
  assert.match(help.stdout, /refine options:\n {2}--concept K\|#N\|NAME/);
  assert.match(help.stdout, /--concepts N {8}number of sub-concepts \(1–512; default 5/);
});

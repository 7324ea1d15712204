// A damaged results.json: readBundle (and so `craft report` and the panel) names the bad field in a
// CraftError of kind 'input', never a TypeError from deep inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../../src/craft/errors';
import { readBundle, RESULTS_FILE } from '../../src/craft/bundle/writer';
import { writeReport } from '../../src/craft/bundle/report';
import { ROOT, tempDir, tinyBundle } from './bundle-helpers';
import type { ResultsBundle } from '../../src/protocol';

type Damage = [what: string, damage: (b: Record<string, any>) => void, message: RegExp];

const DAMAGES: Damage[] = [
  ['the file is an array', (b) => ((b as unknown as unknown[]).length = 0), /the file must be an object/],
  ['images is not an array', (b) => (b.images = { 0: b.images[0] }), /images must be an array, got \{"0":/],
  ['an image path is a number', (b) => (b.images[1].path = 42), /images\[1\]\.path must be a string, got 42/],
  ['a thumbnail is missing', (b) => delete b.images[0].thumbnail, /images\[0\]\.thumbnail must be a string, got nothing/],
  ['per-image importances of the wrong length', (b) => (b.images[0].importances = [1]), /images\[0\]\.importances must be an array of 2/],
  [
    'a concept crop file is not a string',
    (b) => (b.concepts[1].crops[0].file = ['x.png']),
    /concepts\[1\]\.crops\[0\]\.file must be a string, got \["x\.png"\]/,
  ],
  [
    'a crop points at an image that does not exist',
    (b) => (b.concepts[0].crops[0].image = 7),
    /concepts\[0\]\.crops\[0\]\.image must be a whole number from 0 to 1, got 7/,
  ],
  ['a W row of the wrong length', (b) => b.W[1].pop(), /W\[1\] must be an array of 3 like W\[0\], got an array of 2/],
  ['W with a row too many', (b) => b.W.push([1, 2, 3]), /W must be an array of 2 \(one per concept\), got an array of 3/],
  ['a NaN-ish string in W', (b) => (b.W[0][2] = 'NaN'), /W\[0\]\[2\] must be a finite number, got "NaN"/],
  ['a NaN-ish string in the importances', (b) => (b.importances[1] = 'Infinity'), /importances\[1\] must be a finite number, got "Infinity"/],
  ['null where a number goes', (b) => (b.concepts[0].share = null), /concepts\[0\]\.share must be a finite number, got null/],
  ['a ranking that repeats a concept', (b) => (b.ranking = [1, 1]), /ranking must be each concept index 0…1 once/],
  ['concepts fewer than settings.concepts', (b) => (b.settings.concepts = 3), /concepts must be an array of 3 \(settings\.concepts\), got an array of 2/],
  ['a bad colour', (b) => (b.concepts[0].color = 'red'), /concepts\[0\]\.color must be a colour "#rrggbb", got "red"/],
  ['no class', (b) => delete b.class, /class must be an object, got nothing/],
  ['a label that is a number', (b) => (b.labels[3] = 3), /labels\[3\] must be a string, got 3/],
  ['an unknown provider', (b) => (b.provider = 'tpu'), /provider must be one of "cpu", "cuda", "webgpu", "dml", "coreml", got "tpu"/],
  ['a damaged preprocess', (b) => (b.settings.preprocess.size = 'big'), /settings: preprocess\.size must be an array of 2 finite numbers/],
  ['skipped entries without a reason', (b) => (b.skipped = [{ path: 'a.png' }]), /skipped\[0\]\.reason must be a string/],
  ['a timing that is text', (b) => (b.timings.total = '1.5 s'), /timings\.total must be a finite number/],
  ['a region file that is a number', (b) => (b.concepts[0].regions[0].file = 3), /concepts\[0\]\.regions\[0\]\.file must be a string, got 3/],
  ['a crop-scale map that is not a string', (b) => (b.images[1].cropMaps = true), /images\[1\]\.cropMaps must be a string, got true/],
  ['a predicted class that is not a class index', (b) => (b.images[0].predicted = -1), /images\[0\]\.predicted must be a whole number from 0, got -1/],
  [
    'a fidelity curve of the wrong length',
    (b) => b.fidelity.random.insertion.pop(),
    /fidelity\.random\.insertion must be an array of 3 \(k = 0…r concepts\), got an array of 2/,
  ],
  ['another results version', (b) => (b.version = 2), /has results version 2; this tool reads version 1/],
];

function bundleDir(b: unknown): string {
  const dir = tempDir('damaged');
  fs.writeFileSync(path.join(dir, RESULTS_FILE), JSON.stringify(b));
  return dir;
}

test('a complete bundle reads back unchanged', async () => {
  const b = tinyBundle();
  assert.deepEqual(await readBundle(bundleDir(b)), b);
  // Optional fields may be absent.
  const { splitCheck: _s, labels: _l, fidelity: _f, ...rest } = b;
  const bare: ResultsBundle = {
    ...rest,
    class: { index: 9 },
    images: b.images.map(({ maps: _m, cropMaps: _c, predicted: _p, classScore: _cs, classProbability: _cp, ...im }) => im),
    concepts: b.concepts.map(({ regions: _r, scaleAgreement: _a, ...c }) => c),
  };
  assert.deepEqual(await readBundle(bundleDir(bare)), bare);
});

test('each damaged field gives a CraftError (input) naming the field and what it holds', async () => {
  for (const [what, damage, message] of DAMAGES) {
    const b = structuredClone(tinyBundle()) as unknown as Record<string, any>;
    const value = what === 'the file is an array' ? [] : b;
    if (value === b) damage(b);
    const dir = bundleDir(value);
    await assert.rejects(readBundle(dir), (e: unknown) => {
      assert.ok(e instanceof CraftError, `${what}: ${String(e)}`);
      assert.equal(e.kind, 'input', what);
      assert.match(e.message, message, what);
      assert.ok(e.message.startsWith(path.join(dir, RESULTS_FILE)), `${what}: the message names the file`);
      assert.ok(e.hint, `${what}: a hint says what to do`);
      return true;
    });
  }
});

test('writeReport and `craft report` on a damaged bundle: the field is named, exit 3, no stack trace', async () => {
  const b = structuredClone(tinyBundle()) as unknown as Record<string, any>;
  b.images = 'all of them';
  const dir = bundleDir(b);
  await assert.rejects(writeReport(dir), (e: unknown) => e instanceof CraftError && e.kind === 'input' && /images must be an array/.test(e.message));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/craft.js'), 'report', dir], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /results\.json: images must be an array, got "all of them"/);
  assert.doesNotMatch(r.stderr, /unexpected| {4}at /);
  assert.ok(!fs.existsSync(path.join(dir, 'report.html')));
});

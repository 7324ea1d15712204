/**
 * Numerically odd models end to end: non-finite activations or logits are refused with a model error
 * (exit 4) wherever they first appear, a dead layer gives the documented zero importances on both ways
 * of running h, and a cancel stops a chunk of images between forward passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { explain } from '../../src/craft/explain';
import { DEFAULTS, type ExplainOptions } from '../../src/craft/options';
import { CraftError, CancelledError } from '../../src/craft/errors';
import { runBatched } from '../../src/craft/stages/activations';
import { writeNumericModel, type NumericCase } from './numeric-models';
import { maxAbsDiff } from './helpers';

const ROOT = path.resolve(__dirname, '../../..');
const BOOTS = path.join(ROOT, 'sample/images/ankle_boot');
const temp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `craft-${prefix}-`));
const models = temp('numeric-models');

function options(kind: NumericCase, overrides: Partial<ExplainOptions> = {}): ExplainOptions {
  return {
    ...DEFAULTS,
    model: writeNumericModel(models, kind),
    images: BOOTS,
    classId: 0,
    layer: 'layer',
    concepts: 3,
    patch: 8,
    designs: 8,
    maxImages: 12,
    provider: 'cpu',
    out: temp('numeric-out'),
    ...overrides,
  };
}

async function refusal(o: ExplainOptions): Promise<CraftError> {
  try {
    await explain(o);
  } catch (e) {
    assert.ok(e instanceof CraftError, `expected a CraftError, got ${e instanceof Error ? e.stack : String(e)}`);
    // Nothing half-written is left behind.
    assert.deepEqual(fs.existsSync(o.out) ? fs.readdirSync(o.out) : [], []);
    return e;
  }
  assert.fail('the run should have been refused');
}

/** Images whose first two (the probe) have no black pixel; the rest are the sample's boots (black background). */
async function brightFirst(): Promise<string> {
  const dir = temp('bright-first');
  for (const name of ['a_bright0.png', 'a_bright1.png']) {
    await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 200, g: 180, b: 160 } } })
      .png()
      .toFile(path.join(dir, name));
  }
  for (const f of fs.readdirSync(BOOTS).sort().slice(0, 6)) fs.copyFileSync(path.join(BOOTS, f), path.join(dir, `b_${f}`));
  return dir;
}

test('NaN or Inf activations on the probe images: a model error naming the layer, through the CLI with exit 4', () => {
  for (const kind of ['nan-activations', 'inf-activations'] as const) {
    const out = temp('cli-out');
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin/craft.js'),
        'explain',
        '--model',
        writeNumericModel(models, kind),
        '--images',
        BOOTS,
        '--class',
        '0',
        '--layer',
        'layer',
        '--patch',
        '8',
        '--concepts',
        '3',
        '--max-images',
        '6',
        '--out',
        out,
        '--quiet',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /Layer layer gives non-finite values \(NaN or ±Inf\)/);
    assert.doesNotMatch(r.stderr, /unexpected|at .*\.js:\d+/);
    assert.deepEqual(fs.readdirSync(out), []);
  }
});

test('NaN activations that first appear on crops after the probe: refused in the activations pass', async () => {
  const e = await refusal(options('nan-activations', { images: await brightFirst(), maxImages: undefined }));
  assert.equal(e.kind, 'model');
  assert.match(e.message, /non-finite values .* crop activations/);
});

test('a NaN class logit on the probe images is refused, naming how many', async () => {
  const e = await refusal(options('nan-logits'));
  assert.equal(e.kind, 'model');
  assert.match(e.message, /non-finite logit \(NaN or ±Inf\) for class 0 on 2 of 2 probe images/);
  // Another class of the same model is finite, and runs.
  const ok = await explain(options('nan-logits', { classId: 1 }));
  assert.ok(ok.bundle.importances.every(Number.isFinite));
});

test('class logits that turn NaN only on the perturbed reconstructions: refused, counting the images', async () => {
  const e = await refusal(options('nan-perturbed-logits', { classId: 1 }));
  assert.equal(e.kind, 'model');
  assert.match(e.message, /for class 1 on 12 of 12 images \(on their perturbed concept reconstructions\)/);
});

test('a dead layer (all-zero activations) gives exactly zero importances through the affine fast path and through full h alike', async () => {
  const fast = await explain(options('dead-affine'));
  const full = await explain(options('dead-plain'));
  assert.match(fast.bundle.warnings.join('\n'), /zero on every crop/);
  for (const run of [fast, full]) {
    assert.deepEqual(run.bundle.importances, [0, 0, 0]);
    for (const im of run.bundle.images) assert.deepEqual(im.importances, [0, 0, 0]);
  }
});

test('a healthy layer: the affine fast path and full h give the same importances', async () => {
  const fast = await explain(options('healthy'));
  const full = await explain(options('healthy-plain'));
  assert.ok(
    fast.bundle.importances.some((v) => v > 0.01),
    `importances ${fast.bundle.importances}`,
  );
  assert.ok(maxAbsDiff(fast.bundle.importances, full.bundle.importances) < 1e-5, `${fast.bundle.importances} vs ${full.bundle.importances}`);
  fast.bundle.images.forEach((im, i) => assert.ok(maxAbsDiff(im.importances, full.bundle.images[i].importances) < 1e-5));
});

test('a cancel inside a chunk stops before the next forward pass', async () => {
  const session = await ort.InferenceSession.create(fs.readFileSync(writeNumericModel(models, 'healthy')), { logSeverityLevel: 3 });
  const controller = new AbortController();
  let passes = 0;
  // A spy on the real session: counts the forward passes and cancels during the third.
  const counted = new Proxy(session, {
    get(target, key) {
      if (key !== 'run') return Reflect.get(target, key);
      return (...args: Parameters<ort.InferenceSession['run']>) => {
        if (++passes === 3) controller.abort();
        return target.run(...args);
      };
    },
  });
  const items = 40;
  const data = new Float32Array(items * 3 * 16 * 16).fill(0.5);
  await assert.rejects(
    runBatched(counted, { name: 'input', itemDims: [3, 16, 16] }, 'logits', data, items, 4, undefined, controller.signal),
    (e: unknown) => e instanceof CancelledError,
  );
  assert.equal(passes, 3, 'no forward pass after the cancel');
  await session.release();
});

test('--max-images counts usable images: unreadable files are replaced by the next ones', async () => {
  const dir = temp('max-images');
  fs.writeFileSync(path.join(dir, 'a_broken.png'), 'not a png');
  fs.writeFileSync(path.join(dir, 'a_empty.png'), '');
  for (const f of fs.readdirSync(BOOTS).sort().slice(0, 8)) fs.copyFileSync(path.join(BOOTS, f), path.join(dir, f));
  const { bundle } = await explain(options('healthy', { images: dir, maxImages: 5, batch: 2 }));
  assert.equal(bundle.images.length, 5);
  assert.deepEqual(
    bundle.skipped.map((s) => s.path),
    ['a_broken.png', 'a_empty.png'],
  );
  assert.deepEqual(
    bundle.images.map((im) => im.path),
    fs.readdirSync(BOOTS).sort().slice(0, 5),
  );
});

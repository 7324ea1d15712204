// The option table (src/craft/option-table.ts) and the surfaces that read it: the generated JSON
// schema and manifest settings, the config file check, the CLI parser and its help, the engine's check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkCommand, parseArgs } from '../../src/cli/args';
import { helpText } from '../../src/cli/help';
import { configToOptions, readConfigFile } from '../../src/craft/config';
import { CraftError } from '../../src/craft/errors';
import { explain } from '../../src/craft/explain';
import { presetName } from '../../src/craft/images/preprocess';
import { readLabelsFile } from '../../src/craft/labels';
import {
  OPTIONS,
  argOptions,
  checkEngineOptions,
  checkSize,
  configOptions,
  editDistance,
  flagOptions,
  fromJson,
  settingOptions,
  sizeTextPattern,
  suggest,
  upToPattern,
  type OptionSpec,
} from '../../src/craft/option-table';
import { configSchema, manifestConfiguration } from '../../src/craft/option-schema';
import { DEFAULTS } from '../../src/craft/options';
import { PROVIDER_REQUESTS } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '../../..');
const specs = OPTIONS as readonly OptionSpec[];
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

test('the checked-in schema and manifest settings are what the option table generates', () => {
  // A key added to either file by hand, or an option added to the table without `npm run gen:options`,
  // makes these differ.
  assert.deepEqual(readJson('schemas/craft.config.schema.json'), configSchema());
  assert.deepEqual(readJson('package.json').contributes.configuration, manifestConfiguration());
});

test("every surface has exactly the table's options", () => {
  const schema = configSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
  const top = configOptions()
    .filter((o) => !o.config!.includes('.'))
    .map((o) => o.config);
  assert.deepEqual(
    Object.keys(schema.properties)
      .filter((k) => k !== '$schema')
      .sort(),
    [...top].sort(),
  );
  const fields = configOptions()
    .filter((o) => o.config!.startsWith('preprocess.'))
    .map((o) => o.config!.slice(11));
  assert.deepEqual(Object.keys(schema.properties.preprocess.properties!).sort(), fields.sort());
  const settings = Object.keys((readJson('package.json').contributes.configuration as { properties: object }).properties);
  assert.deepEqual(
    settings.sort(),
    settingOptions()
      .map((o) => `craft.${o.setting!.key}`)
      .sort(),
  );
  // The CLI takes every flag of the table and only those; --help lists each one.
  const help = helpText();
  for (const o of flagOptions()) {
    const argv = o.type === 'switch' ? [`--${o.flag}`] : [`--${o.flag}=x`];
    assert.ok(parseArgs(argv).given.has(o.name), o.flag);
    assert.match(help, new RegExp(`--${o.flag}\\b`), `--help lists --${o.flag}`);
  }
  assert.throws(() => parseArgs(['--not-an-option']), /Unknown option --not-an-option/);
  // Each name is used once per surface.
  for (const key of ['flag', 'config', 'arg'] as const) {
    const names = specs.map((o) => o[key]).filter((n) => n !== undefined);
    assert.equal(new Set(names).size, names.length, `duplicate ${key}`);
  }
  // The engine's defaults come from the table.
  for (const [key, v] of Object.entries(DEFAULTS)) assert.equal(specs.find((o) => o.target === key)!.default, v, key);
});

test('the execution providers come from the one list in protocol.ts', () => {
  const schema = configSchema() as { properties: { provider: { enum: string[] } } };
  assert.deepEqual(schema.properties.provider.enum, [...PROVIDER_REQUESTS]);
  const setting = manifestConfiguration() as { properties: Record<string, { enum?: string[]; enumDescriptions?: string[] }> };
  assert.deepEqual(setting.properties['craft.provider'].enum, [...PROVIDER_REQUESTS]);
  assert.equal(setting.properties['craft.provider'].enumDescriptions!.length, PROVIDER_REQUESTS.length);
  assert.ok(helpText().includes(PROVIDER_REQUESTS.join(', ')));
  for (const p of PROVIDER_REQUESTS) assert.equal(configToOptions({ provider: p }, '/ws', 'cfg').provider, p);
});

test('every numeric option has an upper bound; each surface refuses a value past it', () => {
  for (const o of specs.filter((x) => x.type === 'int' || x.type === 'number')) {
    assert.ok(o.max !== undefined && Number.isFinite(o.max), `${o.name} has an upper bound`);
    assert.ok(o.min !== undefined || o.above !== undefined, `${o.name} has a lower bound`);
    const over = o.max! + (o.type === 'int' ? 1 : o.max! * 1e-6 + 1e-9);
    const under = (o.above ?? o.min!) - 1;
    assert.throws(() => fromJson(o, over, o.name), CraftError, `${o.name} over`);
    assert.throws(() => fromJson(o, under, o.name), CraftError, `${o.name} under`);
    assert.equal(fromJson(o, o.max!, o.name), o.max);
    if (o.flag) {
      const args = parseArgs([`--${o.flag}`, String(over)]);
      assert.throws(() => checkCommand(args, o.commands![0], { min: 0, max: 0, usage: '' }), new RegExp(`--${o.flag} must be .* ≤ `));
      assert.ok(helpText().includes(`${o.flag} ${o.meta}`), o.flag);
    }
    const key = o.config;
    if (key) assert.throws(() => configToOptions({ [key]: over }, '/ws', 'cfg'), new RegExp(`"${key}" must be`));
    const target = o.target;
    if (target && !target.includes('.')) assert.throws(() => checkEngineOptions({ [target]: over }), CraftError, `engine ${o.name}`);
  }
  assert.throws(
    () =>
      fromJson(
        specs.find((o) => o.name === 'alphaW')!,
        Infinity,
        'alphaW',
      ),
    /got Infinity/,
  );
  assert.throws(
    () =>
      fromJson(
        specs.find((o) => o.name === 'alphaW')!,
        NaN,
        'alphaW',
      ),
    /got NaN/,
  );
  // Sizes: each side up to the largest input side.
  assert.deepEqual(checkSize('8192x1', 's'), [8192, 1]);
  assert.throws(() => checkSize('8193', 's'), /from 1 to 8192/);
  assert.throws(() => checkSize([224], 's'), /H or HxW/);
  assert.throws(() => checkSize('224.0', 's'), /H or HxW/);
});

test('the engine refuses options out of bounds before it starts (library callers, the worker)', async () => {
  await assert.rejects(
    explain({ ...DEFAULTS, model: 'm.onnx', images: 'i', classId: 0, out: os.tmpdir(), concepts: 1000 }),
    (e: unknown) => e instanceof CraftError && e.kind === 'usage' && /concepts must be an integer ≥ 1 and ≤ 512, got 1000/.test(e.message),
  );
  await assert.rejects(
    explain({ ...DEFAULTS, model: 'm.onnx', images: 'i', classId: 0, out: os.tmpdir(), mapPercentile: 101 }),
    /mapPercentile must be a number ≥ 0 and ≤ 100/,
  );
});

test('the size pattern of the schema accepts exactly 1..max', () => {
  for (const max of [1, 9, 10, 99, 100, 255, 8192, 10000]) {
    const re = new RegExp(`^${upToPattern(max)}$`);
    for (let n = 0; n <= Math.min(max + 20, 12000); n++) assert.equal(re.test(String(n)), n >= 1 && n <= max, `${n} vs ${max}`);
    assert.equal(re.test(`0${max}`), false, 'no leading zeros');
  }
  const size = new RegExp(sizeTextPattern(8192));
  assert.ok(size.test(' 224 x 192 ') && size.test('28') && size.test('8192X8192'));
  assert.ok(!size.test('224x') && !size.test('x224') && !size.test('8193') && !size.test('2.5'));
});

// A small validator for the draft-07 keywords the generated schema uses, written from the spec, so
// that the config check can be compared with the schema itself rather than with the generator.
function validates(schema: Record<string, unknown>, v: unknown): boolean {
  const s = schema as {
    type?: string;
    enum?: unknown[];
    anyOf?: Record<string, unknown>[];
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    pattern?: string;
    items?: Record<string, unknown>;
    minItems?: number;
    maxItems?: number;
    properties?: Record<string, Record<string, unknown>>;
    patternProperties?: Record<string, Record<string, unknown>>;
    additionalProperties?: boolean | Record<string, unknown>;
    maxProperties?: number;
  };
  if (s.anyOf && !s.anyOf.some((x) => validates(x, v))) return false;
  if (s.enum && !s.enum.some((x) => JSON.stringify(x) === JSON.stringify(v))) return false;
  const type = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
  if (s.type === 'integer' && !(typeof v === 'number' && Number.isInteger(v))) return false;
  if (s.type !== undefined && s.type !== 'integer' && s.type !== type) return false;
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return false;
    if (s.maximum !== undefined && v > s.maximum) return false;
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return false;
  }
  if (typeof v === 'string' && s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) return false;
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) return false;
    if (s.maxItems !== undefined && v.length > s.maxItems) return false;
    if (s.items && !v.every((x) => validates(s.items!, x))) return false;
  }
  if (type === 'object') {
    if (s.maxProperties !== undefined && Object.keys(v as object).length > s.maxProperties) return false;
    for (const [k, x] of Object.entries(v as object)) {
      if (s.properties?.[k]) {
        if (!validates(s.properties[k], x)) return false;
      } else if (Object.keys(s.patternProperties ?? {}).some((p) => new RegExp(p, 'u').test(k))) continue;
      else if (s.additionalProperties === false) return false;
      else if (typeof s.additionalProperties === 'object' && !validates(s.additionalProperties, x)) return false;
    }
  }
  return true;
}

test('the config file check and the JSON schema accept and refuse the same files', () => {
  const schema = configSchema();
  const values: unknown[] = [
    0,
    1,
    2,
    -1,
    0.5,
    1.5,
    90,
    100,
    101,
    512,
    513,
    1024,
    1025,
    4096,
    4097,
    8192,
    8193,
    1e6,
    1e6 + 1,
    10_000_000,
    10_000_001,
    1e-4,
    '',
    ' ',
    'x',
    'm.onnx',
    '28',
    '28x28',
    '28X14',
    ' 28 x 28 ',
    '0x3',
    '8193',
    '2.5',
    'auto',
    'cpu',
    'cuda',
    'gpu',
    'ImageNet',
    '[0, 1]',
    '[-1,1]',
    'bilinear',
    'cubic',
    'NCHW',
    'RGB',
    'BGR',
    true,
    false,
    null,
    [],
    [28],
    [28, 28],
    [0, 28],
    [8193, 1],
    [1, 2, 3],
    [0, 0, 0],
    [1, 0, 1],
    [0.5, 0.5, 0.5],
    [-1, 1],
    [1, 1],
    ['a', 'b'],
    ['a', ''],
    ['a', ' '],
    ['Ankle boot', 7, 'Sneaker'],
    Array.from({ length: 32 }, (_, i) => i),
    Array.from({ length: 33 }, (_, i) => i),
    {},
    { x: 1 },
    { x: 'a', '9': 'boots' },
    { x: ' ' },
    Object.fromEntries(Array.from({ length: 33 }, (_, i) => [String(i), 'f'])),
  ];
  // Where the check is stricter than a schema can say: a range [lo, hi] must have lo ≠ hi.
  const stricter = (key: string, v: unknown) => key === 'preprocess.range' && Array.isArray(v) && v.length === 2 && v[0] === v[1];
  let compared = 0;
  for (const o of configOptions()) {
    for (const v of values) {
      const nested = o.config!.startsWith('preprocess.');
      const file = nested ? { preprocess: { [o.config!.slice(11)]: v } } : { [o.config!]: v };
      let accepted = true;
      try {
        configToOptions(file, '/ws', 'cfg');
      } catch (e) {
        assert.ok(e instanceof CraftError && e.kind === 'usage', String(e));
        accepted = false;
      }
      if (stricter(o.config!, v)) assert.equal(accepted, false);
      else assert.equal(accepted, validates(schema, file), `${JSON.stringify(file)}: check ${accepted}, schema ${!accepted}`);
      compared++;
    }
  }
  assert.ok(compared > 1000);
  // Unknown keys: the schema refuses them too; "$" keys are notes for both.
  for (const file of [{ concept: 3 }, { preprocess: { maen: [0, 0, 0] } }, { $comment: 'note', $schema: 'x.json' }]) {
    let accepted = true;
    try {
      configToOptions(file, '/ws', 'cfg');
    } catch {
      accepted = false;
    }
    assert.equal(accepted, validates(schema, file), JSON.stringify(file));
  }
  // The sample's file is valid for both.
  const sample = readJson('sample/craft.config.json');
  assert.ok(validates(schema, sample));
  configToOptions(sample, path.join(ROOT, 'sample'), 'sample');
  // The preset's pattern takes the spellings presetName() takes.
  const preset = (schema as { properties: { preset: Record<string, unknown> } }).properties.preset;
  for (const p of ['[0,1]', '[ 0 , 1 ]', 'ImageNet', 'IMAGENET', ' [-1, 1] ', '[0,2]', 'imagenet1k', '']) {
    assert.equal(validates(preset, p), presetName(p) !== undefined, p);
  }
});

test('config file mistakes: a misspelt key gets a suggestion; every problem is listed', () => {
  const err = (raw: unknown) => {
    try {
      configToOptions(raw, '/ws', 'cfg.json');
    } catch (e) {
      assert.ok(e instanceof CraftError && e.kind === 'usage');
      return e;
    }
    assert.fail('no error');
  };
  assert.match(err({ concept: 3 }).message, /^cfg\.json: "concept" is not a known key; did you mean "concepts"\?$/);
  assert.match(err({ patchSize: 14 }).message, /did you mean "patch"\?/); // the VS Code setting's name
  assert.match(err({ 'max-images': 5 }).message, /did you mean "maxImages"\?/); // the CLI flag's name
  assert.match(err({ mean: [0, 0, 0] }).message, /did you mean "mean" inside "preprocess"\?/);
  assert.match(
    err({ preprocess: { chanelOrder: 'BGR' } }).message,
    /"preprocess\.chanelOrder" is not a known key; did you mean "channelOrder" inside "preprocess"\?/,
  );
  assert.match(err({ colour: 'red' }).message, /"colour" is not a known key\.$/);
  assert.match(err({ colour: 'red' }).hint!, /Known keys: model, h, images/);
  const many = err({ concepts: 0, provider: 'gpu', size: 'big' });
  assert.match(
    many.message,
    /cfg\.json has 3 problems:\n {2}"concepts" must be an integer ≥ 1 and ≤ 512, got 0\.\n {2}"provider" must be one of "auto", "cpu", "cuda", "webgpu", "dml", "coreml", got "gpu"\.\n {2}"size": the size/,
  );
  assert.match(err({ preprocess: { std: [1, 0, 1] } }).message, /"preprocess\.std": each value must be > 0, got 0/);
  assert.equal(suggest('zzzzzz', ['concepts', 'patch']), undefined);
  assert.equal(editDistance('concepst', 'concepts'), 1);
  assert.equal(editDistance('', 'abc'), 3);
});

test('a UTF-8 byte order mark is accepted in config and labels files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-bom-'));
  const bom = '\uFEFF';
  fs.writeFileSync(path.join(dir, 'craft.config.json'), `${bom}{"concepts": 4, "model": "m.onnx"}`);
  assert.deepEqual(readConfigFile(path.join(dir, 'craft.config.json')), { concepts: 4, model: path.join(dir, 'm.onnx') });
  fs.writeFileSync(path.join(dir, 'labels.json'), `${bom}["cat", "dog"]`);
  assert.deepEqual(readLabelsFile(path.join(dir, 'labels.json')), ['cat', 'dog']);
  fs.writeFileSync(path.join(dir, 'labels.txt'), `${bom}cat\r\ndog\r\n`);
  assert.deepEqual(readLabelsFile(path.join(dir, 'labels.txt')), ['cat', 'dog']);
});

test("command arguments of craft.explain: the table's keys", () => {
  // flow.ts needs VS Code (the integration tests run it); here: the keys it accepts are the table's.
  assert.deepEqual(
    argOptions()
      .map((o) => o.arg)
      .sort(),
    [
      'alphaW',
      'batch',
      'byPrediction',
      'cacheSize',
      'class',
      'concepts',
      'designs',
      'force',
      'images',
      'labels',
      'layer',
      'mapPercentile',
      'maxImages',
      'model',
      'out',
      'patch',
      'preset',
      'provider',
      'reveal',
      'size',
      'threads',
      'topCrops',
    ],
  );
  for (const o of argOptions()) if (o.config) assert.equal(o.arg, o.config, 'an argument is named like its config key');
});

/** Concept names beside a run (names.json), and the page's rename message as the host checks it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NAMES_FILE, readNames, writeConceptName } from '../../src/craft/bundle/names';
import { CraftError } from '../../src/craft/errors';
import { cleanConceptName, parseFromWebview, MAX_CONCEPT_NAME } from '../../src/protocol';

const run = () => fs.mkdtempSync(path.join(os.tmpdir(), 'craft-names-'));

test('names are written beside the run, read back, replaced and removed; results.json is not touched', async () => {
  const dir = run();
  fs.writeFileSync(path.join(dir, 'results.json'), '{"untouched":true}');
  assert.deepEqual(readNames(dir, 10), {});
  assert.deepEqual(await writeConceptName(dir, 10, 3, '  crown \t of a king '), { 3: 'crown of a king' });
  assert.deepEqual(await writeConceptName(dir, 10, 0, 'pips'), { 0: 'pips', 3: 'crown of a king' });
  assert.deepEqual(readNames(dir, 10), { 0: 'pips', 3: 'crown of a king' });
  assert.deepEqual(await writeConceptName(dir, 10, 3, ''), { 0: 'pips' });
  assert.equal(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'), '{"untouched":true}');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['names.json', 'results.json'], 'no temp file left');
});

test('a hand-edited or hostile names.json gives only the valid names (BOM accepted)', () => {
  const dir = run();
  fs.writeFileSync(
    path.join(dir, NAMES_FILE),
    '\uFEFF' +
      JSON.stringify({ 1: 'ok', '01': 'padded key', 12: 'out of range', '-1': 'negative', 2: 7, 3: 'x'.repeat(MAX_CONCEPT_NAME + 1), 4: 'bell\u0007' }),
  );
  assert.deepEqual(readNames(dir, 10), { 1: 'ok' });
  fs.writeFileSync(path.join(dir, NAMES_FILE), '[1, 2]');
  assert.deepEqual(readNames(dir, 10), {});
  fs.writeFileSync(path.join(dir, NAMES_FILE), '{not json');
  assert.deepEqual(readNames(dir, 10), {});
});

test('writeConceptName refuses bad concepts and names with a usage error', async () => {
  const dir = run();
  for (const [concept, name] of [
    [10, 'x'],
    [-1, 'x'],
    [1.5, 'x'],
    [0, 'x'.repeat(61)],
    [0, 'a\u0000b'],
  ] as const) {
    await assert.rejects(writeConceptName(dir, 10, concept, name), (e: unknown) => e instanceof CraftError && e.kind === 'usage');
  }
  assert.equal(fs.existsSync(path.join(dir, NAMES_FILE)), false);
});

test('cleanConceptName and the renameConcept message', () => {
  assert.equal(cleanConceptName('  a\n b  '), 'a b');
  assert.equal(cleanConceptName('x'.repeat(MAX_CONCEPT_NAME)), 'x'.repeat(MAX_CONCEPT_NAME));
  assert.equal(cleanConceptName('x'.repeat(MAX_CONCEPT_NAME + 1)), undefined);
  assert.equal(cleanConceptName('\u2028'), undefined);
  assert.deepEqual(parseFromWebview({ type: 'renameConcept', concept: 2, name: ' wheel ' }, { images: 5, concepts: 3 }), {
    type: 'renameConcept',
    concept: 2,
    name: 'wheel',
  });
  assert.deepEqual(parseFromWebview({ type: 'renameConcept', concept: 0, name: '' }, { images: 5, concepts: 3 }), {
    type: 'renameConcept',
    concept: 0,
    name: '',
  });
  for (const bad of [
    { type: 'renameConcept', concept: 3, name: 'x' },
    { type: 'renameConcept', concept: -1, name: 'x' },
    { type: 'renameConcept', concept: '1', name: 'x' },
    { type: 'renameConcept', concept: 1, name: 5 },
    { type: 'renameConcept', concept: 1 },
    { type: 'renameConcept', concept: 1, name: 'x', extra: true },
  ])
    assert.equal(parseFromWebview(bad, { images: 5, concepts: 3 }), undefined, JSON.stringify(bad));
  assert.equal(parseFromWebview({ type: 'renameConcept', concept: 0, name: 'x' }, { images: 5 }), undefined, 'no concepts known: nothing to rename');
});

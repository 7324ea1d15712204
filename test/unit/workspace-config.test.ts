// The remembered choices in craft.config.json: the user's file is kept as written except the keys a
// run sets (src/extension/workspaceConfig.ts, jsonEdit.ts; no VS Code needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { editJsonObject } from '../../src/extension/jsonEdit';
import { readWorkspaceConfig, rememberChoices } from '../../src/extension/workspaceConfig';

function folder(text?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-ws-'));
  if (text !== undefined) fs.writeFileSync(path.join(dir, 'craft.config.json'), text);
  return dir;
}
const read = (dir: string) => fs.readFileSync(path.join(dir, 'craft.config.json'), 'utf8');

test('editJsonObject changes only the members it sets or removes', () => {
  const text = '{\n    "$comment": "mine",\n    "model": "a.onnx",   "size": [28,28],\n    "concepts": 3\n}\n';
  assert.equal(
    editJsonObject(text, { model: 'b.onnx', layer: 'L' }),
    '{\n    "$comment": "mine",\n    "model": "b.onnx",   "size": [28,28],\n    "concepts": 3,\n    "layer": "L"\n}\n',
  );
  assert.equal(editJsonObject(text, {}, ['size']), '{\n    "$comment": "mine",\n    "model": "a.onnx",\n    "concepts": 3\n}\n');
  assert.equal(editJsonObject(text, {}, ['$comment']), '{\n    "model": "a.onnx",   "size": [28,28],\n    "concepts": 3\n}\n');
  assert.equal(editJsonObject('{}', { size: [28, 28] }), '{\n  "size": [28, 28]\n}');
  assert.equal(editJsonObject('{"a": 1}', { b: { c: [1] } }), '{"a": 1, "b": {"c":[1]}}');
  assert.equal(editJsonObject('{\n  "a": 1\n}', { b: { c: 1 } }), '{\n  "a": 1,\n  "b": {\n    "c": 1\n  }\n}');
  // CRLF and a byte order mark stay; strings with braces and escapes are skipped correctly.
  const crlf = '\uFEFF{\r\n  "note": "a } \\" {",\r\n  "class": 1\r\n}\r\n';
  assert.equal(
    editJsonObject(crlf, { class: 'Sneaker', images: 'imgs' }),
    '\uFEFF{\r\n  "note": "a } \\" {",\r\n  "class": "Sneaker",\r\n  "images": "imgs"\r\n}\r\n',
  );
  // Not an object: the caller rewrites the file.
  assert.equal(editJsonObject('[1]', { a: 1 }), undefined);
});

test("rememberChoices keeps the user's file as written, except the keys it sets", async () => {
  const original =
    '\uFEFF{\n\t"$comment": "picked by hand",\n\t"model": "m.onnx",\n\t"h": "h.onnx",\n\t"labels": "l.json",\n\t"size": [28, 28],\n\t"concepts": 4\n}\n';
  const dir = folder(original);
  const config = await readWorkspaceConfig(dir);
  assert.equal(config.options.concepts, 4);
  // The same choices: nothing is written.
  assert.deepEqual(await rememberChoices(dir, { model: path.join(dir, 'm.onnx'), size: [28, 28] }), []);
  assert.equal(read(dir), original);
  // A new class and layer: added at the end, in the file's indentation.
  assert.deepEqual(await rememberChoices(dir, { class: 7, layer: 'L' }), ['class', 'layer']);
  assert.equal(read(dir), original.replace('\t"concepts": 4\n', '\t"concepts": 4,\n\t"class": 7,\n\t"layer": "L"\n'));
  // Another model: h and labels (tied to the old one) go, the rest stays.
  assert.deepEqual(await rememberChoices(dir, { model: path.join(dir, 'other.onnx') }), ['model', '-h', '-labels']);
  assert.equal(
    read(dir),
    '\uFEFF{\n\t"$comment": "picked by hand",\n\t"model": "other.onnx",\n\t"size": [28, 28],\n\t"concepts": 4,\n\t"class": 7,\n\t"layer": "L"\n}\n',
  );
  // Concepts and provider changed before a run (its confirmation): set in place, the same value left alone.
  assert.deepEqual(await rememberChoices(dir, { concepts: 4, provider: 'cpu' }), ['provider']);
  assert.deepEqual(await rememberChoices(dir, { concepts: 6 }), ['concepts']);
  assert.equal(
    read(dir),
    '\uFEFF{\n\t"$comment": "picked by hand",\n\t"model": "other.onnx",\n\t"size": [28, 28],\n\t"concepts": 6,\n\t"class": 7,\n\t"layer": "L",\n\t"provider": "cpu"\n}\n',
  );
});

test('rememberChoices writes a new file; a config file with a mistake is refused, not rewritten', async () => {
  const dir = folder();
  await rememberChoices(dir, { model: path.join(dir, 'model', 'm.onnx'), size: [28, 28], class: 'Sneaker' });
  assert.equal(read(dir), '{\n  "model": "model/m.onnx",\n  "class": "Sneaker",\n  "size": [28, 28]\n}\n');
  const bad = folder('{"concept": 3}');
  await assert.rejects(rememberChoices(bad, { class: 1 }), /"concept" is not a known key; did you mean "concepts"\?/);
  assert.equal(read(bad), '{"concept": 3}');
});

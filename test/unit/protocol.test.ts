import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFromWebview, type FromWebview } from '../../src/protocol';

// parseFromWebview is the host's only guard on what the results page sends: the page runs untrusted
// content (image names, a results.json from anywhere), so every field is checked before the host acts.

const IMAGES = 3;

test('parseFromWebview accepts every message type the page sends, as a fresh plain object', () => {
  const valid: FromWebview[] = [
    { type: 'ready' },
    { type: 'openFolder' },
    { type: 'exportHtml' },
    { type: 'openImage', image: 0 },
    { type: 'openImage', image: IMAGES - 1 },
  ];
  for (const m of valid) {
    const parsed = parseFromWebview(m, { images: IMAGES });
    assert.deepEqual(parsed, m, JSON.stringify(m));
    assert.notEqual(parsed, m, 'the host works on its own copy');
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    // As the page's postMessage delivers it: a JSON round trip.
    assert.deepEqual(parseFromWebview(JSON.parse(JSON.stringify(m)), { images: IMAGES }), m);
  }
  // A null-prototype object is still a plain record of the same keys.
  assert.deepEqual(parseFromWebview(Object.assign(Object.create(null), { type: 'openFolder' }), { images: IMAGES }), { type: 'openFolder' });
});

test('parseFromWebview rejects values that are not message objects', () => {
  const notObjects: unknown[] = [undefined, null, 'ready', '{"type":"ready"}', 0, 1, true, NaN, Symbol('ready'), () => 'ready', 10n];
  for (const v of notObjects) assert.equal(parseFromWebview(v, { images: IMAGES }), undefined, String(v));
  // Arrays, even ones carrying a type.
  assert.equal(parseFromWebview(['ready'], { images: IMAGES }), undefined);
  assert.equal(parseFromWebview(Object.assign([], { type: 'ready' }), { images: IMAGES }), undefined);
  // Class instances and inherited fields: only own keys of a plain object count.
  assert.equal(parseFromWebview(Object.create({ type: 'ready' }), { images: IMAGES }), undefined);
  assert.equal(
    parseFromWebview(
      new (class {
        type = 'ready';
      })(),
      { images: IMAGES },
    ),
    undefined,
  );
  assert.equal(parseFromWebview(new Date(0), { images: IMAGES }), undefined);
});

test('parseFromWebview rejects unknown or mistyped message types', () => {
  const types: unknown[] = [
    undefined,
    null,
    '',
    'READY',
    'Ready',
    'openimage',
    'show',
    'error',
    'toString',
    'constructor',
    '__proto__',
    'hasOwnProperty',
    1,
    true,
    ['ready'],
    { type: 'ready' },
  ];
  for (const type of types) assert.equal(parseFromWebview({ type }, { images: IMAGES }), undefined, `type ${JSON.stringify(type)}`);
  assert.equal(parseFromWebview({}, { images: IMAGES }), undefined, 'no type');
  assert.equal(parseFromWebview({ image: 0 }, { images: IMAGES }), undefined, 'no type, an image');
});

test('parseFromWebview: openImage needs an integer index inside the bundle', () => {
  const bad: unknown[] = [
    -1,
    -0.5,
    0.5,
    1.5,
    IMAGES,
    IMAGES + 1,
    2 ** 53,
    -(2 ** 31),
    NaN,
    Infinity,
    -Infinity,
    '0',
    '1',
    '',
    null,
    undefined,
    true,
    false,
    [0],
    { valueOf: () => 0 },
    1n,
  ];
  for (const image of bad) {
    assert.equal(parseFromWebview({ type: 'openImage', image }, { images: IMAGES }), undefined, `image ${String(image)}`);
  }
  assert.equal(parseFromWebview({ type: 'openImage' }, { images: IMAGES }), undefined, 'no image');
  // An empty bundle has no image to open; a negative or fractional count admits none either.
  assert.equal(parseFromWebview({ type: 'openImage', image: 0 }, { images: 0 }), undefined);
  assert.equal(parseFromWebview({ type: 'openImage', image: 0 }, { images: -1 }), undefined);
  assert.equal(parseFromWebview({ type: 'openImage', image: 0 }, { images: NaN }), undefined);
  assert.deepEqual(parseFromWebview({ type: 'openImage', image: 4 }, { images: 5 }), { type: 'openImage', image: 4 });
  assert.equal(parseFromWebview({ type: 'openImage', image: 5 }, { images: 5 }), undefined);
});

test('parseFromWebview rejects extra keys, prototype-pollution keys included, and leaves Object.prototype alone', () => {
  const extra: unknown[] = [
    { type: 'ready', image: 0 },
    { type: 'openFolder', path: '/etc' },
    { type: 'exportHtml', file: '/tmp/x.html' },
    { type: 'openImage', image: 0, extra: true },
    { type: 'ready', constructor: { prototype: { polluted: true } } },
    // JSON.parse (the page's messages arrive as JSON) makes "__proto__" an own key.
    JSON.parse('{"type":"ready","__proto__":{"polluted":true}}'),
    JSON.parse('{"type":"openImage","image":1,"__proto__":{"polluted":true}}'),
    { type: 'ready', [Symbol('x')]: 1 },
    Object.defineProperty({ type: 'ready' }, 'hidden', { value: 1, enumerable: false }),
  ];
  for (const m of extra) assert.equal(parseFromWebview(m, { images: IMAGES }), undefined, JSON.stringify(m));
  // An object literal's __proto__ sets its prototype: not a plain object any more.
  assert.equal(parseFromWebview({ type: 'ready', __proto__: { polluted: true } }, { images: IMAGES }), undefined);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched');
});

test('parseFromWebview: refineConcept needs a concept index, openChild an index into the refined runs sent, openParent nothing else', () => {
  const concepts = 4;
  const children = 2;
  const parse = (m: unknown) => parseFromWebview(m, { images: IMAGES, concepts, children });
  assert.deepEqual(parse({ type: 'refineConcept', concept: 3 }), { type: 'refineConcept', concept: 3 });
  assert.deepEqual(parse({ type: 'openChild', child: 1 }), { type: 'openChild', child: 1 });
  assert.deepEqual(parse({ type: 'openParent' }), { type: 'openParent' });
  for (const bad of [
    { type: 'refineConcept', concept: 4 },
    { type: 'refineConcept', concept: -1 },
    { type: 'refineConcept', concept: 1.5 },
    { type: 'refineConcept', concept: '1' },
    { type: 'refineConcept', concept: '#1' },
    { type: 'refineConcept' },
    { type: 'refineConcept', concept: 0, layer: '/g/Relu_3_output_0' },
    { type: 'openChild', child: 2 },
    { type: 'openChild', child: -1 },
    { type: 'openChild', child: 'refined/x' },
    { type: 'openChild', child: 0, path: '/etc' },
    { type: 'openParent', run: '/etc' },
  ]) {
    assert.equal(parse(bad), undefined, JSON.stringify(bad));
  }
  // Without refined runs sent, there is no child to open; without concepts, none to refine.
  assert.equal(parseFromWebview({ type: 'openChild', child: 0 }, { images: IMAGES, concepts }), undefined);
  assert.equal(parseFromWebview({ type: 'refineConcept', concept: 0 }, { images: IMAGES }), undefined);
});

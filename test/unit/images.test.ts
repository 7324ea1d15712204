import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp from 'sharp';
import { loadImage, loadImages, decodeImage, type LoadResult, type LoadedImage } from '../../src/craft/images/load';
import { listImages, relativeImagePath, IMAGE_EXTENSIONS } from '../../src/craft/images/list';
import { encodePng } from '../../src/craft/images/png';
import { makePreprocess, validatePreprocess, preprocessRgb, PRESET_NAMES } from '../../src/craft/images/preprocess';
import { resizePixels, type ResampleKernel } from '../../src/craft/images/resample';
import { CraftError } from '../../src/craft/errors';
import type { PreprocessConfig } from '../../src/protocol';

const repo = path.resolve(__dirname, '../../..');
let tmp = '';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-images-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function file(rel: string, bytes: Buffer | string): string {
  const p = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

// ---- a minimal PNG writer, so tests control bit depth, colour type and header fields exactly ----
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/**
 * colourType: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. `samples` are row-major sample values
 * (palette: indices). Filter type 0 on every row.
 */
function png(
  width: number,
  height: number,
  colourType: 0 | 2 | 3 | 4 | 6,
  depth: 8 | 16,
  samples: number[],
  extra: { plte?: number[]; trns?: number[]; declaredWidth?: number; declaredHeight?: number } = {},
): Buffer {
  const perPixel = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colourType];
  const bytesPerSample = depth / 8;
  const rowBytes = width * perPixel * bytesPerSample;
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * perPixel; i++) {
      const v = samples[y * width * perPixel + i];
      const at = y * (rowBytes + 1) + 1 + i * bytesPerSample;
      if (depth === 16) raw.writeUInt16BE(v, at);
      else raw[at] = v;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(extra.declaredWidth ?? width, 0);
  ihdr.writeUInt32BE(extra.declaredHeight ?? height, 4);
  ihdr[8] = depth;
  ihdr[9] = colourType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (extra.plte) parts.push(chunk('PLTE', Buffer.from(extra.plte)));
  if (extra.trns) parts.push(chunk('tRNS', Buffer.from(extra.trns)));
  parts.push(chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function cfg(size: [number, number], overrides: Partial<PreprocessConfig> = {}): PreprocessConfig {
  return makePreprocess('[0,1]', size, 'NCHW', overrides);
}

function ok(r: LoadResult): LoadedImage {
  if (!r.ok) assert.fail(`expected the image to load, got: ${r.reason}`);
  return r.image;
}

function failed(r: LoadResult, name: string, pattern: RegExp): string {
  if (r.ok) assert.fail(`expected ${name} to be refused`);
  assert.ok(r.reason.includes(name), `reason should name the file ${name}: ${r.reason}`);
  assert.match(r.reason, pattern);
  return r.reason;
}

// ---------------------------------------------------------------- real sample image

test('the sample Fashion-MNIST PNG becomes a 3×28×28 tensor equal to grey/255 on every channel', async () => {
  const p = path.join(repo, 'sample/images/ankle_boot/t10k_00000.png');
  const grey = await sharp(p).extractChannel(0).raw().toBuffer();
  assert.equal(grey.length, 28 * 28);
  const img = ok(await loadImage(p, cfg([28, 28])));
  assert.equal(img.width, 28);
  assert.equal(img.height, 28);
  assert.equal(img.tensor.length, 3 * 28 * 28);
  assert.equal(img.rgb.length, 28 * 28 * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 28 * 28; i++) {
      assert.equal(img.tensor[c * 784 + i], Math.fround(grey[i] / 255));
      assert.equal(img.rgb[i * 3 + c], grey[i]);
    }
  }
  // Not a blank image: the boot is there.
  assert.ok(Math.max(...grey) > 200 && Math.min(...grey) === 0);
});

// ---------------------------------------------------------------- listing

test('listImages: recursive, sorted by relative path (code units), extensions any case, dot-folders and node_modules skipped', async () => {
  const root = path.join(tmp, 'list');
  const tiny = png(1, 1, 0, 8, [7]);
  for (const rel of [
    'b.png',
    'A.PNG',
    'a/z.jpg',
    'a/Y.JpEg',
    'a b/é.png',
    'a-b.png',
    'sub/deeper/c.webp',
    'img.gif',
    't.TIFF',
    'u.tif',
    '.craft/x.png',
    '.git/objects/y.png',
    'node_modules/pkg/m.png',
    'sub/.cache/k.png',
    '._resource.jpg',
    'notes.txt',
    'model.onnx',
    'sub/deeper/readme.md',
    'noext',
  ]) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), tiny);
  }
  const list = await listImages(root);
  // ' ' (0x20) < '-' (0x2d) < '/' (0x2f) < 'A' (0x41) < 'a' (0x61): plain string order, not folder-first.
  assert.deepEqual(
    list.map((f) => relativeImagePath(root, f)),
    ['A.PNG', 'a b/é.png', 'a-b.png', 'a/Y.JpEg', 'a/z.jpg', 'b.png', 'img.gif', 'sub/deeper/c.webp', 't.TIFF', 'u.tif'],
  );
  for (const f of list) assert.ok(path.isAbsolute(f));
  assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['.gif', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp']);
});

test('listImages: a missing root or a file as root throws a CraftError naming it; an empty folder gives []', async () => {
  const missing = path.join(tmp, 'does-not-exist');
  await assert.rejects(listImages(missing), (e: unknown) => e instanceof CraftError && e.message.includes(missing) && /not found/.test(e.message));
  const f = file('list-file/only.png', png(1, 1, 0, 8, [0]));
  await assert.rejects(listImages(f), (e: unknown) => e instanceof CraftError && /Not a folder/.test(e.message));
  fs.mkdirSync(path.join(tmp, 'empty'));
  assert.deepEqual(await listImages(path.join(tmp, 'empty')), []);
});

test('listImages follows symlinks but reads a folder reached through a cycle once', async (t) => {
  const root = path.join(tmp, 'links');
  file('links/real/x.png', png(1, 1, 0, 8, [1]));
  try {
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'alias'));
    fs.symlinkSync(root, path.join(root, 'real', 'loop'));
  } catch {
    t.skip('symlinks not permitted here');
    return;
  }
  const rels = (await listImages(root)).map((f) => relativeImagePath(root, f));
  // 'alias' sorts before 'real': the shared folder is listed under the first path reached.
  assert.deepEqual(rels, ['alias/x.png']);
});

// ---------------------------------------------------------------- failures

test('unreadable files give { ok: false } with the file name and a human reason, never a rejection', async () => {
  const good = await sharp({ create: { width: 48, height: 48, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } });
  const goodPng = await good.clone().png().toBuffer();
  const goodJpg = await good.clone().jpeg({ quality: 90 }).toBuffer();
  const corruptPng = Buffer.from(goodPng);
  for (let i = 60; i < 200; i++) corruptPng[i] ^= 0x5a;
  const c = cfg([16, 16]);
  const cases: [string, Buffer | string, RegExp][] = [
    ['zero.png', Buffer.alloc(0), /empty \(0 bytes\)/],
    ['zero.jpg', Buffer.alloc(0), /empty \(0 bytes\)/],
    ['text.jpg', 'this is not an image, just some text\n', /not a recognisable PNG, JPEG, WebP, GIF or TIFF/],
    ['truncated.png', goodPng.subarray(0, Math.floor(goodPng.length / 2)), /truncated|corrupt/],
    ['truncated.jpg', goodJpg.subarray(0, Math.floor(goodJpg.length / 2)), /truncated|corrupt/],
    ['corrupt.png', corruptPng, /corrupt|truncated/],
    ['header-only.png', goodPng.subarray(0, 40), /header is corrupt or incomplete/],
    ['drawing.png', '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>', /format \(svg\) is not supported/],
  ];
  const files = cases.map(([name, bytes]) => file(`bad/${name}`, bytes));
  for (let i = 0; i < cases.length; i++) {
    const reason = failed(await loadImage(files[i], c), cases[i][0], cases[i][2]);
    assert.ok(!reason.includes('\n'), 'one line');
  }
  failed(await loadImage(path.join(tmp, 'bad/missing.png'), c), 'missing.png', /does not exist/);
  failed(await loadImage(path.join(tmp, 'bad'), c), 'bad', /not a file/);

  // In a batch the bad files are reported in place and the good one still loads.
  const goodFile = file('bad/good.png', goodPng);
  const results = await loadImages([files[0], goodFile, files[2], files[3]], c, { concurrency: 3 });
  assert.deepEqual(
    results.map((r) => r.ok),
    [false, true, false, false],
  );
  assert.equal(results[0].ok === false && results[0].path, files[0]);
});

test('a decompression bomb (20000×20000 declared in a tiny PNG) is refused from its header, naming the limit', async () => {
  // 5 real rows of zeros; the header claims 400 megapixels.
  const bomb = png(20000, 5, 0, 8, new Array(20000 * 5).fill(0), { declaredHeight: 20000 });
  assert.ok(bomb.length < 2000);
  const p = file('bomb/bomb.png', bomb);
  const reason = failed(await loadImage(p, cfg([8, 8])), 'bomb.png', /too large/);
  assert.match(reason, /20000×20000/);
  assert.match(reason, /400 megapixels/);
  assert.match(reason, /limit of 100 megapixels/);
});

test('a real image over a lowered maxPixels is refused; at exactly the limit it loads', async () => {
  const p = file(
    'big/big.png',
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#336699' } })
      .png()
      .toBuffer(),
  );
  const reason = failed(await loadImage(p, cfg([8, 8]), { maxPixels: 59_999 }), 'big.png', /too large/);
  assert.match(reason, /300×200/);
  assert.match(reason, /59999 pixels/);
  const img = ok(await loadImage(p, cfg([8, 8]), { maxPixels: 60_000 }));
  assert.deepEqual([img.rgb[0], img.rgb[1], img.rgb[2]], [0x33, 0x66, 0x99]);
  // A byte limit refuses the file before reading it.
  failed(await loadImage(p, cfg([8, 8]), { maxBytes: 10 }), 'big.png', /file is too large/);
  await assert.rejects(loadImage(p, cfg([8, 8]), { maxPixels: 0 }), RangeError);
});

// ---------------------------------------------------------------- decoding

test('16-bit grey and 16-bit RGBA PNGs are scaled to 8 bits (65535 → 255) and composited on white', async () => {
  const g16 = file('deep/grey16.png', png(2, 2, 0, 16, [0, 257 * 100, 65535, 257 * 128]));
  const img = ok(await loadImage(g16, cfg([2, 2], { resize: 'nearest' })));
  assert.deepEqual([...img.rgb], [0, 0, 0, 100, 100, 100, 255, 255, 255, 128, 128, 128]);
  assert.equal(img.tensor[1], Math.fround(100 / 255));

  const rgba16 = file('deep/rgba16.png', png(2, 1, 6, 16, [65535, 0, 0, 65535, 0, 0, 0, 0]));
  const img2 = ok(await loadImage(rgba16, cfg([1, 2], { resize: 'nearest' })));
  assert.deepEqual([...img2.rgb], [255, 0, 0, 255, 255, 255]);
});

test('RGBA is composited on white: a fully transparent pixel becomes 1.0, half alpha blends', async () => {
  const p = file('alpha/rgba.png', png(3, 1, 6, 8, [0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128]));
  const img = ok(await loadImage(p, cfg([1, 3], { resize: 'nearest' })));
  for (let c = 0; c < 3; c++) {
    assert.equal(img.tensor[c * 3 + 0], 1, 'transparent → white');
    assert.equal(img.tensor[c * 3 + 1], 0, 'opaque black stays black');
    // 0·128/255 + 255·(1 − 128/255) = 127
    assert.ok(Math.abs(img.rgb[2 * 3 + c] - 127) <= 1, `half alpha: ${img.rgb[2 * 3 + c]}`);
  }
});

test('grey, grey+alpha and palette (with tRNS) PNGs decode to RGB', async () => {
  const grey = ok(await loadImage(file('modes/grey.png', png(2, 1, 0, 8, [10, 200])), cfg([1, 2], { resize: 'nearest' })));
  assert.deepEqual([...grey.rgb], [10, 10, 10, 200, 200, 200]);
  const ga = ok(await loadImage(file('modes/ga.png', png(2, 1, 4, 8, [10, 255, 10, 0])), cfg([1, 2], { resize: 'nearest' })));
  assert.deepEqual([...ga.rgb], [10, 10, 10, 255, 255, 255]);
  const pal = png(3, 1, 3, 8, [0, 1, 2], { plte: [255, 0, 0, 0, 128, 0, 1, 2, 3], trns: [255, 255, 0] });
  const p = ok(await loadImage(file('modes/palette.png', pal), cfg([1, 3], { resize: 'nearest' })));
  assert.deepEqual([...p.rgb], [255, 0, 0, 0, 128, 0, 255, 255, 255]);
});

test('a CMYK JPEG is converted to sRGB (a red stays red)', async () => {
  const cmyk = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 40 } } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const img = ok(await loadImage(file('cmyk/red.jpg', cmyk), cfg([4, 4])));
  const [r, g, b] = img.rgb;
  assert.ok(r > 170 && g < 70 && b < 80, `got ${r},${g},${b}`);
});

test('a 1×1 image is upscaled to the model size', async () => {
  const p = file('one/one.png', png(1, 1, 2, 8, [12, 34, 56]));
  for (const resize of ['bilinear', 'bicubic', 'nearest', 'lanczos3'] as const) {
    const img = ok(await loadImage(p, cfg([5, 7], { resize })));
    assert.equal(img.width, 1);
    assert.equal(img.rgb.length, 5 * 7 * 3);
    for (let i = 0; i < 35; i++) assert.deepEqual([...img.rgb.subarray(i * 3, i * 3 + 3)], [12, 34, 56]);
  }
});

test('an animated GIF gives its first frame; TIFF and lossless WebP decode exactly', async () => {
  // Two 4×4 frames stacked: red then blue.
  const frames = Buffer.alloc(4 * 8 * 3);
  for (let i = 0; i < 32; i++) frames.set(i < 16 ? [255, 0, 0] : [0, 0, 255], i * 3);
  const gif = await sharp(frames, { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } })
    .gif()
    .toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const g = ok(await loadImage(file('fmt/anim.gif', gif), cfg([4, 4])));
  assert.equal(g.height, 4);
  for (let i = 0; i < 16; i++) assert.deepEqual([...g.rgb.subarray(i * 3, i * 3 + 3)], [255, 0, 0]);

  const pixels = Buffer.from(Array.from({ length: 6 * 5 * 3 }, (_, i) => (i * 37) % 256));
  const src = sharp(pixels, { raw: { width: 6, height: 5, channels: 3 } });
  const tif = file('fmt/img.tiff', await src.clone().tiff({ compression: 'lzw' }).toBuffer());
  const webp = file('fmt/img.webp', await src.clone().webp({ lossless: true }).toBuffer());
  for (const p of [tif, webp]) {
    const img = ok(await loadImage(p, cfg([5, 6])));
    assert.deepEqual(Buffer.from(img.rgb), pixels, path.basename(p));
  }
});

test('EXIF orientation is applied (orientation 6: the left edge becomes the top)', async () => {
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  const jpg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 95 })
    .toBuffer();
  const img = ok(await loadImage(file('exif/rot.jpg', jpg), cfg([4, 2], { resize: 'nearest' })));
  assert.deepEqual([img.width, img.height], [20, 40]);
  const px = (y: number, x: number) => [...img.rgb.subarray((y * 2 + x) * 3, (y * 2 + x) * 3 + 3)];
  for (const [y, x] of [
    [0, 0],
    [0, 1],
    [1, 0],
  ])
    assert.ok(px(y, x)[0] > 200 && px(y, x)[2] < 60, `top is red: ${px(y, x)}`);
  for (const [y, x] of [
    [3, 0],
    [3, 1],
    [2, 1],
  ])
    assert.ok(px(y, x)[2] > 200 && px(y, x)[0] < 60, `bottom is blue: ${px(y, x)}`);
});

test('file names with HTML and quotes load fine', async () => {
  const root = path.join(tmp, 'names');
  const a = file('names/<b>x</b>.png', png(1, 1, 0, 8, [50]));
  const b = file(`names/it's "quoted" & <i>.png`, png(1, 1, 0, 8, [60]));
  const list = await listImages(root);
  assert.deepEqual(
    list.map((f) => relativeImagePath(root, f)),
    ['<b>x</b>.png', `it's "quoted" & <i>.png`],
  );
  assert.equal(ok(await loadImage(a, cfg([2, 2]))).rgb[0], 50);
  assert.equal(ok(await loadImage(b, cfg([2, 2]))).rgb[0], 60);
  const badName = `<img src=x onerror="alert('x')">.jpg`;
  failed(await loadImage(file(`names/${badName}`, 'nope'), cfg([2, 2])), badName, /not a recognisable PNG/);
});

test('decodeImage returns the full-size image; rgb is the resized image the tensor was made from', async () => {
  const p = file(
    'dec/wide.png',
    await sharp({ create: { width: 60, height: 30, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  const d = await decodeImage(p);
  assert.ok(d.ok);
  if (d.ok) assert.deepEqual([d.image.width, d.image.height, d.image.rgb.length], [60, 30, 60 * 30 * 3]);
  const img = ok(await loadImage(p, makePreprocess('imagenet', [10, 20], 'NHWC')));
  assert.deepEqual(img.tensor, preprocessRgb(img.rgb, makePreprocess('imagenet', [10, 20], 'NHWC')));
});

// ---------------------------------------------------------------- resizing

test('bilinear shrink is antialiased: a 2-px checkerboard shrunk 4× is uniform grey (nearest aliases)', async () => {
  const n = 64;
  const board = Buffer.alloc(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) board.fill(((x >> 1) + (y >> 1)) % 2 ? 255 : 0, (y * n + x) * 3, (y * n + x) * 3 + 3);
  const p = file(
    'resize/checker.png',
    await sharp(board, { raw: { width: n, height: n, channels: 3 } })
      .png()
      .toBuffer(),
  );
  const smooth = ok(await loadImage(p, cfg([16, 16], { resize: 'bilinear' })));
  // Interior pixels average exactly half black, half white (Pillow gives 128 too); at the border the
  // kernel is cut and renormalised, which tilts the mean a little (Pillow: 125 and 130).
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const v = smooth.rgb[(y * 16 + x) * 3];
      if (y > 0 && y < 15 && x > 0 && x < 15) assert.equal(v, 128, `interior (${y},${x})`);
      else assert.ok(v >= 124 && v <= 131, `border (${y},${x}) = ${v}`);
    }
  }
  // Nearest samples source pixels 2, 6, 10, …: always the same phase of the checkerboard, so the
  // grey pattern aliases to solid black.
  const aliased = ok(await loadImage(p, cfg([16, 16], { resize: 'nearest' })));
  assert.deepEqual(new Set(aliased.rgb), new Set([0]));
});

/**
 * Pillow 9.4.0 `Image.frombytes('L', (9, 7), data).resize((w, h), filter).tobytes()`, base64, for
 * data[y·9 + x] = (37x + 91y + 11·((x·y) mod 13)) mod 256.
 */
const PIL_VECTORS: [ResampleKernel, number, number, string][] = [
  ['bilinear', 4, 3, 'aoWDinV7fpl2d1eR'],
  [
    'bilinear',
    13,
    11,
    'ABQuR2F6lK7HzTYUKClAXXqYkF16l6pmY3ljfpqszaYnSWJ3oMTenby3XXWHfaSDPp3X9Xqcol18i3a+lCeFweMRN2eYyKopqJgrXIyyS3WESHFuJHaUiX+fyYWNfDRJVEZPgMCCouC/c0BwXWWcOVnDWY/3bWNxtaGDZiM/k1GA0CJZoejXmS8TL2tPdq0=',
  ],
  ['bilinear', 20, 2, 'VF52iXxvhZ2Ma2qLnIRud4CWr7hucHR3eHl+hHZhVlVbdo94YYrA1Q=='],
  ['bicubic', 4, 3, 'ZoiEiHt2fKN0eVGS'],
  [
    'bicubic',
    13,
    11,
    'AAonP1d2nbfb2yEAHSAzVnyjlltyn7dbVHNhfJ6z5rQfOVx2pc/nrNfNTWSEibeCLaXu/36qr1Bxi4Tinw6Dz+gNMWeY27Ept6gjV5K2OniSPHdyFXekjX2gyYuehx83TkJDhtR/oujScCxxVWKlKE/TRYj/bVlrxK6IaA8zl0F61A9PrfXwoiYDKWhIdK4=',
  ],
  ['bicubic', 20, 2, 'T1t5i3lqg6KQZWeWqIdrb3+Xr7lsb3R4eXqDiHldTkpVeY91XIjI3w=='],
  ['lanczos3', 4, 3, 'Zo2Ch352eKlzd0yU'],
  [
    'lanczos3',
    13,
    11,
    'AAkmOUxzpLjr2B8AIRgmUYGyl1Vhq7tZSXFngaSx8bIeL19yptnts+3XTVeHh7l1LKX//3iqqVFqipD+ogJr2OINLmmV6qYpt7MeSZu2IXOXQYh2BGy0iHiexJewghIdT0w4jd2DovLfdCNqSmWnH1HZRYP/cU5py7qLbAkzlDt01gZHvfT9nx8AMWVJc68=',
  ],
  ['lanczos3', 20, 2, 'S1t6i3ZmgqKPY2eZr5BqZX2dr7ttcXZ8enuGinpeSUZZfIpuXYvJ5Q=='],
  ['nearest', 4, 3, 'i+tLq1fj4GwjTAQt'],
  [
    'nearest',
    13,
    11,
    'ACUlSm9vlLm53gMDKAAlJUpvb5S5ud4DAyhbi4u76+sbS0t7q6vbtvHxLGdnot3dGMTE/7bx8SxnZ6Ld3RjExP8RV1ed4+Mp4OAmbGyybL29Dl9fIXJyw4WF1my9vQ5fXyFycsOFhdbHIyN/TEyoBATRLS36IomJ8MjILwcHbkZGrSKJifDIyC8HB25GRq0=',
  ],
  ['nearest', 20, 2, 'W1uLi7u7u+vrGxtLS3t7e6ur29vHxyMjf39/TEyoqAQE0dHRLS36+g=='],
];

test('resizePixels reproduces Pillow resize bit for bit (BILINEAR, BICUBIC, LANCZOS, NEAREST)', () => {
  const src = new Uint8Array(9 * 7);
  for (let y = 0; y < 7; y++) for (let x = 0; x < 9; x++) src[y * 9 + x] = (37 * x + 91 * y + 11 * ((x * y) % 13)) % 256;
  for (const [kernel, w, h, b64] of PIL_VECTORS) {
    const got = resizePixels(src, 9, 7, 1, w, h, kernel);
    assert.deepEqual(Buffer.from(got).toString('base64'), b64, `${kernel} 9×7 → ${w}×${h}`);
  }
  // Channels are filtered independently: an RGB image with three copies gives three copies.
  const rgb = new Uint8Array(9 * 7 * 3);
  for (let i = 0; i < src.length; i++) rgb.set([src[i], src[i], src[i]], i * 3);
  const out = resizePixels(rgb, 9, 7, 3, 13, 11, 'bicubic');
  assert.deepEqual(Buffer.from(out.filter((_, i) => i % 3 === 1)).toString('base64'), PIL_VECTORS[4][3]);
  // Same size is an identity copy.
  const same = resizePixels(src, 9, 7, 1, 9, 7, 'lanczos3');
  assert.deepEqual(same, src);
  assert.notEqual(same, src);
});

// ---------------------------------------------------------------- preprocessing

test('preprocessRgb: NCHW vs NHWC layout and BGR order', () => {
  // 1×2 image: pixel 0 = (10, 20, 30), pixel 1 = (40, 50, 60)
  const rgb = new Uint8Array([10, 20, 30, 40, 50, 60]);
  const v = (x: number) => Math.fround(x / 255);
  assert.deepEqual([...preprocessRgb(rgb, cfg([1, 2]))], [10, 40, 20, 50, 30, 60].map(v));
  assert.deepEqual([...preprocessRgb(rgb, cfg([1, 2], { layout: 'NHWC' }))], [10, 20, 30, 40, 50, 60].map(v));
  assert.deepEqual([...preprocessRgb(rgb, cfg([1, 2], { channelOrder: 'BGR' }))], [30, 60, 20, 50, 10, 40].map(v));
  assert.deepEqual([...preprocessRgb(rgb, cfg([1, 2], { channelOrder: 'BGR', layout: 'NHWC' }))], [30, 20, 10, 60, 50, 40].map(v));
  assert.throws(() => preprocessRgb(rgb, cfg([2, 2])), RangeError);
  // Into a batch buffer at an offset (both layouts): the rest of the buffer is left as it was.
  for (const layout of ['NCHW', 'NHWC'] as const) {
    const batch = new Float32Array(14).fill(-1);
    assert.equal(preprocessRgb(rgb, cfg([1, 2], { layout, channelOrder: 'BGR' }), batch, 4), batch);
    assert.deepEqual([...batch.subarray(4, 10)], [...preprocessRgb(rgb, cfg([1, 2], { layout, channelOrder: 'BGR' }))]);
    assert.deepEqual([...batch.subarray(0, 4), ...batch.subarray(10)], new Array(8).fill(-1));
    assert.throws(() => preprocessRgb(rgb, cfg([1, 2], { layout }), batch, 9), RangeError);
  }
});

test('presets: imagenet mean/std, [-1,1] range, and custom mean/std in channel order', () => {
  const rgb = new Uint8Array([255, 0, 128]);
  const imagenet = preprocessRgb(rgb, makePreprocess('imagenet', [1, 1], 'NCHW'));
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
  close(imagenet[0], (1 - 0.485) / 0.229);
  close(imagenet[1], (0 - 0.456) / 0.224);
  close(imagenet[2], (128 / 255 - 0.406) / 0.225);
  const pm1 = preprocessRgb(rgb, makePreprocess('[-1,1]', [1, 1], 'NCHW'));
  close(pm1[0], 1);
  close(pm1[1], -1);
  close(pm1[2], -1 + (2 * 128) / 255);
  // Caffe-style: BGR, range 0..255, per-channel means given in BGR order.
  const caffe = makePreprocess('[0,1]', [1, 1], 'NHWC', { channelOrder: 'BGR', range: [0, 255], mean: [103.939, 116.779, 123.68], std: [1, 1, 1] });
  const t = preprocessRgb(rgb, caffe);
  close(t[0], 128 - 103.939);
  close(t[1], 0 - 116.779);
  close(t[2], 255 - 123.68);
});

test('makePreprocess builds complete configs and refuses unknown presets', () => {
  assert.deepEqual(makePreprocess('[0,1]', [224, 224], 'NCHW'), {
    size: [224, 224],
    layout: 'NCHW',
    channelOrder: 'RGB',
    range: [0, 1],
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'bilinear',
  });
  assert.deepEqual(makePreprocess('ImageNet', [32, 48], 'NHWC', { resize: 'bicubic' }).mean, [0.485, 0.456, 0.406]);
  assert.equal(makePreprocess('[ -1, 1 ]', [8, 8], 'NCHW').range[0], -1);
  assert.deepEqual(PRESET_NAMES, ['[0,1]', 'imagenet', '[-1,1]']);
  assert.throws(
    () => makePreprocess('vgg', [8, 8], 'NCHW'),
    (e: unknown) => e instanceof CraftError && /Unknown preprocessing preset "vgg"/.test(e.message) && /imagenet/.test(e.hint ?? ''),
  );
  assert.throws(() => makePreprocess('[0,1]', [0, 8], 'NCHW'), /preprocess\.size/);
});

test('validatePreprocess accepts a full config and names the bad field otherwise', () => {
  const good = makePreprocess('imagenet', [224, 224], 'NCHW');
  const copy = validatePreprocess(JSON.parse(JSON.stringify(good)), 'craft.json');
  assert.deepEqual(copy, good);
  const bad = (patch: Record<string, unknown>, field: string, pattern: RegExp) => {
    const value = { ...JSON.parse(JSON.stringify(good)), ...patch };
    for (const k of Object.keys(patch)) if (patch[k] === undefined) delete value[k];
    assert.throws(
      () => validatePreprocess(value, 'models/net.craft.json'),
      (e: unknown) =>
        e instanceof CraftError && e.message.startsWith('models/net.craft.json: ') && e.message.includes(`preprocess.${field} `) && pattern.test(e.message),
      `${field}: ${JSON.stringify(patch)}`,
    );
  };
  bad({ layout: 'CHW' }, 'layout', /"NCHW", "NHWC".*"CHW"/);
  bad({ channelOrder: 'rgb' }, 'channelOrder', /"RGB", "BGR"/);
  bad({ resize: 'area' }, 'resize', /"bilinear"/);
  bad({ size: [224] }, 'size', /2 finite numbers/);
  bad({ size: [224.5, 224] }, 'size', /whole numbers/);
  bad({ size: [0, 224] }, 'size', /whole numbers/);
  bad({ range: [1, 1] }, 'range', /interval/);
  bad({ range: ['0', 1] }, 'range', /finite numbers/);
  bad({ mean: [0.5, 0.5] }, 'mean', /3 finite numbers/);
  bad({ std: [0.2, 0, 0.2] }, 'std', /positive/);
  bad({ std: [0.2, null, 0.2] }, 'std', /finite numbers/);
  bad({ std: undefined }, 'std', /missing/);
  bad({ chanelOrder: 'BGR' }, 'chanelOrder', /not a known field/);
  assert.throws(() => validatePreprocess(null, 'x.json'), /x\.json: preprocess must be an object/);
  assert.throws(() => validatePreprocess([1, 2], 'x.json'), /must be an object/);
});

// ---------------------------------------------------------------- PNG output

test('encodePng round-trips RGB and RGBA, and resizes when asked', async () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 99, 199, 1, 2, 3, 250, 251, 252]);
  const pngRgb = await encodePng(rgb, 3, 2, 3);
  const back = await sharp(pngRgb).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([back.info.width, back.info.height, back.info.channels], [3, 2, 3]);
  assert.deepEqual(new Uint8Array(back.data), rgb);

  const rgba = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 255]);
  const b2 = await sharp(await encodePng(rgba, 2, 1, 4))
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(b2.info.channels, 4);
  assert.deepEqual(new Uint8Array(b2.data), rgba);

  const big = await sharp(await encodePng(rgb, 3, 2, 3, [4, 6]))
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([big.info.width, big.info.height], [6, 4]);
  // Nearest 2× doubles each pixel: (0,0),(0,1),(1,0),(1,1) of the output all equal input pixel 0.
  for (const i of [0, 1, 6, 7]) assert.deepEqual([...big.data.subarray(i * 3, i * 3 + 3)], [255, 0, 0]);
  assert.deepEqual([...big.data.subarray((3 * 6 + 5) * 3, (3 * 6 + 5) * 3 + 3)], [250, 251, 252]);
  await assert.rejects(encodePng(rgb, 2, 2, 3), RangeError);
});

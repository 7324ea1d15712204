// Derives a large one-class image set from the clip-art fixtures for the scale benchmark (bench/scale.ts):
// every playing_cards image in 36 variants (no flip / mirrored × the whole image, a 90 % crop at each
// corner or an 80 % centre crop × no rotation, +5° or −5°), each written as a 224×224 PNG. Files are
// named v<variant>-<source>.png, so the sorted listing runs through all sources of variant 0, then of
// variant 1…: the first N files (--max-images N) mix sources the same way for every N.
//   node out/bench/scale-images.js [--count 5000] [--out DIR]   (default DIR: $TMPDIR/craft-scale-images)
// Nothing generated here is committed; an existing folder with enough files is reused.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

const ROOT = path.resolve(__dirname, '../..');
// $CRAFT_FIXTURES names the shared fixtures folder where it is not ../shared/fixtures (e.g. from a git worktree).
const SOURCES = [
  ...(process.env.CRAFT_FIXTURES ? [path.resolve(process.env.CRAFT_FIXTURES, 'clipart-mobilenetv2/images/playing_cards')] : []),
  path.resolve(ROOT, '../shared/fixtures/clipart-mobilenetv2/images/playing_cards'),
  path.join(ROOT, 'test/fixtures/clipart-mobilenetv2/images/playing_cards'),
];
export const SCALE_IMAGES_DIR = path.join(os.tmpdir(), 'craft-scale-images');
const SIDE = 224;

interface Variant {
  flip: boolean;
  crop: 'full' | 'tl' | 'tr' | 'bl' | 'br' | 'centre';
  angle: number;
}

const VARIANTS: Variant[] = [];
for (const angle of [0, 5, -5])
  for (const crop of ['full', 'tl', 'tr', 'bl', 'br', 'centre'] as const) for (const flip of [false, true]) VARIANTS.push({ flip, crop, angle });

function cropBox(v: Variant, w: number, h: number): { left: number; top: number; width: number; height: number } {
  if (v.crop === 'full') return { left: 0, top: 0, width: w, height: h };
  const s = v.crop === 'centre' ? 0.8 : 0.9;
  const width = Math.max(1, Math.round(w * s));
  const height = Math.max(1, Math.round(h * s));
  const left = v.crop === 'centre' ? Math.floor((w - width) / 2) : v.crop.endsWith('l') ? 0 : w - width;
  const top = v.crop === 'centre' ? Math.floor((h - height) / 2) : v.crop.startsWith('t') ? 0 : h - height;
  return { left, top, width, height };
}

async function derive(file: string, v: Variant, target: string): Promise<void> {
  const flat = await sharp(file).flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = flat.info;
  let img = sharp(flat.data, { raw: { width, height, channels } }).extract(cropBox(v, width, height));
  if (v.flip) img = img.flop();
  if (v.angle) img = sharp(await img.rotate(v.angle, { background: '#ffffff' }).png().toBuffer());
  await img.resize(SIDE, SIDE, { fit: 'fill' }).png({ compressionLevel: 6 }).toFile(target);
}

/** Makes sure `dir` holds at least `count` derived images; returns their folder. */
export async function scaleImages(count: number, dir = SCALE_IMAGES_DIR, log: (s: string) => void = () => undefined): Promise<string> {
  const source = SOURCES.find((s) => fs.existsSync(s));
  if (!source) throw new Error(`No clip-art playing_cards folder found (looked in ${SOURCES.join(', ')}).`);
  const files = fs
    .readdirSync(source)
    .filter((f) => /\.png$/i.test(f))
    .sort();
  const max = files.length * VARIANTS.length;
  if (count > max) throw new Error(`${source} gives at most ${max} images (${files.length} × ${VARIANTS.length} variants).`);
  fs.mkdirSync(dir, { recursive: true });
  const want: { src: string; v: Variant; name: string }[] = [];
  for (let k = 0; k < count; k++) {
    const vi = Math.floor(k / files.length);
    const f = files[k % files.length];
    want.push({ src: path.join(source, f), v: VARIANTS[vi], name: `v${String(vi).padStart(2, '0')}-${f}` });
  }
  const missing = want.filter((w) => !fs.existsSync(path.join(dir, w.name)));
  let done = 0;
  const worker = async () => {
    for (let w = missing.shift(); w; w = missing.shift()) {
      const tmp = path.join(dir, `.${w.name}.tmp`);
      await derive(w.src, w.v, tmp);
      fs.renameSync(tmp, path.join(dir, w.name));
      if (++done % 500 === 0) log(`${done} images written`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return dir;
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const count = Number(arg('--count') ?? 5000);
  scaleImages(count, arg('--out') ?? SCALE_IMAGES_DIR, (s) => console.error(s)).then(
    (dir) => console.log(dir),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}

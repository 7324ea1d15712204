import * as fs from 'fs';
import * as path from 'path';
import { computeActivations, latentSize, projectImages } from './stages/activations';
import { writeMaps, writeThumbnails, writeTopCrops } from './bundle/pictures';
import { conceptColor, toHex } from './images/colors';
import { cropGrid } from './images/crops';
import { CraftError, throwIfCancelled } from './errors';
import { listImages } from './images/load';
import { imageImportance, meanImportance, rankConcepts } from './stages/importance';
import { fromFlat, toRows } from './math/matrix';
import { fitNmf, transformProjected } from './math/nmf';
import { jsProducts, type DataProducts } from './math/nmf-products';
import { cropsGraph, projectionGraph, CROPS } from './graphs';
import { perturbedLogits } from './onnx/perturbed';
import { ortProducts } from './onnx/products';
import type { SessionFactory } from './onnx/sessions';
import type { ExplainOptions, Stage } from './options';
import { BundleWriter, runName } from './bundle/writer';
import { PixelStore } from './images/pixel-store';
import { handled } from './pending';
import { haltonDesign } from './math/sobol';
import { negativeActivations, prepareModel } from './stages/model';
import { RESULTS_VERSION, type ConceptEntry, type ImageEntry, type ResultsBundle } from '../protocol';

/**
 * Below this many multiply-adds per product the float64 JS products are as fast as ONNX Runtime's once
 * its session is built. Above it ORT wins: (a)'s 2000 × 64 crops, r = 10 (1.3 M) NMF 0.9 s → 0.6 s.
 */
const ORT_PRODUCTS_FROM = 250_000;

/**
 * Input floats one forward batch may hold. On CPU, bigger batches do not run faster but grow ORT's arena:
 * batch 64 of 224² images through MobileNetV2 peaks at 1.7 GB RSS, batch 16 at 0.85 GB and runs faster.
 */
const BATCH_FLOATS = 2_500_000;

/** The batch actually used for a model whose items hold `itemFloats` floats (a fixed model batch wins). */
export function effectiveBatch(requested: number, itemFloats: number, fixed?: number): number {
  if (fixed) return fixed;
  return Math.max(1, Math.min(requested, Math.floor(BATCH_FLOATS / itemFloats)));
}

class StageTimer {
  readonly timings: Record<string, number> = {};
  private readonly t0 = performance.now();
  private current?: { stage: Stage; start: number };

  start(stage: Stage): void {
    this.stop();
    this.current = { stage, start: performance.now() };
  }

  stop(): void {
    if (this.current) this.timings[this.current.stage] = (performance.now() - this.current.start) / 1000;
    this.current = undefined;
  }

  total(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

export function toolVersion(): { name: string; version: string } {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as { name: string; version: string };
    return { name: pkg.name, version: pkg.version };
  } catch {
    return { name: 'craft-explain', version: 'unknown' };
  }
}

const thumbnail = (i: number) => `images/${i}.png`;
/** Scratch file in the bundle being written: each image's resized pixels, raw, between the passes. */
const PIXELS_FILE = '.pixels';

/** Products with X on ONNX Runtime when they are big enough to matter, else exact float64 JS. */
async function productsFor(X: Float32Array, n: number, p: number, r: number, factory: SessionFactory): Promise<DataProducts> {
  if (n * p * r >= ORT_PRODUCTS_FROM) return ortProducts(X, n, p, factory);
  return jsProducts(fromFlat(X, n, p));
}

/**
 * One CRAFT run for one class (craft-reference §2–§5): crops → g → NMF → transform → Sobol importance →
 * maps, written as a results bundle. The bundle appears only when complete.
 */
export async function explain(o: ExplainOptions): Promise<{ dir: string; bundle: ResultsBundle }> {
  const log = o.log ?? (() => undefined);
  const progress = (stage: Stage, done: number, total: number, unit: string) => o.onProgress?.({ stage, done, total, unit });
  const timer = new StageTimer();
  checkOptions(o);

  timer.start('model');
  progress('model', 0, 1, 'steps');
  let files = await listImages(o.images, { onSkip: (p, why) => log(`Skipped ${p}: ${why}`) });
  if (o.maxImages) files = files.slice(0, o.maxImages);
  if (files.length === 0) {
    throw new CraftError('input', `No images found in ${o.images}.`, 'CRAFT reads PNG, JPEG, WebP, GIF and TIFF files (sub-folders included). Choose a folder of images of the class to explain.');
  }
  const m = await prepareModel(o, files, log);
  throwIfCancelled(o.signal);
  const [H, W] = m.preprocess.size;
  const grid = cropGrid(H, W, o.patch);
  progress('model', 1, 1, 'steps');

  const writer = await BundleWriter.begin(o.out, runName(m.classLabel ?? `class-${m.classIndex}`));
  const sessions: { release(): Promise<void> }[] = [];
  // Work started early and awaited later; settled before a failed run's folder is removed.
  const background: Promise<unknown>[] = [];
  const inBackground = <T>(p: Promise<T>): Promise<T> => {
    background.push(handled(p));
    return p;
  };
  let store: PixelStore | undefined;
  try {
    store = await PixelStore.create(path.join(writer.tempDir, PIXELS_FILE), W, H);
    const pixels = store.read.bind(store);
    // Activations: one streaming pass over the images.
    timer.start('activations');
    const cropsModel = cropsGraph(m, o.patch);
    const cropsSession = await m.factory.create(cropsModel.model.bytes, 'g with the crop resize');
    sessions.push(cropsSession);
    const gBatch = effectiveBatch(o.batch, 3 * H * W, m.info.fixedBatch);
    const hBatch = effectiveBatch(o.batch, m.layerShape.reduce((a, b) => a * b, 1), m.info.fixedBatch);
    if (gBatch < o.batch || hBatch < o.batch) log(`Batches: g ${gBatch}, h ${hBatch} (--batch ${o.batch}, capped to bound memory).`);
    const acts = await computeActivations({
      files,
      root: o.images,
      preprocess: m.preprocess,
      patch: o.patch,
      batch: gBatch,
      channels: m.channels,
      crops: { session: cropsSession, input: CROPS, output: cropsModel.output, fixedBatch: m.info.fixedBatch },
      maxPixels: o.maxPixels,
      savePixels: store.write.bind(store),
      onSkip: (s) => log(`Skipped ${s.path}: ${s.reason}`),
      onProgress: (done, total) => progress('activations', done, total, 'images'),
      signal: o.signal,
    });
    const nImages = acts.images.length;
    // PNG thumbnails for the viewer, encoded on libuv's threads while the NMF keeps one core busy.
    const thumbnails = inBackground(writeThumbnails({ pixels, count: nImages, size: [H, W], write: (i, png) => writer.writeFile(thumbnail(i), png), signal: o.signal }));
    const n = acts.A.rows;
    const p = m.channels;
    const r = o.concepts;
    if (nImages === 0) throw new CraftError('input', `None of the ${files.length} images could be read.`, 'See the skipped files above.');
    if (acts.minActivation < 0) throw negativeActivations(m.layer, acts.minActivation, 'on some crops');
    if (n < r) {
      throw new CraftError('input', `Only ${n} crops (${nImages} usable images × ${grid.perImage} crops) for ${r} concepts: NMF needs at least as many crops as concepts.`, `Use fewer concepts (--concepts ${Math.max(1, n)}), a smaller patch, or more images.`);
    }
    log(`Activations: ${nImages} images (${acts.skipped.length} skipped), ${n} crops × ${p} channels at ${m.layer}.`);

    // NMF on the crop activations (craft-reference §2, §9).
    timer.start('nmf');
    const products = await productsFor(acts.A.view(), n, p, r, m.factory);
    let fit;
    try {
      fit = await fitNmf(products, {
        components: r, tol: o.tol, maxIter: o.maxIter, alphaW: o.alphaW, signal: o.signal,
        onIteration: (it, max) => progress('nmf', it, max, 'iterations'),
      });
    } finally {
      await products.dispose();
    }
    progress('nmf', fit.iterations, fit.iterations, 'iterations');
    log(`NMF: ${fit.iterations} iterations${fit.converged ? '' : ' (stopped at max_iter, as the reference usually does)'}, relative reconstruction error ${fit.relativeError.toFixed(4)}.`);

    // The top crops need only U: they are cut and encoded (sharp works on libuv's threads) while the
    // second pass runs.
    const write = (rel: string, png: Buffer) => writer.writeFile(rel, png);
    const topCrops = inBackground(writeTopCrops({ U: fit.U, grid, top: o.topCrops, pixels, preprocess: m.preprocess, write, signal: o.signal }));

    // Transform: concept coefficients of every latent position of every image (§3), all rows in one
    // coordinate descent like the reference. A second pass over the images computes only X·Wᵀ.
    timer.start('transform');
    const [lh, lw] = latentSize(m.layerShape, m.layerLayout);
    const projectSession = await m.factory.create(projectionGraph(m, fit.W).bytes, 'g with the projection on the concepts');
    sessions.push(projectSession);
    const projection = await projectImages({
      pixels,
      count: nImages,
      preprocess: m.preprocess,
      session: projectSession,
      input: m.info.inputName,
      concepts: r,
      batch: gBatch,
      fixedBatch: m.info.fixedBatch,
      onProgress: (done, total) => progress('transform', done, total, 'images'),
      signal: o.signal,
    });
    if (projection.minActivation < 0) throw negativeActivations(m.layer, projection.minActivation, 'on some images');
    const Uimg = (await transformProjected({ rows: projection.positions, cols: r, data: projection.projected }, fit.W, p, { tol: o.tol, maxIter: o.maxIter, alphaW: o.alphaW, signal: o.signal })).U;

    // Importance: Sobol total order through h for every image (§4).
    timer.start('importance');
    const design = haltonDesign(r, o.designs);
    const hw = lh * lw;
    const coefficientsOf = (i: number) => Float32Array.from(Uimg.data.subarray(i * hw * r, (i + 1) * hw * r));
    const perturbed = await perturbedLogits({
      h: m.h, W: fit.W, spatial: m.spatial ? [lh, lw] : null, layout: m.layerLayout, classes: m.classes,
      batch: hBatch, fixedBatch: m.info.fixedBatch, designRows: design.rows,
      capBlock: effectiveBatch,
      probe: { coefficients: coefficientsOf(0), masks: Float32Array.from(design.data) },
      factory: m.factory, log,
    });
    sessions.push(...perturbed.sessions);
    const logits = perturbed.logits;
    const perImage: Float64Array[] = [];
    for (let i = 0; i < nImages; i++) {
      throwIfCancelled(o.signal);
      perImage.push(await imageImportance(logits, coefficientsOf(i), design, o.designs, m.classIndex));
      progress('importance', i + 1, nImages, 'images');
    }
    const importances = meanImportance(perImage, r);
    const ranking = rankConcepts(importances);

    // Maps and crops.
    timer.start('maps');
    const { maps, presence } = m.spatial
      ? await writeMaps({ Uimg, images: nImages, latent: [lh, lw], size: [H, W], percentile: o.mapPercentile, write, signal: o.signal, onProgress: (d, t) => progress('maps', d, t, 'images') })
      : { maps: undefined, presence: Array.from({ length: nImages }, (_, i) => Array.from(Uimg.data.subarray(i * r, (i + 1) * r))) };
    const crops = await topCrops;
    await thumbnails;
    await store.dispose();

    timer.start('write');
    throwIfCancelled(o.signal);
    const total = importances.reduce((a, b) => a + b, 0);
    const concepts: ConceptEntry[] = Array.from({ length: r }, (_, c) => ({
      index: c,
      color: toHex(conceptColor(c)),
      importance: importances[c],
      share: total > 0 ? importances[c] / total : 0,
      rank: ranking.indexOf(c),
      crops: crops[c],
    }));
    const images: ImageEntry[] = acts.images.map((im, i) => ({
      path: im.path,
      width: im.width,
      height: im.height,
      thumbnail: thumbnail(i),
      importances: Array.from(perImage[i]),
      presence: presence[i],
      maps: maps?.[i],
    }));
    timer.stop();
    const bundle: ResultsBundle = {
      version: RESULTS_VERSION,
      createdAt: new Date().toISOString(),
      tool: toolVersion(),
      model: { path: m.info.path, hPath: m.hPath, inputName: m.info.inputName, inputShape: m.info.inputShape.map((d) => d ?? '?'), outputName: m.info.outputName },
      layer: { name: m.layer, shape: m.layerShape, spatial: m.spatial },
      class: { index: m.classIndex, label: m.classLabel },
      labels: m.labels,
      datasetRoot: path.resolve(o.images),
      settings: {
        concepts: r, patchSize: o.patch, stride: grid.stride, cropsPerImage: grid.perImage, batchSize: o.batch, designs: o.designs,
        preprocess: m.preprocess, nmf: { tol: o.tol, maxIter: o.maxIter, alphaW: o.alphaW }, mapPercentile: o.mapPercentile,
        providerRequested: o.provider,
      },
      provider: m.factory.provider,
      images,
      skipped: acts.skipped,
      concepts,
      W: toRows(fit.W),
      importances: Array.from(importances),
      ranking,
      nmf: { reconstructionError: fit.relativeError, iterations: fit.iterations, converged: fit.converged },
      splitCheck: m.splitCheck,
      timings: { ...timer.timings, total: timer.total() },
      warnings: m.warnings,
    };
    const dir = await writer.commit(bundle);
    progress('write', 1, 1, 'bundle');
    log(`Timings (s): ${Object.entries(bundle.timings).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    return { dir, bundle };
  } catch (e) {
    await Promise.allSettled(background);
    await store?.dispose();
    await writer.abort();
    throw e;
  } finally {
    for (const s of sessions) await s.release().catch(() => undefined);
  }
}

function checkOptions(o: ExplainOptions): void {
  const positive: [string, number][] = [['concepts', o.concepts], ['patch', o.patch], ['batch', o.batch], ['designs', o.designs], ['topCrops', o.topCrops]];
  for (const [name, v] of positive) {
    if (!Number.isInteger(v) || v < 1) throw new CraftError('usage', `${name} must be a positive integer, got ${v}.`);
  }
  if (o.designs < 2) throw new CraftError('usage', 'designs must be at least 2 (the Jansen estimator needs a sample variance).');
  if (!(o.mapPercentile >= 0 && o.mapPercentile <= 100)) throw new CraftError('usage', `mapPercentile must be in [0, 100], got ${o.mapPercentile}.`);
}

/**
 * The 'write' stage: waits for the pictures encoded in the background, assembles results.json and
 * commits the bundle (the hidden folder is renamed into place only now, complete).
 */
import * as fs from 'fs';
import * as path from 'path';
import { throwIfCancelled } from '../errors';
import { conceptColor, toHex } from '../images/colors';
import { toRows, type Matrix } from '../math/matrix';
import { float32Bytes } from '../bundle/arrays';
import type { Run } from '../run';
import { thumbnailFile, type Activations } from './activations';
import type { Importances } from './importance';
import type { Maps } from './maps';
import type { Model } from './model';
import type { Factorisation } from './nmf';
import type { Prediction } from './transform';
import { RESULTS_VERSION, type FidelityCurves, type ConceptEntry, type ImageEntry, type ResultsBundle } from '../../protocol';

/** Share of images predicted as another class from which the run says so. */
const OTHER_CLASS_NOTICE = 0.1;

export function toolVersion(): { name: string; version: string } {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../../package.json'), 'utf8')) as { name: string; version: string };
    return { name: pkg.name, version: pkg.version };
  } catch {
    return { name: 'craft-explain', version: 'unknown' };
  }
}

/**
 * The image folder as results.json records it: absolute, or relative to the run folder when it lies inside
 * it (a refined run's crops, docs/method.md §8), so that the run can be moved with its images.
 */
function datasetRoot(images: string, runDir: string): string {
  const rel = path.relative(runDir, path.resolve(images));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : path.resolve(images);
}

export interface RunOutcome {
  m: Model;
  acts: Activations;
  fit: Factorisation;
  importance: Importances;
  fidelity: FidelityCurves;
  maps: Maps;
  predictions: Prediction[];
  /** The image-scale coefficients, (image, y, x) × r. */
  coefficients: Matrix;
}

export async function writeStage(
  run: Run,
  { m, acts, fit, importance, fidelity, maps, predictions, coefficients }: RunOutcome,
): Promise<{ dir: string; bundle: ResultsBundle }> {
  const o = run.options;
  const crops = await fit.topCrops;
  await acts.thumbnails;
  await run.dropPixels();
  run.stage('write');
  throwIfCancelled(run.signal);
  const others = predictions.filter((p) => p.predicted !== m.classIndex).length;
  if (run.parent) {
    // A refined run's images are crops enlarged to whole inputs: another class is expected, not a warning.
    if (others > 0)
      run.log(`${others} of ${predictions.length} crops, each enlarged to a whole input, are predicted as another class, as parts of an image often are.`);
  } else if (others >= OTHER_CLASS_NOTICE * predictions.length && others > 1) {
    run.warn(`${others} of ${predictions.length} images are predicted as another class: the concepts explain the class score on them too.`);
  }
  const { global, perImage, ranking } = importance;
  const total = global.reduce((a, b) => a + b, 0);
  const concepts: ConceptEntry[] = Array.from({ length: o.concepts }, (_, c) => ({
    index: c,
    color: toHex(conceptColor(c)),
    importance: global[c],
    share: total > 0 ? global[c] / total : 0,
    rank: ranking.indexOf(c),
    crops: crops[c],
    regions: maps.regions?.[c],
    scaleAgreement: maps.scaleAgreement[c],
  }));
  const images: ImageEntry[] = acts.images.map((im, i) => ({
    path: im.path,
    width: im.width,
    height: im.height,
    predicted: predictions[i].predicted,
    classScore: predictions[i].score,
    classProbability: predictions[i].probability,
    thumbnail: thumbnailFile(i),
    importances: Array.from(perImage[i]),
    presence: maps.presence[i],
    maps: maps.files?.[i],
    cropMaps: maps.cropFiles[i],
  }));
  const arrays = {
    cropCoefficients: { file: 'arrays/crop-coefficients.f32', rows: fit.U.rows, cols: fit.U.cols },
    imageCoefficients: { file: 'arrays/image-coefficients.f32', rows: coefficients.rows, cols: coefficients.cols },
  };
  await run.write(arrays.cropCoefficients.file, float32Bytes(fit.U));
  await run.write(arrays.imageCoefficients.file, float32Bytes(coefficients));
  run.timer.stop();
  const bundle: ResultsBundle = {
    version: RESULTS_VERSION,
    createdAt: new Date().toISOString(),
    tool: toolVersion(),
    model: {
      path: m.info.path,
      hPath: m.hPath,
      sha256: run.cache.modelSha256,
      hSha256: run.cache.hSha256,
      inputName: m.info.inputName,
      inputShape: m.info.inputShape.map((d) => d ?? '?'),
      outputName: m.info.outputName,
    },
    layer: { name: m.layer, shape: m.layerShape, spatial: m.spatial },
    class: { index: m.classIndex, label: m.classLabel },
    labels: m.labels,
    datasetRoot: datasetRoot(o.images, run.writer.tempDir),
    settings: {
      concepts: o.concepts,
      patchSize: o.patch,
      stride: m.grid.stride,
      cropsPerImage: m.grid.perImage,
      batchSize: o.batch,
      designs: o.designs,
      preprocess: m.preprocess,
      nmf: { tol: o.tol, maxIter: o.maxIter, alphaW: o.alphaW },
      mapPercentile: o.mapPercentile,
      providerRequested: o.provider,
    },
    provider: m.factory.provider,
    providerDetails: m.providerDetails,
    images,
    skipped: [...run.listingSkipped, ...acts.skipped],
    concepts,
    W: toRows(fit.W),
    importances: Array.from(global),
    ranking,
    fidelity,
    arrays,
    nmf: { reconstructionError: fit.relativeError, iterations: fit.iterations, converged: fit.converged },
    splitCheck: m.splitCheck,
    timings: { ...run.timer.timings, total: run.timer.total() },
    warnings: [...m.warnings, ...run.warnings],
    ...(run.parent ? { parent: run.parent } : {}),
  };
  const dir = await run.writer.commit(bundle, (line) => run.log(`Warning: ${line}`));
  run.progress('write', 1, 1, 'bundle');
  run.log(
    `Timings (s): ${Object.entries(bundle.timings)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
  return { dir, bundle };
}

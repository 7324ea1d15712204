/**
 * Recursive sub-concepts (the paper's first ingredient, docs/method.md §8): the crops of a run where one
 * concept is strong, cut again from the run's images, become the images of a new run that factorises
 * them whole at an earlier layer. The new run is a normal bundle (same reader, same page), holds its
 * crops (its datasetRoot is inside it) and links to its parent; it can be refined again.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError, throwIfCancelled } from '../errors';
import { runStages } from '../explain';
import { readArray } from '../bundle/arrays';
import { readNames } from '../bundle/names';
import { BundleWriter, readBundle, runName } from '../bundle/writer';
import { cropGrid, type CropGrid } from '../images/crops';
import { encodePng } from '../images/png';
import { preprocessRgb } from '../images/preprocess';
import { resizePixels } from '../images/resample';
import { describeModel, probeLayers, type ModelInfo } from '../onnx/inspect';
import { SessionFactory } from '../onnx/sessions';
import { checkEngineOptions } from '../option-table';
import { DEFAULTS, type ExplainOptions, type Progress } from '../options';
import { effectiveBatch, Run } from '../run';
import { parentLinkPath, REFINED_FOLDER, refinedRoot } from './children';
import { cropFileName, cutParentCrops, type CutCrop } from './crops';
import { checkRefineLayer, refineLayers, type RefineLayers } from './layers';
import { conceptFromSpec, MIN_REFINE_CROPS, REFINE_PERCENTILE, selectCrops, type CropSelection } from './select';
import { runClassName, type PreprocessConfig, type ProviderRequest, type ResultsBundle } from '../../protocol';

/** Sub-concepts when not asked: a handful, readable side by side, for a point set a tenth of the parent's. */
const DEFAULT_SUB_CONCEPTS = 5;

/** The folder of a refined run that holds its images (the parent's crops). */
const DATASET_FOLDER = 'dataset';

export interface RefineOptions {
  /** The parent run folder. */
  run: string;
  /** The concept to refine: its index, "#N" (its rank in the panel) or the name it was given. */
  concept: string | number;
  /** The earlier layer to factorise the crops at (default: see refineLayers). */
  layer?: string;
  /** Sub-concepts (NMF rank at the sub-level); default DEFAULT_SUB_CONCEPTS, or the crops when fewer. */
  concepts?: number;
  /** Default: the parent's. */
  designs?: number;
  batch?: number;
  provider: ProviderRequest;
  /** Results root of the refined run; default: the parent's `refined/` folder. */
  out?: string;
  threads?: number;
  topCrops?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
}

export interface RefineResult {
  dir: string;
  bundle: ResultsBundle;
  parentDir: string;
  parent: ResultsBundle;
  /** The concept refined (index). */
  concept: number;
}

/** The parent run, the concept meant and its crops at or above the threshold. */
interface Prepared {
  dir: string;
  bundle: ResultsBundle;
  concept: number;
  grid: CropGrid;
  selection: CropSelection;
}

/** The preprocessing of a refined run: the parent's, with crops enlarged to the input bilinearly as the parent's g saw them. */
function childPreprocess(parent: ResultsBundle): PreprocessConfig {
  return { ...parent.settings.preprocess, resize: 'bilinear' };
}

async function prepare(run: string, spec: string | number): Promise<Prepared> {
  const dir = path.resolve(run);
  const bundle = await readBundle(dir);
  if (!bundle.arrays) {
    throw new CraftError(
      'input',
      `${dir} was made before runs kept their coefficient arrays (arrays/crop-coefficients.f32), which refining reads.`,
      'Re-run the explanation with this version, then refine its concepts.',
    );
  }
  if (bundle.model.hPath) {
    throw new CraftError(
      'model',
      `This run was made from g and h given as two files (${path.basename(bundle.model.path)}, ${path.basename(bundle.model.hPath)}): refining splits the model at an earlier layer, which needs the whole model.`,
      'Run the explanation on the full model (--model with --layer), then refine its concepts.',
    );
  }
  const [H, W] = bundle.settings.preprocess.size;
  if (H !== W) {
    throw new CraftError(
      'input',
      `Refining needs a square model input (each crop becomes a whole input); this run's input is ${H}×${W}.`,
      'Refining is not available for non-square inputs yet.',
    );
  }
  // Values the refined run takes from results.json: wrong ones are a damaged run (exit 3), not the user's options.
  const labels = bundle.labels?.length;
  if (bundle.settings.patchSize > H || (labels !== undefined && bundle.class.index >= labels)) {
    throw new CraftError(
      'input',
      bundle.settings.patchSize > H
        ? `${path.join(dir, 'results.json')} says the crops were ${bundle.settings.patchSize} px, larger than its ${H}×${W} input.`
        : `${path.join(dir, 'results.json')} names class ${bundle.class.index}, but its labels list ${labels} classes.`,
      'Re-run the explanation: this run folder is damaged.',
    );
  }
  const concept = conceptFromSpec(spec, bundle, readNames(dir, bundle.concepts.length));
  const grid = cropGrid(H, W, bundle.settings.patchSize);
  const ref = bundle.arrays.cropCoefficients;
  if (grid.perImage !== bundle.settings.cropsPerImage || ref.rows !== bundle.images.length * grid.perImage) {
    throw new CraftError(
      'input',
      `The run's crop coefficients hold ${ref.rows} rows, not one per crop of its ${bundle.images.length} images (${bundle.settings.cropsPerImage} each).`,
      'Re-run the explanation: this run folder is damaged.',
    );
  }
  const U = await readArray(dir, ref);
  // NMF coefficients are finite and ≥ 0: anything else is a damaged file, not a concept without crops.
  const bad = U.data.findIndex((v) => !(v >= 0 && Number.isFinite(v)));
  if (bad >= 0) {
    throw new CraftError(
      'input',
      `${ref.file} holds ${U.data[bad]} at row ${Math.floor(bad / U.cols)}, column ${bad % U.cols}: crop coefficients are finite and never negative.`,
      'Re-run the explanation: this run folder is damaged.',
    );
  }
  return { dir, bundle, concept, grid, selection: selectCrops(U, concept, REFINE_PERCENTILE) };
}

/** `--out` may be the parent's refined/ folder (the default) or anywhere outside the parent run, not among its files. */
function checkOut(out: string, parentDir: string): void {
  const real = (d: string) => {
    try {
      return fs.realpathSync(d);
    } catch {
      return path.resolve(d);
    }
  };
  const rel = path.relative(real(parentDir), real(out));
  const inside = rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  if (inside && rel.split(path.sep)[0] !== REFINED_FOLDER) {
    throw new CraftError(
      'usage',
      `--out ${out} is inside the run being refined (${parentDir}), among its own files.`,
      `Leave --out out to write into its ${REFINED_FOLDER}/ folder, or give a folder outside the run.`,
    );
  }
}

/** The number of sub-concepts, checked against the crops kept. */
function subConcepts(p: Prepared, asked: number | undefined): number {
  const n = p.selection.crops.length;
  const what = `concept ${p.concept}`;
  if (n < MIN_REFINE_CROPS) {
    throw new CraftError(
      'input',
      n === 0
        ? `Concept ${p.concept} has a zero coefficient on every crop: there is nothing to refine.`
        : `Only ${n} crop of ${what} reaches its ${REFINE_PERCENTILE}th percentile (${p.selection.threshold.toPrecision(3)}) with a non-zero coefficient: one crop cannot be split into sub-concepts.`,
      'Refine a concept present in more crops, or re-run the explanation with more images or a smaller patch.',
    );
  }
  const r = asked ?? Math.min(DEFAULT_SUB_CONCEPTS, n);
  if (r > n) {
    throw new CraftError(
      'input',
      `Only ${n} crops of ${what} reach its ${REFINE_PERCENTILE}th percentile (${p.selection.threshold.toPrecision(3)}), fewer than the ${r} sub-concepts asked for: NMF needs at least as many crops as concepts.`,
      `Ask for ${n} sub-concepts or fewer (--concepts), or re-run the explanation with more images.`,
    );
  }
  return r;
}

/**
 * The layers the crops can be factorised at, probed on the first crops as the refined run will see them
 * (enlarged to the input, preprocessed), on the CPU as `craft layers` does.
 */
async function probeRefineLayers(p: Prepared, crops: CutCrop[]): Promise<{ info: ModelInfo; choice: RefineLayers }> {
  const model = p.bundle.model.path;
  if (!fs.existsSync(model)) {
    throw new CraftError('model', `The run's model ${model} is not there any more.`, 'Put the model back where the run found it, or re-run the explanation.');
  }
  const info = describeModel(model);
  const pre = childPreprocess(p.bundle);
  const [H, W] = pre.size;
  const P = p.grid.patch;
  const batch = effectiveBatch(2, 3 * H * W, info.fixedBatch);
  const size = 3 * H * W;
  const data = new Float32Array(batch * size);
  for (let i = 0; i < batch; i++) preprocessRgb(resizePixels(crops[i % crops.length].rgb, P, P, 3, W, H, pre.resize), pre, data, i * size);
  const factory = await SessionFactory.open('cpu');
  const candidates = await probeLayers(info, factory, { data, dims: pre.layout === 'NCHW' ? [batch, 3, H, W] : [batch, H, W, 3] });
  return { info, choice: refineLayers(info, candidates, p.bundle.layer.name, p.bundle.layer.shape) };
}

/** What the refine prompt offers: the layers before the parent's that work, the default first among equals. */
export interface RefineLayerChoice {
  concept: number;
  crops: number;
  parentLayer: string;
  layers: { name: string; shape: number[] }[];
  defaultLayer?: string;
}

/** The layers concept `spec` of run `run` can be refined at (the probe of refine() on its first crops). */
export async function refineLayerChoices(run: string, spec: string | number): Promise<RefineLayerChoice> {
  const p = await prepare(run, spec);
  subConcepts(p, 1);
  const first = p.selection.crops.slice(0, 2);
  const crops = await cutParentCrops({ runDir: p.dir, bundle: p.bundle, grid: p.grid, rows: first, note: () => undefined });
  const { choice } = await probeRefineLayers(p, crops);
  return {
    concept: p.concept,
    crops: p.selection.crops.length,
    parentLayer: choice.parentLayer,
    layers: choice.layers.map((c) => ({ name: c.name, shape: c.shape })),
    defaultLayer: choice.defaultLayer,
  };
}

/** Refines one concept of a run into sub-concepts: writes the refined run and returns it. */
export async function refine(o: RefineOptions): Promise<RefineResult> {
  const log = o.log ?? (() => undefined);
  const progress = (done: number, total: number, unit: string) => o.onProgress?.({ stage: 'model', done, total, unit });
  progress(0, 1, 'steps');
  const p = await prepare(o.run, o.concept);
  if (o.out) checkOut(o.out, p.dir);
  const parent = p.bundle;
  const r = subConcepts(p, o.concepts);
  const n = p.selection.crops.length;
  log(
    `Refining concept ${p.concept} of ${p.dir}: ${n} of ${p.grid.perImage * parent.images.length} crops have a coefficient ≥ ${p.selection.threshold.toPrecision(4)} (its ${REFINE_PERCENTILE}th percentile).`,
  );
  const notes: string[] = [];
  const crops = await cutParentCrops({
    runDir: p.dir,
    bundle: parent,
    grid: p.grid,
    rows: p.selection.crops,
    note: (line) => {
      notes.push(line);
      log(line);
    },
    onProgress: (done, total) => progress(done, total, 'images'),
    signal: o.signal,
  });
  throwIfCancelled(o.signal);
  const { info, choice } = await probeRefineLayers(p, crops);
  let layer: string;
  if (o.layer) layer = checkRefineLayer(o.layer, choice, info);
  else if (choice.defaultLayer) {
    layer = choice.defaultLayer;
    log(`Layer: ${layer} (default: the last usable layer before ${parent.layer.name} with a finer grid; choose another with --layer).`);
  } else {
    throw new CraftError(
      'model',
      `No layer before ${parent.layer.name} can be used to refine: none is a non-negative 4-D feature map on the crops without a skip connection crossing it.`,
      'Refining needs an earlier layer right after a ReLU (or a pooling after one); `craft layers` lists the layers of the model.',
    );
  }
  throwIfCancelled(o.signal);

  const out = refinedRoot(p.dir, o.out);
  const label = runClassName(parent);
  const writer = await BundleWriter.begin(out, runName(`${label} concept ${p.concept}`));
  let run: Run;
  try {
    // The crops, as files of the refined run: its own images, kept with it.
    for (const [k, crop] of crops.entries()) {
      throwIfCancelled(o.signal);
      await writer.writeFile(`${DATASET_FOLDER}/${cropFileName(k, crops.length, parent, crop)}`, await encodePng(crop.rgb, p.grid.patch, p.grid.patch, 3));
    }
    // The parent's class names (from a --labels file or the model), so the refined run names its class the same way.
    let labelsFile: string | undefined;
    if (parent.labels) {
      await writer.writeFile('labels.json', JSON.stringify(parent.labels));
      labelsFile = path.join(writer.tempDir, 'labels.json');
    }
    const [H, W] = parent.settings.preprocess.size;
    const options: ExplainOptions = {
      ...DEFAULTS,
      model: parent.model.path,
      images: path.join(writer.tempDir, DATASET_FOLDER),
      classId: parent.class.index,
      layer,
      size: [H, W],
      labelsFile,
      preprocess: childPreprocess(parent),
      concepts: r,
      // Each crop is factorised whole: one crop per image, so the NMF's rows are exactly the crops kept.
      patch: H,
      batch: o.batch ?? parent.settings.batchSize,
      designs: o.designs ?? parent.settings.designs,
      provider: o.provider,
      out,
      tol: parent.settings.nmf.tol,
      maxIter: parent.settings.nmf.maxIter,
      alphaW: parent.settings.nmf.alphaW,
      mapPercentile: parent.settings.mapPercentile,
      topCrops: o.topCrops ?? DEFAULTS.topCrops,
      threads: o.threads,
      signal: o.signal,
      onProgress: o.onProgress,
      log: o.log,
    };
    checkEngineOptions(options);
    run = new Run(options, writer);
    run.parent = {
      run: parentLinkPath(out, p.dir),
      concept: p.concept,
      percentile: REFINE_PERCENTILE,
      threshold: p.selection.threshold,
      crops: p.selection.crops,
    };
    run.warnings.push(...notes);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const { dir, bundle } = await runStages(run);
  // As readBundle gives it: the images' folder (recorded relative to the run) as an absolute path.
  return { dir, bundle: { ...bundle, datasetRoot: path.resolve(dir, bundle.datasetRoot) }, parentDir: p.dir, parent, concept: p.concept };
}

/**
 * Several classes in one run (docs/method.md §12), like xplique's CraftManager: one normal run per
 * class, written into a set folder beside classes.json (the classes, their runs, the model's confusion
 * between them, the concepts each pair shares). Shared by every class: the model preparation (layer,
 * g/h split, probe, provider; once), and by prediction the pass over the folder (each image decoded
 * once, the whole model run once on it). The set folder appears only when every class is done: a
 * failure or a cancel removes it whole.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as ort from 'onnxruntime-node';
import { BundleWriter, LATEST_FILE, folderSlug, runName } from '../bundle/writer';
import { CraftError, throwIfCancelled } from '../errors';
import { explain, samePlace } from '../explain';
import { listImages } from '../images/list';
import { firstReadable, unreadableText } from '../images/load';
import { PixelStore } from '../images/pixel-store';
import { findLabels } from '../labels';
import { describeModel } from '../onnx/inspect';
import { checkEngineOptions } from '../option-table';
import type { ClassSetOptions, ExplainOptions, Progress } from '../options';
import { effectiveBatch } from '../run';
import { prepareSharedModel, type PreparedRun, type SharedModel } from '../stages/model';
import { toolVersion } from '../stages/write';
import { classFolders, className, countsText, resolveClasses, type SetClass } from './assign';
import { comparePairs, folderConfusion, runnerUpConfusion } from './compare';
import { CLASS_SET_FILE } from './index-file';
import { predictImages, storeLoader, type PredictedImage } from './predict';
import { CLASS_SET_VERSION, type ClassSet, type ResultsBundle } from '../../protocol';

export interface ClassSetResult {
  /** The set folder (it holds classes.json and one run folder per class). */
  dir: string;
  index: ClassSet;
  /** Each class's run folder (inside `dir`) and bundle, in the order of the classes. */
  runs: { dir: string; bundle: ResultsBundle }[];
}

/** What each class's run gets: its folder's name, its images (and how to read them), where they came from. */
interface ClassPlan {
  cls: SetClass;
  images: string;
  prepared: Omit<PreparedRun, 'model'>;
  source: string;
}

export async function explainClasses(o: ClassSetOptions): Promise<ClassSetResult> {
  checkEngineOptions(o);
  const log = o.log ?? (() => undefined);
  const t0 = performance.now();
  const mode: ClassSet['mode'] = o.byPrediction ? 'predictions' : 'folders';
  checkSetOptions(o);
  const info = describeModel(o.model);
  const { labels } = findLabels(o.model, info.metadata, o.labelsFile);
  // Before any work: unknown classes and a class given twice. (With h as its own file the model's
  // output is g's: the range of the indices is checked once h is read.)
  const classes = resolveClasses(o.classes, o.hModel ? undefined : info.numClasses, labels);
  const n = classes.length;
  const shared = (label: string) => (p: Progress) => o.onProgress?.({ ...p, part: { index: 0, of: n, label } });
  const sessions: ort.InferenceSession[] = [];
  let store: PixelStore | undefined;
  let writer: BundleWriter | undefined;
  try {
    const timings: Record<string, number> = {};
    let plans: ClassPlan[];
    let model: SharedModel;
    let predicted: PredictedImage[] = [];
    let unassigned: ClassSet['unassigned'];
    if (mode === 'folders') {
      const folders = await classFolders(classes, o.images, o.classFolders);
      const listed = await Promise.all(
        folders.map(async (folder) => {
          const skipped: { file: string; reason: string }[] = [];
          const files = await listImages(folder, { exclude: [o.out], onSkip: (file, reason) => skipped.push({ file, reason }) });
          return { folder, files, skipped };
        }),
      );
      const empty = classes.filter((_, k) => listed[k].files.length === 0);
      if (empty.length > 0) {
        throw new CraftError(
          'input',
          `The folder of ${empty.map(className).join(', ')} holds no images (${empty.map((c) => listed[classes.indexOf(c)].folder).join(', ')}). Images per class: ${countsText(
            classes,
            listed.map((l) => l.files.length),
          )}.`,
          'Put images of each class in its folder (PNG, JPEG, WebP, GIF or TIFF, sub-folders included).',
        );
      }
      // A class none of whose images can be read would fail only after the classes before it are computed.
      for (const [k, l] of listed.entries()) {
        throwIfCancelled(o.signal);
        const { file, failures } = await firstReadable(l.files, { maxPixels: o.maxPixels });
        if (!file) {
          throw new CraftError(
            'input',
            `None of the ${l.files.length} images of ${className(classes[k])} (${l.folder}) could be read (${unreadableText(failures)}).`,
            'Check the image files, or choose another folder for the class.',
          );
        }
      }
      plans = classes.map((cls, k) => ({
        cls,
        images: listed[k].folder,
        source: listed[k].folder,
        prepared: { files: listed[k].files, name: folderSlug(className(cls)), listingSkipped: listed[k].skipped },
      }));
      log(`Classes: ${plans.map((p, k) => `${className(p.cls)} ← ${p.source} (${listed[k].files.length} images)`).join('; ')}.`);
      model = await prepare(o, listed[0].files, info, log, shared('all classes'), timings);
      writer = await BundleWriter.begin(o.out, setName(classes));
    } else {
      const root = o.images!;
      const skippedListing: string[] = [];
      const files = await listImages(root, { exclude: [o.out], onSkip: (file, reason) => skippedListing.push(`${file}: ${reason}`) });
      for (const line of skippedListing) log(`Skipped ${line}`);
      if (files.length === 0) {
        throw new CraftError(
          'input',
          `No images found in ${root}.`,
          "CRAFT reads PNG, JPEG, WebP, GIF and TIFF files (sub-folders included). With --by-prediction, choose the folder of every class's images.",
        );
      }
      model = await prepare(o, files, info, log, shared('all classes'), timings);
      writer = await BundleWriter.begin(o.out, setName(classes));
      const [H, W] = model.preprocess.size;
      store = await PixelStore.create(path.join(writer.tempDir, '.pixels'), W, H);
      const start = performance.now();
      const progress = shared('all images');
      const result = await predictImages({
        files,
        root,
        model,
        store,
        batch: effectiveBatch(o.batch, 3 * H * W, model.info.fixedBatch),
        maxPixels: o.maxPixels,
        signal: o.signal,
        onProgress: (done, total) => progress({ stage: 'activations', done, total, unit: 'images' }),
        onSkip: (s) => log(`Skipped ${s.path}: ${s.reason}`),
        own: (s) => {
          sessions.push(s);
          return s;
        },
      });
      timings.predictions = (performance.now() - start) / 1000;
      plans = assignByPrediction(classes, result.images, root, o.maxImages, store, model, labels);
      const used = new Set(plans.flatMap((p) => p.prepared.files));
      predicted = result.images.filter((im) => used.has(im.file));
      const others: Record<string, number> = {};
      for (const im of result.images) {
        if (classes.some((c) => c.index === im.predicted)) continue;
        const name = labels?.[im.predicted] ?? `class ${im.predicted}`;
        others[name] = (others[name] ?? 0) + 1;
      }
      unassigned = { predicted: others, unreadable: result.skipped.length };
      log(
        `Predictions: ${result.images.length} images (${result.skipped.length} unreadable) in ${timings.predictions.toFixed(2)} s; ${plans
          .map((p) => `${className(p.cls)} ${p.prepared.files.length}`)
          .join(', ')}${Object.keys(others).length ? `; left out, predicted as another class: ${Object.values(others).reduce((a, b) => a + b, 0)}` : ''}.`,
      );
    }

    const runs: { dir: string; bundle: ResultsBundle }[] = [];
    for (const [k, plan] of plans.entries()) {
      throwIfCancelled(o.signal);
      log(`Class ${k + 1}/${n}: ${className(plan.cls)} (${plan.prepared.files.length} images).`);
      const { classes: _classes, byPrediction: _byPrediction, classFolders: _classFolders, ...rest } = o;
      const options: ExplainOptions = {
        ...rest,
        classId: plan.cls.index,
        images: plan.images,
        out: writer.tempDir,
        // The set's classes share the results root's cache (not one inside the set, gone with its temporary name).
        cacheRoot: o.out,
        // By prediction the cap was applied when the images were shared out (the first N of each class).
        maxImages: mode === 'folders' ? o.maxImages : undefined,
        onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, part: { index: k, of: n, label: className(plan.cls) } })),
      };
      runs.push(await explain(options, { ...plan.prepared, model }));
    }
    // Each class's commit pointed a latest.json inside the set at itself; the results root's will point at the set.
    await fs.promises.rm(path.join(writer.tempDir, LATEST_FILE), { force: true });
    await store?.dispose();

    const indices = classes.map((c) => c.index);
    const confusion =
      mode === 'folders'
        ? folderConfusion(
            indices,
            runs.map((r) => r.bundle.images.map((im) => im.predicted ?? -1)),
          )
        : runnerUpConfusion(indices, predicted);
    const { pairs, mostConfused } = comparePairs(
      runs.map((r) => r.bundle.W),
      confusion,
    );
    timings.total = (performance.now() - t0) / 1000;
    const index: ClassSet = {
      version: CLASS_SET_VERSION,
      createdAt: new Date().toISOString(),
      tool: toolVersion(),
      model: path.resolve(o.model),
      layer: model.layer,
      mode,
      datasetRoot: o.images ? path.resolve(o.images) : undefined,
      classes: plans.map((p, k) => ({
        index: p.cls.index,
        label: p.cls.label,
        run: path.basename(runs[k].dir),
        images: runs[k].bundle.images.length,
        source: p.source,
      })),
      confusion,
      pairs,
      mostConfused,
      unassigned,
      timings,
    };
    const dir = await writer.commitWith(CLASS_SET_FILE, index, (line) => log(`Warning: ${line}`));
    if (mostConfused) {
      const pair = pairs.find((p) => p.a === mostConfused.a && p.b === mostConfused.b)!;
      const [a, b] = [plans[pair.a].cls, plans[pair.b].cls];
      log(
        `Most confused pair: ${className(a)} / ${className(b)} (${pair.confused} images); most similar concepts: ${pair.matches
          .slice(0, 3)
          .map((m) => `${m.a}/${m.b} cos ${m.cosine.toFixed(3)}`)
          .join(', ')}.`,
      );
    }
    return { dir, index, runs: runs.map((r) => ({ dir: path.join(dir, path.basename(r.dir)), bundle: r.bundle })) };
  } catch (e) {
    await store?.dispose().catch(() => undefined);
    await writer?.abort();
    throw e;
  } finally {
    for (const s of sessions.splice(0)) await s.release().catch(() => undefined);
  }
}

function checkSetOptions(o: ClassSetOptions): void {
  if (o.byPrediction && o.classFolders && Object.keys(o.classFolders).length > 0) {
    throw new CraftError(
      'usage',
      'By prediction, the images of every class are in one folder ("images"), so "classFolders" does not apply.',
      'Remove "classFolders" from the config file, or drop --by-prediction to use each class\'s folder.',
    );
  }
  if (o.byPrediction && !o.images) throw new CraftError('usage', 'By prediction needs the folder of images (--images).');
  if (o.images && samePlace(o.out, o.images)) {
    throw new CraftError(
      'usage',
      `The results folder is the image folder (${o.images}): the next run would read this run's pictures as images.`,
      'Write the results into a sub-folder such as .craft (--out), or elsewhere.',
    );
  }
}

/** The model preparation every class shares, timed (stage 'model' of the set). */
async function prepare(
  o: ClassSetOptions,
  files: string[],
  info: ReturnType<typeof describeModel>,
  log: (line: string) => void,
  progress: (p: Progress) => void,
  timings: Record<string, number>,
): Promise<SharedModel> {
  const start = performance.now();
  progress({ stage: 'model', done: 0, total: 1, unit: 'steps' });
  const model = await prepareSharedModel(o, files, log, info);
  throwIfCancelled(o.signal);
  progress({ stage: 'model', done: 1, total: 1, unit: 'steps' });
  timings.model = (performance.now() - start) / 1000;
  return model;
}

/** The set folder's name: 20261130-211145-set-ankle-boot-sneaker. */
function setName(classes: SetClass[]): string {
  return runName(`set ${classes.map(className).join(' ')}`);
}

/**
 * Each class gets the images the model predicts as it (the first `maxImages` of them, in file order,
 * as CraftManager's nb_samples_per_class); a class predicted for no image is an input error that says
 * how many each class got.
 */
function assignByPrediction(
  classes: SetClass[],
  images: PredictedImage[],
  root: string,
  maxImages: number | undefined,
  store: PixelStore,
  model: SharedModel,
  labels: string[] | undefined,
): ClassPlan[] {
  const mine = classes.map((c) => images.filter((im) => im.predicted === c.index));
  const empty = classes.filter((_, k) => mine[k].length === 0);
  if (empty.length > 0) {
    const others = new Map<number, number>();
    for (const im of images) if (!classes.some((c) => c.index === im.predicted)) others.set(im.predicted, (others.get(im.predicted) ?? 0) + 1);
    const top = [...others.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 5)
      .map(([c, count]) => `${labels?.[c] ?? `class ${c}`} ${count}`);
    throw new CraftError(
      'input',
      `No image of ${root} is predicted as ${empty.map(className).join(', ')}. Images per class (by the model's prediction): ${countsText(
        classes,
        mine.map((m) => m.length),
      )}${others.size ? `; predicted as other classes: ${top.join(', ')}${others.size > 5 ? ', …' : ''}` : ''}.`,
      'Add images the model predicts as each class to the folder, leave those classes out, or give each class its own folder (without --by-prediction).',
    );
  }
  const load = storeLoader(store, images, model);
  return classes.map((cls, k) => ({
    cls,
    images: root,
    source: root,
    prepared: { files: mine[k].slice(0, maxImages ?? Infinity).map((im) => im.file), name: folderSlug(className(cls)), load },
  }));
}

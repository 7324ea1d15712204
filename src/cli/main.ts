import * as fs from 'fs';
import * as path from 'path';
import { checkCommand, parseArgs, value, type ParsedArgs } from './args';
import { SIGNAL_EXIT, helpText } from './help';
import { ProgressPrinter, formatSeconds } from './progress';
import { CancelledError, CraftError, type ErrorKind } from '../craft/errors';
import { DEFAULTS, isClassSet, runOptions, type ClassSetOptions, type ExplainOptions, type GatheredOptions, type Progress } from '../craft/options';
import { OPTIONS, option, suggest, type OptionName, type OptionSpec } from '../craft/option-table';
import { checkRegularFile, readConfigFile } from '../craft/config';
import { explain } from '../craft/explain';
import { explainClasses } from '../craft/classes/set';
import { printClassSet } from './class-set';
import { listLayers } from '../craft/layers';
import { writeReport } from '../craft/bundle/report';
import { removePartialsOf } from '../craft/bundle/partials';
import { describeModel } from '../craft/onnx/inspect';
import { findLabels, resolveClass } from '../craft/labels';
import { toolVersion } from '../craft/stages/write';
import { refine } from '../craft/refine/refine';
import { REFINE_PERCENTILE } from '../craft/refine/select';
import { refinedRoot } from '../craft/refine/children';
import { CACHE_USAGE, runCache } from './cache-command';
import type { PreprocessConfig, ProviderRequest, ResultsBundle } from '../protocol';

const EXIT: Record<Exclude<ErrorKind, 'cancelled'>, number> = { usage: 2, input: 3, model: 4, provider: 5, io: 6 };

const USAGE = {
  explain: 'craft explain --model M.onnx --images DIR --class K|LABEL [options]   (craft --help lists them)',
  layers: 'craft layers --model M.onnx [--size H[xW]] [--images DIR] [--preset NAME] [--provider NAME] [--json]',
  report: 'craft report RESULTS_DIR [--output FILE.html] [--include-paths]',
  refine: 'craft refine RESULTS_DIR --concept K|#N|NAME [--layer TENSOR] [--concepts R] [options]',
  cache: CACHE_USAGE,
};

type StopSignal = keyof typeof SIGNAL_EXIT;

/** What a signal handler needs to know about the command in progress. */
interface Stopping {
  /** The first signal received; the exit code follows it. */
  by?: StopSignal;
  /** True while an explain run can be cancelled (it then removes its partial results itself). */
  cancellable: boolean;
  /** Removes what a run had begun (its hidden partial folder, by its owner pid), for a stop that cannot wait. */
  cleanup?: () => Promise<unknown>;
}

export async function main(argv: string[]): Promise<number> {
  const printer = new ProgressPrinter();
  const controller = new AbortController();
  const stopping: Stopping = { cancellable: false };
  // SIGINT, SIGTERM and SIGHUP all cancel a run the same way: the engine stops at its next check
  // and removes its partial folder, then the CLI exits 128 + the signal's number. A second signal
  // (or one while nothing can be cancelled) stops at once, removing the partial folder itself.
  const onSignal = (signal: StopSignal) => {
    if (stopping.by || !stopping.cancellable) {
      printer.endLine();
      process.stderr.write(`craft: stopped (${signal}).\n`);
      void (stopping.cleanup?.() ?? Promise.resolve()).finally(() => process.exit(SIGNAL_EXIT[signal]));
      return;
    }
    stopping.by = signal;
    printer.log(`craft: ${signal === 'SIGINT' ? 'cancelling' : `${signal}: cancelling`}… (again to stop at once)`);
    controller.abort();
  };
  const handlers = (Object.keys(SIGNAL_EXIT) as StopSignal[]).map((signal) => [signal, () => onSignal(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    const args = parseArgs(argv);
    if (args.given.has('version')) {
      const v = toolVersion();
      process.stdout.write(`${v.name} ${v.version}\n`);
      return 0;
    }
    if (args.given.has('help') || args.command === undefined || args.command === 'help') {
      process.stdout.write(helpText());
      return args.command === undefined && !args.given.has('help') ? 2 : 0;
    }
    switch (args.command) {
      case 'explain':
        return await runExplain(args, printer, controller.signal, stopping);
      case 'layers':
        return await runLayers(args);
      case 'report':
        return await runReport(args);
      case 'refine':
        return await runRefine(args, printer, controller.signal, stopping);
      case 'cache':
        return await runCache(args);
      default: {
        const near = suggest(args.command, Object.keys(USAGE));
        throw new CraftError(
          'usage',
          `Unknown command ${JSON.stringify(args.command)}.${near ? ` Did you mean ${near}?` : ''}`,
          'Commands: explain, layers, report, refine, cache. Run `craft --help`.',
        );
      }
    }
  } catch (e) {
    printer.endLine();
    // The one place the CLI maps the engine's cancellation to an exit code.
    if (e instanceof CancelledError) {
      process.stderr.write('craft: cancelled; no results were written.\n');
      return SIGNAL_EXIT[stopping.by ?? 'SIGINT'];
    }
    if (e instanceof CraftError) {
      process.stderr.write(`craft: ${e.full}\n`);
      return EXIT[e.kind as Exclude<ErrorKind, 'cancelled'>];
    }
    process.stderr.write(`craft: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  }
}

const isPath = (o: OptionSpec) => o.type === 'file' || o.type === 'folder' || o.type === 'path';

/**
 * The options of `craft explain`: the table's defaults, then the --config file, then the flags.
 * Files the run will open (model, h, labels) must be regular files: a usage error names the flag or
 * the config key that gave them. Several classes (or --by-prediction) make a run over several classes.
 */
function explainOptions(args: ParsedArgs): ExplainOptions | ClassSetOptions {
  checkCommand(args, 'explain', { min: 0, max: 0, usage: USAGE.explain });
  const configFile = value<string>(args, 'config');
  let fromFile: Partial<GatheredOptions> = {};
  if (configFile !== undefined) {
    checkRegularFile(path.resolve(configFile), '--config');
    fromFile = readConfigFile(path.resolve(configFile), configFile);
  }
  const fromFlags: Record<string, unknown> = {};
  const preprocess: Record<string, unknown> = { ...(fromFile.preprocess ?? {}) };
  for (const [name, v] of args.values) {
    const o = option(name as OptionName);
    if (!o.target) continue; // --config, --json, --quiet: not run options
    const given = isPath(o) ? path.resolve(v as string) : v;
    if (o.name === 'bgr') preprocess.channelOrder = 'BGR';
    else if (o.target.startsWith('preprocess.')) preprocess[o.target.slice('preprocess.'.length)] = given;
    else fromFlags[o.target] = given;
  }
  const merged: Partial<GatheredOptions> = {
    ...fromFile,
    ...fromFlags,
    ...(Object.keys(preprocess).length ? { preprocess: preprocess as Partial<PreprocessConfig> } : {}),
  };
  for (const key of ['model', 'images', 'classId'] as const) {
    // Several classes may each have their folder in "classFolders" instead.
    if (key === 'images' && Array.isArray(merged.classId) && merged.classFolders) continue;
    if (merged[key] === undefined) {
      throw new CraftError('usage', `Missing --${option(key).flag}.`, 'Run `craft --help` for usage, or pass --config FILE.');
    }
  }
  for (const o of OPTIONS as readonly OptionSpec[]) {
    if (o.type !== 'file' || !o.target) continue;
    const file = (merged as Record<string, unknown>)[o.target] as string | undefined;
    if (file !== undefined) checkRegularFile(file, o.target in fromFlags ? `--${o.flag}` : `${configFile}: "${o.config}"`);
  }
  return runOptions({
    ...DEFAULTS,
    out: path.resolve(option('out').default as string),
    cacheSize: option('cacheSize').default as number,
    ...merged,
  } as GatheredOptions);
}

/**
 * The class as the user knows it ("Ankle boot", else "class 9") for the progress line. Best effort: a
 * model or class the run will refuse is reported by the run itself, with its own message.
 */
function classLabel(options: ExplainOptions): string {
  try {
    const info = describeModel(options.model);
    const { labels } = findLabels(options.model, info.metadata, options.labelsFile);
    const cls = resolveClass(options.classId, info.numClasses, labels);
    return cls.label ?? `class ${cls.index}`;
  } catch {
    return `class ${options.classId}`;
  }
}

/** Warnings reach the user even with --quiet: they say the results may not mean what they seem to. */
const isWarning = (line: string) => line.startsWith('Warning:');

async function runExplain(args: ParsedArgs, printer: ProgressPrinter, signal: AbortSignal, stopping: Stopping): Promise<number> {
  const quiet = args.given.has('quiet');
  const options = explainOptions(args);
  // A run over several classes names each class in its progress lines.
  if (!quiet && !isClassSet(options)) printer.label = classLabel(options);
  const { hooks, done } = runHooks(options.out, quiet, printer, signal, stopping);
  if (isClassSet(options)) {
    const result = await explainClasses({ ...options, ...hooks }).finally(done);
    printer.endLine();
    process.stdout.write(printClassSet(result, args.given.has('json')));
    return 0;
  }
  const { dir, bundle } = await explain({ ...options, ...hooks }).finally(done);
  printer.endLine();
  if (args.given.has('json')) {
    process.stdout.write(JSON.stringify(runJson(dir, bundle)) + '\n');
    return 0;
  }
  const head = `CRAFT: class ${classText(bundle)}, layer ${bundle.layer.name}, ${bundle.images.length} images, ${bundle.concepts.length} concepts, provider ${bundle.provider.toUpperCase()}, ${formatSeconds(bundle.timings.total)}`;
  process.stdout.write(summaryText(head, 'Concepts by importance (Sobol total order, share of total):', 'concept', dir, bundle));
  return 0;
}

/**
 * What a run's process hooks into the engine: cancellation, progress (none with --quiet), the log (only
 * warnings with --quiet), and the partial results a stop removes. `done` when the run is over.
 */
function runHooks(partialRoot: string, quiet: boolean, printer: ProgressPrinter, signal: AbortSignal, stopping: Stopping) {
  stopping.cleanup = () => removePartialsOf(partialRoot, process.pid);
  stopping.cancellable = true;
  const hooks = {
    signal,
    onProgress: quiet ? undefined : (p: Progress) => printer.update(p),
    log: (line: string) => {
      if (!quiet || isWarning(line)) printer.log(line);
    },
  };
  const done = () => {
    stopping.cancellable = false;
    stopping.cleanup = undefined;
  };
  return { hooks, done };
}

/** "9 (Ankle boot)", or "9". */
function classText(bundle: ResultsBundle): string {
  return bundle.class.label ? `${bundle.class.index} (${bundle.class.label})` : String(bundle.class.index);
}

/** What --json prints of every run. */
function runJson(dir: string, bundle: ResultsBundle) {
  return { dir, provider: bundle.provider, importances: bundle.importances, ranking: bundle.ranking, timings: bundle.timings, warnings: bundle.warnings };
}

/** The summary after a run: its head line, the concepts by importance (`noun` 1: …), its warnings, its folder. */
function summaryText(head: string, title: string, noun: string, dir: string, bundle: ResultsBundle): string {
  const lines = [
    head,
    title,
    ...bundle.ranking.map(
      (c, k) => `  ${String(k + 1).padStart(2)}. ${noun} ${c}: ${bundle.importances[c].toFixed(4)} (${(100 * bundle.concepts[c].share).toFixed(1)}%)`,
    ),
    ...(bundle.warnings.length ? ['Warnings:', ...bundle.warnings.map((w) => `  - ${w}`)] : []),
    `Results: ${dir}`,
  ];
  return lines.join('\n') + '\n';
}

async function runLayers(args: ParsedArgs): Promise<number> {
  checkCommand(args, 'layers', { min: 0, max: 0, usage: USAGE.layers });
  const model = value<string>(args, 'model');
  if (!model) throw new CraftError('usage', 'Missing --model.', `Usage: ${USAGE.layers}`);
  checkRegularFile(path.resolve(model), '--model');
  const images = value<string>(args, 'images');
  const result = await listLayers({
    model: path.resolve(model),
    size: value<[number, number]>(args, 'size'),
    images: images === undefined ? undefined : path.resolve(images),
    preset: value<string>(args, 'preset'),
    // A listing probes one batch: the CPU is enough, and loads everywhere.
    provider: value<ProviderRequest>(args, 'provider') ?? 'cpu',
  });
  if (args.given.has('json')) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  process.stdout.write(`Candidate layers of ${model} (probe: ${result.probe}):\n`);
  for (const layer of result.layers) {
    const mark = layer.name === result.defaultLayer ? '*' : ' ';
    const sign = layer.nonNegative ? '≥0' : 'has negatives (unusable: NMF needs ≥ 0)';
    process.stdout.write(`${mark} ${layer.name}  [${layer.shape.join(', ')}]  ${layer.op}  ${sign}\n`);
  }
  process.stdout.write(result.defaultLayer ? `* default: ${result.defaultLayer}\n` : 'No usable layer found.\n');
  return 0;
}

async function runReport(args: ParsedArgs): Promise<number> {
  if (args.positional.length === 0) throw new CraftError('usage', 'Missing RESULTS_DIR.', `Usage: ${USAGE.report}`);
  checkCommand(args, 'report', { min: 1, max: 1, usage: USAGE.report });
  const output = value<string>(args, 'output');
  const file = await writeReport(path.resolve(args.positional[0]), output === undefined ? undefined : path.resolve(output), {
    includePaths: args.given.has('includePaths'),
  });
  process.stdout.write(`Report: ${file}\n`);
  return 0;
}

/** craft refine: the crops where one concept of a run is strong, factorised again at an earlier layer (docs/method.md §8). */
async function runRefine(args: ParsedArgs, printer: ProgressPrinter, signal: AbortSignal, stopping: Stopping): Promise<number> {
  if (args.positional.length === 0) throw new CraftError('usage', 'Missing RESULTS_DIR (the run folder whose concept to refine).', `Usage: ${USAGE.refine}`);
  checkCommand(args, 'refine', { min: 1, max: 1, usage: USAGE.refine });
  const concept = value<string>(args, 'concept');
  if (concept === undefined) throw new CraftError('usage', 'Missing --concept: which concept to refine.', `Usage: ${USAGE.refine}`);
  const quiet = args.given.has('quiet');
  const out = value<string>(args, 'out');
  const runDir = path.resolve(args.positional[0]);
  if (!quiet) printer.label = refineLabel(runDir, concept);
  const partialRoot = refinedRoot(runDir, out);
  const { hooks, done } = runHooks(partialRoot, quiet, printer, signal, stopping);
  const result = await refine({
    run: runDir,
    concept,
    layer: value<string>(args, 'layer'),
    concepts: value<number>(args, 'concepts'),
    designs: value<number>(args, 'designs'),
    batch: value<number>(args, 'batch'),
    provider: value<ProviderRequest>(args, 'provider') ?? (option('provider').default as ProviderRequest),
    out: out === undefined ? undefined : path.resolve(out),
    threads: value<number>(args, 'threads'),
    topCrops: value<number>(args, 'topCrops'),
    ...hooks,
  }).finally(done);
  printer.endLine();
  const { dir, bundle } = result;
  const link = bundle.parent!;
  if (args.given.has('json')) {
    const json = {
      ...runJson(dir, bundle),
      parent: result.parentDir,
      concept: result.concept,
      layer: bundle.layer.name,
      percentile: link.percentile,
      threshold: link.threshold,
      crops: link.crops.length,
    };
    process.stdout.write(JSON.stringify(json) + '\n');
    return 0;
  }
  const p = result.parent;
  const head =
    `CRAFT refine: concept ${result.concept} of class ${classText(p)} at ${p.layer.name}: ${link.crops.length} crops with a coefficient ≥ ${link.threshold.toPrecision(4)} (its ${REFINE_PERCENTILE}th percentile), ` +
    `factorised at ${bundle.layer.name} into ${bundle.concepts.length} sub-concepts, provider ${bundle.provider.toUpperCase()}, ${formatSeconds(bundle.timings.total)}`;
  process.stdout.write(
    summaryText(head, 'Sub-concepts by importance (Sobol total order through the rest of the model, share of total):', 'sub-concept', dir, bundle),
  );
  return 0;
}

/** "Ankle boot › concept #1" for the progress line; best effort (the run itself reports a folder it cannot read). */
function refineLabel(runDir: string, concept: string): string {
  try {
    const b = JSON.parse(fs.readFileSync(path.join(runDir, 'results.json'), 'utf8')) as { class?: { index?: number; label?: string } };
    return `${b.class?.label ?? `class ${b.class?.index ?? '?'}`} › concept ${concept}`;
  } catch {
    return `concept ${concept}`;
  }
}

import * as path from 'path';
import { intFlag, numberFlag, parseArgs, type ParsedArgs } from './args';
import { ProgressPrinter, formatSeconds } from './progress';
import { CancelledError, CraftError, type ErrorKind } from '../craft/errors';
import { DEFAULTS, type ExplainOptions } from '../craft/options';
import { parseSize, readConfigFile } from '../craft/config';
import { explain } from '../craft/explain';
import { listLayers } from '../craft/layers';
import { writeReport } from '../craft/bundle/report';
import type { PreprocessConfig, ProviderRequest } from '../protocol';

const HELP = `craft — explain an ONNX image classifier's decision for one class with CRAFT concepts
(Fel et al., "CRAFT: Concept Recursive Activation FacTorization for Explainability", CVPR 2023)

Usage:
  craft explain --model M.onnx --images DIR --class K|LABEL [options]
  craft explain --config craft.config.json [options]
  craft layers  --model M.onnx [--size H[xW]] [--images DIR]
  craft report  RESULTS_DIR [--output FILE.html]   (a standalone HTML page of a run)

explain options:
  --model FILE        the classifier (ONNX), or g when --h is given
  --h FILE            h as a separate ONNX file (then --model is g; its output is the layer)
  --images DIR        folder of images (searched recursively; png, jpeg, webp, gif, tiff)
  --class K|LABEL     class index or label
  --layer TENSOR      split tensor (default: the last non-negative 4-D map before global pooling;
                      list them with \`craft layers\`)
  --size H[xW]        model input size when the model's input size is dynamic
  --labels FILE       class names (JSON array or one per line); default: labels.json/labels.txt
                      beside the model, else the model's metadata
  --preset NAME       preprocessing preset: [0,1] (default), imagenet, [-1,1]
  --mean A,B,C        per-channel mean subtracted after scaling (overrides the preset)
  --std A,B,C         per-channel std divided after the mean (overrides the preset)
  --bgr               feed channels in BGR order
  --resize KERNEL     image resize filter: bilinear (default, like PIL), bicubic, lanczos3, nearest
  --concepts N        number of concepts r (default ${DEFAULTS.concepts})
  --patch P           crop size in model-input pixels (default ${DEFAULTS.patch}; stride ⌊0.8·P⌋)
  --batch N           batch size for every forward pass (default ${DEFAULTS.batch})
  --designs N         Sobol designs per concept block, nb_design (default ${DEFAULTS.designs})
  --provider NAME     auto (CUDA if it loads, else CPU), cpu or cuda (default auto)
  --out DIR           results root; each run gets its own folder (default .craft)
  --max-images N      use only the first N images (sorted by path)
  --alpha-w X         NMF L2 regularisation alpha_W (default 0, as craft_torch.py)
  --threads N         ONNX Runtime intra-op threads (default: all cores)
  --config FILE       read options from a JSON config file (flags override it)
  --json              print the results folder and summary as JSON on stdout
  --quiet             no progress on stderr

Exit codes: 0 done, 2 bad usage, 3 bad input data, 4 model problem, 5 execution provider,
6 cannot write results, 130 cancelled, 1 unexpected error.
`;

const EXIT: Record<ErrorKind, number> = { usage: 2, input: 3, model: 4, provider: 5, io: 6, cancelled: 130 };

const VALUE_FLAGS = [
  'model', 'h', 'images', 'class', 'layer', 'size', 'labels', 'preset', 'concepts', 'patch', 'batch',
  'designs', 'provider', 'out', 'max-images', 'alpha-w', 'threads', 'config', 'output', 'mean', 'std', 'resize',
];

export async function main(argv: string[]): Promise<number> {
  const printer = new ProgressPrinter();
  const controller = new AbortController();
  const onSigint = () => {
    printer.log('craft: cancelling…');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const args = parseArgs(argv, { values: VALUE_FLAGS, switches: ['help', 'json', 'quiet', 'version', 'bgr'] });
    if (args.switches.has('help') || args.command === undefined || args.command === 'help') {
      process.stdout.write(HELP);
      return args.command === undefined && !args.switches.has('help') ? 2 : 0;
    }
    switch (args.command) {
      case 'explain':
        return await runExplain(args, printer, controller.signal);
      case 'layers':
        return await runLayers(args);
      case 'report':
        return await runReport(args);
      default:
        throw new CraftError('usage', `Unknown command ${JSON.stringify(args.command)}.`, 'Commands: explain, layers, report. Run `craft --help`.');
    }
  } catch (e) {
    printer.endLine();
    if (e instanceof CancelledError) {
      process.stderr.write('craft: cancelled; no results were written.\n');
      return EXIT.cancelled;
    }
    if (e instanceof CraftError) {
      process.stderr.write(`craft: ${e.full}\n`);
      return EXIT[e.kind];
    }
    process.stderr.write(`craft: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function explainOptions(args: ParsedArgs): ExplainOptions {
  const fromFile: Partial<ExplainOptions> = args.flags.has('config') ? readConfigFile(args.flags.get('config')!) : {};
  const abs = (name: string) => (args.flags.has(name) ? path.resolve(args.flags.get(name)!) : undefined);
  const provider = args.flags.get('provider');
  if (provider !== undefined && !['auto', 'cpu', 'cuda'].includes(provider)) {
    throw new CraftError('usage', `--provider must be auto, cpu or cuda, got ${JSON.stringify(provider)}.`);
  }
  const preprocess: Partial<PreprocessConfig> = { ...(fromFile.preprocess ?? {}) };
  if (args.flags.has('mean')) preprocess.mean = triple(args, 'mean');
  if (args.flags.has('std')) preprocess.std = triple(args, 'std');
  if (args.switches.has('bgr')) preprocess.channelOrder = 'BGR';
  if (args.flags.has('resize')) preprocess.resize = args.flags.get('resize') as PreprocessConfig['resize'];
  const merged: Partial<ExplainOptions> = {
    ...fromFile,
    ...(Object.keys(preprocess).length ? { preprocess } : {}),
    ...defined({
      model: abs('model'),
      hModel: abs('h'),
      images: abs('images'),
      classId: args.flags.get('class'),
      layer: args.flags.get('layer'),
      size: args.flags.has('size') ? parseSize(args.flags.get('size')) : undefined,
      labelsFile: abs('labels'),
      preset: args.flags.get('preset'),
      concepts: intFlag(args, 'concepts'),
      patch: intFlag(args, 'patch'),
      batch: intFlag(args, 'batch'),
      designs: intFlag(args, 'designs', 2),
      provider: provider as ProviderRequest | undefined,
      out: abs('out'),
      maxImages: intFlag(args, 'max-images'),
      alphaW: numberFlag(args, 'alpha-w'),
      threads: intFlag(args, 'threads'),
    }),
  };
  for (const [key, flag] of [['model', '--model'], ['images', '--images'], ['classId', '--class']] as const) {
    if (merged[key] === undefined) {
      throw new CraftError('usage', `Missing ${flag}.`, 'Run `craft explain --help` for usage, or pass --config FILE.');
    }
  }
  return {
    ...DEFAULTS,
    out: path.resolve('.craft'),
    ...merged,
  } as ExplainOptions;
}

function triple(args: ParsedArgs, name: string): [number, number, number] {
  const parts = args.flags.get(name)!.split(',').map(Number);
  if (parts.length !== 3 || !parts.every(Number.isFinite)) {
    throw new CraftError('usage', `--${name} needs three comma-separated numbers (R,G,B), got ${JSON.stringify(args.flags.get(name))}.`);
  }
  return parts as [number, number, number];
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function runExplain(args: ParsedArgs, printer: ProgressPrinter, signal: AbortSignal): Promise<number> {
  const quiet = args.switches.has('quiet');
  const options = explainOptions(args);
  const { dir, bundle } = await explain({
    ...options,
    signal,
    onProgress: quiet ? undefined : (p) => printer.update(p),
    log: quiet ? undefined : (line) => printer.log(line),
  });
  printer.endLine();
  if (args.switches.has('json')) {
    process.stdout.write(JSON.stringify({ dir, provider: bundle.provider, importances: bundle.importances, ranking: bundle.ranking, timings: bundle.timings }) + '\n');
    return 0;
  }
  const cls = bundle.class.label ? `${bundle.class.index} (${bundle.class.label})` : String(bundle.class.index);
  const lines = [
    `CRAFT: class ${cls}, layer ${bundle.layer.name}, ${bundle.images.length} images, ${bundle.concepts.length} concepts, provider ${bundle.provider.toUpperCase()}, ${formatSeconds(bundle.timings.total)}`,
    'Concepts by importance (Sobol total order, share of total):',
    ...bundle.ranking.map((c, k) => `  ${String(k + 1).padStart(2)}. concept ${c}: ${bundle.importances[c].toFixed(4)} (${(100 * bundle.concepts[c].share).toFixed(1)}%)`),
    `Results: ${dir}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function runLayers(args: ParsedArgs): Promise<number> {
  const model = args.flags.get('model');
  if (!model) throw new CraftError('usage', 'Missing --model.', 'Usage: craft layers --model M.onnx [--size H[xW]]');
  const result = await listLayers({
    model: path.resolve(model),
    size: args.flags.has('size') ? parseSize(args.flags.get('size')) : undefined,
    images: args.flags.has('images') ? path.resolve(args.flags.get('images')!) : undefined,
    provider: (args.flags.get('provider') as ProviderRequest | undefined) ?? 'cpu',
  });
  if (args.switches.has('json')) {
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
  const dir = args.positional[0];
  if (!dir) throw new CraftError('usage', 'Missing RESULTS_DIR.', 'Usage: craft report RESULTS_DIR [--output FILE.html]');
  const file = await writeReport(path.resolve(dir), args.flags.has('output') ? path.resolve(args.flags.get('output')!) : undefined);
  process.stdout.write(`Report: ${file}\n`);
  return 0;
}

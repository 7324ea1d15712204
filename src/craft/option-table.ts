/**
 * The one table of CRAFT's options. Every surface reads it: the CLI parser and its --help (src/cli),
 * the config file check (config.ts), the arguments of the craft.explain command (extension/flow.ts),
 * the VS Code settings (extension/settings.ts) and the engine's own check (explain.ts). The JSON
 * schema and the manifest's settings are generated from it (option-schema.ts, written by
 * `npm run gen:options`, compared by `npm run build` and by test/unit/options.test.ts).
 */
import { CraftError } from './errors';
import { KERNELS, LAYOUTS, MAX_INPUT_SIDE, ORDERS, PRESET_NAMES, presetName } from './images/preprocess';
import type { ClassSetOptions, ExplainOptions } from './options';
import { PROVIDER_REQUESTS, type PreprocessConfig, type ProviderRequest } from '../protocol';

export type Command = 'explain' | 'layers' | 'report' | 'refine' | 'cache';
export const COMMANDS: readonly Command[] = ['explain', 'layers', 'report', 'refine', 'cache'];

/**
 * int, number: bounded by min..max (and `above`: a strict lower bound). file: a path that must name a
 * regular file; folder, path: other paths. class: an index or a label, or a list of them (several
 * classes in one run: a JSON array, or comma-separated on the command line). folders: an object of
 * folders by class (paths). choice: one of `choices`.
 * size: H, "HxW" or [H, W]; hw: [H, W] only. triple: three numbers (R,G,B; "A,B,C" on the command
 * line); pair: two numbers. switch: a flag without value (true/false elsewhere). object: the
 * "preprocess" object, whose fields are the entries named "preprocess.*".
 */
export type OptionType =
  'int' | 'number' | 'file' | 'folder' | 'path' | 'string' | 'class' | 'folders' | 'choice' | 'size' | 'hw' | 'triple' | 'pair' | 'switch' | 'object';

/** The VS Code setting craft.<key>, where it differs from the option. */
export interface SettingSpec {
  readonly key: string;
  readonly default?: number | string | boolean;
  readonly min?: number;
  /** Markdown for the Settings editor (else the option's doc). */
  readonly help?: string;
  readonly scope?: 'machine-overridable';
}

export interface OptionSpec {
  /** The option's name in code and in the table; for engine options the ExplainOptions field. */
  readonly name: string;
  /** What the option sets: an ExplainOptions (or ClassSetOptions) field, or a field of its `preprocess` object. */
  readonly target?: keyof ExplainOptions | keyof ClassSetOptions | `preprocess.${keyof PreprocessConfig}`;
  readonly type: OptionType;
  /** CLI flag without "--", the commands that take it, and its value's placeholder in --help. */
  readonly flag?: string;
  readonly commands?: readonly Command[];
  readonly meta?: string;
  /** Key in craft.config.json ("preprocess.x": field x of the "preprocess" object). */
  readonly config?: string;
  /** Key in the argument object of the craft.explain command. */
  readonly arg?: string;
  readonly setting?: SettingSpec;
  readonly default?: number | string | boolean;
  readonly min?: number;
  /** A strict lower bound (std > 0). */
  readonly above?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** One line per choice, in the order of `choices` (the Settings editor's enumDescriptions). */
  readonly choiceHelp?: readonly string[];
  /** Accepted spellings of a choice ("ImageNet", "[0, 1]") mapped onto the choice, else undefined. */
  readonly normalize?: (value: string) => string | undefined;
  /** One line for `craft --help` (names the flags). */
  readonly help: string;
  /** The JSON schema's and the Settings editor's description (names the config keys); default: help. */
  readonly doc?: string;
  /** Extra JSON-schema keywords for the config file (e.g. a file-name pattern). */
  readonly schema?: Readonly<Record<string, unknown>>;
}

const SIDE = MAX_INPUT_SIDE;

/**
 * Classes one run may explain together. Each is a whole run (its passes, its pictures) and the set
 * compares every pair: past a few dozen the pairs are unreadable and the run takes hours; several runs
 * over smaller sets (or a run per class) say more.
 */
export const MAX_CLASSES = 32;

/** Descriptions of the execution providers, one per entry of PROVIDER_REQUESTS (the compiler checks). */
const PROVIDER_HELP: Record<ProviderRequest, string> = {
  auto: 'The best provider that loads and runs here: CUDA, then DirectML (Windows) or CoreML (Apple silicon), then WebGPU on a hardware GPU; else the CPU, with a notice saying why.',
  cpu: 'Always the CPU.',
  cuda: 'CUDA (Linux x64, extra install); a run fails when it cannot load.',
  webgpu: 'WebGPU (bundled on Linux x64, Windows and Apple-silicon macOS; Vulkan, D3D12 or Metal); a run fails when it cannot load.',
  dml: 'DirectML (Windows only, bundled); a run fails when it cannot load.',
  coreml: 'CoreML (Apple-silicon macOS only, bundled); a run fails when it cannot load.',
};

export const OPTIONS = [
  // ---- what to explain -------------------------------------------------------------------------
  {
    name: 'model',
    target: 'model',
    type: 'file',
    flag: 'model',
    meta: 'FILE',
    commands: ['explain', 'layers'],
    config: 'model',
    arg: 'model',
    help: 'the classifier (ONNX), or g when --h is given',
    doc: 'The ONNX classifier (or g when "h" is given).',
    schema: { pattern: '\\.[oO][nN][nN][xX]$' },
  },
  {
    name: 'hModel',
    target: 'hModel',
    type: 'file',
    flag: 'h',
    meta: 'FILE',
    commands: ['explain'],
    config: 'h',
    help: 'h as a separate ONNX file (then --model is g; its output is the layer)',
    doc: 'h as a separate ONNX file: then "model" is g and "layer" is g\'s output.',
  },
  {
    name: 'images',
    target: 'images',
    type: 'folder',
    flag: 'images',
    meta: 'DIR',
    commands: ['explain', 'layers'],
    config: 'images',
    arg: 'images',
    help: 'folder of images (searched recursively; png, jpeg, webp, gif, tiff)',
    doc: 'Folder of images of the class (searched recursively; PNG, JPEG, WebP, GIF, TIFF).',
  },
  {
    name: 'classId',
    target: 'classId',
    type: 'class',
    flag: 'class',
    meta: 'K|LABEL',
    commands: ['explain'],
    config: 'class',
    arg: 'class',
    help: `class index or label; several classes in one run: a comma-separated list (at most ${MAX_CLASSES}; a label holding a comma is given by its index), each class's images in the sub-folder of --images named after it, or with --by-prediction`,
    doc: `The class to explain: its index, or its label (e.g. "Ankle boot"). Several classes in one run: a list (at most ${MAX_CLASSES}), e.g. ["Ankle boot", "Sneaker"]; each class's images are in the sub-folder of "images" named after it (or in "classFolders"), or, with "byPrediction", the images the model predicts as it.`,
  },
  {
    name: 'byPrediction',
    target: 'byPrediction',
    type: 'switch',
    flag: 'by-prediction',
    commands: ['explain'],
    config: 'byPrediction',
    arg: 'byPrediction',
    help: "with several classes: one folder of images (--images), each image explained under the class the model predicts for it (as xplique's CraftManager)",
    doc: 'With several classes: one folder of images ("images"), each image explained under the class the model predicts for it (as xplique\'s CraftManager); images predicted as other classes are left out.',
  },
  {
    name: 'classFolders',
    target: 'classFolders',
    type: 'folders',
    config: 'classFolders',
    help: 'with several classes: the folder of each class (class index or label → folder)',
    doc: 'With several classes: the folder of images of each class, by class index or label, e.g. {"Ankle boot": "images/boots"}; a class not listed uses the sub-folder of "images" named after it.',
  },
  {
    name: 'layer',
    target: 'layer',
    type: 'string',
    flag: 'layer',
    meta: 'TENSOR',
    commands: ['explain', 'refine'],
    config: 'layer',
    arg: 'layer',
    help: 'split tensor (default: the last non-negative 4-D map feeding the final pooling; list them with `craft layers`)',
    doc: 'The tensor to split the model at (a non-negative 4-D feature map); "CRAFT: List layers of a model" lists them.',
  },
  {
    // A side over MAX_INPUT_SIDE is a typo or a model no machine here could feed (8192² RGB floats = 800 MB per image).
    name: 'size',
    target: 'size',
    type: 'size',
    flag: 'size',
    meta: 'H[xW]',
    commands: ['explain', 'layers'],
    config: 'size',
    arg: 'size',
    min: 1,
    max: SIDE,
    help: "model input size when the model's input size is dynamic",
    doc: 'Model input size when the model\'s spatial size is dynamic: H, "HxW" or [H, W] in pixels.',
  },
  {
    name: 'labelsFile',
    target: 'labelsFile',
    type: 'file',
    flag: 'labels',
    meta: 'FILE',
    commands: ['explain'],
    config: 'labels',
    arg: 'labels',
    help: "class names (JSON array or one per line); default: labels.json/labels.txt beside the model, else the model's metadata",
    doc: "Class names: a JSON array or a text file with one name per line. Default: labels.json or labels.txt beside the model, else the model's metadata.",
  },
  // ---- preprocessing ---------------------------------------------------------------------------
  {
    name: 'preset',
    target: 'preset',
    type: 'choice',
    flag: 'preset',
    meta: 'NAME',
    commands: ['explain', 'layers'],
    config: 'preset',
    arg: 'preset',
    choices: PRESET_NAMES,
    normalize: presetName,
    default: '[0,1]',
    help: 'preprocessing preset: [0,1], imagenet or [-1,1]',
    doc: 'Preprocessing preset: "[0,1]", "imagenet" or "[-1,1]" (spaces and case do not matter).',
    schema: { pattern: '^\\s*(\\[\\s*0\\s*,\\s*1\\s*\\]|[Ii][Mm][Aa][Gg][Ee][Nn][Ee][Tt]|\\[\\s*-\\s*1\\s*,\\s*1\\s*\\])\\s*$' },
  },
  {
    name: 'preprocess',
    target: 'preprocess',
    type: 'object',
    config: 'preprocess',
    help: "overrides of the preset's preprocessing",
    doc: "Overrides of the preset's preprocessing.",
  },
  {
    name: 'preprocess.size',
    target: 'preprocess.size',
    type: 'hw',
    config: 'preprocess.size',
    min: 1,
    max: SIDE,
    help: 'model input size [height, width]',
    doc: 'Model input size [height, width].',
  },
  {
    name: 'preprocess.layout',
    target: 'preprocess.layout',
    type: 'choice',
    config: 'preprocess.layout',
    choices: LAYOUTS,
    help: 'tensor layout (read from the model)',
    doc: "Tensor layout (read from the model's input shape).",
  },
  {
    name: 'preprocess.channelOrder',
    target: 'preprocess.channelOrder',
    type: 'choice',
    config: 'preprocess.channelOrder',
    choices: ORDERS,
    help: 'channel order fed to the model',
    doc: 'Channel order fed to the model.',
  },
  {
    name: 'preprocess.range',
    target: 'preprocess.range',
    type: 'pair',
    config: 'preprocess.range',
    help: 'pixel values 0..255 map linearly onto [lo, hi] before mean/std',
    doc: 'Pixel values 0..255 map linearly onto [lo, hi] before mean/std.',
  },
  {
    name: 'preprocess.mean',
    target: 'preprocess.mean',
    type: 'triple',
    flag: 'mean',
    meta: 'A,B,C',
    commands: ['explain'],
    config: 'preprocess.mean',
    help: 'per-channel mean subtracted after scaling (overrides the preset)',
    doc: 'Per-channel mean subtracted after scaling (in channel order).',
  },
  {
    name: 'preprocess.std',
    target: 'preprocess.std',
    type: 'triple',
    flag: 'std',
    meta: 'A,B,C',
    commands: ['explain'],
    config: 'preprocess.std',
    above: 0,
    help: 'per-channel std divided after the mean (overrides the preset; each > 0)',
    doc: 'Per-channel std divided after subtracting the mean (each > 0).',
  },
  {
    name: 'preprocess.resize',
    target: 'preprocess.resize',
    type: 'choice',
    flag: 'resize',
    meta: 'KERNEL',
    commands: ['explain'],
    config: 'preprocess.resize',
    choices: KERNELS,
    default: 'bilinear',
    help: 'image resize filter: bilinear (like PIL), bicubic, nearest, lanczos3',
    doc: 'Kernel that resizes whole images to the input size (antialiased when shrinking).',
  },
  {
    name: 'bgr',
    target: 'preprocess.channelOrder',
    type: 'switch',
    flag: 'bgr',
    commands: ['explain'],
    help: 'feed channels in BGR order (config file: "channelOrder": "BGR" in "preprocess")',
  },
  // ---- the method --------------------------------------------------------------------------------
  {
    // Each concept adds a Sobol block (designs·(r+2) passes through h per image) and a row of crops; a
    // few hundred concepts are already unreadable, and NMF needs at least as many crops as concepts.
    name: 'concepts',
    target: 'concepts',
    type: 'int',
    flag: 'concepts',
    meta: 'N',
    commands: ['explain', 'refine'],
    config: 'concepts',
    arg: 'concepts',
    setting: { key: 'concepts' },
    default: 10,
    min: 1,
    max: 512,
    help: 'number of concepts r (NMF rank)',
    doc: 'Number of concepts (NMF rank r).',
  },
  {
    // A crop is cut from the model input, whose sides are at most MAX_INPUT_SIDE.
    name: 'patch',
    target: 'patch',
    type: 'int',
    flag: 'patch',
    meta: 'P',
    commands: ['explain'],
    config: 'patch',
    arg: 'patch',
    setting: {
      key: 'patchSize',
      default: 0,
      min: 0,
      help: "Crop size in model-input pixels (stride \u230a0.8\u00b7P\u230b). `0` = automatic: 64, or half the input's smaller side when that is less (CRAFT's notebooks use 64 for 224-px inputs).",
    },
    default: 64,
    min: 1,
    max: SIDE,
    help: 'crop size in model-input pixels (stride \u230a0.8\u00b7P\u230b)',
    doc: 'Crop size in model-input pixels; the stride is \u230a0.8\u00b7patch\u230b (automatic in VS Code for small inputs).',
  },
  {
    // 4096 RGB images of 224² are 2.5 GB of float input in one pass; the engine caps batches by memory anyway.
    name: 'batch',
    target: 'batch',
    type: 'int',
    flag: 'batch',
    meta: 'N',
    commands: ['explain', 'refine'],
    config: 'batch',
    arg: 'batch',
    setting: { key: 'batchSize' },
    default: 64,
    min: 1,
    max: 4096,
    help: 'batch size of every forward pass (lower it when memory is short)',
    doc: 'Batch size of every forward pass. Lower it when memory is short.',
  },
  {
    // The passes through h grow linearly with the designs; past ~1000 the Sobol estimates no longer
    // move while the run takes hours. 2 is the least the Jansen estimator's variance needs.
    name: 'designs',
    target: 'designs',
    type: 'int',
    flag: 'designs',
    meta: 'N',
    commands: ['explain', 'refine'],
    config: 'designs',
    arg: 'designs',
    setting: { key: 'designs' },
    default: 32,
    min: 2,
    max: 1024,
    help: 'Sobol designs per concept block, nb_design (more: steadier importances, slower runs)',
    doc: 'Sobol designs per concept block (nb_design): more gives steadier importances and slower runs.',
  },
  {
    name: 'provider',
    target: 'provider',
    type: 'choice',
    flag: 'provider',
    meta: 'NAME',
    commands: ['explain', 'layers', 'refine'],
    config: 'provider',
    arg: 'provider',
    setting: {
      key: 'provider',
      scope: 'machine-overridable',
      help: 'ONNX Runtime execution provider. WebGPU, DirectML and CoreML are bundled; CUDA is an extra install step (see the README). The status bar shows which provider ran.',
    },
    choices: PROVIDER_REQUESTS,
    choiceHelp: PROVIDER_REQUESTS.map((p) => PROVIDER_HELP[p]),
    default: 'auto',
    help: `execution provider: ${PROVIDER_REQUESTS.join(', ')} (auto: the best GPU provider that runs here, else CPU)`,
    doc: 'Execution provider: auto (the best GPU provider that loads and runs here, else the CPU), or one provider (the run fails when it cannot load).',
  },
  {
    name: 'out',
    target: 'out',
    type: 'folder',
    flag: 'out',
    meta: 'DIR',
    commands: ['explain', 'refine', 'cache'],
    config: 'out',
    arg: 'out',
    setting: {
      key: 'resultsFolder',
      help: 'Where runs are written, relative to the workspace folder (one folder per run).',
    },
    default: '.craft',
    help: 'results root; each run gets its own folder inside',
    doc: 'Results folder; each run gets its own folder inside.',
  },
  {
    // Ten million images is beyond any dataset one class needs; the bound only catches typos.
    name: 'maxImages',
    target: 'maxImages',
    type: 'int',
    flag: 'max-images',
    meta: 'N',
    commands: ['explain'],
    config: 'maxImages',
    arg: 'maxImages',
    min: 1,
    max: 10_000_000,
    help: 'use only the first N images (sorted by path)',
    doc: 'Use only the first N images (sorted by path).',
  },
  {
    // sklearn's alpha_W scales an L2 penalty by the matrix size; beyond 1e6 W is forced to zero.
    name: 'alphaW',
    target: 'alphaW',
    type: 'number',
    flag: 'alpha-w',
    meta: 'X',
    commands: ['explain'],
    config: 'alphaW',
    arg: 'alphaW',
    default: 0,
    min: 0,
    max: 1e6,
    help: 'NMF L2 regularisation alpha_W (0 as craft_torch.py)',
    doc: 'NMF L2 regularisation alpha_W (0 as craft_torch.py).',
  },
  {
    name: 'topCrops',
    target: 'topCrops',
    type: 'int',
    flag: 'top-crops',
    meta: 'N',
    commands: ['explain', 'refine'],
    config: 'topCrops',
    arg: 'topCrops',
    // Each is a PNG per concept; the results page shows a handful, so 100 is plenty.
    default: 10,
    min: 1,
    max: 100,
    help: 'crops kept per concept (PNG files in crops/)',
    doc: 'Crops kept per concept (PNG files in crops/).',
  },
  {
    name: 'mapPercentile',
    target: 'mapPercentile',
    type: 'number',
    flag: 'map-percentile',
    meta: 'P',
    commands: ['explain'],
    config: 'mapPercentile',
    arg: 'mapPercentile',
    default: 90,
    min: 0,
    max: 100,
    help: 'dataset-wide percentile under which map coefficients are dropped (torch notebook: 90)',
    doc: 'Dataset-wide percentile under which concept-map coefficients are dropped (the torch notebook uses 90).',
  },
  {
    // ONNX Runtime's intra-op pool; more threads than 1024 cores exist nowhere.
    name: 'threads',
    target: 'threads',
    type: 'int',
    flag: 'threads',
    meta: 'N',
    commands: ['explain', 'refine'],
    config: 'threads',
    arg: 'threads',
    min: 1,
    max: 1024,
    help: 'ONNX Runtime intra-op threads (default: all cores)',
    doc: 'ONNX Runtime intra-op threads (default: all cores).',
  },
  {
    // A cache of 1 TB is beyond any disk this runs on; the bound only catches typos.
    name: 'cacheSize',
    target: 'cacheSize',
    type: 'int',
    flag: 'cache-size',
    meta: 'MB',
    commands: ['explain'],
    config: 'cacheSize',
    arg: 'cacheSize',
    setting: {
      key: 'cacheSize',
      scope: 'machine-overridable',
      help: 'Largest size of the cache (MB) kept in the results folder (`.cache`): crop activations and results by content, so a repeated run, a run on more images or a cancelled run does only the new work. Least recently used entries go first. `0` turns it off. **CRAFT: Clear cache** empties it.',
    },
    default: 2048,
    min: 0,
    max: 1_048_576,
    help: 'cache size limit in MB; 0 turns off the cache (.cache in the results folder, see `craft cache`) for the run',
    doc: 'Largest size of the cache in MB (crop activations and results kept by content in .cache inside the results folder); 0 turns it off.',
  },
  // Engine-only: sklearn's stopping rule, checked by explain() with these bounds.
  { name: 'tol', target: 'tol', type: 'number', default: 1e-4, min: 0, max: 1, help: 'NMF tolerance' },
  { name: 'maxIter', target: 'maxIter', type: 'int', default: 200, min: 1, max: 100_000, help: 'NMF iterations at most' },
  // A gigapixel image is 3 GB of RGB once decoded.
  { name: 'maxPixels', target: 'maxPixels', type: 'int', min: 1, max: 1_000_000_000, help: 'largest image (pixels) decoded' },
  // ---- craft refine (recursive sub-concepts, docs/method.md §8) ------------------------------------
  {
    // Not an engine option of explain: refine() reads it (an index, "#rank" or a name from names.json).
    name: 'concept',
    type: 'string',
    flag: 'concept',
    meta: 'K|#N|NAME',
    commands: ['refine'],
    help: 'the concept to refine: its index K, #N for the rank the panel shows, or the name it was given',
  },
  // ---- the command line and the command's own switches -------------------------------------------
  {
    name: 'config',
    type: 'file',
    flag: 'config',
    meta: 'FILE',
    commands: ['explain'],
    help: 'read options from a JSON config file (flags override it)',
  },
  { name: 'json', type: 'switch', flag: 'json', commands: ['explain', 'layers', 'refine', 'cache'], help: 'print the result as JSON on stdout' },
  {
    name: 'quiet',
    type: 'switch',
    flag: 'quiet',
    commands: ['explain', 'refine'],
    help: 'no progress or notices on stderr (lines starting with "Warning:" are still printed)',
  },
  {
    name: 'output',
    type: 'path',
    flag: 'output',
    meta: 'FILE.html',
    commands: ['report'],
    help: 'where to write the report (default: report.html in the run folder)',
  },
  {
    name: 'includePaths',
    type: 'switch',
    flag: 'include-paths',
    commands: ['report'],
    help: 'keep the absolute local paths (model, image folder, run folder) in the report; by default a report names them by their base names, as it is meant to be shared',
  },
  { name: 'help', type: 'switch', flag: 'help', commands: COMMANDS, help: 'print this help' },
  { name: 'version', type: 'switch', flag: 'version', commands: COMMANDS, help: 'print the version' },
  { name: 'reveal', type: 'switch', arg: 'reveal', default: true, help: 'open the results panel when done' },
  { name: 'force', type: 'switch', arg: 'force', help: 'ask again for model, images, class and layer' },
  // ---- the extension only --------------------------------------------------------------------------
  {
    // VS Code forks the engine with its own runtime (Electron in desktop VS Code), whose allocator has
    // refused some large native allocations in other extensions; a system Node avoids that.
    name: 'nodePath',
    type: 'file',
    setting: {
      key: 'nodePath',
      default: '',
      scope: 'machine-overridable',
      help: "Run the CRAFT engine with this Node.js executable (version 20 or later) instead of VS Code's own runtime, e.g. `/usr/bin/node`. Empty: VS Code's runtime.",
    },
    help: 'Node.js executable the extension runs the engine with',
  },
  {
    // Remembered choices run without a prompt; one look at them first avoids an hour on the wrong folder.
    name: 'confirmBeforeRun',
    type: 'switch',
    setting: {
      key: 'confirmBeforeRun',
      default: true,
      help: 'Before "CRAFT: Explain class" (palette, Explorer menu or CodeLens) runs with choices remembered in `craft.config.json`, show what will run (model, images, class, layer, concepts, provider) with **Run** and a way to change each. Commands run by scripts with arguments never ask.',
    },
    help: 'show what will run and ask before a run with remembered choices',
  },
] as const satisfies readonly OptionSpec[];

export type OptionName = (typeof OPTIONS)[number]['name'];
type Entry = (typeof OPTIONS)[number];

// Compile-time: a field added to ExplainOptions or PreprocessConfig without a row in the table is a
// type error here, naming the field.
type Targets = Extract<Entry, { target: string }>['target'];
type Untabled =
  | Exclude<keyof ExplainOptions | keyof ClassSetOptions, Targets | 'signal' | 'onProgress' | 'log' | 'classes' | 'cacheRoot'>
  | Exclude<`preprocess.${keyof PreprocessConfig}`, Targets>;
export const EVERY_OPTION_IN_TABLE: [Untabled] extends [never] ? true : { missing: Untabled } = true;

/** The TypeScript type of an option's value once checked. */
export type ValueOf<E extends OptionSpec> = E['type'] extends 'int' | 'number'
  ? number
  : E['type'] extends 'file' | 'folder' | 'path' | 'string'
    ? string
    : E['type'] extends 'class'
      ? string | number | (string | number)[]
      : E['type'] extends 'folders'
        ? Record<string, string>
        : E['type'] extends 'choice'
          ? E['choices'] extends readonly (infer C)[]
            ? C
            : string
          : E['type'] extends 'size' | 'hw' | 'pair'
            ? [number, number]
            : E['type'] extends 'triple'
              ? [number, number, number]
              : E['type'] extends 'switch'
                ? boolean
                : Record<string, unknown>;

/** The arguments of craft.explain, as the table defines them (paths still as given). */
export type CommandArgs = { [E in Extract<Entry, { arg: string }> as E['arg']]?: ValueOf<E> };

const BY_NAME = new Map<string, OptionSpec>(OPTIONS.map((o) => [o.name, o]));

export function option(name: OptionName): OptionSpec {
  return BY_NAME.get(name)!;
}

/** The engine's defaults, from the table (DEFAULTS in options.ts). */
export const ENGINE_DEFAULTS = {
  concepts: option('concepts').default as number,
  patch: option('patch').default as number,
  batch: option('batch').default as number,
  designs: option('designs').default as number,
  provider: option('provider').default as ProviderRequest,
  tol: option('tol').default as number,
  maxIter: option('maxIter').default as number,
  alphaW: option('alphaW').default as number,
  mapPercentile: option('mapPercentile').default as number,
  topCrops: option('topCrops').default as number,
};

export const flagOptions = (): OptionSpec[] => OPTIONS.filter((o: OptionSpec) => o.flag !== undefined);
export const configOptions = (): OptionSpec[] => OPTIONS.filter((o: OptionSpec) => o.config !== undefined);
export const argOptions = (): OptionSpec[] => OPTIONS.filter((o: OptionSpec) => o.arg !== undefined);
export const settingOptions = (): OptionSpec[] => OPTIONS.filter((o: OptionSpec) => o.setting !== undefined);

// ---------------------------------------------------------------------------------------------
// Checking values. Every message starts with `where` (e.g. "--concepts", `cfg.json: "concepts"`,
// `craft.explain: "concepts"`) and says what is allowed; all are usage errors.

function usage(message: string, hint?: string): CraftError {
  return new CraftError('usage', message, hint);
}

export function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** "an integer ≥ 1 and ≤ 512", "a number > 0", ... */
export function describeBounds(o: OptionSpec): string {
  const kind = o.type === 'int' ? 'an integer' : 'a number';
  const parts: string[] = [];
  if (o.above !== undefined) parts.push(`> ${o.above}`);
  else if (o.min !== undefined) parts.push(`≥ ${o.min}`);
  if (o.max !== undefined) parts.push(`≤ ${formatNumber(o.max)}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

/** 10000000 → "10,000,000" (bounds read in help and messages). */
export function formatNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(n);
}

function inBounds(o: OptionSpec, n: number): boolean {
  if (!Number.isFinite(n)) return false;
  if (o.type === 'int' && !Number.isInteger(n)) return false;
  if (o.above !== undefined && !(n > o.above)) return false;
  if (o.min !== undefined && n < o.min) return false;
  if (o.max !== undefined && n > o.max) return false;
  return true;
}

/** Decimal numbers only: Number() would also take "", " ", "0x10" and "Infinity". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function numberText(raw: string): number {
  return DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
}

/** Checks a value given as text (a command-line flag) and returns it typed. Paths come back as given. */
export function fromText(o: OptionSpec, raw: string, where: string): unknown {
  switch (o.type) {
    case 'int':
    case 'number':
      return checkNumber(o, numberText(raw), raw, where);
    case 'triple':
      return checkNumbers(o, raw.split(',').map(numberText), 3, raw, where);
    case 'pair':
      return checkNumbers(o, raw.split(',').map(numberText), 2, raw, where);
    case 'size':
      return checkSize(raw, where, o.max);
    case 'switch':
      return true;
    case 'class': {
      // "ankle_boot,sneaker": several classes; a single one stays as given.
      const parts = raw.split(',').map((p) => p.trim());
      if (parts.length === 1) return fromJson(o, raw, where);
      if (parts.some((p) => !p))
        throw usage(`${where}: an empty class in the list ${show(raw)}.`, 'Separate the classes with single commas, e.g. --class "Ankle boot,Sneaker".');
      return checkClassList(parts, where);
    }
    default:
      return fromJson(o, raw, where);
  }
}

/** A list of classes: at most MAX_CLASSES (each one a whole run); duplicates are caught once the labels are known. */
function checkClassList(list: unknown[], where: string): (string | number)[] {
  const bad = list.find((v) => !((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v.trim())));
  if (bad !== undefined) throw usage(`${where}: each class must be a class index (an integer ≥ 0) or a label, got ${show(bad)}.`);
  if (list.length === 0) throw usage(`${where}: the list of classes is empty.`);
  if (list.length > MAX_CLASSES) {
    throw usage(
      `${where} lists ${list.length} classes; one run explains at most ${MAX_CLASSES} together (each class is a whole run, and every pair is compared).`,
      'Split the classes over several runs.',
    );
  }
  return list as (string | number)[];
}

/** Checks a JSON value (config file, command argument, setting) and returns it typed. */
export function fromJson(o: OptionSpec, v: unknown, where: string): unknown {
  switch (o.type) {
    case 'int':
    case 'number':
      if (typeof v !== 'number') throw usage(`${where} must be ${describeBounds(o)}, got ${show(v)}.`);
      return checkNumber(o, v, v, where);
    case 'file':
    case 'folder':
    case 'path':
      if (typeof v !== 'string' || !v.trim()) throw usage(`${where} must be a path (a non-empty string), got ${show(v)}.`);
      return v;
    case 'string':
      if (typeof v !== 'string' || !v.trim()) throw usage(`${where} must be a non-empty string, got ${show(v)}.`);
      return v;
    case 'class':
      if ((typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v.trim())) return v;
      if (Array.isArray(v)) return v.length === 1 ? fromJson(o, v[0], where) : checkClassList(v, where);
      throw usage(`${where} must be a class index (an integer ≥ 0) or a label, or a list of them, got ${show(v)}.`);
    case 'folders': {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw usage(`${where} must be an object of folders by class, e.g. {"Ankle boot": "images/boots"}, got ${show(v)}.`);
      const entries = Object.entries(v);
      const bad = entries.find(([k, f]) => !k.trim() || typeof f !== 'string' || !f.trim());
      if (bad) throw usage(`${where}: the folder of class ${show(bad[0])} must be a path (a non-empty string), got ${show(bad[1])}.`);
      if (entries.length > MAX_CLASSES) throw usage(`${where} lists ${entries.length} classes; one run explains at most ${MAX_CLASSES} together.`);
      return v;
    }
    case 'choice': {
      const choice = typeof v === 'string' ? (o.normalize ? o.normalize(v) : o.choices!.includes(v) ? v : undefined) : undefined;
      if (choice === undefined) throw usage(`${where} must be one of ${o.choices!.map((c) => `"${c}"`).join(', ')}, got ${show(v)}.`);
      return choice;
    }
    case 'size':
      return checkSize(v, where, o.max);
    case 'hw':
      if (!Array.isArray(v)) throw usage(`${where} must be [height, width], whole numbers from 1 to ${o.max}, got ${show(v)}.`);
      return checkSize(v, where, o.max);
    case 'triple':
    case 'pair': {
      const n = o.type === 'triple' ? 3 : 2;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw usage(`${where} must be an array of ${n} numbers, got ${show(v)}.`);
      return checkNumbers(o, v as number[], n, v, where);
    }
    case 'switch':
      if (typeof v !== 'boolean') throw usage(`${where} must be true or false, got ${show(v)}.`);
      return v;
    case 'object':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usage(`${where} must be an object, got ${show(v)}.`);
      return v;
  }
}

function checkNumber(o: OptionSpec, n: number, given: unknown, where: string): number {
  if (!inBounds(o, n)) throw usage(`${where} must be ${describeBounds(o)}, got ${show(given)}.`);
  return n;
}

function checkNumbers(o: OptionSpec, values: number[], n: number, given: unknown, where: string): number[] {
  const what = n === 3 ? 'three comma-separated numbers (R,G,B)' : 'two comma-separated numbers (lo,hi)';
  if (values.length !== n || !values.every(Number.isFinite)) {
    throw usage(
      typeof given === 'string' ? `${where} needs ${what}, got ${show(given)}.` : `${where} must be an array of ${n} finite numbers, got ${show(given)}.`,
    );
  }
  const bad = values.find((x) => o.above !== undefined && !(x > o.above));
  if (bad !== undefined) throw usage(`${where}: each value must be > ${o.above}, got ${bad}.`);
  if (o.type === 'pair' && values[0] === values[1]) throw usage(`${where} must span an interval (lo ≠ hi), got ${show(given)}.`);
  return values;
}

/**
 * A regular expression source matching the decimal integers 1..max written without leading zeros
 * (the JSON schema's pattern for a size given as text, and the parser's check of it).
 */
export function upToPattern(max: number): string {
  const digits = String(max);
  // Numbers with fewer digits than max: any, first digit non-zero.
  const shorter = digits.length > 1 ? [`[1-9]\\d{0,${digits.length - 2}}`] : [];
  // Numbers with as many digits: equal to max on a prefix, then a smaller digit, then anything.
  const same: string[] = [];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    const low = i === 0 ? 1 : 0;
    const rest = digits.length - 1 - i;
    const range = d - 1 === low ? String(low) : `[${low}-${d - 1}]`;
    if (d > low) same.push(`${digits.slice(0, i)}${range}${rest === 0 ? '' : rest === 1 ? '\\d' : `\\d{${rest}}`}`);
  }
  same.push(digits);
  return `(?:${[...shorter, ...same].join('|')})`;
}

/** A size as text: "H" or "HxW", spaces allowed around the numbers. */
export function sizeTextPattern(max: number): string {
  const n = upToPattern(max);
  return `^\\s*${n}\\s*(?:[xX]\\s*${n}\\s*)?$`;
}

/** "224", "224x192", 224 or [224, 192] → [height, width], each side 1..max. */
export function checkSize(value: unknown, where: string, max = SIDE): [number, number] {
  let parts: unknown[] = [];
  if (typeof value === 'number') parts = [value, value];
  else if (typeof value === 'string') {
    if (new RegExp(sizeTextPattern(max)).test(value)) parts = value.toLowerCase().split('x').map(Number);
    if (parts.length === 1) parts = [parts[0], parts[0]];
  } else if (Array.isArray(value)) parts = value;
  if (parts.length !== 2 || !parts.every((p) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= max)) {
    throw usage(`${where}: the size must be H or HxW in pixels, each side from 1 to ${max} (e.g. 224 or 224x192), got ${show(value)}.`);
  }
  return parts as [number, number];
}

// ---------------------------------------------------------------------------------------------
// "Did you mean": a misspelt key or flag gets the nearest known one.

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Names compared without case, dashes, underscores or spaces ("max_images" = "maxImages"). */
export function foldName(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * The known name closest to `given`: first a name another surface uses for the same option (the
 * setting "patchSize" for the config key "patch", the flag "max-images" for "maxImages"), then the
 * nearest by edit distance when it is close (≤ 2 edits, or a third of the word).
 */
export function suggest(given: string, known: readonly string[], aliases: ReadonlyMap<string, string> = new Map()): string | undefined {
  const alias = aliases.get(foldName(given));
  if (alias !== undefined) return alias;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(foldName(given), foldName(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(given.length / 3)) ? best : undefined;
}

/** Every other name of each option (flag, config key, argument, setting), folded, → `pick(option)`. */
export function aliasesFor(pick: (o: OptionSpec) => string | undefined): Map<string, string> {
  const fold = foldName;
  const map = new Map<string, string>();
  for (const o of OPTIONS as readonly OptionSpec[]) {
    const to = pick(o);
    if (to === undefined) continue;
    for (const name of [o.name, o.flag, o.config, o.arg, o.setting?.key]) if (name) map.set(fold(name), to);
  }
  return map;
}

// ---------------------------------------------------------------------------------------------

/**
 * The engine's check of the options it is given (explain() calls it): the same bounds as every
 * surface, for callers that build ExplainOptions themselves (tests, the extension's worker).
 */
export function checkEngineOptions(o: Partial<ExplainOptions>): void {
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    if (!spec.target || spec.target.includes('.') || (spec.type !== 'int' && spec.type !== 'number' && spec.type !== 'choice')) continue;
    const v = (o as Record<string, unknown>)[spec.target];
    if (v === undefined) continue;
    fromJson(spec, v, spec.target);
  }
}

/**
 * The prompts of "CRAFT: Explain class": model, image folder, input size, class, layer. Each returns
 * undefined when the user dismisses it (the flow then stops without an error).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { parseSize } from '../craft/config';
import { listImages } from '../craft/images/list';
import type { LayerListing } from '../craft/layers';
import type { ModelSummary } from '../craft/worker';
import { classForFolder, defaultImageFolder, normaliseName } from './suggest';

const BROWSE = '$(folder-opened) Browse…';
/**
 * The extensions src/craft/images.ts reads (IMAGE_EXTENSIONS there); not imported, because that
 * module loads sharp, which the extension host itself never needs.
 */
const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff'];

interface PathItem extends vscode.QuickPickItem {
  path?: string;
}

export function title(what: string): string {
  return `CRAFT: Explain class — ${what}`;
}

/** A quick pick as it was offered: what the user saw, first row first (Enter takes the first row). */
export interface ShownPick {
  /** 1, 2, 3…: the order in which the picks were offered. */
  seq: number;
  title: string;
  placeHolder?: string;
  /** "label — description" per row (separators as "-- label --"). */
  items: string[];
  /** The rows' second lines, where they have one (same order as `items`). */
  details: (string | undefined)[];
}

const shown: ShownPick[] = [];
let offered = 0;

/** The quick picks offered lately, oldest first (read by the integration tests through the API). */
export function shownPicks(): readonly ShownPick[] {
  return shown;
}

/** vscode.window.showQuickPick, keeping a record of what was offered. */
export function quickPick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions & { title: string }): Thenable<T | undefined> {
  shown.push({
    seq: ++offered,
    title: options.title,
    placeHolder: options.placeHolder,
    items: items.map((it) =>
      it.kind === vscode.QuickPickItemKind.Separator ? `-- ${it.label} --` : `${it.label}${it.description ? ` — ${it.description}` : ''}`,
    ),
    details: items.map((it) => it.detail),
  });
  if (shown.length > 50) shown.shift();
  return vscode.window.showQuickPick(items, options);
}

/** quickPick with check boxes: the checked rows (in list order), or undefined when dismissed. */
function quickPickMany<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions & { title: string }): Thenable<T[] | undefined> {
  shown.push({
    seq: ++offered,
    title: options.title,
    placeHolder: options.placeHolder,
    items: items.map((it) => it.label),
    details: items.map((it) => it.detail),
  });
  if (shown.length > 50) shown.shift();
  return vscode.window.showQuickPick(items, { ...options, canPickMany: true });
}

/** Folders never searched for models or images. */
export function excludeGlob(resultsFolder: string): string {
  const extra = resultsFolder && !path.isAbsolute(resultsFolder) ? `,**/${resultsFolder.replace(/^\.\//, '')}/**` : '';
  return `{**/node_modules/**,**/.craft/**,**/.git/**${extra}}`;
}

/** A path relative to the workspace ("." for a workspace folder itself; its name when there are several). */
function relativeLabel(file: string): string {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const own = folders.find((f) => path.resolve(f.uri.fsPath) === path.resolve(file));
  if (own) return folders.length > 1 ? own.name : '.';
  return vscode.workspace.asRelativePath(file, folders.length > 1);
}

export async function pickModel(remembered: string | undefined, resultsFolder: string): Promise<string | undefined> {
  const uris = await vscode.workspace.findFiles('**/*.onnx', excludeGlob(resultsFolder), 2000);
  const files = uris.filter((u) => u.scheme === 'file').map((u) => u.fsPath);
  files.sort((a, b) => (a === remembered ? -1 : b === remembered ? 1 : relativeLabel(a).localeCompare(relativeLabel(b))));
  const items: PathItem[] = await Promise.all(
    files.map(async (f) => {
      const bytes = await vscode.workspace.fs.stat(vscode.Uri.file(f)).then(
        (st) => st.size,
        () => undefined,
      );
      return {
        label: relativeLabel(f),
        description: [bytes !== undefined ? formatBytes(bytes) : undefined, f === remembered ? 'last used' : undefined].filter(Boolean).join(' · '),
        path: f,
      };
    }),
  );
  items.push({ label: BROWSE, description: 'an .onnx file elsewhere', alwaysShow: true });
  const picked = await quickPick(items, {
    title: title('model'),
    placeHolder: files.length ? 'Which ONNX classifier to explain?' : 'No .onnx file in the workspace: browse for one',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.path) return picked.path;
  const chosen = await vscode.window.showOpenDialog({
    title: 'CRAFT: choose an ONNX model',
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    filters: { 'ONNX models': ['onnx'] },
  });
  return chosen?.[0]?.fsPath;
}

/** Folders that hold images, with how many each holds (sub-folders included, as the engine reads them). */
export async function imageFolders(resultsFolder: string): Promise<{ folder: string; count: number; direct: number; capped: boolean }[]> {
  const limit = 100_000;
  const exts = [...new Set(IMAGE_EXTENSIONS.flatMap((e) => [e.slice(1), e.slice(1).toUpperCase()]))];
  const uris = await vscode.workspace.findFiles(`**/*.{${exts.join(',')}}`, excludeGlob(resultsFolder), limit);
  const capped = uris.length >= limit;
  const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const total = new Map<string, number>();
  const direct = new Map<string, number>();
  for (const u of uris) {
    if (u.scheme !== 'file') continue;
    const file = u.fsPath;
    // The engine skips hidden files and folders (names starting with '.').
    const root = roots.find((r) => file.startsWith(r + path.sep));
    const rel = root ? path.relative(root, file) : path.basename(file);
    if (rel.split(path.sep).some((part) => part.startsWith('.'))) continue;
    let dir = path.dirname(file);
    direct.set(dir, (direct.get(dir) ?? 0) + 1);
    // Count the image in every ancestor folder up to the workspace folder.
    for (;;) {
      total.set(dir, (total.get(dir) ?? 0) + 1);
      if (!root || dir === root || !dir.startsWith(root)) break;
      dir = path.dirname(dir);
    }
  }
  return [...total.entries()]
    .map(([folder, count]) => ({ folder, count, direct: direct.get(folder) ?? 0, capped }))
    .sort((a, b) => a.folder.localeCompare(b.folder));
}

/**
 * The image folder prompt. First row (Enter): the folder used last, else the folder that directly holds
 * the most images (never the workspace folder itself while another holds images); then the rest by path.
 */
export async function pickImages(remembered: string | undefined, resultsFolder: string): Promise<string | undefined> {
  const folders = await imageFolders(resultsFolder);
  // A folder used last outside the workspace is not found by the search: offer it too.
  if (remembered && !folders.some((f) => path.resolve(f.folder) === path.resolve(remembered)) && isFolder(remembered)) {
    const count = (await listImages(remembered).catch(() => [])).length;
    folders.push({ folder: remembered, count, direct: count, capped: false });
  }
  const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const first = defaultImageFolder(folders, roots, remembered);
  const lastUsed = (f: string) => remembered !== undefined && path.resolve(f) === path.resolve(remembered);
  folders.sort((a, b) => Number(b.folder === first) - Number(a.folder === first) || a.folder.localeCompare(b.folder));
  const items: PathItem[] = folders.map((f) => {
    const n = `${f.count}${f.capped ? '+' : ''} image${f.count === 1 ? '' : 's'}`;
    const where = f.direct === f.count ? '' : f.direct === 0 ? ' in sub-folders' : ` (${f.direct} directly)`;
    const why = lastUsed(f.folder) ? ' · last used' : f.folder === first ? ' · suggested (most images directly)' : '';
    return {
      label: relativeLabel(f.folder),
      description: `${n}${where}${why}`,
      path: f.folder,
    };
  });
  items.push({ label: BROWSE, description: 'a folder elsewhere', alwaysShow: true });
  const picked = await quickPick(items, {
    title: title('images'),
    placeHolder: 'Which folder of images of the class? (sub-folders included)',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.path) return picked.path;
  const chosen = await vscode.window.showOpenDialog({
    title: 'CRAFT: choose a folder of images',
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
  });
  return chosen?.[0]?.fsPath;
}

export async function askSize(model: ModelSummary, remembered?: [number, number]): Promise<[number, number] | undefined> {
  const value = await vscode.window.showInputBox({
    title: title('input size'),
    prompt: `The model's input size is dynamic (${model.inputShape.join(', ')}). Enter the size it was trained at: H or HxW in pixels.`,
    placeHolder: 'e.g. 224 or 224x192',
    value: remembered ? (remembered[0] === remembered[1] ? String(remembered[0]) : remembered.join('x')) : undefined,
    ignoreFocusOut: true,
    validateInput: (text) => {
      try {
        const size = parseSize(text.trim());
        return size[0] > 8192 || size[1] > 8192 ? 'At most 8192 pixels per side.' : undefined;
      } catch {
        return 'Enter H or HxW in pixels, e.g. 224 or 224x192.';
      }
    },
  });
  return value === undefined ? undefined : parseSize(value.trim());
}

interface ClassItem extends vscode.QuickPickItem {
  index: number;
}

/**
 * The class prompt. First row (Enter): the class whose label names the image folder (ankle_boot →
 * "Ankle boot"), else the class used last; then every class in index order.
 */
/** The class prompt's last row: several classes for one run (a second, multi-select prompt). */
const SEVERAL = -2;

/** One class (its index), several (a list of indices, from the multi-select prompt), or undefined. */
export async function pickClass(model: ModelSummary, remembered?: string | number, images?: string): Promise<number | number[] | undefined> {
  const count = model.numClasses ?? model.labels?.length;
  if (count === undefined) {
    const value = await vscode.window.showInputBox({
      title: title('class'),
      prompt: 'Class index to explain (the model does not say how many classes it has, and no labels were found).',
      value: remembered !== undefined ? String(remembered) : undefined,
      ignoreFocusOut: true,
      validateInput: (t) => (/^\d+$/.test(t.trim()) ? undefined : 'Enter a class index (0, 1, 2, …).'),
    });
    return value === undefined ? undefined : Number(value.trim());
  }
  const items: ClassItem[] = Array.from({ length: count }, (_, i) => ({
    label: model.labels?.[i] !== undefined ? `${i} ${model.labels[i]}` : `${i}`,
    index: i,
  }));
  const rememberedIndex = items.findIndex(
    (it) =>
      remembered !== undefined &&
      (String(it.index) === String(remembered).trim() || normaliseName(model.labels?.[it.index] ?? '') === normaliseName(String(remembered))),
  );
  const folderIndex = images ? classForFolder(images, model.labels, count) : undefined;
  const top: ClassItem[] = [];
  if (folderIndex !== undefined) {
    top.push(
      { label: `matches the image folder ${path.basename(images!)}`, kind: vscode.QuickPickItemKind.Separator, index: -1 },
      { ...items[folderIndex], description: folderIndex === rememberedIndex ? 'matches the folder · last used' : 'matches the folder' },
    );
  }
  if (rememberedIndex >= 0 && rememberedIndex !== folderIndex) {
    top.push({ label: 'last used', kind: vscode.QuickPickItemKind.Separator, index: -1 }, { ...items[rememberedIndex], description: 'last used' });
  }
  const rows: ClassItem[] = top.length ? [...top, { label: 'all classes', kind: vscode.QuickPickItemKind.Separator, index: -1 }, ...items] : [...items];
  // Last, so that the single-class prompt reads and answers as before.
  if (count > 1) {
    rows.push(
      { label: 'several classes', kind: vscode.QuickPickItemKind.Separator, index: -1 },
      { label: '$(checklist) Several classes…', description: 'one run per class, sharing the model; compare their concepts', index: SEVERAL, alwaysShow: true },
    );
  }
  const picked = await quickPick(rows, {
    title: title('class'),
    placeHolder: model.labels
      ? `Which class to explain? (${count} classes; labels from ${path.basename(model.labelsSource)})`
      : `Which class to explain? (${count} classes, no labels found)`,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (picked?.index !== SEVERAL) return picked?.index;
  const several = await quickPickMany(items, {
    title: title('classes'),
    placeHolder: 'Which classes? (check each, then Enter; each class gets its run, and the results compare their concepts)',
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  if (!several || several.length === 0) return undefined;
  return several.length === 1 ? several[0].index : several.map((it) => it.index);
}

function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

interface LayerItem extends vscode.QuickPickItem {
  name: string;
}

export async function pickLayer(listing: LayerListing, remembered?: string): Promise<string | undefined> {
  const usable = listing.layers.filter((l) => l.nonNegative && l.cleanCut);
  if (usable.length === 0) return undefined;
  // Default first, then the rest from the deepest (closest to the decision) to the input.
  const ordered = [...usable].reverse();
  const first = ordered.findIndex((l) => l.name === listing.defaultLayer);
  if (first > 0) ordered.unshift(...ordered.splice(first, 1));
  const items: LayerItem[] = ordered.map((l) => ({
    label: l.name,
    description: `[${l.shape.join('×')}] ${l.op}${l.name === remembered ? ' · last used' : ''}`,
    detail:
      l.name === listing.defaultLayer
        ? '$(star) default: the last non-negative feature map feeding the final pooling'
        : l.shape[1] * l.shape[2] > 1
          ? `${l.shape[0]} channels on a ${l.shape[1]}×${l.shape[2]} grid, non-negative`
          : `${l.shape[0]} channels, no spatial extent, non-negative`,
    name: l.name,
  }));
  const picked = await quickPick(items, {
    title: title('layer'),
    placeHolder: `Which layer to factorise? (non-negative feature maps; probed on ${listing.probe})`,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.name;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

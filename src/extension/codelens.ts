/**
 * "Explain a class with CRAFT" above every reference to an existing .onnx file in code, config and docs:
 * quoted strings ("model/x.onnx", 'x.onnx', `x.onnx`) and bare paths (YAML values, Markdown links).
 * A path counts when it resolves to a file relative to the document's folder or a workspace folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';

export const CODELENS_LANGUAGES = [
  'python',
  'json',
  'jsonc',
  'yaml',
  'markdown',
  'toml',
  'ini',
  'properties',
  'plaintext',
  'shellscript',
  'javascript',
  'typescript',
  'javascriptreact',
  'typescriptreact',
  'julia',
  'r',
  'dockercompose',
  'makefile',
];

/** Documents larger than this are not scanned (generated files, logs). */
const MAX_CHARS = 1_000_000;
const MAX_LENSES = 50;

// A quoted string ending in .onnx, or a bare path token ending in .onnx.
const QUOTED = /(["'`])([^"'`\r\n]{1,1024}?\.onnx)\1/gi;
const BARE = /(?<![\w./\\~-])((?:[A-Za-z]:)?[\w.~/\\-]{0,1024}?\w\.onnx)(?![\w.])/gi;

export interface OnnxReference {
  /** Offset of the path in the text, and its text as written. */
  offset: number;
  text: string;
}

/** Every .onnx path written in `text`, quoted or bare, in order (a quoted one is not reported twice). */
export function findOnnxReferences(text: string): OnnxReference[] {
  const found = new Map<number, OnnxReference>();
  for (const m of text.matchAll(QUOTED)) {
    const offset = (m.index ?? 0) + 1;
    found.set(offset, { offset, text: m[2] });
  }
  for (const m of text.matchAll(BARE)) {
    const offset = m.index ?? 0;
    if (!found.has(offset)) found.set(offset, { offset, text: m[1] });
  }
  return [...found.values()].sort((a, b) => a.offset - b.offset);
}

/** The existing file a reference names, tried against the document's folder then each workspace folder. */
export async function resolveReference(ref: string, document: vscode.Uri): Promise<string | undefined> {
  const cleaned = ref.trim().replace(/^file:\/\//, '');
  const bases: string[] = [];
  if (document.scheme === 'file') bases.push(path.dirname(document.fsPath));
  for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') bases.push(f.uri.fsPath);
  const candidates = path.isAbsolute(cleaned) ? [cleaned] : bases.map((b) => path.resolve(b, cleaned.replace(/^~(?=\/)/, process.env.HOME ?? '~')));
  for (const c of candidates) {
    try {
      if ((await fs.promises.stat(c)).isFile()) return c;
    } catch {
      // not there: try the next base
    }
  }
  return undefined;
}

export class OnnxCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx', false, true, false);

  constructor() {
    // A model created or deleted changes which references resolve.
    this.watcher.onDidCreate(() => this.changed.fire());
    this.watcher.onDidDelete(() => this.changed.fire());
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const text = document.getText();
    if (text.length > MAX_CHARS || !/\.onnx/i.test(text)) return [];
    const lenses: vscode.CodeLens[] = [];
    const seenLines = new Set<number>();
    for (const ref of findOnnxReferences(text)) {
      if (token.isCancellationRequested || lenses.length >= MAX_LENSES) break;
      const start = document.positionAt(ref.offset);
      if (seenLines.has(start.line)) continue;
      const model = await resolveReference(ref.text, document.uri);
      if (!model) continue;
      seenLines.add(start.line);
      const range = new vscode.Range(start, document.positionAt(ref.offset + ref.text.length));
      lenses.push(
        new vscode.CodeLens(range, {
          title: 'Explain a class with CRAFT',
          tooltip: `Run CRAFT on ${vscode.workspace.asRelativePath(model)}`,
          command: 'craft.explain',
          // A Uri, as the Explorer menu passes: a user's click (a run with remembered choices is
          // confirmed first), unlike an object of options from a script.
          arguments: [vscode.Uri.file(model)],
        }),
      );
    }
    return lenses;
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}

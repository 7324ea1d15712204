/**
 * The layering rules (README, "Layout"), checked on the sources: the engine (src/craft) and the CLI never
 * import 'vscode' or the extension; the webview imports nothing from Node and, from src/, only the
 * shared contract src/protocol.ts. A violating import compiles, so only this test stops it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every .ts file under a folder of the repo. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Module specifiers of a file's static imports, re-exports, dynamic imports and require calls. */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

/** [file, specifier, where it resolves (repo-relative, no extension) or the package name]. */
function edges(dir: string): [string, string, string][] {
  return sources(dir).flatMap((file) =>
    importsOf(fs.readFileSync(path.join(ROOT, file), 'utf8')).map((spec): [string, string, string] => [
      file,
      spec,
      spec.startsWith('.')
        ? path
            .relative(ROOT, path.resolve(ROOT, path.dirname(file), spec))
            .split(path.sep)
            .join('/')
        : spec,
    ]),
  );
}

test('importsOf finds every form of import (so the rules below cannot be dodged by syntax)', () => {
  const text = `import * as vscode from 'vscode';\nimport type { X } from "../extension/panel";\nexport { y } from './y';\nimport './side-effect';\nconst a = require('fs');\nconst b = await import('child_process');\nimport {\n  many,\n  names,\n} from '../multi';`;
  assert.deepEqual(importsOf(text).sort(), ['../extension/panel', '../multi', './side-effect', './y', 'child_process', 'fs', 'vscode'].sort());
});

test('the engine and the CLI never import vscode or the extension', () => {
  const bad = [...edges('src/craft'), ...edges('src/cli')].filter(([, spec, to]) => spec === 'vscode' || to.startsWith('src/extension'));
  assert.deepEqual(bad, []);
  // The engine does not depend on the CLI either.
  assert.deepEqual(
    edges('src/craft').filter(([, , to]) => to.startsWith('src/cli')),
    [],
  );
});

test('the webview imports no Node module and, from src/, only src/protocol.ts', () => {
  const all = edges('webview');
  assert.ok(all.length > 5, 'the webview sources were found');
  const bad = all.filter(([, spec, to]) => NODE_BUILTINS.has(spec) || (spec.startsWith('.') && !to.startsWith('webview/') && to !== 'src/protocol'));
  assert.deepEqual(bad, []);
});

test('src/protocol.ts imports nothing (both sides compile it)', () => {
  assert.deepEqual(importsOf(fs.readFileSync(path.join(ROOT, 'src/protocol.ts'), 'utf8')), []);
});

test('the results page HTML imports neither vscode nor other modules of the repo (the webview tests serve it from plain Node)', () => {
  const file = 'src/extension/resultsPageHtml.ts';
  const bad = importsOf(fs.readFileSync(path.join(ROOT, file), 'utf8')).filter((spec) => spec === 'vscode' || spec.startsWith('.'));
  assert.deepEqual(bad, []);
});

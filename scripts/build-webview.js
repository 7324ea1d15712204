#!/usr/bin/env node
// Builds the results page: webview/main.ts → media/webview.js (one minified IIFE for the browser, so
// it works both as a webview <script src> and inlined in the HTML report) and webview/style.css →
// media/webview.css. Files are written to a temporary name and renamed, so a page or a report being
// made while this runs never reads half a file. Type checking is `tsc -p webview` (esbuild only strips).
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'media');

async function main() {
  const quiet = process.argv.includes('--quiet');
  const common = { bundle: true, minify: true, sourcemap: false, write: false, logLevel: 'warning', legalComments: 'none', absWorkingDir: root };
  const [js, css] = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [path.join(root, 'webview', 'main.ts')],
      outfile: path.join(outDir, 'webview.js'),
      format: 'iife',
      platform: 'browser',
      // VS Code 1.100's Electron (Chromium 134) and current browsers for the report.
      target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
      tsconfig: path.join(root, 'webview', 'tsconfig.json'),
      metafile: true,
    }),
    esbuild.build({
      ...common,
      entryPoints: [path.join(root, 'webview', 'style.css')],
      outfile: path.join(outDir, 'webview.css'),
      target: ['chrome110', 'firefox110', 'safari16'],
    }),
  ]);
  fs.mkdirSync(outDir, { recursive: true });
  const sizes = [];
  for (const file of [...js.outputFiles, ...css.outputFiles]) {
    const tmp = `${file.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, file.contents);
    fs.renameSync(tmp, file.path);
    sizes.push(`${path.relative(root, file.path)} ${(file.contents.length / 1024).toFixed(1)} KB`);
  }
  if (!quiet) {
    const toolkit = Object.entries(js.metafile.outputs)[0][1].inputs;
    const kb = (filter) =>
      Object.entries(toolkit)
        .filter(([p]) => filter(p))
        .reduce((s, [, v]) => s + v.bytesInOutput, 0) / 1024;
    console.log(
      `webview: ${sizes.join(', ')} (toolkit + FAST ${kb((p) => p.includes('node_modules')).toFixed(1)} KB, page code ${kb((p) => !p.includes('node_modules')).toFixed(1)} KB)`,
    );
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

#!/usr/bin/env node
// Writes (or with --check, compares) the files generated from the option table
// (src/craft/option-table.ts, via out/src/craft/option-schema.js; run after tsc):
//   schemas/craft.config.schema.json        the config file's JSON schema
//   package.json contributes.configuration  the VS Code settings
// `npm run build` runs the check, so a change to the table without `npm run gen:options`, or a hand
// edit of either file, fails the build.
'use strict';
const fs = require('fs');
const path = require('path');
const { isDeepStrictEqual } = require('util');

const root = path.resolve(__dirname, '..');
const { configSchema, manifestConfiguration } = require(path.join(root, 'out', 'src', 'craft', 'option-schema.js'));
const check = process.argv.includes('--check');
const schemaFile = path.join(root, 'schemas', 'craft.config.schema.json');
const packageFile = path.join(root, 'package.json');

// package.json keeps its non-ASCII characters escaped (\u2026), as it was written.
const asciiJson = (value) => JSON.stringify(value, null, 2).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';

const pkg = JSON.parse(fs.readFileSync(packageFile, 'utf8'));
const schema = configSchema();
const configuration = manifestConfiguration();
const stale = [];
if (!fs.existsSync(schemaFile) || !isDeepStrictEqual(JSON.parse(fs.readFileSync(schemaFile, 'utf8')), schema)) stale.push('schemas/craft.config.schema.json');
if (!isDeepStrictEqual(pkg.contributes.configuration, configuration)) stale.push('package.json contributes.configuration');

if (check) {
  if (stale.length) {
    process.stderr.write(
      `gen-options: ${stale.join(' and ')} differ from the option table (src/craft/option-table.ts).\n` +
        '  Run `npm run gen:options` to regenerate them (edit the table, not the generated files).\n',
    );
    process.exit(1);
  }
} else {
  fs.writeFileSync(schemaFile, JSON.stringify(schema, null, 2) + '\n');
  pkg.contributes.configuration = configuration;
  fs.writeFileSync(packageFile, asciiJson(pkg));
  if (stale.length) process.stdout.write(`gen-options: wrote ${stale.join(' and ')}\n`);
}

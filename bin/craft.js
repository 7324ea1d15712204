#!/usr/bin/env node
// Thin launcher so `npx craft` works from the repo root after `npm run build`.
'use strict';
const path = require('path');
const entry = path.join(__dirname, '..', 'out', 'src', 'cli', 'main.js');
try {
  require.resolve(entry);
} catch {
  process.stderr.write('craft: the CLI is not built yet. Run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });

// Alternative launcher for machines WITH internet: @vscode/test-electron
// downloads a desktop VS Code (pinned to the engines.vscode floor) and runs the
// same Mocha entry (index.ts). It cannot run offline; use launch.ts there.
//
//   node out/test/integration/run-electron.js
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const repoRoot = path.resolve(__dirname, '../../..');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'craft-it-electron-'));
  const workspace = path.join(tmp, 'sample');
  fs.cpSync(path.join(repoRoot, 'sample'), workspace, { recursive: true, filter: (s) => path.basename(s) !== '.craft' });
  const resultFile = path.join(tmp, 'mocha-result.json');
  try {
    await runTests({
      version: process.env.CRAFT_VSCODE_VERSION ?? '1.100.3',
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
      extensionTestsEnv: { CRAFT_IT_RESULT_FILE: resultFile, CRAFT_IT_WORKSPACE: workspace },
    });
  } finally {
    if (fs.existsSync(resultFile)) {
      const r = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { passed: number; failed: number; pending: number };
      console.log(`${r.passed} passed, ${r.failed} failed, ${r.pending} skipped`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// TEMPORARY extension entry, created by the integration-test harness work so
// that the harness has something to activate. Replace it with the real
// extension; keep (or adapt test/integration/smoke.test.ts for) `craft.ping`.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand('craft.ping', () => 'pong'));
}

export function deactivate(): void {
  // nothing to release
}

import * as vscode from 'vscode';

/**
 * "CRAFT: CPU" / "CRAFT: CUDA": the execution provider of the last run; a click opens its results.
 * While a run is going it says so (a click shows the log).
 */
export class ProviderStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('craft.provider', vscode.StatusBarAlignment.Left, 10);
  private last?: { provider: string; dir: string };

  constructor() {
    this.item.name = 'CRAFT execution provider';
  }

  /** The provider that ran `dir`. */
  showRun(provider: string, dir: string): void {
    this.last = { provider, dir };
    this.render(false);
  }

  setRunning(running: boolean): void {
    this.render(running);
  }

  get text(): string {
    return this.item.text;
  }

  get lastRunDir(): string | undefined {
    return this.last?.dir;
  }

  private render(running: boolean): void {
    if (running) {
      this.item.text = '$(sync~spin) CRAFT: running…';
      this.item.tooltip = 'A CRAFT explanation is running. Click to show the log.';
      this.item.command = 'craft.showLog';
      this.item.show();
      return;
    }
    if (!this.last) {
      this.item.hide();
      return;
    }
    const name = this.last.provider.toUpperCase();
    this.item.text = `CRAFT: ${name}`;
    this.item.tooltip = `The last CRAFT run used the ${name} execution provider. Click to open its results.`;
    this.item.command = { command: 'craft.openResults', title: 'Open results', arguments: [this.last.dir] };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

import * as vscode from 'vscode';

/** Lines kept in memory for the "Show Log" action's callers and the integration tests. */
const KEEP = 2000;

/**
 * The "CRAFT" output channel: every notice, skipped file, stage timing and error, one timestamped line
 * each. Also keeps the recent lines so tests (and error reports) can read what was logged.
 */
export class Log implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('CRAFT');
  private readonly recent: string[] = [];
  /** After dispose() lines are only kept in memory: writing to a closed channel rejects. */
  private disposed = false;

  info(line: string): void {
    this.append('info', line);
  }

  warn(line: string): void {
    this.append('warn', line);
  }

  error(line: string): void {
    this.append('error', line);
  }

  show(): void {
    this.channel.show(true);
  }

  /** The most recent lines, oldest first (timestamps included). */
  lines(): readonly string[] {
    return this.recent;
  }

  dispose(): void {
    this.disposed = true;
    this.channel.dispose();
  }

  private append(level: 'info' | 'warn' | 'error', text: string): void {
    const stamp = timestamp(new Date());
    for (const part of text.split(/\r?\n/)) {
      if (part.length === 0) continue;
      const line = `[${stamp}] [${level}] ${part}`;
      if (!this.disposed) this.channel.appendLine(line);
      this.recent.push(line);
    }
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
  }
}

/** Local time with milliseconds, e.g. 2026-11-25 22:57:01.123. */
export function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

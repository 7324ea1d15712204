import type { Progress } from '../craft/options';

/**
 * Progress lines on stderr: stage, done/total, rate and ETA. On a terminal one line is rewritten in
 * place; otherwise (CI logs) a line is printed at most every two seconds per stage and at its end.
 */
export class ProgressPrinter {
  private stage?: string;
  private started = 0;
  private startDone = 0;
  private lastPrint = -Infinity;
  private lastKey = '';
  private readonly tty: boolean;

  constructor(
    private readonly stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr,
    private readonly clock: () => number = Date.now,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(p: Progress): void {
    const now = this.clock();
    if (p.stage !== this.stage) {
      this.endLine();
      this.stage = p.stage;
      this.started = now;
      this.startDone = p.done;
      this.lastPrint = -Infinity;
    }
    const finished = p.done >= p.total;
    if (!this.tty && !finished && now - this.lastPrint < 2000) return;
    this.lastPrint = now;
    // Measured from the stage's first update, which often comes after a first batch: counting that
    // batch's items in the time of the later ones would overstate the rate.
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? (p.done - this.startDone) / elapsed : 0;
    const eta = rate > 0 && !finished ? ` ETA ${formatSeconds((p.total - p.done) / rate)}` : '';
    const line = `[${p.stage}] ${p.done}/${p.total} ${p.unit}` + (rate > 0 ? ` (${rate.toFixed(rate < 10 ? 1 : 0)}/s)` : '') + eta;
    const key = `${p.stage} ${p.done}/${p.total}`;
    if (key === this.lastKey) return; // the same count again (e.g. a stage's closing update)
    this.lastKey = key;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else this.stream.write(line + '\n');
  }

  /** Prints a message on its own line without breaking the progress line. */
  log(message: string): void {
    this.endLine();
    this.stream.write(message + '\n');
  }

  endLine(): void {
    if (this.tty && this.stage) this.stream.write('\n');
    this.stage = undefined;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

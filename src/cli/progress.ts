import type { Progress } from '../craft/options';
import { RunEta, formatSeconds, overallPercent } from '../craft/progress';

export { formatSeconds };

/**
 * Progress lines on stderr: the class, the run's percentage, the stage with done/total and its rate,
 * and the time left for the whole run. On a terminal one line is rewritten in place; otherwise (CI
 * logs) a line is printed at most every two seconds per stage and at its end.
 */
export class ProgressPrinter {
  /** The class being explained, as the user knows it (its label, else "class K"); set before the run. */
  label?: string;
  private stage?: string;
  private part?: string;
  private started = 0;
  private startDone = 0;
  private lastPrint = -Infinity;
  private lastKey = '';
  private readonly tty: boolean;
  private eta?: RunEta;

  constructor(
    private readonly stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr,
    private readonly clock: () => number = Date.now,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(p: Progress): void {
    const now = this.clock();
    // The run's clock starts with its first update; every update feeds it, printed or not.
    this.eta ??= new RunEta(this.clock);
    const left = this.eta.update(p);
    if (p.stage !== this.stage || p.part?.label !== this.part) {
      this.part = p.part?.label;
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
    // In a run over several classes, the class (or the shared pass) the stage belongs to.
    const who = p.part ? `${p.part.label} (${p.part.index + 1}/${p.part.of})` : this.label;
    const head = `${who ? `${who}: ` : ''}${Math.floor(overallPercent(p))}%`;
    const line =
      `${head} · [${p.stage}] ${p.done}/${p.total} ${p.unit}` +
      (rate > 0 ? ` (${rate.toFixed(rate < 10 ? 1 : 0)}/s)` : '') +
      (left !== undefined && left > 0 ? ` · ETA ${formatSeconds(left)}` : '');
    const key = `${who} ${p.stage} ${p.done}/${p.total}`;
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

/**
 * How far a run has got, for the progress shown by the CLI and the VS Code notification: the run's
 * overall percentage from its stages, an estimate of the time left, and durations as people read them.
 * Pure functions and a small clock-driven estimator; nothing here runs the engine.
 */
import { STAGES, type Progress, type Stage } from './options';

/**
 * Rough share of a run's time per stage, in percent. Measured on the CPU: the clip-art MobileNetV2 run
 * (238 images of 224², layer out_relu, 42 s) spends 6 % in model, 80 % in activations (every crop
 * through g), 3 % nmf, 8 % transform, under 1 % in importance, fidelity and maps; the sample (Fashion-MNIST
 * CNN, 2.4 s) 3 / 18 / 11 / 6 / 27 / 10 / 26 / 0 %. Importance grows with designs, concepts and the
 * depth of h (an earlier layer), so it keeps a share; the weights lean towards the long runs, where a
 * bar is watched.
 */
export const STAGE_WEIGHT: Record<Stage, number> = { model: 5, activations: 62, nmf: 4, transform: 8, importance: 12, fidelity: 2, maps: 5, write: 2 };
const TOTAL_WEIGHT = STAGES.reduce((a, s) => a + STAGE_WEIGHT[s], 0);

/** Share of the stages before `stage`, and of `stage` itself, in [0, 1]. */
function stageSpan(stage: Stage): { before: number; own: number } {
  return { before: weightBefore(stage) / TOTAL_WEIGHT, own: STAGE_WEIGHT[stage] / TOTAL_WEIGHT };
}

function weightBefore(stage: Stage): number {
  let before = 0;
  for (const s of STAGES) {
    if (s === stage) break;
    before += STAGE_WEIGHT[s];
  }
  return before;
}

/** The run's overall completion, 0–100, from the current stage and its count. */
export function overallPercent(p: Progress): number {
  const within = p.total > 0 ? Math.min(1, Math.max(0, p.done / p.total)) : 0;
  // In whole weights first: a stage's end and the next one's start are the same number.
  const percent = (100 * (weightBefore(p.stage) + within * STAGE_WEIGHT[p.stage])) / TOTAL_WEIGHT;
  // A run over several classes: each class's run is an equal share of the whole.
  return p.part ? (100 * p.part.index + percent) / p.part.of : percent;
}

/**
 * Estimates the time left of a run from its progress updates. Within a stage, the stage's own rate
 * (measured from its first update, as a first batch done before it would overstate the rate); for the
 * stages still to come, the seconds per unit of weight seen so far. No estimate during the first
 * seconds, or before any measurable progress: an early guess would jump around.
 */
export class RunEta {
  private readonly started: number;
  private stage?: string;
  private stageStart = 0;
  private stageStartDone = 0;

  constructor(private readonly clock: () => number = Date.now) {
    this.started = clock();
  }

  /** Seconds left, or undefined while there is no sound estimate. */
  update(p: Progress): number | undefined {
    const now = this.clock();
    // A run over several classes goes through the stages once per class.
    const stage = p.part ? `${p.part.index}:${p.stage}` : p.stage;
    if (stage !== this.stage) {
      this.stage = stage;
      this.stageStart = now;
      this.stageStartDone = p.done;
    }
    const elapsed = (now - this.started) / 1000;
    const fraction = overallPercent(p) / 100;
    if (fraction >= 1) return 0;
    if (elapsed < 2 || fraction < 0.02) return undefined;
    const span = stageSpan(p.stage);
    // A class's run of several is 1/of of the whole, after `index` classes.
    const of = p.part?.of ?? 1;
    const own = span.own / of;
    const before = ((p.part?.index ?? 0) + span.before) / of;
    // Seconds per unit of the run's weight, from everything done so far.
    const perUnit = elapsed / fraction;
    const later = Math.max(0, 1 - before - own) * perUnit;
    const stageSeconds = (now - this.stageStart) / 1000;
    const rate = stageSeconds > 0.5 ? (p.done - this.stageStartDone) / stageSeconds : 0;
    const within = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const left = rate > 0 ? (p.total - p.done) / rate : (1 - within) * own * perUnit;
    return Math.max(0, left + later);
  }
}

/**
 * A duration in seconds as "4.2s", "42s", "4m05s" or "1h02m05s". Rounded once, to what is shown, before
 * it is split: 59.5 s is "1m00s", never "60s", and 239.6 s is "4m00s", never "3m60s".
 */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, s);
  const tenths = Math.round(t * 10) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)}s`;
  const whole = Math.round(t);
  if (whole < 60) return `${whole}s`;
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : `${m}m${pad(sec)}s`;
}

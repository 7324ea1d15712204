/**
 * One CRAFT run for one class (docs/method.md §2–§7), as the stages the progress names:
 * model → activations → nmf → transform → importance → fidelity → maps → write. Each stage is one file of
 * stages/; they share a Run (run.ts). The bundle appears only when complete: a failed or cancelled
 * run removes its hidden folder and leaves earlier runs untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from './errors';
import { checkEngineOptions } from './option-table';
import type { ExplainOptions } from './options';
import { Run } from './run';
import { rememberRun, reuseRun } from './cache/reuse';
import { activationsStage } from './stages/activations';
import { fidelityStage } from './stages/fidelity';
import { importanceStage } from './stages/importance';
import { mapsStage } from './stages/maps';
import { modelStage, type PreparedRun } from './stages/model';
import { nmfStage } from './stages/nmf';
import { transformStage } from './stages/transform';
import { writeStage } from './stages/write';
import type { ResultsBundle } from '../protocol';

/** `prepared`: a class's run within a run over several classes (classes/set.ts), its model prepared once for all. */
export async function explain(o: ExplainOptions, prepared?: PreparedRun): Promise<{ dir: string; bundle: ResultsBundle }> {
  checkOptions(o);
  return runStages(new Run(o), prepared);
}

/**
 * The stages over a Run; refine() prepares its Run (its images written into the bundle folder) and calls
 * this. `prepared`: the model as a run over several classes prepared it once for all.
 */
export async function runStages(run: Run, prepared?: PreparedRun): Promise<{ dir: string; bundle: ResultsBundle }> {
  const o = run.options;
  try {
    const m = await modelStage(run, prepared);
    // Cache (docs/method.md §13): an identical earlier run is copied; else the stages reuse what they can.
    const reused = await reuseRun(run, m);
    if (reused) return reused;
    const acts = await activationsStage(run, m);
    const fit = await nmfStage(run, m, acts);
    const coefficients = await transformStage(run, m, acts, fit);
    const importance = await importanceStage(run, m, coefficients, fit.W);
    const fidelity = await fidelityStage(run, m, coefficients, importance);
    const maps = await mapsStage(run, m, coefficients, fit.U, o.topCrops);
    const written = await writeStage(run, { m, acts, fit, importance, fidelity, maps, predictions: coefficients.predictions, coefficients: coefficients.U });
    await rememberRun(run, acts, written.dir);
    return written;
  } catch (e) {
    await run.abort();
    throw e;
  } finally {
    await run.close();
  }
}

function checkOptions(o: ExplainOptions): void {
  // The option table's types and bounds, the same every surface checks (callers may build options themselves).
  checkEngineOptions(o);
  // A results folder inside the image folder is left out of the listing; the image folder itself cannot be.
  if (samePlace(o.out, o.images)) {
    throw new CraftError(
      'usage',
      `The results folder is the image folder (${o.images}): the next run would read this run's pictures as images.`,
      'Write the results into a sub-folder such as .craft (--out), or elsewhere.',
    );
  }
}

/** Whether two paths name the same folder (through links too). */
export function samePlace(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

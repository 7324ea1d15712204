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
import { modelStage } from './stages/model';
import { nmfStage } from './stages/nmf';
import { transformStage } from './stages/transform';
import { writeStage } from './stages/write';
import type { ResultsBundle } from '../protocol';

export async function explain(o: ExplainOptions): Promise<{ dir: string; bundle: ResultsBundle }> {
  checkOptions(o);
  const run = new Run(o);
  try {
    const m = await modelStage(run);
    // Cache (docs/method.md §12): an identical earlier run is copied; else the stages reuse what they can.
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

function samePlace(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

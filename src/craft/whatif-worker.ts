/**
 * Child-process entry for what-if (forked by the extension while a results panel asks): opens h for
 * one run, then answers queries until the parent closes it or goes away. Long-lived, unlike
 * worker.ts's one task per process, so each answer costs milliseconds, not a process start.
 */
import { CraftError } from './errors';
import { WhatIf } from './whatif';
import type { ProviderRequest, WhatIfAnswer } from '../protocol';

/** Parent → what-if worker. */
export type ToWhatIfWorker =
  { type: 'open'; runDir: string; provider?: ProviderRequest } | { type: 'query'; id: number; image: number; scales: number[] } | { type: 'close' };

/** What-if worker → parent. */
export type FromWhatIfWorker =
  | { type: 'opened' }
  | { type: 'answer'; id: number; answer: WhatIfAnswer }
  /** `id` absent: opening failed, and the worker exits. */
  | { type: 'error'; id?: number; message: string };

function send(m: FromWhatIfWorker): void {
  if (process.send && process.connected) process.send(m);
}

function message(e: unknown): string {
  return e instanceof CraftError ? e.full : e instanceof Error ? e.message : String(e);
}

function main(): void {
  let opening: Promise<WhatIf> | undefined;
  process.on('message', (raw: unknown) => {
    const m = raw as ToWhatIfWorker;
    if (m?.type === 'open' && !opening) {
      opening = WhatIf.open(m.runDir, m.provider ?? 'cpu');
      opening.then(
        () => send({ type: 'opened' }),
        (e) => {
          send({ type: 'error', message: message(e) });
          setTimeout(() => process.exit(1), 100);
        },
      );
    } else if (m?.type === 'query' && opening) {
      opening
        .then((w) => w.query(m.image, m.scales))
        .then(
          (answer) => send({ type: 'answer', id: m.id, answer }),
          (e) => send({ type: 'error', id: m.id, message: message(e) }),
        );
    } else if (m?.type === 'close') {
      void (opening?.then((w) => w.close()) ?? Promise.resolve()).finally(() => process.exit(0));
    }
  });
  // The extension host went away: nothing will ask again.
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module && process.send) main();

/**
 * The host side of what-if: one long-lived engine process per results panel that asks (started on
 * the first question, closed with the panel), relaying the page's questions and h's answers. No
 * 'vscode' import: the tests drive it directly too.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { FromWhatIfWorker, ToWhatIfWorker } from '../craft/whatif-worker';
import type { ProviderRequest, WhatIfAnswer } from '../protocol';

export const WHATIF_ENTRY = path.join(__dirname, '..', 'craft', 'whatif-worker.js');
/** An answer takes milliseconds; opening h takes a fraction of a second. Beyond this, something is wrong. */
const ANSWER_TIMEOUT_MS = 30_000;

export class WhatIfClient {
  private child?: ChildProcess;
  private opened?: Promise<void>;
  private readonly waiting = new Map<number, { resolve: (a: WhatIfAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private next = 0;

  constructor(
    private readonly runDir: string,
    private readonly options: { execPath?: string; provider?: ProviderRequest; onLog?: (line: string) => void } = {},
  ) {}

  /** h's answer for one image with its concepts scaled. */
  async ask(image: number, scales: number[]): Promise<WhatIfAnswer> {
    await this.open();
    const id = this.next++;
    return new Promise<WhatIfAnswer>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new Error(`No what-if answer within ${ANSWER_TIMEOUT_MS / 1000} s.`)), ANSWER_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      this.send({ type: 'query', id, image, scales });
    });
  }

  private open(): Promise<void> {
    if (this.opened) return this.opened;
    this.opened = new Promise<void>((resolve, reject) => {
      const child = fork(WHATIF_ENTRY, [], {
        ...(this.options.execPath ? { execPath: this.options.execPath } : {}),
        execArgv: [],
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'json',
      });
      this.child = child;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) =>
        chunk
          .split(/\r?\n/)
          .filter((l) => l.trim())
          .forEach((l) => this.options.onLog?.(`[what-if] ${l}`)),
      );
      child.on('message', (raw: unknown) => {
        const m = raw as FromWhatIfWorker;
        if (m?.type === 'opened') resolve();
        else if (m?.type === 'answer') this.settle(m.id, undefined, m.answer);
        else if (m?.type === 'error' && m.id === undefined) reject(new Error(m.message));
        else if (m?.type === 'error' && m.id !== undefined) this.settle(m.id, new Error(m.message));
      });
      child.on('error', (e) => reject(new Error(`Could not start the what-if engine process: ${e.message}`)));
      child.on('exit', (code, signal) => {
        const why = new Error(`The what-if engine process stopped (${signal ?? `exit code ${code}`}).`);
        reject(why);
        for (const id of [...this.waiting.keys()]) this.settle(id, why);
        // The next question starts a fresh process.
        this.child = undefined;
        this.opened = undefined;
      });
      this.send({ type: 'open', runDir: this.runDir, provider: this.options.provider });
    });
    return this.opened;
  }

  private send(m: ToWhatIfWorker): void {
    if (this.child?.connected) this.child.send(m);
  }

  private settle(id: number, error?: Error, answer?: WhatIfAnswer): void {
    const w = this.waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    if (error) w.reject(error);
    else w.resolve(answer!);
  }

  /** Stops the process (the panel closed). */
  dispose(): void {
    this.send({ type: 'close' });
    const child = this.child;
    setTimeout(() => child?.kill(), 2000).unref();
    this.child = undefined;
    this.opened = undefined;
  }
}

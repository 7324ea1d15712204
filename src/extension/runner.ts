/**
 * Runs one engine task in a child process (src/craft/worker.ts) so the extension host's event loop
 * stays free, and makes cancel dependable: ask the worker to stop, and if it has not exited within the
 * grace period, kill it and remove the partial result folder it left (only its own: partial names carry
 * their owner's pid, see craft/bundle/partials.ts). No 'vscode' import: the integration tests drive
 * this module directly too.
 */
import { fork, spawnSync, type ChildProcess } from 'child_process';
import * as path from 'path';
import { removePartialsOf } from '../craft/bundle/partials';
import { CancelledError, type ErrorKind } from '../craft/errors';
import type { Progress } from '../craft/options';
import type { FromWorker, ToWorker } from '../craft/worker';

/** Compiled worker entry: out/src/craft/worker.js next to out/src/extension/. */
export const WORKER_ENTRY = path.join(__dirname, '..', 'craft', 'worker.js');
export const DEFAULT_GRACE_MS = 2000;

/**
 * A failure reported by the worker (CraftError fields), or by the process itself. A cancelled task
 * rejects with the engine's CancelledError instead (mapped here, once, from the worker's message).
 */
export class WorkerError extends Error {
  constructor(
    /** undefined: an unexpected error (a bug), shown with its stack in the log. */
    readonly kind: Exclude<ErrorKind, 'cancelled'> | undefined,
    message: string,
    readonly hint?: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

export interface WorkerHooks {
  onProgress?: (p: Progress) => void;
  onLog?: (line: string) => void;
  /** Results root of an explain run: the worker's partial folder there is removed after a kill. */
  partialRoot?: string;
  /** How long a cancelled worker may take to stop by itself before it is killed. */
  graceMs?: number;
  /** Default: WORKER_ENTRY. */
  entry?: string;
  /** The Node.js executable to run the worker with (setting craft.nodePath); default: this process's runtime. */
  execPath?: string;
}

export type FinalMessage = Extract<FromWorker, { type: 'done' } | { type: 'result' }>;

export interface WorkerRun {
  readonly pid: number | undefined;
  /** Settles once the process has exited and any cleanup is done; rejects with WorkerError or CancelledError. */
  readonly finished: Promise<FinalMessage>;
  /** Asks the worker to stop; kills it after the grace period. Idempotent. */
  cancel(): void;
  readonly cancelRequested: boolean;
}

/** Starts a worker on one task. */
export function startWorker(task: Exclude<ToWorker, { type: 'cancel' }>, hooks: WorkerHooks = {}): WorkerRun {
  const graceMs = hooks.graceMs ?? DEFAULT_GRACE_MS;
  const child: ChildProcess = fork(hooks.entry ?? WORKER_ENTRY, [], {
    ...(hooks.execPath ? { execPath: hooks.execPath } : {}),
    // Never inherit the extension host's --inspect flags (port clash) or its Electron mode.
    execArgv: [],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let final: FromWorker | undefined;
  let cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;

  // Native libraries (ORT) may write to stdout/stderr: keep it in the log, line by line.
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) hooks.onLog?.(`[engine] ${l}`);
    });
  }

  const finished = new Promise<FinalMessage>((resolve, reject) => {
    child.on('message', (raw: unknown) => {
      const m = raw as FromWorker;
      switch (m?.type) {
        case 'progress':
          if (!cancelRequested) hooks.onProgress?.({ stage: m.stage, done: m.done, total: m.total, unit: m.unit });
          break;
        case 'log':
          hooks.onLog?.(m.line);
          break;
        case 'done':
        case 'result':
        case 'error':
          final = m;
          // The worker exits right after its final message; make sure of it.
          armKill(graceMs);
          break;
        default:
          break;
      }
    });
    child.on('error', (e) => {
      if (!final) final = { type: 'error', message: `The CRAFT engine process failed: ${e.message}` };
      // A process that never started emits no 'exit'.
      if (child.pid === undefined) reject(new WorkerError(undefined, `Could not start the CRAFT engine process: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      void (async () => {
        // A worker that stopped by itself has removed its partial folder; one that was killed (or died)
        // could not. Only the folder this worker owns: other runs may be writing into the same root.
        if (hooks.partialRoot && child.pid !== undefined) await removePartialsOf(hooks.partialRoot, child.pid);
        if (final?.type === 'done' || final?.type === 'result') return resolve(final);
        if (final?.type === 'error') {
          if (final.kind === 'cancelled') return reject(new CancelledError(final.message));
          return reject(new WorkerError(final.kind, final.message, final.hint, final.stack));
        }
        if (cancelRequested) return reject(new CancelledError());
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(
          new WorkerError(
            undefined,
            `The CRAFT engine process stopped unexpectedly (${how}).`,
            signal === 'SIGKILL' ? 'It may have run out of memory: try fewer images (maxImages) or a smaller batch size.' : undefined,
          ),
        );
      })();
    });
  });

  function armKill(ms: number): void {
    if (killTimer || child.exitCode !== null || child.signalCode !== null) return;
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        hooks.onLog?.(`The engine process ${child.pid} did not stop within ${ms} ms: killed.`);
        child.kill('SIGKILL');
      }
    }, ms);
  }

  try {
    child.send(task);
  } catch {
    // Not started (reported through 'error') or already gone (reported through 'exit').
  }

  return {
    pid: child.pid,
    finished,
    get cancelRequested() {
      return cancelRequested;
    },
    cancel() {
      if (cancelRequested || child.exitCode !== null || child.signalCode !== null) return;
      cancelRequested = true;
      if (child.connected) child.send({ type: 'cancel' } satisfies ToWorker);
      armKill(graceMs);
    },
  };
}

/**
 * Checks a Node.js executable for the engine (setting craft.nodePath): it must run and be version 20
 * or later (onnxruntime-node 1.30 and sharp 0.35 need it). Returns its version; throws a sentence.
 */
export function checkNodePath(file: string): string {
  const r = spawnSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `The setting "craft.nodePath" names ${file}, which does not run as Node.js (${r.error?.message ?? `exit ${r.status}`}). Point it at a Node.js 20+ executable, or leave it empty to use VS Code's runtime.`,
    );
  }
  const version = r.stdout.trim();
  if (!(Number(version.split('.')[0]) >= 20)) {
    throw new Error(`The setting "craft.nodePath" names Node.js ${version}; the engine needs version 20 or later.`);
  }
  return version;
}

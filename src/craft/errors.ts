/**
 * Errors a user can cause and fix. `kind` drives the CLI exit code and the extension's message;
 * `hint` says what to do. Anything else that escapes the engine is a bug.
 */
export type ErrorKind = 'usage' | 'input' | 'model' | 'provider' | 'cancelled' | 'io';

export class CraftError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CraftError';
  }

  /** Message plus hint, as shown to a user. */
  get full(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

/**
 * The one cancellation error of the engine: every stage, the NMF and the bundle writer throw it when
 * the run's AbortSignal fires. Process boundaries map it once: the CLI to exit 130 (or 128 + the
 * signal's number), the worker to an 'error' message of kind 'cancelled' that the extension's runner
 * turns back into a CancelledError.
 */
export class CancelledError extends CraftError {
  constructor(message = 'The run was cancelled; no results were written.') {
    super('cancelled', message);
    this.name = 'CancelledError';
  }
}

/** Throws CancelledError when the signal has fired (checked between batches). */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

export function describeError(e: unknown): string {
  if (e instanceof CraftError) return e.full;
  if (e instanceof Error) return e.message;
  return String(e);
}

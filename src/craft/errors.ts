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

export class CancelledError extends CraftError {
  constructor() {
    super('cancelled', 'The run was cancelled; no results were written.');
    this.name = 'AbortError';
  }
}

/** Throws CancelledError when the signal has fired (checked between batches). */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

export function isCancellation(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && e.name === 'AbortError');
}

export function describeError(e: unknown): string {
  if (e instanceof CraftError) return e.full;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * A bounded set of background tasks (PNG encodes and file writes): sharp encodes on libuv's threads,
 * so keeping a few in flight lets them run beside the JavaScript and ONNX Runtime work instead of
 * after it. The first failure is kept and thrown by the next add() or by drain().
 */
export class Pending {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit = 4) {}

  /** Starts tracking a task; waits first while `limit` tasks are already running. */
  async add(task: Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    const tracked: Promise<void> = task
      .then(
        () => undefined,
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for every task without throwing: for finally blocks, so nothing writes after a failure's clean-up. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * The promise itself, marked as handled: work started now and awaited later must not count as an
 * unhandled rejection if it fails meanwhile (awaiting it still throws).
 */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * A weighted limit on work in flight (e.g. decoded pixels held by concurrent image loads): take(n)
 * waits while `limit` would be exceeded, but proceeds whenever nothing is held, so a single item
 * larger than the limit still runs (alone).
 */
export class Budget {
  private used = 0;
  private waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async take(n: number): Promise<void> {
    while (this.used > 0 && this.used + n > this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += n;
  }

  give(n: number): void {
    this.used -= n;
    const woken = this.waiting;
    this.waiting = [];
    for (const resolve of woken) resolve();
  }
}

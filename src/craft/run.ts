/**
 * What every stage of one explanation run shares: its options, the log and progress callbacks, the
 * stage timer, the results folder being written, the ONNX sessions to release and the work left
 * running in the background. explain() creates one Run and hands it from stage to stage.
 */
import * as path from 'path';
import type * as ort from 'onnxruntime-node';
import { BundleWriter } from './bundle/writer';
import { RunCache } from './cache/run-cache';
import { relativeImagePath } from './images/list';
import { PixelStore } from './images/pixel-store';
import { handled } from './pending';
import type { ExplainOptions, Stage } from './options';
import type { ParentLink, SkippedImage } from '../protocol';

/**
 * Input floats one forward batch may hold. On CPU, bigger batches do not run faster but grow ORT's arena:
 * batch 64 of 224² images through MobileNetV2 peaks at 1.7 GB RSS, batch 16 at 0.85 GB and runs faster.
 */
const BATCH_FLOATS = 2_500_000;

/** The batch actually used for a model whose items hold `itemFloats` floats (a fixed model batch wins). */
export function effectiveBatch(requested: number, itemFloats: number, fixed?: number): number {
  if (fixed) return fixed;
  return Math.max(1, Math.min(requested, Math.floor(BATCH_FLOATS / itemFloats)));
}

/** Scratch file in the bundle being written: each image's resized pixels, raw, between the passes. */
const PIXELS_FILE = '.pixels';

class StageTimer {
  readonly timings: Record<string, number> = {};
  private readonly t0 = performance.now();
  private current?: { stage: Stage; start: number };

  start(stage: Stage): void {
    this.stop();
    this.current = { stage, start: performance.now() };
  }

  stop(): void {
    if (this.current) this.timings[this.current.stage] = (performance.now() - this.current.start) / 1000;
    this.current = undefined;
  }

  total(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

export class Run {
  readonly timer = new StageTimer();
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** What the user should know about this run's results (kept in results.json and logged). */
  readonly warnings: string[] = [];
  /** Entries of the image folder passed over while listing it (results.json lists them with the decode failures). */
  readonly listingSkipped: SkippedImage[] = [];
  private readonly sessions: ort.InferenceSession[] = [];
  private readonly background: Promise<unknown>[] = [];
  private pixelStore?: PixelStore;
  /** A refined run's link to its parent (refine/refine.ts), written into results.json. */
  parent?: ParentLink;
  /** Activations and results kept by content in the results root (cache/run-cache.ts). */
  readonly cache: RunCache;

  /** `writer`: a bundle folder opened already (refine writes the run's images into it first). */
  constructor(
    readonly options: ExplainOptions,
    private bundleWriter?: BundleWriter,
  ) {
    this.log = options.log ?? (() => undefined);
    this.signal = options.signal;
    this.cache = new RunCache(options, this.log);
  }

  progress(stage: Stage, done: number, total: number, unit: string): void {
    this.options.onProgress?.({ stage, done, total, unit });
  }

  warn(text: string): void {
    this.warnings.push(text);
    this.log(`Warning: ${text}`);
  }

  /** Records (and logs) an entry of the image folder that the listing passed over. */
  skipListed = (file: string, reason: string): void => {
    this.log(`Skipped ${file}: ${reason}`);
    this.listingSkipped.push({ path: relativeImagePath(this.options.images, file), reason });
  };

  /** Starts timing a stage. */
  stage(name: Stage): void {
    this.timer.start(name);
  }

  /** Keeps a session until the run ends (released by close()). */
  own<T extends ort.InferenceSession>(session: T): T {
    this.sessions.push(session);
    return session;
  }

  /** Releases a session before the run ends (its memory is not needed any more). Never throws. */
  async release(session: ort.InferenceSession): Promise<void> {
    const i = this.sessions.indexOf(session);
    if (i < 0) return;
    this.sessions.splice(i, 1);
    await session.release().catch(() => undefined);
  }

  /** Work started now and awaited later; a failed run waits for it before removing its folder. */
  inBackground<T>(p: Promise<T>): Promise<T> {
    this.background.push(handled(p));
    return p;
  }

  /** Opens the hidden folder the bundle is written into, and the pixel scratch file inside it. */
  async openBundle(name: string, size: [number, number]): Promise<void> {
    this.bundleWriter ??= await BundleWriter.begin(this.options.out, name);
    this.pixelStore = await PixelStore.create(path.join(this.bundleWriter.tempDir, PIXELS_FILE), size[1], size[0]);
  }

  get writer(): BundleWriter {
    if (!this.bundleWriter) throw new Error('Run.writer used before openBundle()');
    return this.bundleWriter;
  }

  get pixels(): PixelStore {
    if (!this.pixelStore) throw new Error('Run.pixels used before openBundle()');
    return this.pixelStore;
  }

  /** Writes a file of the bundle (relative to its folder). */
  write = (relative: string, data: Buffer | string): Promise<void> => this.writer.writeFile(relative, data);

  /** Deletes the pixel scratch file (before the commit: it is not part of the results). */
  async dropPixels(): Promise<void> {
    await this.pixelStore?.dispose();
  }

  /** After a failure: lets background work settle, then removes the partial folder. Never throws. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.background);
    await this.pixelStore?.dispose().catch(() => undefined);
    await this.bundleWriter?.abort();
  }

  /** Releases every session of the run. Never throws. */
  async close(): Promise<void> {
    for (const s of this.sessions.splice(0)) await s.release().catch(() => undefined);
  }
}

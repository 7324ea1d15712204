/**
 * The cache's files on disk: one file per entry, `<dir>/<kind>/<key>`, the key a SHA-256 of everything
 * the entry depends on (keys.ts). Entries are written whole under a temporary name and renamed into
 * place, so a reader sees a complete entry or none, and two processes writing the same entry (same key,
 * same content) just replace one with the other. Every read is checked: magic, kind and key in the
 * header, payload length and SHA-256. A damaged, truncated or foreign file is a miss (and is removed),
 * never an error; a cache that cannot be read or written at all (permissions, a full disk) makes the run
 * go on without it, with one warning. The total size is bounded: past the limit the least recently used
 * entries (file modification time, refreshed on every hit) are removed. docs/method.md §13.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HOST, processAlive } from '../bundle/partials';

/** The cache folder inside a results root. */
export const CACHE_FOLDER = '.cache';
const MAGIC = Buffer.from('CRAFTC1\n', 'latin1');
const TEMP_PREFIX = '.tmp-';
const TEMP_OWNER = /^\.tmp-([A-Za-z0-9-]+)-(\d+)-[0-9a-f]{8}$/;
/** Eviction goes down to this share of the limit, so that it does not run again at the next write. */
const LOW_WATER = 0.9;
const KEY = /^[0-9a-f]{64}$/;
/** The kinds of entries (run-cache.ts, reuse.ts): the only folders the store reads, evicts or clears. */
export const CACHE_KINDS = ['images', 'fit', 'coefficients', 'runs'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

export interface StoreStats {
  hits: number;
  misses: number;
  /** Entries found damaged (bad header, length or checksum): removed and counted as misses. */
  damaged: number;
  written: number;
  evicted: number;
}

export interface StoreInfo {
  dir: string;
  /** Limit in bytes (0: the cache is off). */
  limit: number;
  entries: number;
  bytes: number;
  kinds: Record<string, { entries: number; bytes: number }>;
}

interface Listed {
  file: string;
  kind: string;
  bytes: number;
  used: number;
}

export class ContentStore {
  readonly stats: StoreStats = { hits: 0, misses: 0, damaged: 0, written: 0, evicted: 0 };
  /** Bytes on disk as far as this process knows (scanned at the first write, then kept up to date). */
  private total?: number;
  private evicting?: Promise<void>;
  private warned = false;

  constructor(
    readonly dir: string,
    /** Bytes; 0 turns the cache off (nothing is read or written). */
    readonly limit: number,
    private readonly warn: (line: string) => void = () => undefined,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  private path(kind: CacheKind, key: string): string {
    if (!CACHE_KINDS.includes(kind) || !KEY.test(key)) throw new Error(`ContentStore: bad entry name ${kind}/${key}`);
    return path.join(this.dir, kind, key);
  }

  /** The entry's payload, checked; undefined when absent, damaged or unreadable. */
  async get(kind: CacheKind, key: string): Promise<Buffer | undefined> {
    if (!this.enabled) return undefined;
    const file = this.path(kind, key);
    let data: Buffer;
    try {
      data = await fs.promises.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.failed('read', e);
      this.stats.misses++;
      return undefined;
    }
    const payload = decodeEntry(data, kind, key);
    if (!payload) {
      this.stats.damaged++;
      this.stats.misses++;
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
      return undefined;
    }
    this.stats.hits++;
    // Least recently *used*: a hit counts as a use.
    const now = new Date();
    await fs.promises.utimes(file, now, now).catch(() => undefined);
    return payload;
  }

  /** Stores an entry (its payload given in parts). Never throws: a cache that cannot be written is skipped. */
  async put(kind: CacheKind, key: string, parts: readonly Uint8Array[]): Promise<void> {
    if (!this.enabled) return;
    const file = this.path(kind, key);
    const bytes = encodeEntry(kind, key, parts);
    const size = bytes.reduce((a, b) => a + b.length, 0);
    if (size > this.limit) return; // never fits
    const folder = path.dirname(file);
    const temp = path.join(folder, `${TEMP_PREFIX}${HOST}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    try {
      await this.scan();
      // Twice at most: a `craft cache clear` may remove the folder between the mkdir and the write.
      for (let attempt = 1; ; attempt++) {
        try {
          await fs.promises.mkdir(folder, { recursive: true });
          await writeParts(temp, bytes);
          await fs.promises.rename(temp, file);
          break;
        } catch (e) {
          await fs.promises.rm(temp, { force: true }).catch(() => undefined);
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw e;
        }
      }
      this.stats.written++;
      this.total = (this.total ?? 0) + size;
      if (this.total > this.limit) await this.evict();
    } catch (e) {
      this.failed('write', e);
    }
  }

  /** Removes least recently used entries until the cache is under LOW_WATER × limit. */
  async evict(target = this.limit * LOW_WATER): Promise<void> {
    this.evicting ??= (async () => {
      try {
        const entries = await this.list();
        let total = entries.reduce((a, e) => a + e.bytes, 0);
        entries.sort((a, b) => a.used - b.used);
        for (const e of entries) {
          if (total <= target) break;
          try {
            await fs.promises.rm(e.file, { force: true });
            total -= e.bytes;
            this.stats.evicted++;
          } catch {
            // in use elsewhere (Windows) or not ours: leave it
          }
        }
        this.total = total;
      } finally {
        this.evicting = undefined;
      }
    })();
    return this.evicting;
  }

  async info(): Promise<StoreInfo> {
    const entries = await this.list();
    const kinds: StoreInfo['kinds'] = {};
    for (const e of entries) {
      const k = (kinds[e.kind] ??= { entries: 0, bytes: 0 });
      k.entries++;
      k.bytes += e.bytes;
    }
    return { dir: this.dir, limit: this.limit, entries: entries.length, bytes: entries.reduce((a, e) => a + e.bytes, 0), kinds };
  }

  /**
   * Removes every entry, then the folders left empty. Returns what was there. Only files that are
   * entries (by name and by their first bytes) go: `--out ~` makes the cache `~/.cache`, which other
   * programs own too. `failed`: entries that could not be removed (permissions), with the first error.
   */
  async clear(): Promise<StoreInfo & { failed: number; error?: string }> {
    const before = await this.info();
    let failed = 0;
    let error: string | undefined;
    for (const e of await this.list()) {
      try {
        await fs.promises.rm(e.file, { force: true });
      } catch (err) {
        failed++;
        error ??= (err as Error).message;
      }
    }
    // rmdir removes empty folders only: anything that is not ours stays, with its folder.
    for (const kind of CACHE_KINDS) await fs.promises.rmdir(path.join(this.dir, kind)).catch(() => undefined);
    await fs.promises.rmdir(this.dir).catch(() => undefined);
    this.total = undefined;
    return { ...before, failed, ...(error ? { error } : {}) };
  }

  /**
   * The entries on disk: files of the kinds' folders named by a key that start with the entry magic
   * (a foreign file is neither counted nor ever removed). Removes the temporary files of writers of
   * this machine that are gone.
   */
  private async list(): Promise<Listed[]> {
    const out: Listed[] = [];
    for (const kind of CACHE_KINDS) {
      let names: string[];
      try {
        names = await fs.promises.readdir(path.join(this.dir, kind));
      } catch {
        continue;
      }
      for (const name of names) {
        const file = path.join(this.dir, kind, name);
        const owner = TEMP_OWNER.exec(name);
        if (owner) {
          if (owner[1] === HOST && !processAlive(Number(owner[2]))) await fs.promises.rm(file, { force: true }).catch(() => undefined);
          continue;
        }
        if (!KEY.test(name)) continue;
        try {
          const st = await fs.promises.lstat(file);
          if (st.isFile() && (await startsWithMagic(file))) out.push({ file, kind, bytes: st.size, used: st.mtimeMs });
        } catch {
          // removed meanwhile
        }
      }
    }
    return out;
  }

  /** The bytes on disk, counted once per process before its first write (eviction recounts). */
  private async scan(): Promise<void> {
    if (this.total !== undefined) return;
    this.total = (await this.list()).reduce((a, e) => a + e.bytes, 0);
    if (this.total > this.limit) await this.evict();
  }

  private failed(what: 'read' | 'write', e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.warn(
      `The cache in ${this.dir} could not be ${what === 'read' ? 'read' : 'written'} (${(e as Error).message ?? String(e)}); the run goes on without it.`,
    );
  }
}

function sha256(data: Uint8Array | readonly Uint8Array[]): string {
  const h = crypto.createHash('sha256');
  for (const part of data instanceof Uint8Array ? [data] : data) h.update(part);
  return h.digest('hex');
}

/** MAGIC, u32 LE header length, the header (JSON: kind, key, payload bytes, payload SHA-256), the payload. */
function encodeEntry(kind: string, key: string, parts: readonly Uint8Array[]): Uint8Array[] {
  const header = Buffer.from(JSON.stringify({ kind, key, bytes: parts.reduce((a, p) => a + p.length, 0), sha256: sha256(parts) }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  return [MAGIC, length, header, ...parts];
}

/** The payload of an entry file, or undefined when anything does not check out. */
export function decodeEntry(data: Buffer, kind: string, key: string): Buffer | undefined {
  const start = MAGIC.length + 4;
  if (data.length < start || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const headerLength = data.readUInt32LE(MAGIC.length);
  if (start + headerLength > data.length) return undefined;
  let header: { kind?: unknown; key?: unknown; bytes?: unknown; sha256?: unknown };
  try {
    header = JSON.parse(data.toString('utf8', start, start + headerLength));
  } catch {
    return undefined;
  }
  const payload = data.subarray(start + headerLength);
  if (header?.kind !== kind || header.key !== key || header.bytes !== payload.length) return undefined;
  return header.sha256 === sha256(payload) ? payload : undefined;
}

async function startsWithMagic(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return bytesRead === MAGIC.length && head.equals(MAGIC);
  } finally {
    await fh.close();
  }
}

async function writeParts(file: string, parts: readonly Uint8Array[]): Promise<void> {
  // 'wx': a temporary name is never shared, so an existing file is a bug elsewhere, not something to overwrite.
  const fh = await fs.promises.open(file, 'wx');
  try {
    // writeFile loops until everything is written (writev may stop short).
    await fh.writeFile(Buffer.concat(parts as Uint8Array[]));
  } finally {
    await fh.close();
  }
}

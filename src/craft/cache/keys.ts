/**
 * Content keys of the cache (docs/method.md §13): SHA-256 digests of what an entry depends on. Files
 * (the model, h, each image) enter by the SHA-256 of their bytes, never by path or date, so a renamed
 * or touched file still hits and an edited one misses. Every key also holds the engine's identity
 * (cache format, tool, ONNX Runtime and sharp versions, platform, CPU model): floating-point results
 * may differ in their last bits between builds and CPUs, and a cached value must equal what this
 * engine would compute here.
 */
import * as crypto from 'crypto';
import * as os from 'os';
import { toolVersion } from '../stages/write';

/** Bump when an entry's layout or the way a cached value is computed changes. */
const CACHE_FORMAT = 1;

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

let salt: string | undefined;

/** The engine's identity, part of every key. */
export function engineSalt(): string {
  salt ??= JSON.stringify([
    CACHE_FORMAT,
    toolVersion().version,
    packageVersion('onnxruntime-node'),
    packageVersion('sharp'),
    process.platform,
    process.arch,
    os.cpus()[0]?.model ?? '',
  ]);
  return salt;
}

/** A key: the SHA-256 (hex) of the parts as JSON (undefined fields dropped, so an absent option and an unset one agree). */
export function digest(...parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

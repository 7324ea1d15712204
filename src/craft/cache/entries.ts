/**
 * The payload of a cache entry: a JSON description followed by raw arrays (float32, float64 or bytes,
 * little-endian as every platform the engine ships for), their byte lengths in the description. An
 * entry whose arrays do not add up is treated as damaged (undefined), like one whose checksum fails.
 */

export interface Unpacked<M> {
  meta: M;
  arrays: Buffer[];
}

/** [u32 LE length of the JSON, JSON {meta, lengths}, arrays…] */
export function pack(meta: object, ...arrays: ArrayBufferView[]): Uint8Array[] {
  const bytes = arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const json = Buffer.from(JSON.stringify({ meta, lengths: bytes.map((b) => b.length) }), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  return [head, json, ...bytes];
}

export function unpack<M>(payload: Buffer): Unpacked<M> | undefined {
  if (payload.length < 4) return undefined;
  const n = payload.readUInt32LE(0);
  if (4 + n > payload.length) return undefined;
  let parsed: { meta?: M; lengths?: unknown };
  try {
    parsed = JSON.parse(payload.toString('utf8', 4, 4 + n));
  } catch {
    return undefined;
  }
  const lengths = parsed?.lengths;
  if (!Array.isArray(lengths) || !lengths.every((l) => Number.isInteger(l) && l >= 0)) return undefined;
  let offset = 4 + n;
  const arrays: Buffer[] = [];
  for (const l of lengths as number[]) {
    arrays.push(payload.subarray(offset, offset + l));
    offset += l;
  }
  if (offset !== payload.length || parsed.meta === undefined) return undefined;
  return { meta: parsed.meta, arrays };
}

/** A float32 copy of `bytes` (aligned, so any slice of a file can be read); undefined when its length is not `count` floats. */
export function float32s(bytes: Buffer, count: number): Float32Array | undefined {
  if (bytes.length !== count * 4) return undefined;
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function float64s(bytes: Buffer, count: number): Float64Array | undefined {
  if (bytes.length !== count * 8) return undefined;
  const out = new Float64Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

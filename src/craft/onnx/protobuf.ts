/**
 * A minimal protobuf wire-format codec.
 *
 * A message decodes to its list of fields in file order. Each field keeps the exact bytes it was read
 * from (`raw`), and encoding a message concatenates those bytes. So a message that is decoded and
 * re-encoded without edits comes out byte-identical, and any field this project does not understand
 * (a newer ONNX field, say) survives an edit of its neighbours untouched. Only one level is decoded at a
 * time: a nested message stays bytes until someone asks for it.
 */

export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

export interface PbField {
  /** Field number. */
  readonly no: number;
  /** Wire type (WIRE_*). */
  readonly wire: number;
  /** The whole field as it sits in its message (tag and payload); re-emitted verbatim on encode. */
  readonly raw: Uint8Array;
  /** The payload: a LEN field's content, a varint's bytes, the 4 or 8 fixed bytes, or a group's inner bytes. */
  readonly data: Uint8Array;
}

/** Reads a varint that fits a JS number exactly (tags, lengths); returns [value, next position]. */
function readSmallVarint(buf: Uint8Array, pos: number, what: string): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= buf.length) throw new ProtobufError(`truncated ${what} at byte ${pos}`);
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
  throw new ProtobufError(`${what} too large at byte ${pos}`);
}

/** Skips a varint of at most 10 bytes; returns the next position. */
function skipVarint(buf: Uint8Array, pos: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
    if ((buf[pos++] & 0x80) === 0) return pos;
  }
  throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
}

/** Reads one field starting at `pos`; returns it and the next position. */
function readField(buf: Uint8Array, pos: number): [PbField, number] {
  const start = pos;
  const [tag, afterTag] = readSmallVarint(buf, pos, 'field tag');
  const no = Math.floor(tag / 8);
  const wire = tag % 8;
  if (no === 0) throw new ProtobufError(`invalid field number 0 at byte ${start}`);
  pos = afterTag;
  let dataStart = pos;
  let dataEnd: number;
  switch (wire) {
    case WIRE_VARINT:
      pos = skipVarint(buf, pos);
      dataEnd = pos;
      break;
    case WIRE_I64:
    case WIRE_I32: {
      const n = wire === WIRE_I64 ? 8 : 4;
      if (pos + n > buf.length) throw new ProtobufError(`truncated fixed${n * 8} field ${no} at byte ${start}`);
      pos += n;
      dataEnd = pos;
      break;
    }
    case WIRE_LEN: {
      const [len, afterLen] = readSmallVarint(buf, pos, 'length');
      if (afterLen + len > buf.length) {
        throw new ProtobufError(`truncated: field ${no} at byte ${start} declares ${len} bytes, ${buf.length - afterLen} remain`);
      }
      dataStart = afterLen;
      pos = dataEnd = afterLen + len;
      break;
    }
    case WIRE_SGROUP: {
      // Deprecated groups: skip nested fields up to the matching end-group tag.
      for (;;) {
        if (pos >= buf.length) throw new ProtobufError(`truncated group ${no} at byte ${start}`);
        const [innerTag] = readSmallVarint(buf, pos, 'field tag');
        if (innerTag % 8 === WIRE_EGROUP) {
          if (Math.floor(innerTag / 8) !== no) throw new ProtobufError(`mismatched end of group ${no} at byte ${pos}`);
          dataEnd = pos;
          pos = readSmallVarint(buf, pos, 'field tag')[1];
          break;
        }
        pos = readField(buf, pos)[1];
      }
      break;
    }
    default:
      throw new ProtobufError(`invalid wire type ${wire} for field ${no} at byte ${start}`);
  }
  return [{ no, wire, raw: buf.subarray(start, pos), data: buf.subarray(dataStart, dataEnd) }, pos];
}

/** Decodes one level of a message. Throws ProtobufError on malformed or truncated input. */
export function decodeMessage(buf: Uint8Array): PbField[] {
  const fields: PbField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [field, next] = readField(buf, pos);
    fields.push(field);
    pos = next;
  }
  return fields;
}

/** Concatenates the fields' bytes. */
export function encodeMessage(fields: readonly PbField[]): Uint8Array {
  return withFields(new Uint8Array(0), fields);
}

/** `head` followed by the fields' bytes, in one new buffer. */
function withFields(head: Uint8Array, fields: readonly PbField[]): Uint8Array {
  const out = new Uint8Array(head.length + fieldsLength(fields));
  out.set(head);
  let pos = head.length;
  for (const f of fields) {
    out.set(f.raw, pos);
    pos += f.raw.length;
  }
  return out;
}

function fieldsLength(fields: readonly PbField[]): number {
  let total = 0;
  for (const f of fields) total += f.raw.length;
  return total;
}

// ---------------------------------------------------------------------------------------------
// Encoding single fields.

/** Encodes a varint; negative numbers are written as 64-bit two's complement (10 bytes), as int64 needs. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Uint8Array.from(bytes);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function makeField(no: number, wire: number, head: Uint8Array[], payload: Uint8Array): PbField {
  const raw = concat([encodeVarint(no * 8 + wire), ...head, payload]);
  return { no, wire, raw, data: raw.subarray(raw.length - payload.length) };
}

export function lenField(no: number, payload: Uint8Array): PbField {
  return makeField(no, WIRE_LEN, [encodeVarint(payload.length)], payload);
}

export function messageField(no: number, fields: readonly PbField[]): PbField {
  // Written straight into the field's buffer: a big initializer is not copied once more per level.
  const head = concat([encodeVarint(no * 8 + WIRE_LEN), encodeVarint(fieldsLength(fields))]);
  const raw = withFields(head, fields);
  return { no, wire: WIRE_LEN, raw, data: raw.subarray(head.length) };
}

export function varintField(no: number, value: number | bigint): PbField {
  return makeField(no, WIRE_VARINT, [], encodeVarint(value));
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function stringField(no: number, value: string): PbField {
  return lenField(no, utf8Encoder.encode(value));
}

export function floatField(no: number, value: number): PbField {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return makeField(no, WIRE_I32, [], b);
}

/** Packed repeated varints (int64/int32/enum). */
export function packedVarintField(no: number, values: readonly (number | bigint)[]): PbField {
  return lenField(no, concat(values.map((v) => encodeVarint(v))));
}

/** Packed repeated float32. */
export function packedFloatField(no: number, values: ArrayLike<number>): PbField {
  const b = new Uint8Array(values.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return lenField(no, b);
}

// ---------------------------------------------------------------------------------------------
// Reading fields.

function expectWire(f: PbField, wire: number, what: string): void {
  if (f.wire !== wire) throw new ProtobufError(`field ${f.no} (${what}) has wire type ${f.wire}, expected ${wire}`);
}

function varintBigAt(buf: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asIntN(64, v), pos];
    shift += 7n;
  }
  throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
}

/** The value of a varint field as a signed 64-bit bigint. */
export function fieldBigInt(f: PbField): bigint {
  expectWire(f, WIRE_VARINT, 'varint');
  return varintBigAt(f.data, 0)[0];
}

function toSafeNumber(v: bigint, no: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ProtobufError(`field ${no}: integer ${v} does not fit a JS number`);
  }
  return Number(v);
}

/** The value of a varint field as a number (throws if it is not a safe integer). */
export function fieldInt(f: PbField): number {
  return toSafeNumber(fieldBigInt(f), f.no);
}

export function fieldString(f: PbField): string {
  expectWire(f, WIRE_LEN, 'string');
  try {
    return utf8Decoder.decode(f.data);
  } catch {
    throw new ProtobufError(`field ${f.no}: invalid UTF-8 string`);
  }
}

export function fieldFloat(f: PbField): number {
  expectWire(f, WIRE_I32, 'float');
  return new DataView(f.data.buffer, f.data.byteOffset, 4).getFloat32(0, true);
}

export function fieldMessage(f: PbField): PbField[] {
  expectWire(f, WIRE_LEN, 'message');
  return decodeMessage(f.data);
}

/** The last occurrence of a singular field (protobuf's "last one wins"), or undefined. */
export function lastField(fields: readonly PbField[], no: number): PbField | undefined {
  for (let i = fields.length - 1; i >= 0; i--) if (fields[i].no === no) return fields[i];
  return undefined;
}

export function fieldsOf(fields: readonly PbField[], no: number): PbField[] {
  return fields.filter((f) => f.no === no);
}

export function getInt(fields: readonly PbField[], no: number, dflt = 0): number {
  const f = lastField(fields, no);
  return f ? fieldInt(f) : dflt;
}

export function getString(fields: readonly PbField[], no: number, dflt = ''): string {
  const f = lastField(fields, no);
  return f ? fieldString(f) : dflt;
}

/** Repeated integer field, packed or not (readers must accept both), as bigints. */
export function repeatedBigInts(fields: readonly PbField[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE_LEN) {
      let pos = 0;
      while (pos < f.data.length) {
        const [v, next] = varintBigAt(f.data, pos);
        out.push(v);
        pos = next;
      }
    } else {
      out.push(fieldBigInt(f));
    }
  }
  return out;
}

/** Repeated integer field, packed or not, as numbers. */
export function repeatedInts(fields: readonly PbField[], no: number): number[] {
  return repeatedBigInts(fields, no).map((v) => toSafeNumber(v, no));
}

/** Repeated float32 field, packed or not. */
export function repeatedFloats(fields: readonly PbField[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE_LEN) {
      if (f.data.length % 4 !== 0) throw new ProtobufError(`field ${no}: packed floats of ${f.data.length} bytes`);
      const dv = new DataView(f.data.buffer, f.data.byteOffset, f.data.length);
      for (let i = 0; i < f.data.length; i += 4) out.push(dv.getFloat32(i, true));
    } else {
      out.push(fieldFloat(f));
    }
  }
  return out;
}

/** Repeated float64 field (wire type 1), packed or not. */
export function repeatedDoubles(fields: readonly PbField[], no: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE_LEN) {
      if (f.data.length % 8 !== 0) throw new ProtobufError(`field ${no}: packed doubles of ${f.data.length} bytes`);
      const dv = new DataView(f.data.buffer, f.data.byteOffset, f.data.length);
      for (let i = 0; i < f.data.length; i += 8) out.push(dv.getFloat64(i, true));
    } else {
      expectWire(f, WIRE_I64, 'double');
      out.push(new DataView(f.data.buffer, f.data.byteOffset, 8).getFloat64(0, true));
    }
  }
  return out;
}

export function repeatedStrings(fields: readonly PbField[], no: number): string[] {
  return fieldsOf(fields, no).map(fieldString);
}

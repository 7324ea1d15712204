// A small reader for the zip files vsce writes (a VSIX is a zip): the central directory's entries, and
// one entry's bytes. Enough for checking what a VSIX holds without unpacking it; no zip64 (a VSIX has far
// fewer than 65535 entries and is far below 4 GiB).
import * as fs from 'fs';
import * as zlib from 'zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  offset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function readAt(fd: number, length: number, position: number): Buffer {
  const b = Buffer.alloc(length);
  const n = fs.readSync(fd, b, 0, length, position);
  if (n !== length) throw new Error(`short read: ${n} of ${length} bytes at ${position}`);
  return b;
}

export function readZipEntries(file: string): ZipEntry[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    // The end-of-central-directory record (22 bytes) ends the file, after a comment of at most 65535 bytes.
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${file} is not a zip file (no end of central directory)`);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdOffset === 0xffffffff) throw new Error(`${file} is a zip64 file (not supported here)`);
    const cd = readAt(fd, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    while (p < cd.length) {
      if (cd.readUInt32LE(p) !== CENTRAL) throw new Error(`${file}: bad central directory entry at ${cdOffset + p}`);
      const nameLength = cd.readUInt16LE(p + 28);
      entries.push({
        method: cd.readUInt16LE(p + 10),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        offset: cd.readUInt32LE(p + 42),
        name: cd.toString('utf8', p + 46, p + 46 + nameLength),
      });
      p += 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
    }
    if (entries.length !== count) throw new Error(`${file}: ${entries.length} entries in the central directory, its end record says ${count}`);
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

export function readZipEntry(file: string, entry: ZipEntry): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const header = readAt(fd, 30, entry.offset);
    if (header.readUInt32LE(0) !== LOCAL) throw new Error(`${file}: no local header for ${entry.name}`);
    const start = entry.offset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const raw = readAt(fd, entry.compressedSize, start);
    const data = entry.method === 0 ? raw : entry.method === 8 ? zlib.inflateRawSync(raw) : undefined;
    if (!data) throw new Error(`${file}: ${entry.name} uses compression method ${entry.method}`);
    if (data.length !== entry.size) throw new Error(`${file}: ${entry.name} inflated to ${data.length} bytes, expected ${entry.size}`);
    return data;
  } finally {
    fs.closeSync(fd);
  }
}

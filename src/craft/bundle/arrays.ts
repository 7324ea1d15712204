/**
 * Numeric arrays a run keeps beside results.json for later work on it (refining a concept, what-if,
 * crop-scale views): raw little-endian float32, row-major, described in results.json `arrays`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CraftError } from '../errors';
import type { Matrix } from '../math/matrix';
import type { ArrayRef } from '../../protocol';

/** Bytes of a float32 matrix in file order (little-endian whatever the host). */
export function float32Bytes(m: Matrix): Buffer {
  const out = Buffer.alloc(m.rows * m.cols * 4);
  for (let k = 0; k < m.rows * m.cols; k++) out.writeFloatLE(m.data[k], k * 4);
  return out;
}

/** Reads an array of a run folder, checking its size against its description. */
export async function readArray(runDir: string, ref: ArrayRef): Promise<Matrix> {
  const file = path.resolve(runDir, ref.file);
  const rel = path.relative(path.resolve(runDir), file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new CraftError('input', `${ref.file} is outside the run folder ${runDir}.`);
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    throw new CraftError(
      'input',
      `The run's ${ref.file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
      'Re-run the explanation: this run folder is incomplete.',
    );
  }
  if (bytes.length !== ref.rows * ref.cols * 4) {
    throw new CraftError(
      'input',
      `The run's ${ref.file} holds ${bytes.length} bytes, not the ${ref.rows} × ${ref.cols} float32 values results.json describes.`,
      'Re-run the explanation: this run folder is damaged.',
    );
  }
  const data = new Float64Array(ref.rows * ref.cols);
  for (let k = 0; k < data.length; k++) data[k] = bytes.readFloatLE(k * 4);
  return { rows: ref.rows, cols: ref.cols, data };
}

/**
 * Text files users write (config, labels): editors on Windows often save UTF-8 with a byte order
 * mark, which Node keeps as U+FEFF and JSON.parse refuses. Every reader of such files strips it.
 */
import * as fs from 'fs';

export const BOM = '\uFEFF';

export function stripBom(text: string): string {
  return text.startsWith(BOM) ? text.slice(1) : text;
}

/** A UTF-8 text file without its byte order mark. */
export function readText(file: string): string {
  return stripBom(fs.readFileSync(file, 'utf8'));
}

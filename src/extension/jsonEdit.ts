/**
 * Edits of a JSON object's top-level keys made in its text, so that a hand-written file keeps its
 * layout, key order, spacing and byte order mark: only the members that change are rewritten.
 * The text must be valid JSON (the caller parsed it); anything unexpected falls back to a rewrite.
 */
import { isDeepStrictEqual } from 'util';
import { stripBom } from '../craft/text';

interface Member {
  key: string;
  /** Offset of the key's opening quote. */
  start: number;
  valueStart: number;
  valueEnd: number;
}

const WS = /\s/;

/** Top-level members of `text` (an object), with offsets; undefined when it is not an object. */
function members(text: string): { members: Member[]; open: number; close: number } | undefined {
  let i = 0;
  const skip = () => {
    while (i < text.length && (WS.test(text[i]) || text[i] === '\uFEFF')) i++;
  };
  const string = (): string => {
    const from = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(from, i)) as string;
  };
  const value = () => {
    if (text[i] === '"') return void string();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        if (text[i] === '"') {
          string();
          continue;
        }
        if (text[i] === '{' || text[i] === '[') depth++;
        else if (text[i] === '}' || text[i] === ']') depth--;
        i++;
      } while (depth > 0 && i < text.length);
      return;
    }
    while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
  };
  skip();
  if (text[i] !== '{') return undefined;
  const open = i++;
  const list: Member[] = [];
  for (;;) {
    skip();
    if (text[i] === '}') return { members: list, open, close: i };
    if (text[i] !== '"') return undefined;
    const start = i;
    const key = string();
    skip();
    if (text[i++] !== ':') return undefined;
    skip();
    const valueStart = i;
    value();
    list.push({ key, start, valueStart, valueEnd: i });
    skip();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return undefined;
  }
}

/**
 * A value as written into the file: arrays of numbers or strings on one line ("[28, 28]"); objects
 * indented under the member, or on one line in a one-line file.
 */
function format(value: unknown, indent: string, multiline: boolean): string {
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  }
  return multiline ? JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`) : JSON.stringify(value);
}

/**
 * `text` with `set` keys given their values (replaced in place, or added at the end) and `remove`
 * keys deleted. Returns undefined when the text cannot be edited in place (the caller rewrites it).
 */
export function editJsonObject(text: string, set: Record<string, unknown>, remove: string[] = []): string | undefined {
  const found = members(text);
  if (!found) return undefined;
  const { members: list, close } = found;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const first = list[0];
  const lineStart = first ? text.lastIndexOf('\n', first.start) + 1 : -1;
  const indent = first && lineStart > found.open ? text.slice(lineStart, first.start).replace(/\S/g, '') : '  ';
  const multiline = first ? text.slice(found.open, first.start).includes('\n') : true;
  // Edits from the end backwards, so earlier offsets stay valid.
  const edits: { from: number; to: number; text: string }[] = [];
  for (const m of list) {
    if (remove.includes(m.key)) {
      // The member with the separator before it (or after it, for the first member).
      const index = list.indexOf(m);
      if (index > 0) edits.push({ from: list[index - 1].valueEnd, to: m.valueEnd, text: '' });
      else {
        const next = list[1];
        edits.push({ from: m.start, to: next ? next.start : m.valueEnd, text: '' });
      }
    } else if (Object.prototype.hasOwnProperty.call(set, m.key)) {
      edits.push({ from: m.valueStart, to: m.valueEnd, text: format(set[m.key], indent, multiline) });
    }
  }
  const present = new Set(list.map((m) => m.key));
  const added = Object.keys(set).filter((k) => !present.has(k));
  if (added.length) {
    const kept = list.filter((m) => !remove.includes(m.key));
    const sep = multiline ? `${eol}${indent}` : ' ';
    const body = added.map((k) => `"${k.replace(/["\\]/g, '\\$&')}": ${format(set[k], indent, multiline)}`).join(`,${sep}`);
    if (kept.length) {
      const last = kept[kept.length - 1];
      edits.push({ from: last.valueEnd, to: last.valueEnd, text: `,${sep}${body}` });
    } else {
      // An object left empty: its inside becomes the new members.
      const from = list.length ? list[list.length - 1].valueEnd : found.open + 1;
      edits.push({ from, to: close, text: `${multiline ? `${eol}${indent}` : ''}${body}${multiline ? eol : ''}` });
    }
  }
  edits.sort((a, b) => b.from - a.from);
  for (let k = 1; k < edits.length; k++) if (edits[k].to > edits[k - 1].from) return undefined; // overlapping edits
  let out = text;
  for (const e of edits) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  // The edited text must mean exactly the intended object; otherwise the caller rewrites the file.
  const expected: Record<string, unknown> = { ...(JSON.parse(stripBom(text)) as Record<string, unknown>), ...set };
  for (const k of remove) delete expected[k];
  try {
    return isDeepStrictEqual(JSON.parse(stripBom(out)), expected) ? out : undefined;
  } catch {
    return undefined;
  }
}

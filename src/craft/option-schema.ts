/**
 * The JSON schema of craft.config.json and the manifest's `contributes.configuration`, generated
 * from the option table. Both are checked in (VS Code reads them without running code):
 * `npm run gen:options` writes them, `npm run build` and test/unit/options.test.ts fail when they
 * differ from what this module generates.
 */
import { MAX_CLASSES, configOptions, describeBounds, formatNumber, settingOptions, sizeTextPattern, type OptionSpec } from './option-table';

type Json = Record<string, unknown>;

/** "1 to 512", "> 0 and ≤ 100", "each side 1 to 8192", ... for descriptions. */
function boundsText(o: OptionSpec): string {
  if (o.type === 'size' || o.type === 'hw') return `each side 1 to ${o.max}`;
  if (o.type !== 'int' && o.type !== 'number') return '';
  if (o.min !== undefined && o.max !== undefined && o.above === undefined) return `${o.min} to ${formatNumber(o.max)}`;
  return describeBounds(o).replace(/^an? (integer|number) /, '');
}

/** The option's description plus its bounds and default: "Number of concepts (NMF rank r). 1 to 512; default 10." */
function sentence(o: OptionSpec): string {
  const text = o.doc ?? `${o.help.charAt(0).toUpperCase()}${o.help.slice(1)}.`;
  const extra: string[] = [];
  const bounds = boundsText(o);
  if (bounds) extra.push(bounds);
  if (o.default !== undefined && o.type !== 'switch') extra.push(`default ${typeof o.default === 'number' ? formatNumber(o.default) : String(o.default)}`);
  if (!extra.length) return text;
  const tail = extra.join('; ');
  return `${text} ${tail.charAt(0).toUpperCase()}${tail.slice(1)}.`;
}

function numberSchema(o: OptionSpec): Json {
  const s: Json = { type: o.type === 'int' ? 'integer' : 'number' };
  if (o.above !== undefined) s.exclusiveMinimum = o.above;
  else if (o.min !== undefined) s.minimum = o.min;
  if (o.max !== undefined) s.maximum = o.max;
  return s;
}

/** Non-empty: at least one character that is not white space (the checks trim). */
const NON_EMPTY = { type: 'string', pattern: '\\S' };

/** The schema of one value, without description. */
function valueSchema(o: OptionSpec): Json {
  const side = { type: 'integer', minimum: 1, maximum: o.max };
  switch (o.type) {
    case 'int':
    case 'number':
      return numberSchema(o);
    case 'file':
    case 'folder':
    case 'path':
    case 'string':
      return { ...NON_EMPTY };
    case 'class': {
      const one = [{ type: 'integer', minimum: 0 }, { ...NON_EMPTY }];
      return { anyOf: [...one, { type: 'array', items: { anyOf: one }, minItems: 1, maxItems: MAX_CLASSES }] };
    }
    case 'folders':
      return { type: 'object', additionalProperties: { ...NON_EMPTY }, maxProperties: MAX_CLASSES };
    case 'choice':
      return o.schema?.pattern ? { anyOf: [{ enum: [...o.choices!] }, { type: 'string', pattern: o.schema.pattern }] } : { enum: [...o.choices!] };
    case 'size':
      return {
        anyOf: [side, { type: 'string', pattern: sizeTextPattern(o.max!) }, { type: 'array', items: side, minItems: 2, maxItems: 2 }],
      };
    case 'hw':
      return { type: 'array', items: side, minItems: 2, maxItems: 2 };
    case 'triple':
    case 'pair': {
      const n = o.type === 'triple' ? 3 : 2;
      return { type: 'array', items: o.above !== undefined ? { type: 'number', exclusiveMinimum: o.above } : { type: 'number' }, minItems: n, maxItems: n };
    }
    case 'switch':
      return { type: 'boolean' };
    case 'object': {
      const fields = configOptions().filter((f) => f.config!.startsWith(`${o.config}.`));
      const properties: Json = {};
      for (const f of fields) properties[f.config!.slice(o.config!.length + 1)] = { ...valueSchema(f), description: sentence(f) };
      return { type: 'object', properties, additionalProperties: false };
    }
  }
}

/** schemas/craft.config.schema.json */
export function configSchema(): Json {
  const properties: Json = { $schema: { type: 'string', description: 'The schema this file follows (for editors).' } };
  for (const o of configOptions()) {
    if (o.config!.includes('.')) continue; // fields of an object option
    properties[o.config!] = { ...valueSchema(o), description: sentence(o) };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://craft-explain/schemas/craft.config.schema.json',
    title: 'CRAFT workspace config (craft.config.json)',
    description:
      'The choices made once for a model and a dataset, read by "CRAFT: Explain class" and by `craft explain --config`. ' +
      'Paths are relative to this file. Every key is optional; command arguments and flags override it. ' +
      'Keys starting with "$" (e.g. "$comment") are notes, never read. Generated from src/craft/option-table.ts.',
    type: 'object',
    properties,
    // Notes: keys starting with "$" are kept and ignored; any other unknown key is a mistake.
    patternProperties: { '^\\$': {} },
    additionalProperties: false,
  };
}

/** package.json contributes.configuration */
export function manifestConfiguration(): Json {
  const properties: Json = {};
  for (const o of settingOptions()) {
    const s = o.setting!;
    const p: Json = {
      ...(o.type === 'choice'
        ? { type: 'string', enum: [...o.choices!] }
        : o.type === 'folder' || o.type === 'file'
          ? { type: 'string' }
          : o.type === 'switch'
            ? { type: 'boolean' }
            : numberSchema(o)),
    };
    if (o.choiceHelp) p.enumDescriptions = [...o.choiceHelp];
    p.default = s.default ?? o.default;
    if (s.min !== undefined) p.minimum = s.min;
    const text = s.help ?? o.doc ?? o.help;
    p.markdownDescription = o.config ? `${text} \`"${o.config}"\` in \`craft.config.json\` overrides it.` : text;
    if (s.scope) p.scope = s.scope;
    properties[`craft.${s.key}`] = p;
  }
  return { title: 'CRAFT', properties };
}

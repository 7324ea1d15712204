import { CraftError } from '../craft/errors';

/** A tiny `--flag value` / `--flag=value` / `--switch` parser: the CLI needs nothing more. */
export interface ParsedArgs {
  command?: string;
  flags: Map<string, string>;
  switches: Set<string>;
  positional: string[];
}

export function parseArgs(argv: string[], known: { values: string[]; switches: string[] }): ParsedArgs {
  const parsed: ParsedArgs = { flags: new Map(), switches: new Set(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      if (parsed.command === undefined && parsed.positional.length === 0) parsed.command = arg;
      else parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (known.switches.includes(name)) {
      parsed.switches.add(name);
      continue;
    }
    if (!known.values.includes(name)) {
      throw new CraftError('usage', `Unknown option --${name}.`, 'Run `craft --help` for the list of options.');
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new CraftError('usage', `Option --${name} needs a value.`);
    parsed.flags.set(name, value);
  }
  return parsed;
}

export function intFlag(args: ParsedArgs, name: string, min = 1): number | undefined {
  const raw = args.flags.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new CraftError('usage', `--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}.`);
  }
  return n;
}

export function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const raw = args.flags.get(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new CraftError('usage', `--${name} must be a non-negative number, got ${JSON.stringify(raw)}.`);
  return n;
}

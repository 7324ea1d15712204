import { CraftError } from '../craft/errors';
import { COMMANDS, aliasesFor, flagOptions, fromText, suggest, type Command, type OptionSpec } from '../craft/option-table';

/**
 * The command line, read against the option table: `--flag VALUE`, `--flag=VALUE` or `--switch`.
 * Rules (also in --help): a value that starts with "--" must be given as --flag=VALUE (so
 * `--model --images x` is an error, not a model named "--images"); values starting with a single "-"
 * are taken as values (negative numbers reach the option's own check); each flag at most once; a
 * flag must belong to the command; `--` ends the options.
 */
export interface ParsedArgs {
  command?: string;
  /** The text given to each flag, by option name (the table's `name`); switches: ''. */
  given: Map<string, string>;
  /** Checked values by option name, filled by checkCommand; switches are true. */
  values: Map<string, unknown>;
  positional: string[];
}

const usage = (message: string, hint?: string) => new CraftError('usage', message, hint);

function byFlag(): Map<string, OptionSpec> {
  return new Map(flagOptions().map((o) => [o.flag!, o]));
}

function unknownOption(arg: string): CraftError {
  const name = arg.replace(/^-+/, '').replace(/=.*$/, '');
  const flags = flagOptions();
  // "--maxImages", "--patchSize" (other surfaces' names) and near misses ("--concept").
  const near =
    arg === '-h'
      ? 'help'
      : suggest(
          name,
          flags.map((o) => o.flag!),
          aliasesFor((o) => o.flag),
        );
  return usage(`Unknown option ${arg.replace(/=.*$/, '')}.${near ? ` Did you mean --${near}?` : ''}`, 'Run `craft --help` for the list of options.');
}

export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { given: new Map(), values: new Map(), positional: [] };
  const flags = byFlag();
  let onlyPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositional || !arg.startsWith('-') || arg === '-') {
      if (parsed.command === undefined && parsed.positional.length === 0) parsed.command = arg;
      else parsed.positional.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositional = true;
      continue;
    }
    if (!arg.startsWith('--')) throw unknownOption(arg);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const o = flags.get(name);
    if (!o) throw unknownOption(arg);
    // Repeated flags are an error: with --config for defaults, a second value is a mistake, and
    // "last wins" would hide it.
    if (parsed.given.has(o.name)) throw usage(`--${name} is given twice.`, 'Give each option once; flags override the config file.');
    if (o.type === 'switch') {
      if (eq >= 0) throw usage(`--${name} takes no value, got ${JSON.stringify(arg.slice(eq + 1))}.`);
      parsed.given.set(o.name, '');
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value !== undefined && value.startsWith('--')) {
        throw usage(
          `--${name} needs a value (${o.meta}), but the next argument is the option ${value.replace(/=.*$/, '')}.`,
          `A value that starts with "--" is written --${name}=VALUE.`,
        );
      }
      i++;
    }
    if (value === undefined || value === '') throw usage(`--${name} needs a value (${o.meta}).`);
    parsed.given.set(o.name, value);
  }
  return parsed;
}

/**
 * Checks that every given flag belongs to the command and that it got the positional arguments it
 * takes, then checks each value against the table (filling `values`).
 */
export function checkCommand(args: ParsedArgs, command: Command, positional: { min: number; max: number; usage: string }): void {
  for (const name of args.given.keys()) {
    const o = flagOptions().find((x) => x.name === name)!;
    if (!o.commands!.includes(command)) {
      const others = COMMANDS.filter((c) => o.commands!.includes(c))
        .map((c) => `craft ${c}`)
        .join(', ');
      // `craft explain --concept 3` most likely meant --concepts (--concept belongs to craft refine).
      const near = suggest(
        o.flag!,
        flagOptions()
          .filter((x) => x.commands!.includes(command))
          .map((x) => x.flag!),
      );
      throw usage(
        `--${o.flag} is not an option of craft ${command} (it belongs to ${others}).${near ? ` Did you mean --${near}?` : ''}`,
        `Usage: ${positional.usage}`,
      );
    }
  }
  if (args.positional.length > positional.max) {
    const extra = args.positional[positional.max];
    throw usage(
      `Unexpected argument ${JSON.stringify(extra)}: craft ${command} takes ${positional.max === 0 ? 'no arguments besides its options' : `${positional.max} argument${positional.max > 1 ? 's' : ''}`}.`,
      `Usage: ${positional.usage}`,
    );
  }
  if (args.positional.length < positional.min) throw usage(`craft ${command} needs more arguments.`, `Usage: ${positional.usage}`);
  for (const [name, text] of args.given) {
    const o = flagOptions().find((x) => x.name === name)!;
    args.values.set(name, fromText(o, text, `--${o.flag}`));
  }
}

/** A given value, typed by the caller (the table checked it). */
export function value<T>(args: ParsedArgs, name: string): T | undefined {
  return args.values.get(name) as T | undefined;
}

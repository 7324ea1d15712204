import { flagOptions, formatNumber, type OptionSpec } from '../craft/option-table';

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as a shell reports a killed process. */
export const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

const WIDTH = 100;
const COLUMN = 22;

/** "(1–512; default 10)", "(each side 1–8192)", "(default auto)" or ''. */
function suffix(o: OptionSpec): string {
  const parts: string[] = [];
  if ((o.type === 'int' || o.type === 'number') && o.max !== undefined) {
    parts.push(o.above !== undefined ? `> ${o.above} and ≤ ${formatNumber(o.max)}` : `${o.min}–${formatNumber(o.max)}`);
  }
  if (o.type === 'size') parts.push(`each side 1–${o.max}`);
  if (o.default !== undefined && o.type !== 'switch') parts.push(`default ${typeof o.default === 'number' ? formatNumber(o.default) : o.default}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

/** Wraps `text` after the flag column. */
function wrap(head: string, text: string): string {
  const lines: string[] = [];
  let line = head.length < COLUMN ? head.padEnd(COLUMN) : `${head}  `;
  for (const word of text.split(' ')) {
    if (line.length + word.length > WIDTH && line.trim().length > head.trim().length) {
      lines.push(line.trimEnd());
      line = ' '.repeat(COLUMN);
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

/** Options whose meaning or default differs under craft refine. */
const REFINE_HELP: Record<string, string> = {
  layer: "the earlier layer to factorise the crops at (default: the last usable layer before the run's with a finer grid)",
  concepts: 'number of sub-concepts (1–512; default 5, or the crops kept when fewer)',
  batch: "batch size of every forward pass (default: the run's)",
  designs: "Sobol designs per concept block (default: the run's)",
  out: "results root of the refined run (default: RESULTS_DIR/refined, where the run's panel finds it)",
};

function optionLine(o: OptionSpec, override?: string): string {
  if (override) return wrap(`  --${o.flag}${o.meta ? ` ${o.meta}` : ''}`, override);
  const extra = suffix(o);
  // "(NMF rank)" + "(1–512; default 10)" → "(NMF rank; 1–512; default 10)"
  const text = extra && o.help.endsWith(')') ? `${o.help.slice(0, -1)}; ${extra.slice(2)}` : `${o.help}${extra}`;
  return wrap(`  --${o.flag}${o.meta ? ` ${o.meta}` : ''}`, text);
}

/** `craft --help`, from the option table. */
export function helpText(): string {
  const flags = flagOptions();
  const forCommand = (c: 'explain' | 'layers' | 'report' | 'refine' | 'cache') =>
    flags.filter((o) => o.commands!.includes(c) && o.name !== 'help' && o.name !== 'version');
  const layers = forCommand('layers')
    .map((o) => `--${o.flag}`)
    .join(', ');

  return `craft — explain an ONNX image classifier's decision for one class with CRAFT concepts
(Fel et al., "CRAFT: Concept Recursive Activation FacTorization for Explainability", CVPR 2023)

Usage:
  craft explain --model M.onnx --images DIR --class K|LABEL [options]
  craft explain --config craft.config.json [options]
  craft layers  --model M.onnx [--size H[xW]] [--images DIR]
  craft report  RESULTS_DIR [--output FILE.html] [--include-paths]   (a standalone HTML page of a run)
  craft refine  RESULTS_DIR --concept K|#N|NAME [--layer TENSOR] [--concepts R]
  craft cache   info|clear [--out DIR] [--json]    (the cache in DIR/.cache: what it holds, or empty it)
  craft --help | --version

explain options:
${forCommand('explain')
  .map((o) => optionLine(o))
  .join('\n')}

${wrap('layers options:', `${layers} (as for explain; the probe runs on the CPU unless --provider says otherwise)`)}
report options:
${forCommand('report')
  .map((o) => optionLine(o))
  .join('\n')}

${wrap('refine:', "the crops where the concept's coefficient reaches its 90th percentile, cut again from the run's images, factorised whole at an earlier layer into sub-concepts with their own importances (a new run, linked to its parent, in RESULTS_DIR/refined; refine it again for a tree)")}
refine options:
${forCommand('refine')
  .sort((a, b) => Number(b.name === 'concept') - Number(a.name === 'concept'))
  .map((o) => optionLine(o, REFINE_HELP[o.name]))
  .join('\n')}
cache options:
${forCommand('cache')
  .map((o) => optionLine(o))
  .join('\n')}

Flags take a value as --flag VALUE or --flag=VALUE; a value that starts with "--" needs the = form.
Each flag may be given once (twice is an error). Flags override the --config file, whose keys are
the options' names in camelCase ("maxImages", "alphaW"; schemas/craft.config.schema.json).

Exit codes: 0 done, 2 bad usage, 3 bad input data, 4 model problem, 5 execution provider,
6 cannot write results, 1 unexpected error. A run stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP
removes its partial results and exits ${SIGNAL_EXIT.SIGINT}, ${SIGNAL_EXIT.SIGTERM} or ${SIGNAL_EXIT.SIGHUP} (128 + the signal's number); a second
signal stops at once.
`;
}

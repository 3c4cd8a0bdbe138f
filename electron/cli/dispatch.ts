/**
 * The CLI's first step, kept free of the core so that it loads in a few milliseconds: which
 * command argv names, and the answers that need none (help, --version, a typo). The launcher's
 * loader (out/cli/castellan.mjs, scripts/build-cli.ts) runs `preflight` with the commands'
 * metadata from out/cli/commands.json before it loads the bundled CLI at all.
 */
import type { CommandMeta, Options } from './cli.ts';
import { commandHelp, nearest, overview, safe } from './help.ts';
import type { CliIO } from './io.ts';
import { VERSION } from './version.ts';

export const GLOBAL_OPTIONS: Options = {
  'data-dir': { type: 'string' },
  database: { type: 'string' },
  'passphrase-env': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** The leading words of argv, skipping options and the values of string options. */
export function wordsOf(commands: CommandMeta[], argv: string[]): { words: string[]; indexes: number[] } {
  const takesValue = new Set<string>();
  for (const options of [GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})]) {
    for (const [name, def] of Object.entries(options)) {
      if (def.type === 'string') {
        takesValue.add(`--${name}`);
        if (def.short) takesValue.add(`-${def.short}`);
      }
    }
  }
  const words: string[] = [];
  const indexes: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-') && arg !== '-') {
      if (takesValue.has(arg)) i++;
      continue;
    }
    words.push(arg);
    indexes.push(i);
  }
  return { words, indexes };
}

export function findCommand<C extends CommandMeta>(commands: C[], argv: string[]): { command: C; rest: string[] } | null {
  const { words, indexes } = wordsOf(commands, argv);
  let best: C | null = null;
  for (const c of commands) {
    if (c.path.every((p, i) => words[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  if (!best) return null;
  const drop = new Set(indexes.slice(0, best.path.length));
  return { command: best, rest: argv.filter((_, i) => !drop.has(i)) };
}

/** Commands whose path starts with `words` (e.g. `tokens` → tokens list, tokens show). */
function groupOf(commands: CommandMeta[], words: string[]): CommandMeta[] {
  if (words.length === 0) return [];
  return commands.filter((c) => c.path.length > words.length && words.every((w, i) => c.path[i] === w));
}

/** "unknown command" with the nearest one, or the subcommands of a group; always exit 1. */
function unknownCommand(io: Pick<CliIO, 'stderr'>, commands: CommandMeta[], words: string[]): number {
  const group = groupOf(commands, words.slice(0, 1));
  const given = words.slice(0, 2).join(' ');
  if (group.length > 0 && words.length === 1) {
    io.stderr(`castellan: "${safe(words[0])}" needs a subcommand: ${group.map((c) => c.path.join(' ')).join(', ')}\n`);
  } else {
    const guess = nearest(commands, words);
    io.stderr(`castellan: unknown command "${safe(given)}"${guess ? `; did you mean "${guess}"?` : ''}\n`);
  }
  io.stderr('run "castellan help" for the list of commands\n');
  return 1;
}

/**
 * Answers what needs no command to run: help (stdout, exit 0), --version, no command or an
 * unknown one (stderr, exit 1, with the nearest command). Null when a command is to run.
 */
export function preflight(argv: string[], io: Pick<CliIO, 'stdout' | 'stderr'>, commands: CommandMeta[]): number | null {
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = wordsOf(commands, argv).words;
  if (argv[0] === '--version' || argv[0] === '-V' || (words.length === 1 && words[0] === 'version' && !wantsHelp)) {
    io.stdout(`castellan ${VERSION}\n`);
    return 0;
  }
  if (words[0] === 'help') {
    const topic = words.slice(1);
    if (topic.length === 0) {
      io.stdout(overview(commands, VERSION));
      return 0;
    }
    const exact = commands.find((c) => c.path.join(' ') === topic.join(' '));
    if (exact) {
      io.stdout(commandHelp(exact));
      return 0;
    }
    const group = groupOf(commands, topic);
    if (group.length > 0) {
      io.stdout(overview(group, VERSION));
      return 0;
    }
    return unknownCommand(io, commands, topic);
  }
  const found = findCommand(commands, argv);
  if (wantsHelp) {
    if (found) io.stdout(commandHelp(found.command));
    else if (groupOf(commands, words).length > 0) io.stdout(overview(groupOf(commands, words), VERSION));
    else io.stdout(overview(commands, VERSION));
    return 0;
  }
  if (!found) {
    if (words.length === 0) {
      io.stderr(overview(commands, VERSION));
      return 1;
    }
    return unknownCommand(io, commands, words);
  }
  return null;
}

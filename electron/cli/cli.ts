/**
 * The headless CLI on the same core as the app. Exit codes: 0 success, 1 usage error,
 * 2 domain error (message on stderr). Secrets come from an environment variable named by a
 * flag or from a prompt, never from argv (argv is visible to every user on the machine).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CastellanError, isCastellanError } from '../../shared/errors.ts';
import { currentActor } from '../core/actor.ts';
import { resolveWorkspaceDir, Workspace } from '../core/workspace.ts';
import { commandHelp, nearest, overview, safe, safeText, type VaultNeed } from './help.ts';
import { readSecret, type CliIO } from './io.ts';
import { VERSION } from './version.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  io: CliIO;
  args: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  /** Opens the workspace (once) from --data-dir / CASTELLAN_DATA_DIR / the app's default. */
  workspace(): Workspace;
  /** Opens the workspace and unlocks its vault with --passphrase-env or a prompt. */
  unlocked(): Promise<Workspace>;
  /** A secret from the env var named by `flag`, or a prompt. */
  secret(flag: string, prompt: string, opts?: { confirm?: boolean }): Promise<string>;
  print(text: string): void;
  printJson(value: unknown): void;
}

export interface Command {
  /** e.g. ['deployments', 'import'] */
  path: string[];
  usage: string;
  summary: string;
  options?: Options;
  /** Exact number of positionals, or [min, max]. */
  positionals?: number | [number, number];
  /** Whether it needs the vault unlocked (help.ts has the built-in commands' answers). */
  vault?: VaultNeed;
  /** What each flag means, where help.ts's wording does not fit. */
  flagHelp?: Record<string, string>;
  run(ctx: CommandContext): Promise<void> | void;
}

const GLOBAL_OPTIONS: Options = {
  'data-dir': { type: 'string' },
  'passphrase-env': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** The leading words of argv, skipping options and the values of string options. */
function wordsOf(commands: Command[], argv: string[]): { words: string[]; indexes: number[] } {
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

function findCommand(commands: Command[], argv: string[]): { command: Command; rest: string[] } | null {
  const { words, indexes } = wordsOf(commands, argv);
  let best: Command | null = null;
  for (const c of commands) {
    if (c.path.every((p, i) => words[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  if (!best) return null;
  const drop = new Set(indexes.slice(0, best.path.length));
  return { command: best, rest: argv.filter((_, i) => !drop.has(i)) };
}

/** Commands whose path starts with `words` (e.g. `tokens` → tokens list, tokens show). */
function groupOf(commands: Command[], words: string[]): Command[] {
  if (words.length === 0) return [];
  return commands.filter((c) => c.path.length > words.length && words.every((w, i) => c.path[i] === w));
}

/** "unknown command" with the nearest one, or the subcommands of a group; always exit 1. */
function unknownCommand(io: CliIO, commands: Command[], words: string[]): number {
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

export async function runCli(argv: string[], io: CliIO, commands: Command[]): Promise<number> {
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

  const { command, rest } = found;
  let parsed: { values: CommandContext['values']; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
    const [min, max] = Array.isArray(command.positionals)
      ? command.positionals
      : [command.positionals ?? 0, command.positionals ?? 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(`expected ${min === max ? min : `${min}–${max}`} argument(s), got ${parsed.positionals.length}`);
    }
  } catch (err) {
    io.stderr(`castellan: ${safeText((err as Error).message)}\nusage: castellan ${command.usage}\n`);
    return 1;
  }

  let ws: Workspace | null = null;
  const values = parsed.values;
  const ctx: CommandContext = {
    io,
    args: parsed.positionals,
    values,
    workspace() {
      ws ??= Workspace.open(resolveWorkspaceDir(values['data-dir'] as string | undefined, io.env), {
        actor: currentActor('cli', io.env),
      });
      return ws;
    },
    async unlocked() {
      const workspace = ctx.workspace();
      if (!workspace.vault.status().initialized) {
        throw new CastellanError('LOCKED', 'the workspace has no vault yet; run `castellan init` first');
      }
      if (!workspace.vault.unlocked) {
        workspace.vault.unlockWithPassphrase(await ctx.secret('passphrase-env', 'Workspace passphrase: '));
      }
      return workspace;
    },
    secret(flag, prompt, opts) {
      return readSecret(io, values[flag] as string | undefined, flag, prompt, opts);
    },
    print(text) {
      // Fields from specs, CSRs and the ledger may hold escape sequences: never pass them to a terminal.
      const line = safeText(text);
      io.stdout(line.endsWith('\n') ? line : `${line}\n`);
    },
    printJson(value) {
      io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    },
  };

  try {
    await command.run(ctx);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`castellan: ${safeText(err.message)}\nusage: castellan ${command.usage}\n`);
      return 1;
    }
    if (isCastellanError(err)) {
      io.stderr(`castellan: ${safeText(err.message)}\n`);
      return 2;
    }
    // Never print an unexpected error's message: it may quote input. Name the failure only.
    io.stderr(`castellan: ${command.path.join(' ')} failed unexpectedly (${err instanceof Error ? err.name : typeof err})\n`);
    if (io.env.CASTELLAN_DEBUG === '1' && err instanceof Error) io.stderr(`${err.stack ?? ''}\n`);
    return 2;
  } finally {
    (ws as Workspace | null)?.close();
  }
}

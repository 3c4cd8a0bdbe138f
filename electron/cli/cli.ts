/**
 * The headless CLI on the same core as the app. Exit codes: 0 success, 1 usage error,
 * 2 domain error (message on stderr). Secrets come from an environment variable named by a
 * flag or from a prompt, never from argv (argv is visible to every user on the machine).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CastellanError, isCastellanError } from '../../shared/errors.ts';
import { currentActor } from '../core/workspace/actor.ts';
import { resolveDatabase, resolveWorkspaceDir, Workspace } from '../core/workspace/workspace.ts';
import { findCommand, GLOBAL_OPTIONS, preflight } from './dispatch.ts';
import { safeText, type VaultNeed } from './help.ts';
import { readSecret, type CliIO } from './io.ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  io: CliIO;
  args: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  /** Opens the workspace (once) from --data-dir / CASTELLAN_DATA_DIR / the app's default. */
  workspace(): Workspace;
  /** Opens the workspace and unlocks its vault with --passphrase-env or a prompt. */
  unlocked(): Promise<Workspace>;
  /**
   * For the keys to the kingdom (vault slots, the HS256 secret, the CA key): opens the workspace
   * and proves the passphrase from --passphrase-env or a prompt against a slot, even when the
   * vault is already open some other way. Failures are audited and throttled like any unlock.
   */
  reauthenticated(): Promise<Workspace>;
  /** `reauthenticated`, with the passphrase too, for a core function that re-authenticates itself. */
  reauthentication(): Promise<{ ws: Workspace; passphrase: string }>;
  /** A secret from the env var named by `flag`, or a prompt. */
  secret(flag: string, prompt: string, opts?: { confirm?: boolean }): Promise<string>;
  print(text: string): void;
  printJson(value: unknown): void;
}

/** What help and dispatch need of a command: everything but `run` (the launcher reads it as JSON). */
export type CommandMeta = Omit<Command, 'run'>;

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

export async function runCli(argv: string[], io: CliIO, commands: Command[]): Promise<number> {
  // Help, --version, a typo: answered without loading anything heavy (the launcher does the same first).
  const answered = preflight(argv, io, commands);
  if (answered !== null) return answered;
  const found = findCommand(commands, argv)!;

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
      if (ws === null) {
        const database = resolveDatabase(values.database as string | undefined, io.env);
        ws = Workspace.open(resolveWorkspaceDir(values['data-dir'] as string | undefined, io.env), {
          actor: currentActor('cli', io.env),
          ...(database === undefined ? {} : { database }),
        });
      }
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
    async reauthenticated() {
      return (await ctx.reauthentication()).ws;
    },
    async reauthentication() {
      const workspace = ctx.workspace();
      if (!workspace.vault.status().initialized) {
        throw new CastellanError('LOCKED', 'the workspace has no vault yet; run `castellan init` first');
      }
      const passphrase = await ctx.secret('passphrase-env', 'Workspace passphrase: ');
      // Unlocking with this passphrase is itself the proof; an already open vault is checked again.
      if (!workspace.vault.unlocked) await workspace.vault.unlockWithPassphraseAsync(passphrase);
      else await workspace.vault.reauthenticate({ passphrase });
      return { ws: workspace, passphrase };
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

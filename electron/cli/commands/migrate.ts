/**
 * `castellan migrate --to TARGET`: copies the workspace into PostgreSQL (team mode) or back into a
 * folder's embedded file, verifies the copy and audits it on both sides
 * (core/workspace/engine-migrate.ts has the design).
 */
import { CastellanError } from '../../../shared/errors.ts';
import { migrateWorkspace, type MigrationResult } from '../../core/workspace/engine-migrate.ts';
import { UsageError, type Command } from '../cli.ts';
import { str } from '../options.ts';

function targetValue(ctx: Parameters<Command['run']>[0]): string {
  const to = str(ctx, 'to');
  const toEnv = str(ctx, 'to-env');
  if (to !== undefined && toEnv !== undefined) throw new UsageError('give --to or --to-env, not both');
  if (toEnv !== undefined) {
    const value = ctx.io.env[toEnv];
    if (value === undefined || value.trim() === '') {
      throw new UsageError(`--to-env names ${JSON.stringify(toEnv)}, but that environment variable is not set`);
    }
    return value;
  }
  if (to === undefined || to.trim() === '') {
    throw new UsageError('--to is required: a postgres:// URL, or a folder for the embedded file');
  }
  return to;
}

function report(result: MigrationResult): string[] {
  const lines = [
    `migrated ${result.from.where} (${result.from.engine}) to ${result.to.where} (${result.to.engine})`,
    `copied: ${result.tables.map((t) => `${t.table} ${t.rows}`).join(', ')}`,
    `verified: row counts and contents of every table; audit chain of ${result.audit.entries} entries with its MACs and records; ` +
      `the vault unlocks; ${result.verified.signing_keys} signing key(s)${result.verified.ca ? ' and the CA key' : ''} unseal; ` +
      (result.verified.probes.length === 0
        ? 'no active key to sign a probe token with'
        : `a token signed by ${result.verified.probes.map((p) => `${p.key_id} (${p.profile})`).join(', ')} verifies against the copy`),
    `audited: workspace.migrated is entry #${result.target_entry_seq} in the copy` +
      (result.source_entry_seq === null ? '' : ` and entry #${result.source_entry_seq} here`),
  ];
  if (result.source_entry_problem !== null) {
    lines.push(`warning: the copy is complete, but this workspace's own audit entry could not be written: ${result.source_entry_problem}`);
  }
  return lines;
}

export const migrateCommands: Command[] = [
  {
    path: ['migrate'],
    usage: 'migrate (--to postgres://… | --to FOLDER | --to-env VAR) [--json]',
    summary:
      'copy this workspace into an empty PostgreSQL database (team mode) or an empty folder’s embedded file, verify the copy ' +
      '(counts, audit chain, every key unseals, a probe token verifies) and audit it on both sides; asks for the passphrase again',
    options: { to: { type: 'string' }, 'to-env': { type: 'string' }, json: { type: 'boolean' } },
    vault: 'always',
    flagHelp: {
      to:
        'where to copy it: a postgres://user@host/database URL (a password is better given in PGPASSWORD, or the ' +
        'whole URL with --to-env), or a folder (or FOLDER/castellan.db); it must hold nothing yet',
      'to-env': 'environment variable holding the target (a URL with a password stays out of argv)',
    },
    async run(ctx) {
      const to = targetValue(ctx);
      const ws = ctx.workspace();
      if (!ws.vault.status().initialized) {
        throw new CastellanError('LOCKED', 'the workspace has no vault yet; run `castellan init` first');
      }
      // migrateWorkspace proves the passphrase itself (re-authentication), before it touches the target.
      const passphrase = await ctx.secret('passphrase-env', 'Workspace passphrase: ');
      const result = await migrateWorkspace(ws, to, { passphrase });
      if (ctx.values.json) return ctx.printJson(result);
      for (const line of report(result)) ctx.print(line);
    },
  },
];

import fs from 'node:fs';
import path from 'node:path';
import { CastellanError } from '../../../shared/errors.ts';
import { currentActor } from '../../core/workspace/actor.ts';
import { backupWorkspace, restoreWorkspace } from '../../core/workspace/backup.ts';
import { DB_FILE_NAME, resolveWorkspaceDir } from '../../core/workspace/workspace.ts';
import { UsageError, type Command } from '../cli.ts';
import { exportAuditWithCheckpoint, parseCheckpoint, verifyWorkspace } from '../../core/workspace/record-integrity.ts';
import { safe } from '../help.ts';
import { readInput, writeOutput } from '../io.ts';
import { str, wholeNumber } from '../options.ts';
import { describeActor } from '../../../shared/audit-actor.ts';
import { MAX_LIST_LIMIT } from '../../core/workspace/audit.ts';

export const workspaceCommands: Command[] = [
  {
    path: ['init'],
    usage: 'init [--passphrase-env VAR] [--label NAME]',
    summary: 'create the workspace and its vault, protected by a passphrase (--label: the admin it belongs to, named in the audit log)',
    options: { label: { type: 'string' } },
    async run(ctx) {
      const ws = ctx.workspace();
      if (ws.vault.status().initialized) {
        throw new CastellanError('CONFLICT', `the workspace at ${ws.dir} is already initialised`);
      }
      const passphrase = await ctx.secret('passphrase-env', 'New workspace passphrase: ', { confirm: true });
      const label = ctx.values.label as string | undefined;
      ws.vault.initialize(passphrase, label === undefined ? {} : { label });
      ctx.print(`initialised workspace ${ws.dir}`);
    },
  },
  {
    path: ['vault', 'slots'],
    usage: 'vault slots [--json]',
    summary: 'list the vault’s unlock slots',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const status = ctx.workspace().vault.status();
      if (ctx.values.json) return ctx.printJson(status);
      ctx.print(`vault: ${status.initialized ? 'initialised' : 'not initialised'}`);
      for (const s of status.slots) {
        ctx.print(`  #${s.id}  ${s.kind.padEnd(10)} ${safe(s.label)}${s.backend ? ` (${s.backend})` : ''}  ${s.created_at}`);
      }
    },
  },
  {
    path: ['vault', 'add-passphrase'],
    usage: 'vault add-passphrase [--new-passphrase-env VAR] [--label NAME]',
    summary: 'add another passphrase slot, e.g. one per admin named after them (re-authenticates with the current one)',
    options: { 'new-passphrase-env': { type: 'string' }, label: { type: 'string' } },
    async run(ctx) {
      const ws = await ctx.reauthenticated();
      const next = await ctx.secret('new-passphrase-env', 'New passphrase: ', { confirm: true });
      const slot = ws.vault.addPassphraseSlot(next, ctx.values.label as string | undefined);
      ctx.print(`added passphrase slot #${slot.id} (${slot.label})`);
    },
  },
  {
    path: ['vault', 'remove-slot'],
    usage: 'vault remove-slot ID',
    summary: 'remove an unlock slot (never the last one)',
    positionals: 1,
    async run(ctx) {
      const id = Number(ctx.args[0]);
      if (!/^[1-9][0-9]*$/.test(ctx.args[0]!) || !Number.isSafeInteger(id)) {
        throw new UsageError(`"${ctx.args[0]}" is not a slot id (a whole number from 1, as \`vault slots\` lists them)`);
      }
      const ws = await ctx.reauthenticated();
      ws.vault.removeSlot(id);
      ctx.print(`removed slot #${id}`);
    },
  },
  {
    path: ['audit', 'verify'],
    usage: 'audit verify [--against EXPORT] [--json]',
    summary:
      'check the audit log (hash chain, MACs, sealed head) and the key, CA, CRL and settings records, naming the first that fails; --against proves the log extends an earlier export’s signed checkpoint',
    options: { json: { type: 'boolean' }, against: { type: 'string' } },
    async run(ctx) {
      const againstFile = ctx.values.against as string | undefined;
      if (againstFile === '') throw new UsageError('--against needs a file: an audit export or its checkpoint');
      // Read (and parse) the checkpoint before asking for a passphrase: a bad file is a quick error.
      const against =
        againstFile === undefined ? undefined : parseCheckpoint((await readInput(ctx.io, againstFile)).toString('utf8'));
      // Nothing can be authenticated without the vault's key.
      const ws = await ctx.unlocked();
      const result = verifyWorkspace(ws, against);
      if (ctx.values.json) ctx.printJson(result);
      else if (result.ok) {
        const extra = result.checkpoint === null ? '' : `; extends the checkpoint of ${result.checkpoint.ts} (${result.checkpoint.count} entries)`;
        ctx.print(`audit chain OK: ${result.count} entries, all authenticated; records OK${extra}`);
      }
      if (!result.ok) {
        const where = result.brokenAt === null ? '' : ` at entry ${result.brokenAt}`;
        throw new CastellanError('INTEGRITY', `audit verification failed${where}: ${result.reason ?? 'unknown'}`);
      }
    },
  },
  {
    path: ['audit', 'list'],
    usage: 'audit list [--action TEXT] [--actor NAME] [--text TEXT] [--since DATE] [--until DATE] [--limit N] [--json]',
    summary:
      'the audit log, newest first: who (admin, OS user, machine, app or cli), what and when; --action matches part of the action name, --actor an admin or an OS user',
    options: {
      action: { type: 'string' },
      actor: { type: 'string' },
      text: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      json: { type: 'boolean' },
    },
    run(ctx) {
      const page = ctx.workspace().audit.list({
        action_contains: str(ctx, 'action'),
        actor: str(ctx, 'actor'),
        text: str(ctx, 'text'),
        since: str(ctx, 'since'),
        until: str(ctx, 'until'),
        limit: wholeNumber(ctx, 'limit', 1, MAX_LIST_LIMIT) ?? 50,
        offset: wholeNumber(ctx, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      });
      if (ctx.values.json) return ctx.printJson(page);
      for (const e of page.rows) {
        ctx.print(`#${e.seq}  ${e.ts}  ${safe(describeActor(e))}  ${safe(e.action)}  ${safe(e.target)}`);
      }
      ctx.print(`${page.rows.length} of ${page.total} entr${page.total === 1 ? 'y' : 'ies'}`);
    },
  },
  {
    path: ['audit', 'export'],
    usage: 'audit export --format jsonl|csv [--out FILE]',
    summary: 'export the audit log, ending with a signed checkpoint (keep it: audit verify --against)',
    options: { format: { type: 'string' }, out: { type: 'string' } },
    async run(ctx) {
      const format = ctx.values.format;
      // A bad or missing flag value is a usage error (exit 1), like an unknown flag.
      if (format === undefined) throw new UsageError('--format is required: jsonl or csv');
      if (format !== 'jsonl' && format !== 'csv') {
        throw new UsageError(`--format must be jsonl or csv, not ${JSON.stringify(format)}`);
      }
      // The checkpoint is signed with a key derived from the vault's: the export needs it unlocked.
      const ws = await ctx.unlocked();
      // Written inside the transaction: if the file cannot be written, the log does not claim an export.
      exportAuditWithCheckpoint(ws, format, (text) =>
        writeOutput(ctx.io, ctx.values.out as string | undefined, text, 0o600),
      );
    },
  },
  {
    path: ['backup'],
    usage: 'backup --out FILE [--json]',
    summary:
      'write a consistent copy of the workspace to FILE while it stays in use (SQLite’s backup API); checked before it is kept',
    options: { out: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      const out = ctx.values.out;
      if (typeof out !== 'string' || out === '' || out === '-') throw new UsageError('--out FILE is required (a backup is never written to stdout)');
      const dir = resolveWorkspaceDir(ctx.values['data-dir'] as string | undefined, ctx.io.env);
      // Checked before opening: opening would create an empty workspace.
      if (!fs.existsSync(path.join(dir, DB_FILE_NAME))) {
        throw new CastellanError('NOT_FOUND', `there is no workspace at ${dir} to back up (castellan init creates one)`);
      }
      const ws = ctx.workspace();
      const result = await backupWorkspace(ws, out);
      if (ctx.values.json) return ctx.printJson(result);
      ctx.print(
        `backed up ${ws.dir} to ${result.file} (${result.bytes} bytes, ${result.tokens} tokens, ` +
          `audit chain of ${result.auditEntries} entries verified)`,
      );
    },
  },
  {
    path: ['restore'],
    usage: 'restore FILE [--force] [--json]',
    summary:
      'replace the workspace with a backup, after checking it opens and its audit chain verifies; refused while any process has the workspace open',
    positionals: 1,
    options: { force: { type: 'boolean' }, json: { type: 'boolean' } },
    run(ctx) {
      // Not ctx.workspace(): that would open (and so create or lock) the very database being replaced.
      const dir = resolveWorkspaceDir(ctx.values['data-dir'] as string | undefined, ctx.io.env);
      const result = restoreWorkspace(ctx.args[0]!, dir, { force: Boolean(ctx.values.force), actor: currentActor('cli', ctx.io.env) });
      if (ctx.values.json) return ctx.printJson(result);
      ctx.print(`restored ${result.dir} from ${ctx.args[0]} (${result.tokens} tokens, audit chain of ${result.auditEntries} entries verified)`);
      if (result.previous) ctx.print(`the replaced database is kept as ${result.previous}`);
    },
  },
];

/**
 * `castellan settings get [NAME]` and `castellan settings set NAME VALUE`: the workspace's
 * own security settings (shared/workspace-settings.ts; e.g. max_token_ttl_secs, the upper
 * bound on every minted token's lifetime). Stored in the workspace, so the app, the CLI and
 * `serve` agree. A change asks for the passphrase (loosening a bound is a dangerous
 * operation) and is audited with its before and after.
 */
import { formatTtl } from '../../../shared/policy/index.ts';
import { DEFAULT_WORKSPACE_SETTINGS, type WorkspaceSettingName } from '../../../shared/workspace-settings.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../core/workspace/workspace-settings.ts';
import { UsageError, type Command } from '../cli.ts';

const NAMES = Object.keys(DEFAULT_WORKSPACE_SETTINGS) as WorkspaceSettingName[];

function settingName(raw: string): WorkspaceSettingName {
  if (!(NAMES as string[]).includes(raw)) {
    throw new UsageError(`unknown workspace setting "${raw.slice(0, 60)}"; the settings are ${NAMES.join(', ')}`);
  }
  return raw as WorkspaceSettingName;
}

function shown(name: string, value: unknown): string {
  return typeof value === 'number' && name.endsWith('_secs') ? `${value} (${formatTtl(value)})` : JSON.stringify(value);
}

export const settingsCommands: Command[] = [
  {
    path: ['settings', 'get'],
    usage: 'settings get [NAME] [--json]',
    summary: `the workspace's security settings (${NAMES.join(', ')})`,
    positionals: [0, 1],
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const settings = readWorkspaceSettings(ctx.workspace());
      const name = ctx.args[0] === undefined ? undefined : settingName(ctx.args[0]);
      if (ctx.values.json) return ctx.printJson(name === undefined ? settings : { [name]: settings[name] });
      for (const n of name === undefined ? NAMES : [name]) ctx.print(`${n} = ${shown(n, settings[n])}`);
    },
  },
  {
    path: ['settings', 'set'],
    usage: 'settings set NAME VALUE [--json]',
    summary: 'change a workspace security setting (asks for the passphrase again; audited)',
    positionals: 2,
    options: { json: { type: 'boolean' } },
    async run(ctx) {
      const name = settingName(ctx.args[0]!);
      const raw = ctx.args[1]!;
      const current = DEFAULT_WORKSPACE_SETTINGS[name];
      let value: unknown;
      if (typeof current === 'number') {
        if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
          throw new UsageError(`${name} takes a whole number, not "${raw.slice(0, 40)}"`);
        }
        value = Number(raw);
      } else {
        try {
          value = JSON.parse(raw) as unknown;
        } catch {
          throw new UsageError(`${name} takes a JSON value`);
        }
      }
      // Unlocking with the given passphrase (or re-checking it on an open vault) is the re-authentication.
      const ws = await ctx.reauthenticated();
      const before = readWorkspaceSettings(ws);
      const after = updateWorkspaceSettings(ws, { [name]: value } as Partial<typeof before>);
      if (ctx.values.json) return ctx.printJson(after);
      if (JSON.stringify(before[name]) === JSON.stringify(after[name])) {
        ctx.print(`${name} is already ${shown(name, after[name])}; nothing changed`);
      } else {
        ctx.print(`${name}: ${shown(name, before[name])} -> ${shown(name, after[name])}`);
      }
    },
  },
];

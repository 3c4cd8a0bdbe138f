/**
 * The workspace's security settings (shared/workspace-settings.ts lists them): one `meta` row each,
 * `setting:<name>` → JSON, so the app, the CLI and `serve` on the same workspace agree. A value
 * that fails its schema on read (hand-edited, or from a newer Castellan) is an INTEGRITY error,
 * never silently replaced by the default: a loosened bound must not pass unnoticed.
 */
import { CastellanError } from '../../../shared/errors.ts';
import {
  DEFAULT_WORKSPACE_SETTINGS,
  workspaceSettingsPatchSchema,
  workspaceSettingsSchema,
  type WorkspaceSettings,
} from '../../../shared/workspace-settings.ts';
import type { Workspace } from './workspace.ts';

const PREFIX = 'setting:';

export function readWorkspaceSettings(ws: Workspace): WorkspaceSettings {
  // Settings changed in the file (a loosened bound) fail their MAC: refused, never applied.
  ws.integrity.assert('settings', 'apply them');
  const rows = ws.db.prepare("SELECT key, value FROM meta WHERE key LIKE 'setting:%'").all() as {
    key: string;
    value: string;
  }[];
  const stored: Record<string, unknown> = {};
  for (const row of rows) {
    const name = row.key.slice(PREFIX.length);
    if (!(name in DEFAULT_WORKSPACE_SETTINGS)) continue;
    try {
      stored[name] = JSON.parse(row.value) as unknown;
    } catch {
      throw new CastellanError('INTEGRITY', `the workspace setting ${name} is not valid JSON in the database`);
    }
  }
  const parsed = workspaceSettingsSchema.safeParse({ ...DEFAULT_WORKSPACE_SETTINGS, ...stored });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CastellanError(
      'INTEGRITY',
      `the workspace setting ${String(issue?.path[0] ?? '?')} in the database is out of bounds: ${issue?.message ?? ''}`,
    );
  }
  return parsed.data;
}

/** Validates the whole patch first, then writes it and one audit entry in one transaction. */
export function updateWorkspaceSettings(ws: Workspace, patch: Partial<WorkspaceSettings>): WorkspaceSettings {
  const checked = workspaceSettingsPatchSchema.safeParse(patch);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new CastellanError(
      'INVALID_INPUT',
      `workspace setting ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid value'}`,
    );
  }
  return ws.transaction(() => {
    const before = readWorkspaceSettings(ws);
    const after = { ...before, ...checked.data };
    const changed = Object.keys(checked.data).filter(
      (k) =>
        JSON.stringify(before[k as keyof WorkspaceSettings]) !== JSON.stringify(after[k as keyof WorkspaceSettings]),
    );
    if (changed.length === 0) return before;
    const upsert = ws.db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    for (const name of changed) upsert.run(PREFIX + name, JSON.stringify(after[name as keyof WorkspaceSettings]));
    ws.integrity.seal('settings');
    ws.audit.append({
      action: 'workspace.settings',
      target: 'workspace',
      // Setting names go in values, not keys: the audit refuses keys that read like secrets ("token").
      details: {
        changes: changed.map((setting) => ({
          setting,
          before: before[setting as keyof WorkspaceSettings],
          after: after[setting as keyof WorkspaceSettings],
        })),
      },
    });
    return after;
  });
}

import { z } from 'zod';

/**
 * Security policy that belongs to the workspace itself (stored in its database, audited on every
 * change, the same for the app, the CLI and `serve`), as opposed to an admin's preferences
 * (electron-store). Each setting is one field here with its bounds and its default; the core
 * module `electron/core/workspace-settings.ts` reads and writes them.
 */
export const DAY_SECS = 86_400;

export const workspaceSettingsSchema = z.strictObject({
  /** Upper bound on every container token's lifetime, forced mints included. */
  max_token_ttl_secs: z
    .number()
    .int()
    .min(60)
    .max(365 * DAY_SECS),
});

export type WorkspaceSettings = z.infer<typeof workspaceSettingsSchema>;
export type WorkspaceSettingName = keyof WorkspaceSettings;

export const DEFAULT_WORKSPACE_SETTINGS: WorkspaceSettings = {
  max_token_ttl_secs: 30 * DAY_SECS,
};

export const workspaceSettingsPatchSchema = workspaceSettingsSchema.partial();

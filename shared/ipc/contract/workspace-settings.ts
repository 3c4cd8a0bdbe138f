import { z } from 'zod';
import { workspaceSettingsPatchSchema, workspaceSettingsSchema } from '../../workspace-settings.ts';
import { defineChannel } from '../define.ts';
import { empty, reauthSchema } from './schemas.ts';

/**
 * The workspace's own security settings (shared/workspace-settings.ts), as opposed to an
 * admin's preferences (settings:*). Changing one can loosen policy (a longer maximum token
 * lifetime), so a change carries the current passphrase (or the keychain slot).
 */
export const workspaceSettingsContract = {
  'workspace:settings': defineChannel({
    summary: 'the workspace’s security settings (e.g. max_token_ttl_secs)',
    input: empty,
    output: workspaceSettingsSchema,
  }),
  'workspace:setSettings': defineChannel({
    summary: 'change workspace security settings; re-authenticates, audited',
    input: z.strictObject({ patch: workspaceSettingsPatchSchema, reauth: reauthSchema }),
    output: workspaceSettingsSchema,
  }),
} as const;

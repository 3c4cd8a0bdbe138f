/**
 * IPC handlers for workspace:settings and workspace:setSettings. A change re-authenticates first (the passphrase or
 * the keychain slot from the same request), so a compromised renderer with an unlocked
 * vault cannot loosen the workspace's policy; nothing is written when that fails.
 */
import type { Dialogs } from '../dialogs.ts';
import type { HandlerMap } from '../ipc-router.ts';
import { reauthenticateRequest } from './reauth.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../workspace/workspace-settings.ts';
import type { Workspace } from '../../workspace/workspace.ts';

export function workspaceSettingsHandlers(workspace: () => Workspace, dialogs: Dialogs): HandlerMap {
  return {
    'workspace:settings': () => readWorkspaceSettings(workspace()),
    'workspace:setSettings': async ({ patch, reauth }) => {
      const ws = workspace();
      await reauthenticateRequest(ws, dialogs, reauth, 'change the workspace security settings');
      return updateWorkspaceSettings(ws, patch);
    },
  };
}

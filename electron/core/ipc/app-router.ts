import type { Dialogs } from './dialogs.ts';
import { appHandlers, type AppInfoSource } from './handlers/app.ts';
import { caHandlers } from './handlers/ca.ts';
import { deploymentHandlers } from './handlers/deployments.ts';
import { tokenHandlers } from './handlers/tokens.ts';
import { workspaceHandlers } from './handlers/workspace.ts';
import { workspaceSettingsHandlers } from './handlers/workspace-settings.ts';
import { workspaceDatabaseHandlers } from './handlers/workspace-database.ts';
import { createRouter, type Router } from './ipc-router.ts';
import { ServeController } from '../serve/controller.ts';
import { introspectionStats } from '../serve/introspect.ts';
import type { AppDatabase } from '../workspace/database-choice.ts';
import type { SettingsStore } from '../workspace/settings.ts';
import type { KeychainBackend } from '../workspace/vault.ts';
import type { Workspace } from '../workspace/workspace.ts';

/**
 * Everything the handlers need from their host. The Electron shell fills it with the real
 * app (safeStorage, native dialogs); the browser-test harness with the same core services
 * and a stand-in for what only Electron has.
 */
export interface AppServices {
  info: () => AppInfoSource;
  workspace: () => Workspace;
  dialogs: Dialogs;
  keychain?: KeychainBackend;
  settings: SettingsStore;
  /** Publishing from the app; the shell keeps it to stop the server on quit. */
  serve?: ServeController;
  /**
   * Settings → Database: what this run opened and the saved preference. Without it the channels
   * describe the open workspace and keep the preference in memory.
   */
  database?: AppDatabase;
}

/** The one router the app and the harness both run: every channel of the contract. */
export function createAppRouter(options: {
  allowedOrigins: readonly string[];
  services: AppServices;
  log?: (line: string) => void;
}): Router {
  const { services } = options;
  const serve = services.serve ?? new ServeController(services.workspace);
  return createRouter({
    allowedOrigins: options.allowedOrigins,
    log: options.log,
    handlers: {
      ...appHandlers(services.info),
      ...workspaceHandlers(services.workspace, services.dialogs, services.keychain),
      ...deploymentHandlers(services.workspace, services.dialogs),
      ...tokenHandlers(services.workspace, services.dialogs),
      ...caHandlers(services.workspace, services.dialogs, services.settings),
      ...workspaceSettingsHandlers(services.workspace, services.dialogs),
      ...workspaceDatabaseHandlers(services.workspace, services.dialogs, services.database),
      'settings:get': () => services.settings.get(),
      'settings:set': (patch) => services.settings.set(patch),
      'serve:status': () => serve.status(),
      'serve:start': ({ host, port }) => serve.start(host, port),
      'serve:stop': () => serve.stop(),
      'serve:introspection': ({ id }) => introspectionStats(services.workspace(), id),
    },
  });
}

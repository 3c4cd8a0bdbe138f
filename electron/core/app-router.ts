import { appHandlers, type AppInfoSource } from './handlers/app.ts';
import { createRouter, type Router } from './ipc-router.ts';

/**
 * Everything the handlers need from their host. The Electron shell fills it with the real
 * app (safeStorage, native dialogs); the browser-test harness with the same core services
 * and a stand-in for what only Electron has.
 */
export interface AppServices {
  info: () => AppInfoSource;
}

/** The one router the app and the harness both run: every channel of the contract. */
export function createAppRouter(options: {
  allowedOrigins: readonly string[];
  services: AppServices;
  log?: (line: string) => void;
}): Router {
  return createRouter({
    allowedOrigins: options.allowedOrigins,
    log: options.log,
    handlers: {
      ...appHandlers(options.services.info),
    },
  });
}

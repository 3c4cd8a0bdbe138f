import type { HandlerMap } from '../ipc-router.ts';

export interface AppInfoSource {
  appName: string;
  appVersion: string;
  workspacePath: string;
  platform: string;
  versions: { node: string; electron: string; chrome: string };
}

export function appHandlers(info: () => AppInfoSource): HandlerMap {
  return {
    'app:info': () => info(),
  };
}

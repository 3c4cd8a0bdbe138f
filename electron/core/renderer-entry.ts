/**
 * Where the window loads the renderer from, decided without Electron so it can be tested.
 *
 * A packaged app always loads its own bundled page through the app scheme: the
 * `ELECTRON_RENDERER_URL` variable (electron-vite's dev server) is honoured only in an unpackaged
 * build. Otherwise anyone who could set the variable for a packaged Castellan (a launcher, a
 * shell profile) would point the window, and with it every IPC channel the page may call, at a
 * page of their choosing.
 */
import { originOf } from './ipc/ipc-router.ts';

export interface RendererEntry {
  /** What the window loads. */
  url: string;
  /** The only origin whose frames may call IPC and navigate. */
  origin: string;
  /** Whether this is the dev server (developer tools and the dev menu). */
  dev: boolean;
}

export function rendererEntry(options: {
  isPackaged: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** The app scheme's origin (castellan://app). */
  appOrigin: string;
}): RendererEntry {
  const bundled: RendererEntry = { url: `${options.appOrigin}/index.html`, origin: options.appOrigin, dev: false };
  if (options.isPackaged) return bundled;
  const devUrl = options.env.ELECTRON_RENDERER_URL?.trim();
  if (!devUrl) return bundled;
  const origin = originOf(devUrl);
  if (origin === null || !/^https?:$/.test(new URL(devUrl).protocol)) return bundled;
  return { url: devUrl, origin, dev: true };
}

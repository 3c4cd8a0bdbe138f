import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import type { Router, SenderFrame } from '../../electron/core/ipc/ipc-router.ts';
import { watchChanges, type WorkspaceChange } from '../../electron/core/workspace/change-feed.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { OUT_DIR, startRendererServer, type RendererServer } from './renderer-server.ts';

/** Exposed in every frame by Playwright; the stand-in's invoke goes through it. */
const TRANSPORT = '__castellanTransport';
const DELIVER = '__castellanDeliver';

/**
 * A stand-in for what Electron gives a sandboxed preload: `require('electron')` with
 * `contextBridge` and `ipcRenderer`. Only the transport is replaced; the preload itself is
 * the real built file, and `invoke` lands in the real router in the test process.
 */
function standInScript(preloadSource: string): string {
  return `(() => {
  const transport = window.${TRANSPORT};
  const listeners = new Map();
  Object.defineProperty(window, '${DELIVER}', {
    value: (channel, payload) => { for (const l of listeners.get(channel) ?? []) l({}, payload); },
  });
  const electron = {
    contextBridge: {
      exposeInMainWorld(name, api) {
        Object.defineProperty(window, name, { value: api, enumerable: true, configurable: false, writable: false });
      },
    },
    ipcRenderer: {
      // The answer travels as JSON text: Playwright's object serialisation costs 10× more than
      // Electron's structured clone, and would be measured as the app's latency in bench/.
      invoke: (channel, ...args) => transport(channel, ...args).then((text) => JSON.parse(text)),
      on(channel, listener) { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel).add(listener); },
      removeListener(channel, listener) { listeners.get(channel)?.delete(listener); },
    },
  };
  const module = { exports: {} };
  const require = (id) => {
    if (id === 'electron') return electron;
    throw new Error('a sandboxed preload cannot require ' + id);
  };
  (function (require, module, exports) {
${preloadSource}
  })(require, module, module.exports);
})();`;
}

export function senderOfFrame(frame: Frame): SenderFrame {
  return { url: frame.url(), isMainFrame: frame.parentFrame() === null };
}

export interface AppHarness {
  page: Page;
  context: BrowserContext;
  origin: string;
  server: RendererServer;
  /** Every channel the page called, in order (for assertions). */
  calls: string[];
  close(): Promise<void>;
}

export interface OpenAppOptions {
  /** Build the router once the origin is known (the real `createAppRouter`, in practice). */
  router: (origin: string) => Router;
  /** Extra pages served by the same server (for frame tests). */
  extraPages?: Record<string, string>;
  hash?: string;
  /**
   * Watch this workspace for changes and push them to the page, as the Electron shell does
   * (electron/main/index.ts → change-feed.ts), through the same stand-in event transport.
   */
  watch?: () => Workspace | null;
  /**
   * Or subscribe to changes someone else watches (the core worker host's `onChanges`), pushed the
   * same way. Returns the unsubscribe function.
   */
  changes?: (deliver: (change: WorkspaceChange) => void) => () => void;
  colorScheme?: 'light' | 'dark';
  viewport?: { width: number; height: number };
}

export async function openApp(browser: Browser, options: OpenAppOptions): Promise<AppHarness> {
  const preloadFile = path.join(OUT_DIR, 'preload', 'index.cjs');
  if (!fs.existsSync(preloadFile)) throw new Error('out/preload/index.cjs is missing: run `npm run build` first');
  const preloadSource = fs.readFileSync(preloadFile, 'utf8');

  const server = await startRendererServer(options.extraPages);
  const router = options.router(server.origin);
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1360, height: 860 },
    colorScheme: options.colorScheme ?? 'light',
  });
  const calls: string[] = [];
  await context.exposeBinding(TRANSPORT, async (source, channel: unknown, input: unknown) => {
    calls.push(String(channel));
    const frame = source.frame;
    const envelope = await router.dispatch(channel, frame.isDetached() ? null : senderOfFrame(frame), input, (event, payload) => {
      void frame
        .evaluate(([name, data]) => (window as unknown as Record<string, (c: string, p: unknown) => void>)['__castellanDeliver']?.(`event:${name}`, data), [event, payload] as const)
        .catch(() => undefined);
    });
    return JSON.stringify(envelope);
  });
  await context.addInitScript({ content: standInScript(preloadSource) });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const deliverChange = (change: WorkspaceChange): void => {
    void page
      .evaluate(([name, data]) => (window as unknown as Record<string, (c: string, p: unknown) => void>)['__castellanDeliver']?.(`event:${name}`, data), [
        'changes',
        change,
      ] as const)
      .catch(() => undefined);
  };
  const stopWatching = options.watch
    ? watchChanges(options.watch, deliverChange)
    : options.changes
      ? options.changes(deliverChange)
      : () => undefined;
  await page.goto(`${server.origin}/index.html${options.hash ?? ''}`);
  return {
    page,
    context,
    origin: server.origin,
    server,
    calls,
    async close() {
      stopWatching();
      await context.close();
      await server.close();
    },
  };
}

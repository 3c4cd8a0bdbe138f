/**
 * Sandboxed preload: exposes exactly the contract's methods on `window.castellan`.
 * No raw ipcRenderer, no event objects, nothing generic. Bundled to CommonJS with every
 * dependency inlined, so the only `require` left is `electron` (a test checks this).
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_GLOBAL, CHANNELS, EVENTS, isEventName } from '../../shared/ipc/channels.ts';

type Method = (input?: unknown) => Promise<unknown>;

const api: Record<string, Record<string, Method> | object> = {};
for (const channel of CHANNELS) {
  const [domain, verb] = channel.split(':') as [string, string];
  const methods = (api[domain] ??= {}) as Record<string, Method>;
  // Always send an object: the router's schemas are strict objects.
  methods[verb] = (input?: unknown) => ipcRenderer.invoke(channel, input ?? {});
}

api.events = {
  names: [...EVENTS],
  on(name: unknown, listener: unknown): () => void {
    if (!isEventName(name) || typeof listener !== 'function') {
      throw new TypeError('castellan.events.on(name, listener): unknown event or listener');
    }
    const wrapped = (_event: unknown, payload: unknown) => (listener as (p: unknown) => void)(payload);
    ipcRenderer.on(`event:${name}`, wrapped);
    return () => {
      ipcRenderer.removeListener(`event:${name}`, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, api);

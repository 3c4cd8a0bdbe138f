/**
 * The channel names, and nothing else, so the sandboxed preload can build its allowlist
 * without bundling the schemas. `contract.ts` is checked against this list at compile time
 * and by a unit test.
 */
export const CHANNELS = ['app:info'] as const;

export type Channel = (typeof CHANNELS)[number];

/** Main → renderer notifications (progress of long work). */
export const EVENTS = ['progress'] as const;
export type EventName = (typeof EVENTS)[number];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENTS as readonly string[]).includes(value);
}

/** The name of the global the preload exposes. */
export const BRIDGE_GLOBAL = 'castellan';

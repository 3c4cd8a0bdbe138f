/**
 * The channel names, and nothing else, so the sandboxed preload can build its allowlist
 * without bundling the schemas. `contract.ts` is checked against this list at compile time
 * and by a unit test.
 */
export const CHANNELS = [
  'app:info',
  'vault:status',
  'vault:initialize',
  'vault:unlock',
  'vault:unlockKeychain',
  'vault:lock',
  'vault:addPassphrase',
  'vault:addKeychain',
  'vault:removeSlot',
  'audit:list',
  'audit:verify',
  'audit:export',
  'deployments:list',
  'deployments:importDialog',
  'deployments:importTexts',
  'deployments:export',
  'policy:get',
  'policy:setLabels',
  'policy:findings',
  'keys:list',
  'keys:create',
  'keys:rotate',
  'keys:importZlayerSecretDialog',
  'keys:importZlayerSecret',
  'keys:exportZlayerSecret',
  'keys:exportJwks',
  'tokens:mint',
  'tokens:mintBatch',
  'tokens:list',
  'tokens:get',
  'tokens:revoke',
  'tokens:revokeBulk',
  'tokens:refresh',
  'tokens:inspect',
  'tokens:exportRevocations',
  'tokens:stats',
  'keys:exposure',
  'keys:retire',
  'workspace:settings',
  'workspace:setSettings',
  'ca:show',
  'ca:init',
  'ca:importDialog',
  'ca:exportZlayer',
  'ca:previewCsr',
  'ca:sign',
  'ca:saveCertificate',
  'ca:certs',
  'ca:revoke',
  'ca:exportCrl',
  'ca:exportBundle',
  'settings:get',
  'settings:set',
  'serve:status',
  'serve:start',
  'serve:stop',
  'serve:introspection',
  'workspace:database',
  'workspace:setDatabase',
  'workspace:testDatabase',
] as const;

export type Channel = (typeof CHANNELS)[number];

/**
 * Main → renderer notifications: progress of long work, and `changes` — the workspace changed
 * (here, in the CLI, or in another admin's console), pushed so open pages reload what it touched.
 */
export const EVENTS = ['progress', 'changes'] as const;

/** What a `changes` event says was touched: the contract's domains (electron/core/workspace/change-feed.ts). */
export const CHANGE_DOMAINS = ['tokens', 'keys', 'deployments', 'ca', 'vault', 'workspace', 'serve', 'audit'] as const;
export type ChangeDomain = (typeof CHANGE_DOMAINS)[number];
export type EventName = (typeof EVENTS)[number];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENTS as readonly string[]).includes(value);
}

/** The name of the global the preload exposes. */
export const BRIDGE_GLOBAL = 'castellan';

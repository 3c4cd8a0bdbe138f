/**
 * Pushed workspace changes (the main process's `changes` event: electron/core/workspace/
 * change-feed.ts). Whoever changed the workspace — this console, the CLI, another admin — open
 * pages reload what the change touched, without a reload of the app and keeping what is on screen
 * until the new answer arrives.
 */
import { useEffect, useRef } from 'react';
import type { Channel, ChangeDomain } from '../../shared/ipc/channels.ts';
import { onEvent } from './ipc.ts';

/** Which changes each contract domain's answers depend on. */
const DEPENDS_ON: Record<string, readonly ChangeDomain[] | 'all'> = {
  tokens: ['tokens', 'keys', 'deployments'],
  keys: ['keys', 'tokens'],
  deployments: ['deployments', 'tokens'],
  policy: ['deployments', 'workspace'],
  ca: ['ca'],
  vault: ['vault'],
  workspace: ['workspace'],
  serve: ['serve'],
  // Every change is an audit entry.
  audit: 'all',
  // Preferences (electron-store) and the app's own facts are not in the workspace.
  settings: [],
  app: [],
};

/** Whether a change touching `domains` can change what `channel` answers. */
export function channelAffected(channel: Channel, domains: readonly ChangeDomain[]): boolean {
  const deps = DEPENDS_ON[channel.split(':', 1)[0]!] ?? 'all';
  return deps === 'all' ? domains.length > 0 : deps.some((d) => domains.includes(d));
}

/**
 * Calls `reload` when a pushed change touches what `channels` answer. The latest `reload` is
 * used, so callers need not memoise it.
 */
export function useReloadOnChange(channels: readonly Channel[], reload: () => void): void {
  const latest = useRef(reload);
  latest.current = reload;
  const key = channels.join(' ');
  useEffect(() => {
    const list = key.split(' ') as Channel[];
    return onEvent('changes', (change) => {
      if (list.some((c) => channelAffected(c, change.domains))) latest.current();
    });
  }, [key]);
}

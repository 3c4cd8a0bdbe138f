/**
 * Opening a page starts its work at once, not after the shell has rendered: its lazy chunk is
 * requested, and for the Tokens page its first `tokens:list` page, in parallel with React's first
 * render and the chunk's download (issue 12: first rows of a full load ≤ 300 ms). The page takes
 * the answer when it asks the same question within a moment; otherwise it asks again.
 */
import { useEffect, useReducer, useState } from 'react';
import type { ChannelInput, ChannelOutput } from '../../shared/ipc/contract.ts';
import { call } from './ipc.ts';

export const PAGE_LOADERS = {
  overview: () => import('./deployments/OverviewPage.tsx'),
  deployments: () => import('./deployments/DeploymentsPage.tsx'),
  matrix: () => import('./deployments/MatrixPage.tsx'),
  tokens: () => import('./tokens/TokensPage.tsx'),
  inspector: () => import('./tokens/InspectorPage.tsx'),
  workers: () => import('./ca/WorkersPage.tsx'),
  keys: () => import('./tokens/KeysPage.tsx'),
  audit: () => import('./workspace/AuditPage.tsx'),
  settings: () => import('./workspace/SettingsPage.tsx'),
} as const;

export type PageId = keyof typeof PAGE_LOADERS;
export type PageModule<K extends PageId> = Awaited<ReturnType<(typeof PAGE_LOADERS)[K]>>;

const loading = new Map<PageId, Promise<unknown>>();
const loaded = new Map<PageId, unknown>();

/** Loads a page's chunk once (a failed load is tried again on the next call). */
export function loadPage<K extends PageId>(id: K): Promise<PageModule<K>> {
  let promise = loading.get(id) as Promise<PageModule<K>> | undefined;
  if (promise === undefined) {
    promise = (PAGE_LOADERS[id]() as Promise<PageModule<K>>).then(
      (module) => {
        loaded.set(id, module);
        return module;
      },
      (error: unknown) => {
        loading.delete(id);
        throw error;
      },
    );
    loading.set(id, promise);
  }
  return promise;
}

/**
 * A page's module once its chunk has loaded; until then `undefined`, the chunk is requested, and
 * the component renders again when it arrives. Not React.lazy: a lazy page suspends, and React 19
 * reveals a Suspense boundary's content no sooner than 300 ms after its fallback was shown (its
 * FALLBACK_THROTTLE_MS), which held the Tokens page's first rows on a full load back until then
 * although its chunk had arrived long before (issue 12, bench item 7). Here the page replaces its
 * "Loading …" line in an ordinary render as soon as its chunk has evaluated.
 */
export function usePageModule<K extends PageId>(id: K): PageModule<K> | undefined {
  const module = loaded.get(id) as PageModule<K> | undefined;
  const [, arrived] = useReducer((n: number) => n + 1, 0);
  const [failure, setFailure] = useState<{ error: unknown } | null>(null);
  useEffect(() => {
    if (module !== undefined) return;
    let current = true;
    loadPage(id).then(
      () => current && arrived(),
      (error: unknown) => current && setFailure({ error }),
    );
    return () => {
      current = false;
    };
  }, [id, module]);
  // As with React.lazy, a chunk that fails to load fails the render.
  if (failure !== null) throw failure.error;
  return module;
}

type ListInput = ChannelInput<'tokens:list'>;
type ListOutput = ChannelOutput<'tokens:list'>;

/** What the Tokens page asks first: no filter, newest first, its first page (TokenTable's PAGE_SIZE). */
export const FIRST_TOKEN_PAGE: ListInput = { filter: {}, sort: 'issued_at', direction: 'desc', limit: 200, offset: 0 };

/** A prefetched answer is used only this soon after it was asked for. */
const FRESH_MS = 2000;

function keyOf(input: ListInput): string {
  const sorted = (o: object): string =>
    JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
  const { filter, ...rest } = input;
  return `${sorted(filter ?? {})}|${sorted(rest)}`;
}

const pending = new Map<string, { at: number; answer: Promise<ListOutput> }>();

export function prefetchTokenList(input: ListInput): void {
  const answer = call('tokens:list', input);
  answer.catch(() => undefined); // a failed prefetch is simply asked again by the page
  pending.set(keyOf(input), { at: performance.now(), answer });
}

/** The prefetched answer to exactly this question, once, if still fresh. */
export function takePrefetchedTokenList(input: ListInput): Promise<ListOutput> | undefined {
  const key = keyOf(input);
  const hit = pending.get(key);
  pending.delete(key);
  if (hit === undefined || performance.now() - hit.at > FRESH_MS) return undefined;
  return hit.answer.catch(() => call('tokens:list', input));
}

export function warmPage(id: string): void {
  if (id in PAGE_LOADERS) loadPage(id as PageId).catch(() => undefined);
  if (id === 'tokens') prefetchTokenList(FIRST_TOKEN_PAGE);
}

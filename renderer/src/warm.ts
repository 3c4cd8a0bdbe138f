/**
 * Opening a page starts its work at once, not after the shell has rendered: its lazy chunk is
 * requested, and for the Tokens page its first `tokens:list` page, in parallel with React's first
 * render and the chunk's download (issue 12: first rows of a full load ≤ 300 ms). The page takes
 * the answer when it asks the same question within a moment; otherwise it asks again.
 */
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
  if (id in PAGE_LOADERS) void PAGE_LOADERS[id as keyof typeof PAGE_LOADERS]().catch(() => undefined);
  if (id === 'tokens') prefetchTokenList(FIRST_TOKEN_PAGE);
}

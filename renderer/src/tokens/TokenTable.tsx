import { Group, Loader, Text, UnstyledButton } from '@mantine/core';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useMemo, useRef, useState, type CSSProperties, type ReactNode } from 'react';
import { TOKEN_SORT_COLUMNS } from '../../../shared/ipc/contract/tokens-lists.ts';
import { call, errorMessage } from '../ipc.ts';
import { takePrefetchedTokenList } from '../warm.ts';
import { relativeTime } from '../common/common.tsx';
import { dateTime, RiskMark, ScopeChipsCompact, StatusMark, TtlLeftBar } from './TokenScopes.tsx';
import { shortJti, tokenLabel, type TokenFilter, type TokenRecord } from './TokenBits.tsx';

/** Rows per `tokens:list` call. */
export const PAGE_SIZE = 200;
/** Pages kept in memory; the ones farthest from the view go first. */
const MAX_CACHED_PAGES = 24;
const ROW_HEIGHT = 44;

export type SortColumn = (typeof TOKEN_SORT_COLUMNS)[number];
export interface TokenQuery {
  filter: TokenFilter;
  sort: SortColumn;
  direction: 'asc' | 'desc';
}

interface Cache {
  epoch: number;
  total: number | null;
  pages: Map<number, TokenRecord[]>;
  /** Pages fetched for the current epoch (older ones are shown until refetched). */
  fresh: Set<number>;
  inflight: Set<number>;
}

export interface TokenWindow {
  total: number | null;
  pages: ReadonlyMap<number, TokenRecord[]>;
  error: string | null;
  /** Make sure rows first..last are loaded (called as the view scrolls). */
  ensure: (first: number, last: number) => void;
  /** Refetch what is in view, keeping the current rows until the answers arrive. */
  reload: () => void;
  /** Replace one record in place (after a revoke). */
  update: (record: TokenRecord) => void;
}

/**
 * A sparse window onto the main process's token ledger: pages of PAGE_SIZE rows are fetched
 * with the query's filter and sort as the view needs them; the main process filters, sorts
 * and counts, so 100,000 rows cost the renderer only the pages near the view.
 */
export function useTokenWindow(query: TokenQuery): TokenWindow {
  const key = JSON.stringify(query);
  const cache = useRef<Cache>({ epoch: 0, total: null, pages: new Map(), fresh: new Set(), inflight: new Set() });
  const range = useRef({ first: 0, last: 0 });
  const [snapshot, setSnapshot] = useState<{ total: number | null; pages: ReadonlyMap<number, TokenRecord[]> }>({
    total: null,
    pages: new Map(),
  });
  const [error, setError] = useState<string | null>(null);

  const publish = useCallback(() => {
    setSnapshot({ total: cache.current.total, pages: new Map(cache.current.pages) });
  }, []);

  const fetchPage = useCallback(
    (page: number) => {
      const c = cache.current;
      if (c.inflight.has(page) || c.fresh.has(page)) return;
      const epoch = c.epoch;
      c.inflight.add(page);
      const q = JSON.parse(key) as TokenQuery;
      const input = { ...q, limit: PAGE_SIZE, offset: page * PAGE_SIZE };
      (takePrefetchedTokenList(input) ?? call('tokens:list', input)).then(
        (result) => {
          const now = cache.current;
          if (now.epoch !== epoch) return;
          now.inflight.delete(page);
          now.fresh.add(page);
          now.total = result.total;
          now.pages.set(page, result.rows);
          if (now.pages.size > MAX_CACHED_PAGES) {
            const center = Math.floor(range.current.first / PAGE_SIZE);
            const far = [...now.pages.keys()].sort((a, b) => Math.abs(b - center) - Math.abs(a - center));
            for (const p of far.slice(0, now.pages.size - MAX_CACHED_PAGES)) {
              now.pages.delete(p);
              now.fresh.delete(p);
            }
          }
          setError(null);
          publish();
        },
        (err: unknown) => {
          if (cache.current.epoch !== epoch) return;
          cache.current.inflight.delete(page);
          setError(errorMessage(err));
        },
      );
    },
    [key, publish],
  );

  // A new query starts over from its first page.
  useEffect(() => {
    cache.current = {
      epoch: cache.current.epoch + 1,
      total: null,
      pages: new Map(),
      fresh: new Set(),
      inflight: new Set(),
    };
    range.current = { first: 0, last: 0 };
    publish();
    fetchPage(0);
  }, [fetchPage, publish]);

  const ensure = useCallback(
    (first: number, last: number) => {
      range.current = { first, last };
      for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) fetchPage(p);
    },
    [fetchPage],
  );

  const reload = useCallback(() => {
    const old = cache.current;
    cache.current = { epoch: old.epoch + 1, total: old.total, pages: old.pages, fresh: new Set(), inflight: new Set() };
    const { first, last } = range.current;
    fetchPage(0);
    for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) fetchPage(p);
  }, [fetchPage]);

  const update = useCallback(
    (record: TokenRecord) => {
      for (const rows of cache.current.pages.values()) {
        const i = rows.findIndex((r) => r.id === record.id);
        if (i >= 0) rows[i] = record;
      }
      publish();
    },
    [publish],
  );

  return { total: snapshot.total, pages: snapshot.pages, error, ensure, reload, update };
}

interface Item {
  index: number;
  record: TokenRecord;
}

/** One column: its header, its share of the width, and how a record shows in it. */
interface ColumnSpec {
  id: string;
  header: string;
  size: number;
  enableSorting?: boolean;
  render: (record: TokenRecord) => ReactNode;
}

const NO_ITEMS: Item[] = [];

const cellStyles = new Map<number, CSSProperties>();
/** One style object per column width, shared by every row's cell. */
function cellStyle(size: number): CSSProperties {
  let style = cellStyles.get(size);
  if (style === undefined) {
    style = { ...flexOf(size), whiteSpace: 'nowrap', textOverflow: 'ellipsis' };
    cellStyles.set(size, style);
  }
  return style;
}

const BORDER = '1px solid var(--mantine-color-default-border)';

const MONO: CSSProperties = { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 13 };
const ACTIONS: CSSProperties = { display: 'inline-flex', gap: 6 };
const ROW_BUTTON: CSSProperties = {
  font: 'inherit',
  fontSize: 12,
  fontWeight: 600,
  lineHeight: '20px',
  padding: '0 8px',
  borderRadius: 4,
  cursor: 'pointer',
  color: 'var(--mantine-color-text)',
  background: 'var(--mantine-color-default)',
  border: '1px solid var(--mantine-color-default-border)',
};
const ROW_BUTTON_DANGER: CSSProperties = {
  ...ROW_BUTTON,
  background: 'var(--mantine-color-red-light)',
  border: '1px solid var(--mantine-color-red-outline)',
};
const ROW_BUTTON_DISABLED: CSSProperties = { ...ROW_BUTTON, cursor: 'not-allowed', opacity: 0.6 };

function flexOf(size: number) {
  return { flex: `${size} 1 0`, minWidth: 0, overflow: 'hidden' as const, padding: '0 8px' };
}

function rowStyle(start: number) {
  return {
    display: 'flex',
    position: 'absolute' as const,
    top: 0,
    left: 0,
    width: '100%',
    height: ROW_HEIGHT,
    alignItems: 'center',
    transform: `translateY(${start}px)`,
    borderBottom: BORDER,
    fontSize: 14,
    // Each row is a fixed box: its layout and style work stay inside it while the list scrolls.
    contain: 'strict' as const,
  };
}

/** One loaded row; memoized so scrolling renders only the rows that come into view. */
const TokenRowView = memo(function TokenRowView({
  record,
  specs,
  index,
  start,
  onDetails,
}: {
  record: TokenRecord;
  specs: ColumnSpec[];
  index: number;
  start: number;
  onDetails: (record: TokenRecord) => void;
}) {
  return (
    <tr
      role="row"
      aria-rowindex={index + 2}
      data-index={index}
      data-token-id={record.id}
      style={{ ...rowStyle(start), cursor: 'pointer' }}
      onClick={() => onDetails(record)}
    >
      {specs.map((c) => (
        <td key={c.id} role="cell" style={cellStyle(c.size)}>
          {c.render(record)}
        </td>
      ))}
    </tr>
  );
});

/** A row whose page has not arrived yet. */
const PlaceholderRow = memo(function PlaceholderRow({ index, start }: { index: number; start: number }) {
  return (
    <tr role="row" aria-rowindex={index + 2} aria-busy="true" data-index={index} style={rowStyle(start)}>
      <td role="cell" style={{ ...flexOf(1), color: 'var(--mantine-color-dimmed)' }}>
        Loading row {index + 1}…
      </td>
    </tr>
  );
});

const DESC_FIRST = new Set<string>(['issued_at', 'expires_at', 'revoked_at']);
const SORTABLE = new Set<string>(TOKEN_SORT_COLUMNS);

/**
 * The header row, memoized: a scroll frame re-renders the body only. Headers only come from
 * TanStack Table here; the rows are rendered straight from the cached pages (TokenRowView), each
 * memoized on its record, so a page arriving re-renders no row already on screen.
 */
const TokenTableHeader = memo(function TokenTableHeader({
  columns,
  sort,
  direction,
  onSort,
}: {
  columns: ColumnDef<Item>[];
  sort: SortColumn;
  direction: 'asc' | 'desc';
  onSort: (sort: SortColumn, direction: 'asc' | 'desc') => void;
}) {
  const table = useReactTable({
    data: NO_ITEMS,
    columns,
    getCoreRowModel: getCoreRowModel(),
    // Filtering, sorting and paging are the main process's: the header buttons change the query.
    manualSorting: true,
    manualFiltering: true,
    manualPagination: true,
  });
  return (
    <thead
      role="rowgroup"
      style={{ display: 'grid', position: 'sticky', top: 0, zIndex: 1, background: 'var(--mantine-color-body)' }}
    >
      {table.getHeaderGroups().map((group) => (
        <tr
          key={group.id}
          role="row"
          aria-rowindex={1}
          style={{ display: 'flex', width: '100%', height: 36, alignItems: 'center', borderBottom: BORDER }}
        >
          {group.headers.map((header) => {
            const sorted = sort === header.column.id ? direction : false;
            return (
              <th
                key={header.id}
                role="columnheader"
                scope="col"
                aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                style={{ ...flexOf(header.getSize()), textAlign: 'left', fontSize: 13 }}
              >
                {SORTABLE.has(header.column.id) ? (
                  <UnstyledButton
                    onClick={() => {
                      const id = header.column.id as SortColumn;
                      if (sort === id) onSort(id, direction === 'asc' ? 'desc' : 'asc');
                      else onSort(id, DESC_FIRST.has(id) ? 'desc' : 'asc');
                    }}
                    fw={700}
                    fz={13}
                  >
                    {flexRender(header.column.columnDef.header, header.getContext())}
                    <span aria-hidden="true">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span>
                  </UnstyledButton>
                ) : (
                  flexRender(header.column.columnDef.header, header.getContext())
                )}
              </th>
            );
          })}
        </tr>
      ))}
    </thead>
  );
});

/**
 * The token ledger as a virtualized table: `total` rows of height, only the rows in view
 * rendered, pages fetched through `window.ensure` as they scroll into view.
 */
export function TokenTable({
  window: win,
  query,
  onSort,
  onDetails,
  onRevoke,
}: {
  window: TokenWindow;
  query: TokenQuery;
  onSort: (sort: SortColumn, direction: 'asc' | 'desc') => void;
  onDetails: (record: TokenRecord) => void;
  onRevoke: (record: TokenRecord) => void;
}) {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() / 1000), 30_000);
    return () => clearInterval(timer);
  }, []);

  const specs = useMemo<ColumnSpec[]>(
    () => [
      {
        id: 'status',
        header: 'Status',
        size: 86,
        enableSorting: false,
        render: (r) => <StatusMark status={r.status} />,
      },
      {
        id: 'jti',
        header: 'Token',
        size: 88,
        render: (r) => (
          <span style={MONO} title={r.jti ?? 'no jti'}>
            {shortJti(r.jti)}
          </span>
        ),
      },
      { id: 'deployment', header: 'Deployment', size: 102, render: (r) => r.deployment },
      { id: 'service', header: 'Service', size: 80, render: (r) => r.service },
      { id: 'container', header: 'Container', size: 95, render: (r) => r.container },
      {
        id: 'scopes',
        header: 'Scopes',
        size: 220,
        enableSorting: false,
        render: (r) => <ScopeChipsCompact scopes={r.scopes} daemonSocket={r.daemon_socket} />,
      },
      {
        id: 'risk',
        header: 'Risk',
        size: 68,
        enableSorting: false,
        render: (r) => <RiskMark risk={r.risk} />,
      },
      { id: 'profile', header: 'Profile', size: 62, render: (r) => r.profile },
      {
        id: 'issued_at',
        header: 'Issued',
        size: 72,
        render: (r) => <span title={dateTime(r.issued_at)}>{relativeTime(r.issued_at, now)}</span>,
      },
      {
        id: 'expires_at',
        header: 'Expires',
        size: 100,
        render: (r) => <TtlLeftBar record={r} now={now} />,
      },
      {
        id: 'actions',
        header: 'Actions',
        size: 172,
        enableSorting: false,
        render: (r) => {
          return (
            // Native buttons: a few dozen rows are rendered per scroll frame (bench item 7).
            <span style={ACTIONS} onClick={(e) => e.stopPropagation()}>
              <button
                type="button"
                style={ROW_BUTTON}
                aria-label={`Details of token ${tokenLabel(r)}`}
                onClick={() => onDetails(r)}
              >
                Details
              </button>
              <button
                type="button"
                style={r.status === 'revoked' || r.jti === null ? ROW_BUTTON_DISABLED : ROW_BUTTON_DANGER}
                aria-label={`Revoke token ${tokenLabel(r)}`}
                disabled={r.status === 'revoked' || r.jti === null}
                title={r.jti === null ? 'A token without a jti cannot be revoked on its own' : undefined}
                onClick={() => onRevoke(r)}
              >
                Revoke
              </button>
            </span>
          );
        },
      },
    ],
    [now, onDetails, onRevoke],
  );
  const columns = useMemo<ColumnDef<Item>[]>(
    () => specs.map((c) => ({ id: c.id, header: c.header, size: c.size, enableSorting: c.enableSorting !== false })),
    [specs],
  );

  const total = win.total ?? 0;
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_HEIGHT,
    // Rows beyond the view on each side: enough for keyboard scrolling, few enough that a
    // viewport-sized jump renders little more than the view (bench item 7, longest task).
    overscan: 6,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index;
  const last = items[items.length - 1]?.index;
  const { ensure } = win;
  // Fetch once the view settles, so a fast drag across 100,000 rows skips the pages it flies past.
  useEffect(() => {
    if (first === undefined || last === undefined) return;
    const timer = setTimeout(() => ensure(first, last), 60);
    return () => clearTimeout(timer);
  }, [first, last, ensure]);

  // A new filter or sort starts at the top.
  const queryKey = JSON.stringify(query);
  useEffect(() => {
    parentRef.current?.scrollTo({ top: 0 });
  }, [queryKey]);

  const border = BORDER;

  return (
    <div
      ref={parentRef}
      role="region"
      aria-label="Token list"
      tabIndex={0}
      style={{
        height: 'calc(100vh - 330px)',
        minHeight: 320,
        overflow: 'auto',
        position: 'relative',
        border,
        borderRadius: 4,
      }}
    >
      <table
        role="table"
        aria-label="Tokens"
        aria-rowcount={total + 1}
        style={{ display: 'grid', width: '100%', borderCollapse: 'collapse' }}
      >
        <TokenTableHeader columns={columns} sort={query.sort} direction={query.direction} onSort={onSort} />
        <tbody role="rowgroup" style={{ display: 'grid', height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((vi) => {
            const record = win.pages.get(Math.floor(vi.index / PAGE_SIZE))?.[vi.index % PAGE_SIZE];
            return record ? (
              <TokenRowView
                key={vi.key}
                record={record}
                specs={specs}
                index={vi.index}
                start={vi.start}
                onDetails={onDetails}
              />
            ) : (
              <PlaceholderRow key={vi.key} index={vi.index} start={vi.start} />
            );
          })}
        </tbody>
      </table>
      {win.total === null && !win.error && (
        <Group p="md">
          <Loader size="sm" aria-label="Loading tokens" />
        </Group>
      )}
      {win.total === 0 && (
        <Text c="dimmed" p="md" role="status">
          No tokens match.
        </Text>
      )}
    </div>
  );
}

/**
 * The token ledger: one row per token Castellan minted, never the token itself
 * (its SHA-256 stands in for it). Status is derived, never stored:
 *
 *   revoked  revoked_at IS NOT NULL
 *   expired  not revoked and expires_at < now
 *   active   not revoked and expires_at >= now
 *
 * Every filter and sort the contract offers is served by an index (see
 * schema.ts) so a page of a 1,000,000-row ledger stays fast; only the free-text
 * filter (a substring of jti, subject or container) has to scan. A filter AND a
 * sort on another column share one index for the status filters, the deployment,
 * service and profile filters in issued_at or expires_at order, a deployment by
 * container, a key newest first, and a key's active or expired tokens by expiry
 * (schema.ts, migration 4); other pairs read and sort the filter's rows (tens of
 * ms for a filter matching ~100,000 rows).
 */
import type { SQLInputValue } from 'node:sqlite';
import { sqliteDialect, type Dialect } from '../storage/dialect.ts';
import type { SqlDatabase, SqlStatement } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import { TOKEN_SORT_COLUMNS, TOKEN_STATUSES } from '../../../shared/ipc/contract/tokens.ts';
import { describeScopes } from '../../../shared/policy/index.ts';
import { MAX_SHOWN_UNIX_SECS } from '../../../shared/time.ts';
import {
  CAPABILITY_BITS,
  riskName,
  TOKEN_CAPABILITIES,
  TOKEN_RISKS,
  type TokenCapability,
  type TokenRisk,
} from '../../../shared/policy/token-risk.ts';
import { nowSecs } from './signing-keys.ts';
import { asymmetricClaims, zlayerClaims, type TokenScope } from './claims.ts';
import { isProfile, PROFILES, type Profile } from './key-material.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { describeActor } from '../../../shared/audit-actor.ts';

export type TokenStatus = (typeof TOKEN_STATUSES)[number];
export type TokenSortColumn = (typeof TOKEN_SORT_COLUMNS)[number];

/** A ledger record as the contract shows it (`tokenRecordSchema`). */
export type TokenRecord = {
  id: number;
  jti: string | null;
  subject: string;
  deployment: string;
  service: string;
  container: string;
  profile: Profile;
  key_id: string;
  kid: string | null;
  scopes: TokenScope[];
  issued_at: number;
  expires_at: number;
  status: TokenStatus;
  revoked_at: number | null;
  revoke_reason: string | null;
  replaced_by: string | null;
  token_sha256: string;
  forced_ttl: boolean;
  /** Whether the service mounted the host daemon socket when the token was minted. */
  daemon_socket: boolean;
  risk: TokenRisk;
};

export type TokenRow = Omit<TokenRecord, 'scopes' | 'status' | 'forced_ttl' | 'daemon_socket' | 'risk'> & {
  scopes: string;
  forced_ttl: number;
  /** CAPABILITY_BITS (shared/policy/token-risk.ts). */
  caps: number;
  /** Index in TOKEN_RISKS. */
  risk: number;
  issuer: string | null;
  audience: string | null;
  revoke_audit_seq: number | null;
  /** The replica create attempt it was minted for (attempt binding), or null. */
  create_attempt?: number | null;
};

export type TokenFilter = {
  status?: TokenStatus;
  deployment?: string;
  service?: string;
  container?: string;
  profile?: Profile;
  key_id?: string;
  /** Substring of jti, subject or container (case-insensitive for ASCII). */
  text?: string;
  /** Tokens that have this capability (the `caps` bit). */
  capability?: TokenCapability;
  /** Tokens rated this risk or worse. */
  risk?: TokenRisk;
  /** `kind:level`: tokens with a scope of that kind at that level or higher, on any id. */
  grants?: string;
};

export type TokenListQuery = {
  filter?: TokenFilter;
  sort?: TokenSortColumn;
  direction?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
};

export const MAX_TOKEN_PAGE = 10_000;
export const DEFAULT_TOKEN_PAGE = 200;

export const TOKEN_COLUMNS =
  'id, jti, subject, deployment, service, container, profile, key_id, kid, scopes, issued_at, expires_at, ' +
  'revoked_at, revoke_reason, replaced_by, token_sha256, forced_ttl, issuer, audience, revoke_audit_seq, caps, risk, create_attempt';

/** A stored time brought into 0 ... MAX_SHOWN_UNIX_SECS (whole seconds); NULL stays null. */
function shownTime(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v > BigInt(MAX_SHOWN_UNIX_SECS) ? MAX_SHOWN_UNIX_SECS : v < 0n ? 0 : Number(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 0;
    return Math.min(MAX_SHOWN_UNIX_SECS, Math.max(0, Math.trunc(v)));
  }
  return 0; // text or a blob where a time belongs: no mint writes that
}

const wholeOrNull = (v: unknown): number | null =>
  v === null || v === undefined ? null : typeof v === 'bigint' ? Number(v) : (v as number);

/**
 * Reads ledger rows from `st` with 64-bit integers intact (node:sqlite throws on an
 * integer beyond 2^53 otherwise) and brings every time into the range the ledger, the
 * CLI and the UI can show (0 ... MAX_SHOWN_UNIX_SECS, shared/time.ts). Minting never
 * writes anything else, but a row edited in the file (or written by another tool) may
 * hold 2^60, 1e300 or text as its expiry; without this, one such row makes every page it
 * is on fail. Only what is read is clamped; filters and sorts use the stored values.
 */
export function tokenRows(st: SqlStatement, ...params: SQLInputValue[]): TokenRow[] {
  st.setReadBigInts?.(true);
  return (st.all(...params) as Record<string, unknown>[]).map(tokenRowOf);
}

function tokenRowOf(raw: Record<string, unknown>): TokenRow {
  return {
    ...(raw as unknown as TokenRow),
    id: wholeOrNull(raw.id)!,
    issued_at: shownTime(raw.issued_at) ?? 0,
    expires_at: shownTime(raw.expires_at) ?? 0,
    revoked_at: shownTime(raw.revoked_at),
    forced_ttl: wholeOrNull(raw.forced_ttl) ?? 0,
    revoke_audit_seq: wholeOrNull(raw.revoke_audit_seq),
    caps: wholeOrNull(raw.caps) ?? 0,
    risk: wholeOrNull(raw.risk) ?? 0,
    create_attempt: wholeOrNull(raw.create_attempt),
  };
}

export function statusOf(row: { revoked_at: number | null; expires_at: number }, now: number): TokenStatus {
  if (row.revoked_at !== null) return 'revoked';
  return row.expires_at < now ? 'expired' : 'active';
}

export function recordOf(row: TokenRow, now: number = nowSecs()): TokenRecord {
  return {
    id: row.id,
    jti: row.jti,
    subject: row.subject,
    deployment: row.deployment,
    service: row.service,
    container: row.container,
    profile: row.profile,
    key_id: row.key_id,
    kid: row.kid,
    scopes: JSON.parse(row.scopes) as TokenScope[],
    issued_at: row.issued_at,
    expires_at: row.expires_at,
    status: statusOf(row, now),
    revoked_at: row.revoked_at,
    revoke_reason: row.revoke_reason,
    replaced_by: row.replaced_by,
    token_sha256: row.token_sha256,
    forced_ttl: row.forced_ttl === 1,
    daemon_socket: (row.caps & CAPABILITY_BITS.daemon_socket) !== 0,
    risk: riskName(row.risk),
  };
}

/** A jti as it may be quoted in a message: only the shape Castellan issues (a UUID-like id). */
export function quoteJti(jti: unknown): string {
  return typeof jti === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(jti) ? `"${jti}"` : '(the given value)';
}

const FILTER_KEYS = [
  'status',
  'deployment',
  'service',
  'container',
  'profile',
  'key_id',
  'text',
  'capability',
  'risk',
  'grants',
] as const;

const GRANT_LEVELS = ['read', 'execute', 'write'] as const;

/** `kind:level` of the grants filter, or a clear error. */
export function parseGrantsFilter(value: string): { kind: string; level: (typeof GRANT_LEVELS)[number] } {
  const cut = value.lastIndexOf(':');
  const kind = value.slice(0, cut);
  const level = value.slice(cut + 1);
  if (cut <= 0 || kind.includes(':') || !(GRANT_LEVELS as readonly string[]).includes(level)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `the grants filter is kind:level with a level of ${GRANT_LEVELS.join(', ')} (for example secret:write)`,
    );
  }
  return { kind, level: level as (typeof GRANT_LEVELS)[number] };
}

function checkFilter(filter: unknown): TokenFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new CastellanError('INVALID_INPUT', 'a token filter must be an object');
  }
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      throw new CastellanError(
        'INVALID_INPUT',
        `unknown token filter "${key.slice(0, 40)}"; use ${FILTER_KEYS.join(', ')}`,
      );
    }
    const v = f[key];
    if (v !== undefined && (typeof v !== 'string' || v.length > 256)) {
      throw new CastellanError('INVALID_INPUT', `the ${key} filter must be text of at most 256 characters`);
    }
  }
  if (f.status !== undefined && !(TOKEN_STATUSES as readonly string[]).includes(f.status as string)) {
    throw new CastellanError('INVALID_INPUT', `status must be one of ${TOKEN_STATUSES.join(', ')}`);
  }
  if (f.profile !== undefined && !isProfile(f.profile)) {
    throw new CastellanError('INVALID_INPUT', `profile must be one of ${PROFILES.join(', ')}`);
  }
  if (f.capability !== undefined && !(TOKEN_CAPABILITIES as readonly string[]).includes(f.capability as string)) {
    throw new CastellanError('INVALID_INPUT', `capability must be one of ${TOKEN_CAPABILITIES.join(', ')}`);
  }
  if (f.risk !== undefined && !(TOKEN_RISKS as readonly string[]).includes(f.risk as string)) {
    throw new CastellanError('INVALID_INPUT', `risk must be one of ${TOKEN_RISKS.join(', ')}`);
  }
  if (f.grants !== undefined) parseGrantsFilter(f.grants as string);
  return f as TokenFilter;
}

const EQUALITY_FILTERS = ['deployment', 'service', 'container', 'profile', 'key_id'] as const;
/** Sorts that the status indexes (revoked_at, issued_at | expires_at) deliver in order. */
const STATUS_ORDERED_SORTS: readonly string[] = ['issued_at', 'expires_at', 'revoked_at'];

/**
 * The WHERE clause of a filter (without the keyword), and its parameters.
 *
 * Query planning note: SQLite here has no STAT4, so its statistics cannot see
 * that `revoked_at IS NULL` holds for most rows (revoked_at values are nearly
 * all distinct, so NULL looks rare). Left alone, the planner then prefers the
 * status index over a selective deployment/service/key filter, or over walking
 * the sort column's index. So the status terms may lead the plan only when
 * nothing better can (`statusMayLead`); otherwise they are written `+revoked_at`,
 * which keeps their meaning but takes them out of index selection.
 */
export function filterClause(
  filter: unknown,
  now: number,
  options: { sort?: string; dialect?: Dialect } = {},
): { sql: string; params: SQLInputValue[] } {
  const dialect = options.dialect ?? sqliteDialect;
  const f = checkFilter(filter);
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const hasEquality = EQUALITY_FILTERS.some((c) => f[c] !== undefined);
  // A capability or risk filter has its own partial index in issued_at order that carries the
  // status columns (schema.ts, migration ui-tokens): it leads, and status is checked inside it.
  const hasFacts = f.capability !== undefined || (f.risk !== undefined && f.risk !== 'low');
  const statusMayLead =
    !hasEquality && !hasFacts && (options.sort === undefined || STATUS_ORDERED_SORTS.includes(options.sort));
  // A key's active or expired tokens by expiry: tokens_key_status (key_id, revoked_at, expires_at)
  // holds them in that order, so there the status terms may take part in the index.
  const keyStatusOrder =
    f.key_id !== undefined &&
    (f.status === 'active' || f.status === 'expired') &&
    options.sort === 'expires_at' &&
    f.deployment === undefined &&
    f.service === undefined &&
    f.container === undefined &&
    f.profile === undefined;
  const r = statusMayLead || keyStatusOrder ? 'revoked_at' : dialect.unindexed('revoked_at');
  // Sorted by issued_at (or revoked_at, whose ties go by issued_at), only revoked_at may lead,
  // so the planner walks tokens_status_issued_at in order instead of sorting a range of
  // (revoked_at, expires_at) it wrongly believes small. Sorted by expires_at under an equality
  // filter, the expiry bound is a range on that filter's (column, expires_at) index: the page
  // starts at the first active (or expired) row instead of skipping the others one by one.
  const e =
    (statusMayLead && (options.sort === undefined || options.sort === 'expires_at')) ||
    (hasEquality && options.sort === 'expires_at')
      ? 'expires_at'
      : dialect.unindexed('expires_at');
  // With a service filter, the deployment may lead only newest first (tokens_deployment_service):
  // in any other order the planner would walk a (deployment, order) index through the
  // deployment's other services too (40 ms instead of 1 for one service by container,
  // descending), where the service's own indexes select fewer rows, and by expiry in order.
  const d =
    f.service !== undefined && options.sort !== undefined && options.sort !== 'issued_at'
      ? dialect.unindexed('deployment')
      : 'deployment';
  if (f.status === 'revoked') where.push(`${r} IS NOT NULL`);
  if (f.status === 'active') {
    where.push(`${r} IS NULL AND ${e} >= ?`);
    params.push(now);
  }
  if (f.status === 'expired') {
    where.push(`${r} IS NULL AND ${e} < ?`);
    params.push(now);
  }
  for (const column of EQUALITY_FILTERS) {
    if (f[column] !== undefined) {
      where.push(`${column === 'deployment' ? d : column} = ?`);
      params.push(f[column]);
    }
  }
  // Literal constants, not parameters: a partial index serves a query only when the query's
  // WHERE holds the index's own term (`caps & 2`, `risk >= 2`) as written.
  if (f.capability !== undefined) where.push(dialect.truthy(`caps & ${CAPABILITY_BITS[f.capability]}`));
  if (f.risk !== undefined && f.risk !== 'low') where.push(`risk >= ${TOKEN_RISKS.indexOf(f.risk)}`);
  if (f.grants !== undefined) {
    const { kind, level } = parseGrantsFilter(f.grants);
    where.push(
      `EXISTS (SELECT 1 FROM ${dialect.jsonArrayFrom('tokens.scopes', 'g')} WHERE ${dialect.jsonElementText('g', 'resource_kind')} = ? ` +
        `AND ${dialect.jsonElementText('g', 'level')} IN (${GRANT_LEVELS.slice(GRANT_LEVELS.indexOf(level))
          .map((l) => `'${l}'`)
          .join(', ')}))`,
    );
    params.push(kind);
  }
  if (f.text !== undefined && f.text !== '') {
    const like = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(${dialect.containsText('jti')} OR ${dialect.containsText('subject')} OR ${dialect.containsText('container')})`);
    params.push(like, like, like);
  }
  return { sql: where.length === 0 ? '1 = 1' : where.join(' AND '), params };
}

function wholeNumber(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a whole number from ${min} to ${max}`);
  }
  return v;
}

/**
 * Per connection: a few prepared list statements, and the totals already counted.
 *
 * A page request must report how many rows its filter selects, and counting a filter over a
 * 1,000,000-row ledger costs up to ~20-40 ms, more than the page itself, while scrolling asks
 * for page after page of the same filter. So totals are kept until the ledger may have changed:
 * `total_changes()` moves with every row this connection writes, `PRAGMA data_version` with
 * every commit by any other connection (the CLI, a second window), so together they tell
 * whether any count could differ. The derived statuses also move with the clock: a total for
 * `active` or `expired` at an earlier `now` is brought forward by counting only the tokens
 * that expired in between (an index range), not the whole filter again.
 */
interface LedgerCache {
  stamp: string;
  totals: Map<string, { now: number; total: number }>;
  statements: Map<string, SqlStatement>;
}
const ledgerCaches = new WeakMap<SqlDatabase, LedgerCache>();
const MAX_CACHED_TOTALS = 64;
const MAX_CACHED_STATEMENTS = 48;
/** Beyond this clock step a total is counted again rather than carried forward. */
const MAX_CARRY_SECS = 3600;

function ledgerCache(db: SqlDatabase): LedgerCache {
  let cache = ledgerCaches.get(db);
  if (cache === undefined) {
    cache = { stamp: '', totals: new Map(), statements: new Map() };
    ledgerCaches.set(db, cache);
  }
  return cache;
}

function cachedStatement(db: SqlDatabase, sql: string): SqlStatement {
  const { statements } = ledgerCache(db);
  let st = statements.get(sql);
  if (st === undefined) {
    st = db.prepare(sql);
    if (statements.size >= MAX_CACHED_STATEMENTS) statements.delete(statements.keys().next().value!);
    statements.set(sql, st);
  } else {
    // Most recently used last, so the oldest is the one dropped.
    statements.delete(sql);
    statements.set(sql, st);
  }
  return st;
}

/** The number of rows `filter` selects at `now`, from the cache when nothing can have changed. */
function countTokens(ws: Workspace, filter: TokenFilter, now: number): number {
  const db = ws.db;
  const cache = ledgerCache(db);
  const stamp = ws.changeStamp();
  if (stamp !== cache.stamp) {
    cache.totals.clear();
    cache.stamp = stamp;
  }
  const timed = filter.status === 'active' || filter.status === 'expired';
  const key = JSON.stringify([
    filter.status ?? null,
    ...EQUALITY_FILTERS.map((c) => filter[c] ?? null),
    filter.text ?? null,
    filter.capability ?? null,
    filter.risk ?? null,
    filter.grants ?? null,
  ]);
  const hit = cache.totals.get(key);
  let total: number;
  if (hit !== undefined && (!timed || hit.now === now)) {
    total = hit.total;
  } else if (hit !== undefined && Math.abs(now - hit.now) <= MAX_CARRY_SECS) {
    // Unrevoked tokens with hit.now <= expires_at < now were active then and are expired now
    // (the other way round if the clock went back).
    const others = filterClause({ ...filter, status: undefined }, now, { dialect: ws.engine.dialect });
    const [lo, hi] = now > hit.now ? [hit.now, now] : [now, hit.now];
    const moved = (
      cachedStatement(
        db,
        `SELECT count(*) AS n FROM tokens WHERE ${others.sql} AND revoked_at IS NULL AND expires_at >= ? AND expires_at < ?`,
      ).get(...others.params, lo, hi) as { n: number }
    ).n;
    const fewer = (filter.status === 'active') === now > hit.now;
    total = fewer ? hit.total - moved : hit.total + moved;
  } else {
    const { sql, params } = filterClause(filter, now, { dialect: ws.engine.dialect });
    total = (cachedStatement(db, `SELECT count(*) AS n FROM tokens WHERE ${sql}`).get(...params) as { n: number }).n;
  }
  cache.totals.delete(key);
  if (cache.totals.size >= MAX_CACHED_TOTALS) cache.totals.delete(cache.totals.keys().next().value!);
  cache.totals.set(key, { now, total });
  return total;
}

/**
 * The ids of one page, in page order: `SELECT id ... LIMIT ? OFFSET ?` (limit and offset are
 * bound after `params`). listTokens runs it; tests EXPLAIN it.
 */
export function pageIdsQuery(
  filter: unknown,
  now: number,
  sort: TokenSortColumn,
  direction: 'asc' | 'desc',
  dialect: Dialect = sqliteDialect,
): { sql: string; params: SQLInputValue[] } {
  const { sql, params } = filterClause(filter, now, { sort, dialect });
  // `id` breaks ties in the same direction, so a page boundary never repeats or skips a row;
  // every single-column index ends in the rowid, so this order is still an index walk. Ties of
  // revoked_at (every unrevoked token is NULL) go newest first, along tokens_status_issued_at.
  const dir = direction === 'asc' ? 'ASC' : 'DESC';
  // Only where NULLs can occur: on a NOT NULL column PostgreSQL would sort instead of walking the index.
  const nulls = NULLABLE_SORTS.has(sort) ? dialect.nullsOrder(dir) : '';
  const order =
    sort === 'revoked_at' ? `revoked_at ${dir}${nulls}, issued_at ${dir}, id ${dir}` : `${sort} ${dir}${nulls}, id ${dir}`;
  return { sql: `SELECT id FROM tokens WHERE ${sql} ORDER BY ${order} LIMIT ? OFFSET ?`, params };
}

/** Sort columns that may hold NULL (the others are NOT NULL in the schema). */
const NULLABLE_SORTS: ReadonlySet<string> = new Set(['revoked_at', 'kid', 'jti']);

/** One page of the ledger and the total the filter selects. */
export function listTokens(
  ws: Workspace,
  query: TokenListQuery = {},
  now: number = nowSecs(),
): { rows: TokenRecord[]; total: number } {
  const sort = query.sort ?? 'issued_at';
  if (!(TOKEN_SORT_COLUMNS as readonly string[]).includes(sort)) {
    throw new CastellanError('INVALID_INPUT', `sort must be one of ${TOKEN_SORT_COLUMNS.join(', ')}`);
  }
  const direction = query.direction ?? 'desc';
  if (direction !== 'asc' && direction !== 'desc') {
    throw new CastellanError('INVALID_INPUT', 'direction must be asc or desc');
  }
  const limit = wholeNumber('limit', query.limit ?? DEFAULT_TOKEN_PAGE, 1, MAX_TOKEN_PAGE);
  const offset = wholeNumber('offset', query.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const filter = checkFilter(query.filter);
  const page = pageIdsQuery(filter, now, sort, direction, ws.engine.dialect);
  // The total, the page's ids and its rows from one snapshot, as one statement would give them,
  // even if another process commits in between.
  const ownSnapshot = !ws.db.isTransaction;
  if (ownSnapshot) ws.db.exec(ws.engine.dialect.beginSnapshot);
  try {
    const total = countTokens(ws, filter, now);
    // Past the end (or nothing matches): no walk through rows that cannot be on the page.
    if (offset >= total) return { rows: [], total };
    // Two steps: the page's ids first, so the walk (and the OFFSET rows it skips) reads index
    // entries only wherever the index holds the filter's columns, and the order's ties are
    // sorted as small (id) records; then the 200 rows themselves, by rowid. In one statement
    // SQLite read (and, for the ties, sorted) whole rows: status=active newest first took
    // 15-18 ms that way and 2 ms this way, offset 20,000 took 55 ms instead of 6.
    const ids = cachedStatement(ws.db, page.sql).all(...page.params, limit, offset) as { id: number }[];
    const rows: TokenRecord[] = [];
    if (ws.shared) {
      // PostgreSQL: one statement for the page's rows, not 200 round trips through the driver
      // thread (20-35 ms a page, bench item 13); put back in the page's order.
      const byId = new Map(
        tokenRows(
          cachedStatement(ws.db, `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ANY (CAST(? AS BIGINT[]))`),
          // pg sends a JavaScript array as a PostgreSQL array.
          ids.map((r) => r.id) as unknown as SQLInputValue,
        ).map((row) => [row.id, row]),
      );
      for (const { id } of ids) {
        const row = byId.get(id);
        if (row !== undefined) rows.push(recordOf(row, now));
      }
      return { rows, total };
    }
    const byId = cachedStatement(ws.db, `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`);
    for (const { id } of ids) {
      const [row] = tokenRows(byId, id);
      if (row !== undefined) rows.push(recordOf(row, now));
    }
    return { rows, total };
  } finally {
    if (ownSnapshot && ws.db.isTransaction) ws.db.exec('COMMIT');
  }
}

export function tokenRowById(ws: Workspace, id: number): TokenRow | null {
  return tokenRows(ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`), id)[0] ?? null;
}

export function tokenRowByJti(ws: Workspace, jti: string): TokenRow | null {
  return tokenRows(ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti = ?`), jti)[0] ?? null;
}

export function tokenRowBySha256(ws: Workspace, sha256: string): TokenRow | null {
  return tokenRows(ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_sha256 = ?`), sha256)[0] ?? null;
}

/** The row for a jti, or NOT_FOUND (the jti is quoted only if it looks like one). */
export function requireTokenByJti(ws: Workspace, jti: string): TokenRow {
  if (typeof jti !== 'string' || jti.length === 0) throw new CastellanError('INVALID_INPUT', 'a jti is required');
  const row = tokenRowByJti(ws, jti);
  if (row === null) throw new CastellanError('NOT_FOUND', `no token with jti ${quoteJti(jti)} in the ledger`);
  return row;
}

/** The audit target naming one token: its jti, or its ledger id when it has none. */
export function tokenTarget(row: { jti: string | null; id: number }): string {
  return `token:${row.jti ?? row.id}`;
}

/**
 * The claims the token carried, rebuilt from its row (the token itself is never
 * stored). Same builders, same key order, so they match what was signed.
 */
export function claimsOf(row: TokenRow): Record<string, unknown> {
  const input = {
    service: row.service,
    container: row.container,
    scopes: JSON.parse(row.scopes) as TokenScope[],
    ttlSecs: row.expires_at - row.issued_at,
    now: row.issued_at,
    jti: row.jti,
  };
  if (row.profile === 'zlayer') return zlayerClaims(input);
  if (row.issuer === null || row.audience === null) {
    throw new CastellanError('INTEGRITY', `ledger row ${row.id} (${row.profile}) has no issuer or audience`);
  }
  return asymmetricClaims({
    ...input,
    issuer: row.issuer,
    audience: row.audience,
    deployment: row.deployment,
    createAttempt: row.create_attempt ?? null,
  });
}

export type TokenHistoryEntry = { ts: string; action: string; actor: string; details: Record<string, unknown> };

export type TokenDetail = {
  record: TokenRecord;
  claims: Record<string, unknown>;
  scopes_in_words: string;
  history: TokenHistoryEntry[];
};

/** One record with its rebuilt claims and its history from the audit log. */
export function getToken(ws: Workspace, id: number, now: number = nowSecs()): TokenDetail {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new CastellanError('INVALID_INPUT', 'a token id is a positive whole number');
  }
  const row = tokenRowById(ws, id);
  if (row === null) throw new CastellanError('NOT_FOUND', `no token #${id} in the ledger`);
  type Entry = {
    seq: number;
    ts: string;
    actor_user: string;
    actor_kind: string;
    actor_admin: string | null;
    actor_host: string | null;
    action: string;
    details: string;
  };
  // The token's own entries, the entry that revoked it (one summary for a bulk revoke), and
  // the summary of the batch that minted it (named by its mint entry's batch_seq).
  const entries = ws.db
    .prepare(
      `SELECT seq, ts, actor_user, actor_kind, actor_admin, actor_host, action, details FROM audit WHERE target = ?
       UNION SELECT seq, ts, actor_user, actor_kind, actor_admin, actor_host, action, details FROM audit WHERE seq = ?
       ORDER BY seq`,
    )
    .all(tokenTarget(row), row.revoke_audit_seq ?? -1) as Entry[];
  const batchSeq = entries
    .map((e) => (JSON.parse(e.details) as { batch_seq?: unknown }).batch_seq)
    .find((v): v is number => typeof v === 'number');
  if (batchSeq !== undefined && !entries.some((e) => e.seq === batchSeq)) {
    const batch = ws.db
      .prepare('SELECT seq, ts, actor_user, actor_kind, actor_admin, actor_host, action, details FROM audit WHERE seq = ?')
      .get(batchSeq) as Entry | undefined;
    if (batch) entries.unshift(batch);
  }
  const record = recordOf(row, now);
  let claims: Record<string, unknown>;
  try {
    claims = claimsOf(row);
  } catch (err) {
    // A row no mint could have written (e.g. times edited in the file): show the record, not a crash.
    if (!(err instanceof CastellanError)) throw err;
    claims = {};
  }
  return {
    record,
    claims,
    scopes_in_words: describeScopes(record.scopes),
    history: entries.map((e) => ({
      ts: e.ts,
      action: e.action,
      actor: describeActor(e),
      details: JSON.parse(e.details) as Record<string, unknown>,
    })),
  };
}

export const MAX_EXPIRING_SOON = 100;

/** Counts by status, and the active tokens that expire within `withinSecs` (soonest first, at most 100). */
export function tokenStats(
  ws: Workspace,
  withinSecs: number,
  now: number = nowSecs(),
): { active: number; expired: number; revoked: number; expiring_soon: TokenRecord[] } {
  wholeNumber('expiring_within_secs', withinSecs, 1, Number.MAX_SAFE_INTEGER);
  const n = (sql: string, ...params: SQLInputValue[]): number =>
    (ws.db.prepare(`SELECT count(*) AS n FROM tokens WHERE ${sql}`).get(...params) as { n: number }).n;
  const soon = tokenRows(
    ws.db.prepare(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE revoked_at IS NULL AND expires_at >= ? AND expires_at <= ?
       ORDER BY expires_at, id LIMIT ?`,
    ),
    now,
    now + withinSecs,
    MAX_EXPIRING_SOON,
  );
  return {
    active: n('revoked_at IS NULL AND expires_at >= ?', now),
    expired: n('revoked_at IS NULL AND expires_at < ?', now),
    revoked: n('revoked_at IS NOT NULL'),
    expiring_soon: soon.map((r) => recordOf(r, now)),
  };
}

/** The shortest jti prefix `resolveTokenRef` accepts: shorter ones match too many tokens to be meant. */
export const MIN_JTI_PREFIX = 4;

/**
 * One token named the way an admin types it (cli): `#N` is the ledger number, anything else a
 * jti or an unambiguous prefix of one (at least MIN_JTI_PREFIX characters). An exact jti wins
 * over a longer jti it prefixes. NOT_FOUND when nothing matches; INVALID_INPUT naming how many
 * match (up to 100, "100 or more" beyond) when the prefix is ambiguous. A range scan on the
 * jti's unique index, so a prefix costs the same at a million tokens.
 */
export function resolveTokenRef(ws: Workspace, ref: string): TokenRow {
  if (typeof ref !== 'string' || ref.length === 0) throw new CastellanError('INVALID_INPUT', 'a token id is required: a jti, a prefix of one, or #N');
  if (ref.startsWith('#')) {
    const n = Number(ref.slice(1));
    if (!/^#[1-9][0-9]*$/.test(ref) || !Number.isSafeInteger(n)) {
      throw new CastellanError('INVALID_INPUT', '#N takes a ledger number (a whole number from 1, as tokens list shows it)');
    }
    const row = tokenRowById(ws, n);
    if (row === null) throw new CastellanError('NOT_FOUND', `no token #${n} in the ledger`);
    return row;
  }
  const exact = tokenRowByJti(ws, ref);
  if (exact !== null) return exact;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ref)) throw new CastellanError('NOT_FOUND', `no token with jti ${quoteJti(ref)} in the ledger`);
  if (ref.length < MIN_JTI_PREFIX) {
    throw new CastellanError('INVALID_INPUT', `give at least ${MIN_JTI_PREFIX} characters of a jti, or #N for a ledger number`);
  }
  // Every jti that starts with `ref` sorts in [ref, ref + U+FFFF) under the BINARY collation.
  const matches = ws.db
    .prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti >= ? AND jti < ? ORDER BY jti LIMIT 100`)
    .all(ref, `${ref}\uffff`) as TokenRow[];
  if (matches.length === 0) {
    throw new CastellanError('NOT_FOUND', `no token with jti "${ref}" in the ledger, nor one whose jti starts with it`);
  }
  if (matches.length > 1) {
    throw new CastellanError(
      'INVALID_INPUT',
      `"${ref}" is ambiguous: ${matches.length === 100 ? '100 or more' : matches.length} tokens have a jti starting with it; give more characters, the whole jti, or #N`,
    );
  }
  return matches[0]!;
}

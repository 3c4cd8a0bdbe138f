/**
 * The token list on a ledger large enough for the planner to matter: every page and total
 * listTokens gives equals what one plain SQL statement gives (the two-step page, the planner
 * hints and the cached totals change the speed, never the answer); the totals follow writes
 * by this connection and by others, and the clock; the common pages walk one index for both
 * their filter and their order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { SQLInputValue } from 'node:sqlite';
import { TOKEN_SORT_COLUMNS } from '../../shared/ipc/contract/tokens.ts';
import { listTokens, pageIdsQuery, type TokenFilter, type TokenSortColumn } from '../../electron/core/tokens/token-ledger.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';

const T = 1_800_000_000;
const ROWS = 20_000;

/** A ledger of ROWS synthetic rows: 50 deployments, 7 services, 2 keys, ~6 % revoked, a third expired. */
function seed(dir: string): void {
  const ws = openTestWorkspace(dir);
  ws.db.exec(`INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at)
              VALUES ('k1', 'zlayer', 'HS256', 'active', x'00', 'x'), ('k2', 'ed25519', 'EdDSA', 'verify-only', x'00', 'x')`);
  ws.transaction(() => {
    const insert = ws.db
      .prepare(`INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes,
      issued_at, expires_at, revoked_at, token_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)`);
    for (let i = 0; i < ROWS; i++) {
      // Batches of 40 share an issue time, as mintBatch writes them; TTLs of 1 h to ~4 days.
      const iat = T - 300_000 + Math.floor(i / 40) * 600;
      const exp = iat + 3600 * (1 + (i % 97));
      insert.run(
        i % 11 === 0 ? null : `j-${i}`,
        `container:s${i % 7}:c-${i % 500}`,
        `d${i % 50}`,
        `s${i % 7}`,
        `s${i % 7}-${i % 500}`,
        i % 3 ? 'zlayer' : 'ed25519',
        i % 3 ? 'k1' : 'k2',
        iat,
        exp,
        i % 17 === 0 ? Math.min(exp, iat + 5) : null,
        `h${i}`,
      );
    }
  });
  ws.close();
}

let seeded: string | null = null;
/** One seeded ledger shared by the read-only tests; reopening refreshes planner statistics, as the app does. */
function ledger(): Workspace {
  if (seeded === null) {
    seeded = path.join(tempDir(), 'workspace');
    seed(seeded);
  }
  return openTestWorkspace(seeded);
}

/** What the page must be: one plain statement, no hints, no cache. */
function reference(
  ws: Workspace,
  filter: TokenFilter,
  sort: TokenSortColumn,
  direction: 'asc' | 'desc',
  limit: number,
  offset: number,
  now: number,
): { ids: number[]; statuses: string[]; total: number } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.status === 'revoked') where.push('revoked_at IS NOT NULL');
  if (filter.status === 'active' || filter.status === 'expired') {
    where.push(`revoked_at IS NULL AND expires_at ${filter.status === 'active' ? '>=' : '<'} ?`);
    params.push(now);
  }
  for (const c of ['deployment', 'service', 'container', 'profile', 'key_id'] as const) {
    if (filter[c] === undefined) continue;
    where.push(`${c} = ?`);
    params.push(filter[c]);
  }
  const sql = where.length ? where.join(' AND ') : '1';
  const dir = direction.toUpperCase();
  const order = sort === 'revoked_at' ? `revoked_at ${dir}, issued_at ${dir}, id ${dir}` : `${sort} ${dir}, id ${dir}`;
  const rows = ws.db
    .prepare(`SELECT id, revoked_at, expires_at FROM tokens WHERE ${sql} ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...params, limit, offset) as { id: number; revoked_at: number | null; expires_at: number }[];
  const total = (ws.db.prepare(`SELECT count(*) AS n FROM tokens WHERE ${sql}`).get(...params) as { n: number }).n;
  return {
    ids: rows.map((r) => r.id),
    statuses: rows.map((r) => (r.revoked_at !== null ? 'revoked' : r.expires_at < now ? 'expired' : 'active')),
    total,
  };
}

function same(
  ws: Workspace,
  filter: TokenFilter,
  sort: TokenSortColumn,
  direction: 'asc' | 'desc',
  offset: number,
  now: number,
): void {
  const limit = 50;
  const got = listTokens(ws, { filter, sort, direction, limit, offset }, now);
  const want = reference(ws, filter, sort, direction, limit, offset, now);
  const what = `${JSON.stringify(filter)} ${sort} ${direction} offset ${offset} now ${now}`;
  assert.equal(got.total, want.total, `total of ${what}`);
  assert.deepEqual(
    got.rows.map((r) => r.id),
    want.ids,
    `page of ${what}`,
  );
  assert.deepEqual(
    got.rows.map((r) => r.status),
    want.statuses,
    `statuses of ${what}`,
  );
}

const FILTERS: TokenFilter[] = [
  {},
  { status: 'active' },
  { status: 'expired' },
  { status: 'revoked' },
  { deployment: 'd3' },
  { service: 's2' },
  { profile: 'ed25519' },
  { key_id: 'k1' },
  { container: 's3-10' },
  { deployment: 'd3', service: 's3' },
  { service: 's2', status: 'active' },
  { service: 's2', status: 'expired' },
  { deployment: 'd4', service: 's4', status: 'active' },
  { key_id: 'k2', status: 'active' },
  { key_id: 'k2', status: 'expired' },
  { profile: 'zlayer', status: 'revoked' },
];

test('every page and total equals the plain query, for every filter, sort, direction and offset', () => {
  const ws = ledger();
  try {
    const now = T - 50_000;
    for (const filter of FILTERS) {
      for (const sort of TOKEN_SORT_COLUMNS) {
        for (const direction of ['asc', 'desc'] as const) {
          for (const offset of [0, 130]) same(ws, filter, sort, direction, offset, now);
        }
      }
    }
    // Past the end, and a page that runs over it.
    const all = listTokens(ws, { filter: { deployment: 'd3', service: 's3' } }, now).total;
    assert.deepEqual(listTokens(ws, { filter: { deployment: 'd3', service: 's3' }, offset: all }, now).rows, []);
    same(ws, { deployment: 'd3', service: 's3' }, 'issued_at', 'desc', all - 7, now);
  } finally {
    ws.close();
  }
});

test('totals follow the clock: active and expired at any later or earlier moment', () => {
  const ws = ledger();
  try {
    const filters: TokenFilter[] = [
      { status: 'active' },
      { status: 'expired' },
      { service: 's2', status: 'active' },
      { deployment: 'd4', service: 's4', status: 'expired' },
      { key_id: 'k2', status: 'active' },
      { profile: 'ed25519', status: 'expired' },
    ];
    // Forwards and backwards by seconds, minutes and more than the carry-forward limit.
    for (const now of [T - 60_000, T - 59_999, T - 59_000, T - 40_000, T - 45_000, T - 45_001, T + 5_000, T - 60_000]) {
      for (const filter of filters) same(ws, filter, 'expires_at', 'asc', 0, now);
    }
  } finally {
    ws.close();
  }
});

test('totals follow writes, by this connection and by another one', () => {
  const dir = path.join(tempDir(), 'workspace');
  seed(dir);
  const app = openTestWorkspace(dir, 'app');
  const cli = openTestWorkspace(dir, 'cli');
  try {
    const now = T - 50_000;
    const filters: TokenFilter[] = [
      {},
      { status: 'active' },
      { status: 'revoked' },
      { service: 's2' },
      { deployment: 'd2', service: 's2' },
    ];
    const check = () => {
      for (const filter of filters) same(app, filter, 'issued_at', 'desc', 0, now);
    };
    check();
    const insert = (ws: Workspace, i: number) =>
      ws.transaction(() =>
        ws.db
          .prepare(
            `INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes,
            issued_at, expires_at, token_sha256) VALUES (?, 'x', 'd2', 's2', 'c', 'zlayer', 'k1', '[]', ?, ?, ?)`,
          )
          .run(`new-${i}`, now, now + 3600, `new-h${i}`),
      );
    insert(app, 1); // this connection
    check();
    insert(cli, 2); // another connection (another process, as far as SQLite can tell)
    check();
    cli.transaction(() => cli.db.prepare('UPDATE tokens SET revoked_at = ? WHERE jti = ?').run(now, 'new-1'));
    check();
    app.transaction(() => app.db.prepare('UPDATE tokens SET revoked_at = ? WHERE jti = ?').run(now, 'new-2'));
    check();
    // A write rolled back changes nothing, and the totals say so.
    assert.throws(() =>
      app.transaction(() => {
        insert(app, 3);
        throw new Error('undo');
      }),
    );
    check();
  } finally {
    app.close();
    cli.close();
  }
});

test('the common pages walk one index for both their filter and their order', () => {
  const ws = ledger();
  try {
    const now = T - 50_000;
    const plan = (filter: TokenFilter, sort: TokenSortColumn, direction: 'asc' | 'desc'): string => {
      const q = pageIdsQuery(filter, now, sort, direction);
      return (ws.db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params, 200, 0) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
    };
    const cases: [TokenFilter, TokenSortColumn, RegExp][] = [
      [{}, 'issued_at', /tokens_issued_at/],
      [{}, 'expires_at', /tokens_expires_at/],
      [{ status: 'active' }, 'issued_at', /tokens_status_issued_at/],
      [{ status: 'active' }, 'expires_at', /tokens_revoked_at_expires_at/],
      [{ status: 'expired' }, 'issued_at', /tokens_status_issued_at/],
      [{ status: 'expired' }, 'expires_at', /tokens_revoked_at_expires_at/],
      [{ status: 'revoked' }, 'revoked_at', /tokens_status_issued_at/],
      [{ deployment: 'd3' }, 'issued_at', /tokens_deployment_issued_at/],
      [{ deployment: 'd3' }, 'expires_at', /tokens_deployment_expires_at/],
      [{ deployment: 'd3' }, 'container', /tokens_deployment_container/],
      [{ service: 's2' }, 'issued_at', /tokens_service_issued_at/],
      [{ service: 's2' }, 'expires_at', /tokens_service_expires_at/],
      [{ service: 's2', status: 'active' }, 'expires_at', /tokens_service_expires_at/],
      [{ deployment: 'd3', service: 's3' }, 'issued_at', /tokens_deployment_service/],
      [{ deployment: 'd3', service: 's3' }, 'expires_at', /tokens_service_expires_at/],
      [{ profile: 'ed25519' }, 'issued_at', /tokens_profile_issued_at/],
      [{ profile: 'ed25519' }, 'expires_at', /tokens_profile_expires_at/],
      [{ key_id: 'k2' }, 'issued_at', /tokens_key_issued_at/],
      [{ key_id: 'k2', status: 'active' }, 'expires_at', /tokens_key_status/],
      [{ key_id: 'k2', status: 'expired' }, 'expires_at', /tokens_key_status/],
    ];
    for (const [filter, sort, index] of cases) {
      for (const direction of ['asc', 'desc'] as const) {
        const p = plan(filter, sort, direction);
        const what = `${JSON.stringify(filter)} by ${sort} ${direction}: ${p}`;
        assert.match(p, index, what);
        assert.doesNotMatch(p, /USE TEMP B-TREE FOR ORDER BY/, what);
        assert.doesNotMatch(p, /^SCAN tokens$|SCAN tokens \|/, what);
      }
    }
  } finally {
    ws.close();
  }
});

test('migration 4 replaces the single-column service and profile indexes', () => {
  const ws = ledger();
  try {
    const names = (
      ws.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens'").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    for (const gone of ['tokens_service', 'tokens_profile']) assert.ok(!names.includes(gone), gone);
    for (const added of [
      'tokens_service_issued_at',
      'tokens_service_expires_at',
      'tokens_deployment_expires_at',
      'tokens_deployment_container',
      'tokens_profile_issued_at',
      'tokens_profile_expires_at',
    ]) {
      assert.ok(names.includes(added), added);
    }
  } finally {
    ws.close();
  }
});

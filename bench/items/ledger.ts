/**
 * Items 2 and 3 on the large ledger (1,000,000 rows in a full run), each on a fresh connection
 * opened the way the app opens it (`Workspace.open`: default cache, WAL, synchronous FULL).
 *
 * 2. Revoke latency: `revokeToken` (row update + audit entry, one transaction, committed) of
 *    random active tokens; warm-up excluded; p50 and p99.
 * 3. List query latency: `listTokens` with one filter, one sort and one 200-row page (count of the
 *    filter included, as the page needs it), over several filters, sorts and offsets; p50 and p99.
 *    The free-text filter is reported on its own line: token-ledger.ts documents that it scans.
 */
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { nowSecs } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens, type TokenListQuery } from '../../electron/core/tokens/token-ledger.ts';
import { reopen } from '../lib/fixtures.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, max, median, percentile, prng, round, sig } from '../lib/stats.ts';

export const REVOKE_P99_LIMIT_MS = 5;
export const LIST_P99_LIMIT_MS = 20;

export function benchRevoke(
  dir: string,
  ledgerRows: number,
  opts: { revocations: number; warmup: number },
  log: (line: string) => void,
): Row[] {
  const ws = reopen(dir);
  try {
    const now = nowSecs();
    const rand = prng(7);
    const maxId = (ws.db.prepare('SELECT max(id) AS m FROM tokens').get() as { m: number }).m;
    const byId = ws.db.prepare('SELECT jti, revoked_at, expires_at FROM tokens WHERE id = ?');
    const wanted = opts.revocations + opts.warmup;
    const jtis = new Set<string>();
    for (let guard = 0; jtis.size < wanted && guard < wanted * 1000; guard++) {
      const row = byId.get(1 + Math.floor(rand() * maxId)) as { jti: string | null; revoked_at: number | null; expires_at: number } | undefined;
      if (row?.jti && row.revoked_at === null && row.expires_at >= now) jtis.add(row.jti);
    }
    const list = [...jtis];
    const times: number[] = [];
    list.forEach((jti, i) => {
      const t0 = performance.now();
      const record = revokeToken(ws, jti, 'other');
      const ms = performance.now() - t0;
      if (record.status !== 'revoked') throw new Error(`revoking ${jti} did not revoke it`);
      if (i >= opts.warmup) times.push(ms);
    });
    const p50 = percentile(times, 50);
    const p99 = percentile(times, 99);
    log(`  revoke: p50 ${sig(p50)} ms, p99 ${sig(p99)} ms, max ${sig(max(times))} ms over ${times.length}`);
    return [
      {
        item: `2 revoke 1 token, p99 (${int(ledgerRows)} ledger)`,
        value: round(p99),
        unit: 'ms',
        figure: `${sig(p99)} ms (p50 ${sig(p50)} ms)`,
        comparedWith: `limit ${REVOKE_P99_LIMIT_MS} ms`,
        ratio: p99 / REVOKE_P99_LIMIT_MS,
        target: `< ${REVOKE_P99_LIMIT_MS} ms`,
        verdict: verdict(p99 < REVOKE_P99_LIMIT_MS),
        notes: `${times.length} random active tokens after ${opts.warmup} warm-up; row + audit entry, committed (synchronous=FULL)`,
        data: { p50, p99, max: max(times), samples: times.map((t) => round(t)) },
      },
    ];
  } finally {
    ws.close();
  }
}

export interface ListCase {
  name: string;
  query: TokenListQuery;
}

export function listCases(services: { deployment: string; service: string }[]): ListCase[] {
  const cases: ListCase[] = [];
  const page = (q: Omit<TokenListQuery, 'limit'>, name: string): void => {
    cases.push({ name, query: { ...q, limit: 200 } });
  };
  for (const offset of [0, 2_000, 20_000]) {
    page({ filter: { status: 'active' }, sort: 'expires_at', direction: 'desc', offset }, `status=active, expires_at desc, offset ${offset}`);
  }
  page({ filter: { status: 'active' }, sort: 'issued_at', direction: 'desc', offset: 0 }, 'status=active, issued_at desc');
  page({ filter: { status: 'expired' }, sort: 'expires_at', direction: 'desc', offset: 0 }, 'status=expired, expires_at desc');
  page({ filter: { status: 'revoked' }, sort: 'revoked_at', direction: 'desc', offset: 0 }, 'status=revoked, revoked_at desc');
  for (const s of services) {
    for (const offset of [0, 2_000]) {
      page({ filter: { service: s.service }, sort: 'expires_at', direction: 'desc', offset }, `service=${s.service}, expires_at desc, offset ${offset}`);
    }
  }
  page({ filter: { deployment: services[0]!.deployment }, sort: 'issued_at', direction: 'desc', offset: 0 }, `deployment=${services[0]!.deployment}, issued_at desc`);
  page({ filter: { deployment: services[1]!.deployment }, sort: 'container', direction: 'asc', offset: 0 }, `deployment=${services[1]!.deployment}, container asc`);
  page({ filter: { profile: 'ed25519' }, sort: 'issued_at', direction: 'desc', offset: 0 }, 'profile=ed25519, issued_at desc');
  page({ sort: 'issued_at', direction: 'desc', offset: 0 }, 'no filter, issued_at desc (the default view)');
  return cases;
}

export function benchList(
  dir: string,
  ledgerRows: number,
  opts: { repeats: number; warmup: number },
  log: (line: string) => void,
): Row[] {
  const ws = reopen(dir);
  try {
    const now = nowSecs();
    // A popular service, a middling one and a rare one, by their share of the ledger.
    const shares = ws.db
      .prepare('SELECT deployment, service, count(*) AS n FROM tokens GROUP BY deployment, service ORDER BY n DESC')
      .all() as { deployment: string; service: string; n: number }[];
    const picks = [shares[0]!, shares[Math.floor(shares.length / 2)]!, shares[shares.length - 1]!];
    const cases = listCases(picks);
    const perCase = new Map<string, number[]>();
    // Round-robin over the cases, so no case gets a cache the others do not.
    for (let r = 0; r < opts.warmup + opts.repeats; r++) {
      for (const c of cases) {
        const t0 = performance.now();
        const page = listTokens(ws, c.query, now);
        const ms = performance.now() - t0;
        if (page.rows.length === 0 && page.total > (c.query.offset ?? 0)) throw new Error(`${c.name}: empty page`);
        if (r >= opts.warmup) perCase.set(c.name, [...(perCase.get(c.name) ?? []), ms]);
      }
    }
    const all = [...perCase.values()].flat();
    const p50 = percentile(all, 50);
    const p99 = percentile(all, 99);
    const worst = [...perCase.entries()].map(([name, t]) => ({ name, median: median(t), max: max(t) })).sort((a, b) => b.median - a.median);
    for (const w of worst) log(`  list ${w.name}: median ${sig(w.median)} ms, max ${sig(w.max)} ms`);

    // The free-text filter, as typed in the page's search box.
    const text: number[] = [];
    for (let r = 0; r < 2 + Math.max(3, Math.floor(opts.repeats / 3)); r++) {
      const t0 = performance.now();
      listTokens(ws, { filter: { text: `${picks[1]!.service}-1` }, sort: 'issued_at', direction: 'desc', limit: 200 }, now);
      if (r >= 2) text.push(performance.now() - t0);
    }
    const textMedian = median(text);
    log(`  list text search: median ${sig(textMedian)} ms`);

    return [
      {
        item: `3 list page, p99 (${int(ledgerRows)} ledger)`,
        value: round(p99),
        unit: 'ms',
        figure: `${sig(p99)} ms (p50 ${sig(p50)} ms)`,
        comparedWith: `limit ${LIST_P99_LIMIT_MS} ms`,
        ratio: p99 / LIST_P99_LIMIT_MS,
        target: `< ${LIST_P99_LIMIT_MS} ms`,
        verdict: verdict(p99 < LIST_P99_LIMIT_MS),
        notes: `${cases.length} filter/sort/offset cases × ${opts.repeats} after ${opts.warmup} warm-up round(s); 200 rows + total; slowest case: ${worst[0]!.name} (median ${sig(worst[0]!.median)} ms)`,
        data: { p50, p99, cases: worst.map((w) => ({ ...w, median: round(w.median), max: round(w.max) })) },
      },
      {
        item: `3 list, free-text search (${int(ledgerRows)} ledger)`,
        value: round(textMedian),
        unit: 'ms',
        figure: `${sig(textMedian)} ms median`,
        comparedWith: `limit ${LIST_P99_LIMIT_MS} ms (info)`,
        ratio: textMedian / LIST_P99_LIMIT_MS,
        target: 'info: scans by design',
        verdict: 'info',
        notes: 'substring of jti/subject/container; token-ledger.ts says this filter scans',
        data: { samples: text.map((t) => round(t)) },
      },
    ];
  } finally {
    ws.close();
  }
}

/**
 * Item 13 (issue 14, point 6): team mode on PostgreSQL, beside the embedded SQLite file, in one run.
 *
 * Starts its own throwaway PostgreSQL cluster (lib/pg-cluster.ts: scripts/pg-test-cluster.sh's
 * functions, restarted with fsync and synchronous_commit on) and stops it at the end, also when a
 * step fails. When PostgreSQL cannot be started the item is reported NOT RUN with the reason.
 *
 * a. The same 1,000,000-token ledger (lib/ledger.ts, same generator and seed) in a SQLite
 *    workspace and a PostgreSQL one, each reopened as the app opens it (vault locked: listing and
 *    revoking need no key). Revoke p99 (`revokeToken`, one committed transaction: row + audit
 *    entry, under the audit-head lock on PostgreSQL) and list-page p99 (`listTokens`: item 3's 16
 *    filter/sort/offset cases, first and deep pages, 200 rows with their total), the two engines
 *    interleaved revoke by revoke and case by case. Goals: revoke p99 < 10 ms, list p99 < 30 ms on
 *    PostgreSQL; the SQLite lines keep items 2 and 3's limits (5 ms, 20 ms).
 * b. Cross-console revocation visibility: another process (items/changes-revoker.ts, what the CLI
 *    does) revokes on the same ledger; this process runs the console's change watcher
 *    (change-feed.ts `watchChanges`, 50 ms interval). Revoke commit → listener, p50/p99, both
 *    engines. Goal p99 < 100 ms.
 * c. Four admins at once: four processes (items/admin-child.ts), each its own Workspace on the same
 *    database, alternate mint and revoke for a fixed time. Committed operations per second, each
 *    operation's latency, and afterwards the audit log verified — the chain (`audit.verify`) and
 *    every entry's MAC and the sealed head (`integrity.verifyAudit`) — with as many new entries
 *    as operations committed: "chain intact". Same on one SQLite file for comparison.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { nowSecs } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { ACTOR, PASSPHRASE, prepareWorkspace, reopen, SERVICES, type PreparedWorkspace } from '../lib/fixtures.ts';
import { seedLedger, type SeedResult } from '../lib/ledger.ts';
import { startBenchCluster, type BenchCluster } from '../lib/pg-cluster.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, max, median, percentile, prng, round, sig } from '../lib/stats.ts';
import { measureVisibility, revocableJtis } from './changes.ts';
import { LIST_P99_LIMIT_MS, listCases, REVOKE_P99_LIMIT_MS } from './ledger.ts';

/** Issue 14's goals for team mode. */
export const PG_REVOKE_P99_LIMIT_MS = 10;
export const PG_LIST_P99_LIMIT_MS = 30;
export const VISIBILITY_P99_LIMIT_MS = 100;

const REVOKER = fileURLToPath(new URL('./changes-revoker.ts', import.meta.url));
const ADMIN = fileURLToPath(new URL('./admin-child.ts', import.meta.url));

export interface PostgresSizes {
  rows: number;
  realMint: number;
  revoke: { revocations: number; warmup: number };
  list: { repeats: number; warmup: number };
  visibility: { revokes: number };
  admins: { admins: number; seconds: number };
}

export const POSTGRES_FULL: PostgresSizes = {
  rows: 1_000_000,
  realMint: 10_000,
  revoke: { revocations: 500, warmup: 20 },
  list: { repeats: 10, warmup: 1 },
  visibility: { revokes: 200 },
  admins: { admins: 4, seconds: 10 },
};

export const POSTGRES_QUICK: PostgresSizes = {
  rows: 100_000,
  realMint: 2_000,
  revoke: { revocations: 100, warmup: 10 },
  list: { repeats: 3, warmup: 1 },
  visibility: { revokes: 50 },
  admins: { admins: 4, seconds: 4 },
};

type Engine = 'SQLite' | 'PostgreSQL';
const ENGINES: readonly Engine[] = ['SQLite', 'PostgreSQL'];

interface Ledger {
  engine: Engine;
  dir: string;
  database: string | undefined;
}

const now = () => performance.timeOrigin + performance.now();

export async function benchPostgres(root: string, sizes: PostgresSizes, log: (line: string) => void): Promise<Row[]> {
  const started = await startBenchCluster(log);
  if ('notRun' in started) {
    log(`  13 NOT RUN: ${started.notRun}`);
    return [notRun('13 PostgreSQL team mode (revoke, list, visibility, four admins)', started.notRun)];
  }
  const cluster = started.cluster;
  const rows: Row[] = [];
  try {
    const ledgers = await seedBoth(root, cluster, sizes, log, rows);
    const sqlite = reopen(ledgers[0].dir);
    const pg = reopen(ledgers[1].dir, ledgers[1].database);
    try {
      rows.push(...revokes(sqlite, pg, sizes, log));
      rows.push(...lists(sqlite, pg, sizes, log));
      for (const [ws, ledger] of [[pg, ledgers[1]], [sqlite, ledgers[0]]] as const) {
        rows.push(...(await visibility(ws, ledger, sizes, log)));
      }
    } finally {
      sqlite.close();
      pg.close();
    }
    cluster.createDatabase('admins');
    const admins: { engine: Engine; result: AdminsResult }[] = [];
    for (const engine of ['PostgreSQL', 'SQLite'] as const) {
      const dir = path.join(root, `admins-${engine.toLowerCase()}`);
      fs.mkdirSync(dir);
      admins.push({ engine, result: await fourAdmins(dir, engine === 'PostgreSQL' ? cluster.url('admins') : undefined, sizes, log) });
    }
    rows.push(...adminRows(admins, sizes));
    rows.push({
      item: '13 PostgreSQL server',
      value: Number.NaN,
      unit: '',
      figure: cluster.version.replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL '),
      comparedWith: '(setup, not a target)',
      ratio: null,
      target: 'info',
      verdict: 'info',
      notes:
        'private cluster on a Unix socket, same machine and disk as the SQLite file; fsync, synchronous_commit and full_page_writes on ' +
        '(each commit flushed, as SQLite synchronous=FULL); shared_buffers 128 MB (default), max_wal_size 4 GB; one connection per Workspace through pg-sync.ts',
    });
    return rows;
  } finally {
    await cluster.stop();
    log('  PostgreSQL cluster stopped and removed');
  }
}

function notRun(item: string, why: string): Row {
  return {
    item,
    value: Number.NaN,
    unit: '',
    figure: 'not run',
    comparedWith: '',
    ratio: null,
    target: 'PostgreSQL needed',
    verdict: 'NOT RUN',
    notes: why,
  };
}

// ---- a. seeding ---------------------------------------------------------------------------

async function seedBoth(root: string, cluster: BenchCluster, sizes: PostgresSizes, log: (line: string) => void, rows: Row[]): Promise<[Ledger, Ledger]> {
  cluster.createDatabase('ledger');
  const out: Ledger[] = [];
  for (const engine of ENGINES) {
    const dir = path.join(root, `ledger-${engine.toLowerCase()}`);
    fs.mkdirSync(dir);
    const database = engine === 'PostgreSQL' ? cluster.url('ledger') : undefined;
    const prepared = await prepareWorkspace(dir, database);
    try {
      // The same generator and seed on both engines: the same services, times, statuses, counts.
      const s = seedLedger(prepared.ws, sizes.rows - sizes.realMint, sizes.realMint, 13);
      log(`  ${engine}: seeded ${int(sizes.rows)} rows in ${sig(s.totalMs / 1000)} s`);
      rows.push(seedRow(engine, sizes.rows, s, prepared));
      out.push({ engine, dir: prepared.dir, database });
    } finally {
      prepared.ws.close();
    }
  }
  // The first open after seeding refreshes SQLite's planner statistics (workspace.ts), as an
  // earlier start of the app would have; PostgreSQL's were taken by the seed's VACUUM (ANALYZE).
  reopen(out[0]!.dir).close();
  return [out[0]!, out[1]!];
}

function seedRow(engine: Engine, total: number, s: SeedResult, prepared: PreparedWorkspace): Row {
  const secs = s.totalMs / 1000;
  return {
    item: `seed 13 ledger, ${engine} (${int(total)} rows)`,
    value: round(secs, 1),
    unit: 's',
    figure: `${sig(secs)} s`,
    comparedWith: '(setup, not a target)',
    ratio: null,
    target: 'info',
    verdict: 'info',
    notes:
      `${int(s.syntheticRows)} SQL rows + audit in ${sig(s.insertMs / 1000)} s, indexes ${sig(s.indexMs / 1000)} s` +
      (s.vacuumMs === undefined ? '' : `, VACUUM (ANALYZE) ${sig(s.vacuumMs / 1000)} s`) +
      `, ${int(s.realMinted)} real mintBatch tokens in ${sig(s.mintMs / 1000)} s; vault KDF ${sig(prepared.kdfMs / 1000)} s; ` +
      `${int(s.status.active)} active, ${int(s.status.expired)} expired, ${int(s.status.revoked)} revoked`,
    data: { ...s, kdfMs: prepared.kdfMs, setupMs: prepared.setupMs },
  };
}

// ---- a. revoke and list -------------------------------------------------------------------

/** Random active tokens of the ledger, picked by random id as item 2 picks them. */
function revocable(ws: Workspace, wanted: number, seed: number): string[] {
  const t = nowSecs();
  const rand = prng(seed);
  const maxId = (ws.db.prepare('SELECT max(id) AS m FROM tokens').get() as { m: number }).m;
  const byId = ws.db.prepare('SELECT jti, revoked_at, expires_at FROM tokens WHERE id = ?');
  const jtis = new Set<string>();
  for (let guard = 0; jtis.size < wanted && guard < wanted * 1000; guard++) {
    const row = byId.get(1 + Math.floor(rand() * maxId)) as { jti: string | null; revoked_at: number | null; expires_at: number } | undefined;
    if (row?.jti && row.revoked_at === null && row.expires_at >= t + 3600) jtis.add(row.jti);
  }
  if (jtis.size < wanted) throw new Error(`only ${jtis.size} revocable tokens found`);
  return [...jtis];
}

function revokes(sqlite: Workspace, pg: Workspace, sizes: PostgresSizes, log: (line: string) => void): Row[] {
  const wanted = sizes.revoke.revocations + sizes.revoke.warmup;
  const picks = [revocable(sqlite, wanted, 7), revocable(pg, wanted, 7)];
  const times: [number[], number[]] = [[], []];
  // Interleaved, so a noisy moment of the shared machine hits both engines alike.
  for (let i = 0; i < wanted; i++) {
    [sqlite, pg].forEach((ws, e) => {
      const jti = picks[e]![i]!;
      const t0 = performance.now();
      const record = revokeToken(ws, jti, 'other');
      const ms = performance.now() - t0;
      if (record.status !== 'revoked') throw new Error(`revoking ${jti} (${ENGINES[e]}) did not revoke it`);
      if (i >= sizes.revoke.warmup) times[e]!.push(ms);
    });
  }
  const [sq, pq] = times.map((t) => ({ p50: percentile(t, 50), p99: percentile(t, 99), max: max(t) }));
  log(`  revoke p99: SQLite ${sig(sq!.p99)} ms, PostgreSQL ${sig(pq!.p99)} ms`);
  const common = `${times[0].length} random active tokens per engine after ${sizes.revoke.warmup} warm-up, engines interleaved; row + audit entry, committed`;
  return [
    {
      item: `13a revoke 1 token, p99, PostgreSQL (${int(sizes.rows)} ledger)`,
      value: round(pq!.p99),
      unit: 'ms',
      figure: `${sig(pq!.p99)} ms (p50 ${sig(pq!.p50)} ms)`,
      comparedWith: `limit ${PG_REVOKE_P99_LIMIT_MS} ms (SQLite ${sig(sq!.p99)} ms)`,
      ratio: pq!.p99 / PG_REVOKE_P99_LIMIT_MS,
      target: `< ${PG_REVOKE_P99_LIMIT_MS} ms`,
      verdict: verdict(pq!.p99 < PG_REVOKE_P99_LIMIT_MS),
      notes: `${common} (audit-head advisory lock, fsync on); max ${sig(pq!.max)} ms`,
      data: { ...pq, samples: times[1].map((t) => round(t)) },
    },
    {
      item: `13a revoke 1 token, p99, SQLite (${int(sizes.rows)} ledger)`,
      value: round(sq!.p99),
      unit: 'ms',
      figure: `${sig(sq!.p99)} ms (p50 ${sig(sq!.p50)} ms)`,
      comparedWith: `limit ${REVOKE_P99_LIMIT_MS} ms (item 2's)`,
      ratio: sq!.p99 / REVOKE_P99_LIMIT_MS,
      target: `< ${REVOKE_P99_LIMIT_MS} ms`,
      verdict: verdict(sq!.p99 < REVOKE_P99_LIMIT_MS),
      notes: `${common} (synchronous=FULL); max ${sig(sq!.max)} ms`,
      data: { ...sq, samples: times[0].map((t) => round(t)) },
    },
  ];
}

function lists(sqlite: Workspace, pg: Workspace, sizes: PostgresSizes, log: (line: string) => void): Row[] {
  const t = nowSecs();
  const picks = [sqlite, pg].map((ws) => {
    // A popular service, a middling one and a rare one, by their share of the ledger (as item 3).
    const shares = ws.db
      .prepare('SELECT deployment, service, count(*) AS n FROM tokens GROUP BY deployment, service ORDER BY n DESC, deployment, service')
      .all() as { deployment: string; service: string; n: number }[];
    return [shares[0]!, shares[Math.floor(shares.length / 2)]!, shares[shares.length - 1]!];
  });
  const cases = picks.map((p) => listCases(p));
  const perCase: [Map<string, number[]>, Map<string, number[]>] = [new Map(), new Map()];
  for (let r = 0; r < sizes.list.warmup + sizes.list.repeats; r++) {
    for (let c = 0; c < cases[0]!.length; c++) {
      [sqlite, pg].forEach((ws, e) => {
        const k = cases[e]![c]!;
        const t0 = performance.now();
        const page = listTokens(ws, k.query, t);
        const ms = performance.now() - t0;
        if (page.rows.length === 0 && page.total > (k.query.offset ?? 0)) throw new Error(`${ENGINES[e]} ${k.name}: empty page`);
        if (r >= sizes.list.warmup) perCase[e]!.set(k.name, [...(perCase[e]!.get(k.name) ?? []), ms]);
      });
    }
  }
  const text: [number[], number[]] = [[], []];
  for (let r = 0; r < 2 + Math.max(3, Math.floor(sizes.list.repeats / 3)); r++) {
    [sqlite, pg].forEach((ws, e) => {
      const service = picks[e]![1]!.service;
      const t0 = performance.now();
      listTokens(ws, { filter: { text: `${service}-1` }, sort: 'issued_at', direction: 'desc', limit: 200 }, t);
      if (r >= 2) text[e]!.push(performance.now() - t0);
    });
  }
  const stats = perCase.map((m) => {
    const all = [...m.values()].flat();
    const worst = [...m.entries()].map(([name, ts]) => ({ name, median: median(ts), max: max(ts) })).sort((a, b) => b.median - a.median);
    return { p50: percentile(all, 50), p99: percentile(all, 99), worst };
  });
  const [sq, pq] = stats;
  for (const w of pq!.worst.slice(0, 5)) log(`  list PostgreSQL ${w.name}: median ${sig(w.median)} ms, max ${sig(w.max)} ms`);
  log(`  list p99: SQLite ${sig(sq!.p99)} ms, PostgreSQL ${sig(pq!.p99)} ms`);
  const common = `${cases[0]!.length} filter/sort/offset cases (offsets 0, 2,000, 20,000) × ${sizes.list.repeats} after ${sizes.list.warmup} warm-up round(s), engines interleaved case by case; 200 rows + total`;
  const textMedians = text.map((x) => median(x));
  return [
    {
      item: `13a list page, p99, PostgreSQL (${int(sizes.rows)} ledger)`,
      value: round(pq!.p99),
      unit: 'ms',
      figure: `${sig(pq!.p99)} ms (p50 ${sig(pq!.p50)} ms)`,
      comparedWith: `limit ${PG_LIST_P99_LIMIT_MS} ms (SQLite ${sig(sq!.p99)} ms)`,
      ratio: pq!.p99 / PG_LIST_P99_LIMIT_MS,
      target: `< ${PG_LIST_P99_LIMIT_MS} ms`,
      verdict: verdict(pq!.p99 < PG_LIST_P99_LIMIT_MS),
      notes: `${common}; slowest case: ${pq!.worst[0]!.name} (median ${sig(pq!.worst[0]!.median)} ms)`,
      data: { p50: pq!.p50, p99: pq!.p99, cases: pq!.worst.map((w) => ({ ...w, median: round(w.median), max: round(w.max) })) },
    },
    {
      item: `13a list page, p99, SQLite (${int(sizes.rows)} ledger)`,
      value: round(sq!.p99),
      unit: 'ms',
      figure: `${sig(sq!.p99)} ms (p50 ${sig(sq!.p50)} ms)`,
      comparedWith: `limit ${LIST_P99_LIMIT_MS} ms (item 3's)`,
      ratio: sq!.p99 / LIST_P99_LIMIT_MS,
      target: `< ${LIST_P99_LIMIT_MS} ms`,
      verdict: verdict(sq!.p99 < LIST_P99_LIMIT_MS),
      notes: `${common}; slowest case: ${sq!.worst[0]!.name} (median ${sig(sq!.worst[0]!.median)} ms)`,
      data: { p50: sq!.p50, p99: sq!.p99, cases: sq!.worst.map((w) => ({ ...w, median: round(w.median), max: round(w.max) })) },
    },
    {
      item: `13a list, free-text search, PostgreSQL (${int(sizes.rows)} ledger)`,
      value: round(textMedians[1]!),
      unit: 'ms',
      figure: `${sig(textMedians[1]!)} ms median`,
      comparedWith: `limit ${PG_LIST_P99_LIMIT_MS} ms (info; SQLite ${sig(textMedians[0]!)} ms)`,
      ratio: textMedians[1]! / PG_LIST_P99_LIMIT_MS,
      target: 'info: scans by design',
      verdict: 'info',
      notes: 'substring of jti/subject/container (ILIKE on PostgreSQL); token-ledger.ts says this filter scans',
      data: { postgres: text[1].map((x) => round(x)), sqlite: text[0].map((x) => round(x)) },
    },
  ];
}

// ---- b. cross-console visibility ----------------------------------------------------------

async function visibility(ws: Workspace, ledger: Ledger, sizes: PostgresSizes, log: (line: string) => void): Promise<Row[]> {
  const jtis = revocableJtis(ws, sizes.visibility.revokes);
  const args = ledger.database === undefined ? [REVOKER, ledger.dir] : [REVOKER, ledger.dir, ledger.database];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let measured: { ticks: number[]; latencies: number[] };
  try {
    measured = await measureVisibility(ws, child, jtis, { tickSamples: 1000, seed: 13, what: ledger.engine });
  } finally {
    child.stdin!.end();
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
  }
  const { ticks, latencies } = measured;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const tickP99 = percentile(ticks, 99);
  log(`  visibility ${ledger.engine}: p50 ${sig(p50)} ms, p99 ${sig(p99)} ms over ${latencies.length}; tick p99 ${sig(tickP99)} µs`);
  const out: Row[] = [
    {
      item: `13b cross-console revocation visibility p99, ${ledger.engine} (${int(sizes.rows)} ledger)`,
      value: round(p99),
      unit: 'ms',
      figure: `${sig(p99)} ms (p50 ${sig(p50)} ms)`,
      comparedWith: `limit ${VISIBILITY_P99_LIMIT_MS} ms`,
      ratio: p99 / VISIBILITY_P99_LIMIT_MS,
      target: `< ${VISIBILITY_P99_LIMIT_MS} ms`,
      verdict: verdict(p99 < VISIBILITY_P99_LIMIT_MS),
      notes:
        `revoke committed by another process with its own Workspace → this console's watcher (change-feed.ts, 50 ms ticks: SQLite reads the audit head each tick, PostgreSQL only after a NOTIFY or once a second) reports it; ` +
        `${latencies.length} revokes at random phases; max ${sig(max(latencies))} ms`,
      data: { p50, p99, latencies: latencies.map((l) => round(l)) },
    },
  ];
  if (ledger.engine === 'PostgreSQL') {
    out.push({
      item: '13b watcher tick, nothing changed, PostgreSQL (p99)',
      value: round(tickP99),
      unit: 'µs',
      figure: `${sig(tickP99)} µs (p50 ${sig(percentile(ticks, 50))} µs)`,
      comparedWith: 'main-thread budget 50 ms',
      ratio: tickP99 / 1000 / 50,
      target: 'info',
      verdict: 'info',
      notes: `${ticks.length} ticks; p50 ${sig(percentile(ticks, 50))} µs; one indexed read of the audit head, a round trip to the server through pg-sync.ts (what a tick costs when it reads; with NOTIFY most ticks read nothing)`,
    });
  }
  return out;
}

// ---- c. four admins -----------------------------------------------------------------------

interface AdminReport {
  user: string;
  mints: number;
  revokes: number;
  ops: number;
  started: number;
  ended: number;
  latencies: number[];
  errors: Record<string, number>;
}

interface AdminsResult {
  reports: AdminReport[];
  seconds: number;
  ops: number;
  entriesAdded: number;
  chain: { ok: boolean; count: number; reason?: string | null };
  authenticated: { ok: boolean; reason: string | null };
}

async function fourAdmins(dir: string, database: string | undefined, sizes: PostgresSizes, log: (line: string) => void): Promise<AdminsResult> {
  const engine: Engine = database === undefined ? 'SQLite' : 'PostgreSQL';
  const prepared = await prepareWorkspace(dir, database);
  const wsDir = prepared.dir;
  const entriesBefore = (prepared.ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  prepared.ws.close();

  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const outputs: Promise<string>[] = [];
  try {
    for (let a = 0; a < sizes.admins.admins; a++) {
      const { deployment, service } = SERVICES[(a * 7) % SERVICES.length]!;
      const child = spawn(process.execPath, [ADMIN, wsDir, database ?? '-', `admin-${a + 1}`, deployment, service], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      const lines = readline.createInterface({ input: child.stdout! });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      ready.push(
        new Promise<void>((resolve, reject) => {
          lines.on('line', (l) => {
            if (l === 'ready') resolve();
          });
          void exited.then(() => reject(new Error(`admin ${a + 1} (${engine}) exited before it was ready`)));
        }),
      );
      outputs.push(
        new Promise<string>((resolve, reject) => {
          const got: string[] = [];
          lines.on('line', (l) => got.push(l));
          void exited.then((code) => (code === 0 ? resolve(got.join('\n')) : reject(new Error(`admin ${a + 1} (${engine}) exited with ${code}`))));
        }),
      );
      // A failure before the results are awaited is reported there, not as an unhandled rejection.
      outputs[a]!.catch(() => {});
    }
    // Everyone opened and unlocked (scrypt) before the clock starts.
    await Promise.all(ready);
    const deadline = now() + 200 + sizes.admins.seconds * 1000;
    for (const c of children) c.stdin!.write(`go ${deadline}\n`);
    const reports = (await Promise.all(outputs)).map((text) => {
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) throw new Error(`an admin (${engine}) printed no result`);
      return JSON.parse(line) as AdminReport;
    });
    const first = Math.min(...reports.map((r) => r.started));
    const last = Math.max(...reports.map((r) => r.ended));
    const seconds = (last - first) / 1000;
    const ops = reports.reduce((n, r) => n + r.ops, 0);

    // Afterwards: the whole log, chain and MACs, and nothing lost or added.
    const ws = Workspace.open(wsDir, database === undefined ? { actor: ACTOR } : { actor: ACTOR, database });
    try {
      ws.vault.unlockWithPassphrase(PASSPHRASE);
      const chain = ws.audit.verify();
      const auth = ws.integrity.verifyAudit();
      const entriesAdded = chain.count - entriesBefore;
      log(
        `  four admins ${engine}: ${int(ops)} ops in ${sig(seconds)} s = ${sig(ops / seconds)} ops/s; ` +
          `chain ${chain.ok ? 'ok' : `BROKEN (${chain.reason})`}, MACs ${auth.ok ? 'ok' : `FAIL (${auth.reason})`}, ${int(entriesAdded)} entries added`,
      );
      return {
        reports,
        seconds,
        ops,
        entriesAdded,
        chain: { ok: chain.ok, count: chain.count, reason: chain.ok ? null : chain.reason },
        authenticated: { ok: auth.ok, reason: auth.reason },
      };
    } finally {
      ws.close();
    }
  } finally {
    for (const c of children) {
      c.stdin!.end();
      if (c.exitCode === null && c.signalCode === null) c.kill();
    }
  }
}

function adminRows(results: { engine: Engine; result: AdminsResult }[], sizes: PostgresSizes): Row[] {
  const sqliteRate = results.find((r) => r.engine === 'SQLite')!.result;
  return results.map(({ engine, result: r }) => {
    const rate = r.ops / r.seconds;
    const all = r.reports.flatMap((x) => x.latencies);
    const errors = r.reports.flatMap((x) => Object.entries(x.errors));
    const errorCount = errors.reduce((n, [, c]) => n + c, 0);
    const intact = r.chain.ok && r.authenticated.ok && r.entriesAdded === r.ops;
    const why = intact
      ? ''
      : !r.chain.ok
        ? `: ${r.chain.reason}`
        : !r.authenticated.ok
          ? `: ${r.authenticated.reason}`
          : `: ${r.entriesAdded} entries added for ${r.ops} operations`;
    const other = engine === 'PostgreSQL' ? `; SQLite, same work: ${sig(sqliteRate.ops / sqliteRate.seconds)} ops/s` : '';
    return {
      item: `13c ${sizes.admins.admins} concurrent admins, ${engine}: committed operations/s, chain intact`,
      value: round(rate, 1),
      unit: 'ops/s',
      figure: `${sig(rate)} ops/s, chain intact: ${intact ? 'yes' : 'no'}`,
      comparedWith: `chain intact + every operation recorded${other}`,
      ratio: null,
      target: 'chain intact',
      verdict: verdict(intact),
      notes:
        `${sizes.admins.admins} processes × ${sig(r.seconds)} s, each its own Workspace, alternating mintToken / revokeToken (one write transaction each): ` +
        r.reports.map((x) => `${x.user} ${int(x.ops)}`).join(', ') +
        `; per operation p50 ${sig(percentile(all, 50))} ms, p99 ${sig(percentile(all, 99))} ms; ` +
        `audit: ${int(r.chain.count)} entries, ${int(r.entriesAdded)} added for ${int(r.ops)} operations, chain ${r.chain.ok ? 'ok' : 'broken'}, MACs + seal ${r.authenticated.ok ? 'ok' : 'failed'}${why}` +
        (errorCount > 0 ? `; ${errorCount} operation(s) refused: ${errors.map(([m, c]) => `${c}× ${m}`).join('; ')}` : '; no operation refused'),
      data: {
        seconds: r.seconds,
        ops: r.ops,
        perAdmin: r.reports.map((x) => ({ user: x.user, mints: x.mints, revokes: x.revokes, errors: x.errors })),
        p50: percentile(all, 50),
        p99: percentile(all, 99),
        chain: r.chain,
        authenticated: r.authenticated,
        entriesAdded: r.entriesAdded,
      },
    };
  });
}

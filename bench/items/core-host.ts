/**
 * Item 12 (issue 14, point 2): the Electron main process never blocks on storage. On the large
 * ledger (1,000,000 rows in a full run) the main thread's longest task is measured while the core
 * worker host (electron/core/ipc/core-host.ts: the app router in a worker thread, as the shell
 * runs it) answers:
 *  - tokens:list, the default page (no filter, issued_at desc, 200 rows);
 *  - tokens:list, a filtered page (one deployment, active, expires_at desc);
 *  - tokens:list, a text search (a jti prefix, as the command palette types it: it scans every row);
 *  - tokens:revoke of one active token (row + audit entry, committed);
 *  - tokens:revokeBulk of every active token that can read deployments (about four in five active
 *    tokens: ~170,000 in a full run).
 * The longest task is the event-loop ACTIVE time between two 1 ms ticks (unlock.ts `watched`):
 * what the window's IPC, menus and repaint requests would have waited for. Limit 50 ms.
 *
 * The peer, in the same run and interleaved: the in-thread router (what the shell ran before) on a
 * copy of the same ledger file, the same requests, so both sides do exactly the same work.
 */
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { createAppRouter } from '../../electron/core/ipc/app-router.ts';
import { startCoreHost } from '../../electron/core/ipc/core-host.ts';
import type { Router } from '../../electron/core/ipc/ipc-router.ts';
import { nowSecs } from '../../electron/core/tokens/signing-keys.ts';
import { memorySettings } from '../../electron/core/workspace/settings.ts';
import { ACTOR, reopen } from '../lib/fixtures.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, max, median, round, sig } from '../lib/stats.ts';
import { watched, type Attempt } from './unlock.ts';

export const MAIN_THREAD_BLOCK_LIMIT_MS = 50;
const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
/** Selects about four in five active tokens of the bench ledger (bench/lib/fixtures.ts policies). */
const BULK_GRANTS = 'deployment:read';
const WORKER = new URL('../../electron/core/ipc/core-worker.ts', import.meta.url);

export interface CoreHostSizes {
  /** Times each list and single revoke runs per side. */
  repeats: number;
}

interface Op {
  name: string;
  /** What the row says the operation did. */
  run: (router: Router, side: 'host' | 'peer') => Promise<string>;
}

function expectOk(channel: string, answer: Envelope<unknown>): unknown {
  if (!answer.ok) throw new Error(`${channel} failed: ${answer.error.code} ${answer.error.message}`);
  return answer.data;
}

export async function benchCoreHost(dir: string, ledgerRows: number, sizes: CoreHostSizes, log: (line: string) => void): Promise<Row[]> {
  // Each side gets the same ledger: the peer a copy of the file, so both do exactly the same work.
  const peerDir = `${dir}-peer`;
  const c0 = performance.now();
  fs.cpSync(dir, peerDir, { recursive: true });
  log(`  copied the ledger for the in-thread peer in ${sig((performance.now() - c0) / 1000)} s`);
  // The peer's connection, opened as the app opened it; also picks what to revoke.
  const ws = reopen(peerDir);
  const now = nowSecs();
  const deployment = (ws.db.prepare('SELECT deployment FROM tokens GROUP BY deployment ORDER BY count(*) DESC LIMIT 1').get() as { deployment: string }).deployment;
  // Single revokes: the same active tokens on both sides (before the bulk revoke below).
  const singles = (
    ws.db
      .prepare('SELECT jti FROM tokens WHERE revoked_at IS NULL AND expires_at >= ? AND jti IS NOT NULL ORDER BY id LIMIT ?')
      .all(now + 3600, sizes.repeats) as { jti: string }[]
  ).map((r) => r.jti);
  // A jti prefix, as the command palette searches: one match, so the search reads every row.
  const textNeedle = (ws.db.prepare('SELECT jti FROM tokens WHERE jti IS NOT NULL AND id = (SELECT max(id) / 2 FROM tokens)').get() as { jti: string }).jti.slice(0, 13);

  const peer = createAppRouter({
    allowedOrigins: [ORIGIN],
    services: {
      workspace: () => ws,
      dialogs: { openFiles: () => Promise.resolve(null), saveFile: () => Promise.resolve(null) },
      settings: memorySettings(),
      info: () => ({ appName: 'Castellan', appVersion: 'bench', workspacePath: peerDir, platform: process.platform, versions: { node: process.versions.node, electron: 'bench', chrome: 'bench' } }),
    },
    log: () => undefined,
  });
  const host = startCoreHost({
    worker: WORKER,
    workspacePath: dir,
    allowedOrigins: [ORIGIN],
    info: { appName: 'Castellan', appVersion: 'bench', workspacePath: dir, platform: process.platform, versions: { node: process.versions.node, electron: 'bench', chrome: 'bench' } },
    dialogs: { openFiles: () => Promise.resolve(null), saveFile: () => Promise.resolve(null) },
    settings: memorySettings(),
    actor: ACTOR,
    log: (line) => log(`  worker: ${line}`),
  });

  try {
    // The worker opens the workspace on its first request (as the app does at start): outside the measurement.
    const t0 = performance.now();
    expectOk('vault:status', await host.dispatch('vault:status', SENDER, {}));
    log(`  core worker started and opened the workspace in ${sig(performance.now() - t0)} ms`);

    const list = (name: string, query: Record<string, unknown>): Op => ({
      name,
      run: async (router) => {
        const data = expectOk('tokens:list', await router.dispatch('tokens:list', SENDER, query)) as { rows: unknown[]; total: number };
        return `${data.rows.length} of ${int(data.total)} rows`;
      },
    });
    const single = { host: 0, peer: 0 };
    const ops: Op[] = [
      list('tokens:list, default page', { limit: 200 }),
      list('tokens:list, filtered page', { filter: { deployment, status: 'active' }, sort: 'expires_at', direction: 'desc', limit: 200 }),
      list(`tokens:list, text search "${textNeedle}"`, { filter: { text: textNeedle }, limit: 200 }),
      {
        name: 'tokens:revoke, one token',
        run: async (router, side) => {
          const jti = singles[single[side]++];
          if (jti === undefined) throw new Error('ran out of active tokens to revoke');
          const data = expectOk('tokens:revoke', await router.dispatch('tokens:revoke', SENDER, { jti, reason: 'other' })) as { status: string };
          return data.status;
        },
      },
    ];
    // The peer's connection lives on this thread; after its commits it checkpoints the WAL on an idle
    // timer (workspace.ts), which would land in whichever window comes next — under the worker's
    // writes, 800 ms of it once. In the app this thread holds no connection: each window starts
    // with that checkpoint done.
    const settle = (): void => void ws.checkpoint();
    const results = new Map<string, { host: Attempt[]; peer: Attempt[] }>();
    const record = (name: string, side: 'host' | 'peer', a: Attempt) => {
      const r = results.get(name) ?? { host: [], peer: [] };
      r[side].push(a);
      results.set(name, r);
    };
    // Interleaved: host, peer, host, peer… for each operation.
    for (const op of ops) {
      for (let i = 0; i < sizes.repeats; i++) {
        for (const side of ['host', 'peer'] as const) {
          const router: Router = side === 'host' ? host : peer;
          settle();
          const a = await watched(side, () => op.run(router, side));
          record(op.name, side, a);
        }
        await sleep(20);
      }
      const r = results.get(op.name)!;
      log(
        `  ${op.name}: worker ${sig(median(r.host.map((a) => a.ms)))} ms, main thread's longest task ${sig(max(r.host.map((a) => a.blockMs)))} ms; ` +
          `in-thread ${sig(median(r.peer.map((a) => a.ms)))} ms, longest task ${sig(max(r.peer.map((a) => a.blockMs)))} ms (${r.host[0]!.outcome})`,
      );
    }
    // The bulk revoke, once per side, the same filter on the same data: every active token that can read deployments.
    const bulkName = `tokens:revokeBulk, grants ${BULK_GRANTS}`;
    for (const side of ['host', 'peer'] as const) {
      const router: Router = side === 'host' ? host : peer;
      settle();
      const a = await watched(side, async () => {
        const data = expectOk(
          'tokens:revokeBulk',
          await router.dispatch('tokens:revokeBulk', SENDER, { filter: { grants: BULK_GRANTS }, reason: 'superseded', dry_run: false }),
        ) as { count: number };
        return `${int(data.count)} revoked`;
      });
      record(bulkName, side, a);
      await sleep(20);
    }
    const b = results.get(bulkName)!;
    log(
      `  ${bulkName}: worker ${sig(b.host[0]!.ms)} ms (${b.host[0]!.outcome}), main thread's longest task ${sig(b.host[0]!.blockMs)} ms; ` +
        `in-thread ${sig(b.peer[0]!.ms)} ms (${b.peer[0]!.outcome}), longest task ${sig(b.peer[0]!.blockMs)} ms`,
    );

    const rows: Row[] = [];
    const allHost: Attempt[] = [];
    for (const [name, r] of results) {
      allHost.push(...r.host);
      const hostBlock = max(r.host.map((a) => a.blockMs));
      const peerBlock = max(r.peer.map((a) => a.blockMs));
      rows.push({
        item: `12 main thread's longest task: ${name} (${int(ledgerRows)} ledger)`,
        value: round(hostBlock),
        unit: 'ms',
        figure: `${sig(hostBlock)} ms`,
        comparedWith: `limit ${MAIN_THREAD_BLOCK_LIMIT_MS} ms (in-thread router: ${sig(peerBlock)} ms)`,
        ratio: hostBlock / MAIN_THREAD_BLOCK_LIMIT_MS,
        target: `< ${MAIN_THREAD_BLOCK_LIMIT_MS} ms`,
        verdict: verdict(hostBlock < MAIN_THREAD_BLOCK_LIMIT_MS),
        notes:
          `${r.host.length} run(s) per side, interleaved; ${r.host[0]!.outcome} (in-thread: ${r.peer[0]!.outcome}); ` +
          `answer time through the worker ${sig(median(r.host.map((a) => a.ms)))} ms, in-thread ${sig(median(r.peer.map((a) => a.ms)))} ms; ` +
          `longest tick gap (wall clock, includes OS scheduling) ${sig(max(r.host.map((a) => a.gapMs)))} ms vs ${sig(max(r.peer.map((a) => a.gapMs)))} ms`,
        data: {
          host: r.host.map((a) => ({ ms: round(a.ms), blockMs: round(a.blockMs), busiestCpuMs: round(a.busiestCpuMs), cpuMs: round(a.cpuMs), gapMs: round(a.gapMs), outcome: a.outcome })),
          peer: r.peer.map((a) => ({ ms: round(a.ms), blockMs: round(a.blockMs), busiestCpuMs: round(a.busiestCpuMs), cpuMs: round(a.cpuMs), gapMs: round(a.gapMs), outcome: a.outcome })),
        },
      });
    }
    const worst = max(allHost.map((a) => a.blockMs));
    const worstPeer = max([...results.values()].flatMap((r) => r.peer.map((a) => a.blockMs)));
    rows.unshift({
      item: `12 main thread's longest task, all of list/revoke/bulk through the core worker (${int(ledgerRows)} ledger)`,
      value: round(worst),
      unit: 'ms',
      figure: `${sig(worst)} ms`,
      comparedWith: `limit ${MAIN_THREAD_BLOCK_LIMIT_MS} ms (in-thread router: ${sig(worstPeer)} ms)`,
      ratio: worst / MAIN_THREAD_BLOCK_LIMIT_MS,
      target: `< ${MAIN_THREAD_BLOCK_LIMIT_MS} ms`,
      verdict: verdict(worst < MAIN_THREAD_BLOCK_LIMIT_MS),
      notes:
        `event-loop active time between 1 ms ticks on the thread that relays IPC; load average ${os.loadavg()[0]!.toFixed(1)} ` +
        `on ${os.availableParallelism()} cores at the end`,
    });
    return rows;
  } finally {
    await host.close();
    ws.close();
    fs.rmSync(peerDir, { recursive: true, force: true });
  }
}

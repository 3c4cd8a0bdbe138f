/**
 * Item 8: an unlock never blocks the app's main process. Five wrong passphrases, then the right
 * one, go through the real app router's `vault:unlock` handler (the async vault path: scrypt on
 * libuv's threadpool) on a workspace with the real default scrypt cost (N=2^17, r=8, p=1). A 1 ms
 * interval ticker watches the event loop during each attempt and records, between each two ticks:
 *  - the loop's ACTIVE time (`performance.eventLoopUtilization`): how long our code held the
 *    thread before the due tick could run. Its maximum is the figure compared with the 50 ms limit.
 *  - the wall-clock gap. On a shared, overloaded machine (this one runs at load 10+ on 2 cores)
 *    the OS also deschedules an idle process for tens of milliseconds; that shows in the gap but
 *    not in the active time. So the gap is reported beside an idle baseline — the same ticker with
 *    nothing running, interleaved before every attempt — and `monitorEventLoopDelay`'s maximum.
 *
 * The peer, in the same run: the synchronous `unlockWithPassphrase` (scryptSync on the calling
 * thread, what the handler used before), one wrong and one right passphrase, measured the same way.
 *
 * From the fourth wrong passphrase the throttle answers "try again in N s" at once; the bench
 * waits the window out (1 s, then 2 s) and tries again, and those immediate refusals are measured
 * too. Waiting is outside every measured window.
 */
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { createAppRouter } from '../../electron/core/ipc/app-router.ts';
import { memorySettings } from '../../electron/core/workspace/settings.ts';
import { DEFAULT_SCRYPT_COST } from '../../electron/core/workspace/vault.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { verdict, type Row } from '../lib/report.ts';
import { max, round, sig } from '../lib/stats.ts';

export const UNLOCK_BLOCK_LIMIT_MS = 50;
const PASSPHRASE = 'castellan bench passphrase';
const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };

export interface Attempt {
  what: string;
  outcome: string;
  /** Wall time of the attempt. */
  ms: number;
  /** Longest stretch of event-loop ACTIVE time between two 1 ms ticks while it ran. */
  blockMs: number;
  /** Main-thread CPU time inside that busiest stretch (the rest was waiting: fsync, or descheduled). */
  busiestCpuMs: number;
  /** Longest main-thread CPU time between two ticks (process.threadCpuUsage). */
  cpuMs: number;
  /** Longest wall-clock gap between 1 ms ticks while it ran, minus the 1 ms interval. */
  gapMs: number;
  /** monitorEventLoopDelay's maximum while it ran. */
  histogramMaxMs: number;
}

/** Runs `fn` while a 1 ms ticker and the event-loop-delay histogram watch the loop. */
export async function watched(what: string, fn: () => Promise<string>): Promise<Attempt> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let lastElu = performance.eventLoopUtilization();
  let lastCpu = process.threadCpuUsage();
  let longest = 0;
  let busiest = 0;
  let busiestCpu = 0;
  let mostCpu = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    const cpu = process.threadCpuUsage();
    const active = performance.eventLoopUtilization(elu, lastElu).active;
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    longest = Math.max(longest, now - last);
    if (active > busiest) {
      busiest = active;
      busiestCpu = cpuMs;
    }
    mostCpu = Math.max(mostCpu, cpuMs);
    last = now;
    lastElu = elu;
    lastCpu = cpu;
  }, 1);
  // Let the ticker start, so the first gap is measured from a real tick.
  await sleep(5);
  histogram.enable();
  last = performance.now();
  lastElu = performance.eventLoopUtilization();
  lastCpu = process.threadCpuUsage();
  longest = 0;
  busiest = 0;
  busiestCpu = 0;
  mostCpu = 0;
  const t0 = performance.now();
  let outcome: string;
  try {
    outcome = await fn();
  } finally {
    // One more tick after the attempt ends, so a block at its very end is seen.
    await sleep(5);
    clearInterval(ticker);
    histogram.disable();
  }
  const ms = performance.now() - t0;
  return {
    what,
    outcome,
    ms,
    blockMs: busiest,
    busiestCpuMs: busiestCpu,
    cpuMs: mostCpu,
    gapMs: Math.max(0, longest - 1),
    histogramMaxMs: histogram.max / 1e6,
  };
}

function describe(answer: Envelope<unknown>): string {
  return answer.ok ? 'unlocked' : answer.error.message;
}

function throttledFor(message: string): number | null {
  const m = /try again in (\d+) s/.exec(message);
  return m ? Number(m[1]) : null;
}

export async function benchUnlock(root: string, log: (line: string) => void): Promise<Row[]> {
  const ws = Workspace.open(path.join(root, 'unlock', 'workspace'), { actor: { user: 'bench', kind: 'app' } });
  try {
    const k0 = performance.now();
    ws.vault.initialize(PASSPHRASE);
    const kdfMs = performance.now() - k0;
    ws.vault.lock();
    const router = createAppRouter({
      allowedOrigins: [ORIGIN],
      services: {
        workspace: () => ws,
        dialogs: {
          openFiles: () => Promise.resolve(null),
          saveFile: () => Promise.resolve(null),
        },
        settings: memorySettings(),
        info: () => ({
          appName: 'Castellan',
          appVersion: 'bench',
          workspacePath: ws.dir,
          platform: process.platform,
          versions: { node: process.versions.node, electron: 'bench', chrome: 'bench' },
        }),
      },
      log: () => undefined,
    });
    const unlock = async (passphrase: string): Promise<string> =>
      describe(await router.dispatch('vault:unlock', SENDER, { passphrase }, () => undefined));

    const attempts: Attempt[] = [];
    const idle: Attempt[] = [];
    const idleWindow = async (): Promise<void> => {
      idle.push(await watched('idle', () => sleep(500).then(() => 'idle')));
    };
    const guesses = [1, 2, 3, 4, 5].map((i) => `wrong guess number ${i}`);
    for (const [i, passphrase] of [...guesses, PASSPHRASE].entries()) {
      const label = i < guesses.length ? `wrong ${i + 1}` : 'right';
      for (;;) {
        await idleWindow();
        const a = await watched(label, () => unlock(passphrase));
        attempts.push(a);
        log(
          `  async ${label}: ${a.outcome} in ${sig(a.ms)} ms; longest busy stretch ${sig(a.blockMs)} ms ` +
            `(CPU ${sig(a.busiestCpuMs)} ms; most CPU between ticks ${sig(a.cpuMs)} ms), ` +
            `longest tick gap ${sig(a.gapMs)} ms (idle just before: ${sig(idle.at(-1)!.gapMs)} ms)`,
        );
        const wait = throttledFor(a.outcome);
        if (wait === null) break;
        await sleep(wait * 1000 + 50);
      }
    }
    if (!ws.vault.unlocked) throw new Error('the right passphrase did not unlock the vault through vault:unlock');
    ws.vault.lock();

    const sync: Attempt[] = [];
    for (const [label, passphrase] of [
      ['wrong', 'a wrong passphrase for the sync path'],
      ['right', PASSPHRASE],
    ] as const) {
      const a = await watched(`sync ${label}`, async () => {
        // setImmediate so the ticker has run once before the synchronous call takes the thread.
        await new Promise((resolve) => setImmediate(resolve));
        try {
          ws.vault.unlockWithPassphrase(passphrase);
          return 'unlocked';
        } catch (err) {
          return (err as Error).message;
        }
      });
      sync.push(a);
      log(`  sync ${label}: ${a.outcome} in ${sig(a.ms)} ms; longest busy stretch ${sig(a.blockMs)} ms, tick gap ${sig(a.gapMs)} ms`);
    }

    const longest = max(attempts.map((a) => a.blockMs));
    const syncLongest = max(sync.map((a) => a.blockMs));
    const gap = max(attempts.map((a) => a.gapMs));
    const worst = attempts.find((a) => a.blockMs === longest)!;
    const cpuLongest = max(attempts.map((a) => a.cpuMs));
    const idleGap = max(idle.map((a) => a.gapMs));
    const scrypts = attempts.filter((a) => throttledFor(a.outcome) === null);
    const cost = `N=2^${Math.log2(DEFAULT_SCRYPT_COST.N)}, r=${DEFAULT_SCRYPT_COST.r}, p=${DEFAULT_SCRYPT_COST.p}`;
    const data = {
      kdfInitializeMs: round(kdfMs),
      attempts: attempts.map((a) => ({ ...a, ms: round(a.ms), blockMs: round(a.blockMs), histogramMaxMs: round(a.histogramMaxMs) })),
      sync: sync.map((a) => ({ ...a, ms: round(a.ms), blockMs: round(a.blockMs), histogramMaxMs: round(a.histogramMaxMs) })),
      idle: idle.map((a) => ({ gapMs: round(a.gapMs), blockMs: round(a.blockMs), histogramMaxMs: round(a.histogramMaxMs) })),
    };
    return [
      {
        item: '9 unlock: longest main-loop busy stretch (async, 5 wrong + 1 right)',
        value: round(longest),
        unit: 'ms',
        figure: `${sig(longest)} ms`,
        comparedWith: `limit ${UNLOCK_BLOCK_LIMIT_MS} ms (sync path: ${sig(syncLongest)} ms)`,
        ratio: longest / UNLOCK_BLOCK_LIMIT_MS,
        target: `< ${UNLOCK_BLOCK_LIMIT_MS} ms`,
        verdict: verdict(longest < UNLOCK_BLOCK_LIMIT_MS),
        notes:
          `vault:unlock through the app router, scrypt ${cost}; ${attempts.length} attempts ` +
          `(${scrypts.length} ran scrypt, median ${sig(scrypts.map((a) => a.ms).sort((x, y) => x - y)[Math.floor(scrypts.length / 2)]!)} ms each; ` +
          `${attempts.length - scrypts.length} answered at once by the throttle); ` +
          `event-loop-delay histogram max ${sig(max(attempts.map((a) => a.histogramMaxMs)))} ms; ` +
          `the busiest stretch (${worst.what}) used ${sig(worst.busiestCpuMs)} ms of main-thread CPU, the rest was waiting`,
        data,
      },
      {
        item: '9 unlock: longest main-thread CPU stretch (async path)',
        value: round(cpuLongest),
        unit: 'ms',
        figure: `${sig(cpuLongest)} ms`,
        comparedWith: `limit ${UNLOCK_BLOCK_LIMIT_MS} ms`,
        ratio: cpuLongest / UNLOCK_BLOCK_LIMIT_MS,
        target: 'info',
        verdict: 'info',
        notes:
          'CPU time of the main thread between two 1 ms ticks (process.threadCpuUsage): the work our code does on ' +
          'the loop, without the waits (fsync of the audit commit) or the time the OS gave other processes',
      },
      {
        item: '9 unlock: longest tick gap, wall clock (async path)',
        value: round(gap),
        unit: 'ms',
        figure: `${sig(gap)} ms`,
        comparedWith: `idle baseline ${sig(idleGap)} ms (same ticker, nothing running, interleaved)`,
        ratio: idleGap > 0 ? gap / idleGap : null,
        target: 'info',
        verdict: 'info',
        notes:
          `the wall-clock gap also counts time the OS ran other processes (load average ${os.loadavg()[0]!.toFixed(1)} ` +
          `on ${os.availableParallelism()} cores now); the busy stretch above is the part the event loop spent working`,
      },
      {
        item: '9 unlock: longest main-loop busy stretch, sync path (peer)',
        value: round(syncLongest),
        unit: 'ms',
        figure: `${sig(syncLongest)} ms`,
        comparedWith: `async path ${sig(longest)} ms`,
        ratio: syncLongest > 0 ? longest / syncLongest : null,
        target: 'info',
        verdict: 'info',
        notes: `unlockWithPassphrase (scryptSync on the calling thread), one wrong and one right passphrase: the whole derivation blocks the loop`,
      },
    ];
  } finally {
    ws.close();
  }
}

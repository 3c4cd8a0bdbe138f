/**
 * Castellan's benchmarks: `npm run bench` (= `node bench/run.ts`).
 *
 * Every speed and memory target is measured against a fixed limit or against a peer measured in
 * the same run (interleaved where it can be), warm-up excluded, the MEDIAN (or the stated
 * percentile) of several runs reported. Prints a table — item | figure | compared with |
 * ratio/limit | result — and writes bench/results/latest.json with the machine and every figure.
 *
 *   node bench/run.ts                 everything, full sizes (1,000,000-row ledger)
 *   node bench/run.ts --only 1,3      some items (1 mint, 2 revoke, 3 list, 4 open, 5 CSR, 6 CRL, 7 page, 8 CLI start, 9 unlock, 10 serve,
 *                                     11 cross-console visibility, 12 main thread during storage work,
 *                                     13 PostgreSQL team mode beside SQLite: its own throwaway cluster)
 *   node bench/run.ts --quick         smaller sizes, for developing the benchmarks (verdicts indicative only)
 *   node bench/run.ts --keep          keep the temp workspaces (their folder is printed)
 *
 * Exit status: 0 when every benchmark ran, whether or not its target was met (the table says), or
 * could not run for want of a tool it says (NOT RUN: item 13 without PostgreSQL); 1 when a
 * benchmark crashed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { benchChanges, type ChangesSizes } from './items/changes.ts';
import { benchCliStart } from './items/cli-start.ts';
import { benchCoreHost, type CoreHostSizes } from './items/core-host.ts';
import { benchList, benchRevoke } from './items/ledger.ts';
import { benchMint, benchMintIntoLedger } from './items/mint.ts';
import { benchFirstOpen, benchOpen } from './items/open.ts';
import { benchPage } from './items/page.ts';
import { benchPostgres, POSTGRES_FULL, POSTGRES_QUICK, type PostgresSizes } from './items/postgres.ts';
import { benchCrl, benchCsr } from './items/pki.ts';
import { benchUnlock } from './items/unlock.ts';
import { benchServe, SERVE_FULL, SERVE_QUICK, type ServeSizes } from './items/serve.ts';
import { ensureChromium, ensurePythonPeer, ensureRendererBuild, machineInfo, REPO_ROOT } from './lib/env.ts';
import { prepareWorkspace, tempRoot, type PreparedWorkspace } from './lib/fixtures.ts';
import { seedLedger, type SeedResult } from './lib/ledger.ts';
import { formatTable, type Row } from './lib/report.ts';
import { int, round, sig } from './lib/stats.ts';

const ITEMS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
type Item = (typeof ITEMS)[number];

interface Sizes {
  ledgerRows: number;
  ledgerRealMint: number;
  pageRows: number;
  pageRealMint: number;
  mint: { batch: number; runs: number; rawRounds: number };
  revoke: { revocations: number; warmup: number };
  list: { repeats: number; warmup: number };
  open: { runs: number };
  csr: { csrs: number; runs: number };
  crl: { sizes: [number, number]; runs: number; peerRuns: [number, number] };
  page: { loads: number; keystrokes: number; scrollRows: number };
  cli: { runs: number };
  serve: ServeSizes;
  changes: ChangesSizes;
  coreHost: CoreHostSizes;
  postgres: PostgresSizes;
}

const FULL: Sizes = {
  ledgerRows: 1_000_000,
  ledgerRealMint: 10_000,
  pageRows: 100_000,
  pageRealMint: 2_000,
  mint: { batch: 10_000, runs: 5, rawRounds: 3 },
  revoke: { revocations: 500, warmup: 20 },
  list: { repeats: 10, warmup: 1 },
  open: { runs: 5 },
  csr: { csrs: 500, runs: 5 },
  crl: { sizes: [10_000, 100_000], runs: 5, peerRuns: [3, 2] },
  page: { loads: 5, keystrokes: 6, scrollRows: 10_000 },
  cli: { runs: 10 },
  serve: SERVE_FULL,
  changes: { rows: 100_000, revokes: 200 },
  coreHost: { repeats: 5 },
  postgres: POSTGRES_FULL,
};

const QUICK: Sizes = {
  ledgerRows: 100_000,
  ledgerRealMint: 2_000,
  pageRows: 20_000,
  pageRealMint: 1_000,
  mint: { batch: 2_000, runs: 3, rawRounds: 3 },
  revoke: { revocations: 100, warmup: 10 },
  list: { repeats: 3, warmup: 1 },
  open: { runs: 3 },
  csr: { csrs: 100, runs: 3 },
  crl: { sizes: [10_000, 100_000], runs: 3, peerRuns: [2, 1] },
  page: { loads: 3, keystrokes: 4, scrollRows: 2_000 },
  cli: { runs: 5 },
  serve: SERVE_QUICK,
  changes: { rows: 10_000, revokes: 50 },
  coreHost: { repeats: 3 },
  postgres: POSTGRES_QUICK,
};

function parseArgs(argv: string[]): { only: Set<Item>; quick: boolean; keep: boolean } {
  let only = new Set<Item>(ITEMS);
  let quick = false;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--keep') keep = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      const picked = (list ?? '').split(',').map((s) => Number(s.trim()));
      if (picked.length === 0 || picked.some((n) => !(ITEMS as readonly number[]).includes(n))) {
        throw new Error(`--only takes item numbers from 1 to ${ITEMS.length}, e.g. --only 1,3 (got ${JSON.stringify(list)})`);
      }
      only = new Set(picked as Item[]);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node bench/run.ts [--only 1,3] [--quick] [--keep]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}; usage: node bench/run.ts [--only 1,3] [--quick] [--keep]`);
  }
  return { only, quick, keep };
}

const started = performance.now();
const stamp = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const log = (line: string): void => {
  process.stdout.write(`[${stamp()}] ${line}\n`);
};

function seedRow(what: string, rows: number, s: SeedResult, prepared: PreparedWorkspace): Row {
  const secs = s.totalMs / 1000;
  return {
    item: `seed ${what} (${int(rows)} rows)`,
    value: round(secs, 1),
    unit: 's',
    figure: `${sig(secs)} s`,
    comparedWith: '(setup, not a target)',
    ratio: null,
    target: 'info',
    verdict: 'info',
    notes:
      `${int(s.syntheticRows)} SQL rows + audit in ${sig(s.insertMs / 1000)} s, indexes ${sig(s.indexMs / 1000)} s, ` +
      `${int(s.realMinted)} real mintBatch tokens in ${sig(s.mintMs / 1000)} s; ` +
      `vault KDF ${sig(prepared.kdfMs / 1000)} s; ${int(s.status.active)} active, ${int(s.status.expired)} expired, ${int(s.status.revoked)} revoked`,
    data: { ...s, kdfMs: prepared.kdfMs, setupMs: prepared.setupMs },
  };
}

async function main(): Promise<number> {
  const { only, quick, keep } = parseArgs(process.argv.slice(2));
  const sizes = quick ? QUICK : FULL;
  const machine = machineInfo();
  log(`Castellan benchmarks${quick ? ' (--quick: smaller sizes, verdicts indicative only)' : ''}: items ${[...only].join(', ')}`);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverage.join(' ')}`);

  const env: Record<string, string> = {};
  if (only.has(5) || only.has(6)) env.pythonCryptography = ensurePythonPeer(log);
  if (only.has(7)) {
    env.chromium = await ensureChromium(log);
    env.rendererBuild = ensureRendererBuild(log);
  }

  const root = tempRoot();
  log(`temp folder: ${root}`);
  const rows: Row[] = [];
  const crashed: { item: string; error: string }[] = [];
  const run = async (name: string, fn: () => Promise<Row[]> | Row[]): Promise<void> => {
    log(`${name}…`);
    const t0 = performance.now();
    try {
      const out = await fn();
      rows.push(...out);
      log(`${name}: done in ${sig((performance.now() - t0) / 1000)} s`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      crashed.push({ item: name, error: message });
      rows.push({
        item: name,
        value: Number.NaN,
        unit: '',
        figure: 'crashed',
        comparedWith: '',
        ratio: null,
        target: '',
        verdict: 'CRASHED',
        notes: message.split('\n')[0],
      });
      log(`${name}: CRASHED: ${message}`);
    }
  };

  try {
    if (only.has(9)) await run('9 unlock event-loop block', () => benchUnlock(root, log));
    if (only.has(5)) await run('5 CSR verify + sign', () => benchCsr(root, sizes.csr, log));
    if (only.has(6)) await run('6 CRL generation', () => benchCrl(root, sizes.crl, log));
    if (only.has(1)) {
      await run('1 mint throughput', () => {
        const dir = path.join(root, 'mint');
        fs.mkdirSync(dir);
        return benchMint(dir, sizes.mint, log);
      });
    }

    if (only.has(2) || only.has(3) || only.has(4) || only.has(8) || only.has(12)) {
      let ledgerDir: string | null = null;
      await run(`seed the ${int(sizes.ledgerRows)}-row ledger`, async () => {
        const dir = path.join(root, 'ledger');
        fs.mkdirSync(dir);
        const prepared = await prepareWorkspace(dir);
        try {
          const s = seedLedger(prepared.ws, sizes.ledgerRows - sizes.ledgerRealMint, sizes.ledgerRealMint);
          log(`  seeded ${int(sizes.ledgerRows)} rows in ${sig(s.totalMs / 1000)} s`);
          ledgerDir = prepared.dir;
          return [seedRow('ledger for items 2-4, 12', sizes.ledgerRows, s, prepared)];
        } finally {
          prepared.ws.close();
        }
      });
      if (ledgerDir !== null) {
        const dir: string = ledgerDir;
        // The first open after the ledger grew refreshes the planner statistics (workspace.ts);
        // the app would have done it on an earlier start. Timed here, outside the targets.
        await run('first open after seeding (statistics refresh)', () => benchFirstOpen(dir, sizes.ledgerRows));
        if (only.has(4)) await run('4 open workspace', () => benchOpen(dir, sizes.ledgerRows, sizes.open, log));
        if (only.has(3)) await run('3 list query', () => benchList(dir, sizes.ledgerRows, sizes.list, log));
        if (only.has(2)) await run('2 revoke latency', () => benchRevoke(dir, sizes.ledgerRows, sizes.revoke, log));
        if (only.has(8)) await run('8 CLI cold start', () => benchCliStart(dir, sizes.ledgerRows, sizes.cli, log));
        if (only.has(1)) {
          const small = rows.find((r) => r.item.startsWith('1 mint zlayer'));
          await run('1 mint into the large ledger', () =>
            benchMintIntoLedger(dir, sizes.ledgerRows, { batch: sizes.mint.batch, runs: 3 }, small, log),
          );
        }
        // Last on this ledger: its bulk revokes change a fifth of it.
        if (only.has(12)) await run('12 main thread during storage work', () => benchCoreHost(dir, sizes.ledgerRows, sizes.coreHost, log));
      }
    }

    if (only.has(11)) await run('11 cross-console visibility', () => benchChanges(root, sizes.changes, log));

    if (only.has(13)) {
      await run('13 PostgreSQL team mode', () => {
        const dir = path.join(root, 'postgres');
        fs.mkdirSync(dir);
        return benchPostgres(dir, sizes.postgres, log);
      });
    }

    if (only.has(10)) {
      await run('10 serve: OCSP, introspection', () => {
        const dir = path.join(root, 'serve');
        fs.mkdirSync(dir);
        return benchServe(dir, sizes.serve, log);
      });
    }

    if (only.has(7)) {
      await run('7 tokens page', async () => {
        const dir = path.join(root, 'page');
        fs.mkdirSync(dir);
        const prepared = await prepareWorkspace(dir);
        try {
          const s = seedLedger(prepared.ws, sizes.pageRows - sizes.pageRealMint, sizes.pageRealMint, 7);
          log(`  seeded ${int(sizes.pageRows)} rows in ${sig(s.totalMs / 1000)} s`);
          const seeded = seedRow('ledger for item 7', sizes.pageRows, s, prepared);
          return [seeded, ...(await benchPage(prepared.ws, sizes.pageRows, sizes.page, log))];
        } finally {
          prepared.ws.close();
        }
      });
    }
  } finally {
    if (keep) log(`kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  }

  const totalSecs = (performance.now() - started) / 1000;
  const order = (r: Row) => (r.item.startsWith('seed') || r.item.startsWith('first open') ? 100 : Number.parseInt(r.item, 10));
  const sorted = [...rows].sort((a, b) => order(a) - order(b));
  const table = formatTable(sorted);
  const met = sorted.filter((r) => r.verdict === 'met').length;
  const missed = sorted.filter((r) => r.verdict === 'MISSED').length;
  const notRun = sorted.filter((r) => r.verdict === 'NOT RUN').length;
  process.stdout.write(`\n${table}\n\n`);
  for (const r of sorted) if (r.notes) process.stdout.write(`  ${r.item}: ${r.notes}\n`);
  process.stdout.write(
    `\n${met} met, ${missed} missed${notRun ? `, ${notRun} not run` : ''}${crashed.length ? `, ${crashed.length} crashed` : ''}; total run time ${sig(totalSecs)} s` +
      ` (${machine.cores} cores, load average at start ${machine.loadAverage.join(' ')}, at end ${machineInfo().loadAverage.join(' ')})\n`,
  );

  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const out = {
    machine: { ...machine, loadAverageAtEnd: machineInfo().loadAverage },
    environment: env,
    options: { quick, only: [...only], sizes },
    totalSeconds: round(totalSecs, 1),
    summary: { met, missed, notRun, crashed: crashed.length },
    rows: sorted.map((r) => ({ ...r, ratio: r.ratio === null ? null : round(r.ratio, 4) })),
    crashed,
  };
  const file = path.join(resultsDir, 'latest.json');
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  return crashed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * Runs in a fresh Node process (spawned by items/open.ts): opens the workspace given as argv[2]
 * the way the app does, runs the Tokens page's first query, and prints one JSON line with the
 * times and the resident set size. Imports load before the clock starts.
 */
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: open-child.ts <workspace dir>');
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const ws = Workspace.open(dir, { actor: { user: 'bench', kind: 'app' } });
const t1 = performance.now();
const page = listTokens(ws, { sort: 'issued_at', direction: 'desc', limit: 200, offset: 0 });
const t2 = performance.now();
const rss = process.memoryUsage().rss;
ws.close();
process.stdout.write(
  `${JSON.stringify({ openMs: t1 - t0, firstListMs: t2 - t1, rss, rssBefore, total: page.total, rows: page.rows.length, sinceStartMs: t2 + performance.timeOrigin - Number(process.env.BENCH_SPAWNED_AT ?? Number.NaN) })}\n`,
);

/**
 * Item 8: how long the CLI takes from the shell, as a script calling it pays it.
 *
 * - `castellan --help`, cold process, limit 150 ms;
 * - `castellan tokens list` on a workspace of `ledgerRows` tokens, cold process, limit 400 ms;
 * - beside both, `node -e 0` with the same Node, measured in the same run: the floor any Node
 *   CLI starts from on this machine.
 *
 * Each is a fresh process started through the `castellan` launcher at the repository root (bash,
 * the Node check, the bundled CLI with its compile cache), exactly what a user types. The three
 * commands are interleaved run by run, so a change in machine load hits all of them alike; one
 * warm-up round first (it builds the bundle if needed and fills the compile cache, as a first
 * run on a user's machine does once). Medians, with min and max in the notes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../lib/env.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, max, median, min, round, sig } from '../lib/stats.ts';

export const HELP_LIMIT_MS = 150;
export const LIST_LIMIT_MS = 400;
const LAUNCHER = path.join(REPO_ROOT, 'castellan');

function timed(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
  return ms;
}

export function benchCliStart(
  workspaceDir: string,
  ledgerRows: number,
  opts: { runs: number },
  log: (line: string) => void,
): Row[] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CASTELLAN_')) delete env[k];
  const node = process.execPath;
  const list = ['--data-dir', workspaceDir, 'tokens', 'list'];

  // Warm-up: builds out/cli/ if it is missing or stale, fills the compile cache, and lets the
  // first open after seeding refresh the planner statistics (which the app would have done).
  const warm = spawnSync(LAUNCHER, ['--help'], { env, encoding: 'utf8' });
  if (warm.status !== 0) throw new Error(`castellan --help exited ${warm.status}: ${warm.stderr}`);
  if (warm.stderr) log(`  ${warm.stderr.trim()}`);
  execFileSync(LAUNCHER, list, { env, stdio: 'ignore' });
  timed(node, ['-e', '0'], env);

  const base: number[] = [];
  const help: number[] = [];
  const listMs: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    base.push(timed(node, ['-e', '0'], env));
    help.push(timed(LAUNCHER, ['--help'], env));
    listMs.push(timed(LAUNCHER, list, env));
  }
  const nodeMs = median(base);
  const helpMs = median(help);
  const listMedian = median(listMs);
  log(`  node -e 0 ${sig(nodeMs)} ms, castellan --help ${sig(helpMs)} ms, castellan tokens list ${sig(listMedian)} ms (medians of ${opts.runs})`);
  const spread = (v: number[]) => `min ${sig(min(v))}, max ${sig(max(v))} ms`;
  const data = { runs: opts.runs, nodeMs: base.map((v) => round(v)), helpMs: help.map((v) => round(v)), listMs: listMs.map((v) => round(v)) };
  return [
    {
      item: '8 CLI cold start: castellan --help',
      value: round(helpMs),
      unit: 'ms',
      figure: `${sig(helpMs)} ms`,
      comparedWith: `limit ${HELP_LIMIT_MS} ms (node -e 0: ${sig(nodeMs)} ms)`,
      ratio: helpMs / HELP_LIMIT_MS,
      target: `< ${HELP_LIMIT_MS} ms`,
      verdict: verdict(helpMs < HELP_LIMIT_MS),
      notes:
        `fresh process through the ./castellan launcher, median of ${opts.runs} (${spread(help)}); ` +
        `node -e 0 in the same rounds ${sig(nodeMs)} ms (${spread(base)}), so the CLI adds ${sig(helpMs - nodeMs)} ms`,
      data: { ...data, medianNodeMs: nodeMs, medianHelpMs: helpMs },
    },
    {
      item: `8 CLI cold start: castellan tokens list (${int(ledgerRows)} ledger)`,
      value: round(listMedian),
      unit: 'ms',
      figure: `${sig(listMedian)} ms`,
      comparedWith: `limit ${LIST_LIMIT_MS} ms (node -e 0: ${sig(nodeMs)} ms)`,
      ratio: listMedian / LIST_LIMIT_MS,
      target: `< ${LIST_LIMIT_MS} ms`,
      verdict: verdict(listMedian < LIST_LIMIT_MS),
      notes:
        `fresh process through the launcher: open the workspace, print the first page of 200 and the total; ` +
        `median of ${opts.runs} (${spread(listMs)}); node -e 0 ${sig(nodeMs)} ms`,
      data: { ...data, medianListMs: listMedian },
    },
  ];
}

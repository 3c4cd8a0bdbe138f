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

/**
 * CPU time (user + system, ms) of one run of the command and its children, from bash's `time`:
 * what the command costs whatever else the machine is doing, beside the wall-clock figure that
 * the limits are about (on a loaded machine, waiting for a core dominates the wall clock).
 */
function cpu(file: string, args: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%3U %3S"; time "$0" "$@" >/dev/null 2>&1', file, ...args], { env, encoding: 'utf8' });
  const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`timing ${path.basename(file)} ${args.join(' ')} failed: ${r.stderr.slice(0, 300)}`);
  return (Number(m[1]) + Number(m[2])) * 1000;
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
  const cpuBase: number[] = [];
  const cpuHelp: number[] = [];
  const cpuList: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    base.push(timed(node, ['-e', '0'], env));
    help.push(timed(LAUNCHER, ['--help'], env));
    listMs.push(timed(LAUNCHER, list, env));
    cpuBase.push(cpu(node, ['-e', '0'], env));
    cpuHelp.push(cpu(LAUNCHER, ['--help'], env));
    cpuList.push(cpu(LAUNCHER, list, env));
  }
  const cpuNote = (v: number[]) => `CPU time ${sig(median(v))} ms (node -e 0: ${sig(median(cpuBase))} ms)`;
  const nodeMs = median(base);
  const helpMs = median(help);
  const listMedian = median(listMs);
  log(`  node -e 0 ${sig(nodeMs)} ms, castellan --help ${sig(helpMs)} ms, castellan tokens list ${sig(listMedian)} ms (medians of ${opts.runs})`);
  log(`  CPU time: node -e 0 ${sig(median(cpuBase))} ms, castellan --help ${sig(median(cpuHelp))} ms, castellan tokens list ${sig(median(cpuList))} ms`);
  const spread = (v: number[]) => `min ${sig(min(v))}, max ${sig(max(v))} ms`;
  const data = {
    runs: opts.runs,
    nodeMs: base.map((v) => round(v)),
    helpMs: help.map((v) => round(v)),
    listMs: listMs.map((v) => round(v)),
    cpuMs: { node: cpuBase.map((v) => round(v)), help: cpuHelp.map((v) => round(v)), list: cpuList.map((v) => round(v)) },
  };
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
        `node -e 0 in the same rounds ${sig(nodeMs)} ms (${spread(base)}), so the CLI adds ${sig(helpMs - nodeMs)} ms; ${cpuNote(cpuHelp)}`,
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
        `median of ${opts.runs} (${spread(listMs)}); node -e 0 ${sig(nodeMs)} ms; ${cpuNote(cpuList)}`,
      data: { ...data, medianListMs: listMedian },
    },
  ];
}

/**
 * A throwaway PostgreSQL cluster for one benchmark run (item 13), through the functions of
 * scripts/pg-test-cluster.sh: a keeper `bash` process sources the script, starts a private
 * cluster (socket only, in the repository's git-ignored .tmp/), restarts it with production
 * durability, prints its URL and then waits on its stdin. The cluster is stopped and its folders
 * removed when the keeper's stdin closes (stop() below, or this process dying in any way: the
 * pipe closes with it) and when the keeper is interrupted (Ctrl-C reaches the whole process group).
 *
 * The test cluster starts with fsync, synchronous_commit and full_page_writes off (fast tests).
 * Command-line settings outrank ALTER SYSTEM, so the keeper restarts the server without them:
 * every commit is flushed to disk, as SQLite's synchronous=FULL flushes the WAL — the comparison
 * with the embedded file is like for like. Everything else is PostgreSQL's default
 * (shared_buffers 128 MB) except max_wal_size, raised so seeding a million rows does not
 * checkpoint every few seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { PgSyncDatabase } from '../../electron/core/storage/pg-sync.ts';
import { REPO_ROOT } from './env.ts';

const KEEPER = String.raw`
set -u
. scripts/pg-test-cluster.sh
trap 'pgtc_cleanup' EXIT
trap 'exit 130' INT TERM HUP
pgtc_start_cluster
pgtc_as "$PGTC_BIN/pg_ctl" -D "$PGTC_DATA" -l "$PGTC_DATA/server.log" -w -t 120 -m fast \
  -o "-k $PGTC_SOCK -c listen_addresses= -c max_connections=60 -c max_wal_size=4GB" restart >/dev/null \
  || { cat "$PGTC_DATA/server.log" >&2; pgtc_die "the server did not restart with durable settings"; }
echo "VERSION $("$PGTC_BIN/postgres" --version)"
echo "URL $PGTC_URL"
read -r _ || true
`;

export interface BenchCluster {
  /** postgres:// URL of database `name` on the cluster. */
  url(name: string): string;
  /** `postgres (PostgreSQL) 15.x`. */
  version: string;
  /** CREATE DATABASE name (empty; Castellan migrates it on first open). */
  createDatabase(name: string): void;
  /** Runs SQL on database `name` through its own connection. */
  exec(name: string, sql: string): void;
  /** Stops the server and removes its folders; safe to call twice. */
  stop(): Promise<void>;
}

export type ClusterStart = { cluster: BenchCluster } | { notRun: string };

/** Starts the cluster, or says why it could not (never throws for a missing or broken PostgreSQL). */
export async function startBenchCluster(log: (line: string) => void): Promise<ClusterStart> {
  const keeper: ChildProcess = spawn('bash', ['-c', KEEPER], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const errLines: string[] = [];
  readline.createInterface({ input: keeper.stderr! }).on('line', (l) => {
    errLines.push(l);
    if (errLines.length > 40) errLines.shift();
  });
  const exited = new Promise<number | null>((resolve) => keeper.once('exit', (code) => resolve(code)));
  let version = '';
  let url: string | null = null;
  const lines = readline.createInterface({ input: keeper.stdout! });
  for await (const line of lines) {
    if (line.startsWith('VERSION ')) version = line.slice(8).trim();
    if (line.startsWith('URL ')) {
      url = line.slice(4).trim();
      break;
    }
  }
  if (url === null) {
    const code = await exited;
    const why = errLines.filter((l) => l.trim() !== '').slice(-3).join(' / ') || `the keeper exited with ${code}`;
    return { notRun: `PostgreSQL could not be started: ${why}` };
  }
  log(`  PostgreSQL cluster up (${version}): ${url}`);
  const base = new URL(url);
  const urlOf = (name: string): string => {
    const u = new URL(base.href);
    u.pathname = `/${name}`;
    return u.href;
  };
  let stopped = false;
  const run = (name: string, sql: string): void => {
    const db = PgSyncDatabase.open(urlOf(name));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  };
  return {
    cluster: {
      url: urlOf,
      version,
      createDatabase: (name) => run('castellan', `CREATE DATABASE ${name}`),
      exec: run,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        keeper.stdin!.end();
        const code = await exited;
        if (code !== 0) log(`  the PostgreSQL keeper exited with ${code}: ${errLines.slice(-3).join(' / ')}`);
      },
    },
  };
}

/**
 * PostgreSQL for the storage tests. CASTELLAN_TEST_DATABASE_URL names a cluster the tests may
 * create and drop databases in (scripts/pg-test-cluster.sh run -- ... sets it); each test gets a
 * database of its own, dropped when it ends. Without the variable the PostgreSQL tests are
 * skipped WITH the reason below, so a run that never reached a cluster says so instead of passing.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';

export const PG_URL: string | undefined = process.env.CASTELLAN_TEST_DATABASE_URL?.trim() || undefined;

export const PG_NOT_RUN =
  'NOT RUN: CASTELLAN_TEST_DATABASE_URL is not set, so the PostgreSQL tests did not run. Run them with ' +
  'scripts/pg-test-cluster.sh run -- node --import ./test/harness/temp-root.ts --test test/unit/storage-*.test.ts';

/** `skip` option for a PostgreSQL test or suite: false when a cluster is given, else the reason. */
export const PG_SKIP: false | string = PG_URL === undefined ? PG_NOT_RUN : false;

if (PG_URL === undefined) {
  // Also on stderr, once per file, where no reporter can fold it away.
  process.stderr.write(`[storage tests] ${PG_NOT_RUN}\n`);
}

function urlFor(database: string): string {
  const u = new URL(PG_URL as string);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new empty database on the test cluster, dropped (connections and all) after the test. */
export async function freshPostgresDatabase(t: TestContext): Promise<string> {
  if (PG_URL === undefined) throw new Error(PG_NOT_RUN);
  const name = `castellan_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  t.after(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  return urlFor(name);
}

/** Runs one statement on the test cluster outside Castellan's code (to kill a backend, say). */
export async function onCluster<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

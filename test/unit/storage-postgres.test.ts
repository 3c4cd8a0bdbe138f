/**
 * What only PostgreSQL has: the translated schema on a real cluster matches SQLite's table for
 * table, column for column, index for index; connection loss mid-transaction loses nothing and
 * says so; sslmode reaches the driver; migrations from two processes at once; and the errors a
 * wrong URL gets. Needs CASTELLAN_TEST_DATABASE_URL (scripts/pg-test-cluster.sh run -- ...);
 * without it the cluster tests report NOT RUN.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as nodeTest, type TestContext } from 'node:test';
import {
  POSTGRES_MIGRATIONS,
  describePostgresUrl,
  isStorageError,
  openPostgresStorage,
  openSqliteStorage,
  parseStorageTarget,
  statement,
  type StoragePort,
} from '../../electron/core/storage/index.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../electron/core/workspace/schema.ts';
import { PG_SKIP, freshPostgresDatabase, onCluster } from '../harness/pg-database.ts';

const pgTest = (name: string, fn: (t: TestContext) => Promise<void>) => nodeTest(name, { skip: PG_SKIP }, fn);

async function pgPort(t: TestContext, url?: string): Promise<{ port: StoragePort; url: string }> {
  const u = url ?? (await freshPostgresDatabase(t));
  const port = await openPostgresStorage({ url: u });
  t.after(() => port.close());
  return { port, url: u };
}

function withParam(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}

const insertMeta = statement('INSERT INTO meta (key, value) VALUES (?, ?)');
const metaKeys = statement<{ key: string }>('SELECT key FROM meta ORDER BY key');

interface Shape {
  tables: string[];
  columns: Record<string, string[]>;
  notNull: Record<string, string[]>;
  indexes: string[];
}

async function sqliteShape(port: StoragePort): Promise<Shape> {
  const tables = (
    await port.all(statement<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
  ).map((r) => r.name);
  const columns: Record<string, string[]> = {};
  const notNull: Record<string, string[]> = {};
  for (const table of tables) {
    const info = await port.all(
      statement<{ name: string; notnull: number; pk: number }>(
        `SELECT name, "notnull", pk FROM pragma_table_info('${table}') ORDER BY cid`,
      ),
    );
    columns[table] = info.map((c) => c.name);
    notNull[table] = info
      .filter((c) => c.notnull === 1 || c.pk > 0)
      .map((c) => c.name)
      .sort();
  }
  const indexes = (
    await port.all(
      statement<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name",
      ),
    )
  ).map((r) => r.name);
  return { tables, columns, notNull, indexes };
}

async function postgresShape(port: StoragePort): Promise<Shape> {
  const tables = (
    await port.all(
      statement<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'castellan_migrations' ORDER BY table_name",
      ),
    )
  ).map((r) => r.name);
  const columns: Record<string, string[]> = {};
  const notNull: Record<string, string[]> = {};
  for (const table of tables) {
    const info = await port.all(
      statement<{ name: string; nullable: string }>(
        'SELECT column_name AS name, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
      ),
      [table],
    );
    columns[table] = info.map((c) => c.name);
    notNull[table] = info
      .filter((c) => c.nullable === 'NO')
      .map((c) => c.name)
      .sort();
  }
  // Constraint-backed indexes (primary keys, UNIQUE columns) are SQLite's autoindexes.
  const indexes = (
    await port.all(
      statement<{ name: string }>(
        `SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()
           AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname`,
      ),
    )
  ).map((r) => r.name);
  return { tables, columns, notNull, indexes };
}

pgTest(
  'the PostgreSQL schema matches the SQLite one table for table, column for column, index for index',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-shape-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const lite = openSqliteStorage({ path: path.join(dir, 'castellan.db') });
    t.after(() => lite.close());
    await lite.migrate();
    const { port } = await pgPort(t);
    assert.deepEqual(await port.migrate(), { from: 0, to: LATEST_SCHEMA_VERSION });
    const [a, b] = [await sqliteShape(lite), await postgresShape(port)];
    assert.deepEqual(b.tables, a.tables);
    assert.deepEqual(b.columns, a.columns);
    assert.deepEqual(b.notNull, a.notNull);
    assert.deepEqual(b.indexes, a.indexes);
    assert.deepEqual(
      POSTGRES_MIGRATIONS.map((m) => [m.version, m.name]),
      MIGRATIONS.map((m) => [m.version, m.name]),
      'every SQLite migration has its PostgreSQL twin',
    );
    const recorded = await port.all(
      statement<{ version: number }>('SELECT version FROM castellan_migrations ORDER BY version'),
    );
    assert.deepEqual(
      recorded.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  },
);

pgTest(
  'the constraints hold on PostgreSQL as on SQLite (one active key per profile, jti unique, CHECKs)',
  async (t) => {
    const { port } = await pgPort(t);
    await port.migrate();
    const key = statement(
      "INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at) VALUES (?, 'zlayer', 'HS256', ?, ?, 'now')",
    );
    await port.run(key, ['k1', 'active', new Uint8Array([1])]);
    await assert.rejects(port.run(key, ['k2', 'active', new Uint8Array([2])]), /signing_keys_one_active_per_profile/);
    await port.run(key, ['k3', 'retired', new Uint8Array([3])]);
    await assert.rejects(port.run(key, ['k4', 'bogus', new Uint8Array([4])]), /check constraint/);
    const token = statement(
      `INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes, issued_at, expires_at, token_sha256)
     VALUES (?, 's', 'd', 'svc', 'c', 'zlayer', ?, 'read', 1, 2, ?)`,
    );
    await port.run(token, ['j1', 'k1', 'h1']);
    await assert.rejects(port.run(token, ['j1', 'k1', 'h2']), /tokens_jti_key/);
    await assert.rejects(port.run(token, ['j2', 'nope', 'h3']), /foreign key/);
    await assert.rejects(
      port.run(statement("INSERT INTO ca (id, cert_der, sealed_key, created_at) VALUES (2, '\\x00', '\\x00', 'now')")),
      /check constraint/,
    );
    const n = await port.get<{ n: number }>(statement('SELECT COUNT(*) AS n FROM tokens'));
    assert.equal(n?.n, 1);
  },
);

pgTest('connection loss mid-transaction applies nothing, says so, and the next transaction works', async (t) => {
  const { port, url } = await pgPort(t);
  await port.migrate();
  await port.run(insertMeta, ['before', '1']);
  const err = await port
    .transaction(async (tx) => {
      await tx.run(insertMeta, ['during', '1']);
      const me = await tx.get<{ pid: number }>(statement('SELECT pg_backend_pid() AS pid'));
      // Another session kills this one's server process, and waits until it is gone.
      await onCluster(url, 'SELECT pg_terminate_backend($1, 10000)', [me!.pid]);
      await tx.run(insertMeta, ['after', '1']);
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(isStorageError(err, 'connection-lost'), `expected connection-lost, got ${String(err)}`);
  assert.match(
    err.message,
    /connection to PostgreSQL \(database castellan_t_\w+ on \/\S+\) was lost during the transaction: nothing in it was applied/,
  );
  assert.doesNotMatch(err.message, /castellan@/, 'no user name in the message');
  assert.deepEqual(
    (await port.all(metaKeys)).map((r) => r.key),
    ['before'],
  );
  await port.transaction(async (tx) => {
    await tx.run(insertMeta, ['retried', '1']);
  });
  assert.deepEqual(
    (await port.all(metaKeys)).map((r) => r.key),
    ['before', 'retried'],
  );
});

pgTest('connection loss at COMMIT is reported as an unknown outcome, never as success', async (t) => {
  const { port, url } = await pgPort(t);
  await port.migrate();
  const err = await port
    .transaction(async (tx) => {
      await tx.run(insertMeta, ['maybe', '1']);
      const me = await tx.get<{ pid: number }>(statement('SELECT pg_backend_pid() AS pid'));
      await onCluster(url, 'SELECT pg_terminate_backend($1, 10000)', [me!.pid]);
      // The callback resolves: the port sends COMMIT on a dead connection.
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(isStorageError(err, 'commit-unknown'), `expected commit-unknown, got ${String(err)}`);
  assert.match(
    err.message,
    /lost while committing: the change may or may not have been applied; check before retrying/,
  );
  // Here the server died before COMMIT arrived, so it rolled back: checking shows it.
  assert.deepEqual(
    (await port.all(metaKeys)).map((r) => r.key),
    [],
  );
});

pgTest(
  'a statement that fails inside a transaction whose callback swallows the error is not reported as committed',
  async (t) => {
    const { port } = await pgPort(t);
    await port.migrate();
    await assert.rejects(
      port.transaction(async (tx) => {
        await tx.run(insertMeta, ['a', '1']);
        await tx.run(insertMeta, ['a', '2']).catch(() => {});
      }),
      (err) => isStorageError(err, 'misuse') && /rolled back: one of its statements failed/.test(err.message),
    );
    assert.deepEqual(await port.all(metaKeys), []);
  },
);

pgTest(
  'two processes migrating one database at once end at the same version, each migration applied once',
  async (t) => {
    const { url } = await pgPort(t);
    const [a, b] = [await openPostgresStorage({ url }), await openPostgresStorage({ url })];
    t.after(() => a.close());
    t.after(() => b.close());
    const results = await Promise.all([a.migrate(), b.migrate()]);
    assert.deepEqual(
      results.map((r) => r.to),
      [LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION],
    );
    const recorded = await a.all(
      statement<{ version: number }>('SELECT version FROM castellan_migrations ORDER BY version'),
    );
    assert.deepEqual(
      recorded.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  },
);

pgTest('a database migrated by a newer Castellan is refused and left as it is', async (t) => {
  const { port } = await pgPort(t);
  await port.migrate();
  await port.run(
    statement("INSERT INTO castellan_migrations (version, name, applied_at) VALUES (99, 'from the future', 'now')"),
  );
  await assert.rejects(
    port.migrate(),
    (err) => isStorageError(err, 'schema') && /schema version 99, newer than this build/.test(err.message),
  );
  assert.equal(await port.schemaVersion(), 99);
});

pgTest(
  'sslmode in the URL reaches the driver: verify-full is refused by a server without TLS, disable connects',
  async (t) => {
    const url = await freshPostgresDatabase(t);
    await assert.rejects(
      openPostgresStorage({ url: withParam(url, 'sslmode', 'verify-full') }),
      (err) =>
        isStorageError(err, 'unavailable') &&
        /cannot connect to PostgreSQL \(database \w+ on .+\): .*(SSL|ssl)/.test(err.message),
    );
    const port = await openPostgresStorage({ url: withParam(url, 'sslmode', 'disable') });
    t.after(() => port.close());
    assert.equal(await port.schemaVersion(), 0);
  },
);

nodeTest('an unreachable PostgreSQL is a clear error that never shows the password', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-nopg-'));
  try {
    const url = `postgres://admin:hunter2-secret@localhost/team?host=${dir}`;
    await assert.rejects(openPostgresStorage({ url, connectTimeoutMs: 2000 }), (err) => {
      assert.ok(isStorageError(err, 'unavailable'), String(err));
      assert.match(err.message, new RegExp(`^cannot connect to PostgreSQL \\(database team on ${dir}\\): `));
      assert.doesNotMatch(err.message, /hunter2|admin/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

nodeTest('URLs in messages name the database and host only', () => {
  assert.equal(
    describePostgresUrl('postgres://u:p@db.example.com:6543/castellan?sslmode=verify-full'),
    'database castellan on db.example.com:6543',
  );
  assert.equal(describePostgresUrl('postgres://u@localhost/team?host=/run/pg'), 'database team on /run/pg');
  assert.equal(describePostgresUrl('not a url'), 'the PostgreSQL database');
});

nodeTest(
  '--database picks the engine: a postgres:// URL, else a SQLite file; other schemes and garbage are refused',
  () => {
    assert.deepEqual(parseStorageTarget('postgres://u@h/db'), { engine: 'postgres', url: 'postgres://u@h/db' });
    assert.deepEqual(parseStorageTarget(' postgresql://u@h/db?sslmode=require '), {
      engine: 'postgres',
      url: 'postgresql://u@h/db?sslmode=require',
    });
    assert.deepEqual(parseStorageTarget('/home/a/castellan.db'), { engine: 'sqlite', path: '/home/a/castellan.db' });
    assert.throws(() => parseStorageTarget('mysql://u@h/db'), /unsupported database URL scheme "mysql"/);
    assert.throws(() => parseStorageTarget('postgres://[bad'), /PostgreSQL URL is malformed/);
    assert.throws(() => parseStorageTarget('  '), /a database is required/);
  },
);

/**
 * The storage port (electron/core/storage), the same tests on both engines: SQLite always,
 * PostgreSQL when CASTELLAN_TEST_DATABASE_URL names a cluster (otherwise reported as NOT RUN).
 * Run both with:
 *   scripts/pg-test-cluster.sh run -- node --import ./test/harness/temp-root.ts --test test/unit/storage-*.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test as nodeTest, type TestContext } from 'node:test';
import { LATEST_SCHEMA_VERSION, TABLES } from '../../electron/core/workspace/schema.ts';
import {
  isStorageError,
  likeContains,
  openPostgresStorage,
  openSqliteStorage,
  statement,
  type StoragePort,
} from '../../electron/core/storage/index.ts';
import { GENESIS, appendChained, assertChainIntact, auditHead, chainHash } from '../harness/audit-chain.ts';
import { PG_SKIP, freshPostgresDatabase } from '../harness/pg-database.ts';

interface Engine {
  name: 'sqlite' | 'postgres';
  skip: false | string;
  open(t: TestContext): Promise<StoragePort>;
}

async function openSqlite(t: TestContext): Promise<StoragePort> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-storage-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = openSqliteStorage({ path: path.join(dir, 'castellan.db') });
  t.after(() => port.close());
  return port;
}

/** Another connection pool on the same PostgreSQL database as a port (another admin). */
const sameDatabase = new WeakMap<StoragePort, () => Promise<StoragePort>>();

async function openPostgres(t: TestContext): Promise<StoragePort> {
  const url = await freshPostgresDatabase(t);
  const open = async () => {
    const port = await openPostgresStorage({ url });
    // Registered after the database's drop, so it runs first (t.after runs in reverse order).
    t.after(() => port.close());
    return port;
  };
  const port = await open();
  sameDatabase.set(port, open);
  return port;
}

const ENGINES: Engine[] = [
  { name: 'sqlite', skip: false, open: openSqlite },
  { name: 'postgres', skip: PG_SKIP, open: openPostgres },
];

async function migrated(engine: Engine, t: TestContext): Promise<StoragePort> {
  const port = await engine.open(t);
  await port.migrate();
  return port;
}

const insertMeta = statement('INSERT INTO meta (key, value) VALUES (?, ?)');
const metaKeys = statement<{ key: string }>('SELECT key FROM meta ORDER BY key');
const keysOf = async (port: StoragePort) => (await port.all(metaKeys)).map((r) => r.key);

for (const engine of ENGINES) {
  describe(`storage port on ${engine.name}`, () => {
    // Skipped test by test, so the summary counts every PostgreSQL test that did not run.
    const test = (name: string, fn: (t: TestContext) => Promise<void>) => nodeTest(name, { skip: engine.skip }, fn);

    test('migrates an empty database to the latest schema, once', async (t) => {
      const port = await engine.open(t);
      assert.equal(await port.schemaVersion(), 0);
      assert.deepEqual(await port.migrate(), { from: 0, to: LATEST_SCHEMA_VERSION });
      assert.equal(await port.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.deepEqual(await port.migrate(), { from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION });
      for (const table of [...TABLES, 'ca_crl']) {
        const row = await port.get<{ n: number }>(statement(`SELECT COUNT(*) AS n FROM ${table}`));
        assert.equal(row?.n, 0, `table ${table} exists and is empty`);
      }
    });

    test('a database with tables of its own but no schema version is refused, not migrated over', async (t) => {
      const port = await engine.open(t);
      await port.exec('CREATE TABLE payroll (id INTEGER PRIMARY KEY, amount INTEGER)');
      await assert.rejects(
        port.migrate(),
        (err) => isStorageError(err, 'schema') && /not a Castellan workspace; use an empty database/.test(err.message),
      );
      assert.equal(await port.schemaVersion(), 0);
      const tables = await port.get<{ n: number }>(statement('SELECT COUNT(*) AS n FROM payroll'));
      assert.equal(tables?.n, 0, 'the foreign table is untouched');
      await assert.rejects(port.get(statement('SELECT COUNT(*) AS n FROM meta')), /meta/);
    });

    test('a transaction commits when its callback resolves', async (t) => {
      const port = await migrated(engine, t);
      const result = await port.transaction(async (tx) => {
        await tx.run(insertMeta, ['a', '1']);
        await tx.run(insertMeta, ['b', '2']);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.deepEqual(await keysOf(port), ['a', 'b']);
    });

    test('a transaction whose callback throws changes nothing and rethrows the same error', async (t) => {
      const port = await migrated(engine, t);
      await port.run(insertMeta, ['kept', '1']);
      const boom = new Error('policy check failed');
      await assert.rejects(
        port.transaction(async (tx) => {
          await tx.run(insertMeta, ['lost', '1']);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.deepEqual(await keysOf(port), ['kept']);
    });

    test("the callback's own errors come back as they are, even ones that look like a driver's", async (t) => {
      const port = await migrated(engine, t);
      const missing = path.join(os.tmpdir(), 'castellan-no-such-file');
      const errors: unknown[] = [];
      for (const fail of [() => fs.readFileSync(missing), () => Buffer.alloc(4).writeUInt8(300, 0)]) {
        let thrown: unknown;
        const err = await port
          .transaction(async (tx) => {
            await tx.run(insertMeta, ['lost', '1']);
            try {
              fail();
            } catch (e) {
              thrown = e;
              throw e;
            }
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        assert.ok(thrown !== undefined && err === thrown, `rethrown unchanged, not as ${String(err)}`);
        errors.push(err);
      }
      assert.deepEqual(
        errors.map((e) => (e as { code?: string }).code),
        ['ENOENT', 'ERR_OUT_OF_RANGE'],
      );
      assert.deepEqual(await keysOf(port), []);
    });

    test('a failing statement rolls the transaction back with the database error', async (t) => {
      const port = await migrated(engine, t);
      await assert.rejects(
        port.transaction(async (tx) => {
          await tx.run(insertMeta, ['dup', '1']);
          await tx.run(insertMeta, ['dup', '2']);
        }),
        /unique|UNIQUE/,
      );
      assert.deepEqual(await keysOf(port), []);
    });

    test('a savepoint undoes only its own work', async (t) => {
      const port = await migrated(engine, t);
      await port.transaction(async (tx) => {
        await tx.run(insertMeta, ['outer', '1']);
        await assert.rejects(
          tx.savepoint(async (sp) => {
            await sp.run(insertMeta, ['inner', '1']);
            throw new Error('inner step failed');
          }),
          /inner step failed/,
        );
        await tx.savepoint(async (sp) => {
          await sp.run(insertMeta, ['inner-ok', '1']);
        });
      });
      assert.deepEqual(await keysOf(port), ['inner-ok', 'outer']);
    });

    test('using the port inside its own transaction is refused, not a deadlock', async (t) => {
      const port = await migrated(engine, t);
      await assert.rejects(
        port.transaction(async (tx) => {
          await tx.run(insertMeta, ['x', '1']);
          await port.run(insertMeta, ['y', '1']);
        }),
        (err) => isStorageError(err, 'misuse') && /use the transaction it was given/.test(err.message),
      );
      assert.deepEqual(await keysOf(port), []);
      let leaked: Parameters<Parameters<StoragePort['transaction']>[0]>[0] | undefined;
      await port.transaction(async (tx) => {
        leaked = tx;
      });
      await assert.rejects(
        leaked!.run(insertMeta, ['late', '1']),
        (err) => isStorageError(err, 'misuse') && /has ended/.test(err.message),
      );
      assert.deepEqual(await keysOf(port), []);
    });

    test('a statement with the wrong number of parameters is refused before it runs', async (t) => {
      const port = await migrated(engine, t);
      await assert.rejects(port.run(insertMeta, ['only-one']), /takes 2 parameters, not 1/);
      assert.deepEqual(await keysOf(port), []);
    });

    test('the audit table refuses UPDATE and DELETE', async (t) => {
      const port = await migrated(engine, t);
      await appendChained(port, 'alice', 'token.mint', 'web');
      await assert.rejects(
        port.run(statement("UPDATE audit SET target = 'forged' WHERE seq = 1")),
        /audit entries are append-only/,
      );
      await assert.rejects(port.run(statement('DELETE FROM audit WHERE seq = 1')), /audit entries are append-only/);
      if (engine.name === 'postgres') {
        await assert.rejects(port.exec('TRUNCATE audit'), /audit entries are append-only/);
      }
      await assertChainIntact(port, 1);
      assert.equal((await port.get(auditHead))?.hash, chainHash(1, 'alice', 'token.mint', 'web', GENESIS));
    });

    test('four concurrent writers appending to the hash chain under the audit head lock keep it intact (400/400)', async (t) => {
      const writers = [await migrated(engine, t)];
      // On PostgreSQL, four admins: four ports, four pools, four server connections.
      // On SQLite, one connection per process (see sqlite-engine.ts): four callers on one port.
      for (let i = 1; i < 4; i += 1)
        writers.push(engine.name === 'postgres' ? await sameDatabase.get(writers[0]!)!() : writers[0]!);
      await Promise.all(
        writers.map(async (port, w) => {
          for (let i = 0; i < 100; i += 1) await appendChained(port, `admin-${w}`, 'token.revoke', `t-${w}-${i}`);
        }),
      );
      await assertChainIntact(writers[0]!, 400);
      const perWriter = await writers[0]!.all(
        statement<{ actor_user: string; n: number }>(
          'SELECT actor_user, COUNT(*) AS n FROM audit GROUP BY actor_user ORDER BY actor_user',
        ),
      );
      assert.deepEqual(
        perWriter.map((r) => [r.actor_user, r.n]),
        [
          ['admin-0', 100],
          ['admin-1', 100],
          ['admin-2', 100],
          ['admin-3', 100],
        ],
      );
    });

    test('search ignores case and takes LIKE wildcards literally', async (t) => {
      const port = await migrated(engine, t);
      for (const [key, value] of [
        ['a', 'Web-Frontend'],
        ['b', 'api_gateway'],
        ['c', 'apiXgateway'],
        ['d', '100% web'],
      ]) {
        await port.run(insertMeta, [key!, value!]);
      }
      const search = statement<{ key: string }>(
        `SELECT key FROM meta WHERE ${port.dialect.containsText('value')} ORDER BY key`,
      );
      const find = async (text: string) => (await port.all(search, [likeContains(text)])).map((r) => r.key);
      assert.deepEqual(await find('WEB'), ['a', 'd']);
      assert.deepEqual(await find('api_g'), ['b'], 'the underscore is not a wildcard');
      assert.deepEqual(await find('0%'), ['d'], 'the percent sign is not a wildcard');
      assert.deepEqual(await find('nothing'), []);
    });

    test('JSON members and arrays read the same on both engines (the SAN search)', async (t) => {
      const port = await migrated(engine, t);
      const cert = statement(
        `INSERT INTO certificates (serial, node_id, subject, sans, fingerprint_sha256, not_before, not_after, cert_der, issued_at)
         VALUES (?, ?, 'CN=w', ?, 'fp', '2026-01-01', '2027-01-01', ?, '2026-01-01')`,
      );
      await port.run(cert, [
        '01',
        'n1',
        JSON.stringify([{ type: 'dns', value: 'Worker-1.Example.com' }]),
        new Uint8Array([1]),
      ]);
      await port.run(cert, ['02', 'n2', JSON.stringify([{ type: 'ip', value: '10.0.0.2' }]), new Uint8Array([2])]);
      const bySan = statement<{ serial: string }>(
        `SELECT serial FROM certificates WHERE ${port.dialect.jsonArrayMemberContains('sans', 'value')} ORDER BY serial`,
      );
      assert.deepEqual(
        (await port.all(bySan, [likeContains('worker-1.example')])).map((r) => r.serial),
        ['01'],
      );
      assert.deepEqual(
        (await port.all(bySan, [likeContains('10.0.0')])).map((r) => r.serial),
        ['02'],
      );
      await port.run(insertMeta, ['setting:json', JSON.stringify({ ttl: 3600, name: 'Ops' })]);
      const member = await port.get<{ v: string }>(
        statement(`SELECT ${port.dialect.jsonText('value', 'name')} AS v FROM meta`),
      );
      assert.equal(member?.v, 'Ops');
    });

    test('integers up to 2^53 read back exactly; a larger one is refused, not rounded', async (t) => {
      const port = await migrated(engine, t);
      const big = Number.MAX_SAFE_INTEGER;
      await port.run(
        statement(
          `INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at) VALUES ('k', 'zlayer', 'HS256', 'active', ?, 'now')`,
        ),
        [new Uint8Array([9])],
      );
      await port.run(
        statement(`INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes, issued_at, expires_at, token_sha256)
                   VALUES ('j', 's', 'd', 'svc', 'c', 'zlayer', 'k', 'read', ?, ?, 'h')`),
        [1, big],
      );
      const row = await port.get<{ id: number; expires_at: number; n: number }>(
        statement('SELECT id, expires_at, (SELECT COUNT(*) FROM tokens) AS n FROM tokens'),
      );
      assert.deepEqual({ ...row }, { id: 1, expires_at: big, n: 1 });
      assert.equal(typeof row?.n, 'number', 'COUNT(*) is a number, not a string or bigint');
      const cast = engine.name === 'postgres' ? '::bigint' : '';
      await assert.rejects(
        port.get(statement(`SELECT 9007199254740993${cast} AS n`)),
        (err) =>
          isStorageError(err, 'out-of-range') && /outside the range Castellan can read exactly/.test(err.message),
      );
    });

    test('bytes round-trip unchanged', async (t) => {
      const port = await migrated(engine, t);
      const bytes = new Uint8Array(256).map((_, i) => i);
      await port.run(
        statement(
          "INSERT INTO vault_slots (kind, label, wrapped_dek, created_at) VALUES ('passphrase', 'alice', ?, 'now')",
        ),
        [bytes],
      );
      const row = await port.get<{ id: number; wrapped_dek: Uint8Array }>(
        statement('SELECT id, wrapped_dek FROM vault_slots'),
      );
      assert.equal(row?.id, 1);
      assert.deepEqual(new Uint8Array(row!.wrapped_dek), bytes);
    });

    test('rows order by insertion through the dialect (rowid on SQLite, the key column on PostgreSQL)', async (t) => {
      const port = await migrated(engine, t);
      const slot = statement(
        "INSERT INTO vault_slots (kind, label, wrapped_dek, created_at) VALUES ('passphrase', ?, ?, 'now')",
      );
      for (const label of ['carol', 'alice', 'bob']) await port.run(slot, [label, new Uint8Array([1])]);
      const newestFirst = statement<{ label: string }>(
        `SELECT label FROM vault_slots ORDER BY ${port.dialect.rowOrder('vault_slots')} DESC`,
      );
      assert.deepEqual(
        (await port.all(newestFirst)).map((r) => r.label),
        ['bob', 'alice', 'carol'],
      );
    });

    test('the Kysely builder runs on the same connection as the transaction', async (t) => {
      const port = await migrated(engine, t);
      await assert.rejects(
        port.transaction(async (tx) => {
          await tx.db.insertInto('meta').values({ key: 'built', value: 'yes' }).execute();
          const seen = await tx.db.selectFrom('meta').select('value').where('key', '=', 'built').executeTakeFirst();
          assert.equal(seen?.value, 'yes', 'the transaction sees its own uncommitted row');
          throw new Error('roll it back');
        }),
        /roll it back/,
      );
      assert.equal(await port.db.selectFrom('meta').select('key').executeTakeFirst(), undefined);
      await port.db.insertInto('meta').values({ key: 'built', value: 'yes' }).execute();
      assert.deepEqual(await keysOf(port), ['built']);
    });

    test('a closed port refuses work with a clear error, and closing twice is harmless', async (t) => {
      const port = await migrated(engine, t);
      await port.close();
      await port.close();
      assert.equal(port.closed, true);
      await assert.rejects(
        port.all(metaKeys),
        (err) => isStorageError(err, 'misuse') && /has been closed/.test(err.message),
      );
    });
  });
}

/** Runs test/harness/chain-writer.ts as its own process: one admin on its own machine. */
function writerProcess(engine: 'sqlite' | 'postgres', target: string, writer: string, count: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(import.meta.dirname, '../harness/chain-writer.ts'), engine, target, writer, String(count)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const engine of ENGINES) {
  nodeTest(
    `four writer processes on one ${engine.name} database keep the hash chain intact (400/400)`,
    { skip: engine.skip },
    async (t) => {
      let target: string;
      let reader: StoragePort;
      if (engine.name === 'postgres') {
        target = await freshPostgresDatabase(t);
        reader = await openPostgresStorage({ url: target });
      } else {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-writers-'));
        t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
        target = path.join(dir, 'castellan.db');
        reader = openSqliteStorage({ path: target });
      }
      t.after(() => reader.close());
      await reader.migrate();
      const results = await Promise.all(
        ['w0', 'w1', 'w2', 'w3'].map((w) => writerProcess(engine.name, target, w, 100)),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      await assertChainIntact(reader, 400);
      const perWriter = await reader.all(
        statement<{ actor_user: string; n: number }>(
          'SELECT actor_user, COUNT(*) AS n FROM audit GROUP BY actor_user ORDER BY actor_user',
        ),
      );
      assert.deepEqual(
        perWriter.map((r) => [r.actor_user, r.n]),
        [
          ['w0', 100],
          ['w1', 100],
          ['w2', 100],
          ['w3', 100],
        ],
      );
    },
  );
}

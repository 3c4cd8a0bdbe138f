/**
 * Team mode's roles on a real cluster, as docs/postgres.md tells an operator to set them
 * up: the owner migrates, the app role works — and on `audit` it can only add and read, whatever
 * it tries. Needs CASTELLAN_TEST_DATABASE_URL (scripts/pg-test-cluster.sh run -- ...).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LATEST_SCHEMA_VERSION } from '../../electron/core/workspace/schema.ts';
import { openPostgresStorage, statement } from '../../electron/core/storage/index.ts';
import { APP_ROLE_PRIVILEGES, teamGrantsSql } from '../../electron/core/storage/postgres-roles.ts';
import { PG_SKIP, PG_URL, freshPostgresDatabase, onCluster } from '../harness/pg-database.ts';

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  return u.toString();
}

test(
  'the app role may add to and read the audit log, never change it, and cannot disarm its trigger',
  { skip: PG_SKIP },
  async (t) => {
    const url = await freshPostgresDatabase(t);
    const database = new URL(url).pathname.slice(1);
    const suffix = randomBytes(4).toString('hex');
    const [owner, app] = [`castellan_owner_${suffix}`, `castellan_app_${suffix}`];
    // The operator's set-up, as the README draft gives it (the test cluster trusts local sockets).
    await onCluster(url, `CREATE ROLE ${owner} LOGIN`);
    await onCluster(url, `CREATE ROLE ${app} LOGIN`);
    t.after(async () => {
      await onCluster(PG_URL as string, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await onCluster(PG_URL as string, `DROP ROLE IF EXISTS ${app}`);
      await onCluster(PG_URL as string, `DROP ROLE IF EXISTS ${owner}`);
    });
    await onCluster(url, `REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    await onCluster(url, `CREATE SCHEMA castellan AUTHORIZATION ${owner}`);
    await onCluster(url, `ALTER ROLE ${owner} IN DATABASE ${database} SET search_path = castellan`);
    await onCluster(url, `ALTER ROLE ${app} IN DATABASE ${database} SET search_path = castellan`);

    const ownerPort = await openPostgresStorage({ url: asRole(url, owner) });
    t.after(() => ownerPort.close());
    assert.deepEqual(await ownerPort.migrate(), { from: 0, to: LATEST_SCHEMA_VERSION });
    await ownerPort.exec(teamGrantsSql('castellan', app));

    const tables = await ownerPort.all(
      statement<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'castellan' ORDER BY 1"),
    );
    assert.deepEqual(
      tables.map((r) => r.t),
      Object.keys(APP_ROLE_PRIVILEGES).sort(),
      'every table has its grants listed',
    );

    const port = await openPostgresStorage({ url: asRole(url, app) });
    t.after(() => port.close());
    assert.deepEqual(await port.migrate(), { from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION }, 'the app role reads the schema version');
    await port.transaction(
      async (tx) => {
        await tx.run(
          statement("INSERT INTO audit VALUES (1, 'ts', 'alice', 'app', 'vault.unlock', 'vault', '{}', ?, 'h1')"),
          ['0'.repeat(64)],
        );
        await tx.run(
          statement(
            "INSERT INTO meta (key, value) VALUES ('audit_head_seq', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          ),
        );
      },
      { lockAuditHead: true },
    );
    await port.run(
      statement(
        "INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at) VALUES ('k', 'zlayer', 'HS256', 'active', '\\x01', 'now')",
      ),
    );
    const minted = await port.get<{ id: number }>(
      statement(`INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes, issued_at, expires_at, token_sha256)
               VALUES ('j', 's', 'd', 'svc', 'c', 'zlayer', 'k', 'read', 1, 2, 'h') RETURNING id`),
    );
    assert.equal(minted?.id, 1, 'the app role mints (identity column included)');
    await port.run(statement('UPDATE tokens SET revoked_at = 5 WHERE id = 1'));

    for (const sql of ["UPDATE audit SET target = 'x'", 'DELETE FROM audit', 'TRUNCATE audit']) {
      await assert.rejects(port.run(statement(sql)), /permission denied for table audit/, sql);
    }
    for (const sql of [
      'ALTER TABLE audit DISABLE TRIGGER ALL',
      'DROP TRIGGER audit_append_only ON audit',
      'DROP TABLE audit',
    ]) {
      await assert.rejects(port.exec(sql), /must be owner of (table|relation) audit/, sql);
    }
    await assert.rejects(port.run(statement('DELETE FROM tokens')), /permission denied for table tokens/);
    await assert.rejects(port.run(statement('DELETE FROM signing_keys')), /permission denied for table signing_keys/);
    await assert.rejects(
      port.run(statement('DELETE FROM castellan_migrations')),
      /permission denied for table castellan_migrations/,
    );
    const audit = await ownerPort.all(statement<{ seq: number; target: string }>('SELECT seq, target FROM audit'));
    assert.deepEqual(
      audit.map((r) => ({ ...r })),
      [{ seq: 1, target: 'vault' }],
    );
  },
);

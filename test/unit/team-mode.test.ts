/**
 * Team mode: several admins, on several machines (here: several processes), share one authority
 * in PostgreSQL. Real CLI processes against a real cluster (scripts/pg-test-cluster.sh run -- …);
 * without one these tests are skipped with the reason (test/harness/pg-database.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCastellanError } from '../../shared/errors.ts';
import { PgSyncDatabase } from '../../electron/core/storage/pg-sync.ts';
import { watchChanges, type WorkspaceChange } from '../../electron/core/workspace/change-feed.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { freshPostgresDatabase, PG_SKIP } from '../harness/pg-database.ts';
import { tempDir } from '../harness/services.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const ALICE = 'alice: first admin of the team';
const BOB = 'bob: second admin of the team';

function cliEnv(database: string, admin: string, passphrase: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CASTELLAN_DATABASE_URL: database,
    CASTELLAN_DATA_DIR: path.join(tempDir(), admin),
    PP: passphrase,
    NEW_PP: passphrase,
    USER: admin,
  };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function cli(database: string, admin: string, passphrase: string, args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], {
    env: cliEnv(database, admin, passphrase),
    input: '',
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `castellan ${args.join(' ')} as ${admin}: ${r.stderr}`);
  return r.stdout;
}

function cliAsync(database: string, admin: string, passphrase: string, args: string[]): Promise<{ status: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], {
      env: cliEnv(database, admin, passphrase),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const SPEC = `version: v1
deployment: shop
services:
  web:
    image: { name: ghcr.io/acme/web:1 }
    scale: { mode: fixed, replicas: 40 }
    labels:
      zlayer.io/api-scopes: "deployments:read:shop"
  worker:
    image: { name: ghcr.io/acme/worker:1 }
    scale: { mode: fixed, replicas: 40 }
    labels:
      zlayer.io/api-scopes: "deployments:read:shop"
`;

test('two admins in two processes share one authority in PostgreSQL: both mint and revoke at once, the chain stays intact and names each', { skip: PG_SKIP }, async (t) => {
  const database = await freshPostgresDatabase(t);
  const fs = await import('node:fs');
  const specDir = tempDir();
  fs.writeFileSync(path.join(specDir, 'shop.yaml'), SPEC);
  cli(database, 'alice', ALICE, ['init', '--label', 'alice']);
  // ed25519: tokens with a jti, so each can be revoked (zlayer's daemon format has none).
  cli(database, 'alice', ALICE, ['keys', 'config', '--issuer', 'https://castellan.example', '--audience', 'zlayer']);
  cli(database, 'alice', ALICE, ['keys', 'create', '--profile', 'ed25519']);
  cli(database, 'alice', ALICE, ['deployments', 'import', path.join(specDir, 'shop.yaml')]);
  // Bob's own slot: alice adds it (her passphrase re-authenticates), bob unlocks with his.
  const add = spawnSync(
    process.execPath,
    [CLI, '--passphrase-env', 'PP', 'vault', 'add-passphrase', '--new-passphrase-env', 'BOB_PP', '--label', 'bob'],
    { env: { ...cliEnv(database, 'alice', ALICE), BOB_PP: BOB }, input: '', encoding: 'utf8' },
  );
  assert.equal(add.status, 0, add.stderr);

  // At once: each admin mints a batch for a service of their own, then bulk-revokes it.
  const [a, b] = await Promise.all([
    cliAsync(database, 'alice', ALICE, ['mint-batch', 'shop', 'web', '--profile', 'ed25519']),
    cliAsync(database, 'bob', BOB, ['mint-batch', 'shop', 'worker', '--profile', 'ed25519']),
  ]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const [ra, rb] = await Promise.all([
    cliAsync(database, 'alice', ALICE, ['revoke', '--service', 'shop/web', '--reason', 'superseded']),
    cliAsync(database, 'bob', BOB, ['revoke', '--service', 'shop/worker', '--reason', 'superseded']),
  ]);
  assert.equal(ra.status, 0, ra.stderr);
  assert.match(ra.stdout, /revoked 40 /, ra.stdout);
  assert.equal(rb.status, 0, rb.stderr);

  const ws = Workspace.open(tempDir(), { actor: { user: 'checker', kind: 'cli' }, database });
  t.after(() => ws.close());
  ws.vault.unlockWithPassphrase(BOB);
  const counts = ws.db
    .prepare('SELECT count(*) AS n, count(revoked_at) AS revoked FROM tokens')
    .get() as { n: number; revoked: number };
  assert.deepEqual(counts, { n: 80, revoked: 80 });
  const verified = ws.audit.verify();
  assert.equal(verified.ok, true, JSON.stringify(verified));
  // Minting unlocks the vault, so it names the admin's slot; revoking works locked, so it names
  // the OS account (and the machine) that ran it.
  const who = (sql: string): string[] => (ws.db.prepare(sql).all() as { a: string }[]).map((r) => r.a);
  assert.deepEqual(who("SELECT DISTINCT actor_admin AS a FROM audit WHERE action = 'token.mint' ORDER BY a"), ['alice', 'bob']);
  assert.equal(who("SELECT actor_user AS a FROM audit WHERE action = 'token.revoke_bulk' AND actor_user <> ''").length, 2);
  assert.equal(who("SELECT DISTINCT actor_host AS a FROM audit WHERE action = 'token.revoke_bulk'").length, 1);
});

test('a connection lost in the middle of a transaction applies nothing of it and says so; the next open works', { skip: PG_SKIP }, async (t) => {
  const database = await freshPostgresDatabase(t);
  const ws = Workspace.open(tempDir(), { actor: { user: 'alice', kind: 'cli' }, database });
  const admin = PgSyncDatabase.open(database);
  t.after(() => {
    ws.close();
    admin.close();
  });
  const before = (ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  let caught: unknown;
  try {
    ws.transaction(() => {
      ws.audit.append({ action: 'test.lost', target: 'x', details: {} });
      // Another session ends this workspace's connection, as a failover or a network cut would.
      admin.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'castellan' AND pid <> pg_backend_pid() AND datname = current_database()",
      );
      ws.db.prepare('SELECT 1 AS one').get();
    });
  } catch (err) {
    caught = err;
  }
  assert.ok(isCastellanError(caught), String(caught));
  assert.equal(caught.code, 'UNAVAILABLE');
  assert.match(caught.message, /lost during the transaction: nothing in it was applied/);
  assert.doesNotMatch(caught.message, /password/i);
  const again = Workspace.open(tempDir(), { actor: { user: 'alice', kind: 'cli' }, database });
  t.after(() => again.close());
  assert.equal((again.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n, before);
  assert.equal(again.audit.verify().ok, true);
});

test('team mode refuses clearly: an unreachable server, sslmode=require against a server without TLS, a database of something else', { skip: PG_SKIP }, async (t) => {
  const database = await freshPostgresDatabase(t);
  const open = (url: string): unknown => {
    try {
      Workspace.open(tempDir(), { actor: { user: 'alice', kind: 'cli' }, database: url }).close();
    } catch (err) {
      return err;
    }
    return null;
  };
  const unreachable = open('postgres://alice:s3cret-pw@127.0.0.1:1/castellan');
  assert.ok(isCastellanError(unreachable));
  assert.equal(unreachable.code, 'UNAVAILABLE');
  assert.match(unreachable.message, /cannot connect to PostgreSQL \(database castellan on 127\.0\.0\.1:1\).*nothing was changed/);
  assert.doesNotMatch(unreachable.message, /s3cret-pw|alice/);

  const tls = new URL(database);
  tls.searchParams.set('sslmode', 'require');
  const noTls = open(tls.toString());
  assert.ok(isCastellanError(noTls));
  assert.equal(noTls.code, 'UNAVAILABLE');
  assert.match(noTls.message, /SSL/i);

  const other = PgSyncDatabase.open(database);
  other.exec('CREATE TABLE invoices (id int)');
  other.close();
  const foreign = open(database);
  assert.ok(isCastellanError(foreign));
  assert.match(foreign.message, /already holds 1 table\(s\) that are not a Castellan workspace/);
});

test('pushed changes on PostgreSQL: another admin’s commit NOTIFYs this console, a lost listener reconnects and the console resyncs from its cursor', { skip: PG_SKIP }, async (t) => {
  const database = await freshPostgresDatabase(t);
  const fs = await import('node:fs');
  const specDir = tempDir();
  fs.writeFileSync(path.join(specDir, 'shop.yaml'), SPEC);
  cli(database, 'alice', ALICE, ['init', '--label', 'alice']);
  const ws = Workspace.open(tempDir(), { actor: { user: 'bob', kind: 'app' }, database });
  t.after(() => ws.close());
  const changes: WorkspaceChange[] = [];
  const stop = watchChanges(() => ws, (c) => changes.push(c), { intervalMs: 10 });
  t.after(stop);
  const waitFor = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ok(), `never happened: ${what}`);
  };
  // The listener is up once its first signal has moved.
  await waitFor('the listener connects', () => (ws.changeSignal() ?? 0) > 0);
  const before = ws.changeSignal() as number;
  cli(database, 'alice', ALICE, ['deployments', 'import', path.join(specDir, 'shop.yaml')]);
  await waitFor('a notification from the other process', () => (ws.changeSignal() as number) > before);
  await waitFor('the deployments change reported', () => changes.some((c) => c.domains.includes('deployments')));

  // The listening connection is cut (a failover): it reconnects, and the console resyncs.
  const admin = PgSyncDatabase.open(database);
  t.after(() => admin.close());
  const cut = ws.changeSignal() as number;
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'castellan-listen' AND datname = current_database()");
  await waitFor('the listener reconnects', () => (ws.changeSignal() as number) >= cut + 2);
  changes.length = 0;
  cli(database, 'alice', ALICE, ['keys', 'create', '--profile', 'zlayer']);
  await waitFor('the keys change reported after the reconnect', () => changes.some((c) => c.domains.includes('keys')));
});

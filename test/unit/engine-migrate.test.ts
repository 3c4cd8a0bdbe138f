/**
 * `castellan migrate` (issue 14, point 4): a lived-in workspace — deployments, tokens (some
 * revoked), keys of two profiles, a worker CA with signed and revoked certificates and a CRL, a
 * long audit log — copied from its SQLite file into PostgreSQL and from there into a new folder,
 * each copy opened on its own and used: the same ledger, a log that verifies and keeps chaining,
 * tokens minted before the move that still verify, new ids after the copied ones. And the
 * refusals: a target holding anything (unchanged), a wrong passphrase (target untouched), a
 * malformed URL, a server that cannot be reached (no password in the message).
 *
 * The PostgreSQL tests need CASTELLAN_TEST_DATABASE_URL (scripts/pg-test-cluster.sh run -- ...);
 * without it they report NOT RUN. The file-to-file tests run everywhere.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { DatabaseSync } from 'node:sqlite';
import { listCertificates } from '../../electron/core/ca/certificate-inventory.ts';
import { publishCrl, showCa } from '../../electron/core/ca/ca-store.ts';
import { mintBatch, mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { workspaceJwks } from '../../electron/core/tokens/signing-keys.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import {
  describeMigrationTarget,
  migrateWorkspace,
  parseMigrationTarget,
  type MigrationResult,
} from '../../electron/core/workspace/engine-migrate.ts';
import { verifyWorkspace } from '../../electron/core/workspace/record-integrity.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { PG_SKIP, freshPostgresDatabase, onCluster } from '../harness/pg-database.ts';
import { seedDemoCa, seedDemoWorkspace, TEST_PASSPHRASE } from '../harness/seed.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';
import { isError } from '../harness/tokens.ts';

const pgTest = (name: string, fn: (t: TestContext) => Promise<void>) => test(name, { skip: PG_SKIP }, fn);

const WEAK_KDF = { kdf: { N: 2 ** 10, r: 8, p: 1 }, allowWeakKdfInTests: true } as const;
const ACTOR = { user: 'tester', kind: 'cli' as const };
const OPTIONS = { passphrase: TEST_PASSPHRASE, workspace: WEAK_KDF };
const WRONG = 'definitely not the passphrase';

interface Seeded {
  ws: Workspace;
  /** A zlayer token minted before the move (active). */
  zlayerToken: string;
  /** An ed25519 token minted before the move (active) and its jti. */
  edToken: string;
  edJti: string;
}

/** The source: the demo workspace (deployments, zlayer + ed25519 keys, tokens, one revoked) and the demo CA. */
async function seeded(t: TestContext, opts: { many?: boolean } = {}): Promise<Seeded> {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  const { token } = await seedDemoWorkspace(ws);
  await seedDemoCa(ws);
  const ed = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-9', profile: 'ed25519' });
  const other = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-8', profile: 'ed25519' });
  revokeToken(ws, other.record.jti!, 'superseded');
  if (opts.many) {
    // More rows than migrate reads in one page (2,000), so the paging by primary key is exercised.
    mintBatch(ws, { deployment: 'storefront', service: 'worker', containers: Array.from({ length: 2100 }, (_, i) => `w-${i}`), profile: 'zlayer' });
  }
  return { ws, zlayerToken: token, edToken: ed.token, edJti: ed.record.jti! };
}

function openPg(t: TestContext, url: string): Workspace {
  const ws = Workspace.open(tempDir(), { actor: ACTOR, database: url, ...WEAK_KDF });
  t.after(() => ws.close());
  return ws;
}

function openDir(t: TestContext, dir: string): Workspace {
  const ws = Workspace.open(dir, { actor: ACTOR, ...WEAK_KDF });
  t.after(() => ws.close());
  return ws;
}

/** The ledger as a list an admin would compare: every token, its key, status fields and hash. */
function ledger(ws: Workspace): unknown[] {
  return ws.db
    .prepare('SELECT id, jti, subject, key_id, kid, scopes, issued_at, expires_at, revoked_at, revoke_reason, token_sha256 FROM tokens ORDER BY id')
    .all()
    .map((r) => ({ ...r }));
}

function counts(ws: Workspace): Record<string, number> {
  const out: Record<string, number> = {};
  for (const table of ['meta', 'audit', 'vault_slots', 'deployments', 'services', 'signing_keys', 'tokens', 'ca', 'certificates', 'ca_crl', 'record_macs']) {
    out[table] = Number((ws.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  }
  return out;
}

function lastEntry(ws: Workspace): { seq: number; action: string; details: string } {
  return ws.db.prepare('SELECT seq, action, details FROM audit ORDER BY seq DESC LIMIT 1').get() as {
    seq: number;
    action: string;
    details: string;
  };
}

/**
 * What must hold of a copy opened on its own: the source's ledger, certificates and CA; a log that
 * verifies (records too) and ends with the migrated entry; tokens minted before the move verify
 * there (zlayer through the ledger inspector, ed25519 with jose against its JWKS); a revocation
 * and a new token there continue the chain and the ids.
 */
async function assertWorkingCopy(copy: Workspace, before: { ledger: unknown[]; counts: Record<string, number> }, s: {
  zlayerToken: string;
  edToken: string;
  edJti: string;
}, result: MigrationResult): Promise<void> {
  assert.deepEqual(ledger(copy), before.ledger);
  const copied = counts(copy);
  assert.equal(copied.audit, before.counts.audit! + 1, 'the copied log plus the migrated entry');
  for (const table of ['deployments', 'services', 'signing_keys', 'tokens', 'ca', 'certificates', 'ca_crl', 'vault_slots']) {
    assert.equal(copied[table], before.counts[table], table);
  }
  const last = lastEntry(copy);
  assert.equal(last.action, 'workspace.migrated');
  assert.equal(last.seq, result.target_entry_seq);
  assert.equal(result.audit.entries, before.counts.audit);

  copy.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const verification = verifyWorkspace(copy);
  assert.ok(verification.ok, JSON.stringify(verification));
  assert.equal(verification.count, before.counts.audit! + 1);

  // The CA came along: its certificates (one revoked) and a CRL re-signed by its key.
  assert.ok(showCa(copy) !== null);
  const certs = listCertificates(copy, {}).rows;
  assert.equal(certs.length, 3);
  assert.equal(certs.filter((c) => c.status === 'revoked').length, 1);
  const previous = copy.db.prepare('SELECT crl_number FROM ca_crl').get() as { crl_number: string };
  const crl = await publishCrl(copy);
  assert.equal(crl.entries, 1);
  assert.equal(crl.crlNumber, BigInt(previous.crl_number) + 1n, 'the CRL counter continues from the copied one');

  // Tokens minted before the move.
  assert.equal(inspectWithLedger(copy, s.zlayerToken).verdict, 'valid');
  assert.equal(inspectWithLedger(copy, s.edToken).verdict, 'valid');
  const jwks = createLocalJWKSet(workspaceJwks(copy));
  const verified = await jwtVerify(s.edToken, jwks, { audience: 'zlayer-api', issuer: 'castellan' });
  assert.equal(verified.payload.jti, s.edJti);

  // Used after the move: a revocation chains on after the migrated entry, a new token gets the next id.
  const maxId = Math.max(...before.ledger.map((r) => (r as { id: number }).id));
  const head = lastEntry(copy).seq;
  assert.ok(head > result.target_entry_seq, 'the CRL publication above chained on after the migrated entry');
  revokeToken(copy, s.edJti, 'leaked');
  assert.equal(inspectWithLedger(copy, s.edToken).verdict, 'revoked');
  const revokeEntry = lastEntry(copy);
  assert.equal(revokeEntry.seq, head + 1);
  assert.match(revokeEntry.action, /revoke/);
  const fresh = mintToken(copy, { deployment: 'storefront', service: 'cache', container: 'cache-7', profile: 'zlayer' });
  assert.equal(fresh.record.id, maxId + 1);
  assert.equal(inspectWithLedger(copy, fresh.token).verdict, 'valid');
  const again = verifyWorkspace(copy);
  assert.ok(again.ok, JSON.stringify(again));
}

function snapshot(ws: Workspace): { ledger: unknown[]; counts: Record<string, number> } {
  return { ledger: ledger(ws), counts: counts(ws) };
}

// ---------------------------------------------------------------------------
// SQLite → PostgreSQL → SQLite

pgTest('a workspace moves from its file into PostgreSQL and back into a new folder, verified and audited both ways', async (t) => {
  const s = await seeded(t, { many: true });
  const url = await freshPostgresDatabase(t);
  const before = snapshot(s.ws);
  const sourceAuditBefore = before.counts.audit!;

  const result = await migrateWorkspace(s.ws, url, OPTIONS);
  assert.equal(result.from.engine, s.ws.engine.name);
  assert.equal(result.to.engine, 'postgres');
  assert.ok(!JSON.stringify(result).includes('postgres://'), 'the result names the database, never its URL');
  assert.equal(result.verified.ca, true);
  assert.deepEqual(result.verified.probes.map((p) => p.profile).sort(), ['ed25519', 'zlayer']);
  assert.equal(result.tables.find((x) => x.table === 'tokens')?.rows, before.counts.tokens);
  // The source records where it went, after everything it copied.
  const sourceEntry = lastEntry(s.ws);
  assert.equal(sourceEntry.action, 'workspace.migrated');
  assert.equal(sourceEntry.seq, result.source_entry_seq);
  assert.equal(sourceEntry.seq, sourceAuditBefore + 1);
  assert.equal(JSON.parse(sourceEntry.details).direction, 'out');
  assert.match(JSON.parse(sourceEntry.details).to, /^database castellan_t_/);
  assert.ok(verifyWorkspace(s.ws).ok);

  // Opened on its own, as another admin's console would.
  const pgWs = openPg(t, url);
  assert.equal(pgWs.engine.name, 'postgres');
  const target = JSON.parse(lastEntry(pgWs).details) as { direction: string; from: string; copied_entries: number };
  assert.equal(target.direction, 'in');
  assert.equal(target.copied_entries, sourceAuditBefore);
  await assertWorkingCopy(pgWs, before, s, result);

  // And back: PostgreSQL → a new folder's file.
  const back = path.join(tempDir(), 'back');
  const afterPg = snapshot(pgWs);
  const result2 = await migrateWorkspace(pgWs, { dir: back }, OPTIONS);
  assert.equal(result2.to.engine, 'sqlite');
  assert.equal(result2.to.where, path.join(back, 'castellan.db'));
  assert.equal(lastEntry(pgWs).action, 'workspace.migrated');
  const fileWs = openDir(t, back);
  assert.equal(fs.statSync(back).mode & 0o777, 0o700);
  // The chain: source entries, migrated-in, the revocation and mint made on PostgreSQL, migrated-in again.
  assert.equal(counts(fileWs).audit, afterPg.counts.audit! + 1);
  assert.deepEqual(ledger(fileWs), afterPg.ledger);
  fileWs.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.ok(verifyWorkspace(fileWs).ok);
  assert.equal(inspectWithLedger(fileWs, s.zlayerToken).verdict, 'valid');
  assert.equal(inspectWithLedger(fileWs, s.edToken).verdict, 'revoked', 'revoked on PostgreSQL, still revoked in the file');
  const next = mintToken(fileWs, { deployment: 'storefront', service: 'cache', container: 'cache-8', profile: 'ed25519' });
  assert.equal(next.record.id, Math.max(...afterPg.ledger.map((r) => (r as { id: number }).id)) + 1);
  assert.ok(verifyWorkspace(fileWs).ok);
});

pgTest('a target database that holds anything is refused and left exactly as it was', async (t) => {
  const s = await seeded(t);
  const url = await freshPostgresDatabase(t);
  await migrateWorkspace(s.ws, url, OPTIONS);
  const pgWs = openPg(t, url);
  const before = snapshot(pgWs);
  const sourceBefore = counts(s.ws).audit;

  await assert.rejects(migrateWorkspace(s.ws, url, OPTIONS), isError('CONFLICT', /is not empty \(.*audit: \d+.*\)/));
  assert.deepEqual(snapshot(pgWs), before);
  // The refusal changed nothing in the source's log either (the re-authentication succeeded silently).
  assert.equal(counts(s.ws).audit, sourceBefore);

  // Someone else's data counts too, whatever its table is called.
  const url3 = await freshPostgresDatabase(t);
  await onCluster(url3, 'CREATE TABLE "Customers" (id int); INSERT INTO "Customers" VALUES (1), (2)');
  await assert.rejects(migrateWorkspace(s.ws, url3, OPTIONS), isError('CONFLICT', /not empty \(Customers: 2 row/));
  const left = await onCluster<{ n: string }>(url3, "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
  assert.equal(Number(left[0]!.n), 1, 'no Castellan table was created beside it');

  // One stray row is enough: a database with only a setting in it is not empty.
  const url2 = await freshPostgresDatabase(t);
  const other = openPg(t, url2);
  other.db.prepare("INSERT INTO meta (key, value) VALUES ('stray', 'x')").run();
  await assert.rejects(migrateWorkspace(s.ws, url2, OPTIONS), isError('CONFLICT', /meta: 1/));
  assert.equal(counts(other).audit, 0);
  assert.equal(counts(other).meta, 1);
});

pgTest('a wrong passphrase is refused before the target is touched', async (t) => {
  const s = await seeded(t);
  const url = await freshPostgresDatabase(t);
  await assert.rejects(
    migrateWorkspace(s.ws, url, { ...OPTIONS, passphrase: WRONG }),
    isError('BAD_REQUEST', /wrong passphrase/),
  );
  const tables = await onCluster<{ n: string }>(url, "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'");
  assert.equal(Number(tables[0]!.n), 0, 'not even the schema was created');
  // The failed re-authentication is on the source's record, as any other.
  assert.match(lastEntry(s.ws).action, /reauth|unlock/);
});

pgTest('PostgreSQL → PostgreSQL works too, and the identity sequences move past the copied ids', async (t) => {
  const s = await seeded(t);
  const url = await freshPostgresDatabase(t);
  await migrateWorkspace(s.ws, url, OPTIONS);
  const pgWs = openPg(t, url);
  const url2 = await freshPostgresDatabase(t);
  const result = await migrateWorkspace(pgWs, { database: url2 }, OPTIONS);
  assert.equal(result.from.engine, 'postgres');
  const second = openPg(t, url2);
  second.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.ok(verifyWorkspace(second).ok);
  // A new slot gets the next id after the copied ones (vault_slots.id is an identity column too).
  const slot = second.vault.addPassphraseSlot('another admin passphrase', 'bob');
  assert.equal(slot.id, 2);
});

// ---------------------------------------------------------------------------
// File → file, and what needs no server

test('a file-to-file migrate into a new folder gives a working copy (FOLDER/castellan.db names the folder)', async (t) => {
  const s = await seeded(t, { many: true });
  const before = snapshot(s.ws);
  const dir = path.join(tempDir(), 'copy');
  const result = await migrateWorkspace(s.ws, path.join(dir, 'castellan.db'), OPTIONS);
  assert.equal(result.to.where, path.join(dir, 'castellan.db'));
  const copy = openDir(t, dir);
  await assertWorkingCopy(copy, before, s, result);
});

test('an existing, non-empty folder workspace is refused and unchanged; so is the source itself', async (t) => {
  const s = await seeded(t);
  if (s.ws.engine.name !== 'sqlite') return t.skip('needs workspaces in folders (the PostgreSQL pass keeps them in schemas)');
  const other = openTestWorkspace();
  t.after(() => other.close());
  other.vault.initialize('another passphrase 123');
  const before = snapshot(other);
  other.close();
  await assert.rejects(migrateWorkspace(s.ws, { dir: other.dir }, OPTIONS), isError('CONFLICT', /is not empty/));
  const reopened = openDir(t, other.dir);
  assert.deepEqual(snapshot(reopened), before);
  await assert.rejects(migrateWorkspace(s.ws, { dir: s.ws.dir }, OPTIONS), isError('CONFLICT', /is not empty/));
});

test('a copy that does not verify is rolled back, naming what failed: a source log edited outside Castellan', async (t) => {
  const s = await seeded(t);
  if (s.ws.engine.name !== 'sqlite') return t.skip('edits the source file directly');
  // Someone with write access to the file rewrites an old entry (dropping the trigger that stops Castellan's own code).
  const raw = new DatabaseSync(s.ws.dbPath);
  raw.exec('DROP TRIGGER audit_append_only_update');
  raw.prepare("UPDATE audit SET target = 'deployment:elsewhere' WHERE seq = 2").run();
  raw.close();
  const parent = tempDir();
  const dir = path.join(parent, 'new', 'copy');
  await assert.rejects(
    migrateWorkspace(s.ws, { dir }, OPTIONS),
    isError('INTEGRITY', /did not verify, so it was rolled back .*: audit verify fails at entry 2: entry 2 was altered/),
  );
  assert.deepEqual(fs.readdirSync(parent), [], 'the folders made for the copy are gone again');
  // An existing empty folder stays, without the database file this run created.
  const empty = tempDir();
  await assert.rejects(migrateWorkspace(s.ws, { dir: empty }, OPTIONS), isError('INTEGRITY'));
  assert.deepEqual(fs.readdirSync(empty), []);
});

pgTest('a copy into PostgreSQL that does not verify leaves the database without a row', async (t) => {
  const s = await seeded(t);
  if (s.ws.engine.name !== 'sqlite') return t.skip('edits the source file directly');
  const raw = new DatabaseSync(s.ws.dbPath);
  raw.prepare("UPDATE record_macs SET mac = '00' || substr(mac, 3) WHERE record = 'ca'").run();
  raw.close();
  const url = await freshPostgresDatabase(t);
  await assert.rejects(migrateWorkspace(s.ws, url, OPTIONS), isError('INTEGRITY', /rolled back.*audit verify fails.*CA/i));
  const pgWs = openPg(t, url);
  assert.deepEqual(Object.values(counts(pgWs)), Object.values(counts(pgWs)).map(() => 0));
});

test('a wrong passphrase creates no target folder', async (t) => {
  const s = await seeded(t);
  const dir = path.join(tempDir(), 'never');
  await assert.rejects(migrateWorkspace(s.ws, { dir }, { ...OPTIONS, passphrase: WRONG }), isError('BAD_REQUEST'));
  assert.equal(fs.existsSync(dir), false);
});

test('targets that are not one: malformed URL, another scheme, a plain file, nothing', async (t) => {
  const s = await seeded(t);
  const secret = 'hunter2-very-secret';
  await assert.rejects(
    migrateWorkspace(s.ws, `postgres://admin:${secret}@db.example:notaport/castellan`, OPTIONS),
    (err: Error) => isError('INVALID_INPUT', /malformed/)(err) && !err.message.includes(secret),
  );
  await assert.rejects(migrateWorkspace(s.ws, 'mysql://x@y/z', OPTIONS), isError('INVALID_INPUT', /unsupported target scheme "mysql"/));
  const file = path.join(tempDir(), 'notes.txt');
  fs.writeFileSync(file, 'hello');
  await assert.rejects(migrateWorkspace(s.ws, file, OPTIONS), isError('INVALID_INPUT', /is a file/));
  assert.equal(fs.readFileSync(file, 'utf8'), 'hello');
  await assert.rejects(migrateWorkspace(s.ws, '  ', OPTIONS), isError('INVALID_INPUT', /target is required/));
  await assert.rejects(migrateWorkspace(s.ws, { database: file }, OPTIONS), isError('INVALID_INPUT', /must be a postgres:\/\/ URL/));
  assert.deepEqual(parseMigrationTarget('postgresql://u@h/db'), { database: 'postgresql://u@h/db' });
  assert.equal(describeMigrationTarget({ database: `postgres://u:${secret}@h:5433/db` }), 'database db on h:5433');
});

test('a server that cannot be reached: a clear error, no password in it, and nothing written anywhere', async (t) => {
  const s = await seeded(t);
  const secret = 'p4ssw0rd-not-to-show';
  const before = counts(s.ws).audit;
  await assert.rejects(
    migrateWorkspace(s.ws, `postgres://admin:${secret}@127.0.0.1:1/castellan?connect_timeout=5`, OPTIONS),
    (err: Error) =>
      isError('UNAVAILABLE', /cannot connect to PostgreSQL \(database castellan on 127\.0\.0\.1:1\)/)(err) && !err.message.includes(secret),
  );
  // The re-authentication succeeded, so nothing was audited; the refused copy wrote nothing either.
  assert.equal(counts(s.ws).audit, before);
});

// ---------------------------------------------------------------------------
// Through the real CLI

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'electron/cli/castellan.ts');
const CLI_PASSPHRASE = 'correct horse battery staple 7';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) childEnv[k] = v;
  }
  Object.assign(childEnv, { P: CLI_PASSPHRASE, WRONG }, env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

async function ok(pending: ReturnType<typeof cli>): Promise<string> {
  const run = await pending;
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run.stdout;
}

/** A CLI-made workspace (full-strength scrypt, as an admin's): the samples, an ed25519 key, two tokens. */
async function cliWorkspace(): Promise<string> {
  const dir = path.join(tempDir(), 'ws');
  const env = { CASTELLAN_DATA_DIR: dir };
  await ok(cli(['init', '--passphrase-env', 'P'], env));
  await ok(cli(['deployments', 'import', path.join(REPO, 'samples')], env));
  await ok(cli(['keys', 'create', '--profile', 'ed25519', '--passphrase-env', 'P'], env));
  await ok(cli(['mint', 'storefront', 'web', 'web-0', '--profile', 'ed25519', '--passphrase-env', 'P'], env));
  return dir;
}

test('castellan migrate --to FOLDER through the CLI: copies, verifies, prints what it did; refuses a non-empty target and a wrong passphrase', async () => {
  const dir = await cliWorkspace();
  const env = { CASTELLAN_DATA_DIR: dir };
  const target = path.join(tempDir(), 'moved');

  const bad = await cli(['migrate', '--to', target, '--passphrase-env', 'WRONG'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /wrong passphrase/);
  assert.equal(fs.existsSync(target), false);
  assert.ok(!bad.stderr.includes(WRONG) && !bad.stdout.includes(WRONG));

  const usage = await cli(['migrate', '--passphrase-env', 'P'], env);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /--to is required/);

  const text = await ok(cli(['migrate', '--to', target, '--passphrase-env', 'P'], env));
  assert.match(text, /^migrated .*castellan\.db \(sqlite\) to .*moved\/castellan\.db \(sqlite\)$/m);
  assert.match(text, /^copied: .*tokens 1/m);
  assert.match(text, /^verified: .*1 signing key\(s\) unseal; a token signed by .* \(ed25519\) verifies against the copy$/m);
  assert.match(text, /^audited: workspace\.migrated is entry #\d+ in the copy and entry #\d+ here$/m);

  const listed = JSON.parse(await ok(cli(['tokens', 'list', '--json'], { CASTELLAN_DATA_DIR: target }))) as { rows: unknown[] };
  const original = JSON.parse(await ok(cli(['tokens', 'list', '--json'], env))) as { rows: unknown[] };
  assert.deepEqual(listed.rows, original.rows);
  assert.match(await ok(cli(['audit', 'verify', '--passphrase-env', 'P'], { CASTELLAN_DATA_DIR: target })), /audit chain OK/);

  const again = await cli(['migrate', '--to', target, '--passphrase-env', 'P', '--json'], env);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /is not empty/);
});

pgTest('castellan migrate --to-env VAR into PostgreSQL, then --database URL works against it', async (t) => {
  const dir = await cliWorkspace();
  const url = await freshPostgresDatabase(t);
  const out = JSON.parse(await ok(cli(['migrate', '--to-env', 'TARGET', '--passphrase-env', 'P', '--json'], { CASTELLAN_DATA_DIR: dir, TARGET: url }))) as MigrationResult;
  assert.equal(out.to.engine, 'postgres');
  assert.ok(!JSON.stringify(out).includes(url));
  const pgEnv = { CASTELLAN_DATA_DIR: dir, CASTELLAN_DATABASE_URL: url };
  assert.match(await ok(cli(['audit', 'verify', '--passphrase-env', 'P'], pgEnv)), /audit chain OK/);
  const listed = JSON.parse(await ok(cli(['tokens', 'list', '--json'], pgEnv))) as { rows: { jti: string }[] };
  assert.equal(listed.rows.length, 1);
  await ok(cli(['revoke', listed.rows[0]!.jti, '--reason', 'leaked', '--passphrase-env', 'P'], pgEnv));
  assert.match(await ok(cli(['audit', 'verify', '--passphrase-env', 'P'], pgEnv)), /audit chain OK/);

  // And back out of PostgreSQL (the source named with --database) into a new folder.
  const back = path.join(tempDir(), 'back');
  const text = await ok(cli(['--database', url, 'migrate', '--to', back, '--passphrase-env', 'P'], { CASTELLAN_DATA_DIR: dir }));
  assert.match(text, /^migrated database castellan_t_\w+ on .* \(postgres\) to .*back\/castellan\.db \(sqlite\)$/m);
  assert.ok(!text.includes('postgres://'));
  const backEnv = { CASTELLAN_DATA_DIR: back };
  const moved = JSON.parse(await ok(cli(['tokens', 'list', '--status', 'revoked', '--json'], backEnv))) as { rows: { jti: string }[] };
  assert.deepEqual(moved.rows.map((r) => r.jti), [listed.rows[0]!.jti]);
  assert.match(await ok(cli(['audit', 'verify', '--passphrase-env', 'P'], backEnv)), /audit chain OK/);
});

/**
 * The attacks of issue 11 on authenticated history and records, each run against a real
 * workspace file by an "attacker" holding only the file (a separate SQLite connection, no
 * passphrase): the full audit rewrite with recomputed hashes and head, deleting, reordering and
 * inserting entries, cutting the end off, stripping every MAC, swapping a key's public JWK under
 * its real kid, and editing a setting, the token config, the CA record, the CRL state and the
 * revocation list number. Each must be caught with a specific message once the admin unlocks.
 * Then the anchors outside the database: a workspace rebuilt from scratch with a new vault is
 * caught against an earlier export's signed checkpoint, and the real CLI says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { auditEntryHash, type AuditDetails } from '../../electron/core/workspace/audit.ts';
import { exportCaBundle, exportCrl, initCa, publishCrl } from '../../electron/core/ca/ca-store.ts';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import {
  exportAuditWithCheckpoint,
  parseCheckpoint,
  verifyWorkspace,
  type AuditCheckpoint,
} from '../../electron/core/workspace/record-integrity.ts';
import { exportRevocationList } from '../../electron/core/tokens/revocation.ts';
import {
  createKey,
  exportJwks,
  getTokenConfig,
  listKeys,
  rotateKey,
  setTokenConfig,
} from '../../electron/core/tokens/signing-keys.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import { createWorkerCa } from '../../electron/core/ca/worker-ca.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { revokeCertificate } from '../../electron/core/ca/certificate-inventory.ts';
import { SAMPLES_DIR, seedDemoCa, TEST_PASSPHRASE } from '../harness/seed.ts';
import { openTestWorkspace, tempDir, testRouter, testServices } from '../harness/services.ts';
import { isError } from '../harness/tokens.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));

interface Prepared {
  dir: string;
  ws: Workspace;
}

/** A workspace with history: vault, samples, an ed25519 and a zlayer key, tokens minted. */
async function prepared(t: { after(fn: () => void): void }): Promise<Prepared> {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'workspace');
  const ws = openTestWorkspace(dir);
  t.after(() => ws.close());
  ws.vault.initialize(TEST_PASSPHRASE);
  importDeployments(ws, readSpecFiles(SAMPLES_DIR));
  await createKey(ws, 'ed25519');
  await createKey(ws, 'zlayer');
  for (let i = 0; i < 3; i++) mintToken(ws, { deployment: 'storefront', service: 'web', container: `web-${i}` });
  return { dir, ws };
}

/** The attacker: the file, a plain SQLite connection, and no passphrase. */
function attack(ws: Workspace, fn: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(ws.dbPath);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

interface Row {
  seq: number;
  ts: string;
  actor_user: string;
  actor_kind: 'app' | 'cli';
  actor_admin: string | null;
  actor_host: string | null;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
  mac: string | null;
}

/**
 * The rewrite from the issue: drop the append-only triggers, replace the log by `edit(rows)`
 * renumbered from 1 with every SHA-256 and the head in meta recomputed, restore the triggers.
 * MACs stay where they were (`keepMacs`) or are cleared.
 */
function rewriteLog(db: DatabaseSync, edit: (rows: Row[]) => Row[], keepMacs = true): void {
  const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as unknown as Row[];
  const edited = edit(rows.map((r) => ({ ...r })));
  db.exec('DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;');
  db.exec('DELETE FROM audit');
  let prev = '0'.repeat(64);
  const insert = db.prepare(
    'INSERT INTO audit (seq, ts, actor_user, actor_kind, actor_admin, actor_host, action, target, details, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  edited.forEach((r, i) => {
    const entry = { ...r, seq: i + 1, prev_hash: prev, details: JSON.parse(r.details) as AuditDetails };
    const hash = auditEntryHash(entry);
    insert.run(i + 1, r.ts, r.actor_user, r.actor_kind, r.actor_admin, r.actor_host, r.action, r.target, r.details, prev, hash, keepMacs ? r.mac : null);
    prev = hash;
  });
  db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head_seq'").run(String(edited.length));
  db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head_hash'").run(prev);
  db.exec(`CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;`);
}

function cli(dir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CASTELLAN_DATA_DIR: dir, PP: TEST_PASSPHRASE };
  delete env.NODE_TEST_CONTEXT;
  delete env.CASTELLAN_DEBUG;
  const r = spawnSync(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], { env, input: '', encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an untouched workspace verifies: every entry authenticated, every record OK', async (t) => {
  const { ws } = await prepared(t);
  const result = verifyWorkspace(ws);
  assert.equal(result.ok, true, result.reason ?? '');
  assert.equal(result.authenticated, result.count);
  assert.deepEqual(result.records, []);
  assert.equal(ws.vault.recordsSealed(), true);
});

test('the full rewrite from the issue (entry deleted, every actor renamed, hashes and head recomputed) is caught at entry 1', async (t) => {
  const { dir, ws } = await prepared(t);
  const count = verifyWorkspace(ws).count;
  ws.close();
  const reopened = openTestWorkspace(dir);
  t.after(() => reopened.close());
  attack(reopened, (db) =>
    rewriteLog(db, (rows) => rows.filter((r) => r.seq !== 4).map((r) => ({ ...r, actor_user: 'mallory' }))),
  );
  // The keyless chain alone is fooled, exactly as the issue reports...
  assert.deepEqual(reopened.audit.verify(), { ok: true, count: count - 1 });
  // ...the authenticated check is not.
  reopened.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const result = verifyWorkspace(reopened);
  assert.equal(result.ok, false);
  assert.equal(result.brokenAt, 1);
  assert.match(result.reason!, /^entry 1 fails its authentication code: it was written or rewritten outside Castellan/);

  // And the real CLI exits 2 naming the entry.
  reopened.close();
  const run = cli(dir, ['audit', 'verify']);
  assert.equal(run.status, 2, run.stdout);
  assert.match(run.stderr, /audit verification failed at entry 1: entry 1 fails its authentication code/);
});

test('deleting, reordering or inserting an entry (chain recomputed) is caught at that entry', async (t) => {
  const cases: { name: string; edit: (rows: Row[]) => Row[]; at: number; reason: RegExp }[] = [
    {
      name: 'delete entry 3',
      edit: (rows) => rows.filter((r) => r.seq !== 3),
      at: 3,
      reason: /entry 3 fails its authentication code/,
    },
    {
      name: 'swap entries 2 and 3',
      edit: (rows) => [rows[0]!, rows[2]!, rows[1]!, ...rows.slice(3)],
      at: 2,
      reason: /entry 2 fails its authentication code/,
    },
    {
      name: 'insert a forged entry at 3',
      edit: (rows) => [
        ...rows.slice(0, 2),
        { ...rows[1]!, action: 'key.create', target: 'key:forged', details: '{}', mac: null },
        ...rows.slice(2),
      ],
      at: 3,
      reason: /entry 3 carries no authentication code although the log was sealed past it/,
    },
  ];
  for (const c of cases) {
    const { ws } = await prepared(t);
    ws.vault.lock();
    attack(ws, (db) => rewriteLog(db, c.edit));
    ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
    const result = verifyWorkspace(ws);
    assert.equal(result.ok, false, c.name);
    assert.equal(result.brokenAt, c.at, c.name);
    assert.match(result.reason!, c.reason, c.name);
  }
});

test('cutting entries off the end, or stripping every MAC and the seal, is caught and never re-adopted', async (t) => {
  const { ws } = await prepared(t);
  const count = verifyWorkspace(ws).count;
  ws.vault.lock();
  attack(ws, (db) => rewriteLog(db, (rows) => rows.slice(0, -2)));
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const cut = verifyWorkspace(ws);
  assert.equal(cut.ok, false);
  assert.equal(cut.brokenAt, count - 1);
  assert.match(cut.reason!, new RegExp(`entries ${count - 1} to ${count} are missing from the end of the log \\(its sealed head is entry ${count}\\)`));

  const other = await prepared(t);
  other.ws.vault.lock();
  attack(other.ws, (db) => {
    rewriteLog(db, (rows) => rows.map((r) => ({ ...r, actor_user: 'mallory' })), false);
    db.exec("DELETE FROM audit_late_mac; DELETE FROM meta WHERE key = 'audit_seal'");
  });
  // The unlock does not adopt the stripped log as if it were an old, never-sealed one.
  other.ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const stripped = verifyWorkspace(other.ws);
  assert.equal(stripped.ok, false);
  assert.equal(stripped.brokenAt, 1);
  assert.match(stripped.reason!, /entry 1 carries no authentication code although the log was sealed past it/);
});

test('entries appended while the vault is locked are reported as unauthenticated, then sealed by the next unlock', async (t) => {
  const { dir, ws } = await prepared(t);
  const count = verifyWorkspace(ws).count;
  const locked = openTestWorkspace(dir, 'cli');
  t.after(() => locked.close());
  locked.transaction(() => locked.audit.append({ action: 'test.locked', target: 'x' }));
  locked.transaction(() => locked.audit.append({ action: 'test.locked', target: 'y' }));
  const tail = verifyWorkspace(ws);
  assert.equal(tail.ok, false);
  assert.equal(tail.brokenAt, null);
  assert.deepEqual(tail.unauthenticated, { from: count + 1, to: count + 2 });
  assert.match(tail.reason!, new RegExp(`entries ${count + 1} to ${count + 2} were appended while the vault was locked and are not authenticated yet`));
  locked.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const sealed = verifyWorkspace(ws);
  assert.equal(sealed.ok, true, sealed.reason ?? '');
  assert.equal(sealed.authenticated, count + 2);
});

test('the key swap: an attacker public key under the real kid is never published nor trusted', async (t) => {
  const { ws } = await prepared(t);
  const row = ws.db.prepare("SELECT id, kid, public_jwk FROM signing_keys WHERE profile = 'ed25519'").get() as {
    id: string;
    kid: string;
    public_jwk: string;
  };
  const attacker = generateKeyPairSync('ed25519');
  const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: row.kid, alg: 'EdDSA', use: 'sig' };
  ws.vault.lock();
  attack(ws, (db) =>
    db.prepare('UPDATE signing_keys SET public_jwk = ? WHERE id = ?').run(JSON.stringify(attackerJwk), row.id),
  );
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);

  const { issuer, audience } = getTokenConfig(ws);
  const now = Math.floor(Date.now() / 1000);
  const forged = await new SignJWT({
    scopes: ['deployment:*:write', 'secret:*:write'],
    roles: ['admin'],
    deployment: 'storefront',
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: 'JWT' })
    .setSubject('container:storefront/web/web-0')
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(attacker.privateKey);

  const refusal = new RegExp(`the key record ${row.id} fails its authentication check: it was changed outside Castellan`);
  assert.throws(() => exportJwks(ws), isError('INTEGRITY', refusal));
  assert.throws(() => inspectWithLedger(ws, forged), isError('INTEGRITY', refusal));
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-9', profile: 'ed25519' }),
    isError('INTEGRITY', refusal),
  );
  const result = verifyWorkspace(ws);
  assert.equal(result.ok, false);
  assert.deepEqual(result.records, [
    { record: `signing_key:${row.id}`, reason: `the key record ${row.id} fails its authentication check: it was changed outside Castellan` },
  ]);
  // The audit log itself is intact: the report says what failed.
  assert.equal(result.brokenAt, null);
  assert.match(result.reason!, refusal);
});

test('a key inserted or deleted in the file, or a flag cleared, is caught', async (t) => {
  const { ws } = await prepared(t);
  ws.vault.lock();
  attack(ws, (db) => {
    db.exec("UPDATE signing_keys SET compromised = 1 WHERE profile = 'zlayer'");
    db.exec(
      "INSERT INTO signing_keys (id, profile, alg, kid, state, public_jwk, sealed_private, compromised, created_at) SELECT 'ed25519-forged', profile, alg, 'forged-kid', 'verify-only', public_jwk, sealed_private, 0, created_at FROM signing_keys WHERE profile = 'ed25519'",
    );
  });
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const reasons = verifyWorkspace(ws).records.map((r) => r.reason);
  assert.ok(reasons.some((r) => /^the key record zlayer-\w+ fails its authentication check/.test(r)), reasons.join('\n'));
  assert.ok(reasons.includes('the key record ed25519-forged has no authentication code: it was added outside Castellan'));
  assert.ok(reasons.includes('the set of signing keys fails its authentication check: it was changed outside Castellan'));
  assert.throws(() => exportJwks(ws), isError('INTEGRITY', /set of signing keys fails/));
});

test('a loosened setting or a changed issuer in the file is refused, never applied', async (t) => {
  const { ws } = await prepared(t);
  updateWorkspaceSettings(ws, { max_token_ttl_secs: 3600 });
  setTokenConfig(ws, { issuer: 'https://castellan.example' });
  ws.vault.lock();
  attack(ws, (db) => {
    db.prepare("UPDATE meta SET value = ? WHERE key = 'setting:max_token_ttl_secs'").run(String(30 * 86_400));
    db.prepare("UPDATE meta SET value = 'https://evil.example' WHERE key = 'issuer'").run();
  });
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.throws(
    () => readWorkspaceSettings(ws),
    isError('INTEGRITY', /the workspace security settings fails its authentication check: it was changed outside Castellan; Castellan will not apply them/),
  );
  assert.throws(() => getTokenConfig(ws), isError('INTEGRITY', /token issuer\/audience configuration fails its authentication check/));
  const records = verifyWorkspace(ws).records.map((r) => r.record);
  assert.deepEqual(records.sort(), ['settings', 'token_config']);
});

test('a replaced CA certificate and a CRL rolled back to an older one are refused', async (t) => {
  const { ws } = await prepared(t);
  await initCa(ws);
  const first = ws.db.prepare('SELECT * FROM ca_crl').get() as Record<string, string | number | Uint8Array>;
  await publishCrl(ws);
  const other = await createWorkerCa();
  ws.vault.lock();
  attack(ws, (db) => {
    db.prepare('UPDATE ca SET cert_der = ? WHERE id = 1').run(other.certDer);
    // Replay CRL #1 (and its counter): a rollback that would "un-revoke" what #2 revoked.
    db.prepare('UPDATE ca_crl SET crl_number = ?, this_update = ?, next_update = ?, entries = ?, crl_der = ?').run(
      first.crl_number as string,
      first.this_update as string,
      first.next_update as string,
      first.entries as number,
      first.crl_der as Uint8Array,
    );
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'crl_number'").run();
  });
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.throws(
    () => exportCaBundle(ws, 'pem', () => undefined),
    isError('INTEGRITY', /the worker CA record fails its authentication check: it was changed outside Castellan; Castellan will not publish it/),
  );
  await assert.rejects(exportCrl(ws, 'pem', () => undefined), isError('INTEGRITY', /the CRL state fails its authentication check/));
  await assert.rejects(publishCrl(ws), isError('INTEGRITY', /worker CA record fails/));
  assert.deepEqual(verifyWorkspace(ws).records.map((r) => r.record).sort(), ['ca', 'crl']);
});

test('a revocation list number lowered in the file (to replay an older list) is refused', async (t) => {
  const { ws } = await prepared(t);
  exportRevocationList(ws);
  exportRevocationList(ws);
  ws.vault.lock();
  attack(ws, (db) => db.exec("UPDATE meta SET value = '1' WHERE key = 'revocation_list_seq'"));
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.throws(() => exportRevocationList(ws), isError('INTEGRITY', /the revocation list number fails its authentication check/));
});

test('exports carry a signed checkpoint; a later log extends it; a rebuilt workspace with a new vault does not', async (t) => {
  const { dir, ws } = await prepared(t);
  let jsonl = '';
  const cp = exportAuditWithCheckpoint(ws, 'jsonl', (text) => (jsonl = text));
  const lines = jsonl.trimEnd().split('\n');
  assert.deepEqual(JSON.parse(lines.at(-1)!), { checkpoint: cp });
  assert.equal(cp.count, lines.length - 1, 'the checkpoint covers every entry exported, its own export included');
  assert.equal(cp.head, (JSON.parse(lines.at(-2)!) as { hash: string }).hash);
  assert.deepEqual(parseCheckpoint(jsonl), cp);
  let csv = '';
  exportAuditWithCheckpoint(ws, 'csv', (text) => (csv = text));
  assert.equal(parseCheckpoint(csv).count, cp.count + 1);

  mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-7' });
  const later = verifyWorkspace(ws, cp);
  assert.equal(later.ok, true, later.reason ?? '');
  assert.deepEqual(later.checkpoint, { count: cp.count, head: cp.head, ts: cp.ts, extends: true, reason: null });

  // A tampered checkpoint (a smaller count) is refused on its signature.
  const tampered: AuditCheckpoint = { ...cp, count: cp.count - 1 };
  assert.match(verifyWorkspace(ws, tampered).checkpoint!.reason!, /signature does not verify/);

  // The attacker rebuilds the workspace from scratch with a vault of their own.
  const exportFile = path.join(path.dirname(dir), 'audit.jsonl');
  fs.writeFileSync(exportFile, jsonl);
  ws.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const rebuilt = openTestWorkspace(dir);
  t.after(() => rebuilt.close());
  rebuilt.vault.initialize(TEST_PASSPHRASE);
  importDeployments(rebuilt, readSpecFiles(SAMPLES_DIR));
  const alone = verifyWorkspace(rebuilt);
  assert.equal(alone.ok, true, 'self-consistent on its own');
  const against = verifyWorkspace(rebuilt, cp);
  assert.equal(against.ok, false);
  assert.match(against.reason!, /the checkpoint of .* was signed by another vault .*: the workspace was rebuilt or its vault replaced since that export/);

  rebuilt.close();
  const run = cli(dir, ['audit', 'verify', '--against', exportFile]);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /audit verification failed: the checkpoint of .* was signed by another vault/);
  const bad = cli(dir, ['audit', 'verify', '--against', SAMPLES_DIR + '/storefront.yaml']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /holds no Castellan audit checkpoint/);
});

test('the audit:verify channel names the first entry that fails, and never says OK while the vault is locked', async (t) => {
  const { ws } = await prepared(t);
  const origin = 'http://castellan.test';
  const router = testRouter(testServices(ws))(origin);
  const sender = { isMainFrame: true, url: `${origin}/index.html` };
  const verify = async () =>
    (await router.dispatch('audit:verify', sender, {})) as {
      ok: boolean;
      data: { ok: boolean; count: number; brokenAt: number | null; reason: string | null; records?: unknown[] };
    };

  const clean = await verify();
  assert.equal(clean.ok, true);
  assert.equal(clean.data.ok, true, clean.data.reason ?? '');
  assert.deepEqual(clean.data.records, []);

  ws.vault.lock();
  const locked = await verify();
  assert.deepEqual([locked.data.ok, locked.data.brokenAt], [false, null]);
  assert.match(locked.data.reason!, /the vault is locked: the hash chain is intact but cannot be authenticated/);

  attack(ws, (db) => rewriteLog(db, (rows) => rows.map((r, i) => (i === 4 ? { ...r, target: 'forged' } : r))));
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const broken = await verify();
  assert.deepEqual([broken.data.ok, broken.data.brokenAt], [false, 5]);
  assert.match(broken.data.reason!, /^entry 5 fails its authentication code/);
});

test('a spent key retired while the vault was locked is accepted, and re-authenticated at the next unlock', async (t) => {
  const { ws } = await prepared(t);
  const rotated = await rotateKey(ws, 'ed25519');
  const oldId = rotated.previous!.id;
  ws.vault.lock();
  // Listing retires spent keys lazily, with no key to re-MAC the row.
  const listed = listKeys(ws).find((k) => k.id === oldId)!;
  assert.equal(listed.state, 'retired');
  const macBefore = ws.db.prepare('SELECT mac FROM record_macs WHERE record = ?').get(`signing_key:${oldId}`);
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.notDeepEqual(ws.db.prepare('SELECT mac FROM record_macs WHERE record = ?').get(`signing_key:${oldId}`), macBefore);
  const result = verifyWorkspace(ws);
  assert.equal(result.ok, true, result.reason ?? '');

  // The tolerance covers retiring only: the same row flipped back to active by hand fails.
  ws.vault.lock();
  attack(ws, (db) => db.prepare("UPDATE signing_keys SET state = 'verify-only', retired_at = NULL WHERE id = ?").run(oldId));
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.deepEqual(
    verifyWorkspace(ws).records.map((r) => r.record),
    [`signing_key:${oldId}`],
  );
});

test('a certificate revocation undone in the file is refused: no CRL is signed without it', async (t) => {
  const { ws } = await prepared(t);
  await seedDemoCa(ws);
  const revoked = ws.db.prepare('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL').get() as { serial: string };
  const other = ws.db.prepare('SELECT serial FROM certificates WHERE revoked_at IS NULL').get() as { serial: string };
  ws.vault.lock();
  attack(ws, (db) => db.prepare('UPDATE certificates SET revoked_at = NULL, revocation_reason = NULL WHERE serial = ?').run(revoked.serial));
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const refusal = /the revoked certificates no longer match those CRL #\d+ was built from: a revocation was undone or added outside Castellan; Castellan will not sign a CRL from them/;
  await assert.rejects(publishCrl(ws), isError('INTEGRITY', refusal));
  await assert.rejects(revokeCertificate(ws, { serial: other.serial, reason: 'superseded' }), isError('INTEGRITY', refusal));
  assert.deepEqual(verifyWorkspace(ws).records.map((r) => r.record), ['crl']);
});

test('a locked-tail entry edited in the file before the next unlock is still reported after that unlock seals the tail', async (t) => {
  const { dir, ws } = await prepared(t);
  const count = verifyWorkspace(ws).count;
  ws.vault.lock();
  const locked = openTestWorkspace(dir, 'cli');
  t.after(() => locked.close());
  locked.transaction(() => locked.audit.append({ action: 'test.locked', target: 'x' }));
  locked.transaction(() => locked.audit.append({ action: 'test.locked', target: 'y' }));
  attack(ws, (db) => {
    db.exec('DROP TRIGGER audit_append_only_update');
    db.prepare("UPDATE audit SET target = 'forged' WHERE seq = ?").run(count + 1);
  });
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const result = verifyWorkspace(ws);
  assert.equal(result.ok, false);
  assert.equal(result.brokenAt, count + 1);
  assert.match(result.reason!, new RegExp(`entry ${count + 1} was altered: its contents no longer match its hash`));
});

test('vault subkeys: HKDF per purpose, stable across unlocks, LOCKED while locked; a sealed vault still unlocks', async (t) => {
  const { ws } = await prepared(t);
  const a1 = ws.vault.deriveKey('purpose a');
  const b1 = ws.vault.deriveKey('purpose b');
  assert.equal(a1.length, 32);
  assert.notDeepEqual(a1, b1);
  assert.throws(() => ws.vault.deriveKey(''), isError('INTERNAL', /non-empty purpose/));
  ws.vault.lock();
  assert.throws(() => ws.vault.deriveKey('purpose a'), isError('LOCKED'));
  assert.throws(() => ws.vault.recordsSealed(), isError('LOCKED'));
  // The stored key check now carries the "sealed" label; the passphrase still opens the vault.
  ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  assert.equal(ws.vault.recordsSealed(), true);
  assert.deepEqual(ws.vault.deriveKey('purpose a'), a1);
  // A check value that is neither label's is refused as before.
  ws.vault.lock();
  attack(ws, (db) => db.exec(
      "UPDATE meta SET value = (CASE WHEN substr(value, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(value, 2) WHERE key = 'vault_dek_check'",
    ));
  assert.throws(
    () => ws.vault.unlockWithPassphrase(TEST_PASSPHRASE),
    isError('INTEGRITY', /holds a key that is not this workspace's data key/),
  );
});

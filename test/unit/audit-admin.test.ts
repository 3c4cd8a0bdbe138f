/**
 * Team semantics (issue 14): every audit entry names the admin (the label of the vault slot that
 * unlocked the workspace: one slot per admin) and the machine, both inside the hash chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { describeActor } from '../../shared/audit-actor.ts';
import { currentHostName } from '../../electron/core/workspace/actor.ts';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { getToken } from '../../electron/core/tokens/token-ledger.ts';
import { openTestWorkspace, sqliteOnly } from '../harness/services.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from '../harness/seed.ts';

const BOB_PASSPHRASE = 'bob has his own passphrase';

/** alice initialised the vault; bob has a slot of his own; the samples are imported while locked. */
async function twoAdmins() {
  const ws = openTestWorkspace();
  importDeployments(ws, readSpecFiles(SAMPLES_DIR));
  ws.vault.initialize(TEST_PASSPHRASE, { label: 'alice' });
  await ws.vault.reauthenticate({ passphrase: TEST_PASSPHRASE });
  ws.vault.addPassphraseSlot(BOB_PASSPHRASE, 'bob');
  await createKey(ws, 'zlayer');
  return ws;
}

function lastEntry(ws: ReturnType<typeof openTestWorkspace>) {
  return ws.audit.list({ limit: 1 }).rows[0]!;
}

test('entries name the admin whose slot unlocked the vault, and the machine', async () => {
  const ws = await twoAdmins();
  try {
    assert.equal(ws.vault.admin, 'alice', 'initialising unlocks as the first slot');
    assert.equal(lastEntry(ws).actor_admin, 'alice');

    ws.vault.lock();
    assert.equal(ws.vault.admin, null);
    ws.vault.unlockWithPassphrase(BOB_PASSPHRASE);
    assert.equal(ws.vault.admin, 'bob');
    const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
    const entry = lastEntry(ws);
    assert.equal(entry.action, 'token.mint');
    assert.equal(entry.actor_admin, 'bob');
    assert.equal(entry.actor_host, currentHostName());
    assert.equal(entry.actor_host, os.hostname().slice(0, 253));
    assert.equal(entry.actor_user, 'tester');

    // The token's history says who, where and through what.
    const history = getToken(ws, minted.record.id).history;
    assert.equal(history.at(-1)!.actor, `bob (tester@${currentHostName()}, app)`);

    // Entries written while the vault was locked name the machine but no admin.
    const imported = ws.audit.list({ action_contains: 'deployment.import', limit: 10 }).rows;
    assert.ok(imported.length > 0);
    for (const e of imported) {
      assert.equal(e.actor_admin, undefined);
      assert.equal(e.actor_host, currentHostName());
    }

    // The actor filter finds an admin's entries as well as an OS user's.
    const bobs = ws.audit.list({ actor: 'bob', limit: 100 }).rows;
    assert.ok(bobs.length >= 1 && bobs.every((e) => e.actor_admin === 'bob'));
    assert.ok(ws.audit.list({ text: 'bob', limit: 100 }).total >= bobs.length);

    assert.deepEqual(ws.audit.verify(), { ok: true, count: ws.audit.list({ limit: 1 }).total });
    assert.equal(ws.integrity.verifyAudit().ok, true);

    // CSV carries both columns, empty where absent.
    const csv = ws.audit.exportCsv().split('\r\n');
    assert.equal(csv[0], 'seq,ts,actor_user,actor_kind,action,target,details,prev_hash,hash,actor_admin,actor_host');
    assert.ok(csv[1]!.startsWith("1,") && csv[1]!.endsWith(`,,${currentHostName()}`), csv[1]);
  } finally {
    ws.close();
  }
});

test('the admin and the machine are in the chain: changing or erasing either is caught', { skip: sqliteOnly('edits audit rows in the file with the append-only trigger dropped') }, async () => {
  const ws = await twoAdmins();
  try {
    ws.vault.lock();
    ws.vault.unlockWithPassphrase(BOB_PASSPHRASE);
    mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
    const seq = lastEntry(ws).seq;
    // Someone with the file drops the append-only guard and rewrites who did it.
    ws.db.exec('DROP TRIGGER audit_append_only_update');
    for (const [column, value] of [
      ['actor_admin', "'alice'"],
      ['actor_admin', 'NULL'],
      ['actor_host', "'elsewhere'"],
      ['actor_host', 'NULL'],
    ] as const) {
      const before = ws.db.prepare(`SELECT ${column} AS v FROM audit WHERE seq = ?`).get(seq) as { v: string };
      ws.db.prepare(`UPDATE audit SET ${column} = ${value} WHERE seq = ?`).run(seq);
      const verdict = ws.audit.verify();
      assert.equal(verdict.ok, false, `${column} = ${value} goes unnoticed`);
      assert.equal(verdict.ok === false && verdict.brokenAt, seq);
      assert.match(verdict.ok === false ? verdict.reason : '', new RegExp(`entry ${seq} was altered`));
      ws.db.prepare(`UPDATE audit SET ${column} = ? WHERE seq = ?`).run(before.v, seq);
      assert.equal(ws.audit.verify().ok, true, 'restored');
    }
  } finally {
    ws.close();
  }
});

test('describeActor reads the same for old and new entries', () => {
  assert.equal(describeActor({ actor_user: 'ops', actor_kind: 'app' }), 'ops (app)');
  assert.equal(describeActor({ actor_user: 'ops', actor_kind: 'cli', actor_host: 'build-7' }), 'ops@build-7 (cli)');
  assert.equal(
    describeActor({ actor_user: 'ops', actor_kind: 'cli', actor_host: 'build-7', actor_admin: 'alice' }),
    'alice (ops@build-7, cli)',
  );
});

test('the first slot is named after the OS user who created the vault, unless given a name', () => {
  const named = openTestWorkspace();
  const unnamed = openTestWorkspace();
  try {
    assert.equal(unnamed.vault.initialize(TEST_PASSPHRASE).label, 'tester');
    assert.equal(unnamed.vault.admin, 'tester');
    assert.equal(named.vault.initialize(TEST_PASSPHRASE, { label: 'Alice Martin' }).label, 'Alice Martin');
    assert.equal(named.audit.list({ limit: 1 }).rows[0]!.actor_admin, 'Alice Martin');
  } finally {
    named.close();
    unnamed.close();
  }
});

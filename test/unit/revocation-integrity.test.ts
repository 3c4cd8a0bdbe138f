/**
 * A revocation cannot be undone in the file unnoticed (revocation-integrity.ts): someone who can
 * write castellan.db but holds no passphrase un-revokes a leaked token, in every way the ledger
 * allows; `audit verify` names it and no revocation list is published from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CastellanError } from '../../shared/errors.ts';
import { mintBatch, mintToken } from '../../electron/core/tokens/minting.ts';
import { exportRevocationList, refreshToken, revokeBulk, revokeToken } from '../../electron/core/tokens/revocation.ts';
import { revocationMismatch } from '../../electron/core/tokens/revocation-integrity.ts';
import { verifyWorkspace } from '../../electron/core/workspace/record-integrity.ts';
import { startServer } from '../../electron/core/serve/server.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tokenWorkspace } from '../harness/tokens.ts';

/** Single, bulk and superseding revocations, all legitimate. */
async function revokedWorkspace() {
  const ws = await tokenWorkspace(['zlayer', 'ed25519']);
  const single = mintToken(ws, { deployment: 'storefront', service: 'cache', container: 'cache-0' });
  revokeToken(ws, single.record.jti!, 'leaked');
  const bulk = mintBatch(ws, { deployment: 'storefront', service: 'web', containers: ['web-0', 'web-1', 'web-2'] });
  const active = mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-0' });
  const refreshed = mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-1' });
  refreshToken(ws, refreshed.record.jti!);
  const result = revokeBulk(ws, { filter: { deployment: 'storefront', service: 'web' }, reason: 'leaked', dryRun: false });
  assert.equal(result.count, 3);
  return { ws, single, bulk, active, refreshed };
}

/** The attacker: drops the guard triggers if any, then edits the ledger. */
function edit(ws: Workspace, sql: string, ...params: (string | number | null)[]): void {
  ws.db.prepare(sql).run(...params);
}

function listNumber(ws: Workspace): string | undefined {
  return (ws.db.prepare("SELECT value FROM meta WHERE key = 'revocation_list_seq'").get() as { value: string } | undefined)?.value;
}

function assertCaught(ws: Workspace, reason: RegExp): void {
  const why = revocationMismatch(ws);
  assert.match(why ?? 'nothing noticed', reason);
  const verdict = verifyWorkspace(ws);
  assert.equal(verdict.ok, false);
  assert.deepEqual(
    verdict.records.filter((r) => r.record === 'token_revocations').map((r) => r.reason),
    [why],
  );
  const before = listNumber(ws);
  assert.throws(
    () => exportRevocationList(ws),
    (err: unknown) =>
      err instanceof CastellanError && err.code === 'INTEGRITY' && /will not publish a revocation list/.test(err.message),
  );
  assert.equal(listNumber(ws), before, 'the refused export numbered nothing');
}

test('legitimate revocations (single, bulk, superseded) check out, and the list is published', async () => {
  const { ws } = await revokedWorkspace();
  try {
    assert.equal(revocationMismatch(ws), null);
    assert.equal(verifyWorkspace(ws).ok, true);
    const published = exportRevocationList(ws);
    assert.equal(published.list.entries.length, 5);
    const bulkEntry = ws.audit.list({ action: 'token.revoke_bulk', limit: 1 }).rows[0]!;
    assert.match(String(bulkEntry.details.ids_digest), /^[0-9a-f]{64}$/);
  } finally {
    ws.close();
  }
});

test('un-revoking a single token in the file is named', async () => {
  const { ws, single } = await revokedWorkspace();
  try {
    edit(ws, 'UPDATE tokens SET revoked_at = NULL, revoke_reason = NULL, revoke_audit_seq = NULL WHERE id = ?', single.record.id);
    assertCaught(ws, new RegExp(`token ${single.record.jti} \\(#${single.record.id}\\) was revoked by audit entry \\d+ but is not revoked`));
  } finally {
    ws.close();
  }
});

test('castellan serve refuses to start on a ledger with a revocation undone, and starts once it is put back', async () => {
  const { ws, single } = await revokedWorkspace();
  try {
    const row = ws.db.prepare('SELECT revoked_at, revoke_reason, revoke_audit_seq FROM tokens WHERE id = ?').get(single.record.id) as {
      revoked_at: number;
      revoke_reason: string;
      revoke_audit_seq: number;
    };
    edit(ws, 'UPDATE tokens SET revoked_at = NULL, revoke_reason = NULL, revoke_audit_seq = NULL WHERE id = ?', single.record.id);
    await assert.rejects(
      startServer({ workspace: ws, port: 0 }),
      (err: unknown) =>
        err instanceof CastellanError &&
        err.code === 'INTEGRITY' &&
        err.message.includes(`token ${single.record.jti}`) &&
        /castellan serve will not answer verifiers/.test(err.message),
    );
    edit(ws, 'UPDATE tokens SET revoked_at = ?, revoke_reason = ?, revoke_audit_seq = ? WHERE id = ?', row.revoked_at, row.revoke_reason, row.revoke_audit_seq, single.record.id);
    const server = await startServer({ workspace: ws, port: 0 });
    await server.close();
  } finally {
    ws.close();
  }
});

test('moving a single revocation onto another token is named', async () => {
  const { ws, single, active } = await revokedWorkspace();
  try {
    const seq = (ws.db.prepare('SELECT revoke_audit_seq AS s FROM tokens WHERE id = ?').get(single.record.id) as { s: number }).s;
    edit(ws, 'UPDATE tokens SET revoked_at = NULL, revoke_reason = NULL, revoke_audit_seq = NULL WHERE id = ?', single.record.id);
    edit(ws, "UPDATE tokens SET revoked_at = 1, revoke_reason = 'leaked', revoke_audit_seq = ? WHERE id = ?", seq, active.record.id);
    assertCaught(ws, new RegExp(`token ${single.record.jti} \\(#${single.record.id}\\) was revoked by audit entry ${seq} but is not revoked`));
  } finally {
    ws.close();
  }
});

test('un-revoking a superseded token in the file is named', async () => {
  const { ws, refreshed } = await revokedWorkspace();
  try {
    edit(ws, 'UPDATE tokens SET revoked_at = NULL WHERE id = ?', refreshed.record.id);
    assertCaught(ws, /no longer revoked in the ledger: a revocation was undone/);
  } finally {
    ws.close();
  }
});

test('un-revoking one token of a bulk revoke, with or without its link to the entry, is named', async () => {
  const { ws, bulk } = await revokedWorkspace();
  try {
    edit(ws, 'UPDATE tokens SET revoked_at = NULL, revoke_reason = NULL, revoke_audit_seq = NULL WHERE id = ?', bulk[1]!.record.id);
    assertCaught(ws, /revoked 3 token\(s\) but 2 row\(s\) in the ledger say so/);
  } finally {
    ws.close();
  }
});

test('moving a bulk revocation onto another token (the count kept) is named', async () => {
  const { ws, bulk, active } = await revokedWorkspace();
  try {
    const seq = (ws.db.prepare('SELECT revoke_audit_seq AS s FROM tokens WHERE id = ?').get(bulk[0]!.record.id) as { s: number }).s;
    edit(ws, 'UPDATE tokens SET revoked_at = NULL, revoke_reason = NULL, revoke_audit_seq = NULL WHERE id = ?', bulk[0]!.record.id);
    edit(ws, "UPDATE tokens SET revoked_at = 1, revoke_reason = 'leaked', revoke_audit_seq = ? WHERE id = ?", seq, active.record.id);
    assertCaught(ws, /are not the ones it recorded/);
  } finally {
    ws.close();
  }
});

test('deleting a revoked token row, or changing its jti, is named', async () => {
  for (const attack of ['DELETE FROM tokens WHERE id = ?', "UPDATE tokens SET jti = 'forged-jti' WHERE id = ?"]) {
    const { ws, single } = await revokedWorkspace();
    try {
      ws.db.exec('PRAGMA foreign_keys = OFF');
      edit(ws, attack, single.record.id);
      assertCaught(ws, new RegExp(`token ${single.record.jti}, revoked by audit entry \\d+, is missing from the ledger`));
    } finally {
      ws.close();
    }
  }
});

test('a row marked revoked against an entry that revoked nothing is named', async () => {
  const { ws, active } = await revokedWorkspace();
  try {
    edit(ws, "UPDATE tokens SET revoked_at = 1, revoke_reason = 'leaked', revoke_audit_seq = 1 WHERE id = ?", active.record.id);
    assertCaught(ws, /point to audit entry 1 as their revocation, but that entry revoked nothing/);
  } finally {
    ws.close();
  }
});

/**
 * Sealing the audit log's tail (audit.ts sealTail) on the engine the suite runs on: entries appended
 * while the vault was locked get their late MACs at the next unlock, and the log verifies as
 * authenticated. On PostgreSQL this once failed with a syntax error (SQLite's INSERT OR REPLACE),
 * caught as lastSealProblem, so every PostgreSQL workspace's log reported entry 1 as unauthenticated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from '../harness/seed.ts';

test('a new workspace seals its log at initialize, and the tail written while locked at the next unlock', (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ws = openTestWorkspace(path.join(root, 'workspace'));
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    assert.equal(ws.integrity.lastSealProblem, null);
    const first = ws.integrity.verifyAudit();
    assert.equal(first.ok, true, first.reason ?? '');
    assert.equal(first.authenticated, first.count);

    ws.vault.lock();
    const lateBefore = (ws.db.prepare('SELECT count(*) AS n FROM audit_late_mac').get() as { n: number }).n;
    importDeployments(ws, readSpecFiles(SAMPLES_DIR));
    const headWhileLocked = (ws.db.prepare('SELECT max(seq) AS s FROM audit').get() as { s: number }).s;
    assert.ok(headWhileLocked > first.count, 'the import appended entries while the vault was locked');

    ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
    assert.equal(ws.integrity.lastSealProblem, null);
    const lateAfter = (ws.db.prepare('SELECT count(*) AS n FROM audit_late_mac').get() as { n: number }).n;
    assert.equal(lateAfter - lateBefore, headWhileLocked - first.count);
    const after = ws.integrity.verifyAudit();
    assert.equal(after.ok, true, after.reason ?? '');
    assert.equal(after.authenticated, headWhileLocked);
  } finally {
    ws.close();
  }
});

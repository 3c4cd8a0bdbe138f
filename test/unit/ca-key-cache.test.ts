import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCa } from '../../electron/core/ca/ca-store.ts';
import { signCsr } from '../../electron/core/ca/certificate-inventory.ts';
import { opensslCsr, TEST_PASSPHRASE } from '../harness/seed.ts';
import { openTestWorkspace } from '../harness/services.ts';

test('the opened CA key lives only while the vault is unlocked', async () => {
  const ws = openTestWorkspace();
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    await initCa(ws);
    const locks: number[] = [];
    ws.vault.onLock(() => locks.push(Date.now()));

    await signCsr(ws, { csr: opensslCsr('a', 'a.example'), nodeId: 'a' });
    ws.vault.lock();
    assert.equal(locks.length, 1, 'lock listeners run when the vault locks');
    await assert.rejects(signCsr(ws, { csr: opensslCsr('b', 'b.example'), nodeId: 'b' }), { code: 'LOCKED' });

    ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
    const signed = await signCsr(ws, { csr: opensslCsr('c', 'c.example'), nodeId: 'c' });
    assert.equal(signed.certificate.subject, 'CN=worker-c, O=ZLayer Worker');
    assert.equal(ws.db.prepare('SELECT count(*) AS n FROM certificates').get()?.n, 2, 'the refused signing added nothing');
  } finally {
    ws.close();
  }
});

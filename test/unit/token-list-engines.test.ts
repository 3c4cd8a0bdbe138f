/**
 * The Tokens page's default view — no filter at all — on the engine the suite runs on. Its WHERE
 * clause was SQLite's `1`, which PostgreSQL refuses ("argument of WHERE must be type boolean").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from '../harness/seed.ts';

test('an unfiltered page lists every token, newest first, with the total', async (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ws = openTestWorkspace(path.join(root, 'workspace'));
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    importDeployments(ws, readSpecFiles(SAMPLES_DIR));
    await createKey(ws, 'zlayer');
    const service = ws.db.prepare('SELECT deployment, name FROM services ORDER BY deployment, name LIMIT 1').get() as {
      deployment: string;
      name: string;
    };
    assert.ok(service !== undefined, 'the samples hold a service');
    const minted = mintBatch(ws, { deployment: service.deployment, service: service.name, containers: ['c-0', 'c-1', 'c-2'] });
    revokeToken(ws, minted[1]!.record.jti!, 'leaked');

    const page = listTokens(ws, { sort: 'issued_at', direction: 'desc', limit: 2 });
    assert.equal(page.total, 3);
    assert.equal(page.rows.length, 2);
    const all = listTokens(ws, {});
    assert.equal(all.total, 3);
    assert.deepEqual(new Set(all.rows.map((r) => r.jti)), new Set(minted.map((m) => m.record.jti)));
    assert.equal(all.rows.find((r) => r.jti === minted[1]!.record.jti)?.status, 'revoked');
    // Past the end: no rows, the same total.
    assert.deepEqual(listTokens(ws, { offset: 3 }), { rows: [], total: 3 });
  } finally {
    ws.close();
  }
});

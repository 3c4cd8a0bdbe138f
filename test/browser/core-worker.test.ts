/**
 * Issue 14, point 2: the console driven through the core worker host, as the Electron shell runs
 * it — the BUILT worker (out/main/core-worker.js, the second main-process entry of
 * electron.vite.config.ts) behind the real preload; the test thread plays the main process and
 * only relays. Unlock (a wrong passphrase first), the Tokens page lists, one token is revoked from
 * its row, and a revoke made by the CLI in another process shows without a reload: the change
 * watcher now runs in the worker and its events are relayed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startCoreHost, type CoreHost } from '../../electron/core/ipc/core-host.ts';
import { memorySettings } from '../../electron/core/workspace/settings.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openApp } from '../harness/app-harness.ts';
import { asOtherAdmin, markDocument, OTHER_ADMIN_PASSPHRASE, sameDocument } from '../harness/other-admin.ts';
import { launchChromium } from '../harness/chromium.ts';
import { OUT_DIR } from '../harness/renderer-server.ts';
import { seedDemoWorkspace, TEST_PASSPHRASE } from '../harness/seed.ts';
import { openTestWorkspace, QueuedDialogs } from '../harness/services.ts';

const BUILT_WORKER = path.join(OUT_DIR, 'main', 'core-worker.js');

describe('the console through the core worker', () => {
  let browser: Browser;
  /** The test's own connection to the workspace file: another admin, as far as the worker knows. */
  let ws: Workspace;
  before(async () => {
    if (!fs.existsSync(BUILT_WORKER)) throw new Error('out/main/core-worker.js is missing: run `npm run build` first');
    browser = await launchChromium();
    ws = openTestWorkspace();
    await seedDemoWorkspace(ws);
    await ws.vault.reauthenticate({ passphrase: TEST_PASSPHRASE });
    ws.vault.addPassphraseSlot(OTHER_ADMIN_PASSPHRASE, 'bob');
    ws.vault.lock();
  });
  after(async () => {
    await browser?.close();
    ws?.close();
  });

  test('unlock, list, revoke a row, and see a revoke made in another process', async () => {
    let host: CoreHost | null = null;
    const app = await openApp(browser, {
      router: (origin) =>
        (host = startCoreHost({
          worker: BUILT_WORKER,
          workspacePath: ws.dir,
          allowedOrigins: [origin],
          info: {
            appName: 'Castellan',
            appVersion: '0.0.0-test',
            workspacePath: ws.dir,
            platform: process.platform,
            versions: { node: process.versions.node, electron: 'harness', chrome: 'harness' },
          },
          dialogs: new QueuedDialogs(),
          settings: memorySettings(),
          actor: { user: 'tester', kind: 'app' },
          kdf: { N: 2 ** 10, r: 8, p: 1 },
          allowWeakKdfInTests: true,
          log: () => undefined,
        })),
      changes: (deliver) => host!.onChanges(deliver),
      hash: '#/tokens',
    });
    const { page } = app;
    try {
      // The worker opened the file itself: it starts locked.
      const gate = page.getByRole('alert', { name: 'Vault' });
      await gate.getByText('The vault is locked').waitFor();
      await gate.getByLabel('Passphrase').fill('not the passphrase');
      await gate.getByRole('button', { name: 'Unlock' }).click();
      await gate.getByRole('alert').waitFor();
      assert.match((await gate.getByRole('alert').textContent()) ?? '', /passphrase/i);
      await gate.getByLabel('Passphrase').fill(TEST_PASSPHRASE);
      await gate.getByRole('button', { name: 'Unlock' }).click();
      await page.getByText('The vault is locked').waitFor({ state: 'detached' });
      // The worker's vault is unlocked; this thread's connection knows nothing of it.
      assert.equal(ws.vault.status().unlocked, false);

      // The Tokens page lists what the file holds.
      const total = listTokens(ws, {}).total;
      await page
        .getByTestId('token-total')
        .filter({ hasText: new RegExp(`^${total} tokens$`) })
        .waitFor();
      const web1 = listTokens(ws, { filter: { container: 'web-1' } }).rows[0]!;
      const row = page.locator(`[data-token-id="${web1.id}"]`);
      await row.getByText('active', { exact: true }).waitFor();
      await markDocument(page);

      // Revoke one from its row.
      await row.getByRole('button', { name: /^Revoke token / }).click();
      const confirm = page.getByRole('dialog', { name: /^Revoke token / });
      await confirm.getByRole('radio', { name: 'Leaked' }).check();
      await confirm.getByRole('button', { name: 'Revoke token', exact: true }).click();
      await confirm.waitFor({ state: 'detached' });
      await row.getByText('revoked', { exact: true }).waitFor();
      const revoked = listTokens(ws, { filter: { container: 'web-1' } }).rows[0]!;
      assert.deepEqual([revoked.status, revoked.revoke_reason], ['revoked', 'leaked']);
      const entry = ws.audit.list({ action: 'token.revoke', limit: 1 }).rows[0]!;
      assert.equal(entry.actor_kind, 'app');

      // Another process revokes: the worker's watcher sees it, the host relays it, the row follows.
      const cache0 = listTokens(ws, { filter: { container: 'cache-0' } }).rows[0]!;
      const cacheRow = page.locator(`[data-token-id="${cache0.id}"]`);
      await cacheRow.getByText('active', { exact: true }).waitFor();
      asOtherAdmin(ws.dir, ['revoke', cache0.jti!, '--reason', 'leaked']);
      await cacheRow.getByText('revoked', { exact: true }).waitFor({ timeout: 15_000 });
      assert.equal(await sameDocument(page), true, 'the page was not reloaded');
      assert.equal(ws.audit.list({ action: 'token.revoke', limit: 1 }).rows[0]!.actor_kind, 'cli');
    } finally {
      await app.close();
      await (host as CoreHost | null)?.close();
    }
  });
});

/**
 * Issue 14, team semantics: changes are pushed. A second process — the CLI, as another admin with
 * a vault slot of their own — revokes a token and a worker certificate on the same workspace
 * file; the open console's Tokens, Overview and Workers pages show it without a reload (the
 * watcher in the test process is the one the Electron shell runs: change-feed.ts). How fast is a
 * benchmark's business (bench item 11), not this test's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { listCertificates } from '../../electron/core/ca/certificate-inventory.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { openApp } from '../harness/app-harness.ts';
import { asOtherAdmin, markDocument, OTHER_ADMIN_PASSPHRASE, sameDocument } from '../harness/other-admin.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { launchChromium } from '../harness/chromium.ts';
import { seedDemoCa, seedDemoWorkspace, TEST_PASSPHRASE } from '../harness/seed.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';


describe('changes made by another admin reach the open console without a reload', () => {
  let browser: Browser;
  let services: TestServices;
  before(async () => {
    browser = await launchChromium();
    services = testServices(openTestWorkspace());
    await seedDemoWorkspace(services.ws);
    await seedDemoCa(services.ws);
    await services.ws.vault.reauthenticate({ passphrase: TEST_PASSPHRASE });
    services.ws.vault.addPassphraseSlot(OTHER_ADMIN_PASSPHRASE, 'bob');
  });
  after(async () => {
    await browser?.close();
    services?.ws.close();
  });

  test('Tokens, Overview and Workers update when the CLI revokes in another process', async () => {
    const ws = services.ws;
    const web1 = listTokens(ws, { filter: { container: 'web-1' } }).rows[0]!;
    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens', watch: () => ws });
    const { page } = app;
    try {
      const row = page.locator(`[data-token-id="${web1.id}"]`);
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /active/i);
      await markDocument(page);
      const listCalls = app.calls.filter((c) => c === 'tokens:list').length;

      asOtherAdmin(ws.dir, ['revoke', web1.jti!, '--reason', 'leaked']);
      await page.locator(`[data-token-id="${web1.id}"]`).filter({ hasText: /revoked/i }).waitFor({ timeout: 15_000 });
      assert.equal(await sameDocument(page), true, 'the page was not reloaded');
      assert.ok(app.calls.filter((c) => c === 'tokens:list').length > listCalls, 'the visible rows were fetched again');

      // Revoking needs no passphrase (it only takes power away): the entry names the machine and the CLI.
      const entry = ws.audit.list({ action: 'token.revoke', limit: 1 }).rows[0]!;
      assert.equal(entry.target.includes(web1.jti!) || JSON.stringify(entry.details).includes(web1.jti!), true);
      assert.equal(entry.actor_kind, 'cli');
      assert.equal(entry.actor_admin, undefined);

      // Overview: the counts follow.
      await page.getByRole('link', { name: 'Overview' }).click();
      const active = page.getByTestId('count-active-tokens');
      await active.filter({ hasText: /\d/ }).waitFor();
      const before = Number(await active.textContent());
      const cache0 = listTokens(ws, { filter: { container: 'cache-0' } }).rows[0]!;
      asOtherAdmin(ws.dir, ['revoke', cache0.jti!, '--reason', 'leaked']);
      await active.filter({ hasText: new RegExp(`^${before - 1}$`) }).waitFor({ timeout: 15_000 });
      assert.equal(await sameDocument(page), true);

      // Workers: a certificate revoked elsewhere shows as revoked.
      const node1 = listCertificates(ws).rows.find((c) => c.node_id === 'node-1')!;
      await page.getByRole('link', { name: 'Workers' }).click();
      const certRow = page.locator(`tr[data-serial="${node1.serial}"]`);
      await certRow.waitFor();
      assert.notEqual(await certRow.getAttribute('data-status'), 'revoked');
      asOtherAdmin(ws.dir, ['ca', 'revoke', node1.serial, '--reason', 'keyCompromise']);
      await page.locator(`tr[data-serial="${node1.serial}"][data-status="revoked"]`).waitFor({ timeout: 15_000 });
      assert.equal(await sameDocument(page), true);
      // Revoking a certificate re-signs the CRL, so it unlocks: the entry names bob.
      const certEntry = ws.audit.list({ text: node1.serial, limit: 5 }).rows.find((e) => e.actor_kind === 'cli')!;
      assert.equal(certEntry.actor_admin, 'bob');
    } finally {
      await app.close();
    }
  });

  test('a policy changed elsewhere while being edited is offered, not imposed: the edits stay until the admin loads it', async () => {
    const ws = services.ws;
    const app = await openApp(browser, { router: testRouter(services), hash: '#/deployments?service=storefront%2Fweb', watch: () => ws });
    const { page } = app;
    try {
      await page.getByLabel('Policy of storefront/web').waitFor();
      await page.locator('label', { hasText: /^Raw$/ }).click();
      const raw = page.getByRole('textbox', { name: 'Raw labels' });
      const mine = `${await raw.inputValue()}\nzlayer.io/api-token-ttl=7200`.replace(/^\n/, '');
      await raw.fill(mine);

      asOtherAdmin(ws.dir, ['policy', 'set-label', 'storefront', 'web', 'zlayer.io/api-token-ttl', '600']);
      const notice = page.getByTestId('labels-changed-elsewhere');
      await notice.waitFor({ timeout: 15_000 });
      assert.equal(await raw.inputValue(), mine, 'the edit in progress is kept');
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, formatViolations('changed-elsewhere notice', violations));
      assert.match((await page.getByLabel('Policy of storefront/web').textContent()) ?? '', /10 min|600/);

      await notice.getByRole('button', { name: /^Load the new labels/ }).click();
      await notice.waitFor({ state: 'detached' });
      await page.locator('label', { hasText: /^Raw$/ }).click();
      assert.match(await page.getByRole('textbox', { name: 'Raw labels' }).inputValue(), /zlayer\.io\/api-token-ttl=600$/m);
    } finally {
      await app.close();
    }
  });
});

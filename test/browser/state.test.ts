/**
 * Issue 12, point 5: state the page shows is the state there is. The audit filters match part of
 * a name, long details wrap inside the page, the pager's buttons are named; the inspector never
 * states the claims of a token that failed verification as facts. (The Workers & CA panels
 * after a revocation: workers.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { openApp } from '../harness/app-harness.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { launchChromium } from '../harness/chromium.ts';
import { seedDemoWorkspace } from '../harness/seed.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';

const LONG = `reason ${'x'.repeat(120)} ${'supercalifragilistic'.repeat(12)}`;

describe('correct state: audit filters, wrapping, pager names; unverified claims', () => {
  let browser: Browser;
  let services: TestServices;
  let token: string;
  before(async () => {
    browser = await launchChromium();
    services = testServices(openTestWorkspace());
    ({ token } = await seedDemoWorkspace(services.ws));
    // Enough entries for a second page, one of them with a long unbroken detail.
    services.ws.transaction(() => {
      for (let i = 0; i < 60; i++) services.ws.audit.append({ action: 'test.filler', target: `filler:${i}`, details: { i } });
      services.ws.audit.append({ action: 'test.long', target: 'long:1', details: { note: LONG } });
    });
  });
  after(async () => {
    await browser?.close();
    services?.ws.close();
  });

  test('audit: the Action filter matches part of a name, says when nothing does, details wrap, the pager is named', async () => {
    const app = await openApp(browser, { router: testRouter(services), hash: '#/audit' });
    const { page } = app;
    try {
      const table = page.getByRole('table', { name: 'Audit entries' });
      const count = page.getByTestId('audit-count');
      await table.getByText('test.long').waitFor();

      // The long detail wraps inside its cell, and nothing runs off the page.
      const details = table.locator('tr', { hasText: 'test.long' }).getByTestId('audit-details');
      assert.match((await details.textContent()) ?? '', new RegExp(LONG));
      const overflow = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        cells: [...document.querySelectorAll('[data-testid="audit-details"]')].filter((el) => el.scrollWidth > el.clientWidth + 1).length,
      }));
      assert.deepEqual(overflow, { page: 0, cells: 0 });

      // The pager's controls have names; the second page is reached by name.
      const total = services.ws.audit.list({ limit: 1 }).total;
      await count.filter({ hasText: `${total} entries, page 1 of ${Math.ceil(total / 50)}.` }).waitFor();
      for (const name of ['First page', 'Previous page', 'Next page', 'Last page', 'Page 1', 'Page 2']) {
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, name);
      }
      assert.equal(await page.getByRole('button', { name: 'Page 1', exact: true }).getAttribute('aria-current'), 'page');
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, formatViolations('audit', violations));
      await page.getByRole('button', { name: 'Next page', exact: true }).click();
      await count.filter({ hasText: 'page 2 of' }).waitFor();

      // "token" finds token.issue and token.revoke, like the search box would.
      const expected = services.ws.audit.list({ action_contains: 'token', limit: 1000 }).rows;
      assert.ok(expected.length > 1);
      assert.ok(new Set(expected.map((e) => e.action)).size > 1, 'more than one action name contains "token"');
      await page.getByRole('textbox', { name: 'Action' }).fill('token');
      await count.filter({ hasText: `${expected.length} entries with an action containing “token”.` }).waitFor();
      const actions = await table.locator('tbody tr td:nth-child(4)').allTextContents();
      assert.deepEqual(actions, expected.map((e) => e.action));

      // Case does not matter; a name nothing has says so instead of an empty table.
      await page.getByRole('textbox', { name: 'Action' }).fill('REVOKE');
      await count.filter({ hasText: /^\d+ entr(y|ies) with an action containing “REVOKE”\.$/ }).waitFor();
      assert.ok((await table.locator('tbody tr td:nth-child(4)').allTextContents()).every((a) => a.includes('revoke')));
      await page.getByRole('textbox', { name: 'Action' }).fill('no-such-action');
      await count.filter({ hasText: 'No entry matches with an action containing “no-such-action”.' }).waitFor();
      assert.equal(await table.locator('tbody tr').count(), 0);
    } finally {
      await app.close();
    }
  });

  test('inspector: a token with a bad signature has its claims marked unverified, never stated as facts', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const app = await openApp(browser, { router: testRouter(services), hash: '#/inspector' });
    const { page } = app;
    try {
      const input = page.getByRole('textbox', { name: 'Token', exact: true });
      await input.fill(forged);
      await page.getByRole('button', { name: 'Inspect', exact: true }).click();
      // The verdict is announced with its label.
      const verdict = page.getByRole('alert', { name: 'Verdict: Bad signature' });
      await verdict.waitFor();
      assert.equal(await verdict.getAttribute('data-verdict'), 'bad_signature');
      await page.getByRole('heading', { level: 2, name: 'What the token claims (unverified)' }).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Explanation' }).count(), 0);
      const claims = page.getByRole('group', { name: 'Unverified claims' });
      assert.match((await claims.textContent()) ?? '', /Unverified: the token says it may read deployment storefront/);
      assert.match((await claims.textContent()) ?? '', /\(unverified\)\.$/);
      assert.doesNotMatch((await claims.textContent()) ?? '', /signed by key/);
      assert.equal(await page.getByLabel('Scopes in words', { exact: true }).count(), 0);
      assert.match((await page.getByTestId('unverified-note').textContent()) ?? '', /nothing the token says about itself is established/);
      await page.getByRole('heading', { level: 3, name: 'Claims (unverified)' }).waitFor();
      await page.getByRole('region', { name: 'Decoded claims (unverified)' }).waitFor();
      // No ledger record is presented as this token's.
      assert.equal(await page.getByRole('table', { name: 'Ledger record', exact: true }).count(), 0);
      assert.equal(await verdict.getByRole('button', { name: 'Revoke' }).count(), 0, 'nothing to revoke on the strength of a forged token');

      // The genuine token: verified, explained as facts.
      await input.fill(token);
      await page.getByRole('button', { name: 'Inspect', exact: true }).click();
      await page.getByRole('status', { name: 'Verdict: Valid' }).waitFor();
      await page.getByRole('heading', { level: 2, name: 'Explanation' }).waitFor();
      assert.match((await page.getByLabel('Scopes in words', { exact: true }).textContent()) ?? '', /^may read deployment storefront/);
      await page.getByRole('group', { name: 'Verified claims' }).waitFor();
      await page.getByRole('region', { name: 'Decoded claims', exact: true }).waitFor();
    } finally {
      await app.close();
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp, type AppHarness } from '../harness/app-harness.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { testRouter, testServices, type TestServices } from '../harness/services.ts';

const SAMPLES = SAMPLES_DIR;

/** A workspace with its vault created, the samples imported and a zlayer key. */
async function preparedServices(): Promise<TestServices> {
  const services = testServices();
  services.ws.vault.initialize('correct horse battery');
  importDeployments(services.ws, readSpecFiles(SAMPLES));
  await createKey(services.ws, 'zlayer');
  return services;
}

/** Every string the page holds in markup or in form fields. */
async function pageText(page: Page): Promise<string> {
  const html = await page.content();
  const values = await page.evaluate(() =>
    [...document.querySelectorAll('input, textarea, select')].map((el) => (el as HTMLInputElement).value).join('\n'),
  );
  return `${html}\n${values}`;
}

function tokenFilters(page: Page) {
  return page.getByRole('search', { name: 'Token filters' });
}

describe('tokens: mint, reveal once, revoke, inspect', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('mint through the dialog, copy, close, revoke the row, and the inspector says revoked', async () => {
    const services = await preparedServices();
    const app: AppHarness = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    try {
      const { page } = app;
      await app.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.origin });
      await page.clock.install();
      await page.reload();
      await page.getByTestId('token-total').filter({ hasText: '0 tokens' }).waitFor();

      await page.getByRole('button', { name: 'Mint token…' }).click();
      const mint = page.getByRole('dialog', { name: 'Mint a container token' });
      await mint.getByLabel('Deployment').selectOption('storefront');
      await mint.getByLabel('Service').selectOption('web');
      await mint.getByLabel('Container id').fill('web-0');
      await mint.getByRole('button', { name: 'Mint token', exact: true }).click();

      const minted = page.getByRole('dialog', { name: 'Token minted' });
      const field = minted.getByLabel('New token');
      await field.waitFor();
      const token = await field.inputValue();
      assert.match(token, /^eyJ/);
      assert.equal(await field.getAttribute('readonly'), '');

      await minted.getByRole('button', { name: 'Copy' }).click();
      await minted.getByRole('status').filter({ hasText: 'Copied to the clipboard' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

      await minted.getByRole('button', { name: 'Done' }).click();
      await minted.waitFor({ state: 'detached' });
      assert.ok(!(await pageText(page)).includes(token), 'the token is nowhere in the page after the dialog closed');

      // A minute later the clipboard no longer holds it.
      await page.clock.fastForward(61_000);
      await page.waitForFunction(async () => (await navigator.clipboard.readText()) === '');

      // Find the new row by filtering, then one click revokes it.
      await tokenFilters(page).getByLabel('Service').selectOption('web');
      await page
        .getByTestId('token-total')
        .filter({ hasText: /^1 token$/ })
        .waitFor();
      const row = page.getByRole('row').filter({ hasText: 'web-0' });
      await row.getByText('active', { exact: true }).waitFor();
      await row.getByRole('button', { name: /^Revoke token / }).click();
      const confirm = page.getByRole('dialog', { name: /^Revoke token / });
      await confirm.getByRole('radio', { name: 'Leaked' }).check();
      await confirm.getByRole('button', { name: 'Revoke token', exact: true }).click();
      await confirm.waitFor({ state: 'detached' });
      await row.getByText('revoked', { exact: true }).waitFor();
      await row
        .getByRole('button', { name: /^Revoke token / })
        .and(page.locator('[disabled]'))
        .waitFor();
      const ledger = listTokens(services.ws, { filter: { service: 'web' } });
      assert.equal(ledger.rows[0]?.status, 'revoked');
      assert.equal(ledger.rows[0]?.revoke_reason, 'leaked');

      // The drawer decodes the claims and shows the history.
      await row.getByRole('button', { name: /^Details of token / }).click();
      const drawer = page.getByRole('dialog', { name: /^Token / });
      await drawer
        .getByRole('region', { name: 'Decoded claims' })
        .filter({ hasText: '"sub": "container:web:web-0"' })
        .waitFor();
      assert.match((await drawer.getByLabel('Scopes in words').textContent()) ?? '', /may /);
      assert.ok(
        (await drawer.getByRole('table', { name: 'Token history' }).getByRole('row').count()) >= 3,
        'issued and revoked',
      );
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'detached' });

      // The inspector agrees.
      await page.getByRole('link', { name: 'Inspector', exact: true }).click();
      await page.getByLabel('Token', { exact: true }).fill(token);
      await page.getByRole('button', { name: 'Inspect' }).click();
      const verdict = page.getByTestId('verdict');
      await verdict.waitFor();
      assert.equal(await verdict.getAttribute('role'), 'alert');
      assert.match((await verdict.textContent()) ?? '', /Revoked/);
      assert.equal(
        await page.getByRole('button', { name: 'Revoke', exact: true }).count(),
        0,
        'nothing left to revoke',
      );
      assert.match(
        (await page.getByRole('region', { name: 'Decoded claims' }).textContent()) ?? '',
        /"sub": "container:web:web-0"/,
      );
    } finally {
      await app.close();
    }
  });

  test('the inspector names a valid token, explains it and revokes it; garbage is malformed', async () => {
    const services = await preparedServices();
    const [one] = mintBatch(services.ws, { deployment: 'storefront', service: 'worker', containers: ['worker-7'] });
    assert.ok(one);
    const app = await openApp(browser, { router: testRouter(services), hash: '#/inspector' });
    try {
      const { page } = app;
      await page.getByLabel('Token', { exact: true }).fill(one.token);
      await page.getByRole('button', { name: 'Inspect' }).click();
      const verdict = page.getByTestId('verdict');
      await verdict.filter({ hasText: 'Valid' }).waitFor();
      assert.equal(await verdict.getAttribute('role'), 'status');
      assert.match((await page.getByLabel('Scopes in words').textContent()) ?? '', /may read deployment storefront/);
      await page.getByRole('button', { name: 'Revoke', exact: true }).click();
      const confirm = page.getByRole('dialog', { name: /^Revoke token / });
      await confirm.getByRole('button', { name: 'Revoke token', exact: true }).click();
      await verdict.filter({ hasText: 'Revoked' }).waitFor();

      await page.getByLabel('Token', { exact: true }).fill('not.a.token');
      await page.getByRole('button', { name: 'Inspect' }).click();
      await verdict.filter({ hasText: 'Malformed' }).waitFor();
    } finally {
      await app.close();
    }
  });

  test('bulk revoke by the current filter shows its dry-run count before acting', async () => {
    const services = await preparedServices();
    mintBatch(services.ws, { deployment: 'storefront', service: 'worker' });
    mintBatch(services.ws, { deployment: 'storefront', service: 'cache' });
    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    try {
      const { page } = app;
      await page
        .getByTestId('token-total')
        .filter({ hasText: /^4 tokens$/ })
        .waitFor();
      await tokenFilters(page).getByLabel('Service').selectOption('worker');
      await page
        .getByTestId('token-total')
        .filter({ hasText: /^3 tokens$/ })
        .waitFor();

      await page.getByRole('button', { name: 'Revoke matching…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke every matching token' });
      const dryRun = dialog.getByTestId('bulk-dry-run');
      await dryRun.waitFor();
      assert.match((await dryRun.textContent()) ?? '', /Dry run: 3 active tokens match service worker/);
      assert.equal(listTokens(services.ws, { filter: { status: 'active' } }).total, 4, 'the dry run revoked nothing');

      await dialog.getByRole('radio', { name: 'Decommissioned' }).check();
      await dialog.getByRole('button', { name: 'Revoke 3 tokens' }).click();
      await page.getByRole('status').filter({ hasText: 'Revoked 3 tokens (decommissioned)' }).waitFor();
      await page.getByRole('row').filter({ hasText: 'worker-2' }).getByText('revoked', { exact: true }).waitFor();
      assert.equal(listTokens(services.ws, { filter: { status: 'active' } }).total, 1, 'the cache token is untouched');
      assert.equal(listTokens(services.ws, { filter: { status: 'revoked', service: 'worker' } }).total, 3);
    } finally {
      await app.close();
    }
  });

  test('batch mint for every replica through the dialog; refresh from the drawer shows the replacement once', async () => {
    const services = await preparedServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    try {
      const { page } = app;
      await page.getByTestId('token-total').filter({ hasText: '0 tokens' }).waitFor();
      await page.getByRole('button', { name: 'Mint token…' }).click();
      const mint = page.getByRole('dialog', { name: 'Mint a container token' });
      await mint.getByLabel('Deployment').selectOption('storefront');
      await mint.getByLabel('Service').selectOption('worker');
      await mint.getByRole('button', { name: 'Mint for all 3 replicas' }).click();
      const minted = page.getByRole('dialog', { name: 'Tokens minted' });
      const lines = (await minted.getByLabel(/^New tokens/).inputValue()).split('\n');
      assert.deepEqual(
        lines.map((l) => l.split(' ')[0]),
        ['worker-0', 'worker-1', 'worker-2'],
      );
      assert.ok(lines.every((l) => /^worker-\d eyJ/.test(l)));
      await minted.getByRole('button', { name: 'Done' }).click();
      await minted.waitFor({ state: 'detached' });
      await page
        .getByTestId('token-total')
        .filter({ hasText: /^3 tokens$/ })
        .waitFor();
      const text = await pageText(page);
      assert.ok(
        lines.every((l) => !text.includes(l.split(' ')[1]!)),
        'no batch token stays in the page',
      );

      const row = page.getByRole('row').filter({ hasText: 'worker-1' });
      await row.getByRole('button', { name: /^Details of token / }).click();
      const drawer = page.getByRole('dialog', { name: /^Token / });
      await drawer.getByRole('button', { name: 'Refresh' }).click();
      const replacement = drawer.getByLabel(/^Replacement token /);
      await replacement.waitFor();
      const fresh = await replacement.inputValue();
      assert.match(fresh, /^eyJ/);
      await drawer.getByText('revoked', { exact: true }).first().waitFor();
      assert.equal(
        listTokens(services.ws, { filter: { container: 'worker-1', status: 'revoked' } }).rows[0]?.revoke_reason,
        'superseded',
      );
      await drawer.getByRole('button', { name: 'Close' }).click();
      await drawer.waitFor({ state: 'detached' });
      assert.ok(!(await pageText(page)).includes(fresh), 'the replacement left with the drawer');
      await page
        .getByTestId('token-total')
        .filter({ hasText: /^4 tokens$/ })
        .waitFor();
    } finally {
      await app.close();
    }
  });

  test('5,000 tokens: the right total, a virtualized body, later pages load as it scrolls, headers sort', async () => {
    const services = await preparedServices();
    const containers = Array.from({ length: 5000 }, (_, i) => `web-${i}`);
    mintBatch(services.ws, { deployment: 'storefront', service: 'web', containers });
    const last = listTokens(services.ws, { sort: 'issued_at', direction: 'desc', limit: 1, offset: 4999 }).rows[0];
    assert.ok(last);

    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    try {
      const { page } = app;
      await page.getByTestId('token-total').filter({ hasText: '5,000 tokens' }).waitFor();
      const table = page.getByRole('table', { name: 'Tokens' });
      assert.equal(await table.getAttribute('aria-rowcount'), '5001');
      await table.locator('tbody tr[aria-rowindex="2"]:not([aria-busy])').waitFor();
      const rendered = await table.locator('tbody tr').count();
      assert.ok(rendered > 5 && rendered < 100, `only the rows in view are rendered (${rendered})`);
      const listCalls = () => app.calls.filter((c) => c === 'tokens:list').length;
      const before = listCalls();

      await page.getByRole('region', { name: 'Token list' }).evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
      const lastRow = table.locator('tbody tr[aria-rowindex="5001"]:not([aria-busy])');
      await lastRow.waitFor();
      assert.match((await lastRow.textContent()) ?? '', new RegExp(`${last.container}(?!\\d)`));
      assert.ok(listCalls() > before, 'scrolling fetched a later page');
      assert.ok((await table.locator('tbody tr').count()) < 100, 'still only the rows in view');

      // A click on a header sorts in the main process: the first row by container ascending is web-0.
      await table.getByRole('button', { name: 'Container' }).click();
      await table
        .getByRole('columnheader', { name: 'Container' })
        .and(page.locator('[aria-sort="ascending"]'))
        .waitFor();
      const first = table.locator('tbody tr[aria-rowindex="2"]:not([aria-busy])');
      await first.filter({ hasText: /web-0(?!\d)/ }).waitFor();
    } finally {
      await app.close();
    }
  });
});

/**
 * Issue 12, point 4 (keyboard): the deployment tree by Tab, Enter and Space; `/` focuses the
 * page's search; the command palette (Ctrl+K) jumps to a page, a service, a token by jti prefix or
 * container, and a certificate; focus comes back to the same row after a revoke done with the
 * keyboard, and to the opener after Escape.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { listCertificates } from '../../electron/core/ca/certificate-inventory.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { openApp } from '../harness/app-harness.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { launchChromium } from '../harness/chromium.ts';
import { seedDemoCa, seedDemoWorkspace } from '../harness/seed.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';

/** What has focus: its tag, accessible-ish name and the row/anchor it sits in. */
function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const anchor = el?.closest('[data-token-id], [data-serial], [data-focus-anchor], [data-service], [data-deployment]');
    return {
      tag: el?.tagName.toLowerCase() ?? null,
      role: el?.getAttribute('role') ?? null,
      name: el?.getAttribute('aria-label') ?? el?.textContent?.trim() ?? null,
      tokenId: anchor?.getAttribute('data-token-id') ?? null,
      serial: anchor?.getAttribute('data-serial') ?? null,
      anchor: anchor?.getAttribute('data-focus-anchor') ?? null,
      service: el?.getAttribute('data-service') ?? null,
      deployment: el?.getAttribute('data-deployment') ?? null,
      isBody: el === document.body,
      inDialog: Boolean(el?.closest('[role="dialog"]')),
    };
  });
}

/** Waits until the focused element satisfies `predicate`; fails naming where focus is. */
async function waitForFocus(page: Page, what: string, predicate: (f: Awaited<ReturnType<typeof focused>>) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (predicate(await focused(page))) return;
    await page.waitForTimeout(50);
  }
  const log = await page.evaluate(() => (window as unknown as { __focusLog?: string[] }).__focusLog ?? []);
  throw new Error(`focus is not ${what}: ${JSON.stringify(await focused(page))}\n${log.slice(-12).join('\n')}`);
}

/** Presses Tab until `predicate` holds for the focused element (at most `limit` presses). */
async function tabUntil(page: Page, predicate: (f: Awaited<ReturnType<typeof focused>>) => boolean, limit = 60): Promise<number> {
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press('Tab');
    if (predicate(await focused(page))) return i;
  }
  throw new Error(`not reached with ${limit} Tab presses; focus is on ${JSON.stringify(await focused(page))}`);
}

describe('keyboard: tree, shortcuts, command palette, focus after dialogs', () => {
  let browser: Browser;
  let services: TestServices;
  let cacheToken: string;
  before(async () => {
    browser = await launchChromium();
    services = testServices(openTestWorkspace());
    ({ token: cacheToken } = await seedDemoWorkspace(services.ws));
    await seedDemoCa(services.ws);
  });
  after(async () => {
    await browser?.close();
    services?.ws.close();
  });

  test('the deployment tree: every row reached with Tab, toggled with Enter, a service opened with Space', async () => {
    const app = await openApp(browser, { router: testRouter(services), hash: '#/deployments' });
    const { page } = app;
    try {
      await page.getByRole('button', { name: 'ci-runners/janitor' }).waitFor();
      await page.getByRole('heading', { level: 1, name: 'Deployments' }).focus();
      await tabUntil(page, (f) => f.deployment === 'ci-runners');
      const deployment = page.locator('[data-deployment="ci-runners"]');
      assert.equal(await deployment.getAttribute('aria-expanded'), 'true');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('[data-deployment="ci-runners"]')?.getAttribute('aria-expanded') === 'false');
      await page.getByRole('button', { name: 'ci-runners/janitor' }).waitFor({ state: 'hidden' });
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'ci-runners/janitor' }).waitFor();
      // The next Tab stops are the deployment's services, then the next deployment.
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).service, 'ci-runners/janitor');
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).service, 'ci-runners/runner');
      await page.keyboard.press('Tab');
      assert.equal((await focused(page)).deployment, 'storefront');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Space');
      await page.getByLabel('Policy of ci-runners/runner').waitFor();
      assert.equal(await page.getByRole('button', { name: 'ci-runners/runner' }).getAttribute('aria-current'), 'true');
      assert.match(page.url(), /#\/deployments\?service=ci-runners%2Frunner$/);

      // The arrow keys move along the tree too: ← to the deployment, ← closes it, → opens it, ↓ into it.
      await page.keyboard.press('ArrowLeft');
      assert.equal((await focused(page)).deployment, 'ci-runners');
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(() => document.querySelector('[data-deployment="ci-runners"]')?.getAttribute('aria-expanded') === 'false');
      await page.keyboard.press('ArrowDown');
      assert.equal((await focused(page)).deployment, 'storefront', 'a closed deployment’s services are skipped');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('ArrowRight');
      await page.getByRole('button', { name: 'ci-runners/janitor' }).waitFor();
      await page.keyboard.press('ArrowDown');
      assert.equal((await focused(page)).service, 'ci-runners/janitor');
      await page.keyboard.press('End');
      assert.equal((await focused(page)).service, 'storefront/worker');
      await page.keyboard.press('Home');
      assert.equal((await focused(page)).deployment, 'ci-runners');
    } finally {
      await app.close();
    }
  });

  test('/ focuses the page’s search box, and types a slash inside a text field', async () => {
    const app = await openApp(browser, { router: testRouter(services), hash: '#/audit' });
    const { page } = app;
    try {
      for (const [hash, name] of [
        ['audit', 'Search'],
        ['tokens', 'Search'],
        ['workers', 'Search certificates'],
      ] as const) {
        await page.goto(`${app.origin}/index.html#/${hash}`);
        const box = page.getByRole('textbox', { name, exact: name !== 'Search' }).first();
        await box.waitFor();
        await page.getByRole('heading', { level: 1 }).focus();
        await page.keyboard.press('/');
        assert.equal(await box.evaluate((el) => el === document.activeElement), true, `${hash}: / focuses ${name}`);
        assert.equal(await box.inputValue(), '', 'the slash itself is not typed');
        await page.keyboard.type('a/b');
        assert.equal(await box.inputValue(), 'a/b', 'inside a text field / is just a character');
      }
    } finally {
      await app.close();
    }
  });

  test('Ctrl+K jumps to a page, a service, a token by jti prefix or container, and a certificate', async () => {
    const runner = listTokens(services.ws, { filter: { container: 'runner-0' } }).rows[0]!;
    const web = listTokens(services.ws, { filter: { container: 'web-1' } }).rows[0]!;
    const node2 = listCertificates(services.ws).rows.find((c) => c.node_id === 'node-2')!;
    const app = await openApp(browser, { router: testRouter(services), hash: '#/overview' });
    const { page } = app;
    const palette = page.getByRole('dialog', { name: 'Go to' });
    const input = palette.getByRole('combobox', { name: /^Search pages, deployments/ });
    const openPalette = async (query: string) => {
      await page.keyboard.press('Control+k');
      await input.waitFor();
      // Mantine moves focus into the modal once its opening transition has mounted the trap, a
      // frame or two after the dialog is visible: wait for it (and fail with where focus is).
      await waitForFocus(page, 'on the palette search', (f) => f.tag === 'input' && f.role === 'combobox');
      await input.fill(query);
    };
    try {
      await page.getByTestId('count-deployments').filter({ hasText: '2' }).waitFor();

      // A page.
      await openPalette('audi');
      await palette.getByRole('option', { name: /Page\s*Audit/ }).waitFor();
      assert.equal(await palette.getByRole('option').first().getAttribute('aria-selected'), 'true');
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, formatViolations('palette', violations));
      await page.keyboard.press('Enter');
      await palette.waitFor({ state: 'detached' });
      await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
      await waitForFocus(page, 'on the page heading', (f) => f.tag === 'h1');

      // A service, chosen with the arrow keys.
      await openPalette('janitor');
      const options = palette.getByRole('option');
      await options.filter({ hasText: 'ci-runners/janitor' }).waitFor();
      const kinds = await options.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowUp');
      for (let i = 0; i < kinds.indexOf('service'); i++) await page.keyboard.press('ArrowDown');
      const activeId = await input.getAttribute('aria-activedescendant');
      assert.match((await page.locator(`[id="${activeId}"]`).textContent()) ?? '', /ci-runners\/janitor/);
      await page.keyboard.press('Enter');
      await page.getByLabel('Policy of ci-runners/janitor').waitFor();
      await waitForFocus(page, 'on the janitor row of the tree', (f) => f.service === 'ci-runners/janitor');

      // A token by the first characters of its jti.
      await openPalette(runner.jti!.slice(0, 8));
      const byJti = palette.getByRole('option').filter({ hasText: `${runner.jti!.slice(0, 8)} (runner-0)` });
      await byJti.waitFor();
      await byJti.click();
      await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
      const search = page.getByRole('textbox', { name: 'Search', exact: true });
      await page.waitForFunction((jti) => (document.activeElement as HTMLInputElement | null)?.value === jti, runner.jti);
      assert.equal(await search.inputValue(), runner.jti);
      await page.getByTestId('token-total').filter({ hasText: /^1 token$/ }).waitFor();
      await page.locator(`tr[data-token-id="${runner.id}"]`).waitFor();

      // A token by its container.
      await openPalette('web-1');
      const byContainer = palette.getByRole('option').filter({ hasText: '(web-1)' });
      await byContainer.waitFor();
      await page.waitForFunction(() => document.querySelector('[role="option"][data-kind="token"]') !== null);
      while ((await input.getAttribute('aria-activedescendant')) !== (await byContainer.getAttribute('id'))) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.waitForFunction((jti) => (document.activeElement as HTMLInputElement | null)?.value === jti, web.jti);
      await page.locator(`tr[data-token-id="${web.id}"]`).waitFor();

      // A certificate by node id.
      await openPalette('node-2');
      const cert = palette.getByRole('option').filter({ hasText: /^Certificate/ }).filter({ hasText: 'node-2' });
      await cert.waitFor();
      await cert.click();
      await page.getByRole('heading', { level: 1, name: 'Workers & CA' }).waitFor();
      await page.waitForFunction((serial) => (document.activeElement as HTMLInputElement | null)?.value === serial, node2.serial);
      assert.equal(await page.getByRole('textbox', { name: 'Search certificates' }).inputValue(), node2.serial);
      await page.locator(`tr[data-serial="${node2.serial}"]`).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Issued certificates"] tbody tr').length === 1);

      // Nothing found says so.
      await openPalette('zz-no-such-thing');
      await palette.getByTestId('palette-count').filter({ hasText: 'Nothing matches.' }).waitFor();
      await page.keyboard.press('Escape');
      await palette.waitFor({ state: 'detached' });
    } finally {
      await app.close();
    }
  });

  test('after a revoke done with the keyboard, focus is back in the same row (tokens, certificates) or on the verdict', async () => {
    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    const { page } = app;
    try {
      // Tokens: the row of web-0.
      const target = listTokens(services.ws, { filter: { container: 'web-0', status: 'active' } }).rows[0]!;
      const row = page.locator(`tr[data-token-id="${target.id}"]`);
      await page.getByRole('textbox', { name: 'Search', exact: true }).fill('web-0');
      await page.getByTestId('token-total').filter({ hasText: /^1 token$/ }).waitFor();
      await row.waitFor();
      // Escape first: focus goes back to the button that opened the dialog.
      await row.getByRole('button', { name: /^Revoke token / }).focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: /^Revoke token / });
      await dialog.waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      await waitForFocus(page, 'back on the Revoke button', (f) => /^Revoke token /.test(f.name ?? '') && f.tokenId === String(target.id));
      // Now revoke it, all by keyboard.
      await page.keyboard.press('Enter');
      await dialog.waitFor();
      // Mantine moves focus into the dialog a moment after it appears: Tab before that stays on the page.
      await waitForFocus(page, 'inside the dialog', (f) => f.inDialog);
      await tabUntil(page, (f) => f.name === 'Revoke token', 20);
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await row.getByText('revoked', { exact: true }).waitFor();
      await waitForFocus(page, 'in the revoked row', (f) => f.tokenId === String(target.id));
      assert.equal((await focused(page)).isBody, false);

      // Certificates: revoke node-1 from its row.
      await page.goto(`${app.origin}/index.html#/workers`);
      const node1 = listCertificates(services.ws).rows.find((c) => c.node_id === 'node-1')!;
      const certRow = page.locator(`tr[data-serial="${node1.serial}"]`);
      await certRow.getByRole('button', { name: /^Revoke certificate / }).focus();
      await page.keyboard.press('Enter');
      const certDialog = page.getByRole('dialog', { name: 'Revoke the certificate of node-1' });
      await certDialog.waitFor();
      // Mantine moves focus into the dialog a moment after it appears: Tab before that stays on the page.
      await waitForFocus(page, 'inside the dialog', (f) => f.inDialog);
      await tabUntil(page, (f) => f.name === 'Revoke certificate', 20);
      await page.keyboard.press('Enter');
      await certDialog.waitFor({ state: 'detached' });
      await certRow.getByTestId('cert-status').filter({ hasText: 'revoked' }).waitFor();
      await waitForFocus(page, 'in the revoked certificate’s row', (f) => f.serial === node1.serial);

      // Inspector: the Revoke button inside the verdict goes away; focus lands on the verdict.
      await page.goto(`${app.origin}/index.html#/inspector`);
      await page.evaluate(() => {
        const log: string[] = [];
        (window as unknown as { __focusLog: string[] }).__focusLog = log;
        const name = (el: EventTarget | null) =>
          el instanceof Element ? `${el.tagName} ${el.getAttribute('aria-label') ?? el.textContent?.slice(0, 30) ?? ''}` : String(el);
        document.addEventListener('focusin', (e) => log.push(`in ${name(e.target)} ${Math.round(performance.now())}`), true);
        document.addEventListener('focusout', (e) => log.push(`out ${name(e.target)} ${Math.round(performance.now())}`), true);
      });
      await page.getByRole('textbox', { name: 'Token', exact: true }).fill(cacheToken);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      const verdict = page.getByTestId('verdict');
      await verdict.filter({ hasText: 'Verdict: Valid' }).waitFor();
      await verdict.getByRole('button', { name: 'Revoke' }).focus();
      await page.keyboard.press('Enter');
      const inspectDialog = page.getByRole('dialog', { name: /^Revoke token / });
      await inspectDialog.waitFor();
      // Mantine moves focus into the dialog a moment after it appears: Tab before that stays on the page.
      await waitForFocus(page, 'inside the dialog', (f) => f.inDialog);
      await tabUntil(page, (f) => f.name === 'Revoke token', 20);
      await page.keyboard.press('Enter');
      await inspectDialog.waitFor({ state: 'detached' });
      await verdict.filter({ hasText: 'Verdict: Revoked' }).waitFor();
      await waitForFocus(page, 'on the verdict', (f) => f.anchor === 'verdict');
    } finally {
      await app.close();
    }
  });
});

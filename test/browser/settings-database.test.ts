/**
 * Settings → Database (issue 14) in the real renderer behind the real router: what the console
 * opened and why, the URL checked live as it is typed (a password is refused on the page and
 * never saved), Test connection, Save and "Use the embedded file" with the current passphrase,
 * all by keyboard; CASTELLAN_DATABASE_URL shown as such and not editable; axe on each state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { memoryDatabasePreference, type AppDatabase } from '../../electron/core/workspace/database-choice.ts';
import { openApp } from '../harness/app-harness.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';

const PASSPHRASE = 'correct horse battery staple';
const TEAM_URL = 'postgres://castellan@db.example:5432/castellan?sslmode=verify-full';

function servicesWith(options: { vault: boolean; active?: AppDatabase['active'] }): TestServices & { database: AppDatabase } {
  const ws = openTestWorkspace();
  if (options.vault) {
    ws.vault.initialize(PASSPHRASE);
  }
  const database: AppDatabase = {
    active: options.active ?? { source: 'default' },
    preference: memoryDatabasePreference(),
    workspaceDir: ws.dir,
  };
  return { ...testServices(ws), database };
}

async function expectNoViolations(page: Page, where: string): Promise<void> {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0, formatViolations(where, violations));
}

/** Presses Tab until `target` has the focus (at most `max` times); fails if it never does. */
async function tabTo(page: Page, target: Locator, max = 8): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  assert.fail(`Tab never reached ${await target.textContent()}`);
}

describe('Settings → Database', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('shows the embedded file; checks the URL live; test, save and go back with the passphrase, by keyboard', async (t) => {
    const services = servicesWith({ vault: true });
    t.after(() => services.ws.close());
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    t.after(() => app.close());
    const { page } = app;
    const card = page.getByRole('region', { name: 'Database' });
    const current = card.getByRole('table', { name: 'Current database' });
    await current.getByRole('row', { name: /Engine/ }).filter({ hasText: 'Embedded file (SQLite)' }).waitFor();
    assert.match((await card.getByTestId('database-description').textContent()) ?? '', /^the embedded file .*castellan\.db$/);
    assert.equal(await card.getByTestId('database-source').textContent(), 'the default (no database chosen)');
    await expectNoViolations(page, 'Settings → Database, the embedded file');

    const field = card.getByRole('textbox', { name: 'PostgreSQL URL' });
    const passphrase = card.getByLabel('Current passphrase');
    const save = card.getByRole('button', { name: 'Save', exact: true });
    const testButton = card.getByRole('button', { name: 'Test connection' });
    const embedded = card.getByRole('button', { name: 'Use the embedded file' });

    // Live validation: the message is the field's accessible description, and nothing can be sent.
    await field.fill('postgres://castellan:hunter2@db.example/castellan');
    await card.getByText(/the URL contains a password\. Castellan does not save passwords/).waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    const describedBy = (await field.getAttribute('aria-describedby')) ?? '';
    const description = await page.evaluate(
      (ids) => ids.split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' '),
      describedBy,
    );
    assert.match(description, /~\/\.pgpass or the PGPASSWORD/);
    await passphrase.fill(PASSPHRASE);
    assert.equal(await save.isDisabled(), true, 'a URL with a password cannot be saved');
    assert.equal(await testButton.isDisabled(), true);
    await expectNoViolations(page, 'Settings → Database, a refused URL');
    await field.fill('mysql://db.example/castellan');
    await card.getByText(/must start with postgres:\/\//).waitFor();
    assert.equal(await save.isDisabled(), true);
    assert.equal(services.database.preference.get(), null, 'nothing was saved');

    // Test connection, by keyboard: a server that is not there says why; nothing is saved.
    await field.fill('postgres://castellan@127.0.0.1:1/castellan');
    assert.equal(await field.getAttribute('aria-invalid'), 'false');
    await passphrase.focus();
    await tabTo(page, testButton);
    await page.keyboard.press('Enter');
    await card.getByRole('alert').filter({ hasText: /cannot connect to PostgreSQL \(database castellan on 127\.0\.0\.1:1\)/ }).waitFor();
    assert.equal(services.database.preference.get(), null);

    // Save by pressing Enter in the field: the passphrase goes with the request, then is cleared.
    await field.fill(TEAM_URL);
    await passphrase.fill(PASSPHRASE);
    await field.press('Enter');
    await card.getByRole('status').filter({ hasText: 'Saved. Castellan opens database castellan on db.example:5432 at the next start' }).waitFor();
    assert.equal(services.database.preference.get(), TEAM_URL);
    assert.equal(await passphrase.inputValue(), '', 'the passphrase is not kept');
    const pending = card.getByRole('alert', { name: 'Takes effect at the next start' });
    await pending.filter({ hasText: 'The next start opens database castellan on db.example:5432 (PostgreSQL)' }).waitFor();
    assert.equal(await card.getByTestId('database-source').textContent(), 'the default (no database chosen)', 'this run is unchanged');
    assert.ok(services.ws.audit.list({ limit: 100 }).rows.some((r) => r.action === 'workspace.database'));
    await expectNoViolations(page, 'Settings → Database, a change pending');

    // Back to the embedded file, by keyboard.
    await passphrase.fill(PASSPHRASE);
    await tabTo(page, embedded);
    await page.keyboard.press('Space');
    await card.getByRole('status').filter({ hasText: 'Saved. Castellan keeps using the embedded file' }).waitFor();
    assert.equal(services.database.preference.get(), null);
    await pending.waitFor({ state: 'detached' });
    assert.equal(await field.inputValue(), '');
  });

  test('the saved URL fills the field; a wrong passphrase is refused on the page and nothing is saved', async (t) => {
    const services = servicesWith({ vault: true });
    t.after(() => services.ws.close());
    const old = 'postgres://castellan@old.example/castellan';
    services.database.preference.set(old);
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    t.after(() => app.close());
    const card = app.page.getByRole('region', { name: 'Database' });
    const field = card.getByRole('textbox', { name: 'PostgreSQL URL' });
    await card.getByRole('alert', { name: 'Takes effect at the next start' }).waitFor();
    assert.equal(await field.inputValue(), old);
    await field.fill(TEAM_URL);
    await card.getByLabel('Current passphrase').fill('not the passphrase');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByRole('alert').filter({ hasText: /passphrase/i }).waitFor();
    assert.equal(services.database.preference.get(), old);
  });

  test('a hand-edited preference with a password: said on the page, never shown', async (t) => {
    const services = servicesWith({ vault: true });
    t.after(() => services.ws.close());
    services.database.preference.set('postgres://castellan:hunter2@db.example/castellan');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    t.after(() => app.close());
    const { page } = app;
    const card = page.getByRole('region', { name: 'Database' });
    await card.getByRole('alert', { name: 'The saved database cannot be used' }).filter({ hasText: /contains a password/ }).waitFor();
    assert.equal(await card.getByRole('textbox', { name: 'PostgreSQL URL' }).inputValue(), '');
    assert.ok(!(await page.content()).includes('hunter2'));
    await card.getByLabel('Current passphrase').fill(PASSPHRASE);
    await card.getByRole('button', { name: 'Use the embedded file' }).click();
    await card.getByRole('status').filter({ hasText: 'Saved. Castellan keeps using the embedded file' }).waitFor();
    assert.equal(services.database.preference.get(), null);
    await expectNoViolations(page, 'Settings → Database, after clearing a bad preference');
  });

  test('CASTELLAN_DATABASE_URL: shown as the source, without user or password, and not editable', async (t) => {
    const services = servicesWith({
      vault: true,
      active: { source: 'env', url: 'postgres://ops:hunter2@pg.internal:6432/authority' },
    });
    t.after(() => services.ws.close());
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    t.after(() => app.close());
    const { page } = app;
    const card = page.getByRole('region', { name: 'Database' });
    await card.getByTestId('database-engine').filter({ hasText: 'PostgreSQL' }).waitFor();
    assert.equal(await card.getByTestId('database-description').textContent(), 'database authority on pg.internal:6432');
    assert.equal(await card.getByTestId('database-source').textContent(), 'the CASTELLAN_DATABASE_URL environment variable');
    await card.getByTestId('database-env-locked').filter({ hasText: 'cannot be changed here' }).waitFor();
    assert.equal(await card.getByRole('textbox', { name: 'PostgreSQL URL' }).count(), 0);
    assert.equal(await card.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    const html = await page.content();
    assert.ok(!html.includes('hunter2') && !html.includes('ops@'), 'neither the password nor the user name reaches the page');
    await expectNoViolations(page, 'Settings → Database, set by the environment');
  });

  test('no vault yet: no passphrase asked; the change is confirmed in a system dialog', async (t) => {
    const services = servicesWith({ vault: false });
    t.after(() => services.ws.close());
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    t.after(() => app.close());
    const { page } = app;
    const card = page.getByRole('region', { name: 'Database' });
    await card.getByText('you confirm a change in a system dialog').waitFor();
    assert.equal(await card.getByLabel('Current passphrase').count(), 0);
    services.dialogs.confirms.push(true);
    await card.getByRole('textbox', { name: 'PostgreSQL URL' }).fill(TEAM_URL);
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByRole('status').filter({ hasText: /^Saved\. Castellan opens database castellan on db\.example:5432/ }).waitFor();
    assert.equal(services.database.preference.get(), TEAM_URL);
    assert.match(services.dialogs.asked.at(-1) ?? '', /confirm the database change/);
    await expectNoViolations(page, 'Settings → Database, no vault');
  });
});

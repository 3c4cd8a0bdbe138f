import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { createKey, getKey, listKeys, rotateKey } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { readWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';

const SAMPLES = SAMPLES_DIR;

function profileSection(page: Page, heading: RegExp): Locator {
  return page.getByRole('region', { name: heading });
}

describe('keys: signing keys, the ZLayer secret, JWKS and the vault', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('create keys, rotate ed25519 as compromised, revoke its tokens after a dry run, export the JWKS', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    importDeployments(services.ws, readSpecFiles(SAMPLES));
    const app = await openApp(browser, { router: testRouter(services), hash: '#/keys' });
    try {
      const { page } = app;
      const zlayer = profileSection(page, /^ZLayer/);
      const ed = profileSection(page, /^Ed25519/);

      await zlayer.getByRole('button', { name: 'Create zlayer key' }).click();
      await zlayer.getByRole('row').filter({ hasText: 'HS256' }).getByText('active', { exact: true }).waitFor();
      await ed.getByRole('button', { name: 'Create ed25519 key' }).click();
      const firstEd = ed.locator('tr[data-state="active"]');
      await firstEd.waitFor();
      const oldId = (await firstEd.getAttribute('data-key-id')) ?? '';
      assert.match(oldId, /^ed25519-/);
      assert.equal(
        await ed.getByRole('button', { name: 'Create ed25519 key' }).count(),
        0,
        'create gives way to rotate',
      );

      // Three ed25519 tokens, minted through the real boundary.
      const minted = await page.evaluate(async () => {
        const api = (
          window as unknown as {
            castellan: { tokens: { mintBatch(i: unknown): Promise<{ ok: boolean; data?: unknown[] }> } };
          }
        ).castellan;
        const answer = await api.tokens.mintBatch({ deployment: 'storefront', service: 'worker', profile: 'ed25519' });
        return answer.ok ? (answer.data?.length ?? 0) : -1;
      });
      assert.equal(minted, 3);
      await page.getByRole('button', { name: 'Reload', exact: true }).click();
      await firstEd.filter({ hasText: '3 active' }).waitFor();

      await ed.getByRole('button', { name: 'Rotate ed25519 key…' }).click();
      const rotate = page.getByRole('dialog', { name: 'Rotate the ed25519 key' });
      await rotate.getByRole('checkbox', { name: 'The current key is compromised' }).check();
      await rotate.getByRole('button', { name: 'Rotate key' }).click();
      const rotated = page.getByRole('dialog', { name: 'Key rotated' });
      await rotated.getByText(/3 of them are active/).waitFor();

      const oldRow = ed.locator(`tr[data-key-id="${oldId}"]`);
      await oldRow.getByText('verify-only', { exact: true }).waitFor();
      await oldRow.getByText('compromised', { exact: true }).waitFor();
      await ed.locator('tr[data-state="active"]').waitFor();

      await rotated.getByRole('button', { name: /Revoke the old key’s tokens/ }).click();
      const offer = page.getByRole('dialog', { name: `Revoke the tokens of key ${oldId}` });
      const dryRun = offer.getByTestId('key-dry-run');
      await dryRun.waitFor();
      assert.match((await dryRun.textContent()) ?? '', /Dry run: 3 tokens signed by key .* are still active/);
      assert.equal(
        listTokens(services.ws, { filter: { key_id: oldId, status: 'active' } }).total,
        3,
        'the dry run revoked nothing',
      );
      assert.equal(await offer.getByRole('radio', { name: 'Key compromise' }).isChecked(), true);
      await offer.getByRole('button', { name: 'Revoke 3 tokens' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Revoked 3 tokens of the compromised key ${oldId}` })
        .waitFor();
      await oldRow.filter({ hasText: '0 active · 0 expired · 3 revoked' }).waitFor();
      assert.equal(listTokens(services.ws, { filter: { key_id: oldId, status: 'revoked' } }).total, 3);

      // The JWKS goes where the (stand-in) save dialog says.
      const jwksFile = path.join(tempDir('castellan-jwks-'), 'jwks.json');
      services.dialogs.saves.push(jwksFile);
      await page.getByRole('button', { name: 'Export JWKS…' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Saved the JWKS to ${jwksFile}` })
        .waitFor();
      const jwks = JSON.parse(fs.readFileSync(jwksFile, 'utf8')) as { keys: { kty: string }[] };
      assert.ok(jwks.keys.length >= 1, 'at least the active ed25519 key');
      assert.ok(jwks.keys.every((k) => k.kty === 'OKP'));
    } finally {
      await app.close();
    }
  });

  test('export the ZLayer secret only after confirming; import a pasted one', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/keys' });
    try {
      const { page } = app;
      const zlayer = profileSection(page, /^ZLayer/);
      await zlayer.getByRole('button', { name: 'Create zlayer key' }).waitFor();
      assert.equal(
        await zlayer.getByRole('button', { name: 'Export secret…' }).isDisabled(),
        true,
        'nothing to export yet',
      );
      await zlayer.getByRole('button', { name: 'Create zlayer key' }).click();
      await page.getByRole('status').filter({ hasText: 'Created zlayer key' }).waitFor();

      const keyFile = path.join(tempDir('castellan-secret-'), 'jwt_secret_zlayer.key');
      services.dialogs.saves.push(keyFile);
      await zlayer.getByRole('button', { name: 'Export secret…' }).click();
      const confirm = page.getByRole('dialog', { name: 'Export the ZLayer secret' });
      await confirm.getByText('Anyone with this file can mint tokens').waitFor();
      assert.equal(services.dialogs.asked.length, 0, 'no file dialog before the confirmation');
      // The export re-authenticates: nothing to send until the current passphrase is typed.
      const exportButton = confirm.getByRole('button', { name: 'Export secret…' });
      assert.equal(await exportButton.isDisabled(), true);
      await confirm.getByLabel('Current passphrase').fill('not the passphrase');
      await exportButton.click();
      await confirm.getByRole('alert').filter({ hasText: 're-authentication failed' }).waitFor();
      assert.equal(services.dialogs.asked.length, 0, 'a wrong passphrase opens no file dialog');
      assert.equal(await confirm.getByLabel('Current passphrase').inputValue(), '', 'the passphrase is not kept');
      await confirm.getByLabel('Current passphrase').fill('correct horse battery');
      await exportButton.click();
      await page
        .getByRole('status')
        .filter({ hasText: `Saved the ZLayer secret to ${keyFile}` })
        .waitFor();
      await confirm.waitFor({ state: 'detached' });
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);

      // A literal secret replaces the active zlayer key (the old one, with no tokens, retires).
      const secret = 'q8Jx2mVt7RzL4nWc9PbF3kYh6GsD1aEu5oTiN0rXvB2yQ7wZ';
      await zlayer.getByLabel('ZLayer JWT secret').fill(secret);
      const importButton = zlayer.getByRole('button', { name: 'Import pasted secret' });
      assert.equal(await importButton.isDisabled(), true, 'importing needs the current passphrase');
      await zlayer.getByLabel('Current passphrase (to import)').fill('correct horse battery');
      await importButton.click();
      await page.getByRole('status').filter({ hasText: 'Imported the ZLayer secret as key' }).waitFor();
      assert.equal(await zlayer.getByLabel('ZLayer JWT secret').inputValue(), '', 'the pasted secret is cleared');
      assert.equal(await zlayer.getByLabel('Current passphrase (to import)').inputValue(), '', 'so is the passphrase');
      assert.ok(!(await page.content()).includes(secret));
      await zlayer.locator('tr[data-key-id]:not([data-state="active"])').waitFor();
      assert.equal(await zlayer.locator('tr[data-key-id]').count(), 2);
      assert.equal(listKeys(services.ws).filter((k) => k.profile === 'zlayer' && k.state === 'active').length, 1);

      // The same secret again is refused with a readable message.
      await zlayer.getByLabel('ZLayer JWT secret').fill(secret);
      await zlayer.getByLabel('Current passphrase (to import)').fill('correct horse battery');
      await zlayer.getByRole('button', { name: 'Import pasted secret' }).click();
      await page.getByRole('alert').filter({ hasText: 'already held by key' }).waitFor();
    } finally {
      await app.close();
    }
  });

  test('the vault section lists slots, adds one, refuses to remove the last, and locks', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/keys' });
    try {
      const { page } = app;
      const vault = page.getByRole('region', { name: 'Vault', exact: true });
      const slots = vault.getByRole('table', { name: 'Vault slots' }).locator('tbody tr');
      await slots.first().waitFor();
      assert.equal(await slots.count(), 1);
      assert.match((await slots.first().textContent()) ?? '', /passphrase/);

      // No keychain in this process: the button says why it is disabled.
      const addKeychain = vault.getByRole('button', { name: 'Add OS-keychain slot…' });
      assert.equal(await addKeychain.isDisabled(), true);
      assert.match((await addKeychain.getAttribute('aria-describedby')) ?? '', /keychain-reason/);
      await vault.getByText(/Unavailable: no OS keychain/).waitFor();

      // The only slot cannot be removed.
      await slots
        .first()
        .getByRole('button', { name: /^Remove slot / })
        .click();
      let dialog = page.getByRole('dialog', { name: /^Remove / });
      assert.equal(await dialog.getByRole('button', { name: 'Remove slot' }).isDisabled(), true, 'needs the passphrase');
      await dialog.getByLabel('Current passphrase').fill('correct horse battery');
      await dialog.getByRole('button', { name: 'Remove slot' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'last way to unlock this workspace' }).waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });

      await vault.getByLabel('Slot label').fill('recovery');
      await vault.getByLabel('Slot passphrase', { exact: true }).fill('another long passphrase');
      await vault.getByLabel('Repeat slot passphrase').fill('another long passphrase');
      // Without the current passphrase the add cannot be sent; with a wrong one it is refused.
      assert.equal(await vault.getByRole('button', { name: 'Add passphrase slot' }).isDisabled(), true);
      await vault.getByLabel('Current passphrase').fill('an attacker would guess');
      await vault.getByRole('button', { name: 'Add passphrase slot' }).click();
      await vault.getByRole('alert').filter({ hasText: 're-authentication failed' }).waitFor();
      assert.equal(await slots.count(), 1);
      assert.equal(services.ws.vault.status().slots.length, 1, 'the refused add changed nothing');
      assert.equal(await vault.getByLabel('Current passphrase').inputValue(), '', 'the passphrase is not kept');
      await vault.getByLabel('Current passphrase').fill('correct horse battery');
      await vault.getByRole('button', { name: 'Add passphrase slot' }).click();
      await vault.getByRole('status').filter({ hasText: 'Added a passphrase slot' }).waitFor();
      assert.equal(await slots.count(), 2);
      await slots.filter({ hasText: 'recovery' }).waitFor();
      assert.equal(await vault.getByLabel('Slot passphrase', { exact: true }).inputValue(), '');

      // With two, one can go.
      await vault.getByRole('button', { name: 'Remove slot recovery' }).click();
      dialog = page.getByRole('dialog', { name: 'Remove recovery' });
      // The new slot's passphrase re-authenticates as well as the first one.
      await dialog.getByLabel('Current passphrase').fill('another long passphrase');
      await dialog.getByRole('button', { name: 'Remove slot' }).click();
      await vault.getByRole('status').filter({ hasText: 'Removed recovery' }).waitFor();
      assert.equal(await slots.count(), 1);

      await vault.getByRole('button', { name: 'Lock vault' }).click();
      await page.getByTestId('vault-badge').filter({ hasText: 'vault locked' }).waitFor();
      await page
        .getByRole('alert', { name: 'Vault' })
        .or(page.getByLabel('Vault', { exact: true }).filter({ hasText: 'The vault is locked' }))
        .first()
        .waitFor();
      assert.equal(services.ws.vault.status().unlocked, false);
    } finally {
      await app.close();
    }
  });

  test('a compromised key’s panel: what can be revoked, what cannot (no jti) and until when; force-retire asks for the passphrase', async () => {
    const services = testServices();
    const passphrase = 'correct horse battery';
    services.ws.vault.initialize(passphrase);
    importDeployments(services.ws, readSpecFiles(SAMPLES));
    await createKey(services.ws, 'ed25519');
    const mint = (container: string, noJti: boolean) =>
      mintToken(services.ws, { deployment: 'storefront', service: 'web', container, profile: 'ed25519', noJti });
    const withJti = mint('web-0', false);
    const stuck = mint('web-1', true);
    const oldId = (await rotateKey(services.ws, 'ed25519', { compromised: true })).previous!.id;
    const app = await openApp(browser, { router: testRouter(services), hash: '#/keys' });
    try {
      const { page } = app;
      const panel = page.getByTestId('compromised-key-panel');
      await panel.getByText(`Key ${oldId} is compromised`).waitFor();
      await panel.getByTestId('revocable').filter({ hasText: '1 token can be revoked' }).waitFor();
      const unrevocable = panel.getByTestId('unrevocable');
      await unrevocable
        .filter({ hasText: /1 token cannot be revoked \(minted without a jti\); they stay usable until \d{4}-/ })
        .waitFor();
      const rows = panel.getByRole('table', { name: `Active tokens of key ${oldId}` }).getByRole('row');
      await rows
        .filter({ hasText: `#${stuck.record.id}` })
        .filter({ hasText: 'no (no jti)' })
        .waitFor();
      await rows
        .filter({ hasText: `#${withJti.record.id}` })
        .filter({ hasText: 'yes' })
        .waitFor();

      await panel.getByRole('button', { name: 'Force-retire key…' }).click();
      const dialog = page.getByRole('dialog', { name: `Force-retire key ${oldId}` });
      const field = dialog.getByLabel('Current passphrase');
      await field.fill('not the passphrase');
      await dialog.getByRole('button', { name: 'Retire key' }).click();
      await dialog.getByRole('alert').filter({ hasText: 're-authentication failed' }).waitFor();
      assert.equal(getKey(services.ws, oldId).state, 'verify-only', 'a wrong passphrase retires nothing');

      await field.fill(passphrase);
      await dialog.getByRole('button', { name: 'Retire key' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Retired key ${oldId}.` })
        .waitFor();
      assert.equal(getKey(services.ws, oldId).state, 'retired');
      const row = page.locator(`tr[data-key-id="${oldId}"]`);
      await row.getByText('retired', { exact: true }).waitFor();
      assert.equal(await panel.getByRole('button', { name: 'Force-retire key…' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: `Force-retire key ${oldId}` }).count(), 0);
    } finally {
      await app.close();
    }
  });

  test('Settings: the workspace’s maximum token lifetime changes only with the passphrase, and caps mints', async () => {
    const services = testServices();
    const passphrase = 'correct horse battery';
    services.ws.vault.initialize(passphrase);
    importDeployments(services.ws, readSpecFiles(SAMPLES));
    await createKey(services.ws, 'zlayer');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    try {
      const { page } = app;
      const card = page.getByRole('region', { name: 'Workspace security' });
      await card.getByTestId('max-token-ttl').filter({ hasText: '(2592000 s)' }).waitFor();
      await card.getByLabel('New maximum token lifetime (days)').fill('0.5');
      await card.getByLabel('Current passphrase').fill('wrong');
      await card.getByRole('button', { name: 'Save maximum lifetime' }).click();
      await card.getByRole('alert').filter({ hasText: 're-authentication failed' }).waitFor();
      assert.equal(readWorkspaceSettings(services.ws).max_token_ttl_secs, 2_592_000);

      await card.getByLabel('Current passphrase').fill(passphrase);
      await card.getByRole('button', { name: 'Save maximum lifetime' }).click();
      await card.getByRole('status').filter({ hasText: 'The maximum token lifetime is now 12 h.' }).waitFor();
      await card.getByTestId('max-token-ttl').filter({ hasText: '(43200 s)' }).waitFor();
      assert.equal(readWorkspaceSettings(services.ws).max_token_ttl_secs, 43_200);
      assert.throws(
        () => mintToken(services.ws, { deployment: 'storefront', service: 'web', container: 'web-0' }),
        /maximum token lifetime of 43200 s/,
      );
    } finally {
      await app.close();
    }
  });
});

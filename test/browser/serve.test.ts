/**
 * Settings → Publishing in the real renderer behind the real router: start publishing on
 * loopback from the page, the URLs it shows answer, the request count grows, stop; and the
 * Tokens drawer shows how often a verifier introspected a token (count and time, no token bytes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { createVerifierClient } from '../../electron/core/serve/clients.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { testRouter, testServices } from '../harness/services.ts';

describe('publishing from the app', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('start on loopback, the shown URLs answer, requests are counted, stop; the drawer shows introspections', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    importDeployments(services.ws, readSpecFiles(SAMPLES_DIR));
    await createKey(services.ws, 'ed25519');
    const minted = mintToken(services.ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' });
    const client = createVerifierClient(services.ws, 'browser test');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/settings' });
    try {
      const { page } = app;
      const card = page.getByRole('region', { name: 'Publishing' });
      await card.getByLabel('Publishing status').filter({ hasText: 'Stopped' }).waitFor();
      await card.getByLabel('Port on 127.0.0.1').fill('0');
      await card.getByRole('button', { name: 'Start publishing' }).click();
      await card.getByLabel('Publishing status').filter({ hasText: 'Running' }).waitFor();
      const urls = card.getByRole('table', { name: 'Published URLs' });
      const jwksUrl = (await urls.getByRole('link', { name: /jwks\.json$/ }).textContent()) ?? '';
      assert.match(jwksUrl, /^http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json$/);
      const base = jwksUrl.replace(/\/\.well-known\/jwks\.json$/, '');

      const jwks = (await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] };
      assert.equal(jwks.keys[0]?.kid, minted.record.kid);
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}/introspect`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${client.client.id}:${client.secret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: `token=${minted.token}`,
        });
        assert.match(await res.text(), /"active":true/);
      }
      await card.getByLabel('Requests served').filter({ hasText: /^3 requests served/ }).waitFor();

      // The Keys and Workers & CA pages say where their documents are published.
      await page.goto(`${app.origin}/index.html#/keys`);
      await page.getByLabel('Where the JWKS and revocation list is published').filter({ hasText: `${base}/.well-known/jwks.json` }).waitFor();
      await page.goto(`${app.origin}/index.html#/workers`);
      await page.getByLabel('Where the CRL and OCSP responder is published').filter({ hasText: `${base}/ocsp` }).waitFor();
      await page.goto(`${app.origin}/index.html#/settings`);

      await card.getByRole('button', { name: 'Stop publishing' }).click();
      await card.getByLabel('Publishing status').filter({ hasText: 'Stopped' }).waitFor();
      await assert.rejects(fetch(`${base}/healthz`), 'the server is closed');

      await page.goto(`${app.origin}/index.html#/workers`);
      await page.getByLabel('Where the CRL and OCSP responder is published').filter({ hasText: /is not being served/ }).waitFor();
      await page.goto(`${app.origin}/index.html#/tokens`);
      const row = page.getByRole('row').filter({ hasText: 'web-0' });
      await row.getByRole('button', { name: /^Details of token / }).click();
      const drawer = page.getByRole('dialog', { name: /^Token / });
      await drawer.getByRole('row').filter({ hasText: 'Introspected' }).filter({ hasText: /2 times, last / }).waitFor();
      const html = await page.content();
      assert.ok(!html.includes(minted.token.split('.')[2]!), 'no token bytes on the page');
    } finally {
      await app.close();
      services.ws.close();
    }
  });
});

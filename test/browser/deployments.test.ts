import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';

const SAMPLES = SAMPLES_DIR;

describe('deployments journey in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('import the samples → ci-runners in the risk findings → fix janitor → diagnostics clear → export', async () => {
    const services = testServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/deployments' });
    const { page } = app;
    try {
      // Import through the native dialog (the only stand-in: which files the OS dialog returns).
      services.dialogs.opens.push([path.join(SAMPLES, 'ci-runners.yaml'), path.join(SAMPLES, 'storefront.yaml')]);
      await page.getByRole('button', { name: 'Import specs…' }).click();
      await page.getByRole('status').filter({ hasText: 'Imported ci-runners, storefront' }).waitFor();
      assert.equal(services.ws.db.prepare('SELECT count(*) AS n FROM deployments').get()?.n, 2);

      // The overview lists ci-runners among the risk findings, with the critical socket first.
      await page.getByRole('link', { name: 'Overview', exact: true }).click();
      const findings = page.getByLabel('Risk findings', { exact: true });
      await findings.getByText('ci-runners/runner').first().waitFor();
      assert.match((await findings.textContent()) ?? '', /Daemon socket mounted: full daemon admin/);
      assert.equal(await page.getByTestId('count-deployments').textContent(), '2');
      assert.equal(await page.getByTestId('count-services').textContent(), '5');

      // The janitor's labels carry mistakes the daemon silently drops: the editor shows them live.
      await page.getByRole('link', { name: 'Deployments', exact: true }).click();
      await page.getByRole('button', { name: 'ci-runners/janitor' }).click();
      const card = page.getByLabel('Policy of ci-runners/janitor');
      await card.waitFor();
      assert.match((await card.textContent()) ?? '', /container:\*:write/);
      const diagnostics = page.getByTestId('diagnostic');
      await diagnostics.first().waitFor();
      assert.ok((await diagnostics.count()) >= 2, 'garbage scope entry and TTL fallback');
      assert.match((await page.getByRole('region', { name: 'Diagnostics' }).textContent()) ?? '', /garbage/);

      // Fix them in the raw view; diagnostics clear before saving (live, from shared code).
      await page.locator('label', { hasText: /^Raw$/ }).click();
      await page.getByRole('textbox', { name: 'Raw labels' }).fill(
        'zlayer.io/api-scopes=container:*:write, image:*:read\nzlayer.io/api-token-ttl=3600\nzlayer.io/daemon-socket=false',
      );
      await page.getByTestId('no-diagnostics').waitFor();
      // The structured view follows the raw one.
      await page.locator('label', { hasText: /^Structured$/ }).click();
      assert.equal(await page.getByRole('textbox', { name: 'Lifetime' }).inputValue(), '1');
      assert.equal(await page.getByRole('combobox', { name: 'Unit' }).inputValue(), 'h');

      await page.getByRole('button', { name: 'Review and save' }).click();
      const diff = page.getByRole('table', { name: 'Label changes' });
      await diff.waitFor();
      const diffText = (await diff.textContent()) ?? '';
      assert.match(diffText, /not-a-number/);
      assert.match(diffText, /3600/);
      await page.getByRole('button', { name: 'Save labels' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved labels of ci-runners/janitor' }).waitFor();
      await page.getByTestId('ttl').filter({ hasText: '1 h' }).waitFor();
      assert.equal(await page.getByTestId('labels-changed-elsewhere').count(), 0, 'our own save is not a change made elsewhere');

      // The main process stored exactly that, and the audit chain recorded it.
      const row = services.ws.db.prepare("SELECT labels FROM services WHERE deployment = 'ci-runners' AND name = 'janitor'").get();
      assert.equal(JSON.parse(String(row?.labels))['zlayer.io/api-token-ttl'], '3600');
      assert.equal(services.ws.audit.verify().ok, true);

      // Export: the document comes back with only the janitor's label lines changed.
      const out = path.join(tempDir(), 'ci-runners.yaml');
      services.dialogs.saves.push(out);
      await page.getByRole('button', { name: 'Export ci-runners' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved ci-runners' }).waitFor();
      const before = fs.readFileSync(path.join(SAMPLES, 'ci-runners.yaml'), 'utf8').split('\n');
      const afterLines = fs.readFileSync(out, 'utf8').split('\n');
      assert.equal(afterLines.length, before.length);
      const changed = before.map((l, i) => (l === afterLines[i] ? null : i)).filter((i) => i !== null);
      assert.deepEqual(changed.map((i) => before[i!]!.trim().split(':')[0]), ['zlayer.io/api-scopes', 'zlayer.io/api-token-ttl', 'zlayer.io/daemon-socket']);
      assert.ok(afterLines[0]!.startsWith('# Build runners'), 'comments survive');
    } finally {
      await app.close();
    }
  });

  test('drag-and-drop import, the access matrix, and a bad spec refused with its location', async () => {
    const services = testServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/deployments' });
    const { page } = app;
    try {
      const drop = async (files: { name: string; text: string }[]) =>
        page.getByRole('region', { name: 'Drop ZLayer specs here' }).evaluate((el, list) => {
          const dt = new DataTransfer();
          for (const f of list) dt.items.add(new File([f.text], f.name, { type: 'application/yaml' }));
          el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }, files);

      await drop([{ name: 'broken.yaml', text: 'version: v1\ndeployment: broken-app\nservices:\n  web:\n    labels:\n      zlayer.io/api-token-ttl: 3600\n' }]);
      const alert = page.getByRole('alert').filter({ hasText: 'broken.yaml:6:32' });
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /must be a string/);
      assert.equal(services.ws.db.prepare('SELECT count(*) AS n FROM deployments').get()?.n, 0, 'nothing imported');

      await drop(['ci-runners.yaml', 'storefront.yaml'].map((name) => ({ name, text: fs.readFileSync(path.join(SAMPLES, name), 'utf8') })));
      await page.getByRole('status').filter({ hasText: 'Imported ci-runners, storefront' }).waitFor();

      await page.getByRole('link', { name: 'Access matrix', exact: true }).click();
      const cell = page.getByRole('button', { name: 'ci-runners/runner deployment: write on every id' });
      await cell.waitFor();
      await cell.click();
      const granting = page.getByLabel('Granting scopes');
      assert.match((await granting.textContent()) ?? '', /deployment:\*:write/);
      // The worker only reads its own deployment: no wildcard there.
      await page.getByRole('button', { name: 'storefront/worker deployment: read' }).waitFor();
    } finally {
      await app.close();
    }
  });
});

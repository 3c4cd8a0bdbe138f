import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { seedDemoWorkspace } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('the audit page verifies the chain, exports it, and names the first tampered entry', async () => {
  const services = testServices();
  await seedDemoWorkspace(services.ws);
  const app = await openApp(browser, { router: testRouter(services), hash: '#/audit' });
  const { page } = app;
  try {
    const status = page.getByTestId('chain-status');
    await status.filter({ hasText: 'Audit chain verified' }).waitFor();
    await page.getByRole('table', { name: 'Audit entries' }).getByText('token.revoke').first().waitFor();

    // Filter by action: only matching rows remain.
    await page.getByRole('textbox', { name: 'Action' }).fill('deployment.import');
    await page.getByRole('table', { name: 'Audit entries' }).getByText('deployment:storefront').waitFor();
    assert.equal(await page.getByRole('table', { name: 'Audit entries' }).getByText('token.revoke').count(), 0);

    // Export as JSONL through the (stand-in) save dialog: one line per entry, hashes included.
    const out = path.join(tempDir(), 'audit.jsonl');
    services.dialogs.saves.push(out);
    await page.getByRole('button', { name: 'Export JSONL' }).click();
    await page.getByText(`Audit log saved to ${out}`).waitFor();
    const all = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The last line is the signed checkpoint over the entries before it.
    const checkpoint = all.pop()!.checkpoint as { count: number; head: string };
    const lines = all as { seq: number; hash: string }[];
    assert.equal(lines.length, services.ws.audit.verify().count);
    assert.equal(checkpoint.count, lines.length);
    assert.equal(checkpoint.head, lines.at(-1)!.hash);
    assert.match(lines[0]!.hash, /^[0-9a-f]{64}$/);

    // Someone with the file edits entry 3 behind Castellan's back.
    for (const row of services.ws.db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'").all()) {
      services.ws.db.exec(`DROP TRIGGER IF EXISTS "${String(row.name)}"`);
    }
    services.ws.db.prepare("UPDATE audit SET target = 'deployment:forged' WHERE seq = 3").run();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const broken = page.getByTestId('chain-status').filter({ hasText: 'Audit chain broken' });
    await broken.waitFor();
    assert.match((await broken.textContent()) ?? '', /Entry 3/);
  } finally {
    await app.close();
  }
});

test('the admin who creates the vault names themselves; the Audit page shows who, where and through what', async () => {
  const services = testServices();
  const app = await openApp(browser, { router: testRouter(services), hash: '#/audit' });
  const { page } = app;
  try {
    const gate = page.getByRole('alert', { name: 'Vault' });
    await gate.getByRole('textbox', { name: /^Your name/ }).waitFor();
    const violations = await runAxe(page);
    assert.equal(violations.length, 0, formatViolations('create-vault form', violations));
    await gate.getByRole('textbox', { name: /^Your name/ }).fill('Alice Martin');
    await gate.getByLabel('New passphrase').fill('a passphrase for alice');
    await gate.getByLabel('Repeat passphrase').fill('a passphrase for alice');
    await gate.getByRole('button', { name: 'Create vault' }).click();
    await gate.waitFor({ state: 'detached' });
    assert.equal(services.ws.vault.status().slots[0]!.label, 'Alice Martin');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const row = page.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: 'vault.initialize' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Alice Martin \(tester@[^,]+, app\)/);
  } finally {
    await app.close();
    services.ws.close();
  }
});

/**
 * Issue 12, point 4: axe-core on every page of the console, light and dark, on a seeded
 * workspace: zero serious or critical violations. Also the headings rule the console keeps:
 * one h1 per page, no skipped levels. Then the dialogs: the command palette, minting, a token's
 * details and a revoke.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { openApp } from '../harness/app-harness.ts';
import { formatViolations, runAxe } from '../harness/axe.ts';
import { launchChromium } from '../harness/chromium.ts';
import { seedDemoCa, seedDemoWorkspace } from '../harness/seed.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';

const PAGES: [string, string][] = [
  ['overview', 'Overview'],
  ['deployments', 'Deployments'],
  ['matrix', 'Access matrix'],
  ['tokens', 'Tokens'],
  ['inspector', 'Inspector'],
  ['workers', 'Workers & CA'],
  ['keys', 'Keys'],
  ['audit', 'Audit'],
  ['settings', 'Settings'],
];

/** Heading levels in document order, visible ones only. */
async function headingLevels(page: Page): Promise<{ level: number; text: string }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('h1, h2, h3, h4, h5, h6, [role="heading"]')]
      .filter((h) => (h as HTMLElement).offsetParent !== null || h.getClientRects().length > 0)
      .map((h) => ({
        level: h.getAttribute('aria-level') ? Number(h.getAttribute('aria-level')) : Number(h.tagName.slice(1)),
        text: (h.textContent ?? '').trim(),
      })),
  );
}

describe('accessibility: axe-core on all nine pages, light and dark', () => {
  let browser: Browser;
  let services: TestServices;
  let token: string;
  before(async () => {
    browser = await launchChromium();
    services = testServices(openTestWorkspace());
    ({ token } = await seedDemoWorkspace(services.ws));
    await seedDemoCa(services.ws);
  });
  after(async () => {
    await browser?.close();
    services?.ws.close();
  });

  for (const scheme of ['light', 'dark'] as const) {
    test(`${scheme} theme: no serious or critical violation, one h1, ordered headings`, async () => {
      const app = await openApp(browser, { router: testRouter(services), colorScheme: scheme });
      const failures: string[] = [];
      try {
        for (const [id, label] of PAGES) {
          await app.page.goto(`${app.origin}/index.html#/${id}`);
          await app.page.getByRole('heading', { level: 1, name: label, exact: true }).waitFor();
          if (id === 'deployments') await app.page.getByRole('button', { name: 'ci-runners/janitor' }).click();
          if (id === 'inspector') {
            await app.page.getByRole('textbox', { name: 'Token' }).fill(token);
            await app.page.getByRole('button', { name: 'Inspect', exact: true }).click();
            await app.page.getByTestId('verdict').waitFor();
          }
          await app.page.waitForLoadState('networkidle');
          await app.page.waitForTimeout(300);
          const violations = await runAxe(app.page);
          if (violations.length) failures.push(formatViolations(`${scheme} ${id}`, violations));
          const levels = await headingLevels(app.page);
          const h1s = levels.filter((h) => h.level === 1);
          if (h1s.length !== 1) failures.push(`${scheme} ${id}: ${h1s.length} h1 elements (${h1s.map((h) => h.text).join(', ')})`);
          for (let i = 1; i < levels.length; i++) {
            if (levels[i]!.level > levels[i - 1]!.level + 1) {
              failures.push(`${scheme} ${id}: heading "${levels[i]!.text}" (h${levels[i]!.level}) follows h${levels[i - 1]!.level} "${levels[i - 1]!.text}"`);
            }
          }
        }
        // Dialogs too: the command palette, minting, a token's details, a revoke.
        const page = app.page;
        const dialogs: [string, () => Promise<void>][] = [
          ['command palette', async () => {
            await page.keyboard.press('Control+k');
            await page.getByRole('dialog', { name: 'Go to' }).getByRole('combobox').fill('web');
            await page.getByRole('dialog', { name: 'Go to' }).getByRole('option').first().waitFor();
          }],
          ['mint dialog', async () => {
            await page.getByRole('button', { name: /^Mint/ }).first().click();
            await page.getByRole('dialog').waitFor();
          }],
          ['token details', async () => {
            await page.getByRole('button', { name: /^Details of token / }).first().click();
            await page.getByRole('dialog').waitFor();
          }],
          ['revoke dialog', async () => {
            await page.getByRole('button', { name: /^Revoke token / }).first().click();
            await page.getByRole('dialog').waitFor();
          }],
        ];
        await page.goto(`${app.origin}/index.html#/tokens`);
        await page.getByRole('button', { name: /^Details of token / }).first().waitFor();
        for (const [what, open] of dialogs) {
          await open();
          await page.waitForTimeout(300);
          const violations = await runAxe(page);
          if (violations.length) failures.push(formatViolations(`${scheme} ${what}`, violations));
          await page.keyboard.press('Escape');
          await page.getByRole('dialog').waitFor({ state: 'detached' });
        }
      } finally {
        await app.close();
      }
      assert.equal(failures.length, 0, failures.join('\n'));
    });
  }
});

/**
 * Issue 12, point 3: the Overview ranks. Every finding is reachable (the first ten shown, "Show
 * all" for the rest, lows included), worst first across services, the counts agree, the implicit
 * default access of an unlabelled service is rated by what it grants, and no badge is cut.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { allPolicies, setLabels } from '../../electron/core/deployments/deployments.ts';
import { FINDING_SEVERITIES } from '../../shared/policy/findings.ts';
import { openApp } from '../harness/app-harness.ts';
import { launchChromium } from '../harness/chromium.ts';
import { seedDemoWorkspace } from '../harness/seed.ts';
import { openTestWorkspace, testRouter, testServices, type TestServices } from '../harness/services.ts';

describe('overview: risk findings that rank', () => {
  let browser: Browser;
  let services: TestServices;
  before(async () => {
    browser = await launchChromium();
    services = testServices(openTestWorkspace());
    await seedDemoWorkspace(services.ws);
    // A token that lapses in a minute: a low finding, so the list has every severity.
    setLabels(services.ws, 'storefront', 'worker', {
      'zlayer.io/api-scopes': 'deployment:storefront:read',
      'zlayer.io/api-token-ttl': '60',
    });
  });
  after(async () => {
    await browser?.close();
    services?.ws.close();
  });

  test('all findings reachable, worst first, counts that match, defaults rated high, nothing truncated', async () => {
    const expected = allPolicies(services.ws).flatMap((p) => p.findings);
    assert.ok(expected.length > 10, `the seeded workspace has more findings than the preview (${expected.length})`);
    assert.ok(expected.some((f) => f.severity === 'low'));
    const app = await openApp(browser, { router: testRouter(services), hash: '#/overview' });
    const { page } = app;
    try {
      const card = page.getByRole('region', { name: 'Risk findings', exact: true });
      const items = card.getByRole('listitem');
      await items.first().waitFor();
      assert.equal(await page.getByTestId('count-findings').textContent(), String(expected.length));
      const counts = Object.fromEntries(FINDING_SEVERITIES.map((s) => [s, expected.filter((f) => f.severity === s).length]));
      assert.equal(
        await card.getByTestId('findings-summary').textContent(),
        `${expected.length} findings: ${FINDING_SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ')}.`,
      );

      // The preview: the ten worst, beginning with the critical one.
      assert.equal(await items.count(), 10);
      const rank = (s: string | null) => FINDING_SEVERITIES.indexOf(s as (typeof FINDING_SEVERITIES)[number]);
      const severities = async () => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-severity')));
      assert.equal((await severities())[0], 'critical');

      // "Show all" reaches every one, lows included, still in order.
      const more = card.getByRole('button', { name: /^Show all \d+ findings/ });
      assert.match((await more.textContent()) ?? '', new RegExp(`^Show all ${expected.length} findings \\(${expected.length - 10} more, ${counts.low} low\\)$`));
      await more.focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((n) => document.querySelectorAll('[aria-label="Findings, worst first"] > li').length === n, expected.length);
      const all = await severities();
      assert.equal(all.length, expected.length);
      for (let i = 1; i < all.length; i++) assert.ok(rank(all[i - 1]!) <= rank(all[i]!), `${all[i - 1]} before ${all[i]} at ${i}`);
      assert.equal(all.filter((s) => s === 'low').length, counts.low);
      assert.equal(await card.getByRole('button', { name: 'Show the worst 10 only' }).getAttribute('aria-expanded'), 'true');

      // storefront/cache has no api-scopes label: the daemon's default write on every container and image is high.
      const cache = items.filter({ hasText: 'storefront/cache' });
      assert.deepEqual(
        (await cache.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()).sort(),
        ['highstorefront/cache Write on every container (implicit ZLayer default)', 'highstorefront/cache Write on every image (implicit ZLayer default)'],
      );

      // No badge anywhere on the page is cut to an ellipsis.
      const cut = await page.evaluate(() =>
        [...document.querySelectorAll('.mantine-Badge-label')]
          .filter((el) => el.scrollWidth > el.clientWidth + 1)
          .map((el) => el.textContent),
      );
      assert.deepEqual(cut, []);

      // Each finding links to its service's policy.
      await cache.first().getByRole('link', { name: 'storefront/cache' }).click();
      await page.getByLabel('Policy of storefront/cache').waitFor();
    } finally {
      await app.close();
    }
  });
});

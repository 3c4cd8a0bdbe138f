/**
 * Issue 12, points 1 and 2 in Chromium: the Tokens table's scopes, risk and lifetime, its
 * capability and risk filters checked against the ledger; the access matrix's cell → the live
 * tokens holding that access → bulk revoke; and the policy editor journey, whose label text is
 * checked by parsing it again with the daemon's grammar.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { resolveContainerAccess } from '../../shared/policy/labels.ts';
import { CAPABILITY_LABELS, TOKEN_CAPABILITIES } from '../../shared/policy/token-risk.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { testRouter, testServices, type TestServices } from '../harness/services.ts';

const VAULT_SPEC = `version: v1
deployment: vault-app
services:
  keeper:
    rtype: service
    image: {name: keeper:1}
    labels:
      zlayer.io/api-scopes: "secret:vault-app:write, deployment:vault-app:read"
      zlayer.io/api-token-ttl: "3600"
`;

/** The samples and a service that can write a secret, a zlayer key, and tokens of five services. */
async function preparedServices(): Promise<TestServices> {
  const services = testServices();
  services.ws.vault.initialize('correct horse battery');
  importDeployments(services.ws, [...readSpecFiles(SAMPLES_DIR), { file: 'vault-app.yaml', text: VAULT_SPEC }]);
  await createKey(services.ws, 'zlayer');
  const mint = (deployment: string, service: string, n: number) =>
    mintBatch(services.ws, { deployment, service, containers: Array.from({ length: n }, (_, i) => `${service}-${i}`) });
  mint('storefront', 'web', 2);
  mint('storefront', 'worker', 2);
  mint('ci-runners', 'runner', 2);
  mint('ci-runners', 'janitor', 1);
  mint('vault-app', 'keeper', 1);
  return services;
}

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Serious and critical axe-core violations on the page as it stands. Colour contrast is left to
 * the theme's own all-page run (the theme's colours, not these components, decide it).
 */
async function axeViolations(page: Page, include?: string[]): Promise<string[]> {
  await page.evaluate(`${AXE_SOURCE};undefined`);
  const results = (await page.evaluate(
    (include) =>
      (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } }).axe.run(
        include ? { include } : document,
        {
          resultTypes: ['violations'],
          rules: { 'color-contrast': { enabled: false } },
        },
      ),
    include,
  )) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function renderedIds(page: Page): Promise<number[]> {
  const table = page.getByRole('table', { name: 'Tokens' });
  const ids = await table
    .locator('tbody tr[data-token-id]')
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-token-id'))));
  return ids.sort((a, b) => a - b);
}

async function waitTotal(page: Page, n: number): Promise<void> {
  await page
    .getByTestId('token-total')
    .filter({ hasText: new RegExp(`^${n} tokens?$`) })
    .waitFor();
  // The rows of that answer are in.
  await page.waitForFunction(
    (count) => document.querySelectorAll('table[aria-label="Tokens"] tbody tr[data-token-id]').length === count,
    n,
  );
}

describe('scopes everywhere and the policy editor', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('the Tokens table shows scopes widest first, the daemon socket and lifetime left; capability and risk filters match the ledger', async () => {
    const services = await preparedServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/tokens' });
    try {
      const { page } = app;
      const everything = listTokens(services.ws, { limit: 1000 }).rows;
      await waitTotal(page, everything.length);

      // A storefront/web row: write chips first (wildcards), then the read on its own deployment.
      const web = page.locator(`tbody tr[data-token-id="${everything.find((r) => r.container === 'web-0')!.id}"]`);
      const levels = await web
        .locator('[data-testid="scope-chips"] [data-level]')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-level')}:${e.textContent}`));
      assert.deepEqual(levels, ['write:container:*:write', 'write:image:*:write', 'read:deployment:storefront:read']);
      assert.ok(
        Number(await web.locator('[data-ttl-left]').getAttribute('data-ttl-left')) > 0.9,
        'a fresh token has most of its life left',
      );
      assert.match((await web.textContent()) ?? '', /24 h left/);
      assert.equal(await web.locator('[data-risk]').getAttribute('data-risk'), 'high');
      // The runner had the daemon socket: its own mark, first, and rated critical.
      const runner = page.locator(
        `tbody tr[data-token-id="${everything.find((r) => r.container === 'runner-0')!.id}"]`,
      );
      await runner.getByTestId('daemon-socket-mark').waitFor();
      assert.equal(await runner.locator('[data-risk]').getAttribute('data-risk'), 'critical');
      assert.equal(await web.getByTestId('daemon-socket-mark').count(), 0);

      const filters = page.getByRole('search', { name: 'Token filters' });
      for (const capability of TOKEN_CAPABILITIES) {
        await filters.getByLabel('Capability').selectOption({ label: CAPABILITY_LABELS[capability] });
        const ledger = listTokens(services.ws, { filter: { capability }, limit: 1000 });
        assert.ok(ledger.total > 0, `${capability}: the fixture has some`);
        await waitTotal(page, ledger.total);
        assert.deepEqual(
          await renderedIds(page),
          ledger.rows.map((r) => r.id).sort((a, b) => a - b),
          capability,
        );
      }
      // Checked against the scopes themselves, not only against the same query.
      await filters.getByLabel('Capability').selectOption({ label: 'can write secret' });
      await waitTotal(page, 1);
      assert.match(
        (await page.getByRole('table', { name: 'Tokens' }).locator('tbody tr[data-token-id]').textContent()) ?? '',
        /secret:vault-app:write/,
      );
      await filters.getByLabel('Capability').selectOption({ label: 'Any capability' });
      await filters.getByLabel('Risk').selectOption({ label: 'critical' });
      await waitTotal(page, 2);
      const critical = listTokens(services.ws, { filter: { risk: 'critical' } })
        .rows.map((r) => r.container)
        .sort();
      assert.deepEqual(critical, ['runner-0', 'runner-1']);
      await filters.getByLabel('Risk').selectOption({ label: 'high or critical' });
      const high = everything.filter((r) => r.risk === 'high' || r.risk === 'critical');
      await waitTotal(page, high.length);
      assert.deepEqual(
        await renderedIds(page),
        high.map((r) => r.id).sort((a, b) => a - b),
      );

      assert.deepEqual(await axeViolations(page), []);

      // A bulk revoke by capability: the dry run counts, then exactly those go.
      await filters.getByLabel('Risk').selectOption({ label: 'Any risk' });
      await filters.getByLabel('Capability').selectOption({ label: 'daemon socket' });
      await waitTotal(page, 2);
      await page.getByRole('button', { name: 'Revoke matching…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke every matching token' });
      assert.match(
        (await dialog.getByTestId('bulk-dry-run').textContent()) ?? '',
        /Dry run: 2 active tokens match that had the daemon socket/,
      );
      await dialog.getByRole('button', { name: 'Revoke 2 tokens' }).click();
      await page.getByRole('status').filter({ hasText: 'Revoked 2 tokens' }).waitFor();
      assert.deepEqual(
        listTokens(services.ws, { filter: { status: 'revoked' } })
          .rows.map((r) => r.container)
          .sort(),
        ['runner-0', 'runner-1'],
      );
      assert.equal(listTokens(services.ws, { filter: { status: 'active' } }).total, everything.length - 2);
    } finally {
      await app.close();
    }
  });

  test('a matrix cell is highlighted, lists its scopes once and the live tokens holding that access, and revokes them in bulk', async () => {
    const services = await preparedServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/matrix' });
    try {
      const { page } = app;
      const cell = page.getByRole('button', { name: 'storefront/web container: write on every id' });
      await cell.click();
      assert.equal(await cell.getAttribute('aria-pressed'), 'true');
      assert.equal(await page.locator('td[data-selected="true"]').count(), 1, 'one cell highlighted');
      assert.equal(
        await page
          .getByRole('button', { name: 'storefront/web image: write on every id' })
          .getAttribute('aria-pressed'),
        'false',
      );

      const granting = page.getByRole('region', { name: 'Granting scopes' });
      const text = (await granting.textContent()) ?? '';
      assert.equal(text.split('container:*:write').length - 1, 1, `each scope once: ${text}`);

      const live = page.getByRole('region', { name: 'Live tokens with this access' });
      const ledger = listTokens(services.ws, {
        filter: { status: 'active', deployment: 'storefront', service: 'web', grants: 'container:write' },
      });
      assert.equal(ledger.total, 2);
      await live.getByTestId('live-token-total').filter({ hasText: '2 live tokens of storefront/web' }).waitFor();
      const rows = live.getByRole('table', { name: 'Live tokens' }).locator('tbody tr');
      await rows.nth(1).waitFor();
      assert.deepEqual((await rows.allTextContents()).map((t) => /web-\d/.exec(t)?.[0]).sort(), ['web-0', 'web-1']);

      assert.deepEqual(await axeViolations(page), []);

      // The worker only reads its deployment: its container cell holds nothing, and lists no tokens.
      await page.getByRole('button', { name: 'storefront/worker container: none' }).click();
      assert.equal(await live.count(), 0);
      await cell.click();

      await live.getByRole('button', { name: 'Revoke all 2…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke the live tokens holding write on container' });
      assert.match(
        (await dialog.getByTestId('matrix-dry-run').textContent()) ?? '',
        /Dry run: 2 active tokens of storefront\/web hold write on container/,
      );
      assert.equal(listTokens(services.ws, { filter: { status: 'revoked' } }).total, 0, 'the dry run revoked nothing');
      await dialog.getByRole('radio', { name: 'Leaked' }).check();
      await dialog.getByRole('button', { name: 'Revoke 2 tokens' }).click();
      await live.getByRole('status').filter({ hasText: 'Revoked 2 tokens (leaked)' }).waitFor();
      await live.getByTestId('live-token-total').filter({ hasText: '0 live tokens' }).waitFor();
      // Nothing left to revoke: focus lands on the list's heading, not on the page body.
      await page.waitForFunction(() => document.activeElement?.textContent?.startsWith('Live tokens that hold'));
      const revoked = listTokens(services.ws, { filter: { status: 'revoked' } }).rows;
      assert.deepEqual(revoked.map((r) => `${r.service}/${r.container}/${r.revoke_reason}`).sort(), [
        'web/web-0/leaked',
        'web/web-1/leaked',
      ]);
      assert.equal(
        listTokens(services.ws, { filter: { status: 'active', service: 'worker' } }).total,
        2,
        'other services untouched',
      );
    } finally {
      await app.close();
    }
  });

  test('the policy editor writes exactly the label text the daemon parses, shows the access diff, and raw and structured edit one state', async () => {
    const services = await preparedServices();
    const app = await openApp(browser, { router: testRouter(services), hash: '#/deployments' });
    try {
      const { page } = app;
      await page.getByRole('button', { name: 'storefront/worker' }).click();
      const rows = page.getByTestId('scope-row');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1);
      assert.equal(await page.getByLabel('Kind of scope 1').inputValue(), 'deployment');
      assert.equal(await page.getByLabel('Id of scope 1').inputValue(), 'own');
      assert.equal(await page.getByLabel('Level of scope 1').inputValue(), 'read');
      assert.equal(await page.getByRole('textbox', { name: 'Lifetime' }).inputValue(), '1');
      assert.equal(await page.getByRole('combobox', { name: 'Unit' }).inputValue(), 'h');

      // A named secret, read.
      await page.getByRole('button', { name: 'Add scope' }).click();
      await page.getByLabel('Kind of scope 2').selectOption('secret');
      await page.getByLabel('Id of scope 2').selectOption({ label: 'a named id…' });
      // An empty named id would mean every id: refused until it has a name.
      await page.getByTestId('editor-problem').filter({ hasText: 'Scope 2: type the id' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Review and save' }).isDisabled(), true);
      await page.getByLabel('Named id of scope 2').fill('db-password');
      // A custom kind on every id, execute.
      await page.getByRole('button', { name: 'Add scope' }).click();
      await page.getByLabel('Kind of scope 3').selectOption({ label: 'custom…' });
      await page.getByLabel('Custom kind of scope 3').fill('queue');
      await page.getByLabel('Id of scope 3').selectOption({ label: 'every id (*)' });
      await page.getByLabel('Level of scope 3').selectOption('execute');
      // Lifetime in units, and the Docker socket.
      await page.getByRole('textbox', { name: 'Lifetime' }).fill('2');
      await page.getByRole('combobox', { name: 'Unit' }).selectOption({ label: 'hours' });
      await page.getByTestId('ttl-verdict').filter({ hasText: '2 h (7200 s)' }).waitFor();
      await page.getByRole('switch', { name: 'Docker socket' }).check();
      assert.match((await page.locator('#docker-socket-risk').textContent()) ?? '', /Medium/);
      assert.match((await page.locator('#daemon-socket-risk').textContent()) ?? '', /Critical.*admin/);

      // The raw view shows exactly the label text, which the daemon's grammar reads back as meant.
      await page.locator('label', { hasText: /^Raw$/ }).click();
      const rawBox = page.getByRole('textbox', { name: 'Raw labels' });
      const raw = await rawBox.inputValue();
      assert.equal(
        raw,
        'zlayer.io/api-scopes=deployment:storefront:read, secret:db-password:read, queue:*:execute\n' +
          'zlayer.io/api-token-ttl=7200\n' +
          'zlayer.io/docker-socket=true',
      );
      const labels = Object.fromEntries(
        raw.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const access = resolveContainerAccess('storefront', labels);
      assert.deepEqual(access.scopes, [
        { resource_kind: 'deployment', resource_id: 'storefront', level: 'read' },
        { resource_kind: 'secret', resource_id: 'db-password', level: 'read' },
        { resource_kind: 'queue', resource_id: null, level: 'execute' },
      ]);
      assert.equal(access.ttl_secs, 7200);
      assert.equal(access.docker_socket, true);
      assert.equal(access.scopes_source, 'label');
      assert.deepEqual(
        access.diagnostics.map((d) => d.severity),
        ['info'],
        'only the note that queue is a custom kind',
      );

      // Raw edits move the structured view: the same state.
      await rawBox.fill(raw.replace('api-token-ttl=7200', 'api-token-ttl=600'));
      await page.locator('label', { hasText: /^Structured$/ }).click();
      assert.equal(await page.getByRole('textbox', { name: 'Lifetime' }).inputValue(), '10');
      assert.equal(await page.getByRole('combobox', { name: 'Unit' }).inputValue(), 'min');
      assert.equal(await page.getByLabel('Named id of scope 2').inputValue(), 'db-password');
      assert.equal(await page.getByLabel('Custom kind of scope 3').inputValue(), 'queue');

      // The editor and the policy card (the deployment tree beside them is another change's).
      assert.deepEqual(await axeViolations(page, ['[data-testid="policy-editor"]', '[data-testid="policy-card"]']), []);

      // The review: what the change grants and removes, beside the text diff.
      await page.getByRole('button', { name: 'Review and save' }).click();
      const review = page.getByRole('dialog', { name: 'Save labels of storefront/worker?' });
      const accessChanges = review.getByRole('region', { name: 'Access changes' });
      await accessChanges.waitFor();
      await accessChanges.getByTestId('access-grants').getByRole('listitem').first().waitFor();
      assert.deepEqual(await accessChanges.getByTestId('access-grants').getByRole('listitem').allTextContents(), [
        'may read secret db-password',
        'may execute any queue',
        'a Docker API socket acting as the token',
      ]);
      assert.match((await accessChanges.textContent()) ?? '', /What it removesNothing\./);
      assert.match((await accessChanges.textContent()) ?? '', /token lifetime 1 h → 10 min \(shorter\)/);
      const textDiff = (await review.getByRole('table', { name: 'Label changes' }).textContent()) ?? '';
      assert.match(textDiff, /zlayer\.io\/api-token-ttl3600600/);
      assert.deepEqual(await axeViolations(page, ['[role="dialog"]']), []);
      await review.getByRole('button', { name: 'Save labels' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved labels of storefront/worker' }).waitFor();

      const stored = services.ws.db
        .prepare("SELECT labels FROM services WHERE deployment = 'storefront' AND name = 'worker'")
        .get();
      assert.deepEqual(JSON.parse(String(stored?.labels)), {
        'zlayer.io/api-scopes': 'deployment:storefront:read, secret:db-password:read, queue:*:execute',
        'zlayer.io/api-token-ttl': '600',
        'zlayer.io/docker-socket': 'true',
      });

      // Removing a grant shows as removed; the last scope gone means the daemon's defaults.
      await page.getByRole('button', { name: 'Remove scope 2' }).waitFor();
      await page.getByRole('button', { name: 'Remove scope 3' }).click();
      await page.getByRole('button', { name: 'Remove scope 2' }).click();
      await page.getByRole('button', { name: 'Remove scope 1' }).click();
      await page.getByText("No scopes label: the daemon applies ZLayer's defaults").waitFor();
      await page.getByRole('button', { name: 'Review and save' }).click();
      const second = page.getByRole('dialog', { name: 'Save labels of storefront/worker?' });
      // The dialog renders its lists as it opens: wait for them before reading.
      await second.getByTestId('access-grants').getByRole('listitem').first().waitFor();
      await second.getByTestId('access-removes').getByRole('listitem').first().waitFor();
      const grants = await second.getByTestId('access-grants').getByRole('listitem').allTextContents();
      assert.deepEqual(grants, ['may write any container', 'may write any image']);
      const removes = await second.getByTestId('access-removes').getByRole('listitem').allTextContents();
      assert.deepEqual(removes, ['may read secret db-password', 'may execute any queue']);
      await second.getByRole('button', { name: 'Cancel' }).click();
    } finally {
      await app.close();
    }
  });
});

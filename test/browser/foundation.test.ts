import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { createAppRouter } from '../../electron/core/ipc/app-router.ts';
import { createRouter } from '../../electron/core/ipc/ipc-router.ts';
import { CHANNELS } from '../../shared/ipc/channels.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { testServices } from '../harness/services.ts';

const info = () => ({
  appName: 'Castellan',
  appVersion: '9.8.7-test',
  workspacePath: '/tmp/castellan-harness-workspace',
  platform: process.platform,
  versions: { node: process.versions.node, electron: 'harness', chrome: 'harness' },
});
const services = () => ({ ...testServices(), info });

describe('foundation: the renderer, the real preload and the real router in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('the page renders app info that crossed the real boundary', async () => {
    const app = await openApp(browser, {
      router: (origin) => createAppRouter({ allowedOrigins: [origin], services: services() }),
    });
    try {
      await app.page.getByTestId('app-version').waitFor();
      assert.equal(await app.page.getByTestId('app-version').textContent(), '9.8.7-test');
      assert.equal(await app.page.getByTestId('workspace-path').textContent(), '/tmp/castellan-harness-workspace');
      assert.equal(await app.page.getByTestId('node-version').textContent(), process.versions.node);
      assert.ok(app.calls.includes('app:info'));
      // The shell's navigation names every page the later issues fill.
      for (const name of ['Overview', 'Deployments', 'Access matrix', 'Tokens', 'Inspector', 'Workers & CA', 'Keys', 'Audit', 'Settings']) {
        assert.equal(await app.page.getByRole('link', { name, exact: true }).count(), 1, name);
      }
    } finally {
      await app.close();
    }
  });

  test('invalid input is refused at the boundary with a typed error', async () => {
    const app = await openApp(browser, {
      router: (origin) => createAppRouter({ allowedOrigins: [origin], services: services() }),
    });
    try {
      await app.page.getByTestId('app-version').waitFor();
      const answer = await app.page.evaluate(() =>
        (window as unknown as { castellan: { app: { info(i: unknown): Promise<unknown> } } }).castellan.app.info({ extra: 'field' }),
      );
      assert.deepEqual(answer, {
        ok: false,
        error: {
          code: 'INVALID_INPUT',
          message: 'invalid input for app:info',
          issues: [{ path: '(input)', message: 'Unrecognized key: "extra"' }],
        },
      });
      const notAnObject = await app.page.evaluate(() =>
        (window as unknown as { castellan: { app: { info(i: unknown): Promise<{ ok: boolean; error?: { code: string } }> } } }).castellan.app.info('string'),
      );
      assert.equal(notAnObject.error?.code, 'INVALID_INPUT');
    } finally {
      await app.close();
    }
  });

  test('the page cannot reach a channel the contract does not name', async () => {
    let reachedHandler = false;
    const app = await openApp(browser, {
      router: (origin) =>
        createRouter({
          allowedOrigins: [origin],
          handlers: { 'app:info': () => ((reachedHandler = true), info()) },
        }),
    });
    try {
      await app.page.getByTestId('app-version').waitFor();
      reachedHandler = false;
      const surface = await app.page.evaluate(() => {
        const api = (window as unknown as { castellan: Record<string, Record<string, unknown>> }).castellan;
        return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, Object.keys(v).sort()]));
      });
      // Exactly the contract's methods, plus the event subscription; no invoke, no ipcRenderer.
      const expected: Record<string, string[]> = { events: ['names', 'on'] };
      for (const channel of CHANNELS) {
        const [domain, verb] = channel.split(':') as [string, string];
        (expected[domain] ??= []).push(verb);
      }
      for (const verbs of Object.values(expected)) verbs.sort();
      assert.deepEqual(surface, expected);
      assert.ok(!('invoke' in surface) && !('ipcRenderer' in surface));
      // Even the raw transport refuses a name the contract does not have.
      const answer = await app.page.evaluate(() =>
        (window as unknown as { __castellanTransport(c: string, i: unknown): Promise<string> })
          .__castellanTransport('vault:exportPrivateKey', {})
          .then((text) => JSON.parse(text) as unknown),
      );
      assert.deepEqual(answer, {
        ok: false,
        error: { code: 'UNKNOWN_CHANNEL', message: '"vault:exportPrivateKey" is not a Castellan IPC channel' },
      });
      assert.equal(reachedHandler, false);
    } finally {
      await app.close();
    }
  });

  test('a handler whose output breaks its schema delivers an error, not the data', async () => {
    const app = await openApp(browser, {
      router: (origin) =>
        createRouter({
          allowedOrigins: [origin],
          log: () => undefined,
          handlers: {
            // A bug that would leak a field the contract does not name.
            'app:info': () => ({ ...info(), privateKeyPem: '-----BEGIN PRIVATE KEY-----LEAK' }) as ReturnType<typeof info>,
          },
        }),
    });
    try {
      const alert = app.page.getByRole('alert').filter({ hasText: 'app:info' });
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      assert.match(text, /app:info produced an answer outside its contract/);
      const body = (await app.page.content()) ?? '';
      assert.ok(!body.includes('LEAK'), 'the leaked field must not reach the page');
      assert.ok(!body.includes('9.8.7-test'), 'no part of the broken answer is delivered');
    } finally {
      await app.close();
    }
  });

  test('a frame that is not the app main frame is refused by the sender check', async () => {
    const app = await openApp(browser, {
      router: (origin) => createAppRouter({ allowedOrigins: [origin], services: services() }),
      // The app's CSP forbids framing, so a page of the same origin without it hosts the child.
      extraPages: {
        '/host.html': '<!doctype html><iframe src="/frame.html"></iframe>',
        '/frame.html': '<!doctype html><p>child</p>',
      },
    });
    try {
      await app.page.getByTestId('app-version').waitFor();
      await app.page.goto(`${app.origin}/host.html`);
      await app.page.waitForFunction(() => document.querySelector('iframe')?.contentDocument?.readyState === 'complete');
      const frame = app.page.frames().find((f) => f.url().endsWith('/frame.html'));
      assert.ok(frame, 'child frame loaded');
      const answer = (await frame.evaluate(() =>
        (window as unknown as { __castellanTransport(c: string, i: unknown): Promise<string> })
          .__castellanTransport('app:info', {})
          .then((text) => JSON.parse(text) as unknown),
      )) as { ok: boolean; error?: { code: string; message: string } };
      assert.equal(answer.ok, false);
      assert.equal(answer.error?.code, 'FORBIDDEN_SENDER');
      assert.match(answer.error?.message ?? '', /main frame/);

      // A page of another origin in the main frame.
      const foreign = await openApp(browser, {
        router: () => createAppRouter({ allowedOrigins: ['castellan://app'], services: services() }),
      });
      try {
        const alert = foreign.page.getByRole('alert').first();
        await alert.waitFor();
        assert.match((await alert.textContent()) ?? '', /origin http:\/\/127\.0\.0\.1:\d+ is not the app/);
      } finally {
        await foreign.close();
      }
    } finally {
      await app.close();
    }
  });
});

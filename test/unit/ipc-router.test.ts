import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, originOf } from '../../electron/core/ipc/ipc-router.ts';
import { CHANNELS } from '../../shared/ipc/channels.ts';
import { contract } from '../../shared/ipc/contract.ts';
import { CastellanError } from '../../shared/errors.ts';

const APP = 'castellan://app';
const main = { url: `${APP}/index.html`, isMainFrame: true };
const info = () => ({
  appName: 'Castellan',
  appVersion: '1.0.0',
  workspacePath: '/w',
  platform: 'linux',
  versions: { node: '24', electron: '45', chrome: '150' },
});

function router(handler: () => unknown = info, log: (l: string) => void = () => undefined) {
  return createRouter({ allowedOrigins: [APP], log, handlers: { 'app:info': handler as typeof info } });
}

describe('IPC router', () => {
  test('answers a well-formed call from the app main frame', async () => {
    assert.deepEqual(await router().dispatch('app:info', main, {}), { ok: true, data: info() });
  });

  test('refuses a null frame, a subframe and a foreign origin', async () => {
    const r = router();
    const nullFrame = await r.dispatch('app:info', null, {});
    assert.deepEqual(nullFrame, { ok: false, error: { code: 'FORBIDDEN_SENDER', message: 'refused app:info: the sending frame is gone' } });
    const sub = await r.dispatch('app:info', { url: `${APP}/index.html`, isMainFrame: false }, {});
    assert.equal(sub.ok ? 'ok' : sub.error.code, 'FORBIDDEN_SENDER');
    const foreign = await r.dispatch('app:info', { url: 'https://evil.example/x', isMainFrame: true }, {});
    assert.deepEqual(foreign, {
      ok: false,
      error: { code: 'FORBIDDEN_SENDER', message: 'refused app:info: origin https://evil.example is not the app' },
    });
    const lookalike = await r.dispatch('app:info', { url: 'castellan://app.evil/index.html', isMainFrame: true }, {});
    assert.equal(lookalike.ok, false);
    const garbage = await r.dispatch('app:info', { url: 'not a url', isMainFrame: true }, {});
    assert.equal(garbage.ok ? 'ok' : garbage.error.code, 'FORBIDDEN_SENDER');
  });

  test('refuses unknown channels and unknown fields', async () => {
    const r = router();
    const unknown = await r.dispatch('keys:dump', main, {});
    assert.equal(unknown.ok ? 'ok' : unknown.error.code, 'UNKNOWN_CHANNEL');
    const proto = await r.dispatch('__proto__', main, {});
    assert.equal(proto.ok ? 'ok' : proto.error.code, 'UNKNOWN_CHANNEL');
    const extra = await r.dispatch('app:info', main, { x: 1 });
    assert.equal(extra.ok ? 'ok' : extra.error.code, 'INVALID_INPUT');
    const missing = await r.dispatch('app:info', main, undefined);
    assert.equal(missing.ok ? 'ok' : missing.error.code, 'INVALID_INPUT');
  });

  test('a domain error keeps its code and message; an unexpected one hides its message', async () => {
    const domain = await router(() => {
      throw new CastellanError('LOCKED', 'the workspace vault is locked');
    }).dispatch('app:info', main, {});
    assert.deepEqual(domain, { ok: false, error: { code: 'LOCKED', message: 'the workspace vault is locked' } });

    const logged: string[] = [];
    const unexpected = await router(() => {
      throw new Error('secret=hunter2-should-not-leak');
    }, (l) => logged.push(l)).dispatch('app:info', main, {});
    assert.equal(unexpected.ok ? 'ok' : unexpected.error.code, 'INTERNAL');
    assert.ok(!JSON.stringify(unexpected).includes('hunter2'));
    assert.ok(!logged.join('\n').includes('hunter2'), 'the log never quotes the error message');
    assert.match(logged.join('\n'), /app:info failed with Error/);
  });

  test('output outside the contract is not delivered', async () => {
    const r = router(() => ({ ...info(), secret: 'k' }));
    const answer = await r.dispatch('app:info', main, {});
    assert.equal(answer.ok ? 'ok' : answer.error.code, 'INVALID_OUTPUT');
    assert.ok(!JSON.stringify(answer).includes('"k"'));
  });

  test('originOf handles custom schemes, where WHATWG gives "null"', () => {
    assert.equal(originOf('castellan://app/index.html'), 'castellan://app');
    assert.equal(originOf('http://127.0.0.1:5173/#/x'), 'http://127.0.0.1:5173');
    assert.equal(originOf('about:blank'), null);
  });
});

describe('IPC contract', () => {
  test('the channel list and the contract name the same channels', () => {
    assert.deepEqual(Object.keys(contract).sort(), [...CHANNELS].sort());
    for (const channel of CHANNELS) assert.match(channel, /^[a-z]+:[a-zA-Z]+$/);
  });

  test('every input schema is strict: unknown fields are refused', () => {
    for (const [channel, def] of Object.entries(contract)) {
      const result = def.input.safeParse({ __unknown_field__: 1 });
      assert.equal(result.success, false, `${channel} accepts unknown fields`);
    }
  });
});

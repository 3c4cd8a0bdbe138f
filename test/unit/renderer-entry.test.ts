/**
 * The main process's choice of what the window loads (electron/main/index.ts uses exactly this
 * function): a packaged app never follows ELECTRON_RENDERER_URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendererEntry } from '../../electron/core/renderer-entry.ts';

const APP = 'castellan://app';
const BUNDLED = { url: 'castellan://app/index.html', origin: APP, dev: false };

test('packaged, with ELECTRON_RENDERER_URL set: the bundled page through the app scheme, never the env URL', () => {
  for (const url of ['http://localhost:5173/', 'https://evil.example/phish', 'http://127.0.0.1:9999']) {
    const entry = rendererEntry({ isPackaged: true, env: { ELECTRON_RENDERER_URL: url }, appOrigin: APP });
    assert.deepEqual(entry, BUNDLED);
    assert.ok(!entry.url.includes(new URL(url).host));
  }
});

test('unpackaged with the dev server URL: that page, its origin, dev tools on', () => {
  assert.deepEqual(rendererEntry({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, appOrigin: APP }), {
    url: 'http://localhost:5173/',
    origin: 'http://localhost:5173',
    dev: true,
  });
});

test('unpackaged without the variable, or with an empty or non-http one: the bundled page', () => {
  assert.deepEqual(rendererEntry({ isPackaged: false, env: {}, appOrigin: APP }), BUNDLED);
  assert.deepEqual(rendererEntry({ isPackaged: false, env: { ELECTRON_RENDERER_URL: '  ' }, appOrigin: APP }), BUNDLED);
  assert.deepEqual(rendererEntry({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'not a url' }, appOrigin: APP }), BUNDLED);
  assert.deepEqual(rendererEntry({ isPackaged: false, env: { ELECTRON_RENDERER_URL: 'file:///etc/passwd' }, appOrigin: APP }), BUNDLED);
});

test('electron/main/index.ts decides through rendererEntry and loads only its url', async () => {
  const { readFile } = await import('node:fs/promises');
  const main = await readFile(new URL('../../electron/main/index.ts', import.meta.url), 'utf8');
  assert.match(main, /rendererEntry\(\{ isPackaged: app\.isPackaged, env: process\.env, appOrigin: APP_ORIGIN \}\)/);
  assert.match(main, /loadURL\(entry\.url\)/);
  assert.equal((main.match(/ELECTRON_RENDERER_URL/g) ?? []).length, 1, 'only the comment names the variable');
});

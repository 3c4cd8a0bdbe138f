import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { OUT_DIR } from '../harness/renderer-server.ts';

/** `npm test` builds before testing; these check what electron-vite emitted. */
test('the build emits main (ESM), preload (CommonJS) and renderer', () => {
  const main = fs.readFileSync(path.join(OUT_DIR, 'main/index.js'), 'utf8');
  assert.match(main, /^import .* from "electron";/m, 'main is an ES module importing electron');
  assert.ok(fs.existsSync(path.join(OUT_DIR, 'preload/index.cjs')));
  const html = fs.readFileSync(path.join(OUT_DIR, 'renderer/index.html'), 'utf8');
  assert.match(html, /Content-Security-Policy/);
  assert.match(html, /script-src 'self'/);
});

test('the built preload requires nothing but electron', () => {
  const preload = fs.readFileSync(path.join(OUT_DIR, 'preload/index.cjs'), 'utf8');
  const required = [...preload.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
  assert.doesNotMatch(preload, /^\s*import\s/m, 'no ESM import in a sandboxed preload');
  assert.doesNotMatch(preload, /\bimport\(/, 'no dynamic import');
  assert.doesNotMatch(preload, /require\(\s*[^"'`\s]/, 'no computed require');
});

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

/** The JavaScript index.html loads before the first paint: its entry script and every modulepreload. */
function initialScripts(): { files: string[]; bytes: number } {
  const root = path.join(OUT_DIR, 'renderer');
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  const files = [
    ...html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g),
  ].map((m) => path.join(root, m[1]!));
  return { files, bytes: files.reduce((sum, f) => sum + fs.statSync(f).size, 0) };
}

test('the renderer ships minified and split per page: under 500 KB of JavaScript before the first paint', () => {
  const { files, bytes } = initialScripts();
  assert.ok(files.length >= 1, 'index.html loads an entry script');
  assert.ok(
    bytes < 500_000,
    `initial JavaScript is ${bytes} bytes (${files.map((f) => path.basename(f)).join(', ')}); the limit is 500,000`,
  );
  const assets = fs.readdirSync(path.join(OUT_DIR, 'renderer', 'assets'));
  for (const page of [
    'OverviewPage',
    'DeploymentsPage',
    'MatrixPage',
    'TokensPage',
    'InspectorPage',
    'WorkersPage',
    'KeysPage',
    'AuditPage',
    'SettingsPage',
  ]) {
    const chunk = assets.find((a) => a.startsWith(`${page}-`) && a.endsWith('.js'));
    assert.ok(chunk, `${page} has its own chunk`);
    assert.ok(!files.some((f) => path.basename(f) === chunk), `${page} is not loaded before it is shown`);
  }
  const entry = fs.readFileSync(files[0]!, 'utf8');
  // Minified: long lines (only template literals keep their line breaks), not formatted code.
  const lines = entry.split('\n').length;
  assert.ok(entry.length / lines > 2000, `the entry has ${lines} lines for ${entry.length} bytes: not minified`);
  assert.doesNotMatch(entry, /\bZodError\b/, 'zod loads with the pages that validate, not with the shell');
});

/** A chunk and every chunk it imports statically, as the browser fetches them when it is loaded. */
function staticGraph(root: string, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const code = fs.readFileSync(path.join(root, file), 'utf8');
  for (const m of code.matchAll(/\bfrom\s*"\.\/([^"]+\.js)"|\bimport\s*"\.\/([^"]+\.js)"/g)) staticGraph(root, m[1] ?? m[2]!, seen);
  return seen;
}

test('the Tokens page loads without zod, in few chunks (bench item 7: its first rows wait on each of them)', () => {
  const root = path.join(OUT_DIR, 'renderer', 'assets');
  const page = fs.readdirSync(root).find((a) => a.startsWith('TokensPage-') && a.endsWith('.js'));
  assert.ok(page, 'the Tokens page has its own chunk');
  const shell = new Set(initialScripts().files.map((f) => path.basename(f)));
  const graph = [...staticGraph(root, page)].filter((f) => !shell.has(f));
  for (const file of graph) {
    assert.doesNotMatch(fs.readFileSync(path.join(root, file), 'utf8'), /\bZodError\b/, `${file} bundles zod`);
  }
  // Chromium fetches six files at a time from one origin: more would cost a second round.
  assert.ok(graph.length <= 6, `the Tokens page fetches ${graph.length} chunks beyond the shell (${graph.join(', ')})`);
});

test('the core worker is built beside main and loads nothing from electron (its modules do not work off the main thread)', () => {
  const worker = path.join(OUT_DIR, 'main/core-worker.js');
  assert.ok(fs.existsSync(worker), 'out/main/core-worker.js (electron.vite.config.ts, second main entry)');
  // The worker and every chunk it imports, transitively.
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(source, /from\s*["']electron["']|require\(\s*["']electron["']\s*\)|import\(\s*["']electron["']\s*\)/, `${path.basename(file)} imports electron`);
    for (const m of source.matchAll(/(?:from|import\()\s*["'](\.[^"']+)["']/g)) visit(path.resolve(path.dirname(file), m[1]!));
  };
  visit(worker);
  assert.ok(seen.size >= 1);
});

/**
 * scripts/ensure-electron.sh (run by scripts/start): it says before the first launch that Electron's
 * binary is downloaded (~100 MB), and when the download fails it prints one sentence on what to
 * do — the network, ELECTRON_MIRROR, or the CLI — and no stack trace. The failure is real: the
 * mirror is a local port nobody listens on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const ELECTRON = path.join(REPO, 'node_modules/electron');

test('ensure-electron: announces the ~100 MB download, and a failed one is one clear sentence, no stack trace', () => {
  const version = (JSON.parse(fs.readFileSync(path.join(ELECTRON, 'package.json'), 'utf8')) as { version: string }).version;
  let installed = '';
  try {
    installed = fs.readFileSync(path.join(ELECTRON, 'dist/version'), 'utf8').trim().replace(/^v/, '');
  } catch {
    // Not downloaded: the case this test is about.
  }
  const r = spawnSync('bash', [path.join(REPO, 'scripts/ensure-electron.sh')], {
    env: { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:9/', electron_config_cache: tempDir('castellan-electron-cache-') },
    encoding: 'utf8',
  });
  if (installed === version) {
    // A machine that has the binary already: nothing to download, nothing said.
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, '', '']);
    return;
  }
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0]!, /^castellan: the first launch downloads Electron's binary \(~100 MB, once\) from http:\/\/127\.0\.0\.1:9\/\.\.\.$/);
  assert.match(lines[1]!, new RegExp(`^castellan: could not download Electron ${version.replaceAll('.', '\\.')}'s binary: check the network connection`));
  assert.match(lines[1]!, /set ELECTRON_MIRROR to a reachable mirror/);
  assert.match(lines[1]!, /use the command-line interface, which needs no Electron: \.\/castellan --help/);
  assert.doesNotMatch(r.stderr, /TypeError|fetch failed|^\s+at /m);
  assert.equal(fs.existsSync(path.join(ELECTRON, 'dist')), false, 'nothing half-installed');
});

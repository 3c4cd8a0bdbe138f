/**
 * The CLI walkthrough the README shows (README.md, "### Walkthrough", its first `sh`
 * block), pasted into bash line by line as a new user would: from the root of the clone, with the
 * launcher, into a scratch folder. Every line must succeed (bash -e), and what it made must be
 * what it says: a valid token file, a verifying certificate, a backup restored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const DOC = path.join(REPO, 'README.md');

/** The first ```sh block after the "### Walkthrough" heading. */
export function walkthroughOf(markdown: string): string {
  const section = markdown.slice(markdown.indexOf('\n### Walkthrough\n'));
  const match = /\n```sh\n([\s\S]*?)\n```\n/.exec(section);
  assert.ok(match, 'the walkthrough has a sh block');
  return match[1]!;
}

test('the README walkthrough runs verbatim on this clone, every line succeeding', () => {
  const script = walkthroughOf(fs.readFileSync(DOC, 'utf8'));
  assert.match(script, /mkdir -p \.tmp\/demo && cd \.tmp\/demo/);
  // The scratch folder of this run instead of .tmp/demo, so runs never share one.
  const scratch = path.join(tempDir('castellan-walkthrough-'), 'demo');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script.replaceAll('.tmp/demo', scratch)], {
    cwd: REPO,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `the walkthrough stopped (exit ${r.status}):\n${r.stderr.split('\n').slice(-15).join('\n')}`);
  assert.match(fs.readFileSync(path.join(scratch, 'web-1.token'), 'utf8'), /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/);
  assert.match(r.stdout, /^verdict: valid$/m);
  assert.match(r.stdout, /inspect exited 2: the token is revoked/);
  assert.match(r.stdout, /^worker-7\.crt: OK$/m);
  assert.match(fs.readFileSync(path.join(scratch, 'worker_ca.p7b'), 'utf8'), /^-----BEGIN PKCS7-----\n/);
  assert.ok(Array.isArray(JSON.parse(fs.readFileSync(path.join(scratch, 'findings.json'), 'utf8'))));
  assert.match(r.stdout, /^restored .*restored from backup\.db \(4 tokens, audit chain of \d+ entries verified\)$/m);
  assert.match(r.stdout, /^#1 {2}revoked .* \(leaked\)$/m);
});

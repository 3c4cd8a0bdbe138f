/**
 * `castellan serve` and `castellan serve clients …` as real child processes on a real workspace:
 * the server process prints its URLs, answers openssl and a Python verifier, logs JSON lines
 * without secrets, sees a client revoked by another CLI process on the next request, and stops
 * cleanly on SIGTERM. Usage errors exit 1; refusals exit 2 and change nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCa } from '../../electron/core/ca/ca-store.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { TEST_PASSPHRASE } from '../harness/seed.ts';
import { pyClient } from '../harness/serve.ts';
import { tokenWorkspace } from '../harness/tokens.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));

let wsDir = '';
let token = '';
const env: NodeJS.ProcessEnv = {};

before(async () => {
  const ws = await tokenWorkspace(['ed25519']);
  await initCa(ws);
  token = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' }).token;
  wsDir = ws.dir;
  ws.close();
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  env.CASTELLAN_DATA_DIR = wsDir;
  env.PP = TEST_PASSPHRASE;
});

after(() => {
  fs.rmSync(path.dirname(wsDir), { recursive: true, force: true });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function auditCount(): string {
  // Verifying authenticates the log, so it unlocks the vault.
  return cli(['audit', 'verify', '--json', '--passphrase-env', 'PP']).stdout;
}

test('serve clients create / list / revoke; bad input changes nothing', () => {
  const created = cli(['serve', 'clients', 'create', 'gateway', '--passphrase-env', 'PP']);
  assert.equal(created.status, 0, created.stderr);
  const id = /client_id=(vc_\S+)/.exec(created.stdout)?.[1];
  const secret = /client_secret=(\S+)/.exec(created.stdout)?.[1];
  assert.ok(id && secret);
  const list = cli(['serve', 'clients', 'list', '--json']);
  assert.equal(list.status, 0);
  assert.ok(!list.stdout.includes(secret!), 'the secret is shown once, at creation');
  const clients = JSON.parse(list.stdout) as { id: string; revoked_at: string | null }[];
  assert.ok(clients.some((c) => c.id === id && c.revoked_at === null));

  const before = auditCount();
  const bogus = cli(['serve', 'clients', 'revoke', 'not-a-client', '--passphrase-env', 'PP']);
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /verifier client id/);
  const unknown = cli(['serve', 'clients', 'revoke', 'vc_AAAAAAAAAAAAAAAA', '--passphrase-env', 'PP']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no verifier client/);
  assert.equal(cli(['serve', 'clients', 'create', '--passphrase-env', 'PP']).status, 1);
  assert.equal(auditCount(), before);
});

test('serve: usage errors exit 1; a non-loopback address without TLS is refused (exit 2)', () => {
  assert.equal(cli(['serve', '--port', 'abc', '--passphrase-env', 'PP']).status, 1);
  assert.equal(cli(['serve', '--tls-cert', 'x.pem', '--passphrase-env', 'PP']).status, 1);
  const open = cli(['serve', '--host', '0.0.0.0', '--port', '0', '--passphrase-env', 'PP']);
  assert.equal(open.status, 2);
  assert.match(open.stderr, /needs TLS/);
  const missing = cli(['serve', '--tls-cert', 'nope.pem', '--tls-key', 'nope.key', '--passphrase-env', 'PP']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read the TLS certificate/);
});

test('serve runs headless: URLs on stderr, JSON access log on stdout, a client revoked by another process gets 401 next', async () => {
  const created = cli(['serve', 'clients', 'create', 'sidecar', '--passphrase-env', 'PP']);
  const id = /client_id=(vc_\S+)/.exec(created.stdout)![1]!;
  const secret = /client_secret=(\S+)/.exec(created.stdout)![1]!;

  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--passphrase-env', 'PP'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const base = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  try {
    assert.match(stderr, /OCSP\s+http:\/\/127\.0\.0\.1:\d+\/ocsp/);
    const health = await fetch(`${base}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok', vault: 'unlocked', ca: true });
    const ok = await pyClient({ op: 'introspect', url: `${base}/introspect`, token, client_id: id, client_secret: secret });
    assert.equal(ok.status, 200);
    assert.match(ok.body as string, /"active":true/);
    const revoked = cli(['serve', 'clients', 'revoke', id, '--passphrase-env', 'PP']);
    assert.equal(revoked.status, 0, revoked.stderr);
    const after = await pyClient({ op: 'introspect', url: `${base}/introspect`, token, client_id: id, client_secret: secret });
    assert.equal(after.status, 401);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /stopped after 3 request\(s\)/);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => l.status), [200, 200, 401]);
  assert.ok(!stdout.includes(secret) && !stdout.includes(token.split('.')[2]!));
});

test('serve settings: shows and changes public_base_url and attempt_binding; a bad URL changes nothing', () => {
  const shown = cli(['serve', 'settings', '--json']);
  assert.equal(shown.status, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout), { public_base_url: '', attempt_binding: true });
  const before = auditCount();
  const bad = cli(['serve', 'settings', '--public-base-url', 'https://x.example/?a=b', '--passphrase-env', 'PP']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /public_base_url/);
  assert.equal(cli(['serve', 'settings', '--attempt-binding', 'maybe']).status, 1);
  assert.equal(auditCount(), before);
  const set = cli(['serve', 'settings', '--public-base-url', 'https://castellan.example:8443', '--attempt-binding', 'off', '--json', '--passphrase-env', 'PP']);
  assert.equal(set.status, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout), { public_base_url: 'https://castellan.example:8443', attempt_binding: false });
  assert.notEqual(auditCount(), before, 'the change is audited');
});

/**
 * Replicas (issue 14, team semantics): two `castellan serve` processes on one workspace — what a
 * load balancer in front of several would see — answer identically, and a revoke made by a third
 * process (the CLI) is refused by both on their next request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCa } from '../../electron/core/ca/ca-store.ts';
import { createVerifierClient } from '../../electron/core/serve/clients.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { TEST_PASSPHRASE } from '../harness/seed.ts';
import { tokenWorkspace } from '../harness/tokens.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));

let wsDir = '';
let token = '';
let jti = '';
let client = { id: '', secret: '' };
const env: NodeJS.ProcessEnv = {};

before(async () => {
  const ws = await tokenWorkspace(['ed25519']);
  await initCa(ws);
  const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' });
  token = minted.token;
  jti = minted.record.jti!;
  const created = createVerifierClient(ws, 'balancer');
  client = { id: created.client.id, secret: created.secret };
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

/** One replica: a serve process on its own port; resolves with its base URL. */
async function replica(): Promise<{ child: ChildProcess; base: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--passphrase-env', 'PP'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let stderr = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  return { child, base, exited };
}

async function introspect(base: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${base}/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }).toString(),
  });
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

async function bytes(url: string): Promise<string> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return Buffer.from(await r.arrayBuffer()).toString('base64');
}

test('two serve replicas on one workspace answer alike, and both refuse a token revoked by a third process', async () => {
  const a = await replica();
  const b = await replica();
  try {
    const [ia, ib] = [await introspect(a.base), await introspect(b.base)];
    assert.equal(ia.active, true);
    assert.deepEqual(ia, ib);
    assert.equal(await bytes(`${a.base}/.well-known/jwks.json`), await bytes(`${b.base}/.well-known/jwks.json`));
    assert.equal(await bytes(`${a.base}/crl`), await bytes(`${b.base}/crl`));

    const revoked = spawnSync(process.execPath, [CLI, 'revoke', jti, '--reason', 'leaked'], { env, encoding: 'utf8', input: '' });
    assert.equal(revoked.status, 0, revoked.stderr);
    const [ra, rb] = [await introspect(a.base), await introspect(b.base)];
    assert.deepEqual(ra, { active: false });
    assert.deepEqual(rb, { active: false });
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
  assert.equal(await a.exited, 0);
  assert.equal(await b.exited, 0);
});

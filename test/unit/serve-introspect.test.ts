/**
 * `POST /introspect` (RFC 7662) on a running server, called by Python's urllib (an independent
 * client) and by fetch. Every failure — bad signature, an algorithm the key is not pinned to,
 * unknown or compromised key, expired, not yet valid, revoked, superseded, unknown jti, garbage —
 * is the same body, byte for byte: {"active":false}. Client authentication, form errors, body
 * limits and rate limits get 401 / 400 / 413 / 429 and change nothing. Revokes (of tokens and of
 * verifier clients) go through a second connection, as another process would make them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { refreshToken, revokeToken } from '../../electron/core/tokens/revocation.ts';
import { createVerifierClient, revokeVerifierClient } from '../../electron/core/serve/clients.ts';
import { CounterWriter } from '../../electron/core/serve/counter-writer.ts';
import { IntrospectionCounter, introspectionStats } from '../../electron/core/serve/introspect.ts';
import { startServer, type AccessLogEntry, type CastellanServer } from '../../electron/core/serve/server.ts';
import { activeSigner, getTokenConfig, rotateKey, setTokenConfig } from '../../electron/core/tokens/signing-keys.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { TEST_PASSPHRASE } from '../harness/seed.ts';
import { pyClient } from '../harness/serve.ts';
import { tokenWorkspace } from '../harness/tokens.ts';

let ws: Workspace;
let other: Workspace;
let server: CastellanServer;
let url = '';
let client = { id: '', secret: '' };
const log: AccessLogEntry[] = [];

before(async () => {
  ws = await tokenWorkspace(['ed25519', 'es256', 'zlayer']);
  other = Workspace.open(ws.dir, {
    actor: { user: 'other-admin', kind: 'cli' },
    kdf: { N: 2 ** 10, r: 8, p: 1 },
    allowWeakKdfInTests: true,
  });
  other.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  const created = createVerifierClient(ws, 'gateway');
  client = { id: created.client.id, secret: created.secret };
  server = await startServer({ workspace: ws, port: 0, accessLog: (e) => log.push(e) });
  url = `${server.url!}/introspect`;
});

after(async () => {
  await server?.close();
  other?.close();
  ws?.close();
  fs.rmSync(path.dirname(ws.dir), { recursive: true, force: true });
});

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function ask(token: string, auth = basic(client.id, client.secret)): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: res.status, body: await res.text() };
}

const INACTIVE = '{"active":false}';
const mint = (profile: 'ed25519' | 'es256' | 'zlayer', container = 'web-0', extra: { now?: number; ttlSecs?: number } = {}) =>
  mintToken(ws, { deployment: 'storefront', service: 'web', container, profile, ...extra });

test('python urllib: an active token is described; after a revoke from another connection the next answer is {"active":false}', async () => {
  const minted = mint('ed25519');
  const first = await pyClient({ op: 'introspect', url, token: minted.token, client_id: client.id, client_secret: client.secret });
  assert.equal(first.status, 200);
  const body = JSON.parse(first.body as string) as Record<string, unknown>;
  const { issuer, audience } = getTokenConfig(ws);
  assert.equal(body.active, true);
  assert.equal(body.sub, minted.record.subject);
  assert.equal(body.jti, minted.record.jti);
  assert.equal(body.iss, issuer);
  assert.equal(body.aud, audience);
  assert.equal(body.exp, minted.record.expires_at);
  assert.equal(body.iat, minted.record.issued_at);
  assert.equal(body.token_type, 'Bearer');
  assert.deepEqual(body.scopes, minted.record.scopes);
  assert.equal(
    body.scope,
    minted.record.scopes.map((s) => `${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`).join(' '),
  );

  revokeToken(other, minted.record.jti!, 'leaked');
  const second = await pyClient({ op: 'introspect', url, token: minted.token, client_id: client.id, client_secret: client.secret });
  assert.equal(second.status, 200);
  assert.equal(second.body, INACTIVE);
});

test('zlayer (HS256) and es256 tokens are active while valid', async () => {
  for (const profile of ['zlayer', 'es256'] as const) {
    const minted = mint(profile);
    const r = await ask(minted.token);
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(body.active, true, `${profile}: ${r.body}`);
    assert.equal(body.iss, profile === 'zlayer' ? 'zlayer' : getTokenConfig(ws).issuer);
  }
});

test('every failure is the same {"active":false}', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = mint('ed25519', 'web-1');
  const [h, p, s] = good.token.split('.') as [string, string, string];
  const flip = (seg: string): string => (seg[5] === 'A' ? `${seg.slice(0, 5)}B${seg.slice(6)}` : `${seg.slice(0, 5)}A${seg.slice(6)}`);
  const ed = activeSigner(ws, 'ed25519');
  const kid = ed.key.kid!;
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;

  const expired = mint('ed25519', 'web-2', { now: now - 7200, ttlSecs: 600 });
  const superseded = mint('es256', 'web-2');
  refreshToken(other, superseded.record.jti!);
  const compromisedKeyToken = mint('es256', 'web-3');

  const cases: Record<string, string> = {
    'bad signature': `${h}.${p}.${flip(s)}`,
    'tampered claims': `${h}.${b64({ ...claims, sub: 'container:web:admin' })}.${s}`,
    'alg not pinned for the key (HS256 header on the EdDSA kid)': `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${p}.${s}`,
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
    'unknown kid': `${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'no-such-key' })}.${p}.${s}`,
    expired: expired.token,
    'not yet valid (nbf an hour ahead, signed with the real key)': ed.signer.sign({ ...claims, jti: 'b2f1c1aa-0000-4000-8000-000000000001', nbf: now + 3600 }),
    'unknown jti (signed with the real key, never recorded)': ed.signer.sign({ ...claims, jti: 'b2f1c1aa-0000-4000-8000-000000000002' }),
    superseded: superseded.token,
    garbage: 'not-a-token',
    'too long': 'a'.repeat(20_000),
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await ask(token);
    assert.equal(r.status, 200, name);
    assert.equal(r.body, INACTIVE, name);
  }

  // Compromised key: the es256 key is rotated as compromised by another connection.
  assert.match((await ask(compromisedKeyToken.token)).body, /"active":true/);
  await rotateKey(other, 'es256', { compromised: true });
  assert.equal((await ask(compromisedKeyToken.token)).body, INACTIVE);
  // And the good token is still fine.
  assert.match((await ask(good.token)).body, /"active":true/);
});

test('client authentication: wrong secret, unknown client, no credentials and a revoked client get 401; nothing changes', async () => {
  const minted = mint('ed25519', 'web-4');
  const auditBefore = JSON.stringify(ws.db.prepare('SELECT count(*) AS n FROM audit').get());
  const wrong = await pyClient({ op: 'introspect', url, token: minted.token, client_id: client.id, client_secret: 'not-the-secret' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(JSON.parse(wrong.body as string), { error: 'invalid_client' });
  assert.equal((await ask(minted.token, basic('vc_AAAAAAAAAAAAAAAA', client.secret))).status, 401);
  assert.equal((await ask(minted.token, 'Bearer whatever')).status, 401);
  const none = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x' });
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
  assert.equal(JSON.stringify(ws.db.prepare('SELECT count(*) AS n FROM audit').get()), auditBefore);

  const second = createVerifierClient(ws, 'sidecar');
  assert.equal((await ask(minted.token, basic(second.client.id, second.secret))).status, 200);
  revokeVerifierClient(other, second.client.id);
  assert.equal((await ask(minted.token, basic(second.client.id, second.secret))).status, 401, 'the very next request');
});

test('malformed introspection forms get 400 invalid_request and change nothing', async () => {
  const minted = mint('ed25519', 'web-5');
  const auth = basic(client.id, client.secret);
  await server.flushIntrospectionCounts();
  const countsBefore = JSON.stringify(ws.db.prepare('SELECT * FROM token_introspections ORDER BY token_id').all());
  const bad: [string, string][] = [
    ['application/json', JSON.stringify({ token: minted.token })],
    ['application/x-www-form-urlencoded', ''],
    ['application/x-www-form-urlencoded', `token=${minted.token}&token=${minted.token}`],
    ['application/x-www-form-urlencoded', 'token=%zz'],
    ['application/x-www-form-urlencoded', 'token_type_hint=access_token'],
    ['application/x-www-form-urlencoded', `token=${minted.token}&token_type_hint=a&token_type_hint=b`],
    ['application/x-www-form-urlencoded', 'token'],
  ];
  for (const [type, body] of bad) {
    const r = await pyClient({ op: 'introspect', url, body, content_type: type, client_id: client.id, client_secret: client.secret });
    assert.equal(r.status, 400, `${type} ${body.slice(0, 40)}`);
    assert.equal((JSON.parse(r.body as string) as { error: string }).error, 'invalid_request');
  }
  await server.flushIntrospectionCounts();
  assert.equal(JSON.stringify(ws.db.prepare('SELECT * FROM token_introspections ORDER BY token_id').all()), countsBefore);
  const huge = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${'a'.repeat(10 * 1024 * 1024)}`,
  });
  assert.equal(huge.status, 413);
  assert.equal((await fetch(url)).status, 405);
});

test('introspection counts and last time per token are recorded (no token bytes), flushed in batches', async () => {
  const minted = mint('ed25519', 'web-6');
  for (let i = 0; i < 3; i++) await ask(minted.token);
  await server.flushIntrospectionCounts();
  const stats = introspectionStats(ws, minted.record.id);
  assert.equal(stats.count, 3);
  assert.ok(stats.last_at !== null && Math.abs(stats.last_at - Date.now() / 1000) < 120);
  const columns = (ws.db.prepare('PRAGMA table_info(token_introspections)').all() as { name: string }[]).map((c) => c.name);
  assert.deepEqual(columns, ['token_id', 'count', 'last_at']);
  assert.deepEqual(introspectionStats(ws, 999_999), { count: 0, last_at: null });
});

test('the access log names the client and never a token or secret', async () => {
  const minted = mint('ed25519', 'web-7');
  await ask(minted.token);
  const text = JSON.stringify(log);
  assert.ok(!text.includes(minted.token.split('.')[2]!));
  assert.ok(!text.includes(client.secret));
  assert.ok(log.some((e) => e.path === '/introspect' && e.client === client.id && e.status === 200));
  assert.ok(log.some((e) => e.path === '/introspect' && e.client === null && e.status === 401));
});

test('per-client rate limit: 429 past the burst, for that client only', async () => {
  const limited = await startServer({ workspace: ws, port: 0, ratePerSec: 1, rateBurst: 2 });
  try {
    const minted = mint('ed25519', 'web-8');
    const go = (c: { id: string; secret: string }): Promise<Response> =>
      fetch(`${limited.url!}/introspect`, {
        method: 'POST',
        headers: { authorization: basic(c.id, c.secret), 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${minted.token}`,
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await go(client)).status);
    assert.deepEqual(statuses.slice(0, 2), [200, 200]);
    assert.ok(statuses.slice(2).includes(429), statuses.join(','));
    const otherClient = createVerifierClient(ws, 'other verifier');
    assert.equal((await go({ id: otherClient.client.id, secret: otherClient.secret })).status, 200);
  } finally {
    await limited.close();
  }
});

test('a locked vault: no token is active (the HS256 secret is sealed, and an ed25519 key record cannot be authenticated)', async () => {
  const z = mint('zlayer', 'web-9');
  const e = mint('ed25519', 'web-9');
  assert.match((await ask(z.token)).body, /"active":true/, 'the HMAC key is cached while unlocked');
  ws.vault.lock();
  try {
    assert.equal((await ask(z.token)).body, INACTIVE, 'locking drops the cached HMAC key');
    // A public key in the file is trusted only once its record MAC checks (record-integrity.ts).
    assert.equal((await ask(e.token)).body, INACTIVE, 'an unauthenticated key record verifies nothing');
  } finally {
    ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  }
  assert.match((await ask(z.token)).body, /"active":true/);
  assert.match((await ask(e.token)).body, /"active":true/);
});

test('what the server keeps between requests (verified signatures, the token configuration) never outlives a change made by another process', async () => {
  const e = mint('ed25519', 'web-10');
  const z = mint('zlayer', 'web-10');
  assert.match((await ask(e.token)).body, /"active":true/);
  assert.match((await ask(e.token)).body, /"active":true/, 'asked again: the signature is remembered');

  // A new issuer, set by another connection, judges the very next request.
  const { issuer } = getTokenConfig(ws);
  setTokenConfig(other, { issuer: 'https://elsewhere.example/ws' });
  assert.equal((await ask(e.token)).body, INACTIVE, 'the next request uses the new issuer');
  assert.match((await ask(z.token)).body, /"active":true/, 'zlayer tokens keep the daemon issuer');
  setTokenConfig(other, { issuer });
  assert.match((await ask(e.token)).body, /"active":true/);

  // Someone who can write the file swaps the key's public key: the remembered signature goes with
  // it (the key record no longer authenticates), on the very next request; put back, it verifies again.
  const keyId = activeSigner(ws, 'ed25519').key.id;
  const row = other.db.prepare('SELECT public_jwk FROM signing_keys WHERE id = ?').get(keyId) as { public_jwk: string };
  const swapped = { ...(JSON.parse(row.public_jwk) as Record<string, unknown>), x: Buffer.alloc(32, 7).toString('base64url') };
  other.db.prepare('UPDATE signing_keys SET public_jwk = ? WHERE id = ?').run(JSON.stringify(swapped), keyId);
  try {
    assert.equal((await ask(e.token)).body, INACTIVE, 'a tampered key record verifies nothing');
  } finally {
    other.db.prepare('UPDATE signing_keys SET public_jwk = ? WHERE id = ?').run(row.public_jwk, keyId);
  }
  assert.match((await ask(e.token)).body, /"active":true/);

  // And a revoke from the other connection, after all of that, shows on the next request.
  revokeToken(other, e.record.jti!, 'leaked');
  assert.equal((await ask(e.token)).body, INACTIVE);
});

test('the counts reach the workspace from the writer thread on their own, once a second, without an explicit flush', async () => {
  const minted = mint('zlayer', 'web-11');
  for (let i = 0; i < 4; i++) assert.match((await ask(minted.token)).body, /"active":true/);
  // Waits for the periodic flush (a worker thread with its own connection), whatever it takes.
  let stats = introspectionStats(ws, minted.record.id);
  for (let tries = 0; stats.count < 4 && tries < 300; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    stats = introspectionStats(ws, minted.record.id);
  }
  assert.equal(stats.count, 4);
});

test('CounterWriter: commits counts for rows that exist, skips ids that do not; a database it cannot open makes it unusable, and the counts are kept', async () => {
  const minted = mint('zlayer', 'web-12');
  const writer = new CounterWriter(ws.dbPath);
  try {
    assert.equal(await writer.write([[minted.record.id, 5, 1_800_000_000], [999_999, 1, 1_800_000_000]]), true);
    assert.deepEqual(introspectionStats(ws, minted.record.id), { count: 5, last_at: 1_800_000_000 });
    assert.deepEqual(introspectionStats(ws, 999_999), { count: 0, last_at: null });
    assert.equal(await writer.write([[minted.record.id, 2, 1_700_000_000]]), true);
    assert.deepEqual(introspectionStats(ws, minted.record.id), { count: 7, last_at: 1_800_000_000 });
  } finally {
    await writer.close();
  }
  assert.equal(await writer.write([[minted.record.id, 1, 1]]), false, 'closed: nothing is written');

  const notADatabase = path.join(path.dirname(ws.dir), 'not-a-database.db');
  fs.writeFileSync(notADatabase, 'this is not SQLite');
  const broken = new CounterWriter(notADatabase);
  try {
    assert.equal(await broken.write([[minted.record.id, 3, 1]]), false);
    assert.equal(broken.usable, false);
  } finally {
    await broken.close();
  }
  assert.equal(introspectionStats(ws, minted.record.id).count, 7, 'nothing changed');

  // The counter keeps a batch the writer could not commit, and writes it once it can.
  const counter = new IntrospectionCounter();
  counter.note(minted.record.id, 1_800_000_100);
  counter.note(minted.record.id, 1_800_000_100);
  const dead = new CounterWriter(notADatabase);
  try {
    await counter.flushTo(dead);
  } finally {
    await dead.close();
  }
  assert.equal(counter.pending, 1);
  counter.flush(ws);
  assert.deepEqual(introspectionStats(ws, minted.record.id), { count: 9, last_at: 1_800_000_100 });
});

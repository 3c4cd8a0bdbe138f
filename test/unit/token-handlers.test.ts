/**
 * keys:* and tokens:* through the real app router (createAppRouter): the
 * router parses every answer against the contract and refuses anything else,
 * so an `ok` answer here is also a contract check. Only the mint answers may
 * carry a token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { openTestWorkspace, tempDir, testRouter, testServices, type TestServices } from '../harness/services.ts';

const ORIGIN = 'castellan://app';
const REAUTH = { passphrase: 'correct horse battery staple' };
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };

type Progress = { task: string; label: string; done: number; total: number };

function harness() {
  const ws = openTestWorkspace();
  ws.vault.initialize('correct horse battery staple');
  importDeployments(ws, readSpecFiles(SAMPLES_DIR));
  const services: TestServices = testServices(ws);
  const router = testRouter(services)(ORIGIN);
  const answers: { channel: string; json: string }[] = [];
  const events: Progress[] = [];
  async function call<T = unknown>(channel: string, input: unknown): Promise<Envelope<T>> {
    const answer = (await router.dispatch(channel, SENDER, input, (event, payload) => {
      if (event === 'progress') events.push(payload as Progress);
    })) as Envelope<T>;
    answers.push({ channel, json: JSON.stringify(answer) });
    return answer;
  }
  async function ok<T = Record<string, unknown>>(channel: string, input: unknown): Promise<T> {
    const answer = await call<T>(channel, input);
    assert.equal(answer.ok, true, `${channel}: ${JSON.stringify(answer)}`);
    return (answer as { ok: true; data: T }).data;
  }
  async function refused(channel: string, input: unknown, code: string, message?: RegExp): Promise<void> {
    const answer = await call(channel, input);
    assert.equal(answer.ok, false, `${channel} should be refused`);
    const error = (answer as { ok: false; error: { code: string; message: string } }).error;
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
  }
  return { ws, services, call, ok, refused, answers, events };
}

type Minted = { token: string; record: { id: number; jti: string | null; status: string; key_id: string } };

test('mint, list, get, revoke, inspect through the router; only mint answers carry the token', async () => {
  const h = harness();
  const zlayer = await h.ok<{ id: string; state: string }>('keys:create', { profile: 'zlayer' });
  assert.equal(zlayer.state, 'active');
  await h.ok('keys:create', { profile: 'ed25519' });

  const minted = await h.ok<Minted>('tokens:mint', { deployment: 'storefront', service: 'web', container: 'web-0' });
  assert.equal(minted.record.status, 'active');
  const ed = await h.ok<Minted>('tokens:mint', {
    deployment: 'storefront',
    service: 'web',
    container: 'web-1',
    profile: 'ed25519',
  });
  const batch = await h.ok<Minted[]>('tokens:mintBatch', { deployment: 'storefront', service: 'worker' });
  assert.equal(batch.length, 3);
  assert.deepEqual(h.events.at(-1), { task: 'mint', label: 'minted 3 of 3', done: 3, total: 3 });
  const refreshed = await h.ok<Minted>('tokens:refresh', { jti: batch[0]!.record.jti });
  const tokens = [minted, ed, ...batch, refreshed].map((m) => m.token);

  const list = await h.ok<{ rows: { id: number; status: string }[]; total: number }>('tokens:list', {});
  assert.equal(list.total, 6);
  const filtered = await h.ok<{ total: number }>('tokens:list', {
    filter: { deployment: 'storefront', service: 'worker', status: 'active' },
    sort: 'container',
    direction: 'asc',
    limit: 10,
  });
  assert.equal(filtered.total, 3);
  const detail = await h.ok<{ claims: Record<string, unknown>; history: { action: string }[] }>('tokens:get', {
    id: minted.record.id,
  });
  assert.equal(detail.claims.jti, minted.record.jti);
  assert.deepEqual(
    detail.history.map((x) => x.action),
    ['token.mint'],
  );

  const revoked = await h.ok<{ status: string; revoke_reason: string }>('tokens:revoke', {
    jti: minted.record.jti,
    reason: 'leaked',
  });
  assert.deepEqual([revoked.status, revoked.revoke_reason], ['revoked', 'leaked']);
  const inspection = await h.ok<{ verdict: string; record: { id: number } | null }>('tokens:inspect', {
    token: minted.token,
  });
  assert.equal(inspection.verdict, 'revoked');
  assert.equal(inspection.record?.id, minted.record.id);
  assert.equal((await h.ok<{ verdict: string }>('tokens:inspect', { token: ed.token })).verdict, 'valid');
  assert.equal((await h.ok<{ verdict: string }>('tokens:inspect', { token: 'x'.repeat(20_000) })).verdict, 'malformed');

  const dry = await h.ok<{ count: number; dry_run: boolean }>('tokens:revokeBulk', {
    filter: { deployment: 'storefront', service: 'worker' },
    reason: 'decommissioned',
    dry_run: true,
  });
  assert.deepEqual(dry, { count: 3, dry_run: true });
  assert.deepEqual(
    await h.ok('tokens:revokeBulk', {
      filter: { deployment: 'storefront', service: 'worker' },
      reason: 'decommissioned',
      dry_run: false,
    }),
    { count: 3, dry_run: false },
  );
  const stats = await h.ok<{ active: number; revoked: number }>('tokens:stats', {});
  assert.deepEqual([stats.active, stats.revoked], [1, 5]);
  const keys = await h.ok<{ profile: string; tokens: { active: number } }[]>('keys:list', {});
  assert.deepEqual(
    keys.map((k) => k.profile),
    ['zlayer', 'ed25519'],
  );
  const rotated = await h.ok<{ tokens_at_risk: number; previous: { compromised: boolean } }>('keys:rotate', {
    profile: 'ed25519',
    compromised: true,
  });
  assert.deepEqual([rotated.tokens_at_risk, rotated.previous.compromised], [1, true]);

  // No answer but the three mint channels holds any token, or any signature of one.
  for (const a of h.answers) {
    if (['tokens:mint', 'tokens:mintBatch', 'tokens:refresh'].includes(a.channel)) continue;
    for (const token of tokens) {
      assert.equal(a.json.includes(token), false, `${a.channel} leaked a token`);
      assert.equal(a.json.includes(token.split('.')[2]!), false, `${a.channel} leaked a signature`);
    }
  }
  h.ws.close();
});

test('exports through dialogs: JWKS, the signed revocation list, the zlayer secret (0600); cancelling writes nothing', async () => {
  const h = harness();
  await h.ok('keys:create', { profile: 'zlayer' });
  await h.ok('keys:create', { profile: 'ed25519' });
  const m = await h.ok<Minted>('tokens:mint', {
    deployment: 'storefront',
    service: 'web',
    container: 'web-0',
    profile: 'ed25519',
  });
  await h.ok('tokens:revoke', { jti: m.record.jti, reason: 'leaked' });
  const dir = tempDir();

  h.services.dialogs.saves.push(
    path.join(dir, 'jwks.json'),
    path.join(dir, 'revocations.jwt'),
    path.join(dir, 'jwt_secret_zlayer.key'),
  );
  assert.deepEqual(await h.ok('keys:exportJwks', {}), { cancelled: false, path: path.join(dir, 'jwks.json') });
  assert.deepEqual(await h.ok('tokens:exportRevocations', {}), {
    cancelled: false,
    path: path.join(dir, 'revocations.jwt'),
  });
  assert.deepEqual(await h.ok('keys:exportZlayerSecret', { confirm: true, reauth: REAUTH }), {
    cancelled: false,
    path: path.join(dir, 'jwt_secret_zlayer.key'),
  });

  const jwks = createLocalJWKSet(
    JSON.parse(fs.readFileSync(path.join(dir, 'jwks.json'), 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
  );
  const { payload } = await jwtVerify(fs.readFileSync(path.join(dir, 'revocations.jwt'), 'utf8'), jwks, {
    typ: 'castellan-revocations+jwt',
  });
  assert.deepEqual(
    (payload as { entries: { jti: string }[] }).entries.map((e) => e.jti),
    [m.record.jti],
  );
  assert.equal(fs.statSync(path.join(dir, 'jwt_secret_zlayer.key')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, 'jwt_secret_zlayer.key')).size, 64);

  h.services.dialogs.saves.push(null, null, null);
  const before = fs.readdirSync(dir).sort();
  assert.deepEqual(await h.ok('keys:exportJwks', {}), { cancelled: true, path: null });
  assert.deepEqual(await h.ok('tokens:exportRevocations', {}), { cancelled: true, path: null });
  assert.deepEqual(await h.ok('keys:exportZlayerSecret', { confirm: true, reauth: REAUTH }), { cancelled: true, path: null });
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
  await h.refused('keys:exportZlayerSecret', {}, 'INVALID_INPUT');
  h.ws.close();
});

test('import the daemon secret through the open dialog, or as a literal; cancelling imports nothing', async () => {
  const h = harness();
  const file = path.join(tempDir(), 'jwt_secret_zlayer.key');
  fs.writeFileSync(file, Buffer.alloc(64, 0x5a));
  h.services.dialogs.opens.push(null, [file]);
  assert.deepEqual(await h.ok('keys:importZlayerSecretDialog', { reauth: REAUTH }), { cancelled: true, key: null });
  const imported = await h.ok<{ cancelled: boolean; key: { profile: string; state: string } }>(
    'keys:importZlayerSecretDialog',
    { reauth: REAUTH },
  );
  assert.deepEqual([imported.cancelled, imported.key.profile, imported.key.state], [false, 'zlayer', 'active']);
  const literal = await h.ok<{ state: string }>('keys:importZlayerSecret', { secret: 'l'.repeat(48), reauth: REAUTH });
  assert.equal(literal.state, 'active');
  assert.equal((await h.ok<unknown[]>('keys:list', {})).length, 2);
  await h.refused('keys:importZlayerSecret', { secret: 'l'.repeat(48), reauth: REAUTH }, 'CONFLICT', /already held/);
  await h.refused('keys:importZlayerSecret', { secret: 'short', reauth: REAUTH }, 'INVALID_INPUT', /at least 32/);
  for (const a of h.answers) assert.equal(a.json.includes('l'.repeat(48)), false, 'the secret never comes back');
  h.ws.close();
});

test('bad input is refused at the boundary; domain errors keep their code; a locked vault says LOCKED', async () => {
  const h = harness();
  await h.ok('keys:create', { profile: 'zlayer' });
  const m = await h.ok<Minted>('tokens:mint', { deployment: 'storefront', service: 'web', container: 'web-0' });
  const count = () => (h.ws.db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n;
  const before = count();

  await h.refused('tokens:revoke', { jti: m.record.jti, reason: 'bored' }, 'INVALID_INPUT');
  await h.refused('tokens:revoke', { jti: m.record.jti, reason: 'leaked', extra: 1 }, 'INVALID_INPUT');
  await h.refused('tokens:mint', { deployment: 'storefront', service: 'web' }, 'INVALID_INPUT');
  await h.refused(
    'tokens:mint',
    { deployment: 'storefront', service: 'web', container: 'web-0', ttl_secs: -1 },
    'INVALID_INPUT',
  );
  await h.refused('tokens:list', { limit: 5000 }, 'INVALID_INPUT');
  await h.refused('tokens:list', { sort: 'token_sha256' }, 'INVALID_INPUT');
  await h.refused('keys:create', { profile: 'rsa' }, 'INVALID_INPUT');
  await h.refused('tokens:revoke', { jti: '22222222-2222-4222-8222-222222222222', reason: 'leaked' }, 'NOT_FOUND');
  await h.refused(
    'tokens:mint',
    { deployment: 'storefront', service: 'web', container: 'web-0', ttl_secs: 10 ** 7 },
    'INVALID_INPUT',
    /longer than/,
  );
  await h.refused(
    'tokens:revokeBulk',
    { filter: {}, reason: 'other', dry_run: false },
    'INVALID_INPUT',
    /at least one filter/,
  );
  await h.refused(
    'tokens:mintBatch',
    { deployment: 'ci-runners', service: 'runner' },
    'INVALID_INPUT',
    /list the containers/,
  );
  await h.refused('keys:create', { profile: 'zlayer' }, 'CONFLICT');
  assert.equal(count(), before);

  h.ws.vault.lock();
  await h.refused('tokens:mint', { deployment: 'storefront', service: 'web', container: 'web-1' }, 'LOCKED');
  await h.refused('keys:create', { profile: 'ed25519' }, 'LOCKED');
  await h.refused('keys:rotate', { profile: 'zlayer' }, 'LOCKED');
  await h.refused('tokens:refresh', { jti: m.record.jti }, 'LOCKED');
  await h.refused('tokens:inspect', { token: m.token }, 'LOCKED', /unlock/);
  // Locked is reported before any dialog opens (the queue is empty: a dialog would throw).
  await h.refused('keys:exportZlayerSecret', { confirm: true, reauth: REAUTH }, 'LOCKED');
  await h.refused('keys:importZlayerSecretDialog', { reauth: REAUTH }, 'LOCKED');
  await h.refused('tokens:exportRevocations', {}, 'LOCKED');
  assert.deepEqual(h.services.dialogs.asked, []);
  assert.equal(count(), before);
  // Reading needs no unlock.
  assert.equal((await h.ok<{ total: number }>('tokens:list', {})).total, 1);
  for (const a of h.answers.filter((x) => x.channel !== 'tokens:mint')) assert.equal(a.json.includes(m.token), false);
  h.ws.close();
});

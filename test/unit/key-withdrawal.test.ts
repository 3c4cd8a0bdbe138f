/**
 * Issue 11, points 2 and 4, as the attacks the review reproduced:
 * - a key rotated as compromised stayed in the JWKS (for as long as its longest token
 *   lived) and its tokens were still judged valid; there was no force-retire;
 * - the inspector trusted a jti: a token re-signed with the real HS256 secret, with
 *   wider scopes and a 10-year exp but a real jti, was judged valid.
 * Each runs against a real workspace through the core, the IPC router and the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeBulk } from '../../electron/core/tokens/revocation.ts';
import {
  exportJwks,
  forceRetireKey,
  getKey,
  importZlayerSecret,
  keyExposure,
  rotateKey,
  workspaceJwks,
} from '../../electron/core/tokens/signing-keys.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import { TEST_PASSPHRASE, SAMPLES_DIR } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';
import { isError, py, sampleWorkspace, tokenWorkspace } from '../harness/tokens.ts';

const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const DAEMON_SECRET = 'a daemon secret the attacker also learnt, long enough';
const TEN_YEARS = 10 * 365 * 86_400;

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The attack in the issue: the real claims, wider scopes and a 10-year exp, re-signed with the secret. */
function forgeFrom(token: string, secret: string): string {
  const claims = decode(token);
  const forged = {
    ...claims,
    scopes: [
      { resource_kind: 'deployment', resource_id: null, level: 'write' },
      { resource_kind: 'secret', resource_id: null, level: 'write' },
    ],
    exp: (claims.iat as number) + TEN_YEARS,
  };
  const answer = py({ op: 'encode_hs256', secret, claims: forged }) as { ok: boolean; token: string };
  assert.ok(answer.ok);
  return answer.token;
}

function router(ws: ReturnType<typeof sampleWorkspace>) {
  const r = testRouter(testServices(ws))(ORIGIN);
  return async <T>(channel: string, input: unknown): Promise<Envelope<T>> =>
    (await r.dispatch(channel, SENDER, input, () => undefined)) as Envelope<T>;
}

// ---------------------------------------------------------------- point 4: the inspector binds to the row

test('a token re-signed with the real HS256 secret, wider scopes and a 10-year exp but a real jti is forged, never valid', async () => {
  const ws = sampleWorkspace();
  importZlayerSecret(ws, { literal: DAEMON_SECRET });
  const real = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  assert.equal(inspectWithLedger(ws, real.token).verdict, 'valid');

  const forged = forgeFrom(real.token, DAEMON_SECRET);
  assert.equal(decode(forged).jti, real.record.jti, 'the forgery carries the real jti');
  const verdict = inspectWithLedger(ws, forged);
  assert.equal(verdict.verdict, 'forged', verdict.reason);
  assert.match(verdict.reason, new RegExp(`^reuses the id of token #${real.record.id} \\(jti "${real.record.jti}"\\)`));
  assert.equal(verdict.record, null, 'a forgery is not shown as the real token’s record');

  // Revoking the real token does not make the forgery "revoked" (or anything but forged).
  revokeBulk(ws, { filter: { deployment: 'storefront' }, reason: 'leaked', dryRun: false });
  assert.equal(inspectWithLedger(ws, forged).verdict, 'forged');
  assert.equal(inspectWithLedger(ws, real.token).verdict, 'revoked');

  // The same over IPC, where the verdict is part of the contract.
  const call = router(ws);
  const answer = await call<{ verdict: string; reason: string }>('tokens:inspect', { token: forged });
  assert.ok(answer.ok, JSON.stringify(answer));
  assert.equal(answer.data.verdict, 'forged');
  ws.close();
});

test('a token signed by a compromised key is never valid: by kid (ed25519) and by HMAC (zlayer), retired or not', async () => {
  const ws = await tokenWorkspace(['ed25519', 'zlayer']);
  const ed = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' });
  const zl = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1' });
  assert.equal(inspectWithLedger(ws, ed.token).verdict, 'valid');
  assert.equal(inspectWithLedger(ws, zl.token).verdict, 'valid');

  const edRotation = await rotateKey(ws, 'ed25519', { compromised: true });
  const zlRotation = await rotateKey(ws, 'zlayer', { compromised: true });
  for (const [token, rotation] of [
    [ed.token, edRotation],
    [zl.token, zlRotation],
  ] as const) {
    const r = inspectWithLedger(ws, token);
    assert.equal(r.verdict, 'compromised_key', r.reason);
    assert.match(r.reason, new RegExp(`signed by key ${rotation.previous!.id}, which is marked compromised`));
  }
  // Force-retired, the key's tokens still say why they are refused.
  await forceRetireKey(ws, edRotation.previous!.id, { passphrase: TEST_PASSPHRASE });
  await forceRetireKey(ws, zlRotation.previous!.id, { passphrase: TEST_PASSPHRASE });
  assert.equal(inspectWithLedger(ws, ed.token).verdict, 'compromised_key');
  assert.equal(inspectWithLedger(ws, zl.token).verdict, 'compromised_key');
  // A token of the new keys is unaffected.
  const fresh = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-2', profile: 'ed25519' });
  assert.equal(inspectWithLedger(ws, fresh.token).verdict, 'valid');
  ws.close();
});

// ---------------------------------------------------------------- point 2: withdrawing a compromised key

test('a key rotated as compromised leaves the JWKS at once and is never published again', async () => {
  const ws = await tokenWorkspace(['ed25519']);
  const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' });
  const { issuer, audience } = { issuer: 'castellan', audience: 'zlayer-api' };
  const verifies = (): boolean =>
    py({
      op: 'decode_jwks',
      token: minted.token,
      jwks: exportJwks(ws).jwks,
      kid: minted.record.kid,
      alg: 'EdDSA',
      issuer,
      audience,
    }).ok;
  assert.equal(verifies(), true, 'before: an independent verifier accepts it with the published JWKS');

  const plain = (await rotateKey(ws, 'ed25519')).previous!;
  // A plain rotation keeps the old key published while its tokens live.
  assert.ok(workspaceJwks(ws).keys.some((k) => k.kid === plain.kid));
  assert.equal(verifies(), true);

  // The verify-only key is now the one found compromised: rotating again as compromised
  // flags only the active key, so flag this one the way the admin would, at its rotation.
  const ws2 = await tokenWorkspace(['ed25519']);
  const t2 = mintToken(ws2, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' });
  const { previous, key } = await rotateKey(ws2, 'ed25519', { compromised: true });
  assert.ok(previous !== null && previous.kid !== null);
  const kids = exportJwks(ws2).jwks.keys.map((k) => k.kid);
  assert.equal(kids.includes(previous.kid), false, 'the compromised key is not published');
  assert.ok(kids.includes(key.kid!));
  const refused = py({
    op: 'decode_jwks',
    token: t2.token,
    jwks: exportJwks(ws2).jwks,
    kid: t2.record.kid,
    alg: 'EdDSA',
    issuer,
    audience,
  });
  assert.equal(refused.ok, false, 'the independent verifier no longer finds the key');
  // Nor later: after more rotations, and while its token is still active.
  await rotateKey(ws2, 'ed25519');
  assert.equal(
    workspaceJwks(ws2).keys.some((k) => k.kid === previous.kid),
    false,
  );
  assert.equal(getKey(ws2, previous.id).tokens.active, 1);
  ws.close();
  ws2.close();
});

test('exposure of a compromised key: which tokens can be revoked, which cannot (no jti) and until when', async () => {
  const ws = await tokenWorkspace(['zlayer']);
  const withJti = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  const noJti = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1', noJti: true });
  const { previous } = await rotateKey(ws, 'zlayer', { compromised: true });
  const exposure = keyExposure(ws, previous!.id);
  assert.deepEqual(
    {
      revocable: exposure.revocable,
      unrevocable: exposure.unrevocable,
      revocable_until: exposure.revocable_until,
      unrevocable_until: exposure.unrevocable_until,
      listed: [exposure.revocable_tokens.map((t) => t.id), exposure.unrevocable_tokens.map((t) => t.id)],
    },
    {
      revocable: 1,
      unrevocable: 1,
      revocable_until: withJti.record.expires_at,
      unrevocable_until: noJti.record.expires_at,
      listed: [[withJti.record.id], [noJti.record.id]],
    },
  );
  const bulk = revokeBulk(ws, { filter: { key_id: previous!.id }, reason: 'key_compromise', dryRun: false });
  assert.deepEqual([bulk.count, bulk.unrevocable], [1, 1]);
  const after = keyExposure(ws, previous!.id);
  assert.deepEqual([after.revocable, after.unrevocable], [0, 1]);
  // The no-jti token keeps the key from retiring on its own: force-retire is the way out.
  assert.equal(getKey(ws, previous!.id).state, 'verify-only');
  ws.close();
});

test('keys retire --force (core): re-authenticated, audited, any state; a wrong passphrase changes nothing', async () => {
  const ws = await tokenWorkspace(['ed25519', 'zlayer']);
  mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', noJti: true });
  const { previous } = await rotateKey(ws, 'zlayer', { compromised: true });
  const id = previous!.id;
  const auditBefore = ws.audit.list({ limit: 1000 }).total;

  await assert.rejects(
    forceRetireKey(ws, id, { passphrase: 'not the passphrase' }),
    isError('BAD_REQUEST', /re-authentication failed/),
  );
  assert.equal(getKey(ws, id).state, 'verify-only');
  assert.ok(ws.audit.list({ limit: 1000 }).total >= auditBefore);
  await assert.rejects(forceRetireKey(ws, 'zlayer-nope', { passphrase: TEST_PASSPHRASE }), isError('NOT_FOUND'));

  const retired = await forceRetireKey(ws, id, { passphrase: TEST_PASSPHRASE });
  assert.equal(retired.state, 'retired');
  assert.ok(retired.retired_at);
  const entry = ws.audit.list({ action: 'key.retire', limit: 10 }).rows.find((e) => e.target === `key:${id}`);
  assert.deepEqual(
    {
      forced: entry?.details.forced,
      previous_state: entry?.details.previous_state,
      compromised: entry?.details.compromised,
      still_active: entry?.details.still_active,
      unrevocable: entry?.details.unrevocable,
    },
    { forced: true, previous_state: 'verify-only', compromised: true, still_active: 1, unrevocable: 1 },
  );
  await assert.rejects(forceRetireKey(ws, id, { passphrase: TEST_PASSPHRASE }), isError('CONFLICT', /already retired/));

  // An active key too: its profile then has no signing key until one is created.
  const activeEd = ws.db
    .prepare("SELECT id FROM signing_keys WHERE profile = 'ed25519' AND state = 'active'")
    .get() as {
    id: string;
  };
  await forceRetireKey(ws, activeEd.id, { passphrase: TEST_PASSPHRASE });
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-9', profile: 'ed25519' }),
    isError('NOT_FOUND', /no active ed25519 key/),
  );
  ws.close();
});

test('keys:retire and keys:exposure over IPC: reauth required in the request, a wrong one refused with nothing changed', async () => {
  const ws = await tokenWorkspace(['ed25519']);
  mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519', noJti: true });
  const { previous } = await rotateKey(ws, 'ed25519', { compromised: true });
  const call = router(ws);

  const exposure = await call<{ unrevocable: number; unrevocable_tokens: { jti: string | null }[] }>('keys:exposure', {
    id: previous!.id,
  });
  assert.ok(exposure.ok, JSON.stringify(exposure));
  assert.equal(exposure.data.unrevocable, 1);
  assert.equal(exposure.data.unrevocable_tokens[0]?.jti, null);

  // No reauth at all: the contract refuses it before any handler runs.
  const bare = await call('keys:retire', { id: previous!.id, force: true });
  assert.equal(bare.ok, false);
  const wrong = await call('keys:retire', { id: previous!.id, force: true, reauth: { passphrase: 'guess' } });
  assert.equal(wrong.ok, false);
  assert.equal((wrong as { error: { code: string } }).error.code, 'BAD_REQUEST');
  assert.equal(getKey(ws, previous!.id).state, 'verify-only');

  const right = await call<{ state: string; compromised: boolean }>('keys:retire', {
    id: previous!.id,
    force: true,
    reauth: { passphrase: TEST_PASSPHRASE },
  });
  assert.ok(right.ok, JSON.stringify(right));
  assert.deepEqual([right.data.state, right.data.compromised], ['retired', true]);
  assert.ok(!JSON.stringify(right).includes(TEST_PASSPHRASE));
  ws.close();
});

// ---------------------------------------------------------------- the CLI, end to end

test('CLI: the issue’s sequence: mint --no-jti, rotate --compromised, revoke --key, then the key is out of the JWKS, exposure, retire --force', () => {
  const dir = tempDir();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CASTELLAN_DATA_DIR: path.join(dir, 'ws'),
    PP: 'cli passphrase for keys',
    WRONG: 'not the passphrase',
  };
  delete env.NODE_TEST_CONTEXT;
  const run = (args: string[], input = '') =>
    spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8' });
  const ok = (args: string[], input = '') => {
    const r = run(['--passphrase-env', 'PP', ...args], input);
    assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  ok(['init']);
  ok(['deployments', 'import', SAMPLES_DIR]);
  ok(['keys', 'create', '--profile', 'ed25519']);
  const token = ok(['mint', 'storefront', 'web', 'web-0', '--profile', 'ed25519', '--no-jti']).stdout.trim();
  const rotate = JSON.parse(ok(['keys', 'rotate', '--profile', 'ed25519', '--compromised', '--json']).stdout) as {
    previous: { id: string; kid: string };
  };
  const old = rotate.previous;
  const revoke = ok(['revoke', '--key', old.id, '--reason', 'key_compromise']).stdout;
  assert.match(revoke, /revoked 0 token\(s\)/);
  assert.match(revoke, /1 matching token\(s\) were minted without a jti/);

  const jwks = JSON.parse(ok(['export', 'jwks']).stdout) as { keys: { kid: string }[] };
  assert.equal(
    jwks.keys.some((k) => k.kid === old.kid),
    false,
    'the compromised key left the JWKS',
  );

  // Inspecting an ed25519 token authenticates the key record first, so the vault is unlocked.
  const inspect = run(['--passphrase-env', 'PP', 'inspect', '-'], token);
  assert.equal(inspect.status, 2);
  assert.match(inspect.stdout, /^verdict: compromised_key$/m);

  const exposure = ok(['keys', 'exposure', old.id]).stdout;
  assert.match(exposure, /0 active token\(s\) can be revoked/);
  assert.match(
    exposure,
    /1 active token\(s\) have no jti and cannot be revoked; they stay usable until \d{4}-\d\d-\d\dT/,
  );
  assert.match(exposure, new RegExp(`castellan keys retire ${old.id} --force`));

  const noForce = run(['--passphrase-env', 'PP', 'keys', 'retire', old.id]);
  assert.equal(noForce.status, 1);
  assert.match(noForce.stderr, /needs --force/);
  const wrong = run(['--passphrase-env', 'WRONG', 'keys', 'retire', old.id, '--force'], '');
  assert.equal(wrong.status, 2);
  assert.match(ok(['keys', 'list']).stdout, new RegExp(`${old.id} .*verify-only, COMPROMISED`));

  const retired = ok(['keys', 'retire', old.id, '--force']);
  assert.match(retired.stdout, new RegExp(`retired ${old.id} .*retired, COMPROMISED`));
  assert.ok(!retired.stdout.includes(env.PP!) && !retired.stderr.includes(env.PP!));
  const audit = ok(['audit', 'verify']);
  assert.match(audit.stdout + audit.stderr, /OK/);
});

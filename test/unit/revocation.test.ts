/**
 * Revocation (one, twice, unknown, bulk with dry run), refresh (mint first,
 * then revoke; a failed mint never revokes), the signed revocation list
 * verified with jose against the JWKS, and the inspector wired to the ledger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { inspectionSchema, tokenRecordSchema } from '../../shared/ipc/contract/tokens.ts';
import { importDeployments } from '../../electron/core/deployments/deployments.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { exportRevocationList, refreshToken, revokeBulk, revokeToken } from '../../electron/core/tokens/revocation.ts';
import { createKey, exportJwks, exportZlayerSecretFile } from '../../electron/core/tokens/signing-keys.ts';
import { getToken, listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tempDir } from '../harness/services.ts';
import { isError, py, tokenWorkspace } from '../harness/tokens.ts';
import type { Profile } from '../../electron/core/tokens/key-material.ts';
import { checkRevocationListFreshness } from '../../electron/core/tokens/revocation-list.ts';
import { revokedIdsDigest } from '../../electron/core/tokens/revocation-integrity.ts';


function setup(profiles: readonly Profile[] = ['zlayer', 'ed25519']): Promise<Workspace> {
  return tokenWorkspace(profiles);
}

function snapshot(ws: Workspace): string {
  return JSON.stringify({
    tokens: ws.db.prepare('SELECT * FROM tokens ORDER BY id').all(),
    audit: ws.db.prepare('SELECT count(*) AS n FROM audit').get(),
    keys: ws.db.prepare('SELECT id, state FROM signing_keys ORDER BY id').all(),
    meta: ws.db.prepare("SELECT * FROM meta WHERE key NOT LIKE 'audit_head%' ORDER BY key").all(),
  });
}

const now = (): number => Math.floor(Date.now() / 1000);
const mint = (
  ws: Workspace,
  service: string,
  container: string,
  extra: Partial<Parameters<typeof mintToken>[1]> = {},
) => mintToken(ws, { deployment: 'storefront', service, container, ...extra });

test('revoke one token: revoked with its reason, audited; the inspector then says revoked', async () => {
  const ws = await setup();
  const { token, record } = mint(ws, 'web', 'web-0');
  const t = now();
  const revoked = revokeToken(ws, record.jti!, 'leaked', t);
  assert.equal(tokenRecordSchema.safeParse(revoked).success, true);
  assert.deepEqual(
    { status: revoked.status, at: revoked.revoked_at, reason: revoked.revoke_reason, by: revoked.replaced_by },
    { status: 'revoked', at: t, reason: 'leaked', by: null },
  );
  const entries = ws.db.prepare("SELECT target, details FROM audit WHERE action = 'token.revoke'").all() as {
    target: string;
    details: string;
  }[];
  assert.deepEqual(
    entries.map((e) => e.target),
    [`token:${record.jti}`],
  );
  assert.equal((JSON.parse(entries[0]!.details) as { reason: string }).reason, 'leaked');
  const inspection = inspectWithLedger(ws, token);
  assert.equal(inspection.verdict, 'revoked');
  assert.match(inspection.reason, /leaked/);
  assert.equal(inspection.record?.status, 'revoked');
  ws.close();
});

test('revoking twice is harmless: the record comes back unchanged and nothing is written', async () => {
  const ws = await setup();
  const { record } = mint(ws, 'web', 'web-0');
  const first = revokeToken(ws, record.jti!, 'leaked', now() - 30);
  const before = snapshot(ws);
  const second = revokeToken(ws, record.jti!, 'other');
  assert.deepEqual(second, first, 'the first reason and time stand');
  assert.equal(snapshot(ws), before, 'no second audit entry, no change');
  ws.close();
});

test('revoking an unknown jti is NOT_FOUND, a bad reason INVALID_INPUT; neither changes anything', async () => {
  const ws = await setup();
  const { token, record } = mint(ws, 'web', 'web-0');
  const before = snapshot(ws);
  assert.throws(
    () => revokeToken(ws, '00000000-0000-4000-8000-000000000000', 'leaked'),
    isError('NOT_FOUND', /no token with jti "00000000-0000-4000-8000-000000000000" in the ledger/),
  );
  // Someone pastes the token instead of its jti: refused without echoing it.
  assert.throws(
    () => revokeToken(ws, token, 'leaked'),
    (err: unknown) => isError('NOT_FOUND')(err) && !(err as Error).message.includes(token.split('.')[2]!),
  );
  assert.throws(() => revokeToken(ws, '', 'leaked'), isError('INVALID_INPUT'));
  assert.throws(
    () => revokeToken(ws, record.jti!, 'bored' as never),
    isError('INVALID_INPUT', /key_compromise, leaked, superseded, decommissioned, other/),
  );
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('bulk revoke: the dry run counts exactly what the real run revokes and changes nothing', async () => {
  const ws = await setup();
  const t = now();
  const web = ['web-0', 'web-1', 'web-2'].map((c) => mint(ws, 'web', c, { now: t }));
  const already = mint(ws, 'web', 'web-3', { now: t });
  revokeToken(ws, already.record.jti!, 'other', t);
  const expired = mint(ws, 'web', 'web-4', { now: t - 10 * 86_400 });
  const noJti = mint(ws, 'web', 'web-5', { now: t, noJti: true });
  const worker = mint(ws, 'worker', 'worker-0', { now: t });
  const other = mintToken(ws, { deployment: 'ci-runners', service: 'runner', container: 'r-1', now: t });

  const filter = { deployment: 'storefront', service: 'web' };
  const before = snapshot(ws);
  const dry = revokeBulk(ws, { filter, reason: 'decommissioned', dryRun: true, now: t });
  assert.deepEqual(dry, { count: 3, dry_run: true, unrevocable: 1 });
  assert.equal(snapshot(ws), before, 'a dry run writes nothing');

  const auditBefore = ws.audit.verify().count;
  const real = revokeBulk(ws, { filter, reason: 'decommissioned', dryRun: false, now: t });
  assert.deepEqual(real, { count: dry.count, dry_run: false, unrevocable: 1 });
  const entries = ws.db.prepare('SELECT seq, action, target, details FROM audit WHERE seq > ?').all(auditBefore) as {
    seq: number;
    action: string;
    target: string;
    details: string;
  }[];
  assert.deepEqual(
    entries.map((e) => [e.action, e.target]),
    [['token.revoke_bulk', 'tokens']],
    'one summary entry',
  );
  const revokedIds = (ws.db.prepare('SELECT id FROM tokens WHERE revoke_audit_seq = ?').all(entries[0]!.seq) as { id: number }[]).map((r) => r.id);
  assert.deepEqual(JSON.parse(entries[0]!.details), {
    count: 3,
    filter,
    reason: 'decommissioned',
    unrevocable: 1,
    // Which rows, so none can be un-revoked in the file unnoticed (revocation-integrity.ts).
    ids_digest: revokedIdsDigest(revokedIds),
  });

  const status = (m: { record: { id: number } }) => getToken(ws, m.record.id, t).record;
  for (const m of web) {
    assert.equal(status(m).status, 'revoked');
    assert.equal(status(m).revoke_reason, 'decommissioned');
    assert.deepEqual(
      getToken(ws, m.record.id, t).history.map((h) => h.action),
      ['token.mint', 'token.revoke_bulk'],
      'each token’s history shows the summary',
    );
  }
  assert.equal(status(already).revoke_reason, 'other', 'an earlier revocation stands');
  assert.equal(status(expired).status, 'expired', 'expired tokens are left as they are');
  assert.equal(status(noJti).status, 'active', 'a token without jti cannot be revoked, and is not pretended to be');
  assert.equal(status(worker).status, 'active');
  assert.equal(status(other).status, 'active');
  // Again: nothing left to revoke, nothing written.
  const after = snapshot(ws);
  assert.deepEqual(revokeBulk(ws, { filter, reason: 'decommissioned', dryRun: false, now: t }), {
    count: 0,
    dry_run: false,
    unrevocable: 1,
  });
  assert.equal(snapshot(ws), after);
  assert.equal(ws.audit.verify().ok, true);
  ws.close();
});

test('bulk revoke by deployment and by key; an empty or non-active filter is refused and changes nothing', async () => {
  const ws = await setup();
  mint(ws, 'web', 'web-0');
  const ed = mint(ws, 'worker', 'worker-0', { profile: 'ed25519' });
  mintToken(ws, { deployment: 'ci-runners', service: 'runner', container: 'r-1', profile: 'ed25519' });
  const before = snapshot(ws);
  assert.throws(
    () => revokeBulk(ws, { filter: {}, reason: 'other', dryRun: true }),
    isError('INVALID_INPUT', /at least one filter/),
  );
  assert.throws(
    () => revokeBulk(ws, { filter: { status: 'active' }, reason: 'other', dryRun: false }),
    isError('INVALID_INPUT', /at least one filter/),
  );
  assert.throws(
    () => revokeBulk(ws, { filter: { deployment: 'storefront', status: 'expired' }, reason: 'other', dryRun: false }),
    isError('INVALID_INPUT', /active tokens only/),
  );
  assert.throws(
    () => revokeBulk(ws, { filter: { deployment: 'storefront' }, reason: 'nope' as never, dryRun: false }),
    isError('INVALID_INPUT'),
  );
  assert.throws(
    () => revokeBulk(ws, { filter: { colour: 'red' } as never, reason: 'other', dryRun: false }),
    isError('INVALID_INPUT', /unknown token filter/),
  );
  assert.equal(snapshot(ws), before);

  assert.equal(
    revokeBulk(ws, { filter: { key_id: ed.record.key_id }, reason: 'key_compromise', dryRun: true }).count,
    2,
  );
  assert.equal(revokeBulk(ws, { filter: { deployment: 'storefront' }, reason: 'other', dryRun: false }).count, 2);
  assert.equal(
    revokeBulk(ws, { filter: { key_id: ed.record.key_id }, reason: 'key_compromise', dryRun: false }).count,
    1,
  );
  assert.equal(listTokens(ws, { filter: { status: 'revoked' } }).total, 3);
  ws.close();
});

test('the revocation list: revoked unexpired jtis only, a rising sequence, a JWS that jose verifies with the JWKS', async () => {
  const ws = await setup(['zlayer', 'es256', 'ed25519']);
  const t = now();
  const live = mint(ws, 'web', 'web-0', { now: t });
  const revoked = mint(ws, 'web', 'web-1', { now: t });
  const revokedEd = mint(ws, 'web', 'web-2', { now: t, profile: 'ed25519' });
  const longGone = mint(ws, 'worker', 'worker-0', { now: t - 30 * 86_400 });
  const noJti = mint(ws, 'web', 'web-3', { now: t, noJti: true });
  revokeToken(ws, revoked.record.jti!, 'leaked', t);
  revokeToken(ws, revokedEd.record.jti!, 'leaked', t);
  revokeToken(ws, longGone.record.jti!, 'leaked', t);
  revokeBulk(ws, { filter: { container: 'web-3' }, reason: 'other', dryRun: false, now: t });
  assert.ok(live && noJti);

  const first = exportRevocationList(ws, t);
  const second = exportRevocationList(ws, t + 1);
  assert.equal(first.list.seq, 1);
  assert.equal(second.list.seq, 2);
  assert.equal(first.list.generated_at, t);
  const expected = [revoked.record, revokedEd.record]
    .map((r) => ({ jti: r.jti!, exp: r.expires_at }))
    .sort((a, b) => (a.jti < b.jti ? -1 : 1));
  assert.deepEqual(first.list.entries, expected);

  // Signed by the active ed25519 key (preferred over es256), verifiable against the exported JWKS.
  const header = decodeProtectedHeader(second.jws);
  assert.deepEqual(header, { alg: 'EdDSA', typ: 'castellan-revocations+jwt', kid: second.kid });
  const jwks = createLocalJWKSet(JSON.parse(exportJwks(ws).json) as Parameters<typeof createLocalJWKSet>[0]);
  const { payload } = await jwtVerify(second.jws, jwks, { typ: 'castellan-revocations+jwt', algorithms: ['EdDSA'] });
  assert.deepEqual(payload, { seq: 2, generated_at: t + 1, iat: t + 1, exp: t + 1 + 86_400, entries: expected });

  const exports = ws.db.prepare("SELECT details FROM audit WHERE action = 'revocations.export' ORDER BY seq").all() as {
    details: string;
  }[];
  assert.deepEqual(
    exports.map((e) => (JSON.parse(e.details) as { seq: number; count: number }).seq),
    [1, 2],
  );
  assert.equal(
    (ws.db.prepare("SELECT value FROM meta WHERE key = 'revocation_list_seq'").get() as { value: string }).value,
    '2',
  );
  ws.close();
});

test('the revocation list falls back to es256, and needs an asymmetric key and an unlocked vault', async () => {
  const ws = await setup(['zlayer']);
  const before = snapshot(ws);
  assert.throws(() => exportRevocationList(ws), isError('NOT_FOUND', /no active ed25519 or es256 key/));
  assert.equal(snapshot(ws), before, 'no sequence number is used up');
  await createKey(ws, 'es256');
  const signed = exportRevocationList(ws);
  assert.equal(decodeProtectedHeader(signed.jws).alg, 'ES256');
  const jwks = createLocalJWKSet(exportJwks(ws).jwks as Parameters<typeof createLocalJWKSet>[0]);
  await jwtVerify(signed.jws, jwks, { typ: 'castellan-revocations+jwt' });

  ws.vault.lock();
  const locked = snapshot(ws);
  assert.throws(() => exportRevocationList(ws), isError('LOCKED'));
  assert.equal(snapshot(ws), locked);
  ws.close();
});

test('refresh: the new token is valid, the old one revoked as superseded with replaced_by', async () => {
  const ws = await setup();
  const old = mint(ws, 'worker', 'worker-1');
  const fresh = refreshToken(ws, old.record.jti!);
  assert.notEqual(fresh.record.jti, old.record.jti);
  assert.deepEqual(
    [fresh.record.deployment, fresh.record.service, fresh.record.container, fresh.record.profile],
    ['storefront', 'worker', 'worker-1', 'zlayer'],
  );
  assert.equal(inspectWithLedger(ws, fresh.token).verdict, 'valid');
  const oldNow = inspectWithLedger(ws, old.token);
  assert.equal(oldNow.verdict, 'revoked');
  assert.deepEqual(
    { reason: oldNow.record?.revoke_reason, by: oldNow.record?.replaced_by },
    { reason: 'superseded', by: fresh.record.jti },
  );
  const mintEntry = ws.db.prepare('SELECT details FROM audit WHERE target = ?').get(`token:${fresh.record.jti}`) as {
    details: string;
  };
  assert.equal((JSON.parse(mintEntry.details) as { refresh_of: string }).refresh_of, old.record.jti);
  assert.deepEqual(
    getToken(ws, old.record.id).history.map((h) => h.action),
    ['token.mint', 'token.revoke'],
  );

  // A refreshed (revoked) token cannot be refreshed again.
  const before = snapshot(ws);
  assert.throws(
    () => refreshToken(ws, old.record.jti!),
    isError('CONFLICT', /already revoked \(superseded\) and replaced by/),
  );
  assert.throws(() => refreshToken(ws, '11111111-1111-4111-8111-111111111111'), isError('NOT_FOUND'));
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('a failed mint never revokes: locked vault, deleted service, no active key', async () => {
  const ws = await setup(['zlayer', 'ed25519']);
  const old = mint(ws, 'worker', 'worker-1');
  const oldEd = mint(ws, 'web', 'web-0', { profile: 'ed25519' });

  ws.vault.lock();
  let before = snapshot(ws);
  assert.throws(() => refreshToken(ws, old.record.jti!), isError('LOCKED'));
  assert.equal(snapshot(ws), before);
  ws.vault.unlockWithPassphrase('correct horse battery staple');

  // Re-import storefront without its worker service: the policy to mint under is gone.
  importDeployments(
    ws,
    [
      {
        file: 'storefront.yaml',
        text: 'version: v1\ndeployment: storefront\nservices:\n  web:\n    rtype: service\n    image: {name: nginx}\n',
      },
    ],
    { replace: true },
  );
  before = snapshot(ws);
  assert.throws(() => refreshToken(ws, old.record.jti!), isError('NOT_FOUND', /has no service "worker"/));
  assert.equal(snapshot(ws), before);
  assert.equal(inspectWithLedger(ws, old.token).verdict, 'valid', 'the old token stays active');

  // No active key for the token's profile any more (demoted by hand here): nothing to mint with.
  ws.db.prepare("UPDATE signing_keys SET state = 'verify-only' WHERE profile = 'ed25519'").run();
  before = snapshot(ws);
  assert.throws(() => refreshToken(ws, oldEd.record.jti!), isError('NOT_FOUND', /no active ed25519 key/));
  assert.equal(snapshot(ws), before);
  // A key record edited outside Castellan is never used to judge a token.
  assert.throws(
    () => inspectWithLedger(ws, oldEd.token),
    isError('INTEGRITY', /key record ed25519-\w+ fails its authentication check/),
  );
  ws.close();
});

test('the inspector through the ledger: valid, revoked, not issued here, expired; with the contract shape', async () => {
  const ws = await setup();
  const t = now();
  const valid = mint(ws, 'web', 'web-0');
  const check = (token: string, at = t) => {
    const result = inspectWithLedger(ws, token, at);
    assert.equal(inspectionSchema.safeParse(result).success, true, JSON.stringify(result));
    return result;
  };

  const v = check(valid.token);
  assert.equal(v.verdict, 'valid');
  assert.equal(v.key_id, valid.record.key_id);
  assert.equal(v.profile, 'zlayer');
  assert.equal(v.record?.id, valid.record.id);
  assert.equal(v.scopes_in_words, 'may read deployment storefront; may write any container; may write any image');
  assert.deepEqual(v.scopes, valid.record.scopes);

  // A genuine signature from a foreign minter (PyJWT, with the daemon's secret) but no ledger row.
  const file = path.join(tempDir(), 'jwt_secret_zlayer.key');
  await exportZlayerSecretFile(ws, file);
  const secret = py({ op: 'key_file_secret', path: file }).secret as string;
  const foreign = py({
    op: 'encode_hs256',
    secret,
    claims: { sub: 'container:web:web-9', iat: t, exp: t + 600, iss: 'zlayer', roles: ['container'], scopes: [] },
  }).token as string;
  const n = check(foreign);
  assert.equal(n.verdict, 'not_issued_here');
  assert.equal(n.record, null);
  assert.equal(n.scopes_in_words, 'no scopes');

  // Expired: minted two days ago with the 1 h worker policy.
  const old = mint(ws, 'worker', 'worker-0', { now: t - 2 * 86_400 });
  const e = check(old.token);
  assert.equal(e.verdict, 'expired');
  assert.equal(e.record?.status, 'expired');

  revokeToken(ws, valid.record.jti!, 'leaked');
  assert.equal(check(valid.token).verdict, 'revoked');

  // A token minted without jti is found by its SHA-256.
  const noJti = mint(ws, 'web', 'web-1', { noJti: true });
  assert.equal(check(noJti.token).record?.id, noJti.record.id);

  // Garbage gets a verdict, not an error.
  assert.equal(check('not a token').verdict, 'malformed');
  assert.equal(check(`${valid.token.slice(0, -4)}AAAA`).verdict, 'bad_signature');
  ws.close();
});

test('a locked vault: HS256 and ed25519 tokens need unlocking (LOCKED); malformed input still inspects', async () => {
  const ws = await setup();
  const z = mint(ws, 'web', 'web-0');
  const e = mint(ws, 'web', 'web-1', { profile: 'ed25519' });
  ws.vault.lock();
  const before = snapshot(ws);
  assert.throws(
    () => inspectWithLedger(ws, z.token),
    isError('LOCKED', /HS256 \(zlayer\) token.*unlock the workspace/),
  );
  // The public key is in the file; while locked its record cannot be authenticated, so no verdict.
  assert.throws(() => inspectWithLedger(ws, e.token), isError('LOCKED', /unlock it to verify tokens/));
  assert.equal(inspectWithLedger(ws, 'a.b').verdict, 'malformed');
  ws.vault.unlockWithPassphrase('correct horse battery staple');
  assert.equal(inspectWithLedger(ws, e.token).verdict, 'valid');
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('the revocation list carries iat, a 24 h exp and a rising seq; PyJWT verifies them and the verifier rule refuses a replay', async () => {
  const ws = await setup(['ed25519']);
  const t = now() - 60; // both lists signed in the past: PyJWT refuses an iat in the future
  const first = exportRevocationList(ws, t);
  const second = exportRevocationList(ws, t + 5);
  const jwks = exportJwks(ws).jwks;
  const decode = (token: string, extra: Record<string, unknown> = {}) =>
    py({ op: 'decode_revocation_list', token, jwks, kid: second.kid, alg: 'EdDSA', ...extra });

  const a = decode(first.jws);
  const b = decode(second.jws, { last_seq: 1 });
  assert.equal(a.ok, true, JSON.stringify(a));
  assert.equal(b.ok, true, JSON.stringify(b));
  const claimsA = a.claims as { seq: number; iat: number; exp: number };
  const claimsB = b.claims as { seq: number; iat: number; exp: number };
  assert.deepEqual([claimsA.seq, claimsA.iat, claimsA.exp], [1, t, t + 86_400]);
  assert.deepEqual([claimsB.seq, claimsB.iat, claimsB.exp], [2, t + 5, t + 5 + 86_400]);

  // Replaying list #1 to a verifier that has seen #2 is refused; so is any list past its exp.
  const replay = decode(first.jws, { last_seq: 2 });
  assert.equal(replay.ok, false);
  assert.match(String(replay.message), /revocation list #1 is older than #2: refused as a replay/);
  const stale = decode(second.jws, { now: t + 5 + 86_400 + 1 });
  assert.deepEqual([stale.ok, stale.error], [false, 'ExpiredSignatureError']);

  // The same rule in Castellan's own code, for its verifiers.
  assert.equal(checkRevocationListFreshness(second.list, 1, t + 10), 2);
  assert.throws(() => checkRevocationListFreshness(first.list, 2, t + 10), isError('INVALID_INPUT', /older than #2/));
  assert.throws(
    () => checkRevocationListFreshness(second.list, null, t + 5 + 86_401),
    isError('INVALID_INPUT', /revocation list #2 expired/),
  );
  // A validity outside 60 s–30 days is refused before a number is used up.
  const seqBefore = ws.db.prepare("SELECT value FROM meta WHERE key = 'revocation_list_seq'").get();
  assert.throws(() => exportRevocationList(ws, t, 10), isError('INVALID_INPUT', /validity of 10 s is invalid/));
  assert.deepEqual(ws.db.prepare("SELECT value FROM meta WHERE key = 'revocation_list_seq'").get(), seqBefore);
  ws.close();
});

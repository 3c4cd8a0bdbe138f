import os from 'node:os';
/**
 * Minting and the ledger on a real workspace: tokens checked by PyJWT exactly
 * as the ZLayer daemon checks them (zlayer) or against the exported JWKS
 * (ed25519, es256); the fail-closed ledger row and audit entry; TTL overrides;
 * no_jti; batches in one transaction; the ledger's filters, sorting, indexes,
 * rebuilt claims and history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CastellanError } from '../../shared/errors.ts';
import { getService, policyOf, setLabel } from '../../electron/core/deployments/deployments.ts';
import { mintBatch, mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { exportJwks, exportZlayerSecretFile } from '../../electron/core/tokens/signing-keys.ts';
import { filterClause, getToken, listTokens, TOKEN_COLUMNS, tokenStats } from '../../electron/core/tokens/token-ledger.ts';
import { tokenSha256 } from '../../electron/core/tokens/sign.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openTestWorkspace, sqliteOnly, tempDir } from '../harness/services.ts';
import { isError, py, tokenWorkspace } from '../harness/tokens.ts';
import type { Profile } from '../../electron/core/tokens/key-material.ts';


function setup(profiles: readonly Profile[] = ['zlayer']): Promise<Workspace> {
  return tokenWorkspace(profiles);
}

function snapshot(ws: Workspace): string {
  return JSON.stringify({
    tokens: ws.db.prepare('SELECT * FROM tokens ORDER BY id').all(),
    audit: ws.db.prepare('SELECT count(*) AS n FROM audit').get(),
    keys: ws.db.prepare('SELECT id, state FROM signing_keys ORDER BY id').all(),
  });
}

const segment = (token: string, i: number): string => Buffer.from(token.split('.')[i]!, 'base64url').toString('utf8');
const now = (): number => Math.floor(Date.now() / 1000);

/** The daemon's secret string, the way the daemon derives it from the exported key file. */
async function daemonSecret(ws: Workspace): Promise<string> {
  const file = path.join(tempDir(), 'jwt_secret_zlayer.key');
  await exportZlayerSecretFile(ws, file);
  const reply = py({ op: 'key_file_secret', path: file });
  return reply.secret as string;
}

test('zlayer tokens pass PyJWT as the daemon checks them: HS256, iss zlayer, exp, no aud, the exact claim set', async () => {
  const ws = await setup();
  const secret = await daemonSecret(ws);
  for (const [deployment, service, container] of [
    ['storefront', 'web', 'web-0'],
    ['storefront', 'worker', 'worker-2'],
    ['ci-runners', 'runner', 'runner-7'],
    ['ci-runners', 'janitor', 'janitor-0'],
  ] as const) {
    const { token, record } = mintToken(ws, { deployment, service, container });
    assert.equal(segment(token, 0), '{"alg":"HS256","typ":"JWT"}');
    const payload = JSON.parse(segment(token, 1)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload), ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes', 'jti']);

    const reply = py({ op: 'decode_hs256', token, secret, leeway: 0 });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const claims = reply.claims as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(claims),
      ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes', 'jti'],
      'PyJWT sees the same order',
    );
    const policy = policyOf(getService(ws, deployment, service)).access;
    assert.deepEqual(claims, {
      sub: `container:${service}:${container}`,
      iat: record.issued_at,
      exp: record.issued_at + policy.ttl_secs,
      iss: 'zlayer',
      roles: ['container'],
      scopes: policy.scopes,
      jti: record.jti,
    });
    assert.match(record.jti!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The daemon refuses a token with aud; ours has none. A wrong secret is refused too.
    assert.equal(Object.hasOwn(claims, 'aud'), false);
    assert.equal(py({ op: 'decode_hs256', token, secret: `${secret}x` }).error, 'InvalidSignatureError');
  }
  // Spot-check the policy really came through: the worker's label narrows it to one read scope, 1 h.
  const worker = mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-0' });
  assert.deepEqual(worker.record.scopes, [{ resource_kind: 'deployment', resource_id: 'storefront', level: 'read' }]);
  assert.equal(worker.record.expires_at - worker.record.issued_at, 3600);
  ws.close();
});

test('ed25519 and es256 tokens pass PyJWT against the exported JWKS file, with the workspace issuer and audience', async () => {
  const ws = await setup(['ed25519', 'es256']);
  const jwksFile = path.join(tempDir(), 'jwks.json');
  fs.writeFileSync(jwksFile, exportJwks(ws).json);
  for (const [profile, alg] of [
    ['ed25519', 'EdDSA'],
    ['es256', 'ES256'],
  ] as const) {
    const { token, record } = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1', profile });
    const header = JSON.parse(segment(token, 0)) as Record<string, unknown>;
    assert.deepEqual(header, { alg, typ: 'JWT', kid: record.kid });
    const reply = py({
      op: 'decode_jwks',
      token,
      jwks_path: jwksFile,
      kid: record.kid,
      alg,
      audience: 'zlayer-api',
      issuer: 'castellan',
    });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const claims = reply.claims as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims), ['sub', 'iat', 'exp', 'iss', 'aud', 'roles', 'scopes', 'deployment', 'jti']);
    assert.equal(claims.sub, 'container:web:web-1');
    assert.equal(claims.deployment, 'storefront');
    assert.equal(claims.jti, record.jti);
    // Pinned: another audience or issuer is refused.
    assert.equal(
      py({
        op: 'decode_jwks',
        token,
        jwks_path: jwksFile,
        kid: record.kid,
        alg,
        audience: 'other',
        issuer: 'castellan',
      }).ok,
      false,
    );
    assert.equal(
      py({
        op: 'decode_jwks',
        token,
        jwks_path: jwksFile,
        kid: record.kid,
        alg,
        audience: 'zlayer-api',
        issuer: 'zlayer',
      }).ok,
      false,
    );
  }
  ws.close();
});

test('minting writes the ledger row and its audit entry together, and never the token', { skip: sqliteOnly("scans the database file's bytes for the token") }, async () => {
  const ws = await setup();
  const auditBefore = ws.audit.verify().count;
  const { token, record } = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  const row = ws.db.prepare('SELECT * FROM tokens WHERE id = ?').get(record.id) as Record<string, unknown>;
  assert.equal(row.jti, record.jti);
  assert.equal(row.token_sha256, tokenSha256(token));
  assert.equal(row.subject, 'container:web:web-0');
  assert.equal(row.forced_ttl, 0);
  assert.equal(record.status, 'active');

  const entries = ws.db
    .prepare('SELECT action, target, details FROM audit WHERE seq > ? ORDER BY seq')
    .all(auditBefore) as {
    action: string;
    target: string;
    details: string;
  }[];
  assert.deepEqual(
    entries.map((e) => [e.action, e.target]),
    [['token.mint', `token:${record.jti}`]],
  );
  const details = JSON.parse(entries[0]!.details) as Record<string, unknown>;
  assert.equal(details.no_jti, false);
  assert.equal(details.forced_ttl, false);
  assert.equal(details.sha256, tokenSha256(token));
  assert.equal(details.key_id, record.key_id);

  // Neither the token nor its signature is anywhere in the database files.
  const signature = token.split('.')[2]!;
  ws.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  const files = [ws.dbPath, `${ws.dbPath}-wal`].filter((f) => fs.existsSync(f));
  for (const f of files) {
    const bytes = fs.readFileSync(f);
    assert.equal(bytes.includes(token), false, `${path.basename(f)} holds the token`);
    assert.equal(bytes.includes(signature), false, `${path.basename(f)} holds the signature`);
    assert.equal(
      bytes.includes(Buffer.from(signature, 'base64url')),
      false,
      `${path.basename(f)} holds the raw signature`,
    );
  }
  assert.equal(ws.audit.verify().ok, true);
  ws.close();
});

test('a TTL override may shorten the policy; longer is refused unless forced, and forcing is audited', async () => {
  const ws = await setup();
  const shorter = mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-0', ttlSecs: 600 });
  assert.equal(shorter.record.expires_at - shorter.record.issued_at, 600);
  assert.equal(shorter.record.forced_ttl, false);
  // force with a TTL that is not longer forces nothing.
  assert.equal(
    mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-1', ttlSecs: 3600, force: true })
      .record.forced_ttl,
    false,
  );

  const before = snapshot(ws);
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-0', ttlSecs: 7200 }),
    isError(
      'INVALID_INPUT',
      /7200 s \(2 h\) is longer than the 3600 s \(1 h\) the policy of storefront\/worker allows.*forcing is audited/,
    ),
  );
  assert.equal(snapshot(ws), before);
  for (const bad of [0, -5, 1.5, Number.NaN]) {
    assert.throws(
      () => mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-0', ttlSecs: bad }),
      isError('INVALID_INPUT', /whole number of seconds/),
    );
  }
  assert.equal(snapshot(ws), before);

  const forced = mintToken(ws, {
    deployment: 'storefront',
    service: 'worker',
    container: 'worker-0',
    ttlSecs: 7200,
    force: true,
  });
  assert.equal(forced.record.forced_ttl, true);
  assert.equal(forced.record.expires_at - forced.record.issued_at, 7200);
  const entry = ws.db.prepare('SELECT details FROM audit WHERE target = ?').get(`token:${forced.record.jti}`) as {
    details: string;
  };
  const details = JSON.parse(entry.details) as Record<string, unknown>;
  assert.deepEqual([details.forced_ttl, details.ttl_secs, details.policy_ttl_secs], [true, 7200, 3600]);
  assert.equal(listTokens(ws, { filter: {} }).rows.filter((r) => r.forced_ttl).length, 1);
  ws.close();
});

test('no_jti mints the un-revocable form: no jti claim, a ledger row with jti NULL, and an audit entry saying so', async () => {
  const ws = await setup();
  const secret = await daemonSecret(ws);
  const { token, record } = mintToken(ws, {
    deployment: 'storefront',
    service: 'web',
    container: 'web-0',
    noJti: true,
  });
  const payload = JSON.parse(segment(token, 1)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(payload), ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes']);
  assert.equal(record.jti, null);
  const row = ws.db.prepare('SELECT jti, token_sha256 FROM tokens WHERE id = ?').get(record.id) as {
    jti: null;
    token_sha256: string;
  };
  assert.deepEqual({ ...row }, { jti: null, token_sha256: tokenSha256(token) });
  const entry = ws.db.prepare("SELECT target, details FROM audit WHERE action = 'token.mint'").get() as {
    target: string;
    details: string;
  };
  assert.equal(entry.target, `token:${record.id}`);
  assert.equal((JSON.parse(entry.details) as { no_jti: boolean }).no_jti, true);
  assert.equal(py({ op: 'decode_hs256', token, secret }).ok, true, 'the daemon still accepts it');
  ws.close();
});

test('minting refuses unknown services, bad container ids, a missing key and a locked vault, changing nothing', async () => {
  const ws = await setup();
  const before = snapshot(ws);
  assert.throws(
    () => mintToken(ws, { deployment: 'nope', service: 'web', container: 'web-0' }),
    isError('NOT_FOUND', /no deployment "nope"/),
  );
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'nope', container: 'x' }),
    isError('NOT_FOUND', /has no service "nope"/),
  );
  for (const bad of ['', 'a:b', 'has space', 'tab\there', 'x'.repeat(254)]) {
    assert.throws(
      () => mintToken(ws, { deployment: 'storefront', service: 'web', container: bad }),
      isError('INVALID_INPUT', /container id/),
    );
  }
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'ed25519' }),
    isError('NOT_FOUND', /no active ed25519 key.*keys create --profile ed25519/),
  );
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile: 'hs512' as never }),
    isError('INVALID_INPUT', /profile/),
  );
  assert.equal(snapshot(ws), before);

  ws.vault.lock();
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' }),
    isError('LOCKED'),
  );
  assert.throws(() => mintBatch(ws, { deployment: 'storefront', service: 'worker' }), isError('LOCKED'));
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('batch minting: every replica by ZLayer naming, or a list, in one transaction with progress', async () => {
  const ws = await setup();
  const progress: [number, number][] = [];
  const minted = mintBatch(ws, {
    deployment: 'storefront',
    service: 'worker',
    onProgress: (d, t) => progress.push([d, t]),
  });
  assert.deepEqual(
    minted.map((m) => m.record.container),
    ['worker-0', 'worker-1', 'worker-2'],
  );
  assert.deepEqual(
    minted.map((m) => m.record.subject),
    ['container:worker:worker-0', 'container:worker:worker-1', 'container:worker:worker-2'],
  );
  assert.deepEqual(progress.at(-1), [3, 3]);
  assert.equal(new Set(minted.map((m) => m.record.jti)).size, 3);
  // adaptive scale: its minimum is the replica count Castellan knows.
  assert.deepEqual(
    mintBatch(ws, { deployment: 'storefront', service: 'web' }).map((m) => m.record.container),
    ['web-0', 'web-1'],
  );

  const mints = (ws.db.prepare("SELECT count(*) AS n FROM audit WHERE action = 'token.mint'").get() as { n: number }).n;
  assert.equal(mints, 5, 'one audit entry per token');
  const batches = ws.db.prepare("SELECT target, details FROM audit WHERE action = 'token.mint_batch'").all() as {
    target: string;
    details: string;
  }[];
  assert.deepEqual(
    batches.map((b) => [b.target, (JSON.parse(b.details) as { count: number }).count]),
    [
      ['service:storefront/worker', 3],
      ['service:storefront/web', 2],
    ],
  );
  // A batch token's history starts with its batch's summary, which holds what every token shares.
  const history = getToken(ws, minted[1]!.record.id).history;
  assert.deepEqual(
    history.map((h) => h.action),
    ['token.mint_batch', 'token.mint'],
  );
  assert.deepEqual(history[0]!.details.scopes, minted[1]!.record.scopes);
  assert.equal(history[1]!.details.jti, minted[1]!.record.jti);

  // Unknown replica count: an explicit list is required.
  const before = snapshot(ws);
  assert.throws(
    () => mintBatch(ws, { deployment: 'ci-runners', service: 'runner' }),
    isError('INVALID_INPUT', /not known from its spec.*list the containers/),
  );
  assert.throws(
    () => mintBatch(ws, { deployment: 'ci-runners', service: 'runner', containers: [] }),
    isError('INVALID_INPUT', /empty/),
  );
  assert.throws(
    () => mintBatch(ws, { deployment: 'ci-runners', service: 'runner', containers: ['a', 'b', 'a'] }),
    isError('INVALID_INPUT', /"a" is listed twice/),
  );
  assert.throws(
    () => mintBatch(ws, { deployment: 'ci-runners', service: 'runner', containers: ['a', 'b:c'] }),
    isError('INVALID_INPUT', /container id/),
  );
  assert.throws(
    () => mintBatch(ws, { deployment: 'storefront', service: 'worker', ttlSecs: 99_999 }),
    isError('INVALID_INPUT', /longer than/),
  );
  assert.equal(snapshot(ws), before);
  const listed = mintBatch(ws, { deployment: 'ci-runners', service: 'runner', containers: ['build-a', 'build-b'] });
  assert.deepEqual(
    listed.map((m) => m.record.subject),
    ['container:runner:build-a', 'container:runner:build-b'],
  );

  // All or nothing: a failure half-way through (here, the progress callback) leaves no row and no entry.
  const mid = snapshot(ws);
  const containers = Array.from({ length: 250 }, (_, i) => `c-${i}`);
  let calls = 0;
  assert.throws(
    () =>
      mintBatch(ws, {
        deployment: 'ci-runners',
        service: 'runner',
        containers,
        onProgress: () => {
          if (++calls === 2) throw new CastellanError('CANCELLED', 'stopped half-way');
        },
      }),
    isError('CANCELLED'),
  );
  assert.equal(snapshot(ws), mid);
  assert.equal(ws.audit.verify().ok, true);
  ws.close();
});

test('the ledger lists with derived status, every filter, sorting both ways and paging', async () => {
  const ws = await setup(['zlayer', 'ed25519']);
  const t = now();
  const a = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', now: t - 100 });
  const b = mintToken(ws, {
    deployment: 'storefront',
    service: 'worker',
    container: 'worker-0',
    profile: 'ed25519',
    now: t - 50,
  });
  const expired = mintToken(ws, { deployment: 'storefront', service: 'worker', container: 'worker-1', now: t - 7200 });
  const c = mintToken(ws, { deployment: 'ci-runners', service: 'runner', container: 'build-1', now: t });
  revokeToken(ws, a.record.jti!, 'leaked', t);

  const ids = (q: Parameters<typeof listTokens>[1]) => listTokens(ws, q, t).rows.map((r) => r.id);
  assert.deepEqual(
    ids({}),
    [c, b, a, expired].map((m) => m.record.id),
    'newest first by default',
  );
  assert.deepEqual(
    ids({ direction: 'asc' }),
    [expired, a, b, c].map((m) => m.record.id),
  );
  assert.deepEqual(ids({ filter: { status: 'revoked' } }), [a.record.id]);
  assert.deepEqual(ids({ filter: { status: 'expired' } }), [expired.record.id]);
  assert.deepEqual(
    ids({ filter: { status: 'active' } }),
    [c, b].map((m) => m.record.id),
  );
  assert.deepEqual(
    ids({ filter: { deployment: 'storefront', service: 'worker' } }),
    [b, expired].map((m) => m.record.id),
  );
  assert.deepEqual(ids({ filter: { profile: 'ed25519' } }), [b.record.id]);
  assert.deepEqual(ids({ filter: { key_id: b.record.key_id } }), [b.record.id]);
  assert.deepEqual(ids({ filter: { container: 'build-1' } }), [c.record.id]);
  assert.deepEqual(
    ids({ filter: { text: 'WORKER-' } }),
    [b, expired].map((m) => m.record.id),
    'text is case-insensitive',
  );
  assert.deepEqual(ids({ filter: { text: b.record.jti!.slice(3, 12) } }), [b.record.id]);
  assert.deepEqual(ids({ filter: { text: '%' } }), [], 'LIKE wildcards are literal');
  assert.deepEqual(
    ids({ sort: 'container', direction: 'asc' }),
    [c, a, b, expired].map((m) => m.record.id),
  );
  assert.deepEqual(ids({ sort: 'expires_at', direction: 'asc' })[0], expired.record.id);
  assert.deepEqual(ids({ sort: 'revoked_at' })[0], a.record.id);
  const page = listTokens(ws, { limit: 2, offset: 1 }, t);
  assert.deepEqual(
    { total: page.total, ids: page.rows.map((r) => r.id) },
    { total: 4, ids: [b, a].map((m) => m.record.id) },
  );
  assert.equal(listTokens(ws, { filter: { status: 'active' }, limit: 1 }, t).total, 2);
  assert.deepEqual(
    listTokens(ws, {}, t).rows.map((r) => r.status),
    ['active', 'active', 'revoked', 'expired'],
  );

  for (const sort of [
    'issued_at',
    'expires_at',
    'revoked_at',
    'deployment',
    'service',
    'container',
    'subject',
    'profile',
    'kid',
    'jti',
  ] as const) {
    for (const direction of ['asc', 'desc'] as const)
      assert.equal(listTokens(ws, { sort, direction }, t).rows.length, 4);
  }
  assert.throws(
    () => listTokens(ws, { sort: 'token_sha256' as never }),
    isError('INVALID_INPUT', /sort must be one of/),
  );
  assert.throws(() => listTokens(ws, { sort: 'id; DROP TABLE tokens' as never }), isError('INVALID_INPUT'));
  assert.throws(() => listTokens(ws, { direction: 'sideways' as never }), isError('INVALID_INPUT'));
  assert.throws(() => listTokens(ws, { limit: 0 }), isError('INVALID_INPUT', /limit/));
  assert.throws(() => listTokens(ws, { offset: -1 }), isError('INVALID_INPUT', /offset/));
  assert.throws(() => listTokens(ws, { filter: { status: 'valid' as never } }), isError('INVALID_INPUT', /status/));
  assert.throws(
    () => listTokens(ws, { filter: { owner: 'x' } as never }),
    isError('INVALID_INPUT', /unknown token filter/),
  );

  const stats = tokenStats(ws, 86_400 * 2, t);
  assert.deepEqual({ a: stats.active, e: stats.expired, r: stats.revoked }, { a: 2, e: 1, r: 1 });
  // b (1 h) expires within two days; c (ci-runners: 7 d) does not; revoked and expired ones never count.
  assert.deepEqual(
    stats.expiring_soon.map((r) => r.id),
    [b.record.id],
  );
  assert.deepEqual(
    tokenStats(ws, 8 * 86_400, t).expiring_soon.map((r) => r.id),
    [b, c].map((m) => m.record.id),
  );
  ws.close();
});

test('getToken rebuilds the exact claims that were signed and shows the history from the audit log', async () => {
  const ws = await setup(['zlayer', 'es256']);
  for (const profile of ['zlayer', 'es256'] as const) {
    const { token, record } = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-3', profile });
    revokeToken(ws, record.jti!, 'decommissioned');
    const detail = getToken(ws, record.id);
    assert.equal(JSON.stringify(detail.claims), segment(token, 1), 'same claims, same key order');
    assert.equal(detail.record.status, 'revoked');
    assert.equal(
      detail.scopes_in_words,
      'may read deployment storefront; may write any container; may write any image',
    );
    assert.deepEqual(
      detail.history.map((h) => h.action),
      ['token.mint', 'token.revoke'],
    );
    // The vault's first slot (named after the OS user who created it) is the admin; then user@machine.
    assert.equal(detail.history[0]!.actor, `tester (tester@${os.hostname()}, app)`);
    assert.equal(detail.history[1]!.details.reason, 'decommissioned');
  }
  // The ledger records the issuer the token was minted with, so a later change does not alter its claims.
  const noJti = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-4', noJti: true });
  assert.equal(JSON.stringify(getToken(ws, noJti.record.id).claims), segment(noJti.token, 1));
  assert.deepEqual(
    getToken(ws, noJti.record.id).history.map((h) => h.action),
    ['token.mint'],
  );
  assert.throws(() => getToken(ws, 999), isError('NOT_FOUND', /no token #999/));
  assert.throws(() => getToken(ws, 0), isError('INVALID_INPUT'));
  ws.close();
});

test('the common filters are served by indexes (EXPLAIN QUERY PLAN) on a large ledger', { skip: sqliteOnly("checks SQLite's query plans") }, async () => {
  const dir = path.join(tempDir(), 'workspace');
  let ws = openTestWorkspace(dir);
  ws.db.exec(`INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at)
              VALUES ('k1', 'zlayer', 'HS256', 'active', x'00', 'x'), ('k2', 'ed25519', 'EdDSA', 'verify-only', x'00', 'x')`);
  const t = 1_800_000_000;
  ws.transaction(() => {
    const insert = ws.db
      .prepare(`INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes,
      issued_at, expires_at, revoked_at, token_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)`);
    for (let i = 0; i < 20_000; i++) {
      const iat = t - 200_000 + (i % 300_000);
      insert.run(
        `j-${i}`,
        `container:s${i % 7}:c-${i}`,
        `d${i % 50}`,
        `s${i % 7}`,
        `c-${i}`,
        i % 3 ? 'zlayer' : 'ed25519',
        i % 3 ? 'k1' : 'k2',
        iat,
        iat + 86_400,
        i % 17 === 0 ? iat + 5 : null,
        `h${i}`,
      );
    }
  });
  ws.close();
  ws = openTestWorkspace(dir); // opening refreshes planner statistics, as the app does

  const plan = (filter: Record<string, string>, kind: 'count' | 'page'): string => {
    const { sql, params } = filterClause(filter, t, kind === 'page' ? { sort: 'issued_at' } : {});
    const q =
      kind === 'count'
        ? `SELECT count(*) FROM tokens WHERE ${sql}`
        : `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE ${sql} ORDER BY issued_at DESC, id DESC LIMIT 200`;
    return (ws.db.prepare(`EXPLAIN QUERY PLAN ${q}`).all(...params) as { detail: string }[])
      .map((r) => r.detail)
      .join(' | ');
  };
  const cases: [Record<string, string>, RegExp][] = [
    [{ status: 'active' }, /tokens_(status_issued_at|revoked_at_expires_at)/],
    [{ status: 'expired' }, /tokens_(status_issued_at|revoked_at_expires_at)/],
    [{ status: 'revoked' }, /USING (COVERING )?INDEX/],
    [{ deployment: 'd3', service: 's2' }, /tokens_deployment_service/],
    [{ deployment: 'd3', service: 's2', status: 'active' }, /tokens_deployment_service/],
    [{ key_id: 'k2' }, /tokens_key_(issued_at|status)/],
    [{ key_id: 'k2', status: 'active' }, /tokens_key_(issued_at|status)/],
  ];
  for (const [filter, index] of cases) {
    for (const kind of ['count', 'page'] as const) {
      const p = plan(filter, kind);
      assert.match(p, index, `${JSON.stringify(filter)} ${kind}: ${p}`);
      assert.doesNotMatch(p, /^SCAN tokens$|SCAN tokens \|/, `${JSON.stringify(filter)} ${kind} scans the table: ${p}`);
    }
  }
  // The default page of a status filter walks an index in order: no sort of the whole match.
  assert.doesNotMatch(plan({ status: 'active' }, 'page'), /USE TEMP B-TREE FOR ORDER BY/);
  // The verifier revocation list and key retirement use their own indexes.
  const rl = (
    ws.db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT jti, expires_at FROM tokens WHERE revoked_at IS NOT NULL AND jti IS NOT NULL AND expires_at >= ?',
      )
      .all(t) as { detail: string }[]
  )
    .map((r) => r.detail)
    .join();
  assert.match(rl, /tokens_revoked_unexpired/);
  ws.close();
});

test('minting follows the current policy: a label change applies to the next token', async () => {
  const ws = await setup();
  setLabel(ws, 'storefront', 'cache', 'zlayer.io/api-scopes', 'image:read');
  setLabel(ws, 'storefront', 'cache', 'zlayer.io/api-token-ttl', '120');
  const { record } = mintToken(ws, { deployment: 'storefront', service: 'cache', container: 'cache-0' });
  assert.deepEqual(record.scopes, [{ resource_kind: 'image', resource_id: null, level: 'read' }]);
  assert.equal(record.expires_at - record.issued_at, 120);
  ws.close();
});

// Keep the import used when the test above is the only one run.
void Workspace;

/**
 * Signing keys on a real workspace: sealed in the vault, one active per
 * profile, rotation (plain and compromised), lazy retirement, the daemon's
 * secret imported and exported in its own file format, the JWKS, and a locked
 * vault refusing every change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeBulk } from '../../electron/core/tokens/revocation.ts';
import {
  createKey,
  exportJwks,
  exportZlayerSecretFile,
  getTokenConfig,
  importZlayerSecret,
  listKeys,
  readZlayerKeyFile,
  rotateKey,
  setTokenConfig,
} from '../../electron/core/tokens/signing-keys.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tempDir } from '../harness/services.ts';
import { isError, py, sampleWorkspace } from '../harness/tokens.ts';


/** Everything a key operation could change. */
function snapshot(ws: Workspace): string {
  return JSON.stringify({
    keys: ws.db
      .prepare(
        'SELECT id, profile, state, kid, compromised, rotated_at, retired_at, hex(sealed_private) AS s FROM signing_keys ORDER BY id',
      )
      .all(),
    tokens: ws.db.prepare('SELECT * FROM tokens ORDER BY id').all(),
    audit: ws.db.prepare('SELECT count(*) AS n FROM audit').get(),
    meta: ws.db.prepare("SELECT * FROM meta WHERE key NOT LIKE 'audit_head%' ORDER BY key").all(),
  });
}

function auditEntries(ws: Workspace, action: string): { target: string; details: Record<string, unknown> }[] {
  return (
    ws.db.prepare('SELECT target, details FROM audit WHERE action = ? ORDER BY seq').all(action) as {
      target: string;
      details: string;
    }[]
  ).map((r) => ({ target: r.target, details: JSON.parse(r.details) as Record<string, unknown> }));
}

const now = (): number => Math.floor(Date.now() / 1000);

test('create: one active key per profile, sealed, kid = RFC 7638 thumbprint, audited without the secret', async () => {
  const ws = sampleWorkspace();
  for (const profile of ['zlayer', 'ed25519', 'es256'] as const) {
    const key = await createKey(ws, profile);
    assert.equal(key.profile, profile);
    assert.equal(key.state, 'active');
    assert.equal(key.compromised, false);
    assert.deepEqual(key.tokens, { active: 0, expired: 0, revoked: 0 });
    const row = ws.db.prepare('SELECT kid, public_jwk, sealed_private FROM signing_keys WHERE id = ?').get(key.id) as {
      kid: string | null;
      public_jwk: string | null;
      sealed_private: Uint8Array;
    };
    if (profile === 'zlayer') {
      assert.equal(row.kid, null);
      assert.equal(row.public_jwk, null);
    } else {
      const jwk = JSON.parse(row.public_jwk!) as Record<string, string>;
      assert.equal(jwk.d, undefined, 'the public JWK holds no private member');
      const members =
        jwk.kty === 'OKP'
          ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
          : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
      assert.equal(row.kid, await calculateJwkThumbprint(members as never, 'sha256'));
      assert.equal(py({ op: 'thumbprint', jwk }).thumbprint, row.kid);
    }
    const [entry] = auditEntries(ws, 'key.create').filter((e) => e.target === `key:${key.id}`);
    assert.ok(entry, 'a key.create entry names the key');
    assert.equal(entry.details.profile, profile);
  }

  // The generated zlayer secret, as the daemon would read it, is nowhere in the database or the audit log.
  const out = path.join(tempDir(), 'jwt_secret_zlayer.key');
  await exportZlayerSecretFile(ws, out);
  const secretHex = fs.readFileSync(out).toString('hex');
  const dbBytes = Buffer.concat(
    [ws.dbPath, `${ws.dbPath}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
  );
  assert.equal(dbBytes.includes(Buffer.from(secretHex)), false, 'the secret string is not stored in clear');
  assert.equal(dbBytes.includes(fs.readFileSync(out)), false, 'the key-file bytes are not stored in clear');
  assert.equal(ws.audit.verify().ok, true);
  ws.close();
});

test('create refuses a second active key of the same profile and changes nothing', async () => {
  const ws = sampleWorkspace();
  const first = await createKey(ws, 'ed25519');
  const before = snapshot(ws);
  await assert.rejects(
    createKey(ws, 'ed25519'),
    isError('CONFLICT', new RegExp(`already has an active key \\(${first.id}\\); rotate`)),
  );
  assert.equal(snapshot(ws), before);
  // The database enforces it too, whatever code tries.
  assert.throws(
    () =>
      ws.db
        .prepare(
          "INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at) VALUES ('x', 'ed25519', 'EdDSA', 'active', x'00', 'now')",
        )
        .run(),
    /UNIQUE constraint failed/,
  );
  ws.close();
});

test('create refuses an unknown profile and changes nothing', async () => {
  const ws = sampleWorkspace();
  const before = snapshot(ws);
  await assert.rejects(
    createKey(ws, 'rs256' as never),
    isError('INVALID_INPUT', /profile must be one of zlayer, ed25519, es256/),
  );
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('rotation: a new active key, the old one verify-only, and old tokens still inspect as valid', async () => {
  const ws = sampleWorkspace();
  const zOld = await createKey(ws, 'zlayer');
  const eOld = await createKey(ws, 'ed25519');
  const zToken = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  const eToken = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1', profile: 'ed25519' });

  const z = await rotateKey(ws, 'zlayer');
  const e = await rotateKey(ws, 'ed25519');
  for (const [result, old] of [
    [z, zOld],
    [e, eOld],
  ] as const) {
    assert.equal(result.key.state, 'active');
    assert.notEqual(result.key.id, old.id);
    assert.equal(result.previous?.id, old.id);
    assert.equal(result.previous?.state, 'verify-only');
    assert.equal(result.previous?.compromised, false);
    assert.ok(result.previous?.rotated_at);
    assert.equal(result.tokens_at_risk, 0, 'only a compromised rotation reports tokens at risk');
  }
  assert.equal(listKeys(ws).filter((k) => k.state === 'active').length, 2, 'one active key per profile');
  assert.equal(inspectWithLedger(ws, zToken.token).verdict, 'valid');
  assert.equal(inspectWithLedger(ws, eToken.token).verdict, 'valid');
  assert.equal(inspectWithLedger(ws, eToken.token).key_id, eOld.id);

  // New tokens are signed by the new keys; the JWKS publishes old and new.
  const fresh = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-2', profile: 'ed25519' });
  assert.equal(fresh.record.key_id, e.key.id);
  assert.deepEqual(
    exportJwks(ws)
      .jwks.keys.map((k) => k.kid)
      .sort(),
    [eOld.kid, e.key.kid].sort(),
  );

  const rotations = auditEntries(ws, 'key.rotate');
  assert.deepEqual(
    rotations.map((r) => r.details.previous),
    [zOld.id, eOld.id],
  );
  ws.close();
});

test('a compromised rotation flags the old key and counts its active tokens for the bulk revoke', async () => {
  const ws = sampleWorkspace();
  const old = await createKey(ws, 'ed25519');
  const minted = ['web-0', 'web-1', 'web-2'].map((c) =>
    mintToken(ws, { deployment: 'storefront', service: 'web', container: c, profile: 'ed25519' }),
  );
  // An expired token is not at risk.
  mintToken(ws, {
    deployment: 'storefront',
    service: 'worker',
    container: 'worker-0',
    profile: 'ed25519',
    now: now() - 10 * 86_400,
  });
  assert.ok(minted.length === 3);

  const result = await rotateKey(ws, 'ed25519', { compromised: true });
  assert.equal(result.tokens_at_risk, 3);
  assert.equal(result.previous?.id, old.id);
  assert.equal(result.previous?.compromised, true);
  assert.equal(result.previous?.state, 'verify-only');
  const [entry] = auditEntries(ws, 'key.rotate');
  assert.deepEqual({ c: entry?.details.compromised, n: entry?.details.at_risk }, { c: true, n: 3 });

  // The offered bulk revoke by key: dry run, then for real; the key then retires lazily.
  assert.equal(revokeBulk(ws, { filter: { key_id: old.id }, reason: 'key_compromise', dryRun: true }).count, 3);
  assert.equal(revokeBulk(ws, { filter: { key_id: old.id }, reason: 'key_compromise', dryRun: false }).count, 3);
  const after = listKeys(ws).find((k) => k.id === old.id);
  assert.equal(after?.state, 'retired');
  assert.equal(after?.compromised, true);
  assert.deepEqual(after?.tokens, { active: 0, expired: 1, revoked: 3 });
  assert.equal(
    exportJwks(ws).jwks.keys.some((k) => k.kid === old.kid),
    false,
    'a retired key leaves the JWKS',
  );
  assert.equal(ws.audit.verify().ok, true);
  ws.close();
});

test('verify-only keys retire lazily once every token they signed has expired', async () => {
  const ws = sampleWorkspace();
  const old = await createKey(ws, 'es256');
  const t = now();
  // Expired beyond the 60 s leeway, and one still within it.
  mintToken(ws, {
    deployment: 'storefront',
    service: 'worker',
    container: 'worker-0',
    profile: 'es256',
    ttlSecs: 60,
    now: t - 1000,
  });
  mintToken(ws, {
    deployment: 'storefront',
    service: 'worker',
    container: 'worker-1',
    profile: 'es256',
    ttlSecs: 60,
    now: t - 90,
  });
  await rotateKey(ws, 'es256');

  assert.equal(
    listKeys(ws, t).find((k) => k.id === old.id)?.state,
    'verify-only',
    'a token is still within the leeway',
  );
  assert.equal(auditEntries(ws, 'key.retire').length, 0);
  const later = listKeys(ws, t + 120).find((k) => k.id === old.id);
  assert.equal(later?.state, 'retired');
  assert.ok(later?.retired_at);
  const retired = auditEntries(ws, 'key.retire');
  assert.deepEqual(
    retired.map((r) => r.target),
    [`key:${old.id}`],
  );
  // Listing again changes nothing more.
  listKeys(ws, t + 240);
  assert.equal(auditEntries(ws, 'key.retire').length, 1);
  // An active key never retires, even with only expired tokens.
  assert.equal(listKeys(ws, t + 10_000).filter((k) => k.state === 'active').length, 1);
  // A replaced key that signed nothing has nothing left to verify: it retires at the next use.
  const unused = (await rotateKey(ws, 'es256')).previous!;
  assert.equal(unused.state, 'verify-only');
  assert.equal(listKeys(ws).find((k) => k.id === unused.id)?.state, 'retired');
  ws.close();
});

test('import the daemon key file: the same secret string PyJWT derives, replacing the active key', async () => {
  const ws = sampleWorkspace();
  const generated = await createKey(ws, 'zlayer');
  const earlier = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-9' });
  const dir = tempDir();
  const file = path.join(dir, 'jwt_secret_zlayer.key');
  fs.writeFileSync(file, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)));

  const imported = importZlayerSecret(ws, { keyFile: await readZlayerKeyFile(file) });
  assert.equal(imported.state, 'active');
  assert.equal(listKeys(ws).find((k) => k.id === generated.id)?.state, 'verify-only', 'it signed a token still valid');
  assert.equal(inspectWithLedger(ws, earlier.token).verdict, 'valid');
  assert.deepEqual(
    auditEntries(ws, 'key.import').map((e) => e.details),
    [{ alg: 'HS256', origin: 'key-file', profile: 'zlayer', replaced: generated.id }],
  );

  // A token minted now verifies, as the daemon checks it, with the secret PyJWT reads from that file.
  const { token } = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  const secret = py({ op: 'key_file_secret', path: file }).secret as string;
  const decoded = py({ op: 'decode_hs256', token, secret });
  assert.equal(decoded.ok, true, JSON.stringify(decoded));

  // Exporting gives back the very file the daemon wrote.
  const out = path.join(dir, 'exported.key');
  await exportZlayerSecretFile(ws, out);
  assert.deepEqual(fs.readFileSync(out), fs.readFileSync(file));
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  ws.close();
});

test('import refuses a secret already held, a malformed key file and a weak literal, changing nothing', async () => {
  const ws = sampleWorkspace();
  const dir = tempDir();
  const file = path.join(dir, 'jwt_secret_zlayer.key');
  fs.writeFileSync(file, Buffer.alloc(64, 7));
  importZlayerSecret(ws, { keyFile: await readZlayerKeyFile(file) });
  const before = snapshot(ws);

  assert.throws(
    () => importZlayerSecret(ws, { keyFile: fs.readFileSync(file) }),
    isError('CONFLICT', /already held by key zlayer-/),
  );
  assert.equal(snapshot(ws), before);
  // The same secret given as its literal string is the same HMAC key.
  assert.throws(() => importZlayerSecret(ws, { literal: Buffer.alloc(64, 7).toString('hex') }), isError('CONFLICT'));
  assert.equal(snapshot(ws), before);

  assert.throws(
    () => importZlayerSecret(ws, { keyFile: Buffer.alloc(63) }),
    isError('INVALID_INPUT', /exactly 64 bytes.*truncated/),
  );
  assert.equal(snapshot(ws), before);
  const hexText = path.join(dir, 'hex.key');
  fs.writeFileSync(hexText, `${'ab'.repeat(64)}\n`);
  assert.throws(
    () => importZlayerSecret(ws, { keyFile: fs.readFileSync(hexText) }),
    isError('INVALID_INPUT', /looks like hex text/),
  );
  assert.equal(snapshot(ws), before);
  const huge = path.join(dir, 'huge.key');
  fs.writeFileSync(huge, Buffer.alloc(10_000));
  await assert.rejects(readZlayerKeyFile(huge), isError('INVALID_INPUT', /holds 10000 bytes/));
  await assert.rejects(readZlayerKeyFile(path.join(dir, 'missing.key')), isError('NOT_FOUND', /no such file/));

  assert.throws(
    () => importZlayerSecret(ws, { literal: 'short-secret' }),
    isError('INVALID_INPUT', /12 characters long; at least 32/),
  );
  assert.throws(
    () => importZlayerSecret(ws, { literal: ` ${'x'.repeat(40)}` }),
    isError('INVALID_INPUT', /whitespace/),
  );
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('a literal secret is imported verbatim but has no key-file form to export', async () => {
  const ws = sampleWorkspace();
  const literal = 'a-literal-daemon-secret-of-sufficient-length-42';
  const key = importZlayerSecret(ws, { literal });
  assert.equal(auditEntries(ws, 'key.import')[0]?.details.origin, 'literal');
  const { token } = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
  assert.equal(py({ op: 'decode_hs256', token, secret: literal }).ok, true);

  const out = path.join(tempDir(), 'jwt_secret_zlayer.key');
  const before = snapshot(ws);
  await assert.rejects(exportZlayerSecretFile(ws, out), isError('UNSUPPORTED', /literal secret has no file form/));
  assert.equal(fs.existsSync(out), false);
  assert.equal(snapshot(ws), before);
  assert.equal(key.state, 'active');
  ws.close();
});

test('export of the zlayer secret: mode 0600, audited, and NOT_FOUND without a zlayer key', async () => {
  const ws = sampleWorkspace();
  const dir = tempDir();
  const out = path.join(dir, 'jwt_secret_zlayer.key');
  const before = snapshot(ws);
  await assert.rejects(exportZlayerSecretFile(ws, out), isError('NOT_FOUND', /no active zlayer key/));
  assert.equal(fs.existsSync(out), false);
  assert.equal(snapshot(ws), before);

  const key = await createKey(ws, 'zlayer');
  const result = await exportZlayerSecretFile(ws, out);
  assert.deepEqual(result, { key_id: key.id, path: out });
  assert.equal(fs.statSync(out).size, 64);
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  assert.deepEqual(auditEntries(ws, 'key.export_zlayer'), [
    { target: `key:${key.id}`, details: { format: 'jwt_secret_zlayer.key', path: out, profile: 'zlayer' } },
  ]);
  // Its secret string verifies the tokens this key signs.
  const { token } = mintToken(ws, { deployment: 'storefront', service: 'cache', container: 'cache-0' });
  assert.equal(py({ op: 'decode_hs256', token, secret: fs.readFileSync(out).toString('hex') }).ok, true);
  ws.close();
});

test('the JWKS holds public asymmetric keys only, never HMAC, never retired, and is audited', async () => {
  const ws = sampleWorkspace();
  await createKey(ws, 'zlayer');
  const ed = await createKey(ws, 'ed25519');
  const es = await createKey(ws, 'es256');
  const { jwks, json } = exportJwks(ws);
  assert.deepEqual(JSON.parse(json), jwks);
  assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [ed.kid, es.kid].sort());
  for (const k of jwks.keys) {
    assert.deepEqual(
      Object.keys(k).sort(),
      k.kty === 'OKP' ? ['alg', 'crv', 'kid', 'kty', 'use', 'x'] : ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
    );
  }
  assert.doesNotMatch(json, /"oct"|"k"|"d"/);
  assert.deepEqual(
    auditEntries(ws, 'keys.export_jwks').map((e) => e.details),
    [{ kids: jwks.keys.map((k) => k.kid) }],
  );
  ws.close();
});

test('a locked vault refuses create, rotate, import and export with LOCKED and changes nothing', async () => {
  const ws = sampleWorkspace();
  await createKey(ws, 'zlayer');
  await createKey(ws, 'ed25519');
  ws.vault.lock();
  const before = snapshot(ws);
  const out = path.join(tempDir(), 'jwt_secret_zlayer.key');

  await assert.rejects(createKey(ws, 'es256'), isError('LOCKED', /vault is locked/));
  await assert.rejects(rotateKey(ws, 'ed25519'), isError('LOCKED'));
  await assert.rejects(rotateKey(ws, 'zlayer', { compromised: true }), isError('LOCKED'));
  assert.throws(() => importZlayerSecret(ws, { keyFile: Buffer.alloc(64, 1) }), isError('LOCKED'));
  assert.throws(() => importZlayerSecret(ws, { literal: 'x'.repeat(40) }), isError('LOCKED'));
  await assert.rejects(exportZlayerSecretFile(ws, out), isError('LOCKED'));
  assert.equal(fs.existsSync(out), false);
  assert.equal(snapshot(ws), before);

  // Listing needs no unlock; publishing the JWKS does: its key records are authenticated with a
  // key held in the vault, and an unchecked public key is never published.
  assert.equal(listKeys(ws).length, 2);
  assert.throws(() => exportJwks(ws), isError('LOCKED', /unlock it to publish/));
  assert.equal(snapshot(ws), before);
  ws.close();
});

test('issuer and audience: documented defaults, audited changes, bad values refused', () => {
  const ws = sampleWorkspace();
  assert.deepEqual(getTokenConfig(ws), { issuer: 'castellan', audience: 'zlayer-api' });
  assert.deepEqual(setTokenConfig(ws, { issuer: 'https://castellan.example' }), {
    issuer: 'https://castellan.example',
    audience: 'zlayer-api',
  });
  assert.deepEqual(
    auditEntries(ws, 'tokens.config').map((e) => e.details.after),
    [{ issuer: 'https://castellan.example', audience: 'zlayer-api' }],
  );
  const before = snapshot(ws);
  assert.throws(() => setTokenConfig(ws, { audience: '' }), isError('INVALID_INPUT'));
  assert.throws(() => setTokenConfig(ws, { audience: 'a\nb' }), isError('INVALID_INPUT'));
  assert.throws(() => setTokenConfig(ws, { issuer: ' padded' }), isError('INVALID_INPUT'));
  assert.throws(() => setTokenConfig(ws, { issuer: 'zlayer' }), isError('INVALID_INPUT', /belongs to the daemon/));
  assert.equal(snapshot(ws), before);
  ws.close();
});

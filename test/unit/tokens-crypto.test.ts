/**
 * Container-token crypto: key material, the ZLayer secret, claims, signing,
 * JWKS and the revocation list — checked against independent verifiers
 * (PyJWT + cryptography in Debian's Python, and jose).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { CastellanError } from '../../shared/errors.ts';
import {
  createVerifyKey,
  generateKeyMaterial,
  publicJwkFromPrivate,
  type KeyMaterial,
  type PublicJwk,
} from '../../electron/core/tokens/key-material.ts';
import {
  generateZlayerKeyFile,
  writeSecretFileAtomic,
  zlayerKeyFileBytes,
  zlayerSecretFromKeyFile,
  zlayerSecretFromLiteral,
} from '../../electron/core/tokens/zlayer-secret.ts';
import { asymmetricClaims, zlayerClaims, type TokenScope } from '../../electron/core/tokens/claims.ts';
import { createTokenSigner, signToken, tokenSha256 } from '../../electron/core/tokens/sign.ts';
import { buildJwks } from '../../electron/core/tokens/jwks.ts';
import {
  buildRevocationList,
  REVOCATION_LIST_TYP,
  signRevocationList,
} from '../../electron/core/tokens/revocation-list.ts';

const PY_SCRIPT = fileURLToPath(new URL('./python/verify_jwt.py', import.meta.url));

type PyReply = { ok: boolean; error?: string; message?: string; [k: string]: unknown };

/** Runs the PyJWT helper; the request (secrets included) goes over stdin. */
function py(request: Record<string, unknown>): PyReply {
  const run = spawnSync('/usr/bin/python3', [PY_SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' });
  assert.equal(run.status, 0, `python helper failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as PyReply;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'castellan-tokens-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function segmentText(token: string, i: number): string {
  return Buffer.from(token.split('.')[i] ?? '', 'base64url').toString('utf8');
}

function assertCastellanError(fn: () => unknown, code: string, message?: RegExp): CastellanError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CastellanError, `expected a CastellanError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (message) assert.match(caught.message, message);
  return caught;
}

const nowSecs = (): number => Math.floor(Date.now() / 1000);

const SCOPES: TokenScope[] = [
  { resource_kind: 'deployment', resource_id: 'my-app', level: 'read' },
  { resource_kind: 'container', resource_id: null, level: 'write' },
  { resource_kind: 'image', resource_id: null, level: 'write' },
];

const ed = await generateKeyMaterial('ed25519');
const es = await generateKeyMaterial('es256');
const zl = await generateKeyMaterial('zlayer');
const zlSecret = Buffer.from(zl.secret).toString('ascii');

// ---------------------------------------------------------------- key material

test('zlayer key material is the bytes of a 128-char lowercase hex key string, with no public half', () => {
  assert.equal(zl.profile, 'zlayer');
  assert.equal(zl.alg, 'HS256');
  assert.match(zlSecret, /^[0-9a-f]{128}$/);
  assert.equal(zl.publicJwk, undefined);
  assert.equal(zl.kid, undefined);
});

for (const [name, material, kty, alg] of [
  ['ed25519', ed, 'OKP', 'EdDSA'],
  ['es256', es, 'EC', 'ES256'],
] as const) {
  test(`${name}: secret is PKCS#8 DER, JWK is public-only, kid is the RFC 7638 thumbprint`, async () => {
    assert.equal(material.alg, alg);
    const priv = createPrivateKey({ key: Buffer.from(material.secret), format: 'der', type: 'pkcs8' });
    assert.equal(priv.asymmetricKeyType, name === 'ed25519' ? 'ed25519' : 'ec');
    const jwk = material.publicJwk;
    assert.ok(jwk);
    assert.equal(jwk.kty, kty);
    assert.deepEqual(
      Object.keys(jwk).sort(),
      (kty === 'OKP' ? ['alg', 'crv', 'kid', 'kty', 'use', 'x'] : ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']).sort(),
    );
    assert.equal(jwk.use, 'sig');
    assert.equal(material.kid, jwk.kid);
    // Independent: canonical JSON of the required members, hashed in Python.
    const fromPython = py({ op: 'thumbprint', jwk });
    assert.equal(fromPython.ok, true);
    assert.equal(jwk.kid, fromPython.thumbprint);
    assert.equal(jwk.kid, await calculateJwkThumbprint(jwk, 'sha256'));
    // Deriving the JWK again from the stored private key gives the same JWK.
    assert.deepEqual(await publicJwkFromPrivate(name, material.secret), jwk);
  });
}

test('publicJwkFromPrivate refuses garbage, the wrong curve, and the zlayer profile without echoing key bytes', async () => {
  await assert.rejects(publicJwkFromPrivate('ed25519', new Uint8Array([1, 2, 3])), (err: unknown) => {
    assert.ok(err instanceof CastellanError);
    assert.equal(err.code, 'INVALID_INPUT');
    assert.match(err.message, /not valid PKCS#8 DER/);
    return true;
  });
  await assert.rejects(publicJwkFromPrivate('es256', ed.secret), /es256 key must be EC P-256, not ed25519/);
  await assert.rejects(publicJwkFromPrivate('ed25519', es.secret), /ed25519 key must be Ed25519, not ec/);
  await assert.rejects(publicJwkFromPrivate('zlayer', zl.secret), /has no public key/);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' });
  await assert.rejects(publicJwkFromPrivate('es256', p384), /EC P-256, not ec \(secp384r1\)/);
});

test('createVerifyKey from a public JWK ignores a smuggled private member', () => {
  const privJwk = createPrivateKey({ key: Buffer.from(ed.secret), format: 'der', type: 'pkcs8' }).export({
    format: 'jwk',
  });
  const smuggled = { ...ed.publicJwk, d: privJwk.d } as unknown as PublicJwk;
  const key = createVerifyKey('ed25519', smuggled);
  assert.equal(key.type, 'public');
});

// ---------------------------------------------------------------- zlayer secret

test('a 64-byte key file yields the lowercase hex string the daemon uses (checked in Python)', async (t) => {
  const dir = tempDir(t);
  const { fileBytes, secret } = generateZlayerKeyFile();
  assert.equal(fileBytes.byteLength, 64);
  const path = join(dir, 'jwt_secret_zlayer.key');
  await writeSecretFileAtomic(path, fileBytes);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const onDisk = new Uint8Array(readFileSync(path));
  assert.equal(zlayerSecretFromKeyFile(onDisk), secret);
  const daemon = py({ op: 'key_file_secret', path });
  assert.equal(daemon.secret, secret);
  assert.match(secret, /^[0-9a-f]{128}$/);
  // And back: the secret string has a file form, byte for byte.
  assert.deepEqual(Buffer.from(zlayerKeyFileBytes(secret)), Buffer.from(fileBytes));
});

test('writeSecretFileAtomic replaces an existing file and honours a given mode', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'secret.bin');
  writeFileSync(path, 'old contents');
  await writeSecretFileAtomic(path, new Uint8Array([1, 2, 3]), 0o640);
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  assert.equal(statSync(path).mode & 0o777, 0o640);
});

test('key files of any other size are refused with the size named', () => {
  assertCastellanError(
    () => zlayerSecretFromKeyFile(new Uint8Array(63)),
    'INVALID_INPUT',
    /exactly 64 bytes.*holds 63.*truncated/,
  );
  assertCastellanError(() => zlayerSecretFromKeyFile(new Uint8Array(0)), 'INVALID_INPUT', /holds 0 .*empty/);
  const hexText = new TextEncoder().encode(`${zlSecret}\n`);
  const err = assertCastellanError(() => zlayerSecretFromKeyFile(hexText), 'INVALID_INPUT', /holds 129.*hex text/);
  assert.ok(!err.message.includes(zlSecret), 'the error must not contain the secret');
});

test('literal secrets: non-empty, no surrounding whitespace, ≥ 32 chars unless allowed weak; no file form', () => {
  assert.equal(
    zlayerSecretFromLiteral('a-literal-secret-that-is-long-enough!'),
    'a-literal-secret-that-is-long-enough!',
  );
  assertCastellanError(() => zlayerSecretFromLiteral(''), 'INVALID_INPUT', /must not be empty/);
  const weak = assertCastellanError(
    () => zlayerSecretFromLiteral('hunter2'),
    'INVALID_INPUT',
    /7 characters long; at least 32/,
  );
  assert.ok(!weak.message.includes('hunter2'));
  assert.equal(zlayerSecretFromLiteral('hunter2', { allowWeak: true }), 'hunter2');
  assertCastellanError(() => zlayerSecretFromLiteral(`${zlSecret}\n`), 'INVALID_INPUT', /whitespace/);
  const literal = 'this-literal-secret-is-definitely-long-enough';
  const noFile = assertCastellanError(
    () => zlayerKeyFileBytes(literal),
    'UNSUPPORTED',
    /literal secret has no file form/,
  );
  assert.ok(!noFile.message.includes(literal));
  assertCastellanError(() => zlayerKeyFileBytes(zlSecret.toUpperCase()), 'UNSUPPORTED');
});

// ---------------------------------------------------------------- claims

test('zlayer claims: exact key order, sub format, integers, no email/node_id/aud, jti only when given', () => {
  const withJti = zlayerClaims({
    service: 'web',
    container: 'web-0',
    scopes: SCOPES,
    ttlSecs: 86_400,
    now: 1_780_809_678,
    jti: 'j-1',
  });
  assert.deepEqual(Object.keys(withJti), ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes', 'jti']);
  assert.equal(withJti.sub, 'container:web:web-0');
  assert.equal(withJti.iat, 1_780_809_678);
  assert.equal(withJti.exp, 1_780_896_078);
  assert.equal(withJti.iss, 'zlayer');
  assert.deepEqual(withJti.roles, ['container']);
  const noJti = zlayerClaims({ service: 'web', container: 'web-0', scopes: SCOPES, ttlSecs: 60, now: 100 });
  assert.deepEqual(Object.keys(noJti), ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes']);
});

test('claims rebuild scopes in token key order and refuse bad input', () => {
  const shuffled = [{ level: 'read', resource_id: 'x', resource_kind: 'deployment' }] as unknown as TokenScope[];
  const claims = zlayerClaims({ service: 's', container: 's-0', scopes: shuffled, ttlSecs: 1, now: 0 });
  assert.deepEqual(Object.keys(claims.scopes[0] ?? {}), ['resource_kind', 'resource_id', 'level']);
  const base = { service: 'web', container: 'web-0', scopes: SCOPES, ttlSecs: 60, now: 100 };
  assertCastellanError(
    () => zlayerClaims({ ...base, service: 'a:b' }),
    'INVALID_INPUT',
    /service must not contain ':'/,
  );
  assertCastellanError(
    () => zlayerClaims({ ...base, container: '' }),
    'INVALID_INPUT',
    /container must be a non-empty/,
  );
  assertCastellanError(() => zlayerClaims({ ...base, ttlSecs: 0 }), 'INVALID_INPUT', /ttlSecs/);
  assertCastellanError(() => zlayerClaims({ ...base, ttlSecs: 1.5 }), 'INVALID_INPUT', /ttlSecs/);
  assertCastellanError(() => zlayerClaims({ ...base, now: -1 }), 'INVALID_INPUT', /now/);
  const badLevel = [{ resource_kind: 'deployment', resource_id: null, level: 'admin' }] as unknown as TokenScope[];
  assertCastellanError(() => zlayerClaims({ ...base, scopes: badLevel }), 'INVALID_INPUT', /scope #1/);
});

test('asymmetric claims: zlayer order plus aud after iss and deployment before jti', () => {
  const claims = asymmetricClaims({
    issuer: 'https://castellan.example/ws-1',
    audience: 'zlayer-api',
    deployment: 'my-app',
    service: 'web',
    container: 'web-0',
    scopes: SCOPES,
    ttlSecs: 3600,
    now: 1000,
    jti: 'j-2',
  });
  assert.deepEqual(Object.keys(claims), ['sub', 'iat', 'exp', 'iss', 'aud', 'roles', 'scopes', 'deployment', 'jti']);
  assert.equal(claims.iss, 'https://castellan.example/ws-1');
  assert.equal(claims.aud, 'zlayer-api');
  assert.equal(claims.deployment, 'my-app');
  assert.equal(claims.exp, 4600);
});

// ---------------------------------------------------------------- zlayer signing

test('zlayer token: exact header bytes and exact payload bytes for the COMPAT.md example', () => {
  const claims = zlayerClaims({
    service: 'web',
    container: 'web-0',
    scopes: SCOPES,
    ttlSecs: 86_400,
    now: 1_780_809_678,
    jti: '0f9e2c1a-0000-4000-8000-000000000000',
  });
  const token = signToken('zlayer', zl.secret, claims);
  assert.equal(token.split('.').length, 3);
  assert.equal(segmentText(token, 0), '{"alg":"HS256","typ":"JWT"}');
  assert.equal(
    segmentText(token, 1),
    '{"sub":"container:web:web-0","iat":1780809678,"exp":1780896078,"iss":"zlayer","roles":["container"],' +
      '"scopes":[{"resource_kind":"deployment","resource_id":"my-app","level":"read"},' +
      '{"resource_kind":"container","resource_id":null,"level":"write"},' +
      '{"resource_kind":"image","resource_id":null,"level":"write"}],' +
      '"jti":"0f9e2c1a-0000-4000-8000-000000000000"}',
  );
});

test('zlayer token verifies in PyJWT exactly as the daemon verifies, and matches PyJWT byte for byte', async () => {
  const claims = zlayerClaims({
    service: 'web',
    container: 'web-1',
    scopes: SCOPES,
    ttlSecs: 3600,
    now: nowSecs(),
    jti: 'jti-py',
  });
  const token = signToken('zlayer', zl.secret, claims);
  const daemon = py({ op: 'decode_hs256', token, secret: zlSecret });
  assert.equal(daemon.ok, true, `PyJWT refused: ${daemon.error} ${daemon.message}`);
  assert.deepEqual(daemon.claims, claims);
  assert.deepEqual(daemon.header, { alg: 'HS256', typ: 'JWT' });
  // An independent encoder given the same claims produces the same token.
  const pyToken = py({ op: 'encode_hs256', secret: zlSecret, claims });
  assert.equal(pyToken.token, token);
  // jose agrees, with the algorithm pinned.
  const { payload } = await jwtVerify(token, zl.secret, { algorithms: ['HS256'], issuer: 'zlayer' });
  assert.equal(payload.sub, 'container:web:web-1');
  // A different secret fails.
  const wrong = py({ op: 'decode_hs256', token, secret: generateZlayerKeyFile().secret });
  assert.equal(wrong.ok, false);
  assert.equal(wrong.error, 'InvalidSignatureError');
});

test('a token from a key file verifies with the key string the daemon derives from that file', async (t) => {
  const dir = tempDir(t);
  const { fileBytes } = generateZlayerKeyFile();
  const path = join(dir, 'jwt_secret_zlayer.key');
  await writeSecretFileAtomic(path, fileBytes);
  const secret = zlayerSecretFromKeyFile(new Uint8Array(readFileSync(path)));
  const token = signToken(
    'zlayer',
    new TextEncoder().encode(secret),
    zlayerClaims({ service: 'api', container: 'api-0', scopes: SCOPES, ttlSecs: 600, now: nowSecs() }),
  );
  const daemonSecret = py({ op: 'key_file_secret', path }).secret;
  const daemon = py({ op: 'decode_hs256', token, secret: daemonSecret });
  assert.equal(daemon.ok, true, `PyJWT refused: ${daemon.error}`);
});

test('the daemon (no audience configured) rejects a token that carries aud; ours carry none and Castellan refuses to mint one', () => {
  const claims = {
    ...zlayerClaims({ service: 'web', container: 'web-0', scopes: SCOPES, ttlSecs: 600, now: nowSecs() }),
    aud: 'anything',
  };
  const foreign = py({ op: 'encode_hs256', secret: zlSecret, claims });
  const daemon = py({ op: 'decode_hs256', token: foreign.token, secret: zlSecret });
  assert.equal(daemon.ok, false);
  assert.equal(daemon.error, 'InvalidAudienceError');
  assertCastellanError(() => signToken('zlayer', zl.secret, claims), 'INVALID_INPUT', /must not carry aud/);
});

test('a zlayer token with the wrong issuer or no exp fails PyJWT', () => {
  const now = nowSecs();
  const wrongIss = py({
    op: 'encode_hs256',
    secret: zlSecret,
    claims: { sub: 'x', iat: now, exp: now + 60, iss: 'castellan' },
  });
  assert.equal(py({ op: 'decode_hs256', token: wrongIss.token, secret: zlSecret }).error, 'InvalidIssuerError');
  const noExp = signToken('zlayer', zl.secret, { sub: 'x', iat: now, iss: 'zlayer' });
  assert.equal(py({ op: 'decode_hs256', token: noExp, secret: zlSecret }).error, 'MissingRequiredClaimError');
});

test('tokenSha256 is lowercase hex SHA-256 of the token text', () => {
  assert.equal(tokenSha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const token = signToken('zlayer', zl.secret, { exp: 1 });
  assert.equal(tokenSha256(token), createHash('sha256').update(token).digest('hex'));
});

test('signer construction refuses a kid on zlayer, a missing kid on asymmetric keys, and mismatched keys', () => {
  assertCastellanError(() => createTokenSigner('zlayer', zl.secret, 'kid-1'), 'INVALID_INPUT', /carry no kid/);
  assertCastellanError(() => createTokenSigner('ed25519', ed.secret), 'INVALID_INPUT', /need a kid/);
  assertCastellanError(() => createTokenSigner('ed25519', es.secret, es.kid), 'INVALID_INPUT', /Ed25519/);
  assertCastellanError(() => createTokenSigner('es256', ed.secret, ed.kid), 'INVALID_INPUT', /P-256/);
  assertCastellanError(() => createTokenSigner('zlayer', new Uint8Array(0)), 'INVALID_INPUT', /non-empty/);
  const pub = createVerifyKey('ed25519', ed.secret);
  assertCastellanError(() => createTokenSigner('ed25519', pub, ed.kid), 'INVALID_INPUT', /private key/);
});

// ---------------------------------------------------------------- asymmetric signing + JWKS

const ISSUER = 'https://castellan.example/ws-test';
const AUDIENCE = 'zlayer-api';

function asymToken(
  material: KeyMaterial,
  overrides: Partial<{ now: number; ttlSecs: number; jti: string }> = {},
): string {
  const claims = asymmetricClaims({
    issuer: ISSUER,
    audience: AUDIENCE,
    deployment: 'my-app',
    service: 'web',
    container: 'web-0',
    scopes: SCOPES,
    ttlSecs: overrides.ttlSecs ?? 3600,
    now: overrides.now ?? nowSecs(),
    jti: overrides.jti ?? `jti-${material.profile}`,
  });
  return signToken(material.profile, material.secret, claims, material.kid);
}

for (const material of [ed, es]) {
  test(`${material.profile}: header {"alg","typ","kid"}; PyJWT verifies via a JWKS file; jose via createLocalJWKSet`, async (t) => {
    const token = asymToken(material);
    assert.equal(segmentText(token, 0), `{"alg":"${material.alg}","typ":"JWT","kid":"${material.kid}"}`);
    assert.equal(Buffer.from(token.split('.')[2] ?? '', 'base64url').length, 64, 'raw 64-byte signature');

    const jwks = buildJwks([
      { profile: 'ed25519', publicJwk: ed.publicJwk, state: 'active' },
      { profile: 'es256', publicJwk: es.publicJwk, state: 'verify-only' },
    ]);
    const dir = tempDir(t);
    const jwksPath = join(dir, 'jwks.json');
    writeFileSync(jwksPath, JSON.stringify(jwks));

    const ok = py({
      op: 'decode_jwks',
      token,
      jwks_path: jwksPath,
      kid: material.kid,
      alg: material.alg,
      audience: AUDIENCE,
      issuer: ISSUER,
    });
    assert.equal(ok.ok, true, `PyJWT refused: ${ok.error} ${ok.message}`);
    assert.equal((ok.claims as { deployment: string }).deployment, 'my-app');
    const wrongAud = py({
      op: 'decode_jwks',
      token,
      jwks_path: jwksPath,
      kid: material.kid,
      alg: material.alg,
      audience: 'other',
      issuer: ISSUER,
    });
    assert.equal(wrongAud.error, 'InvalidAudienceError');
    const wrongIss = py({
      op: 'decode_jwks',
      token,
      jwks_path: jwksPath,
      kid: material.kid,
      alg: material.alg,
      audience: AUDIENCE,
      issuer: 'other',
    });
    assert.equal(wrongIss.error, 'InvalidIssuerError');

    const keySet = createLocalJWKSet(JSON.parse(readFileSync(jwksPath, 'utf8')));
    const { payload, protectedHeader } = await jwtVerify(token, keySet, {
      algorithms: [material.alg],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    assert.equal(protectedHeader.kid, material.kid);
    assert.deepEqual(payload.scopes, SCOPES);
  });
}

test('a signer imports once and signs many tokens that all verify', async () => {
  const signer = createTokenSigner('es256', es.secret, es.kid);
  const keySet = createLocalJWKSet(buildJwks([{ profile: 'es256', publicJwk: es.publicJwk, state: 'active' }]));
  const now = nowSecs();
  const tokens = Array.from({ length: 20 }, (_, i) =>
    signer.sign(zlayerClaims({ service: 'web', container: `web-${i}`, scopes: SCOPES, ttlSecs: 60, now })),
  );
  assert.equal(new Set(tokens).size, 20);
  for (const [i, token] of tokens.entries()) {
    const { payload } = await jwtVerify(token, keySet, { algorithms: ['ES256'] });
    assert.equal(payload.sub, `container:web:web-${i}`);
  }
  // Signing with an already-imported KeyObject works too.
  const keyObject: KeyObject = createPrivateKey({ key: Buffer.from(ed.secret), format: 'der', type: 'pkcs8' });
  const viaKeyObject = signToken('ed25519', keyObject, { exp: now + 60 }, ed.kid);
  const edSet = createLocalJWKSet(buildJwks([{ profile: 'ed25519', publicJwk: ed.publicJwk, state: 'active' }]));
  await jwtVerify(viaKeyObject, edSet, { algorithms: ['EdDSA'] });
});

test('JWKS: active and verify-only asymmetric keys only; never HMAC secrets, retired keys or private members', async () => {
  const retired = await generateKeyMaterial('ed25519');
  const privJwk = createPrivateKey({ key: Buffer.from(es.secret), format: 'der', type: 'pkcs8' }).export({
    format: 'jwk',
  });
  const jwks = buildJwks([
    { profile: 'ed25519', publicJwk: ed.publicJwk, state: 'active' },
    { profile: 'es256', publicJwk: { ...es.publicJwk, d: privJwk.d } as unknown as PublicJwk, state: 'verify-only' },
    { profile: 'ed25519', publicJwk: retired.publicJwk, state: 'retired' },
    { profile: 'zlayer', state: 'active' },
    { profile: 'ed25519', publicJwk: ed.publicJwk, state: 'active' }, // listed twice
  ]);
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    [ed.kid, es.kid],
  );
  const text = JSON.stringify(jwks);
  assert.ok(!/"d"|"k"/.test(text), 'no private or symmetric key members');
  assert.ok(!text.includes(zlSecret));

  const keySet = createLocalJWKSet(jwks);
  await jwtVerify(asymToken(es), keySet, { algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE });
  await assert.rejects(jwtVerify(asymToken(retired), keySet, { algorithms: ['EdDSA'] }), joseErrors.JWKSNoMatchingKey);
  assert.throws(
    () => buildJwks([{ profile: 'es256', publicJwk: ed.publicJwk, state: 'active' }]),
    /does not match its es256 profile/,
  );
});

// ---------------------------------------------------------------- revocation list

test('revocation list: entries past exp + leeway are pruned, duplicates merged, order stable', () => {
  const now = 10_000;
  const list = buildRevocationList({
    seq: 7,
    generatedAt: now,
    now,
    entries: [
      { jti: 'c-live', exp: now + 3600 },
      { jti: 'a-gone', exp: now - 61 }, // beyond the 60 s leeway: no verifier accepts it
      { jti: 'b-leeway', exp: now - 60 }, // still accepted under the leeway: must stay revoked
      { jti: 'c-live', exp: now + 10 },
      { jti: 'd-long-gone', exp: 1 },
    ],
  });
  assert.deepEqual(list, {
    seq: 7,
    generated_at: now,
    iat: now,
    exp: now + 86_400,
    entries: [
      { jti: 'b-leeway', exp: now - 60 },
      { jti: 'c-live', exp: now + 3600 },
    ],
  });
  assert.deepEqual(Object.keys(list), ['seq', 'generated_at', 'iat', 'exp', 'entries']);
  const strict = buildRevocationList({
    seq: 1,
    generatedAt: now,
    now,
    leewaySecs: 0,
    entries: [
      { jti: 'x', exp: now },
      { jti: 'y', exp: now - 1 },
    ],
  });
  assert.deepEqual(strict.entries, [{ jti: 'x', exp: now }]);
  assertCastellanError(
    () => buildRevocationList({ seq: -1, generatedAt: 0, now: 0, entries: [] }),
    'INVALID_INPUT',
    /seq/,
  );
  assertCastellanError(
    () => buildRevocationList({ seq: 1, generatedAt: 0, now: 0, entries: [{ jti: '', exp: 5 }] }),
    'INVALID_INPUT',
    /entry #1/,
  );
});

for (const material of [ed, es]) {
  test(`revocation list signed with ${material.profile} verifies with jose against the JWKS`, async () => {
    const now = nowSecs();
    const doc = buildRevocationList({
      seq: 3,
      generatedAt: now,
      now,
      entries: [
        { jti: 'revoked-1', exp: now + 600 },
        { jti: 'expired-1', exp: now - 3600 },
      ],
    });
    assert.ok(material.kid);
    const jws = signRevocationList(doc, {
      profile: material.profile as 'ed25519' | 'es256',
      pkcs8: material.secret,
      kid: material.kid,
    });
    assert.deepEqual(decodeProtectedHeader(jws), { alg: material.alg, typ: REVOCATION_LIST_TYP, kid: material.kid });
    const keySet = createLocalJWKSet(
      buildJwks([
        { profile: 'ed25519', publicJwk: ed.publicJwk, state: 'active' },
        { profile: 'es256', publicJwk: es.publicJwk, state: 'verify-only' },
      ]),
    );
    const { payload } = await jwtVerify(jws, keySet, { algorithms: [material.alg], typ: REVOCATION_LIST_TYP });
    assert.deepEqual(payload, {
      seq: 3,
      generated_at: now,
      iat: now,
      exp: now + 86_400,
      entries: [{ jti: 'revoked-1', exp: now + 600 }],
    });

    // Tampering with the payload breaks the signature.
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify({ ...doc, entries: [] })).toString('base64url');
    await assert.rejects(
      jwtVerify(`${h}.${forged}.${s}`, keySet, { algorithms: [material.alg] }),
      joseErrors.JWSSignatureVerificationFailed,
    );
  });
}

test('the revocation list is never HMAC-signed', () => {
  assertCastellanError(
    () =>
      signRevocationList(
        { seq: 1, generated_at: 1, iat: 1, exp: 2, entries: [] },
        { profile: 'zlayer' as 'ed25519', pkcs8: zl.secret, kid: 'x' },
      ),
    'INVALID_INPUT',
    /only with an ed25519 or es256 key/,
  );
});

/**
 * The token inspector's verdicts, one crafted token per rule, against real keys
 * and an in-memory ledger (a plain Map standing in for the storage layer's rows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CastellanError } from '../../shared/errors.ts';
import { createVerifyKey, generateKeyMaterial, type KeyMaterial } from '../../electron/core/tokens/key-material.ts';
import { asymmetricClaims, zlayerClaims, type TokenScope } from '../../electron/core/tokens/claims.ts';
import { signToken, tokenSha256 } from '../../electron/core/tokens/sign.ts';
import {
  inspectToken,
  MAX_TOKEN_BYTES,
  VERDICTS,
  type InspectContext,
  type Inspection,
  type KeyRecord,
} from '../../electron/core/tokens/inspect.ts';

const PY_SCRIPT = fileURLToPath(new URL('./python/verify_jwt.py', import.meta.url));
const NOW = 1_780_809_678;
const ISSUER = 'https://castellan.example/ws-1';
const AUDIENCE = 'zlayer-api';
const SCOPES: TokenScope[] = [
  { resource_kind: 'deployment', resource_id: 'my-app', level: 'read' },
  { resource_kind: 'container', resource_id: null, level: 'write' },
];

// ---------------------------------------------------------------- keys and ledger

const zl = await generateKeyMaterial('zlayer');
const zl2 = await generateKeyMaterial('zlayer');
const ed = await generateKeyMaterial('ed25519');
const es = await generateKeyMaterial('es256');
const edRetired = await generateKeyMaterial('ed25519');
const edStranger = await generateKeyMaterial('ed25519');
const zlSecret = Buffer.from(zl.secret).toString('ascii');

function record(id: string, m: KeyMaterial, state: KeyRecord['state'] = 'active'): KeyRecord {
  return {
    id,
    profile: m.profile,
    alg: m.alg,
    state,
    kid: m.kid ?? null,
    verify: createVerifyKey(m.profile, m.secret),
  };
}

const KEYS = {
  zl: record('key-zl', zl),
  zl2: record('key-zl2', zl2, 'verify-only'),
  ed: record('key-ed', ed),
  es: record('key-es', es, 'verify-only'),
  edRetired: record('key-ed-old', edRetired, 'retired'),
};
const ALL_KEYS = Object.values(KEYS);

type Row = { id: string; jti: string | null; sha256: string; revoked_at: number | null; revoke_reason?: string | null };

class Ledger {
  readonly rows: Row[] = [];
  record(token: string, jti: string | null, revoked?: { at: number; reason: string }): Row {
    const row: Row = {
      id: `row-${this.rows.length + 1}`,
      jti,
      sha256: tokenSha256(token),
      revoked_at: revoked?.at ?? null,
      revoke_reason: revoked?.reason ?? null,
    };
    this.rows.push(row);
    return row;
  }
  bySha256(sha256: string): Row | null {
    return this.rows.find((r) => r.sha256 === sha256) ?? null;
  }
  byJti(jti: string): Row | null {
    return this.rows.find((r) => r.jti === jti) ?? null;
  }
}

const seen: Inspection<Row>[] = [];

function inspect(
  token: string,
  opts: { ledger?: Ledger; now?: number; kidLookupAlsoById?: boolean; issuer?: string; audience?: string } = {},
): Inspection<Row> {
  const ledger = opts.ledger ?? new Ledger();
  const ctx: InspectContext<Row> = {
    now: opts.now ?? NOW,
    findKeyByKid: (kid) =>
      ALL_KEYS.find((k) => k.kid === kid || (opts.kidLookupAlsoById === true && k.id === kid)) ?? null,
    hmacKeys: () => ALL_KEYS.filter((k) => k.profile === 'zlayer' && k.state !== 'retired'),
    ledgerBySha256: (sha) => ledger.bySha256(sha),
    ledgerByJti: (jti) => ledger.byJti(jti),
    issuer: 'issuer' in opts ? opts.issuer : ISSUER,
    audience: 'audience' in opts ? opts.audience : AUDIENCE,
  };
  const result = inspectToken(token, ctx);
  seen.push(result);
  return result;
}

// ---------------------------------------------------------------- token helpers

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

function zClaims(over: Record<string, unknown> = {}, jti: string | null = 'jti-z'): Record<string, unknown> {
  return {
    ...zlayerClaims({ service: 'web', container: 'web-0', scopes: SCOPES, ttlSecs: 3600, now: NOW, jti }),
    ...over,
  };
}

function aClaims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...asymmetricClaims({
      issuer: ISSUER,
      audience: AUDIENCE,
      deployment: 'my-app',
      service: 'web',
      container: 'web-0',
      scopes: SCOPES,
      ttlSecs: 3600,
      now: NOW,
      jti: 'jti-a',
    }),
    ...over,
  };
}

/** A token with an arbitrary header, signed by `sig` over the signing input. */
function craft(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sig: (input: string) => Buffer,
): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(sig(input))}`;
}

const hmacWith = (key: Buffer | string) => (input: string) => createHmac('sha256', key).update(input).digest();
const edSign = (m: KeyMaterial) => (input: string) =>
  cryptoSign(null, Buffer.from(input), createPrivateKey({ key: Buffer.from(m.secret), format: 'der', type: 'pkcs8' }));

/** A zlayer token signed by our HMAC key, bypassing the signer's guard rails. */
const rawZ = (claims: Record<string, unknown>, secret: Uint8Array = zl.secret) =>
  craft({ alg: 'HS256', typ: 'JWT' }, claims, hmacWith(Buffer.from(secret)));

function expectVerdict(result: Inspection<Row>, verdict: Inspection<Row>['verdict'], reason?: RegExp): void {
  assert.equal(result.verdict, verdict, `expected ${verdict}, got ${result.verdict}: ${result.reason}`);
  if (reason) assert.match(result.reason, reason);
}

// ---------------------------------------------------------------- valid

test('valid: a zlayer token Castellan minted and recorded by jti', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  const row = ledger.record(token, 'jti-z');
  const r = inspect(token, { ledger });
  expectVerdict(r, 'valid', /verified with key key-zl/);
  assert.equal(r.keyId, 'key-zl');
  assert.equal(r.profile, 'zlayer');
  assert.equal(r.ledger, row);
  assert.deepEqual(r.scopes, SCOPES);
  assert.deepEqual(r.header, { alg: 'HS256', typ: 'JWT' });
  assert.equal((r.claims as { sub: string }).sub, 'container:web:web-0');
  assert.equal(r.sha256, tokenSha256(token));
});

test('valid: a --no-jti token is found in the ledger by its SHA-256', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims({}, null));
  ledger.record(token, null);
  expectVerdict(inspect(token, { ledger }), 'valid');
});

test('valid: surrounding whitespace and a Bearer prefix are ignored', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  ledger.record(token, 'jti-z');
  const r = inspect(`  \n Bearer   ${token}\t\n`, { ledger });
  expectVerdict(r, 'valid');
  assert.equal(r.sha256, tokenSha256(token));
  expectVerdict(inspect(`bearer ${token}`, { ledger }), 'valid');
});

test('valid: every non-retired HMAC key is tried, so a verify-only key still verifies', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl2.secret, zClaims());
  ledger.record(token, 'jti-z');
  const r = inspect(token, { ledger });
  expectVerdict(r, 'valid');
  assert.equal(r.keyId, 'key-zl2');
});

for (const [m, id] of [
  [ed, 'key-ed'],
  [es, 'key-es'],
] as const) {
  test(`valid: an ${m.profile} token with the workspace issuer and audience`, () => {
    const ledger = new Ledger();
    const token = signToken(m.profile, m.secret, aClaims(), m.kid);
    ledger.record(token, 'jti-a');
    const r = inspect(token, { ledger });
    expectVerdict(r, 'valid');
    assert.equal(r.keyId, id);
    assert.equal(r.profile, m.profile);
  });
}

// ---------------------------------------------------------------- time

test('expired: beyond the 60 s leeway; within it the token is still valid (and says so)', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  ledger.record(token, 'jti-z');
  const exp = NOW + 3600;
  expectVerdict(inspect(token, { ledger, now: exp + 61 }), 'expired', /61 s ago \(beyond the 60 s leeway\)/);
  expectVerdict(inspect(token, { ledger, now: exp + 60 }), 'valid', /within the 60 s leeway/);
  expectVerdict(inspect(token, { ledger, now: exp + 1 }), 'valid', /expired 1 s ago/);
  expectVerdict(inspect(token, { ledger, now: exp }), 'valid');
});

test('malformed: missing exp, a non-integer exp, issued or valid only in the future', () => {
  const noExp = { ...zClaims() };
  delete noExp.exp;
  expectVerdict(inspect(rawZ(noExp)), 'malformed', /no exp claim/);
  expectVerdict(inspect(rawZ(zClaims({ exp: '1780813278' }))), 'malformed', /exp must be whole seconds/);
  expectVerdict(inspect(rawZ(zClaims({ iat: NOW + 61 }))), 'malformed', /issued in the future/);
  expectVerdict(inspect(rawZ(zClaims({ nbf: NOW + 120 }))), 'malformed', /not valid yet/);
  // iat within the leeway is fine (clock skew), it is just not recorded here.
  expectVerdict(inspect(rawZ(zClaims({ iat: NOW + 60 }))), 'not_issued_here');
});

// ---------------------------------------------------------------- ledger

test('revoked: the ledger row found by jti is revoked, and the reason is reported', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  const row = ledger.record(token, 'jti-z', { at: NOW - 10, reason: 'container torn down' });
  const r = inspect(token, { ledger });
  expectVerdict(r, 'revoked', /container torn down/);
  assert.equal(r.ledger, row);
});

test('revoked: a no-jti token revoked by hash', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims({}, null));
  ledger.record(token, null, { at: NOW - 5, reason: 'leaked in a CI log' });
  expectVerdict(inspect(token, { ledger }), 'revoked', /leaked in a CI log/);
});

test('precedence: revoked beats expired, expired beats not_issued_here', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  ledger.record(token, 'jti-z', { at: NOW, reason: 'rotated' });
  expectVerdict(inspect(token, { ledger, now: NOW + 99_999 }), 'revoked');
  expectVerdict(inspect(token, { now: NOW + 99_999 }), 'expired');
});

test('not_issued_here: a valid signature with no ledger row (our own unrecorded token)', () => {
  const token = signToken('zlayer', zl.secret, zClaims());
  const r = inspect(token);
  expectVerdict(r, 'not_issued_here', /no record of this token/);
  assert.equal(r.keyId, 'key-zl');
  assert.equal(r.ledger, null);
});

test('not_issued_here: a token the daemon minted itself with the shared secret (PyJWT as the foreign minter)', () => {
  const run = spawnSync('/usr/bin/python3', [PY_SCRIPT], {
    input: JSON.stringify({ op: 'encode_hs256', secret: zlSecret, claims: zClaims({}, 'daemon-jti') }),
    encoding: 'utf8',
  });
  const token = (JSON.parse(run.stdout) as { token: string }).token;
  const ledger = new Ledger();
  ledger.record(signToken('zlayer', zl.secret, zClaims()), 'jti-z'); // an unrelated row
  expectVerdict(inspect(token, { ledger }), 'not_issued_here');
});

// ---------------------------------------------------------------- unsigned and confusion

test('malformed: alg "none" is never accepted, with or without a signature', () => {
  const claims = zClaims();
  const unsigned = `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify(claims))}.`;
  expectVerdict(inspect(unsigned), 'malformed', /never accepted/);
  const withSig = craft({ alg: 'None', typ: 'JWT' }, claims, hmacWith(Buffer.from(zl.secret)));
  expectVerdict(inspect(withSig), 'malformed', /never accepted/);
  // An empty signature under a real alg is just as unsigned.
  const empty = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify(claims))}.`;
  expectVerdict(inspect(empty), 'malformed', /never accepted/);
});

test("algorithm confusion: an HS256 header with an EdDSA key's kid, MACed with that public key, is refused", () => {
  const edPublic = createPublicKey(createPrivateKey({ key: Buffer.from(ed.secret), format: 'der', type: 'pkcs8' }));
  const pem = edPublic.export({ format: 'pem', type: 'spki' });
  // Claims that satisfy the EdDSA key's rules, so only the confusion is left to catch.
  const token = craft({ alg: 'HS256', typ: 'JWT', kid: ed.kid }, aClaims(), hmacWith(pem));
  const r = inspect(token);
  expectVerdict(r, 'bad_signature', /algorithm confusion: key key-ed is EdDSA but the token says "HS256"/);
  assert.equal(r.keyId, 'key-ed');
});

test('classic confusion: an HS256 token MACed with public key bytes never validates', () => {
  const edPublic = createPublicKey(createPrivateKey({ key: Buffer.from(ed.secret), format: 'der', type: 'pkcs8' }));
  const forms: (string | Buffer)[] = [
    edPublic.export({ format: 'pem', type: 'spki' }),
    edPublic.export({ format: 'der', type: 'spki' }),
    JSON.stringify(ed.publicJwk),
    Buffer.from(ed.publicJwk?.x ?? '', 'base64url'),
    ed.publicJwk?.x ?? '',
  ];
  for (const form of forms) {
    const token = craft({ alg: 'HS256', typ: 'JWT' }, zClaims(), hmacWith(form));
    expectVerdict(inspect(token), 'bad_signature', /none of the 2 zlayer HMAC key/);
  }
});

test('confusion the other way: EdDSA with no kid, and EdDSA naming the HMAC key, are refused', () => {
  const noKid = craft({ alg: 'EdDSA', typ: 'JWT' }, aClaims(), edSign(ed));
  expectVerdict(inspect(noKid), 'unknown_key', /names no key/);
  // Naming the HMAC key's id: unknown when the lookup is by kid only…
  expectVerdict(inspect(craft({ alg: 'EdDSA', typ: 'JWT', kid: 'key-zl' }, aClaims(), edSign(ed))), 'unknown_key');
  // …and algorithm confusion when the store also resolves ids (the claims are
  // judged by the named key's zlayer rules, so zlayer-shaped claims reach the pin).
  const namesHmac = craft({ alg: 'EdDSA', typ: 'JWT', kid: 'key-zl' }, zClaims(), edSign(ed));
  expectVerdict(
    inspect(namesHmac, { kidLookupAlsoById: true }),
    'bad_signature',
    /algorithm confusion: key key-zl is HS256 but the token says "EdDSA"/,
  );
});

test('unsupported algorithms: RS256 with no kid is unknown_key; RS256 naming our key is confusion', () => {
  const sig = hmacWith('irrelevant');
  expectVerdict(
    inspect(craft({ alg: 'RS256', typ: 'JWT' }, zClaims(), sig)),
    'unknown_key',
    /signs only HS256, EdDSA and ES256/,
  );
  expectVerdict(
    inspect(craft({ alg: 'RS256', typ: 'JWT', kid: es.kid }, aClaims(), sig)),
    'bad_signature',
    /algorithm confusion/,
  );
  expectVerdict(inspect(craft({ alg: 'HS512', typ: 'JWT' }, zClaims(), sig)), 'unknown_key');
});

// ---------------------------------------------------------------- keys and signatures

test('unknown_key: an unknown kid never falls back to other keys, even if one would verify', () => {
  const token = craft({ alg: 'EdDSA', typ: 'JWT', kid: 'no-such-kid' }, aClaims(), edSign(ed));
  expectVerdict(inspect(token), 'unknown_key', /no key with kid "no-such-kid"/);
  const hs = craft({ alg: 'HS256', typ: 'JWT', kid: 'no-such-kid' }, zClaims(), hmacWith(Buffer.from(zl.secret)));
  expectVerdict(inspect(hs), 'unknown_key');
});

test("unknown_key: a retired key's tokens are no longer accepted", () => {
  const token = signToken('ed25519', edRetired.secret, aClaims(), edRetired.kid);
  const r = inspect(token);
  expectVerdict(r, 'unknown_key', /key key-ed-old is retired/);
  assert.equal(r.keyId, 'key-ed-old');
});

test('unknown_key: an embedded jwk header is ignored; keys come only from the workspace', async () => {
  const jwk = edStranger.publicJwk;
  const token = craft({ alg: 'EdDSA', typ: 'JWT', kid: edStranger.kid, jwk }, aClaims(), edSign(edStranger));
  expectVerdict(inspect(token), 'unknown_key');
});

test('bad_signature: altered claims, a stranger signing under our kid, a DER-encoded ES256 signature', () => {
  const ledger = new Ledger();
  const token = signToken('zlayer', zl.secret, zClaims());
  ledger.record(token, 'jti-z');
  const [h, , s] = token.split('.');
  const escalated = `${h}.${b64(JSON.stringify(zClaims({ scopes: [{ resource_kind: 'deployment', resource_id: null, level: 'write' }] })))}.${s}`;
  expectVerdict(inspect(escalated, { ledger }), 'bad_signature');

  const stranger = craft({ alg: 'EdDSA', typ: 'JWT', kid: ed.kid }, aClaims(), edSign(edStranger));
  expectVerdict(inspect(stranger), 'bad_signature', /does not verify with key key-ed/);

  const esKey: KeyObject = createPrivateKey({ key: Buffer.from(es.secret), format: 'der', type: 'pkcs8' });
  const derSigned = craft({ alg: 'ES256', typ: 'JWT', kid: es.kid }, aClaims(), (input) =>
    cryptoSign('sha256', Buffer.from(input), esKey),
  );
  expectVerdict(inspect(derSigned), 'bad_signature');
});

// ---------------------------------------------------------------- shape

test('malformed: truncated tokens, bad base64url, wrong segment counts', () => {
  const token = signToken('zlayer', zl.secret, zClaims());
  const [h, p, s] = token.split('.') as [string, string, string];
  assert.equal(s.length, 43);
  expectVerdict(inspect(`${h}.${p}`), 'malformed', /3 dot-separated segments; this has 2/);
  expectVerdict(inspect(token.slice(0, -2)), 'malformed', /impossible; is the token truncated/);
  expectVerdict(inspect(token.slice(0, -3)), 'bad_signature'); // still base64url, just a shorter MAC
  expectVerdict(inspect(`${h}.${p.slice(0, -5)}.${s}`), 'malformed');
  expectVerdict(inspect(`${h}.${p}.${s}.${s}`), 'malformed', /this has 4/);
  expectVerdict(inspect(`${h}.${p}.${s}.x.y`), 'malformed', /encrypted JWE/);
  expectVerdict(inspect(`${h}.${p}.${s.slice(0, 20)}*${s.slice(21)}`), 'malformed', /not base64url/);
  expectVerdict(inspect(`${h}.${p}=.${s}`), 'malformed', /not base64url/);
  const plusSlash = Buffer.from(JSON.stringify(zClaims())).toString('base64').replace(/=+$/, '');
  if (/[+/]/.test(plusSlash)) expectVerdict(inspect(`${h}.${plusSlash}.${s}`), 'malformed', /not base64url/);
  expectVerdict(inspect(''), 'malformed', /empty/);
  expectVerdict(inspect('Bearer   '), 'malformed', /empty/);
  expectVerdict(inspect('not a token at all'), 'malformed');
});

test('malformed: header or payload that is not a JSON object', () => {
  const claims = b64(JSON.stringify(zClaims()));
  expectVerdict(inspect(`${b64('not json')}.${claims}.AAAA`), 'malformed', /header is not JSON/);
  expectVerdict(inspect(`${b64('["HS256"]')}.${claims}.AAAA`), 'malformed', /header is JSON but not an object/);
  const r = inspect(`${b64('{"alg":"HS256","typ":"JWT"}')}.${b64('null')}.AAAA`);
  expectVerdict(r, 'malformed', /payload is JSON but not an object/);
  assert.deepEqual(r.header, { alg: 'HS256', typ: 'JWT' });
  expectVerdict(inspect(`${b64('{"typ":"JWT"}')}.${claims}.AAAA`), 'malformed', /no alg/);
  expectVerdict(inspect(`${b64(Buffer.from([0xff, 0xfe]))}.${claims}.AAAA`), 'malformed', /not UTF-8/);
  const crit = craft({ alg: 'HS256', typ: 'JWT', crit: ['exp'] }, zClaims(), hmacWith(Buffer.from(zl.secret)));
  expectVerdict(inspect(crit), 'malformed', /crit/);
});

test('malformed: inputs over 16 KB are refused before any parsing, counted in UTF-8 bytes', () => {
  const big = inspect(`${'a'.repeat(MAX_TOKEN_BYTES)}b`);
  expectVerdict(big, 'malformed', /larger than 16384 bytes/);
  assert.equal(big.header, null);
  const atLimit = inspect('a'.repeat(MAX_TOKEN_BYTES));
  expectVerdict(atLimit, 'malformed', /segments/);
  const euros = inspect('€'.repeat(5462)); // 5462 chars, 16386 bytes
  expectVerdict(euros, 'malformed', /larger than 16384 bytes/);
});

// ---------------------------------------------------------------- claims per profile

test('malformed: a zlayer token carrying aud is refused, as the daemon refuses it', () => {
  const r = inspect(rawZ(zClaims({ aud: 'zlayer' })));
  expectVerdict(r, 'malformed', /must not carry aud/);
});

test('malformed: wrong issuers and audiences, and asymmetric tokens with no workspace issuer configured', () => {
  expectVerdict(
    inspect(rawZ(zClaims({ iss: 'castellan' }))),
    'malformed',
    /wrong issuer: iss is "castellan", the daemon requires "zlayer"/,
  );
  const wrongIss = signToken('ed25519', ed.secret, aClaims({ iss: 'https://evil.example' }), ed.kid);
  expectVerdict(inspect(wrongIss), 'malformed', /wrong issuer/);
  const wrongAud = signToken('es256', es.secret, aClaims({ aud: 'someone-else' }), es.kid);
  expectVerdict(inspect(wrongAud), 'malformed', /wrong audience/);
  const audList = signToken('es256', es.secret, aClaims({ aud: ['other', AUDIENCE] }), es.kid);
  expectVerdict(inspect(audList), 'not_issued_here');
  const good = signToken('ed25519', ed.secret, aClaims(), ed.kid);
  expectVerdict(inspect(good, { issuer: undefined }), 'malformed', /no issuer and audience configured/);
});

test('precedence: malformed beats unknown_key, unknown_key beats bad_signature', () => {
  const noExp = { ...aClaims() };
  delete noExp.exp;
  expectVerdict(inspect(craft({ alg: 'EdDSA', typ: 'JWT', kid: 'nope' }, noExp, edSign(ed))), 'malformed');
  expectVerdict(
    inspect(craft({ alg: 'EdDSA', typ: 'JWT', kid: 'nope' }, aClaims(), () => Buffer.alloc(64))),
    'unknown_key',
  );
  assert.deepEqual(VERDICTS, [
    'malformed',
    'unknown_key',
    'bad_signature',
    'forged',
    'compromised_key',
    'revoked',
    'expired',
    'not_issued_here',
    'valid',
  ]);
});

test('a key record whose verify key does not fit its profile is a programming error, not a verdict', () => {
  const token = signToken('ed25519', ed.secret, aClaims(), ed.kid);
  const broken: KeyRecord = { ...KEYS.ed, verify: KEYS.zl.verify };
  assert.throws(
    () =>
      inspectToken(token, {
        now: NOW,
        findKeyByKid: () => broken,
        hmacKeys: () => [],
        ledgerBySha256: () => null,
        ledgerByJti: () => null,
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    (err: unknown) => err instanceof CastellanError && err.code === 'INTERNAL' && /wrong type/.test(err.message),
  );
});

test('no inspection result ever contains the HMAC secret', () => {
  assert.ok(seen.length > 40);
  for (const r of seen) {
    assert.ok(!JSON.stringify({ reason: r.reason, header: r.header, claims: r.claims }).includes(zlSecret));
  }
});

// ---------------------------------------------------------------- forged and compromised_key (issue 11)

test('forged: a known jti on bytes that are not the recorded token (re-signed with the real secret, wider scopes, 10-year exp)', () => {
  const ledger = new Ledger();
  const real = signToken('zlayer', zl.secret, zClaims());
  const row = ledger.record(real, 'jti-z');
  const wider = zClaims({
    exp: NOW + 10 * 365 * 86_400,
    scopes: [
      { resource_kind: 'deployment', resource_id: null, level: 'write' },
      { resource_kind: 'secret', resource_id: null, level: 'write' },
    ],
  });
  const forged = rawZ(wider);
  const r = inspect(forged, { ledger });
  expectVerdict(r, 'forged', new RegExp(`^reuses the id of token #${row.id} \\(jti "jti-z"\\)`));
  assert.equal(r.ledger, null);
  // Revoked or expired, the real row does not turn a forgery into "revoked" or "expired".
  row.revoked_at = NOW - 1;
  expectVerdict(inspect(forged, { ledger }), 'forged');
  expectVerdict(inspect(forged, { ledger, now: NOW + 11 * 365 * 86_400 }), 'forged');
  // The recorded bytes themselves are still judged by their row.
  expectVerdict(inspect(real, { ledger }), 'revoked');
  // Without a jti, a token is only ever bound by its SHA-256: unknown bytes are not_issued_here.
  expectVerdict(inspect(rawZ(zClaims({}, null)), { ledger }), 'not_issued_here');
});

test('compromised_key: a good signature by a compromised key is never valid, by kid and by HMAC, retired or not', () => {
  const ledger = new Ledger();
  const edToken = signToken('ed25519', ed.secret, aClaims(), ed.kid);
  const zlToken = signToken('zlayer', zl.secret, zClaims());
  ledger.record(edToken, 'jti-a');
  ledger.record(zlToken, 'jti-z');
  for (const state of ['verify-only', 'retired'] as const) {
    const edBad: KeyRecord = { ...KEYS.ed, state, compromised: true };
    const zlBad: KeyRecord = { ...KEYS.zl, state, compromised: true };
    const ctx = {
      now: NOW,
      issuer: ISSUER,
      audience: AUDIENCE,
      findKeyByKid: (kid: string) => (kid === ed.kid ? edBad : null),
      hmacKeys: () => [zlBad],
      ledgerBySha256: (sha: string) => ledger.bySha256(sha),
      ledgerByJti: (jti: string) => ledger.byJti(jti),
    };
    expectVerdict(inspectToken(edToken, ctx), 'compromised_key', /signed by key key-ed, which is marked compromised/);
    expectVerdict(inspectToken(zlToken, ctx), 'compromised_key', /signed by key key-zl/);
    // A signature that does not verify is still bad_signature: the key did not sign it.
    expectVerdict(inspectToken(rawZ(zClaims(), zl2.secret), ctx), 'bad_signature');
  }
});

test('signatureMemo: only a signature that verified is remembered, by key id and the exact bytes; nothing else is skipped', () => {
  const ledger = new Ledger();
  const good = signToken('ed25519', ed.secret, aClaims(), ed.kid);
  ledger.record(good, 'jti-a');
  const remembered = new Set<string>();
  const asked: string[] = [];
  const signatureMemo = {
    has: (keyId: string, sha256: string) => {
      asked.push(`${keyId} ${sha256}`);
      return remembered.has(`${keyId} ${sha256}`);
    },
    add: (keyId: string, sha256: string) => void remembered.add(`${keyId} ${sha256}`),
  };
  const ctx = (over: Partial<InspectContext<Row>> = {}): InspectContext<Row> => ({
    now: NOW,
    issuer: ISSUER,
    audience: AUDIENCE,
    findKeyByKid: (kid) => ALL_KEYS.find((k) => k.kid === kid) ?? null,
    hmacKeys: () => [KEYS.zl, KEYS.zl2],
    ledgerBySha256: (sha) => ledger.bySha256(sha),
    ledgerByJti: (jti) => ledger.byJti(jti),
    signatureMemo,
    ...over,
  });
  expectVerdict(inspectToken(good, ctx()), 'valid');
  assert.deepEqual([...remembered], [`key-ed ${tokenSha256(good)}`]);

  // Other bytes are not vouched for by the remembered signature, and a bad one is not remembered.
  const [h, p, s] = good.split('.') as [string, string, string];
  const tampered = `${h}.${b64(JSON.stringify(aClaims({ sub: 'container:web:admin' })))}.${s}`;
  expectVerdict(inspectToken(tampered, ctx()), 'bad_signature');
  const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
  expectVerdict(inspectToken(flipped, ctx()), 'bad_signature');
  assert.equal(remembered.size, 1);

  // Remembered, the token is still judged whole: revoked, expired, wrong issuer, compromised key.
  expectVerdict(inspectToken(good, ctx()), 'valid');
  const revokedLedger = new Ledger();
  revokedLedger.record(good, 'jti-a', { at: NOW - 10, reason: 'leaked' });
  expectVerdict(inspectToken(good, ctx({ ledgerBySha256: (sha) => revokedLedger.bySha256(sha) })), 'revoked');
  expectVerdict(inspectToken(good, ctx({ now: NOW + 7200 })), 'expired');
  expectVerdict(inspectToken(good, ctx({ issuer: 'https://elsewhere.example' })), 'malformed', /wrong issuer/);
  const compromised: KeyRecord = { ...KEYS.ed, compromised: true };
  expectVerdict(inspectToken(good, ctx({ findKeyByKid: (kid) => (kid === ed.kid ? compromised : null) })), 'compromised_key');
  // The memo is asked about the key the token names, never about another one.
  assert.ok(asked.every((a) => a.startsWith('key-ed ')), asked.join(', '));

  // HS256 without kid: each candidate key is its own entry.
  const z = signToken('zlayer', zl2.secret, zClaims());
  ledger.record(z, 'jti-z');
  expectVerdict(inspectToken(z, ctx()), 'valid');
  assert.ok(remembered.has(`key-zl2 ${tokenSha256(z)}`));
  assert.ok(!remembered.has(`key-zl ${tokenSha256(z)}`));
});

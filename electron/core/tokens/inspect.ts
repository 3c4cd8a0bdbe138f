/**
 * The token inspector: given a pasted token, say whether it is one Castellan
 * issued and a verifier would still accept, and if not, why.
 *
 * Verdict precedence (the first that applies wins; checks run in this order):
 *
 *   malformed > unknown_key > bad_signature > forged > compromised_key > revoked > expired
 *     > not_issued_here > valid
 *
 * - malformed: not a compact JWS we can read (size, segments, base64url, JSON),
 *   unsigned (`alg: none` is always malformed, never "bad signature"), or claims
 *   every verifier would reject whatever the key: no `exp`, issued in the future,
 *   not yet valid, wrong `iss`, a zlayer token carrying `aud`, a wrong `aud`.
 * - unknown_key: the token names a kid we do not hold (or hold retired), or it
 *   names no key and none of ours could have signed it. An unknown kid never
 *   falls back to trying other keys.
 * - bad_signature: the key's algorithm differs from the header's (algorithm
 *   confusion, e.g. HS256 with an EdDSA key's kid), or the signature does not verify.
 * - forged: the signature verifies, the token's jti names a ledger row, but its
 *   SHA-256 is not that row's: it is not the token Castellan minted under that id
 *   (e.g. re-signed with a leaked HS256 secret, with wider scopes or a later exp).
 *   A jti alone never vouches for a token; only the exact bytes (SHA-256) do.
 * - compromised_key: the signature verifies with a key rotated (or flagged) as
 *   compromised: whoever holds that key could have made this token, so no
 *   verifier path accepts it, whatever the ledger says. A retired compromised key
 *   still gets this verdict (not unknown_key), so the admin sees why.
 * - revoked: the ledger row (by SHA-256, the exact token) is revoked.
 * - expired: `exp + 60 < now` (the daemon's 60 s leeway).
 * - not_issued_here: the signature is good but the ledger has no row, e.g. a
 *   token the daemon minted itself with the shared secret.
 *
 * The algorithm is pinned to the key, never taken from the token: the header
 * only selects which stored key to try, and that key's own algorithm decides how
 * the signature is checked. Claims are judged by the rules of the key the kid
 * names (zlayer: iss "zlayer", no aud; ed25519/es256: the workspace's iss and
 * aud), or, without a kid, by the profile the header's alg implies. HMAC
 * comparison is constant-time. Embedded keys (`jwk`, `jku`, `x5u`, `x5c`
 * headers) are ignored: keys come only from the workspace.
 */
import { createHmac, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import { isTokenScope, normalizeScopes, ZLAYER_ISSUER, type TokenScope } from './claims.ts';
import { PROFILE_ALG, profileForAlg, type KeyState, type Profile, type SigningAlg } from './key-material.ts';
import { tokenSha256 } from './sign.ts';

export const MAX_TOKEN_BYTES = 16_384;
/** jsonwebtoken's default leeway, which the ZLayer daemon keeps. */
export const CLOCK_LEEWAY_SECS = 60;

export const VERDICTS = [
  'malformed',
  'unknown_key',
  'bad_signature',
  'forged',
  'compromised_key',
  'revoked',
  'expired',
  'not_issued_here',
  'valid',
] as const;
/** Ordered most to least severe: the order in which the inspector decides. */
export type Verdict = (typeof VERDICTS)[number];

/**
 * A key the inspector may verify with. `verify` is a KeyObject imported once by
 * the caller (see createVerifyKey): a secret key for zlayer, a public (or
 * private) key for ed25519/es256. Secrets never travel as strings here.
 */
export type KeyRecord = {
  id: string;
  profile: Profile;
  alg: SigningAlg;
  state: KeyState;
  kid?: string | null;
  /** Rotated or flagged as compromised: nothing it signed is ever valid. */
  compromised?: boolean;
  verify: KeyObject;
};

/** The least the inspector needs from a ledger row; the storage layer may add anything. */
export type LedgerView = {
  /** The ledger's own number for the row, named when a forgery reuses its jti. */
  id: number | string;
  revoked_at: number | null;
  revoke_reason?: string | null;
};

export type InspectContext<L extends LedgerView = LedgerView> = {
  /** Unix seconds. */
  now: number;
  findKeyByKid(kid: string): KeyRecord | null;
  /** zlayer-profile keys in any non-retired state, and compromised ones in any state. */
  hmacKeys(): readonly KeyRecord[];
  /** The ledger row of exactly this token (by its SHA-256), or null. */
  ledgerBySha256(sha256: string): L | null;
  /** The ledger row that holds this jti, or null; consulted only when the SHA-256 is unknown. */
  ledgerByJti(jti: string): L | null;
  /** The workspace's issuer and audience, required to accept ed25519/es256 tokens. */
  issuer?: string;
  audience?: string;
  /**
   * Signatures already verified, for a server that sees the same tokens again and again
   * (serve/introspect.ts). Asked with the key's id and the token's SHA-256 (which covers the
   * header, the payload and the signature: the exact bytes) before the signature is checked, and
   * told after one verified. Only the signature check is skipped: the key's state, the claims,
   * the ledger row are judged every time. The owner must forget everything as soon as any key's
   * material may have changed.
   */
  signatureMemo?: SignatureMemo;
};

export interface SignatureMemo {
  has(keyId: string, sha256: string): boolean;
  add(keyId: string, sha256: string): void;
}

export type Inspection<L extends LedgerView = LedgerView> = {
  verdict: Verdict;
  reason: string;
  header: Record<string, unknown> | null;
  claims: Record<string, unknown> | null;
  /** Lowercase hex SHA-256 of the token (after trimming and removing `Bearer `). */
  sha256?: string;
  /** The stored key whose signature verified (or that the kid named). */
  keyId?: string;
  profile?: Profile;
  ledger?: L | null;
  scopes?: TokenScope[];
};

const B64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Segment = { ok: true; bytes: Buffer } | { ok: false; why: string };

function decodeSegment(segment: string, name: string): Segment {
  if (!B64URL.test(segment)) {
    return { ok: false, why: `the ${name} is not base64url (it contains characters outside A-Z a-z 0-9 - _)` };
  }
  if (segment.length % 4 === 1) {
    return { ok: false, why: `the ${name} is not valid base64url (its length is impossible; is the token truncated?)` };
  }
  const bytes = Buffer.from(segment, 'base64url');
  // Only the canonical encoding is accepted: one token, one spelling.
  if (bytes.toString('base64url') !== segment) {
    return { ok: false, why: `the ${name} is not canonical base64url` };
  }
  return { ok: true, bytes };
}

type JsonObject = { ok: true; value: Record<string, unknown> } | { ok: false; why: string };

function decodeJsonObject(segment: string, name: string): JsonObject {
  if (segment.length === 0) return { ok: false, why: `the ${name} segment is empty` };
  const decoded = decodeSegment(segment, name);
  if (!decoded.ok) return decoded;
  let text: string;
  try {
    text = utf8.decode(decoded.bytes);
  } catch {
    return { ok: false, why: `the ${name} is not UTF-8` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, why: `the ${name} is not JSON` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, why: `the ${name} is JSON but not an object` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** A short, single-line rendering of an untrusted value for a reason string. */
function show(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  s = s.replace(/\p{Cc}/gu, '?');
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

function when(secs: number): string {
  const ms = secs * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${secs}`;
}

const isWholeSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Problems with the claims that make the token unacceptable whatever key signed it. */
function claimProblem(
  profile: Profile | null,
  claims: Record<string, unknown>,
  ctx: InspectContext<LedgerView>,
): string | null {
  const { exp, iat, nbf, jti } = claims;
  if (exp === undefined) return 'the token has no exp claim, which the daemon requires';
  if (!isWholeSeconds(exp)) return `exp must be whole seconds since the epoch, not ${show(exp)}`;
  if (iat !== undefined) {
    if (!isWholeSeconds(iat)) return `iat must be whole seconds since the epoch, not ${show(iat)}`;
    if (iat - CLOCK_LEEWAY_SECS > ctx.now)
      return `issued in the future: iat is ${when(iat)}, beyond the ${CLOCK_LEEWAY_SECS} s leeway`;
  }
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return `nbf must be a number, not ${show(nbf)}`;
    if (nbf - CLOCK_LEEWAY_SECS > ctx.now)
      return `not valid yet: nbf is ${when(nbf)}, beyond the ${CLOCK_LEEWAY_SECS} s leeway`;
  }
  if (jti !== undefined && (typeof jti !== 'string' || jti.length === 0))
    return `jti must be a non-empty string, not ${show(jti)}`;
  if (claims.scopes !== undefined && !(Array.isArray(claims.scopes) && claims.scopes.every(isTokenScope))) {
    return 'the scopes claim is not a list of {resource_kind, resource_id, level} scopes';
  }

  if (profile === 'zlayer') {
    if (claims.iss !== ZLAYER_ISSUER) return `wrong issuer: iss is ${show(claims.iss)}, the daemon requires "zlayer"`;
    if (Object.hasOwn(claims, 'aud'))
      return 'a zlayer token must not carry aud: the daemon sets no audience and rejects any token that has one';
    if (typeof claims.sub !== 'string') return 'the daemon requires a string sub claim';
    if (iat === undefined) return 'the daemon requires an iat claim';
    if (!Array.isArray(claims.roles) || !claims.roles.every((r) => typeof r === 'string')) {
      return 'the daemon requires roles to be a list of strings';
    }
  } else if (profile === 'ed25519' || profile === 'es256') {
    if (ctx.issuer === undefined || ctx.audience === undefined) {
      return 'this workspace has no issuer and audience configured, so no EdDSA/ES256 token can be accepted';
    }
    if (claims.iss !== ctx.issuer)
      return `wrong issuer: iss is ${show(claims.iss)}, this workspace issues as ${show(ctx.issuer)}`;
    const aud = claims.aud;
    const audOk = aud === ctx.audience || (Array.isArray(aud) && aud.includes(ctx.audience));
    if (!audOk) {
      return aud === undefined
        ? `the token has no aud; this workspace requires ${show(ctx.audience)}`
        : `wrong audience: aud is ${show(aud)}, this workspace requires ${show(ctx.audience)}`;
    }
  }
  return null;
}

function signatureMatches(key: KeyRecord, signingInput: Buffer, signature: Buffer): boolean {
  try {
    switch (key.alg) {
      case 'HS256': {
        if (signature.length !== 32) return false;
        const mac = createHmac('sha256', key.verify).update(signingInput).digest();
        return timingSafeEqual(mac, signature);
      }
      case 'EdDSA':
        return signature.length === 64 && cryptoVerify(null, signingInput, key.verify, signature);
      case 'ES256':
        return (
          signature.length === 64 &&
          cryptoVerify('sha256', signingInput, { key: key.verify, dsaEncoding: 'ieee-p1363' }, signature)
        );
    }
  } catch {
    return false;
  }
}

function assertRecordConsistent(key: KeyRecord): void {
  if (PROFILE_ALG[key.profile] !== key.alg) {
    throw new CastellanError('INTERNAL', `key ${key.id} is stored as ${key.profile} with algorithm ${key.alg}`);
  }
  const fits =
    key.alg === 'HS256'
      ? key.verify.type === 'secret'
      : key.verify.type !== 'secret' &&
        (key.alg === 'EdDSA'
          ? key.verify.asymmetricKeyType === 'ed25519'
          : key.verify.asymmetricKeyType === 'ec' && key.verify.asymmetricKeyDetails?.namedCurve === 'prime256v1');
  if (!fits) {
    throw new CastellanError('INTERNAL', `key ${key.id} (${key.profile}) was given a verify key of the wrong type`);
  }
}

export function inspectToken<L extends LedgerView>(input: string, ctx: InspectContext<L>): Inspection<L> {
  if (typeof ctx.now !== 'number' || !Number.isFinite(ctx.now)) {
    throw new CastellanError('INVALID_INPUT', 'inspectToken needs the current time in Unix seconds');
  }
  const result = (verdict: Verdict, reason: string, extra: Partial<Inspection<L>> = {}): Inspection<L> => ({
    verdict,
    reason,
    header: null,
    claims: null,
    ...extra,
  });

  if (typeof input !== 'string') return result('malformed', 'the input is not text');
  if (input.length > MAX_TOKEN_BYTES || Buffer.byteLength(input, 'utf8') > MAX_TOKEN_BYTES) {
    return result('malformed', `the input is larger than ${MAX_TOKEN_BYTES} bytes; no Castellan token is that long`);
  }
  let token = input.trim();
  const bearer = /^bearer(?:\s+|$)/i.exec(token);
  if (bearer) token = token.slice(bearer[0].length).trim();
  if (token.length === 0) return result('malformed', 'the input is empty');

  const segments = token.split('.');
  if (segments.length !== 3) {
    const hint = segments.length === 5 ? ' (5 segments is an encrypted JWE, which Castellan never issues)' : '';
    return result('malformed', `a signed token has 3 dot-separated segments; this has ${segments.length}${hint}`);
  }
  const [headerSeg, payloadSeg, signatureSeg] = segments as [string, string, string];

  const headerParsed = decodeJsonObject(headerSeg, 'header');
  if (!headerParsed.ok) return result('malformed', headerParsed.why);
  const header = headerParsed.value;
  const payloadParsed = decodeJsonObject(payloadSeg, 'payload');
  if (!payloadParsed.ok) return result('malformed', payloadParsed.why, { header });
  const claims = payloadParsed.value;

  const sha256 = tokenSha256(token);
  const base: Partial<Inspection<L>> = { header, claims, sha256 };
  if (Array.isArray(claims.scopes) && claims.scopes.every(isTokenScope)) base.scopes = normalizeScopes(claims.scopes);
  const malformed = (why: string): Inspection<L> => result('malformed', why, base);

  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) return malformed('the header has no alg');
  if (alg.toLowerCase() === 'none') return malformed('unsigned tokens (alg "none") are never accepted');
  if (header.crit !== undefined)
    return malformed('the header lists critical extensions (crit), which Castellan never uses');
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0))
    return malformed('the header kid is not a non-empty string');
  if (signatureSeg.length === 0) return malformed('the signature segment is empty; unsigned tokens are never accepted');
  const signature = decodeSegment(signatureSeg, 'signature');
  if (!signature.ok) return malformed(signature.why);

  // The header only *selects* a key; the stored key's algorithm and profile decide.
  const named = typeof kid === 'string' ? ctx.findKeyByKid(kid) : null;
  if (named !== null) assertRecordConsistent(named);

  // Claims are judged by the rules of the key the token names (so an HS256 header
  // on an EdDSA key's kid is judged as an EdDSA token and then refused as
  // confusion), or of the profile its alg implies when it names none.
  const problem = claimProblem(named?.profile ?? profileForAlg(alg), claims, ctx);
  if (problem !== null) return malformed(problem);

  let candidates: KeyRecord[];
  if (typeof kid === 'string') {
    const key = named;
    if (key === null) {
      return result('unknown_key', `no key with kid ${show(kid)} is held by this workspace`, base);
    }
    const keyInfo = { ...base, keyId: key.id, profile: key.profile };
    if (key.state === 'retired' && key.compromised !== true) {
      return result('unknown_key', `key ${key.id} is retired; tokens it signed are no longer accepted`, keyInfo);
    }
    if (key.alg !== alg) {
      return result(
        'bad_signature',
        `algorithm confusion: key ${key.id} is ${key.alg} but the token says ${show(alg)}; the algorithm is pinned to the key`,
        keyInfo,
      );
    }
    candidates = [key];
  } else if (alg === 'HS256') {
    candidates = ctx.hmacKeys().filter((k) => k.state !== 'retired' || k.compromised === true);
    candidates.forEach(assertRecordConsistent);
    if (candidates.some((k) => k.alg !== 'HS256')) {
      throw new CastellanError('INTERNAL', 'hmacKeys() returned a key that is not a zlayer HMAC key');
    }
    if (candidates.length === 0) {
      return result('unknown_key', 'the token is HS256 but this workspace holds no zlayer (HMAC) key', base);
    }
  } else if (alg === 'EdDSA' || alg === 'ES256') {
    return result(
      'unknown_key',
      `the ${alg} token names no key (no kid); Castellan never guesses which key an asymmetric token was signed with`,
      base,
    );
  } else {
    return result('unknown_key', `no key uses ${show(alg)}; Castellan signs only HS256, EdDSA and ES256`, base);
  }

  const signingInput = Buffer.from(`${headerSeg}.${payloadSeg}`, 'latin1');
  const memo = ctx.signatureMemo;
  const signer = candidates.find((k) => {
    if (memo === undefined) return signatureMatches(k, signingInput, signature.bytes);
    if (memo.has(k.id, sha256)) return true;
    const good = signatureMatches(k, signingInput, signature.bytes);
    if (good) memo.add(k.id, sha256);
    return good;
  });
  if (signer === undefined) {
    const first = candidates[0];
    return typeof kid === 'string' && first !== undefined
      ? result('bad_signature', `the signature does not verify with key ${first.id}`, {
          ...base,
          keyId: first.id,
          profile: first.profile,
        })
      : result(
          'bad_signature',
          `the signature verifies with none of the ${candidates.length} zlayer HMAC key(s)`,
          base,
        );
  }
  const verified = { ...base, keyId: signer.id, profile: signer.profile };

  const jti = typeof claims.jti === 'string' ? claims.jti : null;
  // Only the exact token (its SHA-256) is bound to a ledger row. A known jti on other
  // bytes is a forgery reusing a real id, never that token.
  const ledger = ctx.ledgerBySha256(sha256);
  if (ledger === null && jti !== null) {
    const claimed = ctx.ledgerByJti(jti);
    if (claimed !== null) {
      return result(
        'forged',
        `reuses the id of token #${claimed.id} (jti ${show(jti)}), but is not the token Castellan minted under it: ` +
          `its SHA-256 differs from the ledger's, so its claims (scopes, exp) were not issued here`,
        { ...verified, ledger: null },
      );
    }
  }
  if (signer.compromised === true) {
    return result(
      'compromised_key',
      `signed by key ${signer.id}, which is marked compromised: anyone holding it could have made this token, ` +
        'so it is never accepted; revoke what it signed and retire it',
      { ...verified, ledger },
    );
  }
  const exp = claims.exp as number; // checked by claimProblem
  if (ledger !== null && ledger.revoked_at !== null && ledger.revoked_at !== undefined) {
    const why = ledger.revoke_reason ? `: ${ledger.revoke_reason}` : '';
    return result('revoked', `revoked at ${when(ledger.revoked_at)}${why}`, { ...verified, ledger });
  }
  if (exp + CLOCK_LEEWAY_SECS < ctx.now) {
    return result(
      'expired',
      `expired at ${when(exp)}, ${ctx.now - exp} s ago (beyond the ${CLOCK_LEEWAY_SECS} s leeway)`,
      { ...verified, ledger },
    );
  }
  if (ledger === null) {
    return result(
      'not_issued_here',
      `the signature verifies with key ${signer.id}, but Castellan's ledger has no record of this token (by jti or SHA-256): ` +
        'it was minted elsewhere with the same key, e.g. by the daemon itself, or never recorded',
      { ...verified, ledger },
    );
  }
  const leeway =
    exp < ctx.now ? `; it expired ${ctx.now - exp} s ago but is still within the ${CLOCK_LEEWAY_SECS} s leeway` : '';
  return result(
    'valid',
    `signature verified with key ${signer.id}; issued by Castellan; expires at ${when(exp)}${leeway}`,
    {
      ...verified,
      ledger,
    },
  );
}

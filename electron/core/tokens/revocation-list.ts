/**
 * The signed revocation list: the jtis of revoked tokens that could still be
 * accepted, published so verifiers can refuse them (OpenShell's revocation by
 * jti, made portable).
 *
 * Format: a compact JWS whose protected header is
 * `{"alg":"EdDSA"|"ES256","typ":"castellan-revocations+jwt","kid":…}` and whose
 * payload is the list document itself as a JSON object,
 * `{"seq":…,"generated_at":…,"iat":…,"exp":…,"entries":[{"jti":…,"exp":…},…]}`. Being a JSON
 * object payload, it verifies with any JWT library (jose `jwtVerify` with
 * `typ: 'castellan-revocations+jwt'`) against the published JWKS. It is only
 * signed with asymmetric keys: an HMAC-signed list could be forged by every
 * verifier holding the secret.
 *
 * Pruning: an entry is dropped once no verifier could accept its token any more,
 * i.e. when `exp + leeway < now`. The leeway defaults to the daemon's 60 s so a
 * token that expired moments ago, still accepted under that leeway, stays
 * revoked; pass `leewaySecs: 0` for plain `exp < now` pruning. Entries are
 * deduplicated by jti (keeping the latest exp) and sorted by jti, so the same
 * set always yields the same document.
 *
 * Replay: `iat` is when the list was signed (= `generated_at`, kept for existing readers), `exp`
 * its next update — by default REVOCATION_LIST_VALIDITY_SECS (24 h) later: a verifier must fetch a
 * newer list before then and refuse this one after it (any JWT library does, given `exp`). `seq`
 * is a monotonic number persisted in the workspace (and authenticated, record-integrity.ts), one
 * more on every export. The verifier rule (`checkRevocationListFreshness`): refuse a list past its
 * `exp`, and refuse a list whose `seq` is lower than the highest one already accepted — an old
 * list replayed to "un-revoke" a token is refused even while its `exp` has not passed.
 */
import type { KeyObject } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import { CLOCK_LEEWAY_SECS } from './inspect.ts';
import type { AsymmetricProfile } from './key-material.ts';
import { createJwsSigner, protectedHeaderJson } from './sign.ts';

export const REVOCATION_LIST_TYP = 'castellan-revocations+jwt';

export type RevocationEntry = { jti: string; exp: number };
export type RevocationList = { seq: number; generated_at: number; iat: number; exp: number; entries: RevocationEntry[] };

/** How long a revocation list is valid by default: its `exp` (next update) is `iat` + this. */
export const REVOCATION_LIST_VALIDITY_SECS = 24 * 60 * 60;
/** The longest validity accepted: a list valid for longer could be replayed for longer. */
export const MAX_REVOCATION_LIST_VALIDITY_SECS = 30 * 24 * 60 * 60;

const isWholeSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function requireWhole(what: string, v: unknown): number {
  if (!isWholeSeconds(v)) throw new CastellanError('INVALID_INPUT', `${what} must be a non-negative whole number`);
  return v;
}

export function buildRevocationList(input: {
  seq: number;
  /** Unix seconds. */
  generatedAt: number;
  entries: readonly RevocationEntry[];
  /** Unix seconds. */
  now: number;
  leewaySecs?: number;
  /** exp − iat; REVOCATION_LIST_VALIDITY_SECS (24 h) by default. */
  validitySecs?: number;
}): RevocationList {
  const seq = requireWhole('seq', input.seq);
  const generatedAt = requireWhole('generatedAt', input.generatedAt);
  const validity = requireWhole('validitySecs', input.validitySecs ?? REVOCATION_LIST_VALIDITY_SECS);
  if (validity < 60 || validity > MAX_REVOCATION_LIST_VALIDITY_SECS) {
    throw new CastellanError(
      'INVALID_INPUT',
      `a revocation list validity of ${validity} s is invalid: use 60 to ${MAX_REVOCATION_LIST_VALIDITY_SECS} s (30 days)`,
    );
  }
  const now = requireWhole('now', input.now);
  const leeway = requireWhole('leewaySecs', input.leewaySecs ?? CLOCK_LEEWAY_SECS);
  if (!Array.isArray(input.entries)) throw new CastellanError('INVALID_INPUT', 'entries must be an array');

  const latest = new Map<string, number>();
  input.entries.forEach((entry, i) => {
    if (typeof entry?.jti !== 'string' || entry.jti.length === 0) {
      throw new CastellanError('INVALID_INPUT', `revocation entry #${i + 1} has no jti`);
    }
    const exp = requireWhole(`exp of revocation entry #${i + 1}`, entry.exp);
    if (exp + leeway < now) return; // no verifier accepts this token any more
    latest.set(entry.jti, Math.max(exp, latest.get(entry.jti) ?? 0));
  });
  const entries = [...latest.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([jti, exp]) => ({ jti, exp }));
  return { seq, generated_at: generatedAt, iat: generatedAt, exp: generatedAt + validity, entries };
}

/**
 * The verifier rule for a list whose signature already verified: refuse it once past its `exp`
 * (with `leewaySecs`), and refuse a `seq` lower than the highest the verifier has accepted (a
 * replayed older list). Equal `seq` is the same list fetched again. Returns the `seq` to remember.
 */
export function checkRevocationListFreshness(
  list: { seq: unknown; iat: unknown; exp: unknown },
  lastSeenSeq: number | null,
  now: number,
  leewaySecs = 0,
): number {
  if (!isWholeSeconds(list.seq) || !isWholeSeconds(list.iat) || !isWholeSeconds(list.exp)) {
    throw new CastellanError('INVALID_INPUT', 'the revocation list has no whole-number seq, iat and exp');
  }
  if (list.exp + leewaySecs < now) {
    throw new CastellanError('INVALID_INPUT', `revocation list #${list.seq} expired at ${list.exp}; fetch a current one`);
  }
  if (lastSeenSeq !== null && list.seq < lastSeenSeq) {
    throw new CastellanError(
      'INVALID_INPUT',
      `revocation list #${list.seq} is older than #${lastSeenSeq}, already seen: refused as a replay`,
    );
  }
  return list.seq;
}

/** Compact JWS of the list, verifiable with the workspace JWKS. */
export function signRevocationList(
  doc: RevocationList,
  key: { profile: AsymmetricProfile; pkcs8: Uint8Array | KeyObject; kid: string },
): string {
  if (key.profile !== 'ed25519' && key.profile !== 'es256') {
    throw new CastellanError('INVALID_INPUT', 'the revocation list is signed only with an ed25519 or es256 key');
  }
  requireWhole('seq', doc.seq);
  requireWhole('generated_at', doc.generated_at);
  requireWhole('iat', doc.iat);
  requireWhole('exp', doc.exp);
  if (doc.exp <= doc.iat) throw new CastellanError('INVALID_INPUT', 'the revocation list exp must come after its iat');
  if (!Array.isArray(doc.entries)) throw new CastellanError('INVALID_INPUT', 'entries must be an array');
  // Rebuild so the payload has exactly the documented members, in order.
  const payload: RevocationList = {
    seq: doc.seq,
    generated_at: doc.generated_at,
    iat: doc.iat,
    exp: doc.exp,
    entries: doc.entries.map((e, i) => {
      if (typeof e?.jti !== 'string' || e.jti.length === 0) {
        throw new CastellanError('INVALID_INPUT', `revocation entry #${i + 1} has no jti`);
      }
      return { jti: e.jti, exp: requireWhole(`exp of revocation entry #${i + 1}`, e.exp) };
    }),
  };
  const sign = createJwsSigner(key.profile, key.pkcs8, protectedHeaderJson(key.profile, key.kid, REVOCATION_LIST_TYP));
  return sign(JSON.stringify(payload));
}

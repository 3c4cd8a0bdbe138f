/**
 * The signed revocation list: the jtis of revoked tokens that could still be
 * accepted, published so verifiers can refuse them (OpenShell's revocation by
 * jti, made portable).
 *
 * Format: a compact JWS whose protected header is
 * `{"alg":"EdDSA"|"ES256","typ":"castellan-revocations+jwt","kid":…}` and whose
 * payload is the list document itself as a JSON object,
 * `{"seq":…,"generated_at":…,"entries":[{"jti":…,"exp":…},…]}`. Being a JSON
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
 */
import type { KeyObject } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import { CLOCK_LEEWAY_SECS } from './inspect.ts';
import type { AsymmetricProfile } from './key-material.ts';
import { createJwsSigner, protectedHeaderJson } from './sign.ts';

export const REVOCATION_LIST_TYP = 'castellan-revocations+jwt';

export type RevocationEntry = { jti: string; exp: number };
export type RevocationList = { seq: number; generated_at: number; entries: RevocationEntry[] };

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
}): RevocationList {
  const seq = requireWhole('seq', input.seq);
  const generatedAt = requireWhole('generatedAt', input.generatedAt);
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
  return { seq, generated_at: generatedAt, entries };
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
  if (!Array.isArray(doc.entries)) throw new CastellanError('INVALID_INPUT', 'entries must be an array');
  // Rebuild so the payload has exactly the documented members, in order.
  const payload: RevocationList = {
    seq: doc.seq,
    generated_at: doc.generated_at,
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

/**
 * The JWKS verifiers fetch: every asymmetric key a valid token may still be
 * signed with.
 *
 * - `active` and `verify-only` keys are published: a key demoted to verify-only
 *   must keep verifying the tokens it signed until they expire.
 * - `retired` keys are left out: retiring a key is how an admin stops every
 *   token it signed, so publishing it would undo that.
 * - compromised keys are left out from the moment they are flagged, whatever
 *   their state: a thief can sign anything with them, so a verifier must stop
 *   trusting them at once, even if that also refuses the genuine tokens they signed.
 * - zlayer (HMAC) keys are never published: their "public key" is the secret.
 *
 * Each JWK is rebuilt from its public members, so a private member (`d`) in the
 * input can never reach the output.
 */
import { CastellanError } from '../../../shared/errors.ts';
import type { KeyState, Profile, PublicJwk } from './key-material.ts';

export type JwksInput = {
  profile: Profile;
  publicJwk?: PublicJwk | null;
  state: KeyState;
  compromised?: boolean;
};

export type Jwks = { keys: PublicJwk[] };

function publicOnly(profile: Profile, jwk: PublicJwk): PublicJwk {
  if (profile === 'ed25519' && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string') {
    return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, alg: 'EdDSA', use: 'sig' };
  }
  if (
    profile === 'es256' &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.x === 'string' &&
    typeof jwk.y === 'string'
  ) {
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: jwk.kid, alg: 'ES256', use: 'sig' };
  }
  throw new CastellanError(
    'INTEGRITY',
    `the stored public key for kid ${String(jwk.kid)} does not match its ${profile} profile`,
  );
}

export function buildJwks(keys: readonly JwksInput[]): Jwks {
  const out: PublicJwk[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    if (key.profile === 'zlayer' || key.state === 'retired' || key.compromised === true) continue;
    if (!key.publicJwk) {
      throw new CastellanError('INTEGRITY', `an ${key.profile} key has no public JWK to publish`);
    }
    if (typeof key.publicJwk.kid !== 'string' || key.publicJwk.kid.length === 0) {
      throw new CastellanError('INTEGRITY', `an ${key.profile} public JWK has no kid`);
    }
    if (seen.has(key.publicJwk.kid)) continue; // the same key listed twice is one JWK
    seen.add(key.publicJwk.kid);
    out.push(publicOnly(key.profile, key.publicJwk));
  }
  return { keys: out };
}

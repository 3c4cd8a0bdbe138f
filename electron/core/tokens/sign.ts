/**
 * Compact JWS signing for the three profiles.
 *
 * Signing is done with node:crypto directly rather than jose's async
 * `SignJWT`: the zlayer header must be the exact bytes `{"alg":"HS256","typ":"JWT"}`
 * (COMPAT.md), the payload must keep the claim builders' key order, and minting
 * is synchronous and cheap enough to stay close to a raw `crypto.sign` in the
 * benchmark. A signer imports its key once into a KeyObject and precomputes the
 * encoded header; each `sign` is then one JSON.stringify, two base64url
 * encodings and one MAC/signature. jose (and PyJWT) verify the output in tests.
 */
import { createHash, createHmac, createSecretKey, KeyObject, sign as cryptoSign } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import {
  assertKeyFitsProfile,
  PROFILE_ALG,
  privateKeyFromPkcs8,
  type Profile,
  type SigningAlg,
} from './key-material.ts';

export type TokenSigner = {
  readonly profile: Profile;
  readonly alg: SigningAlg;
  readonly kid: string | undefined;
  /** Compact JWS of `claims`, serialised in their own key order. */
  sign(claims: object): string;
};

/** The zlayer header, byte for byte. */
export const ZLAYER_HEADER_JSON = '{"alg":"HS256","typ":"JWT"}';

/** The protected header JSON for a profile: `{"alg","typ":"JWT"}` plus `kid` for asymmetric keys. */
export function protectedHeaderJson(profile: Profile, kid?: string, typ = 'JWT'): string {
  if (profile === 'zlayer') {
    if (kid !== undefined) {
      throw new CastellanError(
        'INVALID_INPUT',
        'zlayer tokens carry no kid: the daemon header is exactly {"alg":"HS256","typ":"JWT"}',
      );
    }
    if (typ !== 'JWT') {
      throw new CastellanError('INVALID_INPUT', 'zlayer tokens always have typ JWT');
    }
    return ZLAYER_HEADER_JSON;
  }
  if (typeof kid !== 'string' || kid.length === 0) {
    throw new CastellanError('INVALID_INPUT', `${profile} tokens need a kid so verifiers can pin the key`);
  }
  return JSON.stringify({ alg: PROFILE_ALG[profile], typ, kid });
}

function signingKey(profile: Profile, secretOrPkcs8: Uint8Array | KeyObject): KeyObject {
  if (secretOrPkcs8 instanceof KeyObject) {
    assertKeyFitsProfile(profile, secretOrPkcs8, 'sign');
    return secretOrPkcs8;
  }
  if (!(secretOrPkcs8 instanceof Uint8Array) || secretOrPkcs8.byteLength === 0) {
    throw new CastellanError('INVALID_INPUT', `a ${profile} signing key must be non-empty bytes or a KeyObject`);
  }
  if (profile === 'zlayer') return createSecretKey(Buffer.from(secretOrPkcs8));
  return privateKeyFromPkcs8(profile, secretOrPkcs8);
}

function signatureFunction(profile: Profile, key: KeyObject): (input: Buffer) => Buffer {
  switch (profile) {
    case 'zlayer':
      return (input) => createHmac('sha256', key).update(input).digest();
    case 'ed25519':
      return (input) => cryptoSign(null, input, key);
    case 'es256':
      // JWS wants the raw r||s form (RFC 7518 §3.4), not DER.
      return (input) => cryptoSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
  }
}

/** Builds a compact JWS over an arbitrary JSON payload with a given header JSON. Used by JWT and revocation-list signing. */
export function createJwsSigner(
  profile: Profile,
  secretOrPkcs8: Uint8Array | KeyObject,
  headerJson: string,
): (payloadJson: string) => string {
  const key = signingKey(profile, secretOrPkcs8);
  const signature = signatureFunction(profile, key);
  const headerB64 = Buffer.from(headerJson, 'utf8').toString('base64url');
  return (payloadJson) => {
    const signingInput = `${headerB64}.${Buffer.from(payloadJson, 'utf8').toString('base64url')}`;
    return `${signingInput}.${signature(Buffer.from(signingInput, 'latin1')).toString('base64url')}`;
  };
}

/**
 * A reusable signer: imports the key once. zlayer takes the secret-string bytes
 * (or a secret KeyObject) and no kid; ed25519/es256 take PKCS#8 DER (or a private
 * KeyObject) and require the kid.
 */
export function createTokenSigner(profile: Profile, secretOrPkcs8: Uint8Array | KeyObject, kid?: string): TokenSigner {
  const alg = PROFILE_ALG[profile];
  if (alg === undefined) {
    throw new CastellanError('INVALID_INPUT', `unknown token profile '${String(profile)}'`);
  }
  const jws = createJwsSigner(profile, secretOrPkcs8, protectedHeaderJson(profile, kid));
  return {
    profile,
    alg,
    kid,
    sign(claims: object): string {
      if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
        throw new CastellanError('INVALID_INPUT', 'token claims must be a JSON object');
      }
      // A zlayer token with aud is one every daemon rejects; refuse to mint it.
      if (profile === 'zlayer' && Object.hasOwn(claims, 'aud')) {
        throw new CastellanError(
          'INVALID_INPUT',
          'zlayer tokens must not carry aud: the daemon rejects any token with an audience',
        );
      }
      return jws(JSON.stringify(claims));
    },
  };
}

/** One-shot signing. For many tokens with one key, use createTokenSigner. */
export function signToken(
  profile: Profile,
  secretOrPkcs8: Uint8Array | KeyObject,
  claims: object,
  kid?: string,
): string {
  return createTokenSigner(profile, secretOrPkcs8, kid).sign(claims);
}

/** Lowercase hex SHA-256 of the token's exact characters: the ledger's key for tokens without jti. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

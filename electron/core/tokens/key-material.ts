/**
 * Signing-key material for the three token profiles.
 *
 * - `zlayer`: HMAC-SHA256 with the daemon's shared secret (see zlayer-secret.ts).
 *   The secret is the key *string*; the HMAC key is its bytes.
 * - `ed25519`: EdDSA over Ed25519, the OpenShell gateway model.
 * - `es256`: ECDSA P-256 with SHA-256.
 *
 * Private keys travel as PKCS#8 DER bytes so the storage layer can encrypt them
 * as an opaque blob; public keys travel as JWKs whose `kid` is the RFC 7638
 * thumbprint, so a kid names exactly one public key and can be recomputed by
 * anyone holding the JWKS.
 */
import { createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { CastellanError } from '../../../shared/errors.ts';
import { generateZlayerKeyFile, zlayerHmacKeyBytes } from './zlayer-secret.ts';

export const PROFILES = ['zlayer', 'ed25519', 'es256'] as const;
export type Profile = (typeof PROFILES)[number];
export type AsymmetricProfile = Exclude<Profile, 'zlayer'>;

export type SigningAlg = 'HS256' | 'EdDSA' | 'ES256';

/** The one algorithm each profile signs and verifies with. Never negotiated from a token. */
export const PROFILE_ALG = {
  zlayer: 'HS256',
  ed25519: 'EdDSA',
  es256: 'ES256',
} as const satisfies Record<Profile, SigningAlg>;

/** Lifecycle of a signing key, as the ledger stores it. */
export type KeyState = 'active' | 'verify-only' | 'retired';

/** A public JWK as Castellan publishes it: public members only, plus kid/alg/use. */
export type PublicJwk =
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' };

export type KeyMaterial = {
  profile: Profile;
  alg: SigningAlg;
  /** zlayer: the bytes of the key string; asymmetric: PKCS#8 DER of the private key. */
  secret: Uint8Array;
  /** Asymmetric profiles only. */
  publicJwk?: PublicJwk;
  /** Asymmetric profiles only: RFC 7638 SHA-256 thumbprint of `publicJwk`. */
  kid?: string;
};

export function isProfile(value: unknown): value is Profile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value);
}

/** The profile that signs with `alg`, or null for an algorithm Castellan never uses. */
export function profileForAlg(alg: unknown): Profile | null {
  switch (alg) {
    case 'HS256':
      return 'zlayer';
    case 'EdDSA':
      return 'ed25519';
    case 'ES256':
      return 'es256';
    default:
      return null;
  }
}

function assertAsymmetric(profile: Profile): asserts profile is AsymmetricProfile {
  if (profile !== 'ed25519' && profile !== 'es256') {
    throw new CastellanError('INVALID_INPUT', `profile '${String(profile)}' has no public key`);
  }
}

/**
 * Throws unless `key` is the kind of key `profile` uses. `usage` says whether a
 * private (signing) or public/secret (verifying) key is expected; a private key
 * is also accepted for verifying, since Node derives its public half.
 */
export function assertKeyFitsProfile(profile: Profile, key: KeyObject, usage: 'sign' | 'verify'): void {
  if (profile === 'zlayer') {
    if (key.type !== 'secret') {
      throw new CastellanError('INVALID_INPUT', `a zlayer (HS256) key must be a secret key, not a ${key.type} key`);
    }
    return;
  }
  if (key.type === 'secret' || (usage === 'sign' && key.type !== 'private')) {
    throw new CastellanError(
      'INVALID_INPUT',
      `an ${profile} key used to ${usage} must be ${usage === 'sign' ? 'a private' : 'a public or private'} key, not a ${key.type} key`,
    );
  }
  if (profile === 'ed25519' && key.asymmetricKeyType !== 'ed25519') {
    throw new CastellanError(
      'INVALID_INPUT',
      `an ed25519 key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  if (profile === 'es256') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      throw new CastellanError(
        'INVALID_INPUT',
        `an es256 key must be EC P-256, not ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`,
      );
    }
  }
}

/** Parses PKCS#8 DER into a private KeyObject of the profile's type. */
export function privateKeyFromPkcs8(profile: AsymmetricProfile, pkcs8Der: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8Der), format: 'der', type: 'pkcs8' });
  } catch {
    // Node's parser message is not useful to an admin and we never echo key bytes.
    throw new CastellanError('INVALID_INPUT', `the ${profile} private key is not valid PKCS#8 DER`);
  }
  assertKeyFitsProfile(profile, key, 'sign');
  return key;
}

/** The public JWK (with kid, alg, use) of an Ed25519 or P-256 key given as a KeyObject. */
export async function publicJwkFromKeyObject(profile: AsymmetricProfile, key: KeyObject): Promise<PublicJwk> {
  assertKeyFitsProfile(profile, key, 'verify');
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const exported = pub.export({ format: 'jwk' });
  if (profile === 'ed25519') {
    if (exported.kty !== 'OKP' || exported.crv !== 'Ed25519' || typeof exported.x !== 'string') {
      throw new CastellanError('INTERNAL', 'could not export the Ed25519 public key as a JWK');
    }
    const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: exported.x }, 'sha256');
    return { kty: 'OKP', crv: 'Ed25519', x: exported.x, kid, alg: 'EdDSA', use: 'sig' };
  }
  if (
    exported.kty !== 'EC' ||
    exported.crv !== 'P-256' ||
    typeof exported.x !== 'string' ||
    typeof exported.y !== 'string'
  ) {
    throw new CastellanError('INTERNAL', 'could not export the P-256 public key as a JWK');
  }
  const kid = await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y }, 'sha256');
  return { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y, kid, alg: 'ES256', use: 'sig' };
}

/** The public JWK of a private key held as PKCS#8 DER. Never includes private members. */
export async function publicJwkFromPrivate(profile: Profile, pkcs8Der: Uint8Array): Promise<PublicJwk> {
  assertAsymmetric(profile);
  return publicJwkFromKeyObject(profile, privateKeyFromPkcs8(profile, pkcs8Der));
}

/** Fresh key material for a profile. zlayer keys come from a new 64-byte key file. */
export async function generateKeyMaterial(profile: Profile): Promise<KeyMaterial> {
  if (profile === 'zlayer') {
    const { secret } = generateZlayerKeyFile();
    return { profile, alg: 'HS256', secret: zlayerHmacKeyBytes(secret) };
  }
  assertAsymmetric(profile);
  const { privateKey } =
    profile === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const publicJwk = await publicJwkFromKeyObject(profile, privateKey);
  return { profile, alg: PROFILE_ALG[profile], secret: new Uint8Array(pkcs8), publicJwk, kid: publicJwk.kid };
}

/**
 * The KeyObject the inspector verifies with: an HMAC secret key for zlayer (from
 * the key string's bytes), a public key for the asymmetric profiles (from PKCS#8
 * DER of the private key, or from the public JWK). Import once, reuse for every check.
 */
export function createVerifyKey(profile: Profile, material: Uint8Array | PublicJwk): KeyObject {
  if (profile === 'zlayer') {
    if (!(material instanceof Uint8Array) || material.byteLength === 0) {
      throw new CastellanError('INVALID_INPUT', 'a zlayer verify key needs the non-empty secret bytes');
    }
    return createSecretKey(Buffer.from(material));
  }
  assertAsymmetric(profile);
  if (material instanceof Uint8Array) {
    return createPublicKey(privateKeyFromPkcs8(profile, material));
  }
  let key: KeyObject;
  try {
    // Rebuild from public members only, so a JWK that smuggles `d` cannot become a private key here.
    const jwk =
      material.kty === 'OKP'
        ? { kty: material.kty, crv: material.crv, x: material.x }
        : { kty: material.kty, crv: material.crv, x: material.x, y: material.y };
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new CastellanError('INVALID_INPUT', `the ${profile} public JWK (kid ${material.kid}) is not a valid key`);
  }
  assertKeyFitsProfile(profile, key, 'verify');
  return key;
}

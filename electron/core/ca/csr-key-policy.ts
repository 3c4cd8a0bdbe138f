/**
 * The public keys the worker CA certifies, judged from the CSR's SubjectPublicKeyInfo bytes
 * before any crypto library is asked to use them:
 *
 * - RSA (rsaEncryption): a modulus of 2048–16384 bits that is odd, and a public exponent that is
 *   odd, at least 65537 and below the modulus. Node accepts an RSA "key" with exponent 1, and
 *   with it every "signature" is its own message: a CSR signature forged without any key
 *   verifies, and so would every signature the worker later makes. Even values can never be an
 *   RSA modulus or a usable exponent, and small exponents invite the classic low-exponent attacks.
 * - EC (id-ecPublicKey): only the named curves P-256 and P-384 (no explicit parameters, which
 *   can describe a weak curve under a familiar name), with the point on the curve — checked
 *   here, not left to whichever OpenSSL build is underneath.
 * - Ed25519: a 32-byte key, as Node reads it.
 *
 * Anything else is left to the caller's type check (which refuses it by name).
 */
import type { ErrorCode } from '../../../shared/errors.ts';
import { TAG, contentOf, decodeOid, expectTag, readChildren, readWhole } from './der.ts';

export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 16384;
export const RSA_MIN_EXPONENT = 65537n;

const OID_RSA = '1.2.840.113549.1.1.1';
const OID_EC = '1.2.840.10045.2.1';

interface Curve {
  name: string;
  bytes: number;
  p: bigint;
  b: bigint;
}

/** The short Weierstrass curves y² = x³ − 3x + b (mod p) of FIPS 186-4 D.1.2. */
const CURVES: Record<string, Curve> = {
  '1.2.840.10045.3.1.7': {
    name: 'P-256',
    bytes: 32,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  '1.3.132.0.34': {
    name: 'P-384',
    bytes: 48,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
};

export interface KeyProblem {
  code: ErrorCode;
  message: string;
  /**
   * The key is no key at all (exponent 1, an even number, a point off the curve): a signature
   * "verified" with it proves nothing, so the CSR's signature is not checked against it.
   */
  broken: boolean;
}

function bigFrom(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** An INTEGER's value; negative (or non-minimal) encodings are refused by the caller as malformed. */
function positiveInteger(bytes: Uint8Array): bigint | null {
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) return null;
  if (bytes.length > 1 && bytes[0] === 0 && (bytes[1]! & 0x80) === 0) return null;
  return bigFrom(bytes);
}

function rsaProblem(keyBits: Uint8Array): KeyProblem | null {
  let n: bigint | null;
  let e: bigint | null;
  try {
    const seq = expectTag(readWhole(keyBits), TAG.SEQUENCE, 'RSAPublicKey');
    const [nTlv, eTlv, extra] = readChildren(keyBits, seq);
    if (extra) return { code: 'INVALID_INPUT', message: 'the RSA public key has unexpected trailing fields', broken: true };
    n = positiveInteger(contentOf(keyBits, expectTag(nTlv, TAG.INTEGER, 'modulus')));
    e = positiveInteger(contentOf(keyBits, expectTag(eTlv, TAG.INTEGER, 'publicExponent')));
  } catch {
    return { code: 'INVALID_INPUT', message: 'the RSA public key is malformed', broken: true };
  }
  if (n === null || e === null) {
    return { code: 'INVALID_INPUT', message: 'the RSA public key has a negative or badly encoded modulus or exponent', broken: true };
  }
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS) {
    return { code: 'INVALID_INPUT', message: `RSA key of ${bits} bits is below the ${RSA_MIN_BITS}-bit minimum`, broken: false };
  }
  if (bits > RSA_MAX_BITS) {
    return { code: 'INVALID_INPUT', message: `RSA key of ${bits} bits is above the ${RSA_MAX_BITS}-bit maximum`, broken: true };
  }
  if ((n & 1n) === 0n) return { code: 'INVALID_INPUT', message: 'the RSA modulus is even, so it is not an RSA key', broken: true };
  if ((e & 1n) === 0n) {
    return { code: 'INVALID_INPUT', message: `the RSA public exponent ${e} is even, so it is not an RSA key`, broken: true };
  }
  if (e < RSA_MIN_EXPONENT) {
    return {
      code: 'INVALID_INPUT',
      message: `the RSA public exponent ${e} is below ${RSA_MIN_EXPONENT}${e === 1n ? ' (with exponent 1 any signature can be forged without a key)' : ''}`,
      broken: true,
    };
  }
  if (e >= n) return { code: 'INVALID_INPUT', message: 'the RSA public exponent is not below the modulus', broken: true };
  return null;
}

/** Whether the encoded point (SEC 1 §2.3.4) lies on `curve`. */
function pointOnCurve(point: Uint8Array, curve: Curve): boolean {
  const { p, b, bytes } = curve;
  const rhsOf = (x: bigint) => mod(x * x * x - 3n * x + b, p);
  if (point.length === 1 + 2 * bytes && point[0] === 0x04) {
    const x = bigFrom(point.subarray(1, 1 + bytes));
    const y = bigFrom(point.subarray(1 + bytes));
    if (x >= p || y >= p) return false;
    return mod(y * y, p) === rhsOf(x);
  }
  if (point.length === 1 + bytes && (point[0] === 0x02 || point[0] === 0x03)) {
    const x = bigFrom(point.subarray(1));
    if (x >= p) return false;
    // Some y exists iff x³ − 3x + b is a square mod p (Euler's criterion).
    const rhs = rhsOf(x);
    return rhs === 0n || modPow(rhs, (p - 1n) / 2n, p) === 1n;
  }
  // The point at infinity (0x00), hybrid forms and wrong lengths are not public keys.
  return false;
}

function ecProblem(params: Uint8Array | null, paramsTag: number | null, point: Uint8Array): KeyProblem | null {
  if (params === null || paramsTag !== TAG.OID) {
    return {
      code: 'UNSUPPORTED',
      message: 'EC keys with explicit or missing curve parameters are not accepted; use the named curve P-256 or P-384',
      broken: true,
    };
  }
  const curveOid = decodeOid(params);
  const curve = CURVES[curveOid];
  // Another named curve (P-521, secp256k1, …) is refused by name by the caller's key-type check.
  if (!curve) return null;
  if (!pointOnCurve(point, curve)) {
    return { code: 'INVALID_INPUT', message: `the EC public key is not a point on the curve ${curve.name}`, broken: true };
  }
  return null;
}

/**
 * Why the key in `spkiDer` must not be certified, or null when it passes (or is of a type this
 * check leaves to the caller). Reads the bytes itself: never throws.
 */
export function spkiKeyProblem(spkiDer: Uint8Array): KeyProblem | null {
  let algOid: string;
  let params: Uint8Array | null = null;
  let paramsTag: number | null = null;
  let keyBits: Uint8Array;
  try {
    const spki = expectTag(readWhole(spkiDer), TAG.SEQUENCE, 'SubjectPublicKeyInfo');
    const [alg, bits] = readChildren(spkiDer, spki);
    const [algId, algParams] = readChildren(spkiDer, expectTag(alg, TAG.SEQUENCE, 'algorithm'));
    algOid = decodeOid(contentOf(spkiDer, expectTag(algId, TAG.OID, 'algorithm id')));
    if (algParams) {
      params = contentOf(spkiDer, algParams);
      paramsTag = algParams.tag;
    }
    const bitString = contentOf(spkiDer, expectTag(bits, TAG.BIT_STRING, 'subjectPublicKey'));
    if (bitString.length < 1 || bitString[0] !== 0) {
      return { code: 'INVALID_INPUT', message: 'the CSR public key BIT STRING is malformed', broken: true };
    }
    keyBits = bitString.subarray(1);
  } catch {
    return { code: 'INVALID_INPUT', message: 'the CSR public key (SubjectPublicKeyInfo) is malformed', broken: true };
  }
  if (algOid === OID_RSA) return rsaProblem(keyBits);
  if (algOid === OID_EC) return ecProblem(params, paramsTag, keyBits);
  return null;
}

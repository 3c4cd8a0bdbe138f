/**
 * CSRs no honest tool makes, built byte by byte: an RSA "key" with public exponent 1 (whose
 * signature is forged without any private key), and an EC key whose point is off its curve.
 */
import { createECDH, createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import {
  TAG,
  bitString,
  encodeName,
  integerFromBigInt,
  nullValue,
  oid,
  pemEncode,
  sequence,
  setOf,
  smallInteger,
  tlv,
} from '../../electron/core/ca/der.ts';

const OID_CN = '2.5.4.3';
const OID_SAN = '2.5.29.17';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), nullValue());
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
/** DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** subjectAltName with DNS names only, as an extensionRequest attribute ([0] IMPLICIT SET). */
function attributes(dnsNames: string[]): Uint8Array {
  if (dnsNames.length === 0) return tlv(0xa0);
  const names = sequence(...dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'latin1'))));
  const ext = sequence(oid(OID_SAN), tlv(TAG.OCTET_STRING, names));
  return tlv(0xa0, sequence(oid(OID_EXTENSION_REQUEST), setOf(sequence(ext))));
}

function requestInfo(spki: Uint8Array, cn: string, dnsNames: string[]): Uint8Array {
  return sequence(smallInteger(0), encodeName([[OID_CN, cn]]), spki, attributes(dnsNames));
}

/**
 * A PKCS#10 request for an RSA "public key" (n, e) whose signature is the PKCS#1 v1.5 encoding
 * of the request's own hash: with e = 1 that is a valid signature, made without any key.
 */
export function rsaExponentCsr(options: { e?: bigint; n?: bigint; dnsNames?: string[] } = {}): {
  pem: string;
  der: Uint8Array;
  tbs: Uint8Array;
  signature: Uint8Array;
  spkiPem: string;
} {
  const e = options.e ?? 1n;
  // A 2048-bit odd number; no one knows (or needs) its factors.
  const n = options.n ?? ((1n << 2047n) | (BigInt(`0x${createHash('sha256').update('castellan').digest('hex')}`) << 64n) | 1n);
  const spki = sequence(
    sequence(oid('1.2.840.113549.1.1.1'), nullValue()),
    bitString(sequence(integerFromBigInt(n), integerFromBigInt(e))),
  );
  const tbs = requestInfo(spki, 'forged', options.dnsNames ?? []);
  const k = 256;
  const digest = createHash('sha256').update(tbs).digest();
  const t = Buffer.concat([SHA256_DIGEST_INFO, digest]);
  const em = Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(k - t.length - 3, 0xff), Buffer.from([0x00]), t]);
  const signature = new Uint8Array(em);
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(signature));
  return { pem: pemEncode(der, 'CERTIFICATE REQUEST'), der, tbs, signature, spkiPem: pemEncode(spki, 'PUBLIC KEY') };
}

/**
 * A P-256 request signed by a real key, whose SubjectPublicKeyInfo then has its point's last
 * Y byte changed so the point leaves the curve. (Its signature no longer matters: the key is
 * refused before it is used.)
 */
export function offCurveCsr(dnsNames: string[] = []): string {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  spki[spki.length - 1]! ^= 0x01;
  const tbs = requestInfo(spki, 'off-curve', dnsNames);
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, privateKey)));
  return pemEncode(der, 'CERTIFICATE REQUEST');
}

/**
 * A P-256 request whose key is in compressed form (02/03 ‖ X), signed by the real key; with
 * `badX`, X is replaced by one for which no point exists (x³ − 3x + b is not a square).
 */
export function compressedP256Csr(badX?: bigint): string {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  let point = ecdh.getPublicKey(null, 'compressed');
  if (badX !== undefined) point = Buffer.concat([point.subarray(0, 1), Buffer.from(badX.toString(16).padStart(64, '0'), 'hex')]);
  const spki = sequence(sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), bitString(point));
  const privateKey = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: ecdh.getPrivateKey().toString('base64url'), ...xy(ecdh.getPublicKey()) },
    format: 'jwk',
  });
  const tbs = requestInfo(spki, 'compressed', []);
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, privateKey)));
  return pemEncode(der, 'CERTIFICATE REQUEST');
}

function xy(uncompressed: Buffer): { x: string; y: string } {
  return { x: uncompressed.subarray(1, 33).toString('base64url'), y: uncompressed.subarray(33).toString('base64url') };
}

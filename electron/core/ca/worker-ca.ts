/**
 * The worker certificate authority, as ZLayer's `worker_ca.rs` defines it: an ECDSA P-256
 * self-signed CA (`CN=ZLayer Worker CA, O=ZLayer`) that signs worker CSRs into short-lived
 * mTLS leaves whose subject the signer chooses (`CN=worker-<node id>, O=ZLayer Worker`).
 *
 * Pure functions: keys go in and out as PKCS#8 DER so the storage layer can seal them, and
 * certificates as DER. Certificates are written with der.ts and signed with node:crypto
 * (see der.ts for why @peculiar/x509 is not used at run time).
 */
import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  hash,
  randomBytes,
  sign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  GeneralName,
  id_ad_ocsp,
  id_ce_cRLDistributionPoints,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';
import { CastellanError } from '../../../shared/errors.ts';
import { MAX_LEAF_DAYS_CEILING } from '../../../shared/workspace-settings.ts';
import { analyzeCsr, describePublicKey, isCsrAnalysis } from './csr.ts';
import type { CsrAnalysis, San } from './csr.ts';
import type { SanPolicy } from './san-policy.ts';
import {
  TAG,
  bitString,
  booleanValue,
  contentOf,
  contextConstructed,
  contextPrimitive,
  decodeOid,
  decodeTime,
  encodeName,
  encodingOf,
  explicit,
  expectTag,
  formatName,
  integerFromUnsigned,
  integerHex,
  namedBitString,
  octetString,
  oid,
  pemDecodeAll,
  pemEncode,
  readChildren,
  readWhole,
  sequence,
  smallInteger,
  time,
  tlv,
} from './der.ts';

export const WORKER_CA_SUBJECT = 'CN=ZLayer Worker CA, O=ZLayer';
export const WORKER_LEAF_ORGANIZATION = 'ZLayer Worker';
export const CA_VALIDITY_DAYS = 10 * 365;
export const DEFAULT_LEAF_VALIDITY_DAYS = 90;
/** No leaf lives longer, whatever a workspace allows (its own limit, csr_max_leaf_days, is lower by default). */
export const MAX_LEAF_VALIDITY_DAYS = MAX_LEAF_DAYS_CEILING;
/** Certificates start a minute in the past so a peer whose clock lags slightly still accepts them. */
const BACKDATE_MS = 60_000;
const DAY_MS = 86_400_000;

export const OIDS = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** keyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

// ───────────────────────────── reading certificates ─────────────────────────────

export interface CertificateExtension {
  critical: boolean;
  /** extnValue's contents (the DER of the extension's own structure). */
  value: Uint8Array;
}

/** The parts of an X.509 certificate the CA needs, as views into `der`. */
export interface ParsedCertificate {
  der: Uint8Array;
  /** Lowercase hex, no leading zeros. */
  serialHex: string;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  spkiDer: Uint8Array;
  /** The subjectPublicKey BIT STRING's bits. */
  subjectPublicKey: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, CertificateExtension>;
}

/** Parse a DER certificate; throws INVALID_INPUT "not an X.509 certificate: …". */
export function readCertificate(der: Uint8Array): ParsedCertificate {
  try {
    const root = expectTag(readWhole(der), TAG.SEQUENCE, 'Certificate');
    const [tbs, sigAlg, sig] = readChildren(der, root);
    expectTag(sigAlg, TAG.SEQUENCE, 'signatureAlgorithm');
    expectTag(sig, TAG.BIT_STRING, 'signatureValue');
    const fields = readChildren(der, expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'));
    let i = fields[0]?.tag === contextConstructed(0) ? 1 : 0;
    const serial = expectTag(fields[i++], TAG.INTEGER, 'serialNumber');
    expectTag(fields[i++], TAG.SEQUENCE, 'signature');
    const issuer = expectTag(fields[i++], TAG.SEQUENCE, 'issuer');
    const validity = expectTag(fields[i++], TAG.SEQUENCE, 'validity');
    const subject = expectTag(fields[i++], TAG.SEQUENCE, 'subject');
    const spki = expectTag(fields[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
    const [notBefore, notAfter] = readChildren(der, validity);
    if (!notBefore || !notAfter) throw new CastellanError('INVALID_INPUT', 'validity is incomplete');
    const [, publicKeyBits] = readChildren(der, spki);
    expectTag(publicKeyBits, TAG.BIT_STRING, 'subjectPublicKey');

    const extensions = new Map<string, CertificateExtension>();
    const extField = fields.slice(i).find((f) => f.tag === contextConstructed(3));
    if (extField) {
      const [list] = readChildren(der, extField);
      for (const ext of readChildren(der, expectTag(list, TAG.SEQUENCE, 'Extensions'))) {
        const parts = readChildren(der, expectTag(ext, TAG.SEQUENCE, 'Extension'));
        const extOid = decodeOid(contentOf(der, expectTag(parts[0], TAG.OID, 'extnID')));
        const critical = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && contentOf(der, parts[1]!)[0] !== 0;
        const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue');
        if (extensions.has(extOid)) throw new CastellanError('INVALID_INPUT', `extension ${extOid} appears twice`);
        extensions.set(extOid, { critical, value: contentOf(der, value) });
      }
    }
    return {
      der,
      serialHex: integerHex(contentOf(der, serial)),
      issuerDer: encodingOf(der, issuer),
      subjectDer: encodingOf(der, subject),
      spkiDer: encodingOf(der, spki),
      subjectPublicKey: contentOf(der, publicKeyBits!).subarray(1),
      notBefore: decodeTime(der, notBefore),
      notAfter: decodeTime(der, notAfter),
      extensions,
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CastellanError('INVALID_INPUT', `not an X.509 certificate: ${reason}`);
  }
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (what openssl uses too). */
export function keyIdentifier(subjectPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha1', subjectPublicKey, 'buffer'));
}

/** The certificate's subjectKeyIdentifier, or the method-1 identifier if it has none. */
export function subjectKeyId(cert: ParsedCertificate): Uint8Array {
  const ext = cert.extensions.get(OIDS.subjectKeyIdentifier);
  if (ext) {
    try {
      return contentOf(ext.value, expectTag(readWhole(ext.value), TAG.OCTET_STRING, 'keyIdentifier'));
    } catch {
      // An unreadable SKI falls back to the computed identifier, which is what verifiers match anyway.
    }
  }
  return keyIdentifier(cert.subjectPublicKey);
}

/** The keyUsage bits set, or null when the certificate has no keyUsage extension. */
function keyUsageBits(cert: ParsedCertificate): Set<number> | null {
  const ext = cert.extensions.get(OIDS.keyUsage);
  if (!ext) return null;
  const bits = contentOf(ext.value, expectTag(readWhole(ext.value), TAG.BIT_STRING, 'keyUsage'));
  const set = new Set<number>();
  for (let byte = 1; byte < bits.length; byte++) {
    for (let bit = 0; bit < 8; bit++) if (bits[byte]! & (0x80 >> bit)) set.add((byte - 1) * 8 + bit);
  }
  return set;
}

const UPPER_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

/** SHA-256 of the DER, as colon-separated uppercase hex (the form openssl and browsers show). */
export function fingerprintSha256(der: Uint8Array): string {
  const digest = hash('sha256', der, 'buffer');
  let text = UPPER_HEX[digest[0]!]!;
  for (let i = 1; i < digest.length; i++) text += `:${UPPER_HEX[digest[i]!]!}`;
  return text;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

// ───────────────────────────── writing certificates ─────────────────────────────

function extension(extOid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? sequence(oid(extOid), booleanValue(true), octetString(value))
    : sequence(oid(extOid), octetString(value));
}

function authorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extension(OIDS.authorityKeyIdentifier, false, sequence(tlv(contextPrimitive(0), keyId)));
}

/** 16 random bytes, top bit clear (positive) and next bit set (no leading zero): 126 random bits. */
function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

interface CertificateFields {
  serial: Uint8Array;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Uint8Array;
  extensions: Uint8Array[];
  signingKey: KeyObject;
}

/** AlgorithmIdentifier ecdsa-with-SHA256 (no parameters). */
const ECDSA_WITH_SHA256 = sequence(oid(OIDS.ecdsaWithSha256));
/** version [0] EXPLICIT v3. */
const VERSION_V3 = explicit(0, smallInteger(2));

/** An X.509 v3 certificate signed ecdsa-with-SHA256 by a P-256 key. */
function buildCertificate(f: CertificateFields): Uint8Array {
  const algorithm = ECDSA_WITH_SHA256;
  const tbs = sequence(
    VERSION_V3,
    integerFromUnsigned(f.serial),
    algorithm,
    f.issuerDer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subjectDer,
    f.spkiDer,
    explicit(3, sequence(...f.extensions)),
  );
  // The KeyObject itself: DER is the default signature encoding, and an options object costs
  // two exceptions inside Node's key-type sniffing per call.
  const signature = sign('sha256', tbs, f.signingKey);
  return sequence(tbs, algorithm, bitString(signature));
}

// ───────────────────────────── the CA itself ─────────────────────────────

function requireDate(value: unknown, what: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a valid date`);
  }
  return value;
}

/** Generate a fresh worker CA exactly as worker_ca.rs does. */
export async function createWorkerCa(
  options: { now?: Date } = {},
): Promise<{ certDer: Uint8Array; keyPkcs8Der: Uint8Array }> {
  const now = requireDate(options.now ?? new Date(), 'now').getTime();
  const { privateKey, publicKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const spkiDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const spki = readWhole(spkiDer);
  const subjectPublicKey = contentOf(spkiDer, readChildren(spkiDer, spki)[1]!).subarray(1);
  const name = encodeName([
    [OIDS.commonName, 'ZLayer Worker CA'],
    [OIDS.organizationName, 'ZLayer'],
  ]);
  const certDer = buildCertificate({
    serial: randomSerial(),
    issuerDer: name,
    subjectDer: name,
    notBefore: wholeSeconds(now - BACKDATE_MS),
    notAfter: wholeSeconds(now + CA_VALIDITY_DAYS * DAY_MS),
    spkiDer,
    extensions: [
      extension(OIDS.basicConstraints, true, sequence(booleanValue(true))),
      extension(
        OIDS.keyUsage,
        true,
        namedBitString([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
      ),
      extension(OIDS.subjectKeyIdentifier, false, octetString(keyIdentifier(subjectPublicKey))),
    ],
    signingKey: privateKey,
  });
  return { certDer, keyPkcs8Der: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })) };
}

/** basicConstraints cA (RFC 5280 §4.2.1.9), or null when the extension is absent. */
function basicConstraintsCa(cert: ParsedCertificate): boolean | null {
  const ext = cert.extensions.get(OIDS.basicConstraints);
  if (!ext) return null;
  const [first] = readChildren(ext.value, expectTag(readWhole(ext.value), TAG.SEQUENCE, 'basicConstraints'));
  return first?.tag === TAG.BOOLEAN && contentOf(ext.value, first)[0] !== 0;
}

/** Why `cert` cannot act as the worker CA, or null. */
function caCertificateProblem(cert: ParsedCertificate): string | null {
  const ca = basicConstraintsCa(cert);
  if (ca === null) return 'certificate is not a CA (it has no basicConstraints extension)';
  if (!ca) return 'certificate is not a CA (basicConstraints cA is false)';
  const usage = keyUsageBits(cert);
  if (usage && !usage.has(KEY_USAGE.keyCertSign)) return 'the CA certificate keyUsage lacks keyCertSign';
  if (usage && !usage.has(KEY_USAGE.cRLSign))
    return 'the CA certificate keyUsage lacks cRLSign, which revocation lists need';
  return null;
}

/** The worker CA signs ecdsa-with-SHA256 only (ZLayer's CA and its CRLs): the key must be P-256. */
function requireP256(key: KeyObject, whose: string): void {
  const { keyType, keySize } = describePublicKey(createPublicKey(key));
  if (keyType !== 'P-256') {
    const shown = keyType === 'RSA' ? `RSA (${keySize} bits)` : keyType;
    throw new CastellanError('UNSUPPORTED', `${whose} is ${shown}; the worker CA signs with ECDSA P-256 only`);
  }
}

function nodeCertificate(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch {
    throw new CastellanError('INVALID_INPUT', 'not an X.509 certificate: Node could not parse it');
  }
}

/**
 * A stored CA, opened and checked: certificate parts, the signing key, and the CA's key id.
 * Made only by openCa (frozen); open it once to sign many CSRs (signWorkerCsr's `ca`).
 */
export interface OpenedCa {
  readonly cert: ParsedCertificate;
  readonly x509: X509Certificate;
  readonly key: KeyObject;
  readonly keyId: Uint8Array;
  /** The authorityKeyIdentifier extension every leaf of this CA carries, encoded once. */
  readonly authorityKeyIdentifier: Uint8Array;
}

/** Every OpenedCa openCa returned: signWorkerCsr signs with no other. */
const openedCas = new WeakSet<OpenedCa>();

/**
 * Open the CA material the storage layer hands back. The pair was checked on creation or
 * import, so a failure here means the stored data is damaged: INTEGRITY. The caller keeps
 * (and zeroes) its key bytes; the result holds its own copy of the certificate.
 */
export function openCa(caCertDer: Uint8Array, caKeyPkcs8Der: Uint8Array): OpenedCa {
  const certDer = new Uint8Array(caCertDer);
  const cert = readCertificate(certDer);
  const x509 = nodeCertificate(certDer);
  let key: KeyObject;
  try {
    // A view of the caller's bytes, not a copy: a copy would outlive the caller's zeroing.
    const view = Buffer.from(caKeyPkcs8Der.buffer, caKeyPkcs8Der.byteOffset, caKeyPkcs8Der.byteLength);
    key = createPrivateKey({ key: view, format: 'der', type: 'pkcs8' });
  } catch {
    throw new CastellanError('INTEGRITY', 'the CA key is not a readable PKCS#8 private key');
  }
  requireP256(key, 'the CA key');
  const problem = caCertificateProblem(cert);
  if (problem) throw new CastellanError('INVALID_INPUT', problem);
  if (!x509.checkPrivateKey(key)) throw new CastellanError('INTEGRITY', 'the CA key does not match the CA certificate');
  const keyId = subjectKeyId(cert);
  const opened: OpenedCa = Object.freeze({
    cert,
    x509,
    key,
    keyId,
    authorityKeyIdentifier: authorityKeyIdentifier(keyId),
  });
  openedCas.add(opened);
  return opened;
}

const PRIVATE_KEY_LABELS: Record<string, 'pkcs8' | 'sec1' | 'pkcs1'> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};

/**
 * Check an existing CA an admin imports: one PEM certificate that is a CA, and its unencrypted
 * private key (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`), ECDSA P-256, matching it.
 */
export async function parseCaImport(
  certPem: string,
  keyPem: string,
  options: { now?: Date } = {},
): Promise<{ certDer: Uint8Array; keyPkcs8Der: Uint8Array }> {
  if (typeof certPem !== 'string' || typeof keyPem !== 'string') {
    throw new CastellanError('INVALID_INPUT', 'the certificate and the key must both be PEM text');
  }
  const now = requireDate(options.now ?? new Date(), 'now');

  const certBlocks = pemDecodeAll(certPem);
  const certs = certBlocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) {
    const other = certBlocks[0] ? ` (found a PEM ${certBlocks[0].label} block)` : '';
    throw new CastellanError('INVALID_INPUT', `not a PEM certificate${other}`);
  }
  if (certs.length > 1) {
    throw new CastellanError(
      'INVALID_INPUT',
      `expected one CA certificate, found ${certs.length}; import the CA alone`,
    );
  }
  const certDer = certs[0]!.der;
  const cert = readCertificate(certDer);
  const x509 = nodeCertificate(certDer);

  const keyBlocks = pemDecodeAll(keyPem);
  if (keyBlocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY' || (b.label in PRIVATE_KEY_LABELS && b.hasHeaders))) {
    throw new CastellanError(
      'UNSUPPORTED',
      'the key is encrypted; decrypt it first (openssl pkey -in key.pem -out key-plain.pem)',
    );
  }
  const keyBlock = keyBlocks.find((b) => b.label in PRIVATE_KEY_LABELS);
  if (!keyBlock)
    throw new CastellanError('INVALID_INPUT', 'not a PEM private key (expected PRIVATE KEY or EC PRIVATE KEY)');
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.from(keyBlock.der),
      format: 'der',
      type: PRIVATE_KEY_LABELS[keyBlock.label]!,
    });
  } catch {
    throw new CastellanError('INVALID_INPUT', `the ${keyBlock.label} block is not a readable private key`);
  }

  const problem = caCertificateProblem(cert);
  if (problem) throw new CastellanError('INVALID_INPUT', problem);
  if (now.getTime() > cert.notAfter.getTime()) {
    throw new CastellanError('INVALID_INPUT', `the CA certificate expired on ${cert.notAfter.toISOString()}`);
  }
  requireP256(key, 'the key');
  if (!x509.checkPrivateKey(key)) throw new CastellanError('INVALID_INPUT', 'the key does not match the certificate');

  return {
    certDer: new Uint8Array(certDer),
    keyPkcs8Der: new Uint8Array(key.export({ format: 'der', type: 'pkcs8' })),
  };
}

export interface CaDescription {
  subject: string;
  issuer: string;
  /** Lowercase hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  keyType: string;
}

/** What the console shows about a CA certificate. */
export function describeCa(certDer: Uint8Array): CaDescription {
  const cert = readCertificate(certDer);
  const x509 = nodeCertificate(certDer);
  return {
    subject: formatName(cert.subjectDer),
    issuer: formatName(cert.issuerDer),
    serial: cert.serialHex,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprintSha256: fingerprintSha256(certDer),
    keyType: describePublicKey(x509.publicKey).keyType,
  };
}

// ───────────────────────────── signing worker CSRs ─────────────────────────────

/** The CA to sign with: as stored (opened and checked on this call), or opened once with openCa. */
export type SigningCa =
  | { caCertDer: Uint8Array; caKeyPkcs8Der: Uint8Array; ca?: undefined }
  | { ca: OpenedCa; caCertDer?: undefined; caKeyPkcs8Der?: undefined };

export type SignWorkerCsrParams = SigningCa & {
  /**
   * PEM or DER, read and judged (its signature verified) on this call; or what analyzeCsr
   * returned for it, when the caller has just judged it, so it is not read twice.
   */
  csr: Uint8Array | string | CsrAnalysis;
  nodeId: string;
  /** Leaf lifetime in days (1–397, refused above); clamped so the leaf never outlives the CA. */
  days?: number;
  /** The SAN policy a CSR given as PEM/DER is judged by (an analysis was judged by its maker). */
  sanPolicy?: SanPolicy;
  now?: Date;
  /**
   * Where `castellan serve` publishes revocation (the workspace's public_base_url): the leaf
   * then names the CRL in a CRL Distribution Points extension and the OCSP responder in an
   * Authority Information Access extension.
   */
  publication?: { crlUrl: string; ocspUrl: string };
};

/** The CRL Distribution Points and AIA (OCSP) extensions, built with @peculiar/asn1-x509. */
function publicationExtensions(p: { crlUrl: string; ocspUrl: string }): Uint8Array[] {
  const cdp = new CRLDistributionPoints([
    new DistributionPoint({
      distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: p.crlUrl })] }),
    }),
  ]);
  const aia = new AuthorityInfoAccessSyntax([
    new AccessDescription({ accessMethod: id_ad_ocsp, accessLocation: new GeneralName({ uniformResourceIdentifier: p.ocspUrl }) }),
  ]);
  return [
    extension(id_ce_cRLDistributionPoints, false, new Uint8Array(AsnConvert.serialize(cdp))),
    extension(id_pe_authorityInfoAccess, false, new Uint8Array(AsnConvert.serialize(aia))),
  ];
}

export interface SignedWorkerCertificate {
  leafDer: Uint8Array;
  leafPem: string;
  /** Lowercase hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
  sans: San[];
  fingerprintSha256: string;
}

/** The fixed extensions of every leaf, encoded once (buildCertificate copies them into each leaf). */
const LEAF_KEY_USAGE = extension(
  OIDS.keyUsage,
  true,
  namedBitString([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
);
const LEAF_EXT_KEY_USAGE = extension(OIDS.extKeyUsage, false, sequence(oid(OIDS.clientAuth), oid(OIDS.serverAuth)));
/**
 * basicConstraints, critical, cA FALSE (an empty SEQUENCE: DER omits the default): a verifier
 * that sees it can never be talked into accepting a worker's leaf as an issuing CA.
 */
const LEAF_BASIC_CONSTRAINTS = extension(OIDS.basicConstraints, true, sequence());

/** The OpenedCa to sign with: the caller's, if openCa made it, or the stored material opened now. */
function signingCa(params: SigningCa): OpenedCa {
  if (params.ca === undefined) return openCa(params.caCertDer, params.caKeyPkcs8Der);
  if (!openedCas.has(params.ca)) {
    throw new CastellanError('INTERNAL', 'signWorkerCsr was given a CA that openCa did not open');
  }
  return params.ca;
}

/** Why `nodeId` is unusable in `CN=worker-<node id>`, or null. */
export function nodeIdProblem(nodeId: unknown): string | null {
  if (typeof nodeId === 'string' && NODE_ID.test(nodeId)) return null;
  const shown =
    typeof nodeId === 'string'
      ? JSON.stringify(nodeId.length > 72 ? `${nodeId.slice(0, 72)}…` : nodeId)
      : typeof nodeId;
  return `node id ${shown} is invalid: use 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"`;
}

/**
 * Sign a worker's CSR into an mTLS leaf. The CSR supplies only its public key and its DNS/IP
 * names; the subject is `CN=worker-<nodeId>, O=ZLayer Worker` whatever the CSR asked for.
 */
export async function signWorkerCsr(params: SignWorkerCsrParams): Promise<SignedWorkerCertificate> {
  const { csr, nodeId, days = DEFAULT_LEAF_VALIDITY_DAYS } = params;
  const idProblem = nodeIdProblem(nodeId);
  if (idProblem) throw new CastellanError('INVALID_INPUT', idProblem);
  if (!Number.isInteger(days) || days < 1 || days > MAX_LEAF_VALIDITY_DAYS) {
    throw new CastellanError(
      'INVALID_INPUT',
      `validity of ${String(days)} days is invalid: use a whole number from 1 to ${MAX_LEAF_VALIDITY_DAYS}`,
    );
  }
  const now = requireDate(params.now ?? new Date(), 'now').getTime();

  const ca = signingCa(params);
  if (now < ca.cert.notBefore.getTime()) {
    throw new CastellanError(
      'CONFLICT',
      `the worker CA certificate is not valid until ${ca.cert.notBefore.toISOString()}`,
    );
  }
  if (now > ca.cert.notAfter.getTime()) {
    throw new CastellanError('CONFLICT', `the worker CA certificate expired on ${ca.cert.notAfter.toISOString()}`);
  }

  const request = isCsrAnalysis(csr) ? csr : analyzeCsr(csr as Uint8Array | string, { nodeId, sanPolicy: params.sanPolicy });
  if (request.nodeId !== nodeId) {
    // Its worker-* names were judged for another node (or none): judging them again is the caller's job.
    throw new CastellanError('INTERNAL', `the CSR was judged for node ${String(request.nodeId)}, not ${nodeId}`);
  }
  const first = request.problems[0];
  if (first) throw new CastellanError(first.code, first.message);

  const notBefore = wholeSeconds(now - BACKDATE_MS);
  const wanted = wholeSeconds(now + days * DAY_MS);
  const notAfter = wanted.getTime() > ca.cert.notAfter.getTime() ? ca.cert.notAfter : wanted;
  const serial = randomSerial();
  const subject = `CN=worker-${nodeId}, O=${WORKER_LEAF_ORGANIZATION}`;

  const extensions: Uint8Array[] = [LEAF_BASIC_CONSTRAINTS];
  // The CSR's DNS and IP names, each GeneralName copied as encoded once it passed validation.
  if (request.acceptedNames.length > 0) {
    extensions.push(extension(OIDS.subjectAltName, false, sequence(...request.acceptedNames)));
  }
  extensions.push(
    LEAF_KEY_USAGE,
    LEAF_EXT_KEY_USAGE,
    extension(OIDS.subjectKeyIdentifier, false, octetString(keyIdentifier(request.subjectPublicKey))),
    ca.authorityKeyIdentifier,
  );
  if (params.publication) extensions.push(...publicationExtensions(params.publication));

  const leafDer = buildCertificate({
    serial,
    // The issuer is the CA subject's exact bytes: rustls/webpki match names byte for byte.
    issuerDer: ca.cert.subjectDer,
    subjectDer: encodeName([
      [OIDS.commonName, `worker-${nodeId}`],
      [OIDS.organizationName, WORKER_LEAF_ORGANIZATION],
    ]),
    notBefore,
    notAfter,
    spkiDer: request.spkiDer,
    extensions,
    signingKey: ca.key,
  });

  return {
    leafDer,
    leafPem: pemEncode(leafDer, 'CERTIFICATE'),
    serial: serial.toString('hex'),
    notBefore,
    notAfter,
    subject,
    sans: request.sans,
    fingerprintSha256: fingerprintSha256(leafDer),
  };
}

/** The registration reply's certificate fields (ZLayer `RegisterResponse`), base64 DER. */
export function registrationBundle(
  leafDer: Uint8Array,
  caCertDer: Uint8Array,
): { leaf_der: string; ca_chain_der: string[] } {
  readCertificate(leafDer);
  readCertificate(caCertDer);
  return { leaf_der: toBase64(leafDer), ca_chain_der: [toBase64(caCertDer)] };
}

// ───────────────────────────── delegated OCSP responder ─────────────────────────────

const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const ID_PKIX_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/**
 * A delegated OCSP responder (RFC 6960 §4.2.2.2) for `castellan serve`: a fresh P-256 key and a
 * short-lived certificate the CA issues for it, with extendedKeyUsage id-kp-OCSPSigning only,
 * keyUsage digitalSignature, and id-pkix-ocsp-nocheck (clients need not check the responder's
 * own revocation; hence the short life). The key never leaves memory.
 */
export async function issueOcspResponder(
  ca: OpenedCa,
  options: { now?: Date; hours?: number } = {},
): Promise<{ certDer: Uint8Array; key: KeyObject; subjectPublicKey: Uint8Array; serial: string; notAfter: Date }> {
  if (!openedCas.has(ca)) throw new CastellanError('INTERNAL', 'issueOcspResponder was given a CA that openCa did not open');
  const hours = options.hours ?? 48;
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 30) {
    throw new CastellanError('INVALID_INPUT', 'a delegated OCSP responder lives 1 hour to 30 days');
  }
  const now = requireDate(options.now ?? new Date(), 'now').getTime();
  const { privateKey, publicKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const spkiDer = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const subjectPublicKey = contentOf(spkiDer, readChildren(spkiDer, readWhole(spkiDer))[1]!).subarray(1);
  const wanted = wholeSeconds(now + hours * 3_600_000);
  const notAfter = wanted.getTime() > ca.cert.notAfter.getTime() ? ca.cert.notAfter : wanted;
  const serial = randomSerial();
  const certDer = buildCertificate({
    serial,
    issuerDer: ca.cert.subjectDer,
    subjectDer: encodeName([
      [OIDS.commonName, 'Castellan OCSP Responder'],
      [OIDS.organizationName, 'ZLayer'],
    ]),
    notBefore: wholeSeconds(now - BACKDATE_MS),
    notAfter,
    spkiDer,
    extensions: [
      extension(OIDS.keyUsage, true, namedBitString([KEY_USAGE.digitalSignature])),
      extension(OIDS.extKeyUsage, false, sequence(oid(ID_KP_OCSP_SIGNING))),
      extension(ID_PKIX_OCSP_NOCHECK, false, tlv(TAG.NULL)),
      extension(OIDS.subjectKeyIdentifier, false, octetString(keyIdentifier(subjectPublicKey))),
      ca.authorityKeyIdentifier,
    ],
    signingKey: ca.key,
  });
  return { certDer, key: privateKey, subjectPublicKey: new Uint8Array(subjectPublicKey), serial: serial.toString('hex'), notAfter };
}

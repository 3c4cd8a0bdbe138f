/**
 * Reading a worker's PKCS#10 certificate request: what it asks for, whether its own signature
 * holds, and whether Castellan's worker CA would sign it. `previewCsr` shows this to the admin;
 * `signWorkerCsr` (worker-ca.ts) refuses on the first problem.
 *
 * Only the CSR's public key and its DNS/IP subject alternative names are ever used: the subject
 * is chosen by the signer (ZLayer's worker_ca.rs overrides it too), and every other requested
 * extension is ignored. The key must pass csr-key-policy.ts and every name the workspace's SAN
 * policy (san-policy.ts); the preview shows a verdict per name with the rule that refused it.
 */
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import { RSA_MIN_BITS, spkiKeyProblem } from './csr-key-policy.ts';
import { DEFAULT_SAN_POLICY, dnsSanRule, ipSanRule } from './san-policy.ts';
import type { SanPolicy } from './san-policy.ts';
import {
  TAG,
  bytesEqual,
  contentOf,
  contextConstructed,
  decodeOid,
  encodingOf,
  expectTag,
  formatName,
  pemDecodeAll,
  pemEncode,
  readChildren,
  readWhole,
} from './der.ts';
import type { Tlv } from './der.ts';

export type SanType = 'dns' | 'ip' | 'email' | 'uri';

export interface San {
  type: SanType;
  value: string;
}

/** One requested name and whether the CA would copy it: `rule` says why not. */
export interface SanVerdict extends San {
  allowed: boolean;
  rule: string | null;
}

export interface CsrPreview {
  keyType: 'P-256' | 'P-384' | 'Ed25519' | 'RSA' | (string & {});
  keySize: number;
  requestedSubject: string;
  sans: San[];
  sanVerdicts: SanVerdict[];
  signatureValid: boolean;
  acceptable: boolean;
  problems: string[];
}

/** What a CSR is judged against: the workspace's SAN policy, and the node the leaf would be for. */
export interface CsrPolicyOptions {
  sanPolicy?: SanPolicy;
  /** Without it, a `worker-*` DNS name cannot be judged the node's own and is refused. */
  nodeId?: string | null;
}

/** The preview as the IPC contract and `ca preview --json` answer it (snake_case). */
export function csrPreviewAnswer(p: CsrPreview) {
  return {
    key_type: p.keyType,
    key_size: p.keySize,
    requested_subject: p.requestedSubject,
    sans: p.sans,
    san_verdicts: p.sanVerdicts.map((v) => ({ type: v.type, value: v.value, allowed: v.allowed, rule: v.rule })),
    signature_valid: p.signatureValid,
    acceptable: p.acceptable,
    problems: p.problems,
  };
}

/** One reason the CA would refuse the request, with the error code signing throws for it. */
export interface CsrProblem {
  code: ErrorCode;
  message: string;
}

/** Everything read from a CSR; `problems` is empty when the CA would sign it. */
export interface CsrAnalysis {
  der: Uint8Array;
  requestedSubject: string;
  /** SubjectPublicKeyInfo, exactly as encoded in the request (copied into the leaf). */
  spkiDer: Uint8Array;
  /** The subjectPublicKey BIT STRING's bits (the input of the RFC 5280 key identifier). */
  subjectPublicKey: Uint8Array;
  keyType: string;
  keySize: number;
  sans: San[];
  /** Each SAN in `sans` with the policy's verdict. */
  sanVerdicts: SanVerdict[];
  /** The node id the names were judged for (null: none given). */
  nodeId: string | null;
  /** DER of each DNS/IP GeneralName that passed validation, in request order, to copy into the leaf. */
  acceptedNames: Uint8Array[];
  signatureValid: boolean;
  problems: CsrProblem[];
}

/** Largest CSR accepted: a 16384-bit RSA request with many SANs stays far below this. */
export const MAX_CSR_BYTES = 64 * 1024;

export { RSA_MIN_BITS };

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

interface SignatureAlgorithm {
  name: string;
  family: 'rsa' | 'ec' | 'ed25519';
  hash: 'sha256' | 'sha384' | 'sha512' | null;
}

const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', family: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', family: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', family: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', family: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', family: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', family: 'ec', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', family: 'ed25519', hash: null },
};

/** Recognised but refused, so the admin reads a name instead of an OID. */
const REFUSED_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.3.101.113': 'Ed448',
};

const CURVES: Record<string, { name: string; bits: number }> = {
  prime256v1: { name: 'P-256', bits: 256 },
  secp384r1: { name: 'P-384', bits: 384 },
  secp521r1: { name: 'P-521', bits: 521 },
};

/** Key type and size as the admin names them: P-256, P-384, Ed25519, RSA (bits), … */
export function describePublicKey(key: KeyObject): { keyType: string; keySize: number } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      const known = CURVES[curve];
      return known ? { keyType: known.name, keySize: known.bits } : { keyType: `EC ${curve}`, keySize: 0 };
    }
    case 'ed25519':
      return { keyType: 'Ed25519', keySize: 256 };
    case 'ed448':
      return { keyType: 'Ed448', keySize: 456 };
    case 'rsa':
      return { keyType: 'RSA', keySize: details.modulusLength ?? 0 };
    case 'rsa-pss':
      return { keyType: 'RSA-PSS', keySize: details.modulusLength ?? 0 };
    case 'dsa':
      return { keyType: 'DSA', keySize: details.modulusLength ?? 0 };
    default:
      return { keyType: String(key.asymmetricKeyType ?? 'unknown').toUpperCase(), keySize: 0 };
  }
}

/** Why a worker key is refused, or null when P-256, P-384, Ed25519 or RSA ≥ 2048. */
export function workerKeyProblem(keyType: string, keySize: number): CsrProblem | null {
  if (keyType === 'P-256' || keyType === 'P-384' || keyType === 'Ed25519') return null;
  if (keyType === 'RSA') {
    return keySize >= RSA_MIN_BITS
      ? null
      : { code: 'INVALID_INPUT', message: `RSA key of ${keySize} bits is below the ${RSA_MIN_BITS}-bit minimum` };
  }
  return {
    code: 'UNSUPPORTED',
    message: `${keyType} keys are not accepted; use P-256, P-384, Ed25519 or RSA of at least ${RSA_MIN_BITS} bits`,
  };
}

function notACsr(reason: string): CastellanError {
  return new CastellanError('INVALID_INPUT', `not a PKCS#10 certificate request: ${reason}`);
}

/** PEM (`CERTIFICATE REQUEST` / `NEW CERTIFICATE REQUEST`) or DER, as text or bytes, to DER. */
export function csrDer(input: Uint8Array | string): Uint8Array {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size === 0) throw notACsr('the input is empty');
  if (size > MAX_CSR_BYTES) throw notACsr(`the input of ${size} bytes exceeds the ${MAX_CSR_BYTES}-byte limit`);
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const head = Buffer.from(input.subarray(0, 64)).toString('latin1').trimStart();
    // A copy: the analysis (and the leaf built from it) must not change if the caller reuses its buffer.
    if (!head.startsWith('-----BEGIN')) return new Uint8Array(input);
    text = Buffer.from(input).toString('latin1');
  }
  let blocks;
  try {
    blocks = pemDecodeAll(text);
  } catch (err) {
    throw notACsr(err instanceof Error ? err.message : String(err));
  }
  const request = blocks.find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (request) return request.der;
  if (blocks[0]) throw notACsr(`found a PEM ${blocks[0].label} block, expected CERTIFICATE REQUEST`);
  throw notACsr('no -----BEGIN CERTIFICATE REQUEST----- block');
}

function ipToString(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  // RFC 5952: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as "::".
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `name` is not an acceptable DNS SAN, or null. Wildcards are refused for worker certificates. */
export function dnsNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  if (labels[0] === '*') return 'is a wildcard, which worker certificates may not carry';
  for (const label of labels) {
    if (!DNS_LABEL.test(label)) return 'is not a valid DNS name';
  }
  return null;
}

const GENERAL_NAME_KINDS: Record<number, string> = {
  0xa0: 'otherName',
  0x81: 'email',
  0x82: 'dns',
  0xa3: 'x400Address',
  0xa4: 'directoryName',
  0xa5: 'ediPartyName',
  0x86: 'uri',
  0x87: 'ip',
  0x88: 'registeredID',
};

function sanText(type: SanType, value: string): string {
  const prefix = { dns: 'DNS', ip: 'IP', email: 'email', uri: 'URI' }[type];
  return `${prefix}:${JSON.stringify(value).slice(1, -1)}`;
}

/**
 * Read the subjectAltName extension value: every name with the policy's verdict, and a problem
 * for each refused one (the rule that refused it in the message).
 */
function readSans(
  value: Uint8Array,
  problems: CsrProblem[],
  policy: SanPolicy,
  nodeId: string | null,
): { sans: San[]; sanVerdicts: SanVerdict[]; acceptedNames: Uint8Array[] } {
  const sans: San[] = [];
  const sanVerdicts: SanVerdict[] = [];
  const acceptedNames: Uint8Array[] = [];
  let names: Tlv[];
  try {
    names = readChildren(value, expectTag(readWhole(value), TAG.SEQUENCE, 'GeneralNames'));
  } catch {
    problems.push({ code: 'INVALID_INPUT', message: 'the subjectAltName extension is malformed' });
    return { sans, sanVerdicts, acceptedNames };
  }
  /** `rule` is the verdict's reason; the problem reads "… is refused: <rule>" unless `phrase` says it. */
  const judged = (type: SanType, text: string, rule: string | null, phrase?: string, code: ErrorCode = 'INVALID_INPUT') => {
    sans.push({ type, value: text });
    sanVerdicts.push({ type, value: text, allowed: rule === null, rule });
    if (rule !== null) {
      problems.push({ code, message: `subject alternative name ${sanText(type, text)} ${phrase ?? `is refused: ${rule}`}` });
    }
    return rule === null;
  };
  for (const name of names) {
    const kind = GENERAL_NAME_KINDS[name.tag] ?? `tag 0x${name.tag.toString(16)}`;
    const bytes = contentOf(value, name);
    if (kind === 'dns') {
      const text = Buffer.from(bytes).toString('latin1');
      const why = dnsNameProblem(text);
      if (judged('dns', text, why ?? dnsSanRule(text, policy, nodeId), why ?? undefined)) {
        acceptedNames.push(encodingOf(value, name));
      }
    } else if (kind === 'ip') {
      if (bytes.length === 4 || bytes.length === 16) {
        if (judged('ip', ipToString(bytes), ipSanRule(bytes, policy))) {
          acceptedNames.push(encodingOf(value, name));
        }
      } else {
        problems.push({
          code: 'INVALID_INPUT',
          message: `subject alternative name IP address of ${bytes.length} bytes is neither IPv4 (4) nor IPv6 (16)`,
        });
      }
    } else if (kind === 'email' || kind === 'uri') {
      const text = Buffer.from(bytes).toString('latin1');
      const rule = 'worker certificates carry only DNS names and IP addresses';
      judged(kind, text, rule, `is not accepted; ${rule}`, 'UNSUPPORTED');
    } else {
      problems.push({
        code: 'UNSUPPORTED',
        message: `subject alternative name of type ${kind} is not accepted; worker certificates carry only DNS names and IP addresses`,
      });
    }
  }
  return { sans, sanVerdicts, acceptedNames };
}

interface RawCsr {
  tbs: Uint8Array;
  version: number;
  subjectDer: Uint8Array;
  spkiDer: Uint8Array;
  subjectPublicKey: Uint8Array;
  sigAlgOid: string;
  signature: Uint8Array;
  /** extnValue of each extension in the extensionRequest attribute, by OID (first wins). */
  requestedExtensions: Map<string, Uint8Array>;
  duplicateExtensions: string[];
}

function readRawCsr(der: Uint8Array): RawCsr {
  const root = expectTag(readWhole(der), TAG.SEQUENCE, 'CertificationRequest');
  const [info, sigAlg, sig, extra] = readChildren(der, root);
  if (extra) throw notACsr('unexpected element after the signature');
  expectTag(info, TAG.SEQUENCE, 'certificationRequestInfo');
  expectTag(sigAlg, TAG.SEQUENCE, 'signatureAlgorithm');
  expectTag(sig, TAG.BIT_STRING, 'signature');
  const [version, subject, spki, attributes] = readChildren(der, info!);
  expectTag(version, TAG.INTEGER, 'version');
  expectTag(subject, TAG.SEQUENCE, 'subject');
  expectTag(spki, TAG.SEQUENCE, 'subjectPKInfo');
  const [, subjectPublicKeyBits] = readChildren(der, spki!);
  expectTag(subjectPublicKeyBits, TAG.BIT_STRING, 'subjectPublicKey');
  const [algOid] = readChildren(der, sigAlg!);
  expectTag(algOid, TAG.OID, 'signature algorithm');
  const sigBytes = contentOf(der, sig!);
  if (sigBytes.length < 2 || sigBytes[0] !== 0) throw notACsr('the signature BIT STRING is malformed');

  const requestedExtensions = new Map<string, Uint8Array>();
  const duplicateExtensions: string[] = [];
  if (attributes) {
    expectTag(attributes, contextConstructed(0), 'attributes');
    for (const attr of readChildren(der, attributes)) {
      const [type, values] = readChildren(der, expectTag(attr, TAG.SEQUENCE, 'attribute'));
      if (decodeOid(contentOf(der, expectTag(type, TAG.OID, 'attribute type'))) !== OID_EXTENSION_REQUEST) continue;
      for (const exts of readChildren(der, expectTag(values, TAG.SET, 'attribute values'))) {
        for (const ext of readChildren(der, expectTag(exts, TAG.SEQUENCE, 'Extensions'))) {
          const parts = readChildren(der, expectTag(ext, TAG.SEQUENCE, 'Extension'));
          const extOid = decodeOid(contentOf(der, expectTag(parts[0], TAG.OID, 'extension id')));
          const extValue = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extension value');
          if (requestedExtensions.has(extOid)) duplicateExtensions.push(extOid);
          else requestedExtensions.set(extOid, contentOf(der, extValue));
        }
      }
    }
  }
  const versionBytes = contentOf(der, version!);
  return {
    tbs: encodingOf(der, info!),
    version: versionBytes.length === 1 ? versionBytes[0]! : -1,
    subjectDer: encodingOf(der, subject!),
    spkiDer: encodingOf(der, spki!),
    subjectPublicKey: contentOf(der, subjectPublicKeyBits!).subarray(1),
    sigAlgOid: decodeOid(contentOf(der, algOid!)),
    signature: sigBytes.subarray(1),
    requestedExtensions,
    duplicateExtensions,
  };
}

/** Every analysis analyzeCsr returned (frozen, over its own copy of the DER). */
const analyses = new WeakSet<CsrAnalysis>();

/**
 * The request's public key. Node is given PEM text rather than a `{ key, format: 'der' }`
 * object: it tells key inputs apart by trying them as KeyObject and CryptoKey first, and for
 * an options object both attempts throw and are caught inside Node, which cost more than the
 * parse itself (≈ 30 µs against ≈ 13 µs per key). OpenSSL reads the same SubjectPublicKeyInfo
 * either way.
 */
function readSpki(spkiDer: Uint8Array): KeyObject {
  return createPublicKey(pemEncode(spkiDer, 'PUBLIC KEY'));
}

/** AlgorithmIdentifier { id-ecPublicKey, prime256v1 } as DER. */
const P256_ALGORITHM = new Uint8Array([
  0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
  0x01, 0x07,
]);
const P256 = { keyType: 'P-256', keySize: 256 } as const;

/**
 * Whether an EC key's SubjectPublicKeyInfo names the curve P-256 outright. Then the curve is
 * known without asking Node for the key details, which costs ≈ 12 µs per key; any other key
 * (other curves, explicit parameters) goes through describePublicKey.
 */
function isP256Spki(spkiDer: Uint8Array, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'ec') return false;
  const prefixEnd = spkiDer[1]! < 0x80 ? 2 : 2 + (spkiDer[1]! & 0x7f);
  return bytesEqual(spkiDer.subarray(prefixEnd, prefixEnd + P256_ALGORITHM.length), P256_ALGORITHM);
}

/**
 * Read a CSR and judge it. Throws only when the input is not a PKCS#10 request at all;
 * everything the CA would refuse is listed in `problems`, most fundamental first
 * (key, then signature, then names).
 */
export function analyzeCsr(input: Uint8Array | string, options: CsrPolicyOptions = {}): CsrAnalysis {
  const sanPolicy = options.sanPolicy ?? DEFAULT_SAN_POLICY;
  const nodeId = options.nodeId ?? null;
  const der = csrDer(input);
  let raw: RawCsr;
  let requestedSubject: string;
  try {
    raw = readRawCsr(der);
    requestedSubject = formatName(raw.subjectDer);
  } catch (err) {
    if (err instanceof CastellanError && err.message.startsWith('not a PKCS#10')) throw err;
    throw notACsr(err instanceof Error ? err.message : String(err));
  }

  const problems: CsrProblem[] = [];
  if (raw.version !== 0) problems.push({ code: 'INVALID_INPUT', message: 'the CSR version is not v1 (0)' });

  let key: KeyObject | null = null;
  let keyType = 'unknown';
  let keySize = 0;
  // The key's own bytes first: an RSA exponent of 1 or a point off the curve is refused here,
  // before Node (which would accept the former) is asked to use it.
  const keyPolicyProblem = spkiKeyProblem(raw.spkiDer);
  if (keyPolicyProblem) problems.push({ code: keyPolicyProblem.code, message: keyPolicyProblem.message });
  try {
    const read = readSpki(raw.spkiDer);
    ({ keyType, keySize } = isP256Spki(raw.spkiDer, read) ? P256 : describePublicKey(read));
    // A broken key verifies nothing: with exponent 1 every "signature" is valid.
    if (!keyPolicyProblem?.broken) key = read;
    if (!keyPolicyProblem) {
      const keyProblem = workerKeyProblem(keyType, keySize);
      if (keyProblem) problems.push(keyProblem);
    }
  } catch {
    if (!keyPolicyProblem) {
      problems.push({
        code: 'UNSUPPORTED',
        message: 'the CSR public key uses an algorithm or curve that cannot be read',
      });
    }
  }

  let signatureValid = false;
  const alg = SIGNATURE_ALGORITHMS[raw.sigAlgOid];
  if (!alg) {
    const name = REFUSED_SIGNATURE_ALGORITHMS[raw.sigAlgOid] ?? raw.sigAlgOid;
    problems.push({ code: 'UNSUPPORTED', message: `CSR signature algorithm ${name} is not accepted` });
  } else if (key) {
    if (key.asymmetricKeyType !== alg.family) {
      problems.push({
        code: 'INVALID_INPUT',
        message: `CSR signature algorithm ${alg.name} does not match its ${keyType} key`,
      });
    } else {
      try {
        // The KeyObject itself, not { key, dsaEncoding: 'der' }: DER is the default encoding, and
        // an options object costs two exceptions inside Node's key-type sniffing per call.
        signatureValid = verifySignature(alg.hash, raw.tbs, key, raw.signature);
      } catch {
        signatureValid = false;
      }
      if (!signatureValid) problems.push({ code: 'INVALID_INPUT', message: 'CSR signature does not verify' });
    }
  }

  if (raw.duplicateExtensions.includes(OID_SUBJECT_ALT_NAME)) {
    problems.push({ code: 'INVALID_INPUT', message: 'the CSR requests the subjectAltName extension more than once' });
  }
  const sanValue = raw.requestedExtensions.get(OID_SUBJECT_ALT_NAME);
  const { sans, sanVerdicts, acceptedNames } = sanValue
    ? readSans(sanValue, problems, sanPolicy, nodeId)
    : { sans: [], sanVerdicts: [], acceptedNames: [] };

  const analysis: CsrAnalysis = Object.freeze({
    der,
    requestedSubject,
    spkiDer: raw.spkiDer,
    subjectPublicKey: raw.subjectPublicKey,
    keyType,
    keySize,
    sans: Object.freeze(sans) as San[],
    sanVerdicts: Object.freeze(sanVerdicts) as SanVerdict[],
    nodeId,
    acceptedNames: Object.freeze(acceptedNames) as Uint8Array[],
    signatureValid,
    problems: Object.freeze(problems) as CsrProblem[],
  });
  analyses.add(analysis);
  return analysis;
}

/**
 * Whether `value` is an analysis made by analyzeCsr, so a signer may use it instead of reading
 * the CSR again: the signature and problems it reports are analyzeCsr's own, the object and its
 * lists are frozen, and its byte views point into analyzeCsr's own copy of the DER (never into a
 * buffer the caller passed in and might reuse).
 */
export function isCsrAnalysis(value: unknown): value is CsrAnalysis {
  return typeof value === 'object' && value !== null && analyses.has(value as CsrAnalysis);
}

/** What a CSR asks for and whether the worker CA would sign it. Throws only for non-CSR input. */
export async function previewCsr(input: Uint8Array | string, options: CsrPolicyOptions = {}): Promise<CsrPreview> {
  const a = analyzeCsr(input, options);
  return {
    keyType: a.keyType,
    keySize: a.keySize,
    requestedSubject: a.requestedSubject,
    sans: a.sans,
    sanVerdicts: a.sanVerdicts,
    signatureValid: a.signatureValid,
    acceptable: a.problems.length === 0,
    problems: a.problems.map((p) => p.message),
  };
}

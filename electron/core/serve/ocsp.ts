/**
 * An RFC 6960 OCSP responder for the worker CA. The structures are @peculiar/asn1-ocsp's (the
 * same ASN.1 family as @peculiar/asn1-x509), never hand-written DER.
 *
 * - Each CertID is answered from the certificates table, read on every request: `good` for a
 *   certificate this CA issued and has not revoked, `revoked` with its revocation time and
 *   CRLReason, `unknown` for a serial the inventory does not hold or an issuer (name hash and
 *   key hash, SHA-1/SHA-256/SHA-384/SHA-512) that is not this CA.
 * - The nonce extension of the request is echoed; thisUpdate is the moment of the answer (the
 *   status is read live) and nextUpdate `validitySecs` later.
 * - The response is signed ecdsa-with-SHA256 by the CA key, with a byKey responder id; or by a
 *   delegated responder certificate (id-kp-OCSPSigning, issued by the CA), which is then
 *   included in `certs` so a client can chain it to the CA.
 * - Anything that does not parse as an OCSPRequest gets `malformedRequest`, an unexpected
 *   failure `internalError`; neither changes anything.
 * - Speed (bench item 10a): a request without a nonce gets, within the same second, the same
 *   signed answer as long as the statuses read for it are the same — RFC 5019's pre-produced
 *   responses, keyed on the request bytes, the second and the live statuses, so a revoke still
 *   shows on the very next request. Parsed requests are kept too (bounded). Serialising and
 *   signing every answer cost ~4× the rest of the request.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  type CertID,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import type { SqlDatabase, SqlStatement } from '../storage/sql-database.ts';
import { REVOCATION_REASON_CODES, type RevocationReason } from '../ca/crl.ts';
import { OIDS, type ParsedCertificate } from '../ca/worker-ca.ts';

export const OCSP_REQUEST_TYPE = 'application/ocsp-request';
export const OCSP_RESPONSE_TYPE = 'application/ocsp-response';
/** Default nextUpdate − thisUpdate. The status is read live, so this only bounds a client's cache. */
export const DEFAULT_OCSP_VALIDITY_SECS = 3600;

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Who signs the responses: the CA itself, or a delegated responder the CA certified. */
export type OcspSigner = {
  key: KeyObject;
  /** The responder's subjectPublicKey bits (for the byKey responder id). */
  subjectPublicKey: Uint8Array;
  /** Present for a delegated responder: included in the response so clients can chain it. */
  delegatedCertDer?: Uint8Array;
};

export type OcspIssuer = {
  cert: ParsedCertificate;
};

export type OcspAnswer = { status: 'good' | 'revoked' | 'unknown' };

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function statusOnly(status: OCSPResponseStatus): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

export const MALFORMED_REQUEST = statusOnly(OCSPResponseStatus.malformedRequest);
export const INTERNAL_ERROR = statusOnly(OCSPResponseStatus.internalError);
export const TRY_LATER = statusOnly(OCSPResponseStatus.tryLater);
/** This server is not authoritative: the workspace has no worker CA. */
export const UNAUTHORIZED = statusOnly(OCSPResponseStatus.unauthorized);

/** Parse a DER OCSPRequest; null if it is not one (or asks about nothing). */
export function parseOcspRequest(der: Uint8Array): OCSPRequest | null {
  if (der.byteLength === 0) return null;
  try {
    const request = AsnConvert.parse(der, OCSPRequest);
    if (request.tbsRequest.requestList.length === 0) return null;
    // Every CertID must at least carry its four members in a usable shape.
    for (const r of request.tbsRequest.requestList) {
      const id = r.reqCert;
      if (!id?.hashAlgorithm?.algorithm || id.serialNumber.byteLength === 0) return null;
    }
    return request;
  } catch {
    return null;
  }
}

/** Lowercase hex without leading zeros: the inventory's form of a serial. */
function serialHex(serial: ArrayBuffer): string | null {
  const hex = Buffer.from(serial).toString('hex').replace(/^0+/, '');
  return hex === '' || hex.length > 40 ? null : hex;
}

type CertRow = { revoked_at: string | null; revocation_reason: string | null };

/** Entries kept in each cache before it is cleared (requests are small; a few MB at most). */
const CACHE_LIMIT = 4096;

/**
 * A responder bound to one workspace database and one CA. `issuerHashes` is computed once per
 * CA; the certificate statuses are read per request.
 */
export class OcspResponder {
  readonly #lookup: SqlStatement;
  readonly #issuerHashes = new Map<string, { name: Buffer; key: Buffer }>();
  readonly #responderKeyHash: Buffer;
  readonly #signer: OcspSigner;
  readonly #certs: Certificate[] | undefined;
  readonly #validitySecs: number;
  readonly #parsed = new Map<string, OCSPRequest>();
  #answers = new Map<string, { der: Uint8Array; answers: OcspAnswer[] }>();
  #answersSecond = 0;

  constructor(db: SqlDatabase, issuer: OcspIssuer, signer: OcspSigner, validitySecs = DEFAULT_OCSP_VALIDITY_SECS) {
    this.#lookup = db.prepare('SELECT revoked_at, revocation_reason FROM certificates WHERE serial = ?');
    for (const [oid, alg] of Object.entries(HASHES)) {
      this.#issuerHashes.set(oid, {
        name: createHash(alg).update(issuer.cert.subjectDer).digest(),
        key: createHash(alg).update(issuer.cert.subjectPublicKey).digest(),
      });
    }
    this.#signer = signer;
    this.#responderKeyHash = createHash('sha1').update(signer.subjectPublicKey).digest();
    this.#certs = signer.delegatedCertDer ? [AsnConvert.parse(signer.delegatedCertDer, Certificate)] : undefined;
    this.#validitySecs = validitySecs;
  }

  /** The live status of one CertID: its row (or null for unknown), read from the database now. */
  #lookupRow(id: CertID): CertRow | null {
    const hashes = this.#issuerHashes.get(id.hashAlgorithm.algorithm);
    const nameHash = Buffer.from(id.issuerNameHash.buffer);
    const keyHash = Buffer.from(id.issuerKeyHash.buffer);
    const serial = serialHex(id.serialNumber);
    if (hashes === undefined || serial === null || !hashes.name.equals(nameHash) || !hashes.key.equals(keyHash)) {
      return null;
    }
    return (this.#lookup.get(serial) as CertRow | undefined) ?? null;
  }

  static #statusOf(row: CertRow | null): CertStatus {
    if (row === null) return new CertStatus({ unknown: null });
    if (row.revoked_at === null) return new CertStatus({ good: null });
    const code = REVOCATION_REASON_CODES[(row.revocation_reason ?? 'unspecified') as RevocationReason] ?? 0;
    return new CertStatus({
      revoked: new RevokedInfo({ revocationTime: new Date(row.revoked_at), revocationReason: new CRLReason(code) }),
    });
  }

  #parse(requestDer: Uint8Array, key: string): OCSPRequest | null {
    const cached = this.#parsed.get(key);
    if (cached !== undefined) return cached;
    const request = parseOcspRequest(requestDer);
    if (request !== null) {
      if (this.#parsed.size >= CACHE_LIMIT) this.#parsed.clear();
      this.#parsed.set(key, request);
    }
    return request;
  }

  /** The DER OCSPResponse for a DER OCSPRequest (malformedRequest if it is not one). */
  respond(requestDer: Uint8Array, now: Date = new Date()): { der: Uint8Array; answers: OcspAnswer[] } {
    if (requestDer.byteLength === 0 || requestDer.byteLength > 65_536) return { der: MALFORMED_REQUEST, answers: [] };
    const key = Buffer.from(requestDer.buffer, requestDer.byteOffset, requestDer.byteLength).toString('latin1');
    const request = this.#parse(requestDer, key);
    if (request === null) return { der: MALFORMED_REQUEST, answers: [] };
    // GeneralizedTime without fractions (RFC 5280 §4.1.2.5.2): whole seconds.
    const second = Math.floor(now.getTime() / 1000);
    const thisUpdate = new Date(second * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.#validitySecs * 1000);
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
    // Read every status live, then answer from the cache only if the statuses are what it was signed with.
    const rows = request.tbsRequest.requestList.map((r) => this.#lookupRow(r.reqCert));
    let answerKey: string | null = null;
    if (nonce === undefined) {
      if (second !== this.#answersSecond) {
        this.#answers = new Map();
        this.#answersSecond = second;
      }
      answerKey = `${rows.map((r) => (r === null ? 'u' : `${r.revoked_at ?? 'g'}:${r.revocation_reason ?? ''}`)).join('|')}\n${key}`;
      const hit = this.#answers.get(answerKey);
      if (hit !== undefined) return hit;
    }
    const answers: OcspAnswer[] = [];
    const responses = request.tbsRequest.requestList.map((r, i) => {
      const certStatus = OcspResponder.#statusOf(rows[i]!);
      answers.push({ status: certStatus.revoked ? 'revoked' : certStatus.good === null ? 'good' : 'unknown' });
      return new SingleResponse({ certID: r.reqCert, certStatus, thisUpdate, nextUpdate });
    });
    const tbs = new ResponseData({
      responderID: new ResponderID({ byKey: new KeyHash(toArrayBuffer(this.#responderKeyHash)) }),
      producedAt: thisUpdate,
      responses,
    });
    if (nonce !== undefined) {
      tbs.responseExtensions = [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: nonce.extnValue })];
    }
    const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
    const signature = sign('sha256', tbsDer, this.#signer.key);
    const basic = new BasicOCSPResponse({
      tbsResponseData: tbs,
      signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OIDS.ecdsaWithSha256 }),
      signature: toArrayBuffer(signature),
    });
    if (this.#certs) basic.certs = this.#certs;
    const response = new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(AsnConvert.serialize(basic)),
      }),
    });
    const answer = { der: new Uint8Array(AsnConvert.serialize(response)), answers };
    if (answerKey !== null) {
      if (this.#answers.size >= CACHE_LIMIT) this.#answers.clear();
      this.#answers.set(answerKey, answer);
    }
    return answer;
  }
}

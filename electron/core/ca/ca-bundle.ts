/**
 * The worker CA certificate in the forms admins and tools ask for: PEM, DER, a PKCS#7
 * certs-only bundle (.p7b, what Windows and Java keystores import), and the JSON form of
 * ZLayer's registration reply (`{ "ca_chain_der": [base64] }`).
 *
 * `p7b` is PEM (`-----BEGIN PKCS7-----`), which `openssl pkcs7 -in F` reads as it is and which
 * Windows and keytool import too; `p7b-der` is the same bundle as binary DER, for tools that
 * want it (`openssl pkcs7 -inform der`).
 */
import { CastellanError } from '../../../shared/errors.ts';
import { explicit, oid, pemEncode, sequence, smallInteger, tlv, contextConstructed, TAG } from './der.ts';
import { readCertificate } from './worker-ca.ts';

export type CaBundleFormat = 'pem' | 'der' | 'p7b' | 'p7b-der' | 'json';

export const CA_BUNDLE_FORMATS: readonly CaBundleFormat[] = ['pem', 'der', 'p7b', 'p7b-der', 'json'];

const OID_PKCS7_DATA = '1.2.840.113549.1.7.1';
const OID_PKCS7_SIGNED_DATA = '1.2.840.113549.1.7.2';

/**
 * A degenerate ("certs-only") PKCS#7 SignedData (RFC 5652 §5, RFC 2315): no digest algorithms,
 * no content, no signers, just the certificates, the same shape as `openssl crl2pkcs7 -nocrl`.
 */
export function pkcs7CertsOnly(certsDer: readonly Uint8Array[]): Uint8Array {
  const signedData = sequence(
    smallInteger(1),
    tlv(TAG.SET), // digestAlgorithms
    sequence(oid(OID_PKCS7_DATA)), // encapContentInfo without content
    tlv(contextConstructed(0), ...certsDer), // [0] IMPLICIT certificates
    tlv(TAG.SET), // signerInfos
  );
  return sequence(oid(OID_PKCS7_SIGNED_DATA), explicit(0, signedData));
}

export function caBundle(caCertDer: Uint8Array, format: 'pem' | 'p7b' | 'json'): string;
export function caBundle(caCertDer: Uint8Array, format: 'der' | 'p7b-der'): Uint8Array;
export function caBundle(caCertDer: Uint8Array, format: CaBundleFormat): Uint8Array | string;
export function caBundle(caCertDer: Uint8Array, format: CaBundleFormat): Uint8Array | string {
  readCertificate(caCertDer);
  switch (format) {
    case 'pem':
      return pemEncode(caCertDer, 'CERTIFICATE');
    case 'der':
      return new Uint8Array(caCertDer);
    case 'p7b':
      return pemEncode(pkcs7CertsOnly([caCertDer]), 'PKCS7');
    case 'p7b-der':
      return pkcs7CertsOnly([caCertDer]);
    case 'json':
      return JSON.stringify({ ca_chain_der: [Buffer.from(caCertDer).toString('base64')] });
    default:
      throw new CastellanError(
        'INVALID_INPUT',
        `unknown CA bundle format ${JSON.stringify(String(format))}; use pem, der, p7b, p7b-der or json`,
      );
  }
}

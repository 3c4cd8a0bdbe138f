/**
 * Worker certificates the CA issued: signing a CSR into the inventory, listing and searching
 * it, revocation (which re-signs the CRL in the same transaction) and per-certificate exports.
 *
 * Status is derived, never stored: revoked if `revoked_at` is set, expired once `not_after`
 * has passed, valid otherwise. Times are stored as ISO-8601 UTC strings of one shape, so
 * comparing them as text compares them as times.
 */
import type { z } from 'zod';
import { CastellanError } from '../../../shared/errors.ts';
import type { certificateSchema } from '../../../shared/ipc/contract/ca.ts';
import { withCaKey, withOpenedCa, requireCaCert } from './ca-store.ts';
import { revocationReasons } from './crl.ts';
import type { RevocationReason } from './crl.ts';
import { commitCrl, isRevocationReason, prepareCrl, withCrlRetry } from './crl-publisher.ts';
import type { CrlTiming } from './crl-publisher.ts';
import { analyzeCsr } from './csr.ts';
import type { CsrAnalysis, San } from './csr.ts';
import { pemEncode } from './der.ts';
import {
  DEFAULT_LEAF_VALIDITY_DAYS,
  MAX_LEAF_VALIDITY_DAYS,
  nodeIdProblem,
  registrationBundle,
  signWorkerCsr,
} from './worker-ca.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { readWorkspaceSettings } from '../workspace/workspace-settings.ts';

export type CertificateRecord = z.output<typeof certificateSchema>;
export type CertificateStatus = CertificateRecord['status'];

export interface RegistrationBundle {
  leaf_der: string;
  ca_chain_der: string[];
}

export interface SignedCertificate {
  certificate: CertificateRecord;
  leafPem: string;
  leafDer: Uint8Array;
  /** ZLayer's registration reply fields: `{ leaf_der, ca_chain_der: [ca] }`, base64 DER. */
  registration: RegistrationBundle;
}

export interface CertificateQuery {
  /** Case-insensitive substring of the serial (colons ignored), node id, subject or a SAN value. */
  search?: string;
  /** Only valid certificates whose notAfter falls within this many days, soonest first. */
  expiringWithinDays?: number;
  limit?: number;
  offset?: number;
  now?: Date;
}

export const DEFAULT_LIST_LIMIT = 500;
export const MAX_LIST_LIMIT = 10_000;
const DAY_MS = 86_400_000;

interface CertificateRow {
  serial: string;
  node_id: string;
  subject: string;
  sans: string;
  fingerprint_sha256: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
}

const COLUMNS =
  'serial, node_id, subject, sans, fingerprint_sha256, not_before, not_after, issued_at, revoked_at, revocation_reason';

export function certificateTarget(serial: string): string {
  return `certificate:${serial}`;
}

function record(row: CertificateRow, nowIso: string): CertificateRecord {
  const status: CertificateStatus = row.revoked_at !== null ? 'revoked' : row.not_after < nowIso ? 'expired' : 'valid';
  return {
    serial: row.serial,
    node_id: row.node_id,
    subject: row.subject,
    sans: JSON.parse(row.sans) as San[],
    fingerprint_sha256: row.fingerprint_sha256,
    not_before: row.not_before,
    not_after: row.not_after,
    issued_at: row.issued_at,
    status,
    revoked_at: row.revoked_at,
    revocation_reason: row.revocation_reason,
  };
}

/**
 * A serial as an admin types it: hex in either case, with or without colons or spaces
 * (`4A:1B:…`, as `openssl x509 -text` prints it), an optional `0x` and leading zeros, to
 * the stored form (lowercase hex without leading zeros).
 */
export function normalizeSerial(input: string): string {
  if (typeof input !== 'string') throw new CastellanError('INVALID_INPUT', 'a serial number is required');
  let hex = input.trim().replace(/[:\s]/g, '');
  if (/^0x/i.test(hex)) hex = hex.slice(2);
  if (hex === '' || !/^[0-9a-fA-F]+$/.test(hex)) {
    const shown = JSON.stringify(input.length > 70 ? `${input.slice(0, 70)}…` : input);
    throw new CastellanError(
      'INVALID_INPUT',
      `serial ${shown} is not a hexadecimal serial number (e.g. 4a1b… or 4A:1B:…)`,
    );
  }
  hex = hex.toLowerCase().replace(/^0+/, '');
  if (hex === '') throw new CastellanError('INVALID_INPUT', 'serial 0 is not a certificate serial number');
  if (hex.length > 40) throw new CastellanError('INVALID_INPUT', `serial ${hex} is longer than 20 octets`);
  return hex;
}

function findRow(ws: Workspace, serial: string): CertificateRow | null {
  const row = ws.db.prepare(`SELECT ${COLUMNS} FROM certificates WHERE serial = ?`).get(serial) as
    CertificateRow | undefined;
  return row ?? null;
}

function requireRow(ws: Workspace, serial: string): CertificateRow {
  const row = findRow(ws, serial);
  if (row === null) throw new CastellanError('NOT_FOUND', `no certificate with serial ${serial} in this workspace`);
  return row;
}

/** One issued certificate by serial (any accepted spelling); NOT_FOUND if unknown. */
export function getCertificate(ws: Workspace, serial: string, now: Date = new Date()): CertificateRecord {
  return record(requireRow(ws, normalizeSerial(serial)), now.toISOString());
}

/**
 * A CSR as the page sends it: PEM text, or the DER file's bytes as base64. Anything else is
 * refused here with the same words the CSR reader uses.
 */
export function csrFromText(text: string): string | Uint8Array {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new CastellanError('INVALID_INPUT', 'not a PKCS#10 certificate request: the input is empty');
  }
  if (text.includes('-----BEGIN')) return text;
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new CastellanError(
      'INVALID_INPUT',
      'not a PKCS#10 certificate request: expected PEM (-----BEGIN CERTIFICATE REQUEST-----) or base64 DER',
    );
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/**
 * The leaf lifetime asked for, or the default (90 days, or the workspace maximum if lower).
 * Beyond the workspace's csr_max_leaf_days it is refused, never clamped: a shorter leaf than the
 * admin typed would expire unannounced.
 */
function leafDays(days: number | undefined, maxDays: number): number {
  if (days === undefined) return Math.min(DEFAULT_LEAF_VALIDITY_DAYS, maxDays);
  if (!Number.isInteger(days) || days < 1) {
    throw new CastellanError('INVALID_INPUT', `validity of ${String(days)} days is invalid: use a whole number of days from 1 to ${maxDays}`);
  }
  if (days > maxDays) {
    throw new CastellanError(
      'INVALID_INPUT',
      `validity of ${days} days is refused: this workspace issues worker certificates for at most ${maxDays} days ` +
        `(workspace setting csr_max_leaf_days; it can be raised to ${MAX_LEAF_VALIDITY_DAYS} at most)`,
    );
  }
  return days;
}

export interface SignCsrParams {
  /** PEM or DER. */
  csr: string | Uint8Array;
  nodeId: string;
  /**
   * Leaf lifetime in days: 90 (or the workspace maximum, if lower) by default; refused beyond
   * the workspace's csr_max_leaf_days; never past the CA's own expiry.
   */
  days?: number;
  now?: Date;
}

/** A CSR judged for signing, and the lifetime its leaf gets. */
export interface SignableCsr {
  analysis: CsrAnalysis;
  days: number;
}

/**
 * Everything signCsr checks before it needs the CA key: the node id, the validity against the
 * workspace maximum, that a CA exists, and that the CA would accept the CSR under the workspace's
 * key and SAN policy. Throws the first problem; nothing is written.
 */
export function assertSignable(ws: Workspace, params: SignCsrParams): SignableCsr {
  const idProblem = nodeIdProblem(params.nodeId);
  if (idProblem) throw new CastellanError('INVALID_INPUT', idProblem);
  const settings = readWorkspaceSettings(ws);
  const days = leafDays(params.days, settings.csr_max_leaf_days);
  requireCaCert(ws);
  const analysis = analyzeCsr(params.csr, { nodeId: params.nodeId, sanPolicy: settings });
  const problem = analysis.problems[0];
  if (problem) throw new CastellanError(problem.code, problem.message);
  return { analysis, days };
}

/**
 * Sign a worker CSR with the CA key and record the leaf. The CSR is judged before the vault
 * is touched (its signature verified there, and that analysis is what gets signed, so the
 * CSR is read once); the inventory row and its audit entry commit together.
 */
export async function signCsr(ws: Workspace, params: SignCsrParams): Promise<SignedCertificate> {
  const { nodeId } = params;
  const { analysis, days } = assertSignable(ws, params);
  const now = params.now ?? new Date();
  // With a public base URL set, the leaf points verifiers at `castellan serve`.
  const base = readWorkspaceSettings(ws).public_base_url;
  const publication = base === '' ? undefined : { crlUrl: `${base}/crl`, ocspUrl: `${base}/ocsp` };
  const { signed, caCertDer } = await withOpenedCa(ws, async (ca) => ({
    signed: await signWorkerCsr({ ca, csr: analysis, nodeId, days, now, ...(publication ? { publication } : {}) }),
    // The certificate of the CA that signed, as stored: the registration reply's chain.
    caCertDer: ca.cert.der,
  }));
  const issuedAt = now.toISOString();
  const row: CertificateRow = {
    serial: signed.serial,
    node_id: nodeId,
    subject: signed.subject,
    sans: JSON.stringify(signed.sans),
    fingerprint_sha256: signed.fingerprintSha256,
    not_before: signed.notBefore.toISOString(),
    not_after: signed.notAfter.toISOString(),
    issued_at: issuedAt,
    revoked_at: null,
    revocation_reason: null,
  };
  ws.transaction(() => {
    ws.db
      .prepare(
        `INSERT INTO certificates (serial, node_id, subject, sans, fingerprint_sha256, not_before, not_after, cert_der, issued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.serial,
        row.node_id,
        row.subject,
        row.sans,
        row.fingerprint_sha256,
        row.not_before,
        row.not_after,
        signed.leafDer,
        row.issued_at,
      );
    ws.audit.append({
      action: 'ca.sign',
      target: certificateTarget(row.serial),
      details: {
        node_id: nodeId,
        subject: row.subject,
        requested_subject: analysis.requestedSubject,
        sans: signed.sans.map((s) => `${s.type}:${s.value}`),
        csr_key_type: `${analysis.keyType}${analysis.keyType === 'RSA' ? ` ${analysis.keySize}` : ''}`,
        days,
        not_after: row.not_after,
        fingerprint_sha256: row.fingerprint_sha256,
      },
    });
  });
  return {
    certificate: record(row, issuedAt),
    leafPem: signed.leafPem,
    leafDer: signed.leafDer,
    registration: registrationBundle(signed.leafDer, caCertDer),
  };
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Issued certificates, newest first (soonest expiry first with `expiringWithinDays`). */
export function listCertificates(
  ws: Workspace,
  query: CertificateQuery = {},
): { rows: CertificateRecord[]; total: number } {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new CastellanError('INVALID_INPUT', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new CastellanError('INVALID_INPUT', 'offset must be a whole number, 0 or more');
  }
  const nowIso = (query.now ?? new Date()).toISOString();
  const where: string[] = [];
  const params: string[] = [];
  const d = ws.engine.dialect;

  const search = query.search?.trim() ?? '';
  if (search !== '') {
    if (search.length > 200) throw new CastellanError('INVALID_INPUT', 'search text is limited to 200 characters');
    const like = likePattern(search);
    const serialLike = likePattern(search.replace(/:/g, '').toLowerCase());
    where.push(
      `(${d.containsText('serial')} OR ${d.containsText('node_id')} OR ${d.containsText('subject')}
        OR ${d.jsonArrayMemberContains('certificates.sans', 'value')})`,
    );
    params.push(serialLike, like, like, like);
  }

  let order = 'issued_at DESC, serial';
  if (query.expiringWithinDays !== undefined) {
    const days = query.expiringWithinDays;
    if (!Number.isInteger(days) || days < 1 || days > 36_500) {
      throw new CastellanError('INVALID_INPUT', `expiring within ${String(days)} days is invalid: use a whole number of days, 1 or more`);
    }
    const until = new Date(Date.parse(nowIso) + days * DAY_MS).toISOString();
    where.push('revoked_at IS NULL AND not_after >= ? AND not_after < ?');
    params.push(nowIso, until);
    order = 'not_after, serial';
  }

  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const total = (ws.db.prepare(`SELECT count(*) AS n FROM certificates ${clause}`).get(...params) as { n: number }).n;
  const rows = ws.db
    .prepare(`SELECT ${COLUMNS} FROM certificates ${clause} ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...params, limit, offset) as unknown as CertificateRow[];
  return { rows: rows.map((r) => record(r, nowIso)), total };
}

function alreadyRevoked(row: CertificateRow): CastellanError {
  return new CastellanError(
    'CONFLICT',
    `certificate ${row.serial} (${row.subject}) was already revoked on ${row.revoked_at} (${row.revocation_reason ?? 'unspecified'}); nothing changed`,
  );
}

/** Check a reason name as the CLI or the page gives it. */
export function revocationReason(value: string): RevocationReason {
  if (!isRevocationReason(value)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `${JSON.stringify(String(value).slice(0, 40))} is not an RFC 5280 revocation reason; use one of ${revocationReasons.filter((r) => r !== 'removeFromCRL').join(', ')}`,
    );
  }
  if (value === 'removeFromCRL') {
    throw new CastellanError(
      'INVALID_INPUT',
      'removeFromCRL is not a reason to revoke: RFC 5280 uses it only in delta CRLs to lift a hold, and revocation here is permanent',
    );
  }
  return value;
}

/** What revokeCertificate checks before it needs the CA key; returns the normalised input. */
export function assertRevocable(
  ws: Workspace,
  input: { serial: string; reason: string },
): { serial: string; reason: RevocationReason } {
  const serial = normalizeSerial(input.serial);
  const reason = revocationReason(input.reason);
  const row = requireRow(ws, serial);
  if (row.revoked_at !== null) throw alreadyRevoked(row);
  return { serial, reason };
}

/**
 * Revoke an issued certificate and publish a new CRL listing it, in one transaction.
 * Revoking a certificate twice is refused with CONFLICT (the first reason and time stand)
 * and changes nothing. Needs the unlocked vault: the CRL is signed with the CA key.
 */
export async function revokeCertificate(
  ws: Workspace,
  input: { serial: string; reason: string },
  timing: CrlTiming = {},
): Promise<CertificateRecord> {
  const { serial, reason } = assertRevocable(ws, input);

  const now = timing.now ?? new Date();
  // Whole seconds, as the CRL encodes it, so the inventory and the CRL agree exactly.
  const revokedAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return withCaKey(ws, (ca) =>
    withCrlRetry(async () => {
      const before = requireRow(ws, serial);
      if (before.revoked_at !== null) throw alreadyRevoked(before);
      const crl = await prepareCrl(ws, ca, { ...timing, now, pending: { serialHex: serial, revokedAt, reason } });
      return ws.transaction(() => {
        const row = requireRow(ws, serial);
        if (row.revoked_at !== null) throw alreadyRevoked(row);
        const revokedIso = revokedAt.toISOString();
        ws.db
          .prepare('UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL')
          .run(revokedIso, reason, serial);
        commitCrl(ws, crl);
        ws.audit.append({
          action: 'ca.revoke',
          target: certificateTarget(serial),
          details: { node_id: row.node_id, subject: row.subject, reason, crl_number: crl.crlNumber.toString() },
        });
        return record({ ...row, revoked_at: revokedIso, revocation_reason: reason }, now.toISOString());
      });
    }),
  );
}

export type CertificateFormat = 'pem' | 'der' | 'json';

/** A file name for a certificate export: `worker-<node id>.crt` / `.der` / `.json`. */
export function certificateFileName(cert: CertificateRecord, format: CertificateFormat): string {
  const ext = format === 'pem' ? 'crt' : format;
  return `worker-${cert.node_id}-${cert.serial.slice(0, 8)}.${ext}`;
}

/**
 * One issued certificate as PEM, DER or ZLayer's registration JSON (`{ leaf_der,
 * ca_chain_der }`). `write` runs inside the audited transaction.
 */
export function exportCertificate(
  ws: Workspace,
  serialInput: string,
  format: CertificateFormat,
  write: (data: string | Uint8Array, cert: CertificateRecord) => void,
): CertificateRecord {
  if (format !== 'pem' && format !== 'der' && format !== 'json') {
    throw new CastellanError('INVALID_INPUT', `unknown certificate format ${JSON.stringify(String(format))}; use pem, der or json`);
  }
  const serial = normalizeSerial(serialInput);
  const row = requireRow(ws, serial);
  const der = new Uint8Array(
    (ws.db.prepare('SELECT cert_der FROM certificates WHERE serial = ?').get(serial) as { cert_der: Uint8Array }).cert_der,
  );
  const cert = record(row, new Date().toISOString());
  const data =
    format === 'pem'
      ? pemEncode(der, 'CERTIFICATE')
      : format === 'der'
        ? der
        : `${JSON.stringify(registrationBundle(der, requireCaCert(ws)))}\n`;
  ws.transaction(() => {
    ws.audit.append({ action: 'ca.export', target: certificateTarget(serial), details: { what: 'certificate', format } });
    write(data, cert);
  });
  return cert;
}

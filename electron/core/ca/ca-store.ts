/**
 * The worker CA kept in the workspace: its certificate in the `ca` table, its private key
 * sealed in the vault (aad `ca_key`), its latest CRL in `ca_crl` (see crl-publisher.ts).
 *
 * What needs the unlocked vault: creating or importing the CA (the key must be sealed),
 * anything that signs (leaves, CRLs) and the ZLayer key export. What does not: showing the
 * CA, the bundle exports, and exporting a CRL that is still current.
 *
 * Every change and every export is audited in the transaction that makes it; for file
 * exports the write happens inside that transaction, so a failed write leaves no entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { CastellanError } from '../../../shared/errors.ts';
import type { caInfoSchema } from '../../../shared/ipc/contract/ca.ts';
import { CA_BUNDLE_FORMATS, caBundle } from './ca-bundle.ts';
import type { CaBundleFormat } from './ca-bundle.ts';
import { crlPem } from './crl.ts';
import { commitCrl, crlIsStale, prepareCrl, readStoredCrl, withCrlRetry } from './crl-publisher.ts';
import type { CrlTiming, StoredCrl } from './crl-publisher.ts';
import { bytesEqual, pemEncode } from './der.ts';
import { refuseSymlink, writeTemp as writeExclusiveTemp } from '../workspace/files.ts';
import { createWorkerCa, describeCa, openCa, parseCaImport } from './worker-ca.ts';
import type { OpenedCa } from './worker-ca.ts';
import type { Vault } from '../workspace/vault.ts';
import type { Workspace } from '../workspace/workspace.ts';

export type CaInfo = z.output<typeof caInfoSchema>;

/** The vault label the CA key is sealed under. */
export const CA_KEY_AAD = 'ca_key';
export const ZLAYER_CA_CERT_FILE = 'worker_ca.crt';
export const ZLAYER_CA_KEY_FILE = 'worker_ca.key';
export const CA_TARGET = 'ca';
/** Larger than any CA certificate or key file an admin would import. */
const MAX_IMPORT_BYTES = 1024 * 1024;

const NO_CA_MESSAGE =
  'there is no worker CA in this workspace; create one (castellan ca init) or import worker_ca.crt and worker_ca.key';

interface CaRow {
  cert_der: Uint8Array;
  sealed_key: Uint8Array;
  imported: number;
  created_at: string;
}

function caRow(ws: Workspace): CaRow | null {
  const row = ws.db.prepare('SELECT cert_der, sealed_key, imported, created_at FROM ca WHERE id = 1').get() as
    CaRow | undefined;
  return row ?? null;
}

function requireCaRow(ws: Workspace): CaRow {
  const row = caRow(ws);
  if (row === null) throw new CastellanError('NOT_FOUND', NO_CA_MESSAGE);
  return row;
}

export function hasCa(ws: Workspace): boolean {
  return ws.db.prepare('SELECT 1 FROM ca WHERE id = 1').get() !== undefined;
}

/** The CA certificate DER; NOT_FOUND when there is no CA. */
export function requireCaCert(ws: Workspace): Uint8Array {
  return new Uint8Array(requireCaRow(ws).cert_der);
}

/**
 * Run `fn` with the CA certificate and its unsealed PKCS#8 key; the key bytes are zeroed
 * when `fn` settles. NOT_FOUND without a CA, LOCKED when the vault is locked.
 */
export async function withCaKey<T>(
  ws: Workspace,
  fn: (ca: { certDer: Uint8Array; keyPkcs8Der: Uint8Array }) => Promise<T> | T,
): Promise<T> {
  const row = requireCaRow(ws);
  ws.vault.requireUnlocked();
  ws.integrity.assert('ca', 'sign with the CA');
  const keyPkcs8Der = ws.vault.unseal(row.sealed_key, CA_KEY_AAD);
  try {
    return await fn({ certDer: new Uint8Array(row.cert_der), keyPkcs8Der });
  } finally {
    keyPkcs8Der.fill(0);
  }
}

/** The CA opened for signing, and the sealed key it was opened from (its certificate is ca.cert.der). */
interface OpenedCaEntry {
  sealedKey: Uint8Array;
  ca: OpenedCa;
}

/**
 * The opened CA per vault, kept only while that vault stays unlocked: locking drops it (see
 * dropOnLock), and every use re-checks that the vault is unlocked and that the stored
 * certificate and sealed key are still the ones it was opened from.
 */
const openedCas = new WeakMap<Vault, OpenedCaEntry>();
/** Vaults whose lock already drops their opened CA. */
const lockWatched = new WeakSet<Vault>();

/** Forget the opened CA the moment its vault locks, as the vault forgets its DEK. */
function dropOnLock(vault: Vault): void {
  if (lockWatched.has(vault)) return;
  lockWatched.add(vault);
  vault.onLock(() => openedCas.delete(vault));
}

/**
 * Run `fn` with the CA opened for signing (certificate parsed, key imported and checked
 * against it). Opening costs more than signing a leaf, so the opened CA is kept while the
 * vault stays unlocked and reused by the next call; the unsealed PKCS#8 bytes are zeroed as
 * soon as the key is imported, as withCaKey does. NOT_FOUND without a CA, LOCKED when the
 * vault is locked.
 */
export async function withOpenedCa<T>(ws: Workspace, fn: (ca: OpenedCa) => Promise<T> | T): Promise<T> {
  const row = requireCaRow(ws);
  const vault = ws.vault;
  if (!vault.unlocked) openedCas.delete(vault);
  vault.requireUnlocked();
  ws.integrity.assert('ca', 'sign with the CA');
  let entry = openedCas.get(vault);
  if (entry === undefined || !bytesEqual(entry.ca.cert.der, row.cert_der) || !bytesEqual(entry.sealedKey, row.sealed_key)) {
    openedCas.delete(vault);
    const keyPkcs8Der = vault.unseal(row.sealed_key, CA_KEY_AAD);
    let ca: OpenedCa;
    try {
      ca = openCa(row.cert_der, keyPkcs8Der); // openCa keeps its own copy of the certificate
    } finally {
      keyPkcs8Der.fill(0);
    }
    entry = { sealedKey: new Uint8Array(row.sealed_key), ca };
    dropOnLock(vault);
    openedCas.set(vault, entry);
  }
  return fn(entry.ca);
}

function caInfo(row: CaRow): CaInfo {
  const d = describeCa(new Uint8Array(row.cert_der));
  return {
    subject: d.subject,
    issuer: d.issuer,
    serial: d.serial,
    not_before: d.notBefore.toISOString(),
    not_after: d.notAfter.toISOString(),
    fingerprint_sha256: d.fingerprintSha256,
    key_type: d.keyType,
    imported: row.imported !== 0,
    created_at: row.created_at,
  };
}

/** The CA as the console shows it, or null when the workspace has none. */
export function showCa(ws: Workspace): CaInfo | null {
  const row = caRow(ws);
  return row === null ? null : caInfo(row);
}

/** CONFLICT when the workspace already has a CA (it is never replaced). */
export function refuseExisting(ws: Workspace): void {
  if (hasCa(ws)) {
    throw new CastellanError(
      'CONFLICT',
      'this workspace already has a worker CA; every issued certificate chains to it, so it is never replaced',
    );
  }
}

/** Seal the key, store the CA with its first (empty) CRL and the audit entry, all at once. */
async function storeNewCa(
  ws: Workspace,
  material: { certDer: Uint8Array; keyPkcs8Der: Uint8Array },
  imported: boolean,
  timing: CrlTiming,
): Promise<CaInfo> {
  const sealed = ws.vault.seal(material.keyPkcs8Der, CA_KEY_AAD);
  const described = describeCa(material.certDer);
  return withCrlRetry(async () => {
    const crl = await prepareCrl(ws, material, timing);
    return ws.transaction(() => {
      // Another process may have created one while the key was generated or the CRL signed.
      refuseExisting(ws);
      const createdAt = (timing.now ?? new Date()).toISOString();
      ws.db
        .prepare('INSERT INTO ca (id, cert_der, sealed_key, imported, created_at) VALUES (1, ?, ?, ?, ?)')
        .run(material.certDer, sealed, imported ? 1 : 0, createdAt);
      ws.integrity.seal('ca');
      commitCrl(ws, crl);
      ws.audit.append({
        action: imported ? 'ca.import' : 'ca.init',
        target: CA_TARGET,
        details: {
          subject: described.subject,
          serial: described.serial,
          fingerprint_sha256: described.fingerprintSha256,
          not_after: described.notAfter.toISOString(),
          key_type: described.keyType,
          crl_number: crl.crlNumber.toString(),
        },
      });
      return caInfo(requireCaRow(ws));
    });
  });
}

/** Create the worker CA exactly as ZLayer's worker_ca.rs does. CONFLICT if one exists. */
export async function initCa(ws: Workspace, timing: CrlTiming = {}): Promise<CaInfo> {
  refuseExisting(ws);
  ws.vault.requireUnlocked();
  const created = await createWorkerCa(timing.now ? { now: timing.now } : {});
  try {
    return await storeNewCa(ws, created, false, timing);
  } finally {
    created.keyPkcs8Der.fill(0);
  }
}

function importText(value: string | Uint8Array, what: string): string {
  const size = typeof value === 'string' ? value.length : value.byteLength;
  if (size === 0) throw new CastellanError('INVALID_INPUT', `the ${what} file is empty`);
  if (size > MAX_IMPORT_BYTES) {
    throw new CastellanError('INVALID_INPUT', `the ${what} file is ${size} bytes; a PEM ${what} is far smaller`);
  }
  return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}

/**
 * Adopt an existing CA (a daemon's worker_ca.crt and worker_ca.key): the certificate must be
 * a CA, unexpired, ECDSA P-256, and the key must match it. Nothing changes on refusal.
 */
export async function importCa(
  ws: Workspace,
  certPem: string | Uint8Array,
  keyPem: string | Uint8Array,
  timing: CrlTiming = {},
): Promise<CaInfo> {
  refuseExisting(ws);
  ws.vault.requireUnlocked();
  const parsed = await parseCaImport(
    importText(certPem, 'certificate'),
    importText(keyPem, 'key'),
    timing.now ? { now: timing.now } : {},
  );
  try {
    return await storeNewCa(ws, parsed, true, timing);
  } finally {
    parsed.keyPkcs8Der.fill(0);
  }
}

// ───────────────────────────── exports ─────────────────────────────

/** A file-system write failure as an admin-readable INVALID_INPUT. */
export function writeError(err: unknown, file: string): CastellanError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'its folder does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : (code ?? 'write error');
  return new CastellanError('INVALID_INPUT', `cannot write ${file}: ${why}`);
}

function requireFolder(dir: string): string {
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new CastellanError('INVALID_INPUT', 'a folder to export into is required');
  }
  const abs = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new CastellanError('NOT_FOUND', `the folder ${abs} does not exist`);
  }
  if (!stat.isDirectory()) throw new CastellanError('INVALID_INPUT', `${abs} is not a folder`);
  return abs;
}

/** A temporary file beside `file` (random name, created exclusively, `mode` from the start). */
function writeTemp(file: string, data: string, mode: number): string {
  try {
    refuseSymlink(file);
    return writeExclusiveTemp(file, data, mode);
  } catch (err) {
    if (err instanceof CastellanError) throw err;
    throw writeError(err, file);
  }
}

export interface ZlayerExport {
  dir: string;
  certPath: string;
  keyPath: string;
}

/**
 * Write the CA in ZLayer's on-disk layout: `worker_ca.crt` (PEM, 0644) and `worker_ca.key`
 * (PEM PKCS#8, 0600), each written to a temporary file and renamed over any existing file.
 * Both temporary files are written before either rename, so a failure leaves the folder as
 * it was. Needs the unlocked vault and `confirm: true`: this hands out the key that signs
 * every worker certificate.
 */
export async function exportCaZlayer(ws: Workspace, dir: string, options: { confirm?: boolean } = {}): Promise<ZlayerExport> {
  if (options.confirm !== true) {
    throw new CastellanError(
      'INVALID_INPUT',
      'exporting the worker CA private key needs explicit confirmation: whoever holds worker_ca.key can issue worker certificates',
    );
  }
  const folder = requireFolder(dir);
  return withCaKey(ws, ({ certDer, keyPkcs8Der }) => {
    const certPath = path.join(folder, ZLAYER_CA_CERT_FILE);
    const keyPath = path.join(folder, ZLAYER_CA_KEY_FILE);
    const described = describeCa(certDer);
    ws.transaction(() => {
      ws.audit.append({
        action: 'ca.export_zlayer',
        target: CA_TARGET,
        details: { path: folder, files: [ZLAYER_CA_CERT_FILE, ZLAYER_CA_KEY_FILE], serial: described.serial },
      });
      const certTmp = writeTemp(certPath, pemEncode(certDer, 'CERTIFICATE'), 0o644);
      let keyTmp: string;
      try {
        keyTmp = writeTemp(keyPath, pemEncode(keyPkcs8Der, 'PRIVATE KEY'), 0o600);
      } catch (err) {
        fs.rmSync(certTmp, { force: true });
        throw err;
      }
      try {
        fs.renameSync(certTmp, certPath);
      } catch (err) {
        fs.rmSync(certTmp, { force: true });
        fs.rmSync(keyTmp, { force: true });
        throw writeError(err, certPath);
      }
      try {
        fs.renameSync(keyTmp, keyPath);
      } catch (err) {
        fs.rmSync(keyTmp, { force: true });
        throw writeError(err, keyPath);
      }
    });
    return { dir: folder, certPath, keyPath };
  });
}

export function isBundleFormat(value: unknown): value is CaBundleFormat {
  return typeof value === 'string' && (CA_BUNDLE_FORMATS as readonly string[]).includes(value);
}

/**
 * The CA certificate as PEM, DER, PKCS#7 (.p7b) or ZLayer's JSON chain. `write` receives the
 * data inside the audited transaction (a throw undoes the audit entry).
 */
export function exportCaBundle(
  ws: Workspace,
  format: CaBundleFormat,
  write: (data: string | Uint8Array) => void,
): string | Uint8Array {
  if (!isBundleFormat(format)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `unknown CA bundle format ${JSON.stringify(String(format))}; use pem, der, p7b, p7b-der or json`,
    );
  }
  const certDer = requireCaCert(ws);
  ws.integrity.assert('ca', 'publish it');
  const data = caBundle(certDer, format);
  ws.transaction(() => {
    ws.audit.append({ action: 'ca.export', target: CA_TARGET, details: { what: 'bundle', format } });
    write(data);
  });
  return data;
}

// ───────────────────────────── the CRL ─────────────────────────────

/** Sign and store a fresh CRL now (same entries, next number, new validity window). */
export async function publishCrl(ws: Workspace, timing: CrlTiming = {}): Promise<StoredCrl> {
  return withCaKey(ws, (ca) =>
    withCrlRetry(async () => {
      const crl = await prepareCrl(ws, ca, timing);
      ws.transaction(() => {
        commitCrl(ws, crl);
        ws.audit.append({
          action: 'ca.crl_publish',
          target: CA_TARGET,
          details: { crl_number: crl.crlNumber.toString(), entries: crl.entries, next_update: crl.nextUpdate.toISOString() },
        });
      });
      return crl;
    }),
  );
}

/** Whether exporting the CRL now would have to re-sign it (none stored, or past nextUpdate). */
export function crlNeedsRefresh(ws: Workspace, now: Date = new Date()): boolean {
  requireCaRow(ws);
  return crlIsStale(readStoredCrl(ws), now);
}

export function crlData(crl: StoredCrl, format: 'pem' | 'der'): string | Uint8Array {
  return format === 'pem' ? crlPem(crl.der) : new Uint8Array(crl.der);
}

/**
 * The current CRL as PEM (`X509 CRL`) or DER. A stored CRL still within its validity needs no
 * key; one past its nextUpdate is re-signed first, which needs the unlocked vault (LOCKED
 * otherwise: handing out an expired CRL would make verifiers reject every worker).
 */
export async function exportCrl(
  ws: Workspace,
  format: 'pem' | 'der',
  write: (data: string | Uint8Array) => void,
  timing: CrlTiming = {},
): Promise<StoredCrl> {
  if (format !== 'pem' && format !== 'der') {
    throw new CastellanError('INVALID_INPUT', `unknown CRL format ${JSON.stringify(String(format))}; use pem or der`);
  }
  requireCaRow(ws);
  ws.integrity.assert('crl', 'publish it');
  let crl = readStoredCrl(ws);
  if (crlIsStale(crl, timing.now)) {
    if (!ws.vault.unlocked) {
      const why = crl === null ? 'no CRL has been signed yet' : `the stored CRL #${crl.crlNumber} expired on ${crl.nextUpdate.toISOString()}`;
      throw new CastellanError('LOCKED', `${why}; unlock the vault so Castellan can sign a current one`);
    }
    crl = await publishCrl(ws, timing);
  }
  const current = crl!;
  const data = crlData(current, format);
  ws.transaction(() => {
    ws.audit.append({
      action: 'ca.export',
      target: CA_TARGET,
      details: { what: 'crl', format, crl_number: current.crlNumber.toString() },
    });
    write(data);
  });
  return current;
}

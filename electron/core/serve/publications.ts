/**
 * What `serve` publishes, built by the core functions that export the same documents (so a
 * change to those — which keys the JWKS lists, what the revocation list carries — reaches the
 * server too), kept fresh against the database:
 *
 * - JWKS: rebuilt from the signing_keys rows on every request (a handful of rows); the ETag is
 *   a digest of the exact bytes, so an unchanged set revalidates with 304.
 * - Revocation list: re-signed (exportRevocationList: next sequence number, one audit entry)
 *   only when its inputs change — the newest revocation in the ledger (max revoke_audit_seq, an
 *   O(log n) read on a partial index) or the key that signs it — or when it is older than
 *   `refreshSecs`. The check runs on every request, so a revoke committed by any process is in
 *   the very next list served.
 * - CRL: the stored CRL (ca_crl), which every certificate revocation re-signs in its own
 *   transaction; read per request (one row), re-signed here only once past its nextUpdate.
 */
import { createHash } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import { publishCrl } from '../ca/ca-store.ts';
import { crlIsStale, readStoredCrl, type StoredCrl } from '../ca/crl-publisher.ts';
import { exportRevocationList } from '../tokens/revocation.ts';
import { nowSecs, workspaceJwks } from '../tokens/signing-keys.ts';
import type { Workspace } from '../workspace/workspace.ts';

/** Re-sign the revocation list at least this often even when nothing changed. */
export const DEFAULT_REVOCATIONS_REFRESH_SECS = 600;

export type Published = { body: string | Uint8Array; etag: string };

function etagOf(bytes: string | Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
}

export class Publications {
  readonly #ws: Workspace;
  readonly #refreshSecs: number;
  #revocations: { fingerprint: string; at: number; published: Published; seq: number } | null = null;
  #crlSigning: Promise<StoredCrl> | null = null;

  constructor(ws: Workspace, options: { revocationsRefreshSecs?: number } = {}) {
    this.#ws = ws;
    this.#refreshSecs = options.revocationsRefreshSecs ?? DEFAULT_REVOCATIONS_REFRESH_SECS;
  }

  jwks(now: number = nowSecs()): Published {
    const body = `${JSON.stringify(workspaceJwks(this.#ws, now))}\n`;
    return { body, etag: etagOf(body) };
  }

  /** What the revocation list depends on, read cheaply. */
  #revocationFingerprint(): string {
    const db = this.#ws.db;
    const newest = db
      .prepare('SELECT max(revoke_audit_seq) AS s FROM tokens WHERE revoke_audit_seq IS NOT NULL')
      .get() as { s: number | null };
    const keys = db
      .prepare(
        "SELECT group_concat(id || ':' || state || ':' || compromised, ',') AS k FROM (SELECT id, state, compromised FROM signing_keys ORDER BY id)",
      )
      .get() as { k: string | null };
    return `${newest.s ?? 0}|${keys.k ?? ''}`;
  }

  /** The signed list (compact JWS), re-signed when the ledger or the signing keys changed. */
  revocations(now: number = nowSecs()): Published & { seq: number } {
    const fingerprint = this.#revocationFingerprint();
    const cached = this.#revocations;
    if (cached !== null && cached.fingerprint === fingerprint && now - cached.at < this.#refreshSecs) {
      return { ...cached.published, seq: cached.seq };
    }
    const signed = exportRevocationList(this.#ws, now);
    const body = signed.jws;
    // The fingerprint was read BEFORE the export: a revoke committed in between is in this list
    // and merely triggers one extra re-sign; one committed after it changes the fingerprint the
    // next request reads. Either way none is missed. (The export's own audit entry does not
    // change the fingerprint.)
    this.#revocations = {
      fingerprint,
      at: now,
      published: { body, etag: etagOf(body) },
      seq: signed.list.seq,
    };
    return { body, etag: etagOf(body), seq: signed.list.seq };
  }

  /** The current CRL; re-signed first (one signer at a time) if it is missing or past nextUpdate. */
  async crl(now: Date = new Date()): Promise<StoredCrl> {
    const stored = readStoredCrl(this.#ws);
    if (!crlIsStale(stored, now)) return stored!;
    if (!this.#ws.vault.unlocked) {
      throw new CastellanError('LOCKED', 'the stored CRL is missing or expired and the vault is locked');
    }
    this.#crlSigning ??= publishCrl(this.#ws, { now }).finally(() => {
      this.#crlSigning = null;
    });
    return this.#crlSigning;
  }
}

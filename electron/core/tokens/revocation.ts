/**
 * Revocation, refresh and the signed revocation list.
 *
 * Decisions:
 * - Revoking a token that is already revoked is harmless: the record is
 *   returned unchanged (its first reason and time stand) and nothing is written,
 *   not even an audit entry, because nothing changed.
 * - An unknown jti is NOT_FOUND and changes nothing.
 * - A bulk revoke selects *active* tokens that carry a jti: an expired token
 *   needs no revoking, and a token minted without a jti cannot be revoked by any
 *   verifier, so marking it would pretend to a protection it does not have (the
 *   result reports how many such tokens the filter matched). The dry run counts
 *   exactly what the real run would revoke and writes nothing. The real run is
 *   one transaction with ONE summary audit entry (a 100,000-token revoke must not
 *   write 100,000 entries); each revoked row points at that entry
 *   (`revoke_audit_seq`), so every token's history still shows its revocation.
 * - Refresh mints the replacement first, then revokes the old token as
 *   `superseded` with `replaced_by` = the new jti, in one transaction: if the
 *   mint fails (locked vault, service gone, no key) nothing is revoked, and the
 *   new token is handed out only after both are committed.
 * - The revocation list holds `{jti, exp}` of revoked tokens a verifier could
 *   still accept (exp + 60 s leeway ≥ now), is numbered by `meta.revocation_list_seq`
 *   (incremented on every export, authenticated by record-integrity.ts), carries `iat` and an
 *   `exp` 24 h later by default (tokens/revocation-list.ts has the verifier
 *   rule), and is signed by the active ed25519 key, else the active es256 key
 *   (an HMAC-signed list could be forged by any holder of the secret).
 */
import { CastellanError } from '../../../shared/errors.ts';
import { REVOKE_REASONS } from '../../../shared/ipc/contract/tokens.ts';
import { MAX_SHOWN_UNIX_SECS } from '../../../shared/time.ts';
import { mintTokenInTransaction, type Minted } from './minting.ts';
import { nowSecs, revocationListSigner } from './signing-keys.ts';
import {
  filterClause,
  recordOf,
  requireTokenByJti,
  tokenTarget,
  type TokenFilter,
  type TokenRecord,
  type TokenRow,
} from './token-ledger.ts';
import { CLOCK_LEEWAY_SECS } from './inspect.ts';
import { revocationMismatch, revokedIdsDigest } from './revocation-integrity.ts';
import {
  buildRevocationList,
  REVOCATION_LIST_VALIDITY_SECS,
  signRevocationList,
  type RevocationList,
} from './revocation-list.ts';
import type { Workspace } from '../workspace/workspace.ts';

export type RevokeReason = (typeof REVOKE_REASONS)[number];

function requireReason(reason: unknown): RevokeReason {
  if (typeof reason !== 'string' || !(REVOKE_REASONS as readonly string[]).includes(reason)) {
    throw new CastellanError('INVALID_INPUT', `the reason must be one of ${REVOKE_REASONS.join(', ')}`);
  }
  return reason as RevokeReason;
}

/** Marks one row revoked and writes its audit entry; inside the caller's transaction. */
function revokeRow(
  ws: Workspace,
  row: TokenRow,
  reason: RevokeReason,
  now: number,
  replacedBy: string | null,
): TokenRow {
  const entry = ws.audit.append({
    action: 'token.revoke',
    target: tokenTarget(row),
    details: {
      jti: row.jti,
      reason,
      replaced_by: replacedBy,
      deployment: row.deployment,
      service: row.service,
      container: row.container,
      key_id: row.key_id,
    },
  });
  // Only the columns that change: an unrevoked row's replaced_by is always NULL (only this
  // function sets it, together with revoked_at), and SQLite rewrites the index of every column
  // named in SET, changed or not.
  if (replacedBy === null) {
    ws.db
      .prepare(
        'UPDATE tokens SET revoked_at = ?, revoke_reason = ?, revoke_audit_seq = ? WHERE id = ? AND revoked_at IS NULL',
      )
      .run(now, reason, entry.seq, row.id);
  } else {
    ws.db
      .prepare(
        'UPDATE tokens SET revoked_at = ?, revoke_reason = ?, replaced_by = ?, revoke_audit_seq = ? WHERE id = ? AND revoked_at IS NULL',
      )
      .run(now, reason, replacedBy, entry.seq, row.id);
  }
  return { ...row, revoked_at: now, revoke_reason: reason, replaced_by: replacedBy, revoke_audit_seq: entry.seq };
}

/** Revokes one token by jti. Already revoked: returned unchanged, nothing written. */
export function revokeToken(ws: Workspace, jti: string, reason: RevokeReason, now: number = nowSecs()): TokenRecord {
  requireReason(reason);
  return ws.transaction(() => {
    const row = requireTokenByJti(ws, jti);
    if (row.revoked_at !== null) return recordOf(row, now);
    return recordOf(revokeRow(ws, row, reason, now, null), now);
  });
}

export type BulkRevokeResult = {
  /** Tokens revoked (or, in a dry run, that would be). */
  count: number;
  dry_run: boolean;
  /** Active tokens the filter matched that have no jti: they cannot be revoked, only expire. */
  unrevocable: number;
};

const SELECTORS: readonly (keyof TokenFilter)[] = [
  'deployment',
  'service',
  'container',
  'profile',
  'key_id',
  'text',
  'capability',
  'risk',
  'grants',
];

/**
 * Revokes every active token with a jti that `filter` selects; `dryRun` only
 * counts. A filter must name at least one selector (deployment, service,
 * container, profile, key_id or text): an empty one would revoke everything.
 */
export function revokeBulk(
  ws: Workspace,
  input: { filter: TokenFilter; reason: RevokeReason; dryRun: boolean; now?: number },
): BulkRevokeResult {
  const reason = requireReason(input.reason);
  const now = input.now ?? nowSecs();
  const filter = input.filter ?? {};
  filterClause(filter, now); // validates every member before anything else is judged
  if (filter.status !== undefined && filter.status !== 'active') {
    throw new CastellanError(
      'INVALID_INPUT',
      `a bulk revoke applies to active tokens only; leave the status filter out instead of "${String(filter.status).slice(0, 20)}"`,
    );
  }
  // risk 'low' selects every token (every token is low or worse), so it narrows nothing.
  if (!SELECTORS.some((k) => filter[k] !== undefined && filter[k] !== '' && !(k === 'risk' && filter[k] === 'low'))) {
    throw new CastellanError(
      'INVALID_INPUT',
      `a bulk revoke needs at least one filter (${SELECTORS.join(', ')}); an empty filter would revoke every token`,
    );
  }
  const { sql, params } = filterClause({ ...filter, status: 'active' }, now, { dialect: ws.engine.dialect });
  const count = (): { revocable: number; unrevocable: number } => {
    const row = ws.db
      .prepare(`SELECT count(jti) AS revocable, count(*) - count(jti) AS unrevocable FROM tokens WHERE ${sql}`)
      .get(...params) as { revocable: number; unrevocable: number };
    return row;
  };
  if (input.dryRun) {
    const c = count();
    return { count: c.revocable, dry_run: true, unrevocable: c.unrevocable };
  }
  return ws.transaction(() => {
    // Read under the write lock, so the summary entry states exactly what the update does: which
    // rows, not only how many (the entry pins them, revocation-integrity.ts, so none can be
    // un-revoked in the file unnoticed), in the same pass that counts the unrevocable ones.
    const matched = ws.db.prepare(`SELECT id, jti IS NOT NULL AS revocable FROM tokens WHERE ${sql}`).all(...params) as {
      id: number;
      revocable: number;
    }[];
    const ids = matched.filter((r) => r.revocable === 1).map((r) => r.id);
    const c = { revocable: ids.length, unrevocable: matched.length - ids.length };
    if (c.revocable === 0) return { count: 0, dry_run: false, unrevocable: c.unrevocable };
    const entry = ws.audit.append({
      action: 'token.revoke_bulk',
      target: 'tokens',
      details: {
        filter: { ...filter },
        reason,
        count: c.revocable,
        unrevocable: c.unrevocable,
        ids_digest: revokedIdsDigest(ids),
      },
    });
    const changed = ws.db
      .prepare(
        `UPDATE tokens SET revoked_at = ?, revoke_reason = ?, revoke_audit_seq = ? WHERE ${sql} AND jti IS NOT NULL`,
      )
      .run(now, reason, entry.seq, ...params).changes;
    if (Number(changed) !== c.revocable) {
      throw new CastellanError(
        'INTERNAL',
        `the bulk revoke changed ${changed} rows where ${c.revocable} were counted; nothing was revoked`,
      );
    }
    return { count: c.revocable, dry_run: false, unrevocable: c.unrevocable };
  });
}

/**
 * Replaces a token: mints a new one for the same deployment, service, container
 * and profile under the *current* policy and active key, then revokes the old
 * one as superseded with `replaced_by`. One transaction; a failed mint revokes
 * nothing. A revoked token cannot be refreshed (CONFLICT).
 */
export function refreshToken(ws: Workspace, jti: string, now: number = nowSecs()): Minted {
  // Locked is reported before anything else, and before the ledger is read.
  ws.vault.requireUnlocked();
  const result = ws.transaction(() => {
    const old = requireTokenByJti(ws, jti);
    if (old.revoked_at !== null) {
      throw new CastellanError(
        'CONFLICT',
        `token ${quoteOf(old)} was already revoked (${old.revoke_reason ?? 'no reason'})${old.replaced_by ? ` and replaced by ${old.replaced_by}` : ''}; mint a new one instead`,
      );
    }
    const minted = mintTokenInTransaction(
      ws,
      {
        deployment: old.deployment,
        service: old.service,
        container: old.container,
        profile: old.profile,
        now,
        // The replacement is for the same replica attempt: it does not supersede its siblings.
        ...(old.create_attempt != null ? { attempt: old.create_attempt } : {}),
      },
      { refresh_of: old.jti },
    );
    const newJti = minted.record.jti!;
    revokeRow(ws, old, 'superseded', now, newJti);
    return minted;
  });
  return result;
}

function quoteOf(row: TokenRow): string {
  return row.jti ?? `#${row.id}`;
}

/** The revocation list document (unsigned), without touching the sequence number. */
export function revocationEntries(ws: Workspace, now: number): { jti: string; exp: number }[] {
  return ws.db
    .prepare(
      // least(): a stored exp beyond year 9999 (a row edited in the file) is listed as 9999, not a read error.
      `SELECT jti, ${ws.engine.dialect.least('expires_at', String(MAX_SHOWN_UNIX_SECS))} AS exp FROM tokens
       WHERE revoked_at IS NOT NULL AND jti IS NOT NULL AND expires_at >= ? ORDER BY jti`,
    )
    .all(now - CLOCK_LEEWAY_SECS) as { jti: string; exp: number }[];
}

export type SignedRevocationList = { jws: string; list: RevocationList; key_id: string; kid: string };

/**
 * Builds, numbers and signs the revocation list, and audits the export, in one
 * transaction (so two exports never share a sequence number).
 */
export function exportRevocationList(
  ws: Workspace,
  now: number = nowSecs(),
  validitySecs: number = REVOCATION_LIST_VALIDITY_SECS,
): SignedRevocationList {
  ws.vault.requireUnlocked();
  return ws.transaction(() => {
    const key = revocationListSigner(ws);
    // A number lowered in the file (to replay an older list's number) fails its MAC.
    ws.integrity.assert('revocation_list', 'number a revocation list from it');
    // A revocation undone in the file would leave a leaked token off the list.
    const undone = revocationMismatch(ws);
    if (undone !== null) throw new CastellanError('INTEGRITY', `${undone}; Castellan will not publish a revocation list from it`);
    const row = ws.db.prepare("SELECT value FROM meta WHERE key = 'revocation_list_seq'").get() as
      { value: string } | undefined;
    const seq = (row === undefined ? 0 : Number(row.value)) + 1;
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new CastellanError('INTEGRITY', 'meta.revocation_list_seq is not a whole number');
    }
    ws.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES ('revocation_list_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(String(seq));
    ws.integrity.seal('revocation_list');
    const list = buildRevocationList({ seq, generatedAt: now, entries: revocationEntries(ws, now), now, validitySecs });
    const jws = signRevocationList(list, { profile: key.profile, pkcs8: key.key, kid: key.kid });
    ws.audit.append({
      action: 'revocations.export',
      target: 'tokens',
      details: { seq, count: list.entries.length, key_id: key.id, kid: key.kid, exp: list.exp },
    });
    return { jws, list, key_id: key.id, kid: key.kid };
  });
}

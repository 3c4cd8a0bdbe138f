/**
 * Revocations the file cannot undo. A revoked token's row says `revoked_at`, and everything that
 * answers verifiers (the revocation list, `castellan serve`'s introspection) reads that column.
 * Someone who can write `castellan.db` could set it back to NULL and bring a leaked token back
 * to life; the row itself carries no MAC (revoking must work while the vault is locked, and a
 * per-row MAC would have to be written then).
 *
 * What cannot be rewritten is the audit log (hash-chained and MAC'd: record-integrity.ts), and
 * every revocation writes an entry in the same transaction:
 * - `token.revoke` (one token, also a refresh's or a newer create attempt's `superseded`) names
 *   the token's jti: that token must be revoked.
 * - `token.revoke_bulk` says how many rows it revoked, and (from this version on) `ids_digest`,
 *   the SHA-256 of their ids in ascending order; each of them points back at the entry through
 *   `revoke_audit_seq`: exactly that many rows, exactly those ids, all revoked.
 * So the check walks the revoking entries and the rows they revoked, and names the first token
 * whose revocation was undone. Entries written before `ids_digest` existed are checked by count.
 * Its trust rests on the audit log's: `verifyWorkspace` checks the log first.
 */
import { createHash } from 'node:crypto';
import type { Workspace } from '../workspace/workspace.ts';

/** SHA-256 (hex) of the ids, ascending, joined by commas: what a bulk revoke's entry records. */
export function revokedIdsDigest(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  return createHash('sha256').update(sorted.join(','), 'utf8').digest('hex');
}

const REVOKING = "('token.revoke', 'token.revoke_bulk')";

/**
 * Why the ledger no longer shows every revocation the audit log records, or null when it does.
 * Set-based (indexed joins in SQLite, no JSON read per single revocation): it runs on every
 * publication of the revocation list, and at 1,000,000 tokens with 50,000 revocations a walk
 * entry by entry took ~0.7 s, this ~0.2 s. Each query names the first failure of its kind.
 */
export function revocationMismatch(ws: Workspace): string | null {
  const db = ws.db;
  const dialect = ws.engine.dialect;
  // Only bulk entries are read as JSON (a single revoke is checked through its target); there
  // are few of them, so they are parsed here rather than with either engine's JSON functions.
  const bulks: { seq: number; count: unknown; digest: unknown }[] = [];
  for (const e of db
    .prepare(`SELECT seq, details FROM audit WHERE action = 'token.revoke_bulk' ORDER BY seq`)
    .iterate() as Iterable<{ seq: number; details: string }>) {
    let details: unknown;
    try {
      details = JSON.parse(e.details);
    } catch {
      return `audit entry ${e.seq} (token.revoke_bulk) cannot be read; run audit verify`;
    }
    const d = (details ?? {}) as { count?: unknown; ids_digest?: unknown };
    bulks.push({ seq: e.seq, count: d.count, digest: d.ids_digest });
  }

  // Rows still pointing at the entry that revoked them, but no longer revoked. (`+` keeps the
  // planner off the revoked_at index, which would walk every active token.)
  const unrevoked = db
    .prepare(
      `SELECT t.revoke_audit_seq AS seq, count(*) AS n FROM tokens t JOIN audit a ON a.seq = t.revoke_audit_seq
       WHERE t.revoke_audit_seq IS NOT NULL AND ${dialect.unindexed('t.revoked_at')} IS NULL AND a.action IN ${REVOKING}
       GROUP BY t.revoke_audit_seq ORDER BY t.revoke_audit_seq LIMIT 1`,
    )
    .get() as { seq: number; n: number } | undefined;
  if (unrevoked) {
    return `${unrevoked.n} token(s) that audit entry ${unrevoked.seq} revoked are no longer revoked in the ledger: a revocation was undone outside Castellan`;
  }

  // One token per `token.revoke`, named by its target (`token:<jti>`): the row pointing back at the
  // entry must be that token. Where none is (a revocation from before the rows pointed back, or
  // one undone), the token itself must exist and be revoked.
  const unlinked = db
    .prepare(
      `SELECT a.seq, substr(a.target, 7) AS jti FROM audit a WHERE a.action = 'token.revoke' AND a.target LIKE 'token:%'
         AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.revoke_audit_seq = a.seq AND 'token:' || t.jti = a.target)
       ORDER BY a.seq`,
    )
    .iterate() as Iterable<{ seq: number; jti: string }>;
  const byJti = db.prepare('SELECT id, revoked_at FROM tokens WHERE jti = ?');
  for (const e of unlinked) {
    const row = byJti.get(e.jti) as { id: number; revoked_at: number | null } | undefined;
    if (row === undefined) {
      return `token ${e.jti}, revoked by audit entry ${e.seq}, is missing from the ledger: its row was deleted or its jti changed outside Castellan`;
    }
    if (row.revoked_at === null) {
      return `token ${e.jti} (#${row.id}) was revoked by audit entry ${e.seq} but is not revoked in the ledger: a revocation was undone outside Castellan, and verifiers would accept the token again`;
    }
  }

  // A bulk revoke: exactly `count` rows point back at it, and (when recorded) exactly those ids.
  const bulkRows = db.prepare(
    `SELECT count(*) AS n, ${dialect.joinedIds('id')} AS ids FROM tokens WHERE revoke_audit_seq = ?`,
  );
  for (const e of bulks) {
    if (typeof e.count !== 'number') continue;
    const rows = bulkRows.get(e.seq) as { n: number; ids: string | null };
    if (rows.n !== e.count) {
      return `audit entry ${e.seq} revoked ${e.count} token(s) but ${rows.n} row(s) in the ledger say so: a revocation was undone or moved outside Castellan`;
    }
    if (typeof e.digest === 'string' && rows.ids !== null && revokedIdsDigest(rows.ids.split(',').map(Number)) !== e.digest) {
      return `the tokens revoked by audit entry ${e.seq} are not the ones it recorded: a revocation was moved to other tokens outside Castellan`;
    }
  }

  // Rows pointing at an entry that revoked nothing: marked revoked outside Castellan.
  const stray = db
    .prepare(
      `SELECT t.revoke_audit_seq AS seq, count(*) AS n FROM tokens t LEFT JOIN audit a ON a.seq = t.revoke_audit_seq
       WHERE t.revoke_audit_seq IS NOT NULL AND (a.action IS NULL OR a.action NOT IN ${REVOKING})
       GROUP BY t.revoke_audit_seq ORDER BY t.revoke_audit_seq LIMIT 1`,
    )
    .get() as { seq: number; n: number } | undefined;
  if (stray) {
    return `${stray.n} token row(s) point to audit entry ${stray.seq} as their revocation, but that entry revoked nothing: the ledger was edited outside Castellan`;
  }
  return null;
}

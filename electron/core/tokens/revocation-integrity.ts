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

interface Group {
  n: number;
  unrevoked: number;
  ids: string;
}

/**
 * Why the ledger no longer shows every revocation the audit log records, or null when it does.
 * Cost: one indexed lookup per single revocation and one grouped pass over the revoked rows.
 */
export function revocationMismatch(ws: Workspace): string | null {
  const groups = new Map<number, Group>();
  for (const g of ws.db
    .prepare(
      `SELECT revoke_audit_seq AS seq, count(*) AS n, sum(revoked_at IS NULL) AS unrevoked, group_concat(id, ',' ORDER BY id) AS ids
       FROM tokens WHERE revoke_audit_seq IS NOT NULL GROUP BY revoke_audit_seq`,
    )
    .iterate() as Iterable<Group & { seq: number }>) {
    groups.set(g.seq, { n: g.n, unrevoked: g.unrevoked, ids: g.ids });
  }
  const byJti = ws.db.prepare('SELECT id, revoked_at FROM tokens WHERE jti = ?');
  const entries = ws.db
    .prepare("SELECT seq, action, details FROM audit WHERE action IN ('token.revoke', 'token.revoke_bulk') ORDER BY seq")
    .iterate() as Iterable<{ seq: number; action: string; details: string }>;
  for (const e of entries) {
    let details: { jti?: unknown; count?: unknown; ids_digest?: unknown };
    try {
      details = JSON.parse(e.details) as typeof details;
    } catch {
      return `audit entry ${e.seq} (${e.action}) cannot be read; run audit verify`;
    }
    const group = groups.get(e.seq);
    groups.delete(e.seq);
    if (group !== undefined && group.unrevoked > 0) {
      return `${group.unrevoked} token(s) that audit entry ${e.seq} revoked are no longer revoked in the ledger: a revocation was undone outside Castellan`;
    }
    if (e.action === 'token.revoke') {
      if (typeof details.jti !== 'string') continue;
      const row = byJti.get(details.jti) as { id: number; revoked_at: number | null } | undefined;
      if (row === undefined) {
        return `token ${details.jti}, revoked by audit entry ${e.seq}, is missing from the ledger: its row was deleted or its jti changed outside Castellan`;
      }
      if (row.revoked_at === null) {
        return `token ${details.jti} (#${row.id}) was revoked by audit entry ${e.seq} but is not revoked in the ledger: a revocation was undone outside Castellan, and verifiers would accept the token again`;
      }
      continue;
    }
    const count = typeof details.count === 'number' ? details.count : null;
    if (count === null) continue;
    if ((group?.n ?? 0) !== count) {
      return `audit entry ${e.seq} revoked ${count} token(s) but ${group?.n ?? 0} row(s) in the ledger say so: a revocation was undone or moved outside Castellan`;
    }
    if (typeof details.ids_digest === 'string' && group !== undefined) {
      const ids = group.ids.split(',').map(Number);
      if (revokedIdsDigest(ids) !== details.ids_digest) {
        return `the tokens revoked by audit entry ${e.seq} are not the ones it recorded: a revocation was moved to other tokens outside Castellan`;
      }
    }
  }
  // Rows pointing at an entry that revoked nothing: marked revoked outside Castellan.
  for (const [seq, g] of groups) {
    return `${g.n} token row(s) point to audit entry ${seq} as their revocation, but that entry revoked nothing: the ledger was edited outside Castellan`;
  }
  return null;
}

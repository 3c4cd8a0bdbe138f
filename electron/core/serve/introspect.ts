/**
 * RFC 7662 token introspection on the workspace's own inspector (token-inspection.ts), read
 * from the database on every call so a revoke anywhere is seen by the next request.
 *
 * A token is active only when ALL of these hold; every other case is the same `{"active":false}`:
 * - the inspector's verdict is `valid` (signature verified with a stored key whose algorithm is
 *   pinned, i.e. not unknown, retired, confused or forged; claims well formed; not revoked —
 *   which covers `superseded`; issued here);
 * - the key is not marked compromised;
 * - the ledger row is THIS token (same SHA-256), not just a row sharing its jti;
 * - `exp` is strictly in the future and `nbf` (if any) is not, with no leeway: the inspector
 *   forgives 60 s of clock skew for display, an authority answering live does not.
 *
 * Uniformity: the answer for any failure is one constant body. As for timing, the costly steps
 * (a signature check, a ledger lookup) are run for every request, with a stand-in key and
 * digest when the token never got that far, so a malformed or unknown-key token costs about
 * what a forged one does. The reason is kept only for the caller's own counters, never sent.
 */
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { formatScope } from '../../../shared/policy/index.ts';
import { nowSecs } from '../signing-keys.ts';
import { inspectWithLedger } from '../token-inspection.ts';
import { tokenRowBySha256 } from '../token-ledger.ts';
import { MAX_TOKEN_BYTES } from '../tokens/inspect.ts';
import type { Workspace } from '../workspace.ts';

export const INACTIVE_BODY = '{"active":false}';

export type IntrospectionResult =
  | { active: false; why: string; tokenId: number | null }
  | { active: true; body: Record<string, unknown>; tokenId: number };

// The stand-in work for tokens that fail before their signature is checked.
const standIn = generateKeyPairSync('ed25519');
const standInData = Buffer.from('castellan introspection stand-in');
const standInSig = sign(null, standInData, standIn.privateKey);

function balance(ws: Workspace, token: string): void {
  verify(null, standInData, standIn.publicKey, standInSig);
  tokenRowBySha256(ws, createHash('sha256').update(token).digest('hex'));
}

function isCompromised(ws: Workspace, keyId: string): boolean {
  const row = ws.db.prepare('SELECT compromised FROM signing_keys WHERE id = ?').get(keyId) as
    { compromised: number } | undefined;
  return row === undefined || row.compromised !== 0;
}

export function introspect(ws: Workspace, token: string, now: number = nowSecs()): IntrospectionResult {
  if (token.length === 0 || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    balance(ws, token);
    return { active: false, why: 'malformed', tokenId: null };
  }
  let inspection;
  try {
    inspection = inspectWithLedger(ws, token, now);
  } catch {
    // LOCKED (an HS256 token while the vault is locked) or a damaged key row: not active.
    balance(ws, token);
    return { active: false, why: 'error', tokenId: null };
  }
  const record = inspection.record;
  if (inspection.verdict === 'malformed' || inspection.verdict === 'unknown_key') balance(ws, token);
  if (inspection.verdict !== 'valid' || record === null || inspection.claims === null) {
    return { active: false, why: inspection.verdict, tokenId: record?.id ?? null };
  }
  const claims = inspection.claims;
  const exp = claims.exp as number;
  const nbf = claims.nbf;
  if (exp <= now) return { active: false, why: 'expired', tokenId: record.id };
  if (typeof nbf === 'number' && nbf > now) return { active: false, why: 'not_yet_valid', tokenId: record.id };
  if (record.token_sha256 !== createHash('sha256').update(token.trim().replace(/^bearer\s+/i, '')).digest('hex')) {
    return { active: false, why: 'not_this_token', tokenId: record.id };
  }
  if (isCompromised(ws, record.key_id)) return { active: false, why: 'compromised_key', tokenId: record.id };
  const body: Record<string, unknown> = {
    active: true,
    sub: claims.sub,
    scope: inspection.scopes.map(formatScope).join(' '),
    scopes: inspection.scopes,
    exp,
    iat: claims.iat,
    jti: claims.jti,
    iss: claims.iss,
    token_type: 'Bearer',
  };
  if (claims.aud !== undefined) body.aud = claims.aud;
  return { active: true, body, tokenId: record.id };
}

/**
 * Introspection counts per token, kept in memory and written in one transaction per flush (a
 * write per request would put an fsync on every introspection). No token bytes: the ledger id.
 */
export class IntrospectionCounter {
  #pending = new Map<number, { count: number; last: number }>();

  note(tokenId: number, at: number): void {
    const entry = this.#pending.get(tokenId);
    if (entry) {
      entry.count += 1;
      entry.last = Math.max(entry.last, at);
    } else this.#pending.set(tokenId, { count: 1, last: at });
  }

  get pending(): number {
    return this.#pending.size;
  }

  flush(ws: Workspace): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      ws.transaction(() => {
        const upsert = ws.db.prepare(
          `INSERT INTO token_introspections (token_id, count, last_at) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM tokens WHERE id = ?)
           ON CONFLICT (token_id) DO UPDATE SET count = count + excluded.count, last_at = max(last_at, excluded.last_at)`,
        );
        for (const [id, { count, last }] of batch) upsert.run(id, count, last, id);
      });
    } catch {
      // Busy workspace: keep the counts for the next flush rather than lose them.
      for (const [id, v] of batch) {
        const e = this.#pending.get(id);
        if (e) {
          e.count += v.count;
          e.last = Math.max(e.last, v.last);
        } else this.#pending.set(id, v);
      }
    }
  }
}

/** What the Tokens drawer shows: how often, and when last, a token was introspected. */
export function introspectionStats(ws: Workspace, tokenId: number): { count: number; last_at: number | null } {
  const row = ws.db.prepare('SELECT count, last_at FROM token_introspections WHERE token_id = ?').get(tokenId) as
    { count: number; last_at: number } | undefined;
  return row === undefined ? { count: 0, last_at: null } : { count: row.count, last_at: row.last_at };
}

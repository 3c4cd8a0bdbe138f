/**
 * RFC 7662 token introspection on the workspace's own inspector (tokens/inspect.ts, wired as
 * token-inspection.ts wires it), reading the ledger row on every call and the key rows whenever
 * the database may have changed (Introspector below), so a revoke anywhere is seen by the next
 * request.
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
 * (a signature check, a ledger lookup) are run for every inactive answer, with a stand-in key
 * and digest when the token never got that far (or its signature was remembered), so a
 * malformed, unknown-key or revoked token costs about what a forged one does. Only an active
 * answer for a token seen before skips the signature check. The reason is kept only for the
 * caller's own counters, never sent.
 */
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { SqlStatement } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import { formatScope } from '../../../shared/policy/index.ts';
import { getTokenConfig, nowSecs, verifyKeys, type TokenConfig } from '../tokens/signing-keys.ts';
import { TOKEN_COLUMNS, type TokenRow } from '../tokens/token-ledger.ts';
import { inspectToken, MAX_TOKEN_BYTES, type Inspection, type KeyRecord, type SignatureMemo } from '../tokens/inspect.ts';
import type { Profile } from '../tokens/key-material.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { upsertIntrospectionSql, type CounterWriter, type CountRow } from './counter-writer.ts';

export const INACTIVE_BODY = '{"active":false}';

export type IntrospectionResult =
  | { active: false; why: string; tokenId: number | null }
  | { active: true; body: Record<string, unknown>; tokenId: number };

// The stand-in work for tokens that fail before their signature is checked.
const standIn = generateKeyPairSync('ed25519');
const standInData = Buffer.from('castellan introspection stand-in');
const standInSig = sign(null, standInData, standIn.privateKey);

type KeyRowLite = {
  id: string;
  profile: Profile;
  kid: string | null;
  state: string;
  public_jwk: string | null;
  sealed_private: Uint8Array;
  compromised: number;
};

/** Signatures remembered before the memo starts over (a token's id and digest: ~150 bytes each). */
const SIGNATURE_MEMO_LIMIT = 50_000;

/**
 * Introspection bound to one workspace, for a server answering many requests.
 *
 * What is read per request, and what is kept (profiled under bench item 10b: the configuration
 * check and the signature verification were together three quarters of introspect()):
 * - The ledger row of the token (by SHA-256) is read on EVERY call: a revoke from any process
 *   shows on the next request.
 * - The signing-key rows and the token configuration (issuer, audience, checked against their
 *   record MAC) are re-read whenever the database may have changed since they were last read:
 *   `Workspace.changeStamp()` (SQLite's `PRAGMA data_version`, which moves when any OTHER
 *   connection commits, with `total_changes()`, which moves when THIS connection writes; on
 *   PostgreSQL the server's transaction snapshot) is read on every call, a few microseconds, and
 *   any difference re-reads both before the token is judged. So a retire, a
 *   rotation, a compromise flag or a new issuer from any process applies to the next request,
 *   as before; an unchanged database no longer costs six statement preparations and an HMAC.
 * - The verify KeyObjects built from the key rows are kept, and rebuilt as soon as any row
 *   differs. The zlayer HMAC keys are unsealed once per key set and dropped when the vault
 *   locks (as the opened CA is).
 * - Signatures that verified are remembered by key id and token SHA-256 (the exact bytes), and
 *   forgotten whenever the key rows differ or the vault locks: a signature over the same bytes
 *   with the same key cannot stop verifying, and everything else about the token is judged
 *   afresh. An answer that comes out inactive after a remembered signature still pays for one
 *   verification (the stand-in), so a revoked token costs what a forged one does.
 */
export class Introspector {
  readonly #ws: Workspace;
  readonly #keyRows: SqlStatement;
  readonly #bySha: SqlStatement;
  readonly #byJti: SqlStatement;
  #fingerprint = '';
  #byKid = new Map<string, KeyRecord>();
  #hmac: KeyRecord[] | null = null;
  #compromised = new Set<string>();
  #config: TokenConfig | null = null;
  /** `data_version:total_changes` when the keys and the configuration were last read; '' = read again. */
  #readAt = '';
  #verified = new Set<string>();
  #memoHit = false;
  readonly #memo: SignatureMemo = {
    has: (keyId, sha256) => {
      const hit = this.#verified.has(`${keyId}\n${sha256}`);
      if (hit) this.#memoHit = true;
      return hit;
    },
    add: (keyId, sha256) => {
      if (this.#verified.size >= SIGNATURE_MEMO_LIMIT) this.#verified = new Set();
      this.#verified.add(`${keyId}\n${sha256}`);
    },
  };
  readonly #unsubscribe: (() => void)[];

  constructor(ws: Workspace) {
    this.#ws = ws;
    this.#keyRows = ws.db.prepare(
      'SELECT id, profile, kid, state, public_jwk, sealed_private, compromised FROM signing_keys ORDER BY id',
    );
    this.#bySha = ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_sha256 = ?`);
    this.#byJti = ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti = ?`);
    const forget = (): void => {
      this.#hmac = null;
      this.#fingerprint = '';
      this.#readAt = '';
      this.#config = null;
      this.#verified = new Set();
    };
    this.#unsubscribe = [ws.vault.onLock(forget), ws.vault.onUnlock(forget)];
  }

  /** Stops listening to the vault and forgets the keys. */
  dispose(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#hmac = null;
    this.#byKid = new Map();
    this.#fingerprint = '';
    this.#readAt = '';
    this.#config = null;
    this.#verified = new Set();
  }

  /** Where the database stands: moves on any commit, by this connection or another process. */
  #stamp(): string {
    return this.#ws.changeStamp();
  }

  /** The keys and the token configuration as the database holds them now. */
  #current(): TokenConfig {
    const stamp = this.#stamp();
    if (stamp === this.#readAt && this.#config !== null) return this.#config;
    // Read AFTER the stamp: a commit in between is in what is read, and moves the next stamp.
    this.#readAt = '';
    this.#refreshKeys();
    const config = getTokenConfig(this.#ws);
    this.#config = config;
    this.#readAt = stamp;
    return config;
  }

  #refreshKeys(): void {
    const rows = this.#keyRows.all() as unknown as KeyRowLite[];
    let fp = '';
    for (const r of rows) {
      fp += `${r.id}|${r.state}|${r.compromised}|${r.kid ?? ''}|${r.public_jwk ?? ''}|${Buffer.from(r.sealed_private).toString('base64')}\n`;
    }
    if (fp === this.#fingerprint) return;
    const keys = verifyKeys(this.#ws);
    const byKid = new Map<string, KeyRecord>();
    const compromised = new Set<string>();
    for (const r of rows) {
      if (r.compromised !== 0) compromised.add(r.id);
      if (r.profile !== 'zlayer' && r.kid !== null) {
        const record = keys.findKeyByKid(r.kid);
        if (record !== null) byKid.set(r.kid, record);
      }
    }
    // LOCKED while the vault is locked: HS256 tokens then cannot be checked (inactive).
    this.#hmac = this.#ws.vault.unlocked ? keys.hmacKeys() : null;
    this.#byKid = byKid;
    this.#compromised = compromised;
    this.#verified = new Set();
    this.#fingerprint = fp;
  }

  #balance(token: string): void {
    verify(null, standInData, standIn.publicKey, standInSig);
    this.#bySha.get(createHash('sha256').update(token).digest('hex'));
  }

  introspect(token: string, now: number = nowSecs()): IntrospectionResult {
    if (token.length === 0 || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
      this.#balance(token);
      return { active: false, why: 'malformed', tokenId: null };
    }
    let result: Inspection<TokenRow>;
    this.#memoHit = false;
    try {
      const { issuer, audience } = this.#current();
      const hmac = this.#hmac;
      result = inspectToken<TokenRow>(token, {
        now,
        issuer,
        audience,
        signatureMemo: this.#memo,
        findKeyByKid: (kid) => this.#byKid.get(kid) ?? null,
        hmacKeys: () => {
          if (hmac === null) throw new CastellanError('LOCKED', 'the vault is locked');
          return hmac;
        },
        ledgerBySha256: (sha256) => (this.#bySha.get(sha256) as TokenRow | undefined) ?? null,
        ledgerByJti: (jti) => (this.#byJti.get(jti) as TokenRow | undefined) ?? null,
      });
    } catch {
      // LOCKED (an HS256 token while the vault is locked) or a damaged key row: not active.
      this.#balance(token);
      return { active: false, why: 'error', tokenId: null };
    }
    const record = result.ledger ?? null;
    const inactive = (why: string, tokenId: number | null): IntrospectionResult => {
      // No signature was checked for this answer (a remembered one): pay for one anyway.
      if (this.#memoHit) verify(null, standInData, standIn.publicKey, standInSig);
      return { active: false, why, tokenId };
    };
    if (result.verdict === 'malformed' || result.verdict === 'unknown_key') this.#balance(token);
    if (result.verdict !== 'valid' || record === null || result.claims === null) {
      return inactive(result.verdict, record?.id ?? null);
    }
    const claims = result.claims;
    const exp = claims.exp as number;
    const nbf = claims.nbf;
    if (exp <= now) return inactive('expired', record.id);
    if (typeof nbf === 'number' && nbf > now) return inactive('not_yet_valid', record.id);
    if (record.token_sha256 !== result.sha256) return inactive('not_this_token', record.id);
    if (this.#compromised.has(record.key_id)) return inactive('compromised_key', record.id);
    const scopes = result.scopes ?? [];
    const body: Record<string, unknown> = {
      active: true,
      sub: claims.sub,
      scope: scopes.map(formatScope).join(' '),
      scopes,
      exp,
      iat: claims.iat,
      jti: claims.jti,
      iss: claims.iss,
      token_type: 'Bearer',
    };
    if (claims.aud !== undefined) body.aud = claims.aud;
    return { active: true, body, tokenId: record.id };
  }
}

/** One-off introspection (tests, scripts); a server keeps one Introspector instead. */
export function introspect(ws: Workspace, token: string, now: number = nowSecs()): IntrospectionResult {
  const introspector = new Introspector(ws);
  try {
    return introspector.introspect(token, now);
  } finally {
    introspector.dispose();
  }
}

/**
 * Introspection counts per token, kept in memory and written in one transaction per flush (a
 * write per request would put an fsync on every introspection). No token bytes: the ledger id.
 * A server flushes through a CounterWriter (counter-writer.ts: a worker thread with its own
 * connection) so the request thread never waits on the write; `flush` writes on this thread.
 */
export class IntrospectionCounter {
  #pending = new Map<number, { count: number; last: number }>();
  #writing: Promise<void> | null = null;

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

  #restore(batch: Map<number, { count: number; last: number }>): void {
    for (const [id, v] of batch) {
      const e = this.#pending.get(id);
      if (e) {
        e.count += v.count;
        e.last = Math.max(e.last, v.last);
      } else this.#pending.set(id, v);
    }
  }

  flush(ws: Workspace): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      const write = (): void => {
        const upsert = ws.db.prepare(upsertIntrospectionSql(ws.engine.dialect));
        for (const [id, { count, last }] of batch) upsert.run(id, count, last, id);
      };
      // PostgreSQL: each upsert commits by itself, without the audit-head lock that admins'
      // transactions take (counts are not audited), so a serve replica never queues behind them.
      if (ws.shared) write();
      else ws.transaction(write);
    } catch {
      // Busy workspace: keep the counts for the next flush rather than lose them.
      this.#restore(batch);
    }
  }

  /**
   * Hands the pending counts to the writer (one batch in flight at a time) and resolves once they
   * are committed, or kept for the next flush if they could not be.
   */
  flushTo(writer: CounterWriter): Promise<void> {
    if (this.#writing !== null) return this.#writing;
    if (this.#pending.size === 0) return Promise.resolve();
    const batch = this.#pending;
    this.#pending = new Map();
    const rows: CountRow[] = [...batch].map(([id, { count, last }]) => [id, count, last]);
    this.#writing = writer.write(rows).then((ok) => {
      this.#writing = null;
      if (!ok) this.#restore(batch);
    });
    return this.#writing;
  }

  /** Resolves when no batch is in flight. */
  async settled(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }
}

/** What the Tokens drawer shows: how often, and when last, a token was introspected. */
export function introspectionStats(ws: Workspace, tokenId: number): { count: number; last_at: number | null } {
  const row = ws.db.prepare('SELECT count, last_at FROM token_introspections WHERE token_id = ?').get(tokenId) as
    { count: number; last_at: number } | undefined;
  return row === undefined ? { count: 0, last_at: null } : { count: row.count, last_at: row.last_at };
}

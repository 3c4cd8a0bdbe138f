/**
 * The hash-chained audit log. Each entry's hash covers its own fields and the
 * previous entry's hash, so editing, deleting or reordering any entry breaks
 * the chain from that point on, and `verify()` names where.
 *
 * A keyless hash chain only catches accidents: anyone with the file can recompute it. What makes
 * it evidence is the MAC layer (design in record-integrity.ts): each entry's hash is MAC'd under
 * a key derived from the vault's data key (`mac` column, or `audit_late_mac` for entries appended
 * while the vault was locked), and `meta.audit_seal` holds a MAC'd head. `verifyAuthenticated()`
 * checks those too.
 */
import { createHash, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { SQLInputValue } from 'node:sqlite';
import type { SqlDatabase, SqlStatement } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import type { Actor } from './actor.ts';

// Object members may be undefined: like JSON.stringify, canonicalJson leaves them out.
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };
export type AuditDetails = { [key: string]: JsonValue | undefined };

/** One entry, field for field as hashed: drop `hash`, canonicalise, sha256 → `hash`. */
export interface AuditEntry {
  seq: number;
  ts: string;
  actor_user: string;
  actor_kind: 'app' | 'cli';
  /**
   * The admin: the label of the vault slot that unlocked the workspace (one slot per admin).
   * Absent when the vault was locked, and on entries written before schema version 9.
   */
  actor_admin?: string;
  /** The machine (its host name). Absent on entries written before schema version 9. */
  actor_host?: string;
  action: string;
  target: string;
  details: AuditDetails;
  prev_hash: string;
  hash: string;
}

export interface AuditAppend {
  action: string;
  target: string;
  details?: AuditDetails;
}

export type AuditVerification =
  { ok: true; count: number } | { ok: false; count: number; brokenAt: number; reason: string };

/** verifyAuthenticated(): the chain, every entry's MAC and the sealed head. */
export interface AuthenticatedAuditVerification {
  /** True only when every entry is authenticated and nothing is broken. */
  ok: boolean;
  count: number;
  /** Entries covered by a valid MAC (up to the sealed head). */
  authenticated: number;
  /** Entries after the sealed head that carry no MAC yet (appended while the vault was locked). */
  unauthenticated: { from: number; to: number } | null;
  /** The first entry that fails, if one does. */
  brokenAt: number | null;
  reason: string | null;
}

/** Supplies the entry MAC key while the vault is unlocked (record-integrity.ts). */
export interface AuditKeySource {
  /** The audit MAC key, or null while the vault is locked or not initialized. */
  auditKey(): KeyObject | null;
}

/** The MAC'd head of the log: everything up to `seq` is authenticated. */
export interface AuditSeal {
  seq: number;
  hash: string;
  mac: string;
}

const SEAL_META_KEY = 'audit_seal';

/** MAC of one entry: binds its hash (which covers its fields and the previous hash). */
export function auditEntryMac(key: KeyObject, hash: string, late: boolean): string {
  return createHmac('sha256', key).update(`castellan audit entry v1|${late ? 'late' : 'live'}|${hash}`).digest('hex');
}

/** MAC of the sealed head: lets verify notice entries cut off the end, which no entry MAC can. */
export function auditSealMac(key: KeyObject, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`castellan audit seal v1|${seq}|${hash}`).digest('hex');
}

function macEquals(stored: string | null | undefined, computed: string): boolean {
  if (typeof stored !== 'string' || stored.length !== computed.length) return false;
  return timingSafeEqual(Buffer.from(stored, 'utf8'), Buffer.from(computed, 'utf8'));
}

export interface AuditQuery {
  /** The exact action name. */
  action?: string;
  /** Case-insensitive substring of the action name ("token" finds token.issue, token.revoke, …). */
  action_contains?: string;
  target?: string;
  /** Who acted: an OS user name or an admin's (vault slot) name. */
  actor?: string;
  /** Case-insensitive substring of action, target, user, admin, machine or details. */
  text?: string;
  /** Inclusive lower bound on `ts` (any date string `Date` parses). */
  since?: string;
  /** Exclusive upper bound on `ts`. */
  until?: string;
  limit: number;
  offset?: number;
}

export const GENESIS_HASH = '0'.repeat(64);
export const MAX_LIST_LIMIT = 10_000;

const CSV_COLUMNS = [
  'seq',
  'ts',
  'actor_user',
  'actor_kind',
  'action',
  'target',
  'details',
  'prev_hash',
  'hash',
  // Added with schema version 9, at the end so the columns readers know keep their places.
  'actor_admin',
  'actor_host',
] as const;

// Key names that suggest a secret is about to be written into a permanent log.
const SECRET_KEY_PATTERN = /secret|token|passphrase|password|private|key_?material/i;
// Values that are unmistakably credentials whatever their key is called.
const SECRET_VALUE_PATTERNS = [/PRIVATE KEY-----/, /\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/];

/**
 * JSON with object keys sorted (by UTF-16 code unit, as RFC 8785) and no
 * whitespace, so equal values always produce equal bytes and equal hashes.
 */
export function canonicalJson(value: unknown): string {
  return encodeCanonical(value, '$');
}

function encodeCanonical(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new CastellanError('INTERNAL', `canonical JSON cannot hold ${value} at ${where}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => encodeCanonical(v, `${where}[${i}]`)).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new CastellanError(
          'INTERNAL',
          `canonical JSON accepts plain objects only, not a ${describe(value)} at ${where}`,
        );
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const parts: string[] = [];
      for (const key of keys) {
        // As JSON.stringify does: an absent optional field is simply left out.
        if (record[key] === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${encodeCanonical(record[key], `${where}.${key}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new CastellanError('INTERNAL', `canonical JSON cannot hold a ${typeof value} at ${where}`);
  }
}

function describe(value: object): string {
  return value.constructor?.name ?? 'non-plain object';
}

/** sha256 hex of the canonical form of an entry without its `hash`. */
export function auditEntryHash(
  entry: Omit<AuditEntry, 'hash' | 'actor_admin' | 'actor_host'> & { actor_admin?: string | null; actor_host?: string | null },
): string {
  const hashed = {
    seq: entry.seq,
    ts: entry.ts,
    actor_user: entry.actor_user,
    actor_kind: entry.actor_kind,
    // Left out when absent (canonicalJson drops undefined), so older entries hash as they did.
    actor_admin: entry.actor_admin ?? undefined,
    actor_host: entry.actor_host ?? undefined,
    action: entry.action,
    target: entry.target,
    details: entry.details,
    prev_hash: entry.prev_hash,
  };
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}

/**
 * auditEntryHash for an entry whose details are already canonical JSON text: the same bytes,
 * written out in canonicalJson's (sorted) key order, so append canonicalises the details once.
 */
function entryHashWithDetailsJson(
  seq: number,
  ts: string,
  actorUser: string,
  actorKind: string,
  actorAdmin: string | null,
  actorHost: string | null,
  action: string,
  target: string,
  detailsJson: string,
  prevHash: string,
): string {
  const text =
    `{"action":${JSON.stringify(action)},` +
    (actorAdmin === null ? '' : `"actor_admin":${JSON.stringify(actorAdmin)},`) +
    (actorHost === null ? '' : `"actor_host":${JSON.stringify(actorHost)},`) +
    `"actor_kind":${JSON.stringify(actorKind)},` +
    `"actor_user":${JSON.stringify(actorUser)},"details":${detailsJson},"prev_hash":${JSON.stringify(prevHash)},` +
    `"seq":${canonicalJson(seq)},"target":${JSON.stringify(target)},"ts":${JSON.stringify(ts)}}`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Throws INTERNAL if `details` has a key or value that looks like a secret. */
export function assertNoSecrets(details: JsonValue | undefined, where = 'details'): void {
  if (typeof details === 'string') {
    if (SECRET_VALUE_PATTERNS.some((p) => p.test(details))) {
      throw new CastellanError('INTERNAL', `audit ${where} looks like a credential; audit entries never hold secrets`);
    }
    return;
  }
  if (Array.isArray(details)) {
    details.forEach((v, i) => assertNoSecrets(v, `${where}[${i}]`));
    return;
  }
  if (details !== null && typeof details === 'object') {
    for (const [key, v] of Object.entries(details)) {
      if (SECRET_KEY_PATTERN.test(key)) {
        throw new CastellanError(
          'INTERNAL',
          `audit ${where} has a key named "${key}"; audit entries never hold secrets`,
        );
      }
      assertNoSecrets(v, `${where}.${key}`);
    }
  }
}

interface AuditRow {
  seq: number;
  ts: string;
  actor_user: string;
  actor_kind: string;
  actor_admin: string | null;
  actor_host: string | null;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
  mac?: string | null;
}

/** The last entry of the chain: its number and hash (0 and GENESIS_HASH for an empty log). */
interface Head {
  seq: number;
  hash: string;
}

/** The head as a savepoint found it, so rolling back to the savepoint restores it. */
export interface AuditHeadMark {
  readonly head: Head | undefined;
  readonly pending: boolean;
  readonly sealPending: boolean;
}

interface Statements {
  last: SqlStatement;
  insert: SqlStatement;
  setHead: SqlStatement;
  getSeal: SqlStatement;
  setSeal: SqlStatement;
}

export class Audit {
  readonly #db: SqlDatabase;
  readonly #actor: Actor;
  // Prepared on first use (the tables may not exist yet when the workspace constructs us) and
  // reused: preparing the three statements cost ~50-70 µs per entry, more than the rest of it.
  #statements: Statements | null = null;
  // While the workspace's transaction() has a transaction open (it tells us: transactionBegan /
  // transactionEnded), the head of the chain is kept here instead of being read back from the
  // table for every entry, and written to meta once, at commit, instead of for every entry. We
  // hold the write lock (BEGIN IMMEDIATE) for the whole transaction, so no other process can
  // append meanwhile; between transactions one may have, so the head is read afresh (lazily, on
  // the first append) in every transaction.
  #managed = false;
  /** undefined: not read yet in this transaction. */
  #head: Head | undefined = undefined;
  /** The cached head is newer than meta's audit_head_* rows. */
  #pending = false;
  /** The transaction appended MAC'd entries: the seal moves to the head at commit. */
  #sealPending = false;
  /** The seal was checked against the head in this transaction (and the tail sealed if it lagged). */
  #sealChecked = false;
  #keys: AuditKeySource | null = null;
  /** The admin now acting (the unlocking vault slot's label), or null while locked. */
  #admin: () => string | null = () => null;

  constructor(db: SqlDatabase, actor: Actor) {
    this.#db = db;
    this.#actor = actor;
  }

  /** Wires the MAC key (record-integrity.ts); without it entries are only hash-chained. */
  useKeys(keys: AuditKeySource): void {
    this.#keys = keys;
  }

  /** Wires who the admin is (the vault: the label of the slot that unlocked it). */
  useAdmin(admin: () => string | null): void {
    this.#admin = admin;
  }

  /**
   * Appends one entry inside the caller's transaction, so the entry commits
   * or rolls back together with the change it records.
   */
  append(input: AuditAppend): AuditEntry {
    if (!this.#db.isTransaction) {
      throw new CastellanError('INTERNAL', 'audit.append must run inside a workspace transaction');
    }
    const action = requireText(input.action, 'action');
    const target = requireText(input.target, 'target');
    const details = input.details ?? {};
    if (typeof details !== 'object' || details === null || Array.isArray(details)) {
      throw new CastellanError('INTERNAL', 'audit details must be a JSON object');
    }
    assertNoSecrets(details);
    const detailsJson = canonicalJson(details);

    const st = this.#prepared();
    const prev = this.#managed ? (this.#head ??= this.#readHead(st)) : this.#readHead(st);
    const key = this.#keys?.auditKey() ?? null;
    if (key !== null && (!this.#managed || !this.#sealChecked)) {
      // Entries another process appended while its vault was locked sit between the seal and our
      // head: check their links and MAC them (late) before chaining an authenticated entry on.
      const seal = this.#readSeal(st);
      if (seal !== null && (seal.seq !== prev.seq || seal.hash !== prev.hash)) this.sealTail(key);
      this.#sealChecked = this.#managed;
    }
    const seq = prev.seq + 1;
    const ts = new Date().toISOString();
    const actorUser = this.#actor.user;
    const actorKind = this.#actor.kind;
    const actorAdmin = this.#admin();
    const actorHost = this.#actor.host ?? null;
    // Hashed from the canonical details text already made (not by canonicalising the whole
    // entry again); auditEntryHash would give the same bytes (audit.test.ts checks it).
    const hash = entryHashWithDetailsJson(seq, ts, actorUser, actorKind, actorAdmin, actorHost, action, target, detailsJson, prev.hash);
    // One HMAC per entry (~1 µs); no signature per entry: minting appends one entry per token.
    const mac = key === null ? null : auditEntryMac(key, hash, false);
    st.insert.run(seq, ts, actorUser, actorKind, actorAdmin, actorHost, action, target, detailsJson, prev.hash, hash, mac);
    const head = { seq, hash };
    if (this.#managed) {
      this.#head = head;
      this.#pending = true;
      this.#sealPending = key !== null;
    } else {
      // A transaction the workspace does not manage: nobody will tell us when it commits, so
      // the head is written with the entry, as it always was.
      this.#writeHead(st, head);
      if (key !== null) this.#writeSeal(st, key, head);
    }
    return {
      seq,
      ts,
      actor_user: actorUser,
      actor_kind: actorKind,
      ...(actorAdmin === null ? {} : { actor_admin: actorAdmin }),
      ...(actorHost === null ? {} : { actor_host: actorHost }),
      action,
      target,
      // Stored and hashed from the same canonical text, so a round trip through SQLite cannot drift.
      details: JSON.parse(detailsJson) as AuditDetails,
      prev_hash: prev.hash,
      hash,
    };
  }

  /** Workspace.transaction(): an outermost transaction has begun (BEGIN IMMEDIATE succeeded). */
  transactionBegan(): void {
    this.#managed = true;
    this.#head = undefined;
    this.#pending = false;
    this.#sealPending = false;
    this.#sealChecked = false;
  }

  /** Workspace.transaction(): before a savepoint, so a rollback to it can restore the head. */
  mark(): AuditHeadMark {
    return { head: this.#head, pending: this.#pending, sealPending: this.#sealPending };
  }

  /** Workspace.transaction(): the savepoint taken at `mark` was rolled back. */
  rolledBackTo(mark: AuditHeadMark): void {
    this.#head = mark.head;
    this.#pending = mark.pending;
    this.#sealPending = mark.sealPending;
  }

  /**
   * Workspace.transaction(): about to COMMIT. Writes the head once for the whole transaction;
   * it lets verify() notice entries cut off the end, which no link can show.
   */
  beforeCommit(): void {
    if (!this.#pending || this.#head === undefined) return;
    const st = this.#prepared();
    this.#writeHead(st, this.#head);
    const key = this.#sealPending ? (this.#keys?.auditKey() ?? null) : null;
    if (key !== null) this.#writeSeal(st, key, this.#head);
    this.#pending = false;
    this.#sealPending = false;
  }

  /** Workspace.transaction(): the transaction committed or rolled back; forget the head. */
  transactionEnded(): void {
    this.#managed = false;
    this.#head = undefined;
    this.#pending = false;
    this.#sealPending = false;
    this.#sealChecked = false;
  }

  /** Whether entries follow the sealed head, or the log has entries but no seal (read-only). */
  tailUnsealed(): boolean {
    const st = this.#prepared();
    const seal = this.#readSeal(st);
    const head = this.#readHead(st);
    return seal === null ? head.seq > 0 : seal.seq !== head.seq || seal.hash !== head.hash;
  }

  /** The sealed head as stored (unchecked), or null if the log has never been sealed. */
  readSeal(): AuditSeal | null {
    return this.#readSeal(this.#prepared());
  }

  /**
   * Authenticates entries appended while the vault was locked: walks from the sealed head to the
   * last entry (from the first entry only when `adopt`: record-integrity.ts adopting a log that was
   * never sealed; a sealed log whose seal is missing is never re-adopted), checking the links,
   * gives every entry without a MAC a late one, and moves the seal to the last entry that checked
   * out. Stops at the first entry that does not (verify reports it): a tampered tail is never
   * blessed. Must run inside a transaction. Returns how many entries it authenticated.
   */
  sealTail(key: KeyObject, adopt = false): number {
    if (!this.#db.isTransaction) throw new CastellanError('INTERNAL', 'sealTail must run inside a transaction');
    const st = this.#prepared();
    const seal = this.#readSeal(st);
    if (seal === null && !adopt) return 0;
    let start: Head = { seq: 0, hash: GENESIS_HASH };
    if (seal !== null) {
      // A seal that fails its MAC, or no longer matches its entry, is reported by verify; sealing
      // past it would hide that.
      if (!macEquals(seal.mac, auditSealMac(key, seal.seq, seal.hash))) return 0;
      const at = this.#db.prepare('SELECT hash FROM audit WHERE seq = ?').get(seal.seq) as { hash: string } | undefined;
      if (seal.seq > 0 && at?.hash !== seal.hash) return 0;
      start = { seq: seal.seq, hash: seal.hash };
    }
    // ON CONFLICT, not SQLite's INSERT OR REPLACE: the same statement on both engines.
    const late = this.#db.prepare(
      'INSERT INTO audit_late_mac (seq, mac) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET mac = excluded.mac',
    );
    // Links only: the late MAC binds each entry's hash, and verify checks every row against its
    // hash, so a row whose contents do not match is still reported there. (Re-hashing here cost
    // ~35 µs an entry on a 100,000-entry tail.)
    const rows = this.#db
      .prepare('SELECT seq, prev_hash, hash, mac FROM audit WHERE seq > ? ORDER BY seq')
      .iterate(start.seq) as Iterable<Pick<AuditRow, 'seq' | 'prev_hash' | 'hash' | 'mac'>>;
    let last = start;
    let sealed = 0;
    for (const row of rows) {
      if (row.seq !== last.seq + 1 || row.prev_hash !== last.hash || !/^[0-9a-f]{64}$/.test(row.hash)) break;
      if (row.mac !== null && row.mac !== undefined) {
        // Appended live by another process with the vault unlocked: its MAC must hold.
        if (!macEquals(row.mac, auditEntryMac(key, row.hash, false))) break;
      } else {
        late.run(row.seq, auditEntryMac(key, row.hash, true));
        sealed += 1;
      }
      last = { seq: row.seq, hash: row.hash };
    }
    if (last.seq > 0 && (seal === null || last.seq !== seal.seq)) this.#writeSeal(st, key, last);
    // The cached head (if any) is unchanged: sealing adds no entry.
    return sealed;
  }

  #prepared(): Statements {
    this.#statements ??= {
      last: this.#db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      insert: this.#db.prepare(
        `INSERT INTO audit (seq, ts, actor_user, actor_kind, actor_admin, actor_host, action, target, details, prev_hash, hash, mac)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setHead: this.#db.prepare(
        `INSERT INTO meta (key, value) VALUES ('audit_head_seq', ?), ('audit_head_hash', ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ),
      getSeal: this.#db.prepare(`SELECT value FROM meta WHERE key = '${SEAL_META_KEY}'`),
      setSeal: this.#db.prepare(
        `INSERT INTO meta (key, value) VALUES ('${SEAL_META_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ),
    };
    return this.#statements;
  }

  #readSeal(st: Statements): AuditSeal | null {
    const row = st.getSeal.get() as { value: string } | undefined;
    if (row === undefined) return null;
    // seq:hash:mac — a malformed value is kept (mac '') so the MAC check reports it.
    const [seq, hash, mac] = row.value.split(':');
    const n = Number(seq);
    return { seq: Number.isSafeInteger(n) ? n : -1, hash: hash ?? '', mac: mac ?? '' };
  }

  #writeSeal(st: Statements, key: KeyObject, head: Head): void {
    st.setSeal.run(`${head.seq}:${head.hash}:${auditSealMac(key, head.seq, head.hash)}`);
  }

  #readHead(st: Statements): Head {
    const last = st.last.get() as { seq: number; hash: string } | undefined;
    return last === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: last.seq, hash: last.hash };
  }

  #writeHead(st: Statements, head: Head): void {
    st.setHead.run(String(head.seq), head.hash);
  }

  /** Walks the whole chain and names the first entry that does not check out. */
  verify(): AuditVerification {
    const count = (this.#db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    const broken = (brokenAt: number, reason: string): AuditVerification => ({ ok: false, count, brokenAt, reason });

    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    const rows = this.#db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>;
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        const after = expectedSeq === 1 ? 'at the start of the log' : `after entry ${expectedSeq - 1}`;
        return broken(expectedSeq, `entry ${expectedSeq} is missing: entry ${row.seq} comes ${after}`);
      }
      if (row.prev_hash !== prevHash) {
        return broken(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1} (prev_hash differs)`);
      }
      const parsed = parseDetails(row.details);
      if (parsed === null) {
        return broken(row.seq, `entry ${row.seq} has details that are not a canonical JSON object`);
      }
      if (row.actor_kind !== 'app' && row.actor_kind !== 'cli') {
        return broken(row.seq, `entry ${row.seq} has an unknown actor kind`);
      }
      const recomputed = auditEntryHash({ ...row, actor_kind: row.actor_kind, details: parsed });
      if (recomputed !== row.hash) {
        return broken(row.seq, `entry ${row.seq} was altered: its contents no longer match its hash`);
      }
      prevHash = row.hash;
      expectedSeq += 1;
    }

    const head = this.#headRecord();
    const lastSeq = expectedSeq - 1;
    if (head === null) {
      if (lastSeq > 0) return broken(lastSeq, 'the recorded head of the log is missing');
      return { ok: true, count };
    }
    if (head.seq > lastSeq) {
      return broken(lastSeq + 1, `entries ${lastSeq + 1} to ${head.seq} are missing from the end of the log`);
    }
    if (head.seq < lastSeq) {
      return broken(
        head.seq + 1,
        `entry ${head.seq + 1} was added outside Castellan (the recorded head is entry ${head.seq})`,
      );
    }
    if (head.hash !== prevHash) {
      return broken(lastSeq, `entry ${lastSeq} does not match the recorded head of the log`);
    }
    return { ok: true, count };
  }

  /**
   * verify() plus authentication: every entry up to the sealed head must carry a valid MAC (live
   * or late), the seal must hold its MAC and match its entry, and entries after it are reported as
   * the unauthenticated tail (never as OK). `workspaceSealed`: the vault says this workspace was
   * sealed, so a missing seal means it was deleted. Names the first entry that fails.
   */
  verifyAuthenticated(key: KeyObject, workspaceSealed: boolean): AuthenticatedAuditVerification {
    const count = (this.#db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    let authenticated = 0;
    const result = (brokenAt: number | null, reason: string | null, tail: { from: number; to: number } | null = null) => ({
      ok: brokenAt === null && reason === null && tail === null,
      count,
      authenticated,
      unauthenticated: tail,
      brokenAt,
      reason,
    });
    const seal = this.readSeal();
    const sealValid = seal !== null && macEquals(seal.mac, auditSealMac(key, seal.seq, seal.hash));
    const sealSeq = seal === null ? (workspaceSealed ? Number.MAX_SAFE_INTEGER : 0) : seal.seq;
    const late = new Map<number, string>();
    for (const r of this.#db.prepare('SELECT seq, mac FROM audit_late_mac').all() as { seq: number; mac: string }[]) {
      late.set(r.seq, r.mac);
    }

    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let sealEntryHash: string | null = null;
    let tailFrom: number | null = null;
    const rows = this.#db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>;
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        const after = expectedSeq === 1 ? 'at the start of the log' : `after entry ${expectedSeq - 1}`;
        return result(expectedSeq, `entry ${expectedSeq} is missing: entry ${row.seq} comes ${after}`);
      }
      if (row.prev_hash !== prevHash) {
        return result(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1} (prev_hash differs)`);
      }
      const parsed = parseDetails(row.details);
      if (parsed === null) return result(row.seq, `entry ${row.seq} has details that are not a canonical JSON object`);
      if (row.actor_kind !== 'app' && row.actor_kind !== 'cli') {
        return result(row.seq, `entry ${row.seq} has an unknown actor kind`);
      }
      if (rowHash(row) !== row.hash) {
        return result(row.seq, `entry ${row.seq} was altered: its contents no longer match its hash`);
      }
      const live = row.mac ?? null;
      const lateMac = late.get(row.seq);
      if (live !== null || lateMac !== undefined) {
        const ok =
          live !== null
            ? macEquals(live, auditEntryMac(key, row.hash, false))
            : macEquals(lateMac, auditEntryMac(key, row.hash, true));
        if (!ok) {
          return result(
            row.seq,
            `entry ${row.seq} fails its authentication code: it was written or rewritten outside Castellan (its hash was recomputed)`,
          );
        }
        authenticated = row.seq;
        // An authenticated entry vouches, through prev_hash, for everything before it.
        tailFrom = null;
      } else if (row.seq <= sealSeq) {
        return result(
          row.seq,
          `entry ${row.seq} carries no authentication code although the log was sealed past it: it was inserted or rewritten outside Castellan`,
        );
      } else {
        tailFrom ??= row.seq;
      }
      if (seal !== null && row.seq === seal.seq) sealEntryHash = row.hash;
      prevHash = row.hash;
      expectedSeq += 1;
    }
    const lastSeq = expectedSeq - 1;

    if (seal === null) {
      if (workspaceSealed && lastSeq > 0) {
        return result(lastSeq, 'the sealed head of the log is missing: it was deleted outside Castellan, so entries may have been cut off the end');
      }
    } else {
      if (seal.seq > lastSeq) {
        return result(
          lastSeq + 1,
          `entries ${lastSeq + 1} to ${seal.seq} are missing from the end of the log (its sealed head is entry ${seal.seq})`,
        );
      }
      if (!sealValid) {
        return result(seal.seq, `the sealed head of the log (entry ${seal.seq}) fails its authentication code: it was rewritten outside Castellan`);
      }
      if (seal.seq > 0 && sealEntryHash !== seal.hash) {
        return result(seal.seq, `entry ${seal.seq} does not match the sealed head of the log`);
      }
    }
    const head = this.#headRecord();
    if (head !== null && head.seq > lastSeq) {
      return result(lastSeq + 1, `entries ${lastSeq + 1} to ${head.seq} are missing from the end of the log`);
    }
    if (tailFrom !== null) {
      return result(
        null,
        `entries ${tailFrom} to ${lastSeq} were appended while the vault was locked and are not authenticated yet; the next unlock authenticates them if their links hold`,
        { from: tailFrom, to: lastSeq },
      );
    }
    return result(null, null);
  }

  list(query: AuditQuery): { rows: AuditEntry[]; total: number } {
    const limit = query.limit;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new CastellanError('INVALID_INPUT', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new CastellanError('INVALID_INPUT', 'offset must be a whole number, 0 or more');
    }
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.action !== undefined) {
      where.push('action = ?');
      params.push(query.action);
    }
    if (query.action_contains !== undefined && query.action_contains !== '') {
      where.push("action LIKE ? ESCAPE '\\'");
      params.push(`%${likeEscape(query.action_contains)}%`);
    }
    if (query.target !== undefined) {
      where.push('target = ?');
      params.push(query.target);
    }
    if (query.actor !== undefined) {
      // An OS user or an admin (vault slot label): both are who acted.
      where.push('(actor_user = ? OR actor_admin = ?)');
      params.push(query.actor, query.actor);
    }
    if (query.text !== undefined && query.text !== '') {
      const like = `%${likeEscape(query.text)}%`;
      where.push(
        "(action LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\' OR actor_user LIKE ? ESCAPE '\\' OR actor_admin LIKE ? ESCAPE '\\' OR actor_host LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\')",
      );
      params.push(like, like, like, like, like, like);
    }
    if (query.since !== undefined) {
      where.push('ts >= ?');
      params.push(isoTimestamp(query.since, 'since'));
    }
    if (query.until !== undefined) {
      where.push('ts < ?');
      params.push(isoTimestamp(query.until, 'until'));
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.#db.prepare(`SELECT count(*) AS n FROM audit ${clause}`).get(...params) as { n: number }).n;
    const rows = this.#db
      .prepare(`SELECT * FROM audit ${clause} ORDER BY seq DESC LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as unknown as AuditRow[];
    return { rows: rows.map(entryFromRow), total };
  }

  /** One canonical JSON entry per line, oldest first; each line re-hashes to its `hash`. */
  exportJsonl(): string {
    let out = '';
    for (const row of this.#db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>) {
      out += `${canonicalJson(entryFromRow(row))}\n`;
    }
    return out;
  }

  /** RFC 4180 CSV with a header row and CRLF line ends, oldest first. */
  exportCsv(): string {
    let out = `${CSV_COLUMNS.join(',')}\r\n`;
    for (const row of this.#db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>) {
      out += `${CSV_COLUMNS.map((c) => csvField(String(row[c] ?? ''))).join(',')}\r\n`;
    }
    return out;
  }

  #headRecord(): { seq: number; hash: string } | null {
    // Inside a transaction that appended, meta is written only at commit; what it will say is here.
    if (this.#pending && this.#head !== undefined) return { seq: this.#head.seq, hash: this.#head.hash };
    const rows = this.#db
      .prepare("SELECT key, value FROM meta WHERE key IN ('audit_head_seq', 'audit_head_hash')")
      .all() as { key: string; value: string }[];
    const seq = rows.find((r) => r.key === 'audit_head_seq')?.value;
    const hash = rows.find((r) => r.key === 'audit_head_hash')?.value;
    if (seq === undefined || hash === undefined) return null;
    return { seq: Number(seq), hash };
  }
}

/**
 * The hash of a stored row whose details parseDetails() accepted (so they are canonical text):
 * the same bytes as auditEntryHash, without canonicalising the whole entry again.
 */
function rowHash(row: AuditRow): string {
  return entryHashWithDetailsJson(
    row.seq,
    row.ts,
    row.actor_user,
    row.actor_kind,
    row.actor_admin ?? null,
    row.actor_host ?? null,
    row.action,
    row.target,
    row.details,
    row.prev_hash,
  );
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new CastellanError('INTERNAL', `audit ${name} must be a non-empty string`);
  }
  return value;
}

/** `text` as a LIKE pattern matching itself literally (with ESCAPE '\\'). */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function parseDetails(text: string): AuditDetails | null {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    // A non-canonical spelling means the row was rewritten outside Castellan.
    if (canonicalJson(parsed) !== text) return null;
    return parsed as AuditDetails;
  } catch {
    return null;
  }
}

function entryFromRow(row: AuditRow): AuditEntry {
  let details: AuditDetails;
  try {
    details = JSON.parse(row.details) as AuditDetails;
  } catch {
    // Only a tampered row gets here; show it rather than hide it, and let verify() flag it.
    details = { unparseable: row.details };
  }
  return {
    seq: row.seq,
    ts: row.ts,
    actor_user: row.actor_user,
    actor_kind: row.actor_kind as AuditEntry['actor_kind'],
    ...(row.actor_admin == null ? {} : { actor_admin: row.actor_admin }),
    ...(row.actor_host == null ? {} : { actor_host: row.actor_host }),
    action: row.action,
    target: row.target,
    details,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

function isoTimestamp(value: string, name: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CastellanError('INVALID_INPUT', `${name} must be a date, e.g. 2026-01-31T00:00:00Z`);
  }
  return new Date(ms).toISOString();
}

function csvField(value: string): string {
  // Spreadsheets run cells that start like a formula; a leading quote keeps them inert.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

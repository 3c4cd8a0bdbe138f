/**
 * Authenticated history and records: what stops someone who can write `castellan.db` but does
 * not know a passphrase from rewriting the audit log or a key record unnoticed.
 *
 * Design
 * ------
 * Keys. Everything here is keyed by subkeys of the vault's data key (DEK), derived with
 * HKDF-SHA256 (`Vault.deriveKey`) under three purposes: the audit MAC key, the record MAC key,
 * and an Ed25519 seed for the checkpoint-signing key. None is ever stored; they exist in memory
 * only while the vault is unlocked and are zeroed when it locks. The checkpoint key is therefore a
 * stable identity of the vault: the same DEK always gives the same public key, and a workspace
 * rebuilt with a new vault has a different one.
 *
 * Audit entries. Each entry keeps its SHA-256 chain (audit.ts) and gains a MAC:
 * HMAC(audit key, "entry|live|" + hash) in `audit.mac`, written at append (one HMAC per entry, no
 * signature: minting appends one entry per token). Because the hash covers every field and the
 * previous hash, the MAC of entry n vouches for entries 1..n. `meta.audit_seal` holds the sealed
 * head "seq:hash:HMAC(seq|hash)", moved at each commit of an authenticated append; it catches
 * entries cut off the end, which no entry MAC can.
 *
 * Entries appended while the vault is LOCKED (the CLI's `deployments import` without a passphrase,
 * say) cannot be MAC'd when written. They form the unauthenticated tail after the seal; `verify`
 * reports them as such ("entries a to b … are not authenticated yet"), never as OK. The next
 * unlock — or the next append with the vault unlocked, e.g. by the app while the CLI wrote —
 * walks the tail from the seal, checks every link, gives each entry a late MAC of its hash
 * (HMAC(audit key, "entry|late|" + hash) in `audit_late_mac`; the audit rows stay append-only)
 * and moves the seal. It stops at the first broken link, and a row whose contents no longer match
 * its hash is still reported by verify (which re-hashes every row), so a tampered tail is never
 * blessed. What this cannot tell apart is a well-formed entry an attacker appended to the
 * tail while the vault was locked from one the CLI appended: both are adopted at the next unlock,
 * in order and visible in the log. Anything before the seal is beyond the attacker's reach.
 *
 * Sealed workspaces. The first unlock after this layer arrives (or `vault initialize`) adopts the
 * existing log and records: tail-seals the whole log, MACs every record, and switches the vault's
 * stored key check to its "sealed" label (`Vault.markRecordsSealed`), which only a DEK holder can
 * write. From then on a missing seal or a missing record MAC is reported, never re-adopted: an
 * attacker cannot strip every MAC to make the workspace look like an old one. (A workspace that
 * was never sealed can be stripped by someone who kept an old copy of its key check; the export
 * checkpoints below still catch a rewrite of anything exported before.)
 *
 * Records. `record_macs` holds HMAC(record key, "record|<name>|" + canonical content) for each
 * authenticated record: every signing key row (`signing_key:<id>`: profile, alg, kid, state,
 * public JWK, compromised flag, times and a digest of its sealed private key), the set of key ids
 * (`signing_keys`, so a deleted key shows), the token issuer/audience (`token_config`), the
 * workspace security settings (`settings`), the CA record (`ca`), the CRL state (`crl`: the
 * counter, the stored CRL and the digest of the revoked set it was built from, which the next
 * CRL must start from — so a revocation undone in the file is refused, crl-publisher.ts) and the
 * revocation list number (`revocation_list`). Only the code
 * that legitimately changes a record re-MACs it, after checking the old MAC, so a tampered record
 * is never re-blessed by a later change. Changing a record needs the vault unlocked (LOCKED
 * otherwise) — except retiring a spent key, which happens lazily, perhaps while locked: a key row
 * that reads `retired` whose MAC matches it as `verify-only` is accepted (retiring only takes
 * power away) and re-MAC'd at the next unlock.
 *
 * Use. Records are checked where they are used with the vault unlocked: signing with a key,
 * publishing the JWKS (which now needs the vault unlocked), verifying a token with a key (the
 * inspector refuses to judge an asymmetric token while locked rather than trust an unauthenticated
 * public key), reading the settings or the token config, using or exporting the CA, building a
 * CRL, numbering a revocation list. A record that fails is an INTEGRITY error naming it; nothing
 * is signed or published with it. `audit verify` (core `verifyWorkspace`, CLI, IPC) checks the log
 * and every record and names the first entry that fails.
 *
 * Anchors outside the database. A rollback of the whole file to an older copy, or a database
 * rebuilt from scratch with a new vault, is self-consistent. So every audit export carries a
 * signed checkpoint — entry count, head hash, time and the public key that signed it, Ed25519
 * over its canonical JSON — and `audit verify --against FILE` proves the current log extends it:
 * the signature holds, the signing key is this vault's checkpoint key (else the workspace was
 * rebuilt or its vault replaced), the log has at least that many entries, and entry `count` still
 * has that hash.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as signBytes,
  timingSafeEqual,
  verify as verifyBytes,
  type KeyObject,
} from 'node:crypto';
import type { SqlDatabase } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import { canonicalJson, type Audit, type AuthenticatedAuditVerification } from './audit.ts';
import { revokedSetMismatch } from '../ca/crl-publisher.ts';
import { revocationMismatch } from '../tokens/revocation-integrity.ts';
import type { Vault } from './vault.ts';
import type { Workspace } from './workspace.ts';

const AUDIT_KEY_INFO = 'castellan audit entry mac v1';
const RECORD_KEY_INFO = 'castellan record mac v1';
const CHECKPOINT_KEY_INFO = 'castellan audit checkpoint ed25519 v1';
const CHECKPOINT_DOMAIN = 'castellan audit checkpoint v1\n';
// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): this prefix, then the 32 seed bytes.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export type RecordName =
  | `signing_key:${string}`
  | 'signing_keys'
  | 'token_config'
  | 'settings'
  | 'ca'
  | 'crl'
  | 'revocation_list';

/** What each record is called in messages. */
function describeRecord(name: RecordName): string {
  if (name.startsWith('signing_key:')) return `the key record ${name.slice('signing_key:'.length)}`;
  switch (name) {
    case 'signing_keys':
      return 'the set of signing keys';
    case 'token_config':
      return 'the token issuer/audience configuration';
    case 'settings':
      return 'the workspace security settings';
    case 'ca':
      return 'the worker CA record';
    case 'crl':
      return 'the CRL state';
    default:
      return 'the revocation list number';
  }
}

export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** An anchor outside the database: what an audit export carries. */
export interface AuditCheckpoint {
  v: 1;
  count: number;
  head: string;
  ts: string;
  public_key: Ed25519PublicJwk;
  /** base64url Ed25519 signature over CHECKPOINT_DOMAIN + canonicalJson(the other fields). */
  sig: string;
}

interface DerivedKeys {
  // KeyObjects, not Buffers: an HMAC keyed by a KeyObject costs a sixth of one keyed by a Buffer
  // (measured: ~10 µs vs ~65 µs on the loaded 2-core machine), and there is one per audit entry.
  audit: KeyObject;
  record: KeyObject;
  checkpoint: KeyObject;
  checkpointPublic: Ed25519PublicJwk;
}

export type RecordCheck = { status: 'ok' } | { status: 'unchecked'; why: string } | { status: 'failed'; reason: string };

export interface RecordFailure {
  /** A MAC'd record, or `token_revocations`: the ledger against the revocations the log records. */
  record: RecordName | 'token_revocations';
  reason: string;
}

/** One per workspace: holds the derived keys while the vault is unlocked. */
export class RecordIntegrity {
  readonly #db: SqlDatabase;
  readonly #vault: Vault;
  readonly #audit: Audit;
  readonly #transaction: <T>(fn: () => T) => T;
  #keys: DerivedKeys | null = null;
  /** The vault's key check said "sealed" (it cannot go back without the DEK); forgotten on lock. */
  #sealedSeen = false;
  /** Why the last unlock could not seal (never thrown: an unlock must not fail on it). */
  lastSealProblem: string | null = null;

  constructor(deps: { db: SqlDatabase; vault: Vault; audit: Audit; transaction: <T>(fn: () => T) => T }) {
    this.#db = deps.db;
    this.#vault = deps.vault;
    this.#audit = deps.audit;
    this.#transaction = deps.transaction;
    this.#audit.useKeys({ auditKey: () => this.#derived()?.audit ?? null });
    this.#vault.onLock(() => this.#dropKeys());
    this.#vault.onUnlock(() => this.#afterUnlock());
  }

  /** The derived keys, or null while the vault is locked (or not initialized). */
  #derived(): DerivedKeys | null {
    if (!this.#vault.unlocked) return null;
    if (this.#keys === null) {
      const seed = this.#vault.deriveKey(CHECKPOINT_KEY_INFO);
      const pkcs8 = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
      let checkpoint: KeyObject;
      try {
        checkpoint = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      } finally {
        seed.fill(0);
        pkcs8.fill(0);
      }
      const jwk = createPublicKey(checkpoint).export({ format: 'jwk' }) as { x?: string };
      this.#keys = {
        audit: secretKey(this.#vault.deriveKey(AUDIT_KEY_INFO)),
        record: secretKey(this.#vault.deriveKey(RECORD_KEY_INFO)),
        checkpoint,
        checkpointPublic: { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x) },
      };
    }
    return this.#keys;
  }

  #requireKeys(what: string): DerivedKeys {
    const keys = this.#derived();
    if (keys === null) {
      throw new CastellanError(
        'LOCKED',
        `the workspace vault is locked; unlock it to ${what} (Castellan authenticates its records with a key held in the vault)`,
      );
    }
    return keys;
  }

  #dropKeys(): void {
    this.#sealedSeen = false;
    // KeyObjects cannot be zeroed; dropping the only references lets them go with the DEK.
    this.#keys = null;
  }

  #sealed(): boolean {
    if (!this.#sealedSeen) this.#sealedSeen = this.#vault.recordsSealed();
    return this.#sealedSeen;
  }

  #initialized(): boolean {
    return this.#db.prepare("SELECT 1 FROM meta WHERE key = 'vault_dek_id'").get() !== undefined;
  }

  /** After every unlock: adopt an unsealed workspace, or seal the tail appended while locked. */
  #afterUnlock(): void {
    this.lastSealProblem = null;
    try {
      const keys = this.#derived();
      if (keys === null) return;
      // The usual unlock has nothing to seal: decide that read-only, so an unlock never waits
      // for another process's write lock without need.
      if (this.#sealed() && !this.#audit.tailUnsealed() && this.#retiredWhileLocked(keys).length === 0) return;
      this.#transaction(() => {
        if (!this.#vault.recordsSealed()) {
          this.#audit.sealTail(keys.audit, true);
          for (const name of this.#allRecordNames()) this.#writeMac(keys, name);
          this.#vault.markRecordsSealed();
          return;
        }
        this.#audit.sealTail(keys.audit);
        // Keys retired while the vault was locked: accepted by the tolerance rule; MAC them exactly now.
        for (const name of this.#retiredWhileLocked(keys)) this.#writeMac(keys, name);
      });
    } catch (err) {
      // The workspace stays usable; verify reports whatever could not be sealed.
      this.lastSealProblem = err instanceof Error ? err.message : String(err);
    }
  }

  /** Key records accepted only by the retired-while-locked rule (their MAC is for verify-only). */
  #retiredWhileLocked(keys: DerivedKeys): RecordName[] {
    return this.#keyRecordNames().filter((name) => {
      const stored = this.#storedMac(name);
      const content = this.#content(name);
      return (
        stored !== null &&
        content !== null &&
        !macEquals(stored, this.#mac(keys, name, content)) &&
        this.#check(keys, name).status === 'ok'
      );
    });
  }

  #keyRecordNames(): RecordName[] {
    const ids = this.#db.prepare('SELECT id FROM signing_keys ORDER BY id').all() as { id: string }[];
    return ids.map((r) => `signing_key:${r.id}` as RecordName);
  }

  #allRecordNames(): RecordName[] {
    return [...this.#keyRecordNames(), 'signing_keys', 'token_config', 'settings', 'ca', 'crl', 'revocation_list'];
  }

  /** The canonical content a record's MAC covers; null when the record does not exist. */
  #content(name: RecordName, variant?: 'unretired'): string | null {
    if (name.startsWith('signing_key:')) {
      const row = this.#db
        .prepare(
          `SELECT id, profile, alg, kid, state, public_jwk, sealed_private, compromised, created_at, rotated_at, retired_at
           FROM signing_keys WHERE id = ?`,
        )
        .get(name.slice('signing_key:'.length)) as Record<string, string | number | null | Uint8Array> | undefined;
      if (row === undefined) return null;
      const state = variant === 'unretired' ? 'verify-only' : row.state;
      return canonicalJson({
        id: row.id,
        profile: row.profile,
        alg: row.alg,
        kid: row.kid,
        state,
        public_jwk: row.public_jwk,
        compromised: row.compromised,
        created_at: row.created_at,
        rotated_at: row.rotated_at,
        retired_at: variant === 'unretired' ? null : row.retired_at,
        sealed_sha256: sha256(row.sealed_private as Uint8Array),
      });
    }
    switch (name) {
      case 'signing_keys': {
        const ids = this.#db.prepare('SELECT id FROM signing_keys').all() as { id: string }[];
        // Sorted here, by code unit (SQLite's BINARY order): a PostgreSQL database's collation
        // may order text otherwise, and this MAC must read the same on both engines.
        return canonicalJson(ids.map((r) => r.id).sort());
      }
      case 'token_config':
        return canonicalJson({ issuer: this.#meta('issuer'), audience: this.#meta('audience') });
      case 'settings': {
        const rows = this.#db
          .prepare("SELECT key, value FROM meta WHERE key LIKE 'setting:%' ORDER BY key")
          .all() as { key: string; value: string }[];
        return canonicalJson(Object.fromEntries(rows.map((r) => [r.key, r.value])));
      }
      case 'ca': {
        const row = this.#db.prepare('SELECT cert_der, sealed_key, imported, created_at FROM ca WHERE id = 1').get() as
          { cert_der: Uint8Array; sealed_key: Uint8Array; imported: number; created_at: string } | undefined;
        if (row === undefined) return null;
        return canonicalJson({
          cert_sha256: sha256(row.cert_der),
          sealed_sha256: sha256(row.sealed_key),
          imported: row.imported,
          created_at: row.created_at,
        });
      }
      case 'crl': {
        const row = this.#db
          .prepare('SELECT crl_number, this_update, next_update, entries, crl_der FROM ca_crl WHERE id = 1')
          .get() as
          { crl_number: string; this_update: string; next_update: string; entries: number; crl_der: Uint8Array } | undefined;
        return canonicalJson({
          counter: this.#meta('crl_number'),
          revoked_sha256: this.#meta('crl_revoked_sha256'),
          stored:
            row === undefined
              ? null
              : {
                  crl_number: row.crl_number,
                  this_update: row.this_update,
                  next_update: row.next_update,
                  entries: row.entries,
                  der_sha256: sha256(row.crl_der),
                },
        });
      }
      default:
        return canonicalJson({ seq: this.#meta('revocation_list_seq') });
    }
  }

  #meta(key: string): string | null {
    const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  #mac(keys: DerivedKeys, name: RecordName, content: string | null): string {
    return createHmac('sha256', keys.record)
      .update(`castellan record v1|${name}|${content ?? 'absent'}`)
      .digest('hex');
  }

  #storedMac(name: RecordName): string | null {
    const row = this.#db.prepare('SELECT mac FROM record_macs WHERE record = ?').get(name) as { mac: string } | undefined;
    return row?.mac ?? null;
  }

  #writeMac(keys: DerivedKeys, name: RecordName): void {
    this.#db
      .prepare('INSERT INTO record_macs (record, mac) VALUES (?, ?) ON CONFLICT (record) DO UPDATE SET mac = excluded.mac')
      .run(name, this.#mac(keys, name, this.#content(name)));
  }

  #check(keys: DerivedKeys, name: RecordName): RecordCheck {
    const content = this.#content(name);
    const stored = this.#storedMac(name);
    if (stored === null) {
      if (content === null) return { status: 'ok' };
      return { status: 'failed', reason: `${describeRecord(name)} has no authentication code: it was added outside Castellan` };
    }
    if (macEquals(stored, this.#mac(keys, name, content))) return { status: 'ok' };
    if (content === null) {
      return { status: 'failed', reason: `${describeRecord(name)} was deleted outside Castellan` };
    }
    // A spent key retired while the vault was locked (see the design above).
    if (name.startsWith('signing_key:') && content.includes('"state":"retired"')) {
      if (macEquals(stored, this.#mac(keys, name, this.#content(name, 'unretired')))) return { status: 'ok' };
    }
    return {
      status: 'failed',
      reason: `${describeRecord(name)} fails its authentication check: it was changed outside Castellan`,
    };
  }

  /** Checks one record: `unchecked` while the vault is locked or has no key yet. */
  check(name: RecordName): RecordCheck {
    if (!this.#initialized()) return { status: 'unchecked', why: 'the workspace vault is not initialized' };
    const keys = this.#derived();
    if (keys === null) return { status: 'unchecked', why: 'the workspace vault is locked' };
    if (!this.#sealed()) return { status: 'unchecked', why: 'the workspace has not been sealed yet' };
    return this.#check(keys, name);
  }

  /** INTEGRITY if the record fails; nothing while it cannot be checked (locked, no vault). */
  assert(name: RecordName, use: string): void {
    const result = this.check(name);
    if (result.status === 'failed') {
      throw new CastellanError('INTEGRITY', `${result.reason}; Castellan will not ${use}`);
    }
  }

  /** As assert, but LOCKED while the vault is locked: for publishing or verifying with a record. */
  assertStrict(name: RecordName, use: string): void {
    if (this.#initialized() && !this.#vault.unlocked) {
      throw new CastellanError(
        'LOCKED',
        `the workspace vault is locked; unlock it to ${use} (${describeRecord(name)} is authenticated with a key held in the vault)`,
      );
    }
    this.assert(name, use);
  }

  /**
   * Re-MACs records after a legitimate change, inside the caller's transaction. Without a vault
   * (a workspace not initialized yet) there is nothing to key with: the first unlock adopts them.
   */
  seal(...names: RecordName[]): void {
    if (!this.#initialized()) return;
    const keys = this.#requireKeys(`change ${describeRecord(names[0] ?? 'settings')}`);
    for (const name of names) this.#writeMac(keys, name);
  }

  /**
   * Runs `mutate` (a legitimate change to one record, inside the caller's transaction) and re-MACs
   * the record afterwards — unless it failed its check before the change: a tampered record stays
   * failed (so never used or published), whatever Castellan then does to it.
   */
  change<T>(name: RecordName, mutate: () => T): T {
    const before = this.check(name);
    const result = mutate();
    if (before.status !== 'failed') this.seal(name);
    return result;
  }

  /** Every record that fails (empty when all hold). Needs the vault unlocked. */
  verifyRecords(): RecordFailure[] {
    const keys = this.#requireKeys('verify the records');
    if (!this.#sealed()) {
      return [{ record: 'signing_keys', reason: 'the workspace has not been sealed yet (it is sealed at the next unlock)' }];
    }
    const failures: RecordFailure[] = [];
    // Key MACs that no longer have a row (deleted keys) are named too.
    const macNames = (this.#db.prepare("SELECT record FROM record_macs WHERE record LIKE 'signing_key:%'").all() as {
      record: string;
    }[]).map((r) => r.record as RecordName);
    const names = [...new Set([...this.#allRecordNames(), ...macNames])];
    for (const name of names) {
      const result = this.#check(keys, name);
      if (result.status === 'failed') failures.push({ record: name, reason: result.reason });
    }
    return failures;
  }

  /** The audit log with its MACs and sealed head. Needs the vault unlocked. */
  verifyAudit(): AuthenticatedAuditVerification {
    const keys = this.#requireKeys('verify the audit log');
    return this.#audit.verifyAuthenticated(keys.audit, this.#sealed());
  }

  /** Signs a checkpoint over the current head (inside the caller's transaction, after its appends). */
  checkpoint(head: { count: number; hash: string }, now: Date = new Date()): AuditCheckpoint {
    const keys = this.#requireKeys('export the audit log with a signed checkpoint');
    const body = { v: 1 as const, count: head.count, head: head.hash, ts: now.toISOString(), public_key: keys.checkpointPublic };
    const sig = signBytes(null, Buffer.from(CHECKPOINT_DOMAIN + canonicalJson(body), 'utf8'), keys.checkpoint);
    return { ...body, sig: sig.toString('base64url') };
  }

  /** This vault's checkpoint public key (unlocked only). */
  checkpointPublicKey(): Ed25519PublicJwk {
    return this.#requireKeys('read the checkpoint key').checkpointPublic;
  }
}

/** A KeyObject of derived key bytes; the bytes are zeroed once copied into it. */
function secretKey(bytes: Buffer): KeyObject {
  try {
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

function sha256(bytes: Uint8Array | string | null): string | null {
  if (bytes === null) return null;
  return createHash('sha256').update(bytes).digest('hex');
}

function macEquals(stored: string, computed: string): boolean {
  return stored.length === computed.length && timingSafeEqual(Buffer.from(stored), Buffer.from(computed));
}

// ---------------------------------------------------------------------------
// Checkpoints: signing, reading and checking

/** Verifies a checkpoint's own signature; INVALID_INPUT/INTEGRITY with the reason if it does not hold. */
export function assertCheckpointSignature(cp: AuditCheckpoint): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: cp.public_key.x }, format: 'jwk' });
  } catch {
    throw new CastellanError('INVALID_INPUT', 'the checkpoint’s public key is not an Ed25519 key');
  }
  const body = { v: cp.v, count: cp.count, head: cp.head, ts: cp.ts, public_key: cp.public_key };
  const ok = verifyBytes(
    null,
    Buffer.from(CHECKPOINT_DOMAIN + canonicalJson(body), 'utf8'),
    key,
    Buffer.from(cp.sig, 'base64url'),
  );
  if (!ok) throw new CastellanError('INTEGRITY', 'the checkpoint’s signature does not verify: the checkpoint was altered');
}

function checkpointShape(value: unknown): AuditCheckpoint {
  const v = value as Partial<AuditCheckpoint> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    v.v === 1 &&
    typeof v.count === 'number' &&
    Number.isSafeInteger(v.count) &&
    v.count >= 0 &&
    typeof v.head === 'string' &&
    /^[0-9a-f]{64}$/.test(v.head) &&
    typeof v.ts === 'string' &&
    typeof v.sig === 'string' &&
    /^[\w-]+$/.test(v.sig) &&
    typeof v.public_key === 'object' &&
    v.public_key !== null &&
    v.public_key.kty === 'OKP' &&
    v.public_key.crv === 'Ed25519' &&
    typeof v.public_key.x === 'string';
  if (!ok) throw new CastellanError('INVALID_INPUT', 'the file holds no valid Castellan audit checkpoint');
  return {
    v: 1,
    count: v.count!,
    head: v.head!,
    ts: v.ts!,
    public_key: { kty: 'OKP', crv: 'Ed25519', x: v.public_key!.x },
    sig: v.sig!,
  };
}

/**
 * The checkpoint in a file: a bare checkpoint JSON (`{"checkpoint": …}` or the object itself),
 * a JSONL export (its last `{"checkpoint": …}` line) or a CSV export (its `checkpoint` row).
 */
export function parseCheckpoint(text: string): AuditCheckpoint {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new CastellanError('INVALID_INPUT', 'the checkpoint file is empty');
  }
  const trimmed = text.trim();
  const tryJson = (s: string): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return undefined;
    }
  };
  const whole = tryJson(trimmed) as { checkpoint?: unknown } | undefined;
  if (whole !== undefined && whole !== null && typeof whole === 'object') {
    return checkpointShape('checkpoint' in whole ? whole.checkpoint : whole);
  }
  const lines = trimmed.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.startsWith('{"checkpoint":')) {
      return checkpointShape((tryJson(line) as { checkpoint?: unknown } | undefined)?.checkpoint);
    }
    if (line.startsWith('checkpoint,')) {
      // The CSV row: checkpoint,<ts>,,,audit.checkpoint,audit,"<json>",,<head>,,
      const fields = csvRow(line);
      return checkpointShape(tryJson(fields[6] ?? ''));
    }
  }
  throw new CastellanError('INVALID_INPUT', 'the file holds no Castellan audit checkpoint (is it an audit export?)');
}

/** One RFC 4180 record (no embedded line breaks: the checkpoint row has none). */
function csvRow(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      out.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  out.push(field);
  return out;
}

function csvQuote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

// ---------------------------------------------------------------------------
// What the CLI and the IPC handlers call

export interface WorkspaceVerification extends AuthenticatedAuditVerification {
  /** Records that fail their authentication check. */
  records: RecordFailure[];
  /** Set when verified against a checkpoint: whether the log extends it. */
  checkpoint: { count: number; head: string; ts: string; extends: boolean; reason: string | null } | null;
}

/**
 * `audit verify`: the log (chain, MACs, sealed head), every record, and — with `against` — that
 * the log extends an earlier export's checkpoint. ok only if all of it holds. Needs the vault
 * unlocked (LOCKED otherwise: nothing here can be authenticated without it).
 */
export function verifyWorkspace(ws: Workspace, against?: AuditCheckpoint): WorkspaceVerification {
  const integrity = ws.integrity;
  const audit = integrity.verifyAudit();
  const records = integrity.verifyRecords();
  // The revoked certificates are checked against the (authenticated) digest of the last CRL's set.
  if (!records.some((r) => r.record === 'crl')) {
    const why = revokedSetMismatch(ws);
    if (why !== null) records.push({ record: 'crl', reason: why });
  }
  // Every revocation the (now verified) log records must still stand in the ledger.
  if (audit.ok) {
    const undone = revocationMismatch(ws);
    if (undone !== null) records.push({ record: 'token_revocations', reason: undone });
  }
  let checkpoint: WorkspaceVerification['checkpoint'] = null;
  if (against !== undefined) {
    const reason = checkpointMismatch(ws, against);
    checkpoint = { count: against.count, head: against.head, ts: against.ts, extends: reason === null, reason };
  }
  let { ok, reason } = audit;
  if (ok && records.length > 0) {
    ok = false;
    reason = records[0]!.reason;
  }
  if (ok && checkpoint !== null && !checkpoint.extends) {
    ok = false;
    reason = checkpoint.reason;
  }
  return { ...audit, ok, reason, records, checkpoint };
}

/** Why the current log does not extend `cp`, or null if it does. */
function checkpointMismatch(ws: Workspace, cp: AuditCheckpoint): string | null {
  try {
    assertCheckpointSignature(cp);
  } catch (err) {
    return (err as Error).message;
  }
  const ours = ws.integrity.checkpointPublicKey();
  if (ours.x !== cp.public_key.x) {
    return (
      `the checkpoint of ${cp.ts} was signed by another vault (checkpoint key ${cp.public_key.x}), not this ` +
      `workspace's (${ours.x}): the workspace was rebuilt or its vault replaced since that export`
    );
  }
  const row = ws.db.prepare('SELECT hash FROM audit WHERE seq = ?').get(cp.count) as { hash: string } | undefined;
  if (cp.count === 0) return null;
  if (row === undefined) {
    const n = (ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    return `the log has ${n} entries but the checkpoint of ${cp.ts} recorded ${cp.count}: entries were removed since that export`;
  }
  if (row.hash !== cp.head) {
    return `entry ${cp.count} is not the entry exported in the checkpoint of ${cp.ts}: the log was rewritten since that export`;
  }
  return null;
}

export type AuditExportFormat = 'jsonl' | 'csv';

/**
 * The audit log as JSONL or CSV ending with a signed checkpoint over everything before it,
 * the `audit.export` entry included (appended in the same transaction; `write` runs inside it,
 * so a failed write leaves no claim of an export). Needs the vault unlocked.
 */
export function exportAuditWithCheckpoint(
  ws: Workspace,
  format: AuditExportFormat,
  write: (text: string) => void,
  now: Date = new Date(),
): AuditCheckpoint {
  if (format !== 'jsonl' && format !== 'csv') {
    throw new CastellanError('INVALID_INPUT', `--format must be jsonl or csv, not ${JSON.stringify(String(format))}`);
  }
  ws.vault.requireUnlocked();
  return ws.transaction(() => {
    const entry = ws.audit.append({ action: 'audit.export', target: 'audit', details: { format } });
    const cp = ws.integrity.checkpoint({ count: entry.seq, hash: entry.hash }, now);
    let text: string;
    if (format === 'jsonl') {
      text = `${ws.audit.exportJsonl()}${canonicalJson({ checkpoint: cp })}\n`;
    } else {
      const row = ['checkpoint', cp.ts, '', '', 'audit.checkpoint', 'audit', canonicalJson(cp), '', cp.head, '', ''];
      text = `${ws.audit.exportCsv()}${row.map(csvQuote).join(',')}\r\n`;
    }
    write(text);
    return cp;
  });
}

/**
 * The key vault. Every private key Castellan holds is sealed with AES-256-GCM
 * under one random data-encryption key (DEK). The DEK itself is stored only
 * wrapped, once per slot: by a scrypt-derived key for a passphrase slot, or by
 * the OS keychain (Electron's safeStorage) for a keychain slot. Any one slot
 * unlocks the vault; the DEK lives in memory only while unlocked.
 *
 * Guessing is made slow and visible. Every failed passphrase unlock or re-authentication is
 * audited (the slot kind, the source app/cli and the running count; never the passphrase) and
 * counted in the workspace's `vault_unlock_failures` row, so restarting the app or running the
 * CLI in a loop does not reset it. After THROTTLE_FREE_FAILURES failures each further attempt
 * must wait 1 s, 2 s, 4 s … (capped at THROTTLE_CAP_MS) after the last failure; an attempt
 * inside that window is refused at once with "try again in N s", before any scrypt runs. One
 * attempt runs at a time per vault, so attempts fired in parallel (a compromised page) cannot
 * slip past the count; a right passphrase writes nothing unless there was a count to clear, and
 * a wrong one costs one commit (count + audit entry). Only proof of a passphrase resets it: a
 * keychain unlock needs no guess, and a compromised renderer can trigger one at will.
 *
 * The IPC path derives keys with the asynchronous `crypto.scrypt`, which runs on libuv's
 * threadpool, so an unlock never blocks the main process's event loop (bench/items/unlock.ts);
 * the synchronous methods remain for the CLI and tests.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  randomUUID,
  scrypt,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto';
import type { SqlDatabase } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import type { Audit } from './audit.ts';

/** What the Electron shell provides from `safeStorage`; the CLI has none. */
export interface KeychainBackend {
  backend(): string;
  isEncryptionAvailable(): boolean;
  encryptString(s: string): Buffer;
  decryptString(b: Buffer): string;
}

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

export interface VaultOptions {
  keychain?: KeychainBackend;
  /** scrypt cost for new passphrase slots; defaults to DEFAULT_SCRYPT_COST. */
  kdf?: ScryptCost;
  /**
   * Lets a test suite use scrypt costs below the floor so it stays fast.
   * Honoured only under `node --test`; anywhere else weak costs are refused.
   */
  allowWeakKdfInTests?: boolean;
}

export type VaultSlotKind = 'passphrase' | 'keychain';

/** What a dangerous operation carries to re-authenticate: the current passphrase, or the keychain slot. */
export type Reauthentication = { passphrase: string } | { keychain: true };

export interface VaultSlotInfo {
  id: number;
  kind: VaultSlotKind;
  label: string;
  backend: string | null;
  created_at: string;
}

export interface VaultStatus {
  initialized: boolean;
  unlocked: boolean;
  slots: VaultSlotInfo[];
}

/** Strong enough for a key that signs every worker certificate (≈128 MiB, ~0.3 s). */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
export const SCRYPT_COST_FLOOR: ScryptCost = DEFAULT_SCRYPT_COST;
export const MIN_PASSPHRASE_LENGTH = 8;
const MAX_PASSPHRASE_LENGTH = 1024;
const MAX_LABEL_LENGTH = 100;
// Keeps a corrupt or hostile kdf_params row from asking scrypt for gigabytes.
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

const DEK_BYTES = 32;
const SEAL_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const DEK_CHECK_LABEL = 'castellan vault key check v1';
// The same check under another label once record-integrity.ts has authenticated the workspace's
// audit log and records ("sealed" them). Only a holder of the DEK can write either value, so an
// attacker with the file cannot turn a sealed workspace back into one whose missing
// authentication codes would be adopted as legitimate (see record-integrity.ts).
const DEK_CHECK_SEALED_LABEL = 'castellan vault key check v2: records authenticated';
const HKDF_SALT = 'castellan vault subkey v1';
const META_DEK_ID = 'vault_dek_id';
const META_DEK_CHECK = 'vault_dek_check';
const LOCKED_MESSAGE = 'the workspace vault is locked; unlock it with a passphrase or the OS keychain';

interface KdfParams {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  keylen: number;
}

interface SlotRow {
  id: number;
  kind: VaultSlotKind;
  label: string;
  kdf_params: string | null;
  backend: string | null;
  wrapped_dek: Uint8Array;
  created_at: string;
}

interface VaultDeps {
  db: SqlDatabase;
  audit: Audit;
  transaction: <T>(fn: () => T) => T;
  /** Which front end acts (recorded with each failed attempt); 'app' unless told. */
  source?: 'app' | 'cli';
  /**
   * The first slot's label when `initialize` is given none: the OS user creating the vault, so
   * the audit log names a person rather than "passphrase".
   */
  defaultAdmin?: string;
}

/** Failed passphrase attempts allowed before the growing delays start. */
export const THROTTLE_FREE_FAILURES = 3;
/** The first delay; each further failure doubles it. */
export const THROTTLE_BASE_MS = 1000;
/** The longest delay between attempts, however many failures there were. */
export const THROTTLE_CAP_MS = 5 * 60 * 1000;

/** How long after the `failures`-th consecutive failure the next passphrase attempt must wait. */
export function throttleDelayMs(failures: number): number {
  if (failures < THROTTLE_FREE_FAILURES) return 0;
  const doublings = Math.min(failures - THROTTLE_FREE_FAILURES, 30);
  return Math.min(THROTTLE_BASE_MS * 2 ** doublings, THROTTLE_CAP_MS);
}

type AttemptKind = 'unlock' | 'reauth';

interface FailureRow {
  failures: number;
  retry_at: number;
}

export class Vault {
  readonly #db: SqlDatabase;
  readonly #audit: Audit;
  readonly #transaction: <T>(fn: () => T) => T;
  readonly #keychain: KeychainBackend | undefined;
  readonly #kdf: ScryptCost;
  readonly #allowWeakKdf: boolean;
  readonly #source: 'app' | 'cli';
  readonly #defaultAdmin: string;
  #dek: Buffer | null = null;
  /** The label of the slot that unlocked the vault: the admin the audit log names. */
  #admin: string | null = null;
  /** While `initialize` commits: the first slot's label, so its own entry names who created the vault. */
  #creating: string | null = null;
  #attemptRunning = false;
  readonly #lockListeners = new Set<() => void>();
  readonly #unlockListeners = new Set<() => void>();

  constructor(deps: VaultDeps, options: VaultOptions = {}) {
    this.#db = deps.db;
    this.#audit = deps.audit;
    this.#transaction = deps.transaction;
    this.#source = deps.source ?? 'app';
    this.#defaultAdmin = defaultAdminLabel(deps.defaultAdmin);
    this.#keychain = options.keychain;
    this.#allowWeakKdf = options.allowWeakKdfInTests === true && isUnderTestRunner();
    this.#kdf = checkedScryptCost(options.kdf ?? DEFAULT_SCRYPT_COST, this.#allowWeakKdf);
  }

  status(): VaultStatus {
    return {
      initialized: this.#dekId() !== null,
      unlocked: this.#dek !== null,
      slots: this.#slots().map(slotInfo),
    };
  }

  get unlocked(): boolean {
    return this.#dek !== null;
  }

  /**
   * Who is acting, for the audit log: the label of the vault slot that unlocked the workspace
   * (one slot per admin, named after them), or null while locked.
   */
  get admin(): string | null {
    return this.#dek === null ? this.#creating : this.#admin;
  }

  /** Creates the DEK and its first (passphrase) slot; leaves the vault unlocked. */
  initialize(passphrase: string, opts: { label?: string; kdf?: ScryptCost } = {}): VaultSlotInfo {
    const plan = this.#planInitialize(passphrase, opts);
    try {
      // scrypt runs before the transaction so the write lock is held only briefly.
      return this.#commitInitialize(plan, wrapWithPassphrase(plan.dek, plan.passphrase, plan.dekId, plan.cost));
    } finally {
      plan.dek.fill(0);
    }
  }

  /** `initialize` with scrypt on libuv's threadpool, so the caller's event loop keeps running. */
  async initializeAsync(passphrase: string, opts: { label?: string; kdf?: ScryptCost } = {}): Promise<VaultSlotInfo> {
    const plan = this.#planInitialize(passphrase, opts);
    try {
      const wrapped = await wrapWithPassphraseAsync(plan.dek, plan.passphrase, plan.dekId, plan.cost);
      return this.#commitInitialize(plan, wrapped);
    } finally {
      plan.dek.fill(0);
    }
  }

  unlockWithPassphrase(passphrase: string): void {
    const { slots, normalized, dekId } = this.#passphraseAttempt(passphrase);
    this.#beginAttempt();
    try {
      // A damaged slot must not stop a healthy one from unlocking; report it only if nothing opens.
      let damaged: unknown = null;
      for (const slot of slots) {
        try {
          const dek = unwrapWithPassphrase(slot, normalized, dekId);
          if (dek !== null) {
            this.#adoptDek(dek, slot);
            this.#attemptSucceeded();
            return;
          }
        } catch (err) {
          damaged ??= err;
        }
      }
      this.#attemptFailed('unlock', 'passphrase');
      throw damaged ?? new CastellanError('BAD_REQUEST', 'wrong passphrase');
    } finally {
      this.#attemptRunning = false;
    }
  }

  /**
   * `unlockWithPassphrase` with scrypt on libuv's threadpool: what the IPC handler uses, so an
   * unlock (right or wrong) never blocks the main process's event loop.
   */
  async unlockWithPassphraseAsync(passphrase: string): Promise<void> {
    const { slots, normalized, dekId } = this.#passphraseAttempt(passphrase);
    this.#beginAttempt();
    try {
      let damaged: unknown = null;
      for (const slot of slots) {
        try {
          const dek = await unwrapWithPassphraseAsync(slot, normalized, dekId);
          if (dek !== null) {
            this.#adoptDek(dek, slot);
            this.#attemptSucceeded();
            return;
          }
        } catch (err) {
          damaged ??= err;
        }
      }
      this.#attemptFailed('unlock', 'passphrase');
      throw damaged ?? new CastellanError('BAD_REQUEST', 'wrong passphrase');
    } finally {
      this.#attemptRunning = false;
    }
  }

  unlockWithKeychain(): void {
    this.#requireInitialized();
    const slots = this.#slots().filter((s) => s.kind === 'keychain');
    if (slots.length === 0) {
      throw new CastellanError('NOT_FOUND', 'this workspace has no OS keychain slot; unlock with a passphrase');
    }
    const keychain = this.#usableKeychain();
    const current = keychain.backend();
    const slot = slots.find((s) => s.backend === current);
    if (slot === undefined) {
      const previous = slots[0]?.backend ?? 'unknown';
      throw new CastellanError(
        'CONFLICT',
        `the OS keychain backend changed from ${previous} to ${current}; unlock with a passphrase`,
      );
    }
    let encoded: string;
    try {
      encoded = keychain.decryptString(Buffer.from(slot.wrapped_dek));
    } catch {
      this.#auditFailure('unlock', 'keychain', null);
      throw new CastellanError(
        'BAD_REQUEST',
        `the OS keychain could not decrypt vault slot ${slot.id} (its keychain entry may have been reset); unlock with a passphrase`,
      );
    }
    const dek = Buffer.from(encoded, 'base64');
    if (dek.length !== DEK_BYTES) {
      dek.fill(0);
      this.#auditFailure('unlock', 'keychain', null);
      throw new CastellanError('INTEGRITY', `vault slot ${slot.id} does not hold a valid data key`);
    }
    try {
      this.#adoptDek(dek, slot);
    } catch (err) {
      this.#auditFailure('unlock', 'keychain', null);
      throw err;
    }
  }

  /** Forgets the DEK: zeroes the only copy Castellan holds. */
  lock(): void {
    if (this.#dek !== null) {
      this.#dek.fill(0);
      this.#dek = null;
    }
    this.#admin = null;
    for (const listener of this.#lockListeners) listener();
  }

  /**
   * Called whenever the vault locks (the lock command, closing the workspace, and every
   * unlock, which locks first), so material derived from unsealed keys — an imported
   * KeyObject, say — is released with the DEK. Returns the unsubscribe function.
   */
  onLock(listener: () => void): () => void {
    this.#lockListeners.add(listener);
    return () => this.#lockListeners.delete(listener);
  }

  addPassphraseSlot(passphrase: string, label?: string): VaultSlotInfo {
    const normalized = newPassphrase(passphrase);
    const slotName = slotLabel(label, 'passphrase');
    const dek = this.#requireDek();
    const dekId = this.#requireInitialized();
    const cost = this.#kdf;
    const wrapped = wrapWithPassphrase(dek, normalized, dekId, cost);
    return this.#commitPassphraseSlot(slotName, cost, wrapped);
  }

  /** `addPassphraseSlot` with scrypt on libuv's threadpool. */
  async addPassphraseSlotAsync(passphrase: string, label?: string): Promise<VaultSlotInfo> {
    const normalized = newPassphrase(passphrase);
    const slotName = slotLabel(label, 'passphrase');
    // A private copy: a lock() while scrypt runs zeroes the vault's own buffer.
    const dek = Buffer.from(this.#requireDek());
    const dekId = this.#requireInitialized();
    const cost = this.#kdf;
    try {
      const wrapped = await wrapWithPassphraseAsync(dek, normalized, dekId, cost);
      // The vault may have been locked (or re-keyed) while scrypt ran: wrap only the key it holds now.
      const now = this.#requireDek();
      if (!timingSafeEqual(now, dek)) {
        throw new CastellanError('CONFLICT', 'the vault changed while the slot was being made; nothing was added');
      }
      return this.#commitPassphraseSlot(slotName, cost, wrapped);
    } finally {
      dek.fill(0);
    }
  }

  addKeychainSlot(label?: string): VaultSlotInfo {
    const dek = this.#requireDek();
    const keychain = this.#usableKeychain();
    const backend = keychain.backend();
    const slotName = slotLabel(label, `OS keychain (${backend})`);
    // safeStorage only takes strings; base64 is the narrowest faithful encoding.
    const wrapped = keychain.encryptString(dek.toString('base64'));
    return this.#transaction(() => {
      const slot = this.#insertSlot('keychain', slotName, null, backend, wrapped);
      this.#audit.append({
        action: 'vault.slot.add',
        target: `vault_slot:${slot.id}`,
        details: { kind: 'keychain', label: slotName, backend },
      });
      return slot;
    });
  }

  /** Removes one unlock method; needs the vault unlocked, and refuses the last slot. */
  removeSlot(id: number): void {
    if (!Number.isInteger(id) || id < 1) {
      throw new CastellanError('INVALID_INPUT', 'a vault slot id is a positive whole number');
    }
    this.#requireDek();
    this.#transaction(() => {
      const slot = this.#slots().find((s) => s.id === id);
      if (slot === undefined) {
        throw new CastellanError('NOT_FOUND', `vault slot ${id} does not exist`);
      }
      const count = (this.#db.prepare('SELECT count(*) AS n FROM vault_slots').get() as { n: number }).n;
      if (count <= 1) {
        throw new CastellanError(
          'CONFLICT',
          `vault slot ${id} is the last way to unlock this workspace; add another slot before removing it`,
        );
      }
      this.#db.prepare('DELETE FROM vault_slots WHERE id = ?').run(id);
      this.#audit.append({
        action: 'vault.slot.remove',
        target: `vault_slot:${id}`,
        details: { kind: slot.kind, label: slot.label, backend: slot.backend },
      });
    });
  }

  /**
   * Re-authentication for the keys to the kingdom (adding/removing slots, HS256 secret import and
   * export, CA key export, force-retiring a key): the caller must prove, in the same request, that
   * it holds an unlock method now — an unlocked vault alone (a compromised renderer has one) is not
   * enough. The credential must open a slot to this workspace's data key. A wrong passphrase is
   * audited and throttled exactly like a failed unlock (one shared count), and scrypt runs on
   * libuv's threadpool.
   */
  async reauthenticate(credential: Reauthentication): Promise<void> {
    this.#requireDek();
    const dekId = this.#requireInitialized();
    const given = credential as Partial<{ passphrase: unknown; keychain: unknown }> | null | undefined;
    if (typeof given !== 'object' || given === null || (!('passphrase' in given) && given.keychain !== true)) {
      throw new CastellanError(
        'INVALID_INPUT',
        're-authentication is required: give the current passphrase (or use the OS keychain slot)',
      );
    }
    if ('passphrase' in given) {
      const normalized = typeof given.passphrase === 'string' ? given.passphrase.normalize('NFC') : '';
      if (normalized === '') throw reauthFailed();
      const slots = this.#slots().filter((s) => s.kind === 'passphrase');
      if (slots.length === 0) {
        throw new CastellanError(
          'NOT_FOUND',
          'this workspace has no passphrase slot; re-authenticate with the OS keychain',
        );
      }
      this.#beginAttempt();
      try {
        let candidate: Buffer | null = null;
        for (const slot of slots) {
          try {
            candidate = await unwrapWithPassphraseAsync(slot, normalized, dekId);
          } catch {
            candidate = null;
          }
          if (candidate !== null) break;
        }
        // Compared with the key held now: the vault may have been locked while scrypt ran.
        const ok = this.#holdsDek(candidate);
        candidate?.fill(0);
        if (!ok) {
          this.#attemptFailed('reauth', 'passphrase');
          throw reauthFailed();
        }
        this.#attemptSucceeded();
        return;
      } finally {
        this.#attemptRunning = false;
      }
    }
    const keychain = this.#usableKeychain();
    const slot = this.#slots().find((s) => s.kind === 'keychain' && s.backend === keychain.backend());
    if (slot === undefined) {
      throw new CastellanError(
        'NOT_FOUND',
        `this workspace has no OS keychain slot for ${keychain.backend()}; re-authenticate with the passphrase`,
      );
    }
    let candidate: Buffer | null;
    try {
      candidate = Buffer.from(keychain.decryptString(Buffer.from(slot.wrapped_dek)), 'base64');
    } catch {
      candidate = null;
    }
    const ok = this.#holdsDek(candidate);
    candidate?.fill(0);
    if (!ok) {
      this.#auditFailure('reauth', 'keychain', null);
      throw reauthFailed();
    }
  }

  requireUnlocked(): void {
    this.#requireDek();
  }

  /**
   * Encrypts `plaintext` under the DEK. `aad` names what the blob is
   * (e.g. `signing_key:<id>`) so a blob copied to another row will not open.
   * Layout: version byte ‖ 12-byte IV ‖ ciphertext ‖ 16-byte tag.
   */
  seal(plaintext: Uint8Array, aad: string): Uint8Array {
    return aesGcmSeal(this.#requireDek(), plaintext, sealLabel(aad));
  }

  /** Decrypts a `seal` blob; INTEGRITY if it was altered or belongs to another `aad`. Zero the result after use. */
  unseal(blob: Uint8Array, aad: string): Uint8Array {
    const dek = this.#requireDek();
    const label = sealLabel(aad);
    const plaintext = aesGcmOpen(dek, blob, label);
    if (plaintext === null) {
      throw new CastellanError(
        'INTEGRITY',
        `the sealed data for ${label} failed its integrity check (altered, or sealed for something else)`,
      );
    }
    return plaintext;
  }

  #planInitialize(
    passphrase: string,
    opts: { label?: string; kdf?: ScryptCost },
  ): { passphrase: string; label: string; cost: ScryptCost; dek: Buffer; dekId: string } {
    const normalized = newPassphrase(passphrase);
    const label = slotLabel(opts.label, this.#defaultAdmin);
    const cost = checkedScryptCost(opts.kdf ?? this.#kdf, this.#allowWeakKdf);
    if (this.#dekId() !== null) {
      throw new CastellanError('CONFLICT', 'the workspace vault is already initialized');
    }
    return { passphrase: normalized, label, cost, dek: randomBytes(DEK_BYTES), dekId: randomUUID() };
  }

  #commitInitialize(
    plan: { label: string; cost: ScryptCost; dek: Buffer; dekId: string },
    wrapped: { blob: Uint8Array; kdfParams: string },
  ): VaultSlotInfo {
    const { label, cost, dek, dekId } = plan;
    this.#creating = label;
    let info: VaultSlotInfo;
    try {
      info = this.#transaction(() => {
        if (this.#dekId() !== null) {
          throw new CastellanError('CONFLICT', 'the workspace vault is already initialized');
        }
        this.#setMeta(META_DEK_ID, dekId);
        this.#setMeta(META_DEK_CHECK, dekCheck(dek));
        const slot = this.#insertSlot('passphrase', label, wrapped.kdfParams, null, wrapped.blob);
        this.#audit.append({
          action: 'vault.initialize',
          target: 'vault',
          details: {
            slot: slot.id,
            kind: 'passphrase',
            label,
            kdf: { alg: 'scrypt', N: cost.N, r: cost.r, p: cost.p },
          },
        });
        return slot;
      });
    } finally {
      this.#creating = null;
    }
    this.#setDek(dek, info.label);
    return info;
  }

  #commitPassphraseSlot(
    slotName: string,
    cost: ScryptCost,
    wrapped: { blob: Uint8Array; kdfParams: string },
  ): VaultSlotInfo {
    return this.#transaction(() => {
      const slot = this.#insertSlot('passphrase', slotName, wrapped.kdfParams, null, wrapped.blob);
      this.#audit.append({
        action: 'vault.slot.add',
        target: `vault_slot:${slot.id}`,
        details: { kind: 'passphrase', label: slotName, kdf: { alg: 'scrypt', N: cost.N, r: cost.r, p: cost.p } },
      });
      return slot;
    });
  }

  /** The passphrase slots a passphrase attempt will try; refuses before anything is counted. */
  #passphraseAttempt(passphrase: string): { slots: SlotRow[]; normalized: string; dekId: string } {
    const dekId = this.#requireInitialized();
    const slots = this.#slots().filter((s) => s.kind === 'passphrase');
    if (slots.length === 0) {
      throw new CastellanError('NOT_FOUND', 'this workspace has no passphrase slot; unlock with the OS keychain');
    }
    // An empty passphrase is no guess: refused without counting it.
    if (typeof passphrase !== 'string' || passphrase === '') {
      throw new CastellanError('BAD_REQUEST', 'wrong passphrase');
    }
    return { slots, normalized: passphrase.normalize('NFC'), dekId };
  }

  /**
   * Admits one passphrase attempt, or refuses it at once while the throttle runs; writes nothing.
   * One attempt at a time per vault: a page firing attempts in parallel cannot slip past the
   * count (a second one is refused until the first has been counted).
   */
  #beginAttempt(): void {
    if (this.#attemptRunning) {
      throw new CastellanError(
        'CONFLICT',
        'another passphrase attempt is still running; try again when it has finished',
      );
    }
    const row = this.#failureRow();
    const now = Date.now();
    if (row !== null && row.retry_at > now) {
      const wait = Math.max(1, Math.ceil((row.retry_at - now) / 1000));
      throw new CastellanError(
        'BAD_REQUEST',
        `too many failed passphrase attempts (${row.failures}); try again in ${wait} s`,
      );
    }
    this.#attemptRunning = true;
  }

  /** A passphrase proved: the count starts again (written only when there was one). */
  #attemptSucceeded(): void {
    this.#attemptRunning = false;
    if (this.#failureRow() !== null) {
      this.#transaction(() => this.#db.prepare('DELETE FROM vault_unlock_failures').run());
    }
  }

  /**
   * Records a failed attempt in one commit: the count (read inside the transaction, so failures
   * from another process add up), the window before the next attempt, and the audit entry.
   */
  #attemptFailed(attempt: AttemptKind, kind: VaultSlotKind): void {
    this.#attemptRunning = false;
    const now = Date.now();
    this.#transaction(() => {
      const failures = (this.#failureRow()?.failures ?? 0) + 1;
      const delay = throttleDelayMs(failures);
      this.#db
        .prepare(
          `INSERT INTO vault_unlock_failures (id, failures, retry_at, last_failed_at) VALUES (1, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, retry_at = excluded.retry_at,
             last_failed_at = excluded.last_failed_at`,
        )
        .run(failures, now + delay, new Date(now).toISOString());
      this.#appendFailure(attempt, kind, failures, delay);
    });
  }

  /** A failed keychain attempt: audited, not throttled (the keychain answers no guesses). */
  #auditFailure(attempt: AttemptKind, kind: VaultSlotKind, failures: number | null): void {
    this.#transaction(() => this.#appendFailure(attempt, kind, failures, 0));
  }

  #appendFailure(attempt: AttemptKind, kind: VaultSlotKind, failures: number | null, delayMs: number): void {
    this.#audit.append({
      action: attempt === 'unlock' ? 'vault.unlock.failed' : 'vault.reauth.failed',
      target: 'vault',
      details: {
        kind,
        source: this.#source,
        ...(failures === null ? {} : { failures, retry_after_s: Math.ceil(delayMs / 1000) }),
      },
    });
  }

  #failureRow(): FailureRow | null {
    const row = this.#db.prepare('SELECT failures, retry_at FROM vault_unlock_failures WHERE id = 1').get() as
      FailureRow | undefined;
    return row ?? null;
  }

  /** True when `candidate` is the data key the vault holds now (false while locked). */
  #holdsDek(candidate: Buffer | null): boolean {
    const current = this.#dek;
    return (
      candidate !== null &&
      current !== null &&
      candidate.length === current.length &&
      timingSafeEqual(candidate, current)
    );
  }

  #requireDek(): Buffer {
    if (this.#dek === null) throw new CastellanError('LOCKED', LOCKED_MESSAGE);
    return this.#dek;
  }

  #requireInitialized(): string {
    const id = this.#dekId();
    if (id === null) {
      throw new CastellanError('NOT_FOUND', 'the workspace vault has not been initialized yet');
    }
    return id;
  }

  #adoptDek(dek: Buffer, slot: { id: number; label: string }): void {
    const stored = this.#meta(META_DEK_CHECK);
    if (!checkEquals(stored, dekCheck(dek)) && !checkEquals(stored, dekCheck(dek, DEK_CHECK_SEALED_LABEL))) {
      dek.fill(0);
      throw new CastellanError('INTEGRITY', `vault slot ${slot.id} holds a key that is not this workspace's data key`);
    }
    this.#setDek(dek, slot.label);
    dek.fill(0);
  }

  #setDek(dek: Buffer, admin: string): void {
    this.lock();
    // A private copy, so callers zeroing their buffer cannot disturb the vault and lock() can zero ours.
    this.#dek = Buffer.alloc(DEK_BYTES);
    dek.copy(this.#dek);
    // Set before the listeners run: what they append is the admin's doing too.
    this.#admin = admin;
    // Listeners must not be able to fail an unlock: they catch their own errors.
    for (const listener of this.#unlockListeners) listener();
  }

  /**
   * Called right after every unlock (and after initialize), with the DEK available: the record
   * integrity layer seals what was appended while the vault was locked. Returns the unsubscribe.
   */
  onUnlock(listener: () => void): () => void {
    this.#unlockListeners.add(listener);
    return () => this.#unlockListeners.delete(listener);
  }

  /**
   * A key derived from the DEK with HKDF-SHA256 for one named purpose (`info`), e.g. the audit
   * MAC key; LOCKED while locked. Derived keys never leave the main process; zero after use.
   */
  deriveKey(info: string, length = 32): Buffer {
    if (typeof info !== 'string' || info === '') {
      throw new CastellanError('INTERNAL', 'a derived key needs a non-empty purpose');
    }
    return Buffer.from(hkdfSync('sha256', this.#requireDek(), HKDF_SALT, info, length));
  }

  /** Whether the stored key check says record-integrity.ts has sealed this workspace (unlocked only). */
  recordsSealed(): boolean {
    const dek = this.#requireDek();
    return checkEquals(this.#meta(META_DEK_CHECK), dekCheck(dek, DEK_CHECK_SEALED_LABEL));
  }

  /** Marks the workspace as sealed (inside the caller's transaction). Irreversible without the DEK. */
  markRecordsSealed(): void {
    const dek = this.#requireDek();
    this.#db
      .prepare('UPDATE meta SET value = ? WHERE key = ?')
      .run(dekCheck(dek, DEK_CHECK_SEALED_LABEL), META_DEK_CHECK);
  }

  #usableKeychain(): KeychainBackend {
    const keychain = this.#keychain;
    if (keychain === undefined) {
      throw new CastellanError('UNSUPPORTED', 'the OS keychain is not available in this process; use a passphrase');
    }
    const backend = keychain.backend();
    if (backend === 'basic_text') {
      throw new CastellanError(
        'UNSUPPORTED',
        'the OS keychain backend is basic_text, which does not encrypt; Castellan will not use it. Use a passphrase',
      );
    }
    if (!keychain.isEncryptionAvailable()) {
      throw new CastellanError(
        'UNSUPPORTED',
        `OS keychain encryption is not available (backend ${backend}); use a passphrase`,
      );
    }
    return keychain;
  }

  #slots(): SlotRow[] {
    return this.#db.prepare('SELECT * FROM vault_slots ORDER BY id').all() as unknown as SlotRow[];
  }

  #insertSlot(
    kind: VaultSlotKind,
    label: string,
    kdfParams: string | null,
    backend: string | null,
    wrapped: Uint8Array,
  ): VaultSlotInfo {
    const createdAt = new Date().toISOString();
    // RETURNING, not lastInsertRowid: PostgreSQL has no rowid (SQLite has had RETURNING since 3.35).
    const { id } = this.#db
      .prepare(
        'INSERT INTO vault_slots (kind, label, kdf_params, backend, wrapped_dek, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
      )
      .get(kind, label, kdfParams, backend, wrapped, createdAt) as { id: number };
    return { id, kind, label, backend, created_at: createdAt };
  }

  #dekId(): string | null {
    return this.#meta(META_DEK_ID);
  }

  #meta(key: string): string | null {
    const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  #setMeta(key: string, value: string): void {
    this.#db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }
}

/** Throws INVALID_INPUT for options the vault would refuse, before anything touches the disk. */
export function assertVaultOptions(options: VaultOptions): void {
  if (options.kdf !== undefined) {
    checkedScryptCost(options.kdf, options.allowWeakKdfInTests === true && isUnderTestRunner());
  }
}

function slotInfo(row: SlotRow): VaultSlotInfo {
  return { id: row.id, kind: row.kind, label: row.label, backend: row.backend, created_at: row.created_at };
}

/** True under `node --test`, whether it runs files in child processes or in-process. */
function isUnderTestRunner(): boolean {
  return process.env.NODE_TEST_CONTEXT !== undefined || process.execArgv.includes('--test');
}

function checkedScryptCost(cost: ScryptCost, allowWeak: boolean): ScryptCost {
  const { N, r, p } = cost;
  const valid =
    Number.isInteger(N) &&
    N >= 2 &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    scryptMemory(cost) <= MAX_SCRYPT_MEMORY;
  if (!valid) {
    throw new CastellanError(
      'INVALID_INPUT',
      `scrypt cost N=${N}, r=${r}, p=${p} is not valid (N a power of two, r 1–32, p 1–16, at most 1 GiB)`,
    );
  }
  const belowFloor = N < SCRYPT_COST_FLOOR.N || r < SCRYPT_COST_FLOOR.r || p < SCRYPT_COST_FLOOR.p;
  if (belowFloor && !allowWeak) {
    const f = SCRYPT_COST_FLOOR;
    throw new CastellanError(
      'INVALID_INPUT',
      `scrypt cost N=${N}, r=${r}, p=${p} is below the floor for a vault that guards CA keys (N=${f.N}, r=${f.r}, p=${f.p})`,
    );
  }
  return { N, r, p };
}

function scryptMemory(cost: ScryptCost): number {
  return 128 * cost.N * cost.r * cost.p;
}

function newPassphrase(passphrase: string): string {
  if (typeof passphrase !== 'string' || passphrase === '') {
    throw new CastellanError('INVALID_INPUT', 'a passphrase is required');
  }
  // NFC so the same passphrase typed on macOS (which may produce NFD) and elsewhere derives the same key.
  const normalized = passphrase.normalize('NFC');
  const length = [...normalized].length;
  if (length < MIN_PASSPHRASE_LENGTH) {
    throw new CastellanError('INVALID_INPUT', `the passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  if (length > MAX_PASSPHRASE_LENGTH) {
    throw new CastellanError('INVALID_INPUT', `the passphrase must be at most ${MAX_PASSPHRASE_LENGTH} characters`);
  }
  return normalized;
}

/** The OS user as a slot label, or "passphrase" when the name cannot be one (empty, too long, control characters). */
function defaultAdminLabel(user: string | undefined): string {
  try {
    return slotLabel(user, 'passphrase');
  } catch {
    return 'passphrase';
  }
}

function slotLabel(label: string | undefined, fallback: string): string {
  if (label === undefined) return fallback;
  if (typeof label !== 'string' || label.trim() === '') {
    throw new CastellanError('INVALID_INPUT', 'a vault slot label must not be empty');
  }
  const trimmed = label.trim();
  if (trimmed.length > MAX_LABEL_LENGTH || /\p{Cc}/u.test(trimmed)) {
    throw new CastellanError('INVALID_INPUT', `a vault slot label is at most ${MAX_LABEL_LENGTH} printable characters`);
  }
  return trimmed;
}

function sealLabel(aad: string): string {
  if (typeof aad !== 'string' || aad === '') {
    throw new CastellanError('INTERNAL', 'sealed data needs a non-empty label naming what it is');
  }
  return aad;
}

function dekCheck(dek: Buffer, label: string = DEK_CHECK_LABEL): string {
  return createHmac('sha256', dek).update(label).digest('hex');
}

function checkEquals(stored: string | null, computed: string): boolean {
  const expected = Buffer.from(stored ?? '', 'hex');
  const actual = Buffer.from(computed, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function slotAad(dekId: string): string {
  return `vault_slot:${dekId}`;
}

function deriveKek(passphrase: string, salt: Buffer, cost: ScryptCost): Buffer {
  return scryptSync(passphrase, salt, DEK_BYTES, {
    N: cost.N,
    r: cost.r,
    p: cost.p,
    // Node's default 32 MiB ceiling is below what N=2^17, r=8 needs.
    maxmem: 2 * scryptMemory(cost) + 1024 * 1024,
  });
}

/**
 * The asynchronous `crypto.scrypt` runs on libuv's threadpool: the calling thread's event loop
 * stays free for the ~0.3–1 s a default-cost derivation takes.
 */
function deriveKekAsync(passphrase: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      salt,
      DEK_BYTES,
      { N: cost.N, r: cost.r, p: cost.p, maxmem: 2 * scryptMemory(cost) + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function kdfParamsJson(salt: Buffer, cost: ScryptCost): string {
  const params: KdfParams = {
    alg: 'scrypt',
    N: cost.N,
    r: cost.r,
    p: cost.p,
    salt: salt.toString('base64'),
    keylen: DEK_BYTES,
  };
  return JSON.stringify(params);
}

function reauthFailed(): CastellanError {
  return new CastellanError('BAD_REQUEST', 're-authentication failed: wrong passphrase (or keychain slot)');
}

function wrapWithPassphrase(
  dek: Buffer,
  passphrase: string,
  dekId: string,
  cost: ScryptCost,
): { blob: Uint8Array; kdfParams: string } {
  const salt = randomBytes(SALT_BYTES);
  const kek = deriveKek(passphrase, salt, cost);
  try {
    return { blob: aesGcmSeal(kek, dek, slotAad(dekId)), kdfParams: kdfParamsJson(salt, cost) };
  } finally {
    kek.fill(0);
  }
}

/** The DEK, or null if this passphrase does not open this slot. */
function unwrapWithPassphrase(slot: SlotRow, passphrase: string, dekId: string): Buffer | null {
  const params = storedKdfParams(slot);
  const kek = deriveKek(passphrase, Buffer.from(params.salt, 'base64'), params);
  try {
    return aesGcmOpen(kek, slot.wrapped_dek, slotAad(dekId));
  } finally {
    kek.fill(0);
  }
}

/** `wrapWithPassphrase` with scrypt on libuv's threadpool. */
async function wrapWithPassphraseAsync(
  dek: Buffer,
  passphrase: string,
  dekId: string,
  cost: ScryptCost,
): Promise<{ blob: Uint8Array; kdfParams: string }> {
  const salt = randomBytes(SALT_BYTES);
  const kek = await deriveKekAsync(passphrase, salt, cost);
  try {
    return { blob: aesGcmSeal(kek, dek, slotAad(dekId)), kdfParams: kdfParamsJson(salt, cost) };
  } finally {
    kek.fill(0);
  }
}

/** `unwrapWithPassphrase` with scrypt on libuv's threadpool. */
async function unwrapWithPassphraseAsync(slot: SlotRow, passphrase: string, dekId: string): Promise<Buffer | null> {
  const params = storedKdfParams(slot);
  const kek = await deriveKekAsync(passphrase, Buffer.from(params.salt, 'base64'), params);
  try {
    return aesGcmOpen(kek, slot.wrapped_dek, slotAad(dekId));
  } finally {
    kek.fill(0);
  }
}

function storedKdfParams(slot: SlotRow): KdfParams {
  let parsed: unknown;
  try {
    parsed = JSON.parse(slot.kdf_params ?? '');
  } catch {
    parsed = null;
  }
  const p = parsed as Partial<KdfParams> | null;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    p.alg === 'scrypt' &&
    p.keylen === DEK_BYTES &&
    typeof p.salt === 'string' &&
    typeof p.N === 'number' &&
    typeof p.r === 'number' &&
    typeof p.p === 'number';
  if (!ok) {
    throw new CastellanError('INTEGRITY', `vault slot ${slot.id} has unreadable key-derivation parameters`);
  }
  try {
    // Stored costs were checked against the floor when the slot was made; here only sanity matters.
    checkedScryptCost({ N: p.N!, r: p.r!, p: p.p! }, true);
  } catch {
    throw new CastellanError('INTEGRITY', `vault slot ${slot.id} has out-of-range key-derivation parameters`);
  }
  return p as KdfParams;
}

function aesGcmSeal(key: Buffer, plaintext: Uint8Array, aad: string): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(SEAL_VERSION), iv, body, cipher.getAuthTag()]);
}

/** The plaintext, or null if the blob is malformed, altered, or not sealed for `aad` under `key`. */
function aesGcmOpen(key: Buffer, blob: Uint8Array, aad: string): Buffer | null {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== SEAL_VERSION) return null;
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(body);
    try {
      return Buffer.concat([plaintext, decipher.final()]);
    } finally {
      plaintext.fill(0);
    }
  } catch {
    return null;
  }
}

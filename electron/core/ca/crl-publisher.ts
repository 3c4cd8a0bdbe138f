/**
 * The worker CA's published CRL, as stored in the workspace. The latest signed CRL lives in
 * `ca_crl` (one row) so an export is a read, never a signature; its number is also kept in
 * `meta.crl_number`, the counter every new CRL increments.
 *
 * A CRL is signed outside the write transaction (buildCrl is async) and committed only if
 * the counter still holds the value it was built from. Every change to the set of revoked
 * certificates issues a new CRL, so "same counter" means "same revoked set": a concurrent
 * writer (the app and the CLI share a workspace) makes the commit fail with StaleCrl and the
 * caller rebuilds. Nothing here touches the vault; callers hand in the CA material.
 */
import { createHash } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';
import { DEFAULT_SETTINGS } from '../../../shared/ipc/contract/settings.ts';
import { buildCrl, revocationReasons } from './crl.ts';
import type { RevocationReason, RevokedEntry } from './crl.ts';
import type { Workspace } from '../workspace/workspace.ts';

export const CRL_NUMBER_META_KEY = 'crl_number';
/**
 * SHA-256 of the revoked set the stored CRL was built from (authenticated with the CRL state,
 * record-integrity.ts). Every change to the set issues a new CRL, so the next CRL must start from
 * exactly this set: a revocation undone in the file (to drop a certificate from the next CRL) is
 * refused instead of silently published.
 */
export const CRL_REVOKED_DIGEST_META_KEY = 'crl_revoked_sha256';
const DAY_MS = 86_400_000;
/** Commit attempts before a revocation gives up on a workspace other processes keep changing. */
const MAX_ATTEMPTS = 5;

export interface StoredCrl {
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** How many certificates it lists. */
  entries: number;
  der: Uint8Array;
}

/** A CRL signed and ready to commit. */
export interface PreparedCrl extends StoredCrl {
  /** The counter it was built from; the commit refuses if the workspace moved on. */
  previous: bigint;
  /** revokedSetDigest of what it lists. */
  revokedSha256: string;
}

/** SHA-256 over the entries in CRL order (revocation time, then serial). */
function revokedSetDigest(entries: readonly RevokedEntry[]): string {
  const hash = createHash('sha256');
  for (const e of entries) hash.update(`${e.serialHex}|${e.revokedAt.toISOString()}|${e.reason}\n`);
  return hash.digest('hex');
}

/** Why the revoked certificates are not exactly those the last CRL was built from, or null. */
export function revokedSetMismatch(ws: Workspace, revoked: readonly RevokedEntry[] = revokedEntries(ws)): string | null {
  const row = ws.db.prepare('SELECT value FROM meta WHERE key = ?').get(CRL_REVOKED_DIGEST_META_KEY) as
    { value: string } | undefined;
  // A workspace whose last CRL predates the digest: the next CRL records one.
  if (row === undefined || row.value === revokedSetDigest(revoked)) return null;
  return `the revoked certificates no longer match those CRL #${currentCrlNumber(ws)} was built from: a revocation was undone or added outside Castellan`;
}

function assertRevokedSetUnchanged(ws: Workspace, revoked: readonly RevokedEntry[]): void {
  const why = revokedSetMismatch(ws, revoked);
  if (why !== null) throw new CastellanError('INTEGRITY', `${why}; Castellan will not sign a CRL from them`);
}

export interface CrlTiming {
  now?: Date;
  /** nextUpdate − thisUpdate in days (the `crl_validity_days` setting): 1–365. */
  validityDays?: number;
}

/** The commit found the counter changed under it: rebuild from the new state and try again. */
export class StaleCrl extends Error {
  constructor() {
    super('the CRL number changed while the CRL was being signed');
    this.name = 'StaleCrl';
  }
}

export function isRevocationReason(value: unknown): value is RevocationReason {
  return typeof value === 'string' && (revocationReasons as readonly string[]).includes(value);
}

function checkedValidityDays(days: number | undefined): number {
  const value = days ?? DEFAULT_SETTINGS.crl_validity_days;
  if (!Number.isInteger(value) || value < 1 || value > 365) {
    throw new CastellanError('INVALID_INPUT', `a CRL validity of ${String(value)} days is invalid: use 1 to 365`);
  }
  return value;
}

/** The last CRL number issued (0 before the first CRL). */
export function currentCrlNumber(ws: Workspace): bigint {
  const row = ws.db.prepare('SELECT value FROM meta WHERE key = ?').get(CRL_NUMBER_META_KEY) as
    { value: string } | undefined;
  if (row === undefined) return 0n;
  if (!/^\d{1,49}$/.test(row.value)) {
    throw new CastellanError('INTEGRITY', `meta.${CRL_NUMBER_META_KEY} is not a CRL number; the database was altered`);
  }
  return BigInt(row.value);
}

export function readStoredCrl(ws: Workspace): StoredCrl | null {
  const row = ws.db
    .prepare('SELECT crl_number, this_update, next_update, entries, crl_der FROM ca_crl WHERE id = 1')
    .get() as
    { crl_number: string; this_update: string; next_update: string; entries: number; crl_der: Uint8Array } | undefined;
  if (row === undefined) return null;
  return {
    crlNumber: BigInt(row.crl_number),
    thisUpdate: new Date(row.this_update),
    nextUpdate: new Date(row.next_update),
    entries: row.entries,
    der: new Uint8Array(row.crl_der),
  };
}

/** True when there is no stored CRL or its nextUpdate has passed: it must be re-signed. */
export function crlIsStale(crl: StoredCrl | null, now: Date = new Date()): boolean {
  return crl === null || crl.nextUpdate.getTime() <= now.getTime();
}

type RevokedRow = [serial: string, revokedAt: string, reason: string | null];

/**
 * Every revoked certificate, oldest revocation first, in one scan of the covering index
 * `certificates_crl`. Rows come back as arrays where Node supports it (22.16+): at 100,000
 * rows that is several times faster than an object per row.
 */
function revokedEntries(ws: Workspace): RevokedEntry[] {
  const statement = ws.db.prepare(
    'SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial',
  );
  let rows: RevokedRow[];
  if (typeof statement.setReturnArrays === 'function') {
    statement.setReturnArrays(true);
    rows = statement.all() as unknown as RevokedRow[];
  } else {
    rows = (statement.all() as { serial: string; revoked_at: string; revocation_reason: string | null }[]).map(
      (r): RevokedRow => [r.serial, r.revoked_at, r.revocation_reason],
    );
  }
  const revoked: RevokedEntry[] = new Array<RevokedEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    revoked[i] = {
      serialHex: row[0],
      revokedAt: new Date(row[1]),
      reason: (row[2] ?? 'unspecified') as RevocationReason,
    };
  }
  return revoked;
}

/**
 * Sign the next CRL: every revoked certificate in the workspace (one SELECT), plus `pending`
 * (a revocation about to be committed with it).
 */
export async function prepareCrl(
  ws: Workspace,
  ca: { certDer: Uint8Array; keyPkcs8Der: Uint8Array },
  options: CrlTiming & { pending?: RevokedEntry } = {},
): Promise<PreparedCrl> {
  const validityDays = checkedValidityDays(options.validityDays);
  const nowMs = (options.now ?? new Date()).getTime();
  // Whole seconds: that is all the encoding keeps, and the stored times then match the DER.
  const thisUpdate = new Date(Math.floor(nowMs / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + validityDays * DAY_MS);
  ws.integrity.assert('crl', 'build the next CRL from it');
  const previous = currentCrlNumber(ws);
  const revoked = revokedEntries(ws);
  assertRevokedSetUnchanged(ws, revoked);
  if (options.pending) {
    // Kept in the table's order (time, then serial), so the digest matches the set once committed.
    const p = options.pending;
    const key = (e: RevokedEntry): string => `${e.revokedAt.toISOString()}|${e.serialHex}`;
    let at = revoked.length;
    while (at > 0 && key(revoked[at - 1]!) > key(p)) at -= 1;
    revoked.splice(at, 0, p);
  }
  const crlNumber = previous + 1n;
  const der = await buildCrl({
    caCertDer: ca.certDer,
    caKeyPkcs8Der: ca.keyPkcs8Der,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revoked,
  });
  return { crlNumber, previous, thisUpdate, nextUpdate, entries: revoked.length, der, revokedSha256: revokedSetDigest(revoked) };
}

/** Store a prepared CRL; call inside the transaction that makes the change it reflects. */
export function commitCrl(ws: Workspace, crl: PreparedCrl): void {
  if (!ws.db.isTransaction) throw new CastellanError('INTERNAL', 'commitCrl must run inside a workspace transaction');
  if (currentCrlNumber(ws) !== crl.previous) throw new StaleCrl();
  ws.db
    .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    .run(CRL_NUMBER_META_KEY, crl.crlNumber.toString());
  ws.db
    .prepare(
      `INSERT INTO ca_crl (id, crl_number, this_update, next_update, entries, crl_der) VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update,
         next_update = excluded.next_update, entries = excluded.entries, crl_der = excluded.crl_der`,
    )
    .run(crl.crlNumber.toString(), crl.thisUpdate.toISOString(), crl.nextUpdate.toISOString(), crl.entries, crl.der);
  ws.db
    .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    .run(CRL_REVOKED_DIGEST_META_KEY, crl.revokedSha256);
  ws.integrity.seal('crl');
}

/**
 * Run `attempt` (prepare a CRL, then commit it in a transaction) until its commit is not
 * stale. Gives up with CONFLICT if other writers keep revoking in between.
 */
export async function withCrlRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StaleCrl)) throw err;
    }
  }
  throw new CastellanError(
    'CONFLICT',
    'another Castellan process kept revoking certificates while this CRL was being signed; try again',
  );
}

/**
 * Moving a workspace between engines (issue 14, point 4): `castellan migrate --to postgres://…`
 * copies a solo workspace into PostgreSQL (team mode), `--to FOLDER` copies one back into the
 * embedded file. Either direction (and file → file, server → server) is the same code.
 *
 * What it does, in order:
 * 1. Re-authenticates the admin on the source with the passphrase (a dangerous operation: the
 *    copy carries every sealed key). A wrong passphrase is audited and throttled on the source
 *    like any failed re-authentication; the target is not even opened.
 * 2. Signs one probe token in memory with each active signing key of the source (never written
 *    anywhere: not to the ledger, not to the log).
 * 3. Refuses a target that holds any row at all — audit entries, vault slots, keys, tokens,
 *    settings — with CONFLICT, before opening it as a workspace (so nothing in it changes, not
 *    even its schema version), and again inside the copy's transaction (another process may have
 *    written meanwhile).
 * 4. Copies every table of the source, row for row and byte for byte, parents before children
 *    (foreign keys), in ONE transaction on the target, read from one consistent snapshot of the
 *    source (SQLite: a read transaction; PostgreSQL: REPEATABLE READ READ ONLY), which does not
 *    hold the source's write lock. Everything Castellan keeps is engine-neutral text, integers and
 *    bytes: the audit hash chain, the entry MACs and sealed head (`meta`), the record MACs, the
 *    vault slots (the wrapped data key: the same passphrases open the copy) and the sealed keys.
 *    On PostgreSQL the identity sequences (tokens.id, vault_slots.id) are moved past the copied
 *    ids, so the next token gets the next number.
 * 5. Verifies the copy inside that same transaction, before it commits: every table's row count
 *    and an order-independent digest of its rows equal the source's; the vault unlocks with the
 *    passphrase; `audit verify` (chain, MACs, sealed head, every record MAC, the CRL and revocation
 *    records) passes; every signing key and the CA key unseal and match their public halves; each
 *    probe token verifies against the target's JWKS (zlayer HS256: its sealed HMAC key).
 * 6. Appends `workspace.migrated` to the target's log — after the copied chain — in the same
 *    transaction, and then to the source's log.
 *
 * If anything fails, the copy is ROLLED BACK, not left half-verified for inspection: a workspace
 * whose keys do not open, or whose log does not verify, must never become someone's authority by
 * accident. The error says exactly what differed; the source is unchanged, and the target is as
 * empty as it was (a castellan.db this run created is removed again; on PostgreSQL the empty
 * schema Castellan created stays, and a later migrate can use it).
 *
 * The target is a postgres:// URL, or a folder (created 0700 if missing) whose castellan.db does
 * not exist or holds no rows. A path ending in `castellan.db` names its folder, so both
 * `--to ~/ws` and `--to ~/ws/castellan.db` work; any other existing file is refused.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue, type SQLOutputValue } from 'node:sqlite';
import { CastellanError, isCastellanError } from '../../../shared/errors.ts';
import { CA_KEY_AAD } from '../ca/ca-store.ts';
import { openCa } from '../ca/worker-ca.ts';
import { dialectFor, type Dialect } from '../storage/dialect.ts';
import { isPostgresUrl, requirePostgresUrl } from '../storage/open.ts';
import { PgSyncDatabase } from '../storage/pg-sync.ts';
import { describePostgresUrl } from '../storage/postgres-engine.ts';
import type { SqlDatabase, SqlRow } from '../storage/sql-database.ts';
import { asymmetricClaims, zlayerClaims } from '../tokens/claims.ts';
import { inspectToken, type KeyRecord } from '../tokens/inspect.ts';
import { createVerifyKey, PROFILE_ALG, PROFILES, type Profile, type PublicJwk } from '../tokens/key-material.ts';
import {
  activeSigner,
  getTokenConfig,
  keyUnsealProblems,
  nowSecs,
  retireSpentKeys,
  verifyKeys,
  workspaceJwks,
} from '../tokens/signing-keys.ts';
import { verifyWorkspace } from './record-integrity.ts';
import { DB_FILE_NAME, Workspace, type WorkspaceOptions } from './workspace.ts';

export type MigrationTarget = { database: string } | { dir: string };

export interface MigrateOptions {
  /** The admin's passphrase: re-authenticates on the source, unlocks the copy. */
  passphrase: string;
  /** Passed to the target's Workspace.open (tests keep scrypt cheap with these). */
  workspace?: Pick<WorkspaceOptions, 'kdf' | 'allowWeakKdfInTests' | 'keychain'>;
}

export interface MigratedTable {
  table: string;
  rows: number;
}

export interface MigrationResult {
  from: { engine: 'sqlite' | 'postgres'; where: string };
  to: { engine: 'sqlite' | 'postgres'; where: string };
  /** Every table copied, parents first, with its row count (equal on both sides). */
  tables: MigratedTable[];
  /** The copied log: its entry count and head (the target's own entry follows it). */
  audit: { entries: number; head_seq: number; head_hash: string };
  verified: {
    /** Entries in the target's log after the copy, its `workspace.migrated` entry included. */
    audit_entries: number;
    signing_keys: number;
    ca: boolean;
    /** The in-memory probe tokens that verified against the target, one per active key. */
    probes: { profile: Profile; key_id: string }[];
  };
  /** The seq of the `workspace.migrated` entry on each side (null if the source's could not be written). */
  target_entry_seq: number;
  source_entry_seq: number | null;
  /** Set when the copy succeeded but the source's own entry could not be appended. */
  source_entry_problem: string | null;
}

/** Rows read from the source per query, and the most bound parameters one INSERT carries. */
const READ_PAGE_ROWS = 2000;
const MAX_INSERT_PARAMS = 10_000;
const MAX_INSERT_ROWS = 500;
const DIGEST_MODULUS = 1n << 256n;

/**
 * What `--to VALUE` means: a postgres:// URL, or a folder (a path ending in castellan.db names its
 * folder). Never puts the value into a message: a URL may carry a password.
 */
export function parseMigrationTarget(value: string): MigrationTarget {
  const v = typeof value === 'string' ? value.trim() : '';
  if (v === '') {
    throw new CastellanError('INVALID_INPUT', 'a target is required: a postgres:// URL or a workspace folder');
  }
  if (isPostgresUrl(v)) return { database: requirePostgresUrl(v) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `unsupported target scheme "${v.split(':')[0]}": use a postgres:// URL or a workspace folder`,
    );
  }
  const resolved = path.resolve(v);
  if (path.basename(resolved) === DB_FILE_NAME) return { dir: path.dirname(resolved) };
  const stat = fs.statSync(resolved, { throwIfNoEntry: false });
  if (stat !== undefined && !stat.isDirectory()) {
    throw new CastellanError(
      'INVALID_INPUT',
      `${resolved} is a file; the target is a workspace folder (Castellan writes ${DB_FILE_NAME} in it) or a path ending in ${DB_FILE_NAME}`,
    );
  }
  return { dir: resolved };
}

/** How a target is named in messages and the audit log (never a password). */
export function describeMigrationTarget(target: MigrationTarget): string {
  return 'database' in target ? describePostgresUrl(target.database) : path.join(target.dir, DB_FILE_NAME);
}

/**
 * Copies the open workspace `source` into `target` and verifies the copy (see the top of this
 * file). CONFLICT when the target holds anything, BAD_REQUEST for a wrong passphrase, UNAVAILABLE
 * when the server cannot be reached, INTEGRITY naming what differs when the copy does not verify.
 */
export async function migrateWorkspace(
  source: Workspace,
  target: MigrationTarget | string,
  options: MigrateOptions,
): Promise<MigrationResult> {
  const to = typeof target === 'string' ? parseMigrationTarget(target) : checkedTarget(target);
  if (typeof options?.passphrase !== 'string' || options.passphrase === '') {
    throw new CastellanError('INVALID_INPUT', 're-authentication is required: give the workspace passphrase');
  }
  if (!source.vault.status().initialized) {
    throw new CastellanError('LOCKED', 'the workspace has no vault yet; there is nothing to migrate (castellan init)');
  }
  if (source.db.isTransaction) {
    throw new CastellanError('INTERNAL', 'migrateWorkspace must not run inside a workspace transaction');
  }
  // 1. The admin proves the passphrase now, even with the vault already open.
  if (source.vault.unlocked) await source.vault.reauthenticate({ passphrase: options.passphrase });
  else await source.vault.unlockWithPassphraseAsync(options.passphrase);

  // Keys that retire themselves would do so on the target at its first JWKS: do it here first, so
  // the two sides hold the same key states.
  const now = nowSecs();
  retireSpentKeys(source, now);
  // 2. Probe tokens, signed in memory by the source's active keys.
  const probes = probeTokens(source, now);

  // 3. Refuse a target holding anything before opening it as a workspace (which could migrate it).
  const toWhere = describeMigrationTarget(to);
  const created = prepareTarget(to, toWhere);
  let targetWs: Workspace | null = null;
  let committed = false;
  try {
    targetWs = Workspace.open('database' in to ? source.dir : to.dir, {
      actor: source.actor,
      ...options.workspace,
      ...('database' in to ? { database: to.database } : {}),
    });
    const t = targetWs;
    if (!('database' in to) && path.resolve(t.dbPath) === path.resolve(source.dbPath)) {
      throw new CastellanError('CONFLICT', `${toWhere} is the workspace being migrated`);
    }
    const copied = copyAndVerify(source, t, toWhere, options.passphrase, probes, now);
    committed = true;
    // After the commit, read back: the chain as another process will now see it.
    const after = t.audit.verify();
    if (!after.ok) {
      throw new CastellanError(
        'INTEGRITY',
        `the copy in ${toWhere} was committed, but its audit chain no longer verifies when read back (entry ${after.brokenAt}: ${after.reason}); do not use it`,
      );
    }
    // 6. The source's own record of where it went.
    let sourceSeq: number | null = null;
    let sourceProblem: string | null = null;
    try {
      sourceSeq = source.transaction(
        () =>
          source.audit.append({
            action: 'workspace.migrated',
            target: 'workspace',
            details: {
              direction: 'out',
              to: toWhere,
              to_engine: t.engine.name,
              copied_entries: copied.audit.entries,
              copied_head: copied.audit.head_hash,
              tables: copied.tables.map((x) => ({ table: x.table, rows: x.rows })),
            },
          }).seq,
      );
    } catch (err) {
      sourceProblem = err instanceof Error ? err.message : String(err);
    }
    return {
      ...copied,
      from: { engine: source.engine.name, where: source.engine.where },
      to: { engine: t.engine.name, where: toWhere },
      verified: { ...copied.verified, audit_entries: after.count },
      source_entry_seq: sourceSeq,
      source_entry_problem: sourceProblem,
    };
  } finally {
    targetWs?.close();
    if (!committed) removeCreated(created);
  }
}

function checkedTarget(target: MigrationTarget): MigrationTarget {
  if (target !== null && typeof target === 'object') {
    if ('database' in target && typeof target.database === 'string') {
      return {
        database: requirePostgresUrl(target.database, 'the target database must be a postgres:// URL (a folder is given as { dir })'),
      };
    }
    if ('dir' in target && typeof target.dir === 'string' && target.dir.trim() !== '') {
      return parseMigrationTarget(target.dir);
    }
  }
  throw new CastellanError('INVALID_INPUT', 'the target is { database: "postgres://…" } or { dir: FOLDER }');
}

// ---------------------------------------------------------------------------
// The target before it is opened

interface Created {
  dir: string | null;
  files: string[];
}

/**
 * Refuses a target that holds rows (nothing in it is changed), and notes what this run is about
 * to create so a failed run can remove it again.
 */
function prepareTarget(to: MigrationTarget, where: string): Created {
  if ('database' in to) {
    const db = PgSyncDatabase.open(to.database);
    try {
      refuseRows(db, 'postgres', where);
    } finally {
      db.close();
    }
    return { dir: null, files: [] };
  }
  const dbPath = path.join(to.dir, DB_FILE_NAME);
  const dirStat = fs.statSync(to.dir, { throwIfNoEntry: false });
  const fileStat = fs.statSync(dbPath, { throwIfNoEntry: false });
  if (fileStat !== undefined && fileStat.size > 0) {
    let db: DatabaseSync | null = null;
    try {
      db = new DatabaseSync(dbPath, { readOnly: true, timeout: 5000 });
    } catch {
      // Not readable as SQLite: Workspace.open names the problem (not a database, truncated...).
      db = null;
    }
    if (db !== null) {
      try {
        refuseRows(db, 'sqlite', where);
      } finally {
        db.close();
      }
    }
  }
  const files = fileStat === undefined ? [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`] : [];
  if (dirStat !== undefined) return { dir: null, files };
  // The folder (and any missing parents) will be made: a failed run removes the topmost one it made.
  let top = to.dir;
  while (path.dirname(top) !== top && !fs.existsSync(path.dirname(top))) top = path.dirname(top);
  return { dir: top, files };
}

function removeCreated(created: Created): void {
  try {
    if (created.dir !== null) fs.rmSync(created.dir, { recursive: true, force: true });
    else for (const f of created.files) fs.rmSync(f, { force: true });
  } catch {
    // Best effort: an empty castellan.db left behind is refused by nothing and holds nothing.
  }
}

/** CONFLICT naming what the target already holds, if it holds any row in any table. */
function refuseRows(db: SqlDatabase, engine: Engine, where: string): void {
  const held: string[] = [];
  for (const table of catalogNames(db, engine, 'tables')) {
    // Any table counts, Castellan's or not (so quoted as written, not checked as one of ours).
    const n = Number((db.prepare(`SELECT count(*) AS n FROM "${table.replace(/"/g, '""')}"`).get() as { n: number | bigint }).n);
    if (n > 0) held.push(`${table}: ${n}`);
  }
  if (held.length > 0) {
    throw new CastellanError(
      'CONFLICT',
      `${where} is not empty (${held.join(', ')} row(s)); migrate only into a new database or folder, so nothing is overwritten or merged`,
    );
  }
}

// ---------------------------------------------------------------------------
// Probe tokens

interface Probe {
  profile: Profile;
  keyId: string;
  token: string;
}

function probeTokens(source: Workspace, now: number): Probe[] {
  const active = source.db.prepare("SELECT profile FROM signing_keys WHERE state = 'active'").all() as { profile: Profile }[];
  const config = getTokenConfig(source);
  const probes: Probe[] = [];
  for (const profile of PROFILES) {
    if (!active.some((r) => r.profile === profile)) continue;
    const { key, signer } = activeSigner(source, profile);
    const base = { service: 'castellan-migrate', container: 'probe', scopes: [], ttlSecs: 300, now };
    const claims =
      profile === 'zlayer'
        ? zlayerClaims(base)
        : asymmetricClaims({ ...base, issuer: config.issuer, audience: config.audience, deployment: 'castellan-migrate' });
    probes.push({ profile, keyId: key.id, token: signer.sign(claims) });
  }
  return probes;
}

/** Verifies a probe against the target: asymmetric keys from its published JWKS, zlayer from its sealed secret. */
function probeProblem(target: Workspace, probe: Probe, jwks: PublicJwk[], now: number): string | null {
  const rows = new Map(
    (target.db.prepare('SELECT id, kid, state, profile, compromised FROM signing_keys').all() as {
      id: string;
      kid: string | null;
      state: KeyRecord['state'];
      profile: Profile;
      compromised: number;
    }[]).map((r) => [r.kid, r]),
  );
  const { issuer, audience } = getTokenConfig(target);
  const result = inspectToken(probe.token, {
    now,
    issuer,
    audience,
    findKeyByKid(kid) {
      const jwk = jwks.find((k) => k.kid === kid);
      const row = rows.get(kid);
      if (jwk === undefined || row === undefined || row.profile === 'zlayer') return null;
      return {
        id: row.id,
        profile: row.profile,
        alg: PROFILE_ALG[row.profile],
        state: row.state,
        kid,
        compromised: row.compromised !== 0,
        verify: createVerifyKey(row.profile, jwk),
      };
    },
    hmacKeys: () => verifyKeys(target).hmacKeys(),
    ledgerBySha256: () => null,
    ledgerByJti: () => null,
  });
  if (result.verdict === 'not_issued_here' && result.keyId === probe.keyId) return null;
  const where = probe.profile === 'zlayer' ? 'with its zlayer (HMAC) key' : 'against its JWKS';
  return `a ${probe.profile} token signed by the source's active key ${probe.keyId} does not verify on the target ${where}: ${result.verdict} (${result.reason})`;
}

// ---------------------------------------------------------------------------
// Copy and verify

type Engine = 'sqlite' | 'postgres';

interface TableShape {
  name: string;
  columns: string[];
  /** The single-column primary key rows are paged by, or null (read whole). */
  pageKey: string | null;
}

function copyAndVerify(
  source: Workspace,
  target: Workspace,
  toWhere: string,
  passphrase: string,
  probes: Probe[],
  now: number,
): Omit<MigrationResult, 'from' | 'to' | 'source_entry_seq' | 'source_entry_problem'> {
  const src = source.db;
  const dst = target.db;
  // One consistent snapshot of the source, without its write lock: others may keep working.
  src.exec(source.engine.dialect.beginSnapshot);
  try {
    const tables = orderedShapes(src, source.engine.name);
    return target.transaction(() => {
      // Again under the target's write lock: someone may have written since it was checked.
      refuseRows(dst, target.engine.name, toWhere);
      assertSameShape(tables, dst, target.engine.name, toWhere);

      // 4. Copy, table by table, parents first.
      const copied: (MigratedTable & { digest: bigint })[] = [];
      for (const shape of tables) copied.push({ table: shape.name, ...copyTable(src, dst, shape) });
      if (target.engine.name === 'postgres') advanceIdentities(dst);

      // 5. Verify.
      const differences: string[] = [];
      for (const [i, shape] of tables.entries()) {
        const want = copied[i]!;
        const got = { rows: countRows(dst, shape.name), digest: tableDigest(dst, shape) };
        if (got.rows !== want.rows) {
          differences.push(`${shape.name}: ${want.rows} row(s) in the source, ${got.rows} in the copy`);
        } else if (got.digest !== want.digest) {
          differences.push(`${shape.name}: the same ${want.rows} row(s) counted, but their contents differ from the source's`);
        }
      }
      if (differences.length > 0) fail(toWhere, differences);

      try {
        target.vault.unlockWithPassphrase(passphrase);
      } catch (err) {
        fail(toWhere, [`the vault does not unlock with the passphrase: ${messageOf(err)}`]);
      }
      const verification = verifyWorkspace(target);
      if (!verification.ok) {
        const where = verification.brokenAt === null ? '' : ` at entry ${verification.brokenAt}`;
        fail(toWhere, [`audit verify fails${where}: ${verification.reason ?? 'unknown'}`]);
      }
      const keyProblems = keyUnsealProblems(target);
      if (keyProblems.length > 0) fail(toWhere, keyProblems);
      const signingKeys = countRows(dst, 'signing_keys');
      const ca = caProblem(target);
      if (ca.problem !== null) fail(toWhere, [ca.problem]);
      let jwks: PublicJwk[];
      try {
        jwks = workspaceJwks(target, now).keys;
      } catch (err) {
        fail(toWhere, [`its JWKS cannot be published: ${messageOf(err)}`]);
      }
      const probeProblems = probes.map((p) => probeProblem(target, p, jwks, now)).filter((p) => p !== null);
      if (probeProblems.length > 0) fail(toWhere, probeProblems);

      const head = (dst.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; hash: string }
        | undefined) ?? { seq: 0, hash: '0'.repeat(64) };
      const auditRows = copied.find((c) => c.table === 'audit')?.rows ?? 0;
      const tableCounts = copied.map((c) => ({ table: c.table, rows: c.rows }));
      // 6. The target's log says where it came from, right after the copied chain.
      const entry = target.audit.append({
        action: 'workspace.migrated',
        target: 'workspace',
        details: {
          direction: 'in',
          from: source.engine.where,
          from_engine: source.engine.name,
          copied_entries: auditRows,
          copied_head: head.hash,
          tables: tableCounts,
          verified: ['row counts and digests', 'audit chain and records', 'vault', 'signing keys', ...(ca.present ? ['CA key'] : []), 'probe tokens'],
        },
      });
      return {
        tables: tableCounts,
        audit: { entries: auditRows, head_seq: head.seq, head_hash: head.hash },
        verified: {
          audit_entries: auditRows + 1,
          signing_keys: signingKeys,
          ca: ca.present,
          probes: probes.map((p) => ({ profile: p.profile, key_id: p.keyId })),
        },
        target_entry_seq: entry.seq,
      };
    });
  } finally {
    if (src.isTransaction) src.exec('ROLLBACK');
  }
}

function fail(toWhere: string, differences: string[]): never {
  throw new CastellanError(
    'INTEGRITY',
    `the copy into ${toWhere} did not verify, so it was rolled back (the target is empty again, the source unchanged): ${differences.join('; ')}`,
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The CA key unseals with the target's vault and matches the CA certificate. */
function caProblem(target: Workspace): { present: boolean; problem: string | null } {
  const row = target.db.prepare('SELECT cert_der, sealed_key FROM ca WHERE id = 1').get() as
    | { cert_der: Uint8Array; sealed_key: Uint8Array }
    | undefined;
  if (row === undefined) return { present: false, problem: null };
  let key: Uint8Array;
  try {
    key = target.vault.unseal(row.sealed_key, CA_KEY_AAD);
  } catch (err) {
    return { present: true, problem: `the CA key does not unseal: ${messageOf(err)}` };
  }
  try {
    openCa(row.cert_der, key);
    return { present: true, problem: null };
  } catch (err) {
    return { present: true, problem: `the CA key unseals but cannot sign: ${messageOf(err)}` };
  } finally {
    key.fill(0);
  }
}

// ---------------------------------------------------------------------------
// Tables, read through each engine's catalog

function ident(name: string): string {
  // Only plain lowercase identifiers (every Castellan table and column) reach SQL text.
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new CastellanError('UNSUPPORTED', `the workspace has a table or column named ${JSON.stringify(name.slice(0, 64))}, which migrate does not copy`);
  }
  return `"${name}"`;
}

/** Names from the engine's catalog (dialect.ts `catalog`): tables, or a table's columns, key or parents. */
function catalogNames(db: SqlDatabase, engine: Engine, what: keyof Dialect['catalog'], table?: string): string[] {
  const st = db.prepare(dialectFor(engine).catalog[what]);
  return (table === undefined ? st.all() : st.all(table)).map((r) => String(r.name));
}

/** The source's tables, parents before the tables whose foreign keys point at them. */
function orderedShapes(db: SqlDatabase, engine: Engine): TableShape[] {
  const names = catalogNames(db, engine, 'tables');
  const parents = new Map(names.map((n) => [n, catalogNames(db, engine, 'parents', n).filter((p) => p !== n)]));
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (ordered.length < names.length) {
    const ready = names.filter((n) => !placed.has(n) && parents.get(n)!.every((p) => placed.has(p) || !names.includes(p)));
    if (ready.length === 0) {
      throw new CastellanError('UNSUPPORTED', 'the workspace tables reference each other in a cycle; migrate cannot order them');
    }
    for (const n of ready) {
      placed.add(n);
      ordered.push(n);
    }
  }
  return ordered.map((name) => {
    const pk = catalogNames(db, engine, 'primaryKey', name);
    const columns = catalogNames(db, engine, 'columns', name);
    columns.forEach(ident);
    ident(name);
    return { name, columns, pageKey: pk.length === 1 ? pk[0]! : null };
  });
}

/** Both sides must be the same schema: same tables, same columns (both were opened by this build). */
function assertSameShape(tables: TableShape[], db: SqlDatabase, engine: Engine, where: string): void {
  const theirs = new Set(catalogNames(db, engine, 'tables'));
  const problems: string[] = [];
  for (const t of tables) {
    if (!theirs.has(t.name)) {
      problems.push(`it has no table ${t.name}`);
      continue;
    }
    const cols = new Set(catalogNames(db, engine, 'columns', t.name));
    const missing = t.columns.filter((c) => !cols.has(c));
    if (missing.length > 0) problems.push(`its table ${t.name} lacks column(s) ${missing.join(', ')}`);
  }
  const ours = new Set(tables.map((t) => t.name));
  for (const name of theirs) if (!ours.has(name)) problems.push(`it has a table ${name} the source does not`);
  if (problems.length > 0) {
    throw new CastellanError(
      'UNSUPPORTED',
      `${where} does not have the source's schema (${problems.join('; ')}); both sides must be opened by the same Castellan version`,
    );
  }
}

function countRows(db: SqlDatabase, table: string): number {
  return Number((db.prepare(`SELECT count(*) AS n FROM ${ident(table)}`).get() as { n: number | bigint }).n);
}

/** The rows of a table, a page at a time by its primary key where it has a single-column one. */
function* readRows(db: SqlDatabase, shape: TableShape): Generator<SqlRow> {
  const cols = shape.columns.map(ident).join(', ');
  if (shape.pageKey === null) {
    yield* db.prepare(`SELECT ${cols} FROM ${ident(shape.name)}`).all();
    return;
  }
  const key = ident(shape.pageKey);
  const first = db.prepare(`SELECT ${cols} FROM ${ident(shape.name)} ORDER BY ${key} LIMIT ${READ_PAGE_ROWS}`);
  const next = db.prepare(`SELECT ${cols} FROM ${ident(shape.name)} WHERE ${key} > ? ORDER BY ${key} LIMIT ${READ_PAGE_ROWS}`);
  let page = first.all();
  while (page.length > 0) {
    yield* page;
    if (page.length < READ_PAGE_ROWS) return;
    page = next.all(page[page.length - 1]![shape.pageKey] as SQLInputValue);
  }
}

function copyTable(src: SqlDatabase, dst: SqlDatabase, shape: TableShape): { rows: number; digest: bigint } {
  const perRow = shape.columns.length;
  const batch = Math.max(1, Math.min(MAX_INSERT_ROWS, Math.floor(MAX_INSERT_PARAMS / perRow)));
  const cols = shape.columns.map(ident).join(', ');
  const tuple = `(${shape.columns.map(() => '?').join(', ')})`;
  const insertOf = (n: number) =>
    dst.prepare(`INSERT INTO ${ident(shape.name)} (${cols}) VALUES ${Array.from({ length: n }, () => tuple).join(', ')}`);
  const full = insertOf(batch);
  let pending: SQLInputValue[] = [];
  let pendingRows = 0;
  let rows = 0;
  let digest = 0n;
  const flush = () => {
    if (pendingRows === 0) return;
    try {
      (pendingRows === batch ? full : insertOf(pendingRows)).run(...pending);
    } catch (err) {
      // The driver's message names the constraint or the value's type, never the row's contents.
      throw new CastellanError('INTEGRITY', `copying table ${shape.name} failed: ${isCastellanError(err) ? err.message : messageOf(err).slice(0, 200)}`);
    }
    pending = [];
    pendingRows = 0;
  };
  for (const row of readRows(src, shape)) {
    for (const c of shape.columns) pending.push(row[c] as SQLInputValue);
    pendingRows += 1;
    rows += 1;
    digest = (digest + rowDigest(shape.columns, row)) % DIGEST_MODULUS;
    if (pendingRows === batch) flush();
  }
  flush();
  return { rows, digest };
}

function tableDigest(db: SqlDatabase, shape: TableShape): bigint {
  let digest = 0n;
  for (const row of readRows(db, shape)) digest = (digest + rowDigest(shape.columns, row)) % DIGEST_MODULUS;
  return digest;
}

/**
 * SHA-256 of one row's values, typed (so 1 and '1' differ), as a number. Summed over a table mod
 * 2^256 it is independent of row order, which differs between the engines for text keys.
 */
function rowDigest(columns: string[], row: SqlRow): bigint {
  const h = createHash('sha256');
  for (const c of columns) {
    const v: SQLOutputValue = row[c] ?? null;
    if (v === null) h.update('n;');
    else if (typeof v === 'number' || typeof v === 'bigint') h.update(`i${v};`);
    else if (typeof v === 'string') h.update(`s${Buffer.byteLength(v)}:`).update(v, 'utf8');
    else h.update(`b${v.byteLength}:`).update(v);
  }
  return BigInt(`0x${h.digest('hex')}`);
}

/** PostgreSQL identity columns given explicit ids: the next generated id follows the largest copied. */
function advanceIdentities(db: SqlDatabase): void {
  const identities = db
    .prepare(
      "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .all() as { t: string; c: string }[];
  for (const { t, c } of identities) {
    db.prepare(
      `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(${ident(c)}), 0) + 1, false) AS v FROM ${ident(t)}`,
    ).get(t, c);
  }
}

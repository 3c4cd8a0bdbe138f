/**
 * A workspace is one folder holding `castellan.db`: the SQLite database with
 * every deployment, key, token, certificate and audit entry. The app and the
 * CLI may open the same workspace at once; WAL mode and a busy timeout let
 * them take turns writing.
 *
 * In team mode (`database: 'postgres://…'`) the same records live in a PostgreSQL database that
 * several admins' consoles, CLIs and `castellan serve` replicas share (storage/pg-sync.ts); the
 * folder then holds nothing of the authority. Every write transaction takes the audit-head lock
 * first, so transactions serialize across machines as BEGIN IMMEDIATE serializes them on one file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PG_SCHEMA_SQL, postgresDialect, sqliteDialect } from '../storage/dialect.ts';
import { requirePostgresUrl } from '../storage/open.ts';
import { PgSyncDatabase } from '../storage/pg-sync.ts';
import { POSTGRES_MIGRATIONS } from '../storage/postgres-schema.ts';
import type { EngineInfo, SqlDatabase, SqlStatement } from '../storage/sql-database.ts';
import { CastellanError, isCastellanError } from '../../../shared/errors.ts';
import { assertActor, currentHostName } from './actor.ts';
import { DATABASE_ENV } from './database-choice.ts';
import type { Actor } from './actor.ts';
import { Audit } from './audit.ts';
import { RecordIntegrity } from './record-integrity.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './schema.ts';
import { assertVaultOptions, Vault } from './vault.ts';
import type { KeychainBackend, ScryptCost } from './vault.ts';

export const DB_FILE_NAME = 'castellan.db';
export const BUSY_TIMEOUT_MS = 5000;

/*
 * Checkpoint policy. SQLite's automatic checkpoint runs inside whichever COMMIT pushes the WAL past
 * 1000 pages: in a 1,000,000-row ledger that made one revoke in ~100 take 10-15 ms instead of ~1 ms.
 * So the automatic checkpoint is off on our connection and checkpoints run where nobody waits:
 * - IDLE: a PASSIVE checkpoint shortly after the last commit, once the event loop is free again
 *   (the app between IPC requests, the CLI between commands). PASSIVE never waits for readers or
 *   writers, so another process is never held up.
 * - BOUND: if commits come back to back with no idle moment (a script, a long batch loop) and the
 *   WAL file grows past WAL_CHECKPOINT_BYTES, the commit that crossed it checkpoints (PASSIVE), as
 *   SQLite would have, so the WAL cannot grow without bound.
 * - CLOSE: a TRUNCATE checkpoint (without waiting on other processes) leaves an empty WAL.
 * After a complete checkpoint the next commit restarts the WAL from its start and truncates the
 * file to WAL_SIZE_LIMIT_BYTES (journal_size_limit), so one large batch does not leave a large
 * file behind. The price: while commits come back to back the WAL only grows, and an fsync that
 * extends a file is slower than one that overwrites (~0.2-0.4 ms per commit here). Durability is
 * unchanged: each COMMIT is fsynced to the WAL (synchronous = FULL), and
 * SQLite replays the WAL on the next open after a crash, whenever the last checkpoint ran.
 */
/** Idle time after the last commit before the PASSIVE checkpoint. */
export const CHECKPOINT_IDLE_MS = 250;
/** WAL size at which a commit checkpoints itself (~16,000 pages of 4 KiB). */
export const WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** What the WAL file is cut back to when it restarts after a checkpoint. */
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;
/** The page cache of our connection, in KiB. */
const CACHE_KIB = 64 * 1024;

export interface WorkspaceOptions {
  actor: Actor;
  keychain?: KeychainBackend;
  /** Passed to the vault; tests use these to keep scrypt cheap. */
  kdf?: ScryptCost;
  allowWeakKdfInTests?: boolean;
  /**
   * A postgres:// URL: the workspace lives in that shared database (team mode) instead of
   * `castellan.db` in the folder. Undefined: the embedded file.
   */
  database?: string;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const SQLITE_HEADER_BYTES = 100;
// SQLite primary result codes that mean the file itself is bad.
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;
const SQLITE_BUSY = 5;

export class Workspace {
  readonly dir: string;
  readonly dbPath: string;
  readonly db: SqlDatabase;
  /** SQLite (the embedded file) or PostgreSQL (team mode), and where their SQL differs. */
  readonly engine: EngineInfo;
  readonly actor: Actor;
  readonly audit: Audit;
  readonly vault: Vault;
  /** MACs of the audit log and the key/CA/CRL/settings records (record-integrity.ts). */
  readonly integrity: RecordIntegrity;
  #depth = 0;
  #savepoints = 0;
  #closed = false;
  #walPath: string;
  #checkpointTimer: NodeJS.Timeout | null = null;
  #stampStatement: SqlStatement | undefined;

  private constructor(dir: string, dbPath: string, db: SqlDatabase, engine: EngineInfo, opts: WorkspaceOptions) {
    this.dir = dir;
    this.dbPath = dbPath;
    this.db = db;
    this.engine = engine;
    this.#walPath = `${dbPath}-wal`;
    // Every entry names the machine, also for callers that built the actor by hand.
    this.actor = { user: opts.actor.user, kind: opts.actor.kind, host: opts.actor.host ?? currentHostName() };
    this.audit = new Audit(db, this.actor, engine.dialect);
    const vaultOptions: ConstructorParameters<typeof Vault>[1] = {};
    if (opts.keychain !== undefined) vaultOptions.keychain = opts.keychain;
    if (opts.kdf !== undefined) vaultOptions.kdf = opts.kdf;
    if (opts.allowWeakKdfInTests !== undefined) vaultOptions.allowWeakKdfInTests = opts.allowWeakKdfInTests;
    this.vault = new Vault(
      { db, audit: this.audit, transaction: (fn) => this.transaction(fn), source: this.actor.kind, defaultAdmin: this.actor.user },
      vaultOptions,
    );
    this.audit.useAdmin(() => this.vault.admin);
    this.integrity = new RecordIntegrity({
      db,
      vault: this.vault,
      audit: this.audit,
      transaction: (fn) => this.transaction(fn),
    });
  }

  /** Opens (creating if needed) the workspace in `dir` and brings its schema up to date. */
  static open(dir: string, opts: WorkspaceOptions): Workspace {
    assertActor(opts?.actor);
    if (typeof dir !== 'string' || dir.trim() === '') {
      throw new CastellanError('INVALID_INPUT', 'a workspace folder is required');
    }
    assertVaultOptions(opts);
    const absDir = path.resolve(dir);
    if (opts.database !== undefined) return Workspace.#openPostgres(absDir, opts.database, opts);
    ensurePrivateDir(absDir);
    const dbPath = path.join(absDir, DB_FILE_NAME);
    createPrivateFile(dbPath);
    assertLooksLikeSqlite(dbPath);

    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(dbPath, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Read the version before anything writes: a newer database must stay exactly as it was.
      assertKnownSchema(db);
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA foreign_keys = ON');
      // FULL, not NORMAL: in WAL mode NORMAL can lose the last commits on power loss, and a
      // lost token or certificate record means a credential is out in the world that we can
      // no longer list or revoke. One fsync per admin action costs nothing noticeable here.
      db.exec('PRAGMA synchronous = FULL');
      // A ceiling, not an allocation (pages are cached as they are read): SQLite's default of
      // 2 MB holds a few of the token table's ~25 indexes, so a batch of 10,000 tokens reread
      // and spilled index pages mid-transaction; 64 MB made each minted token ~25 % cheaper.
      db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
      // See "Checkpoint policy" above.
      db.exec('PRAGMA wal_autocheckpoint = 0');
      db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      const ws = new Workspace(absDir, dbPath, db, { name: 'sqlite', dialect: sqliteDialect, where: dbPath }, opts);
      ws.#migrate();
      refreshPlannerStatistics(db);
      return ws;
    } catch (err) {
      if (db?.isOpen) db.close();
      throw asOpenError(err, dbPath);
    }
  }

  static #openPostgres(absDir: string, url: string, opts: WorkspaceOptions): Workspace {
    const db = PgSyncDatabase.open(
      requirePostgresUrl(url, 'the database must be a postgres:// URL (or left out for the embedded file)'),
    );
    try {
      const ws = new Workspace(absDir, '', db, { name: 'postgres', dialect: postgresDialect, where: db.where }, opts);
      ws.#migratePostgres(db.where);
      return ws;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * The embedded engine's own handle, for what only SQLite has (its online backup API). Team
   * mode has no file to copy: PostgreSQL's own tools (pg_dump) back it up.
   */
  sqliteHandle(what: string): DatabaseSync {
    if (!(this.db instanceof DatabaseSync)) {
      throw new CastellanError(
        'UNSUPPORTED',
        `${what} works on the embedded workspace file; this workspace is in PostgreSQL (${this.engine.where}): use pg_dump / pg_restore (README, "Team mode")`,
      );
    }
    return this.db;
  }

  /**
   * PostgreSQL: a number that moves when another session may have committed a change (its NOTIFY)
   * or the listener reconnected, read without a round trip; null on SQLite (poll instead).
   */
  changeSignal(): number | null {
    return this.db instanceof PgSyncDatabase ? this.db.changeSignal() : null;
  }

  /** True when the workspace lives in PostgreSQL (team mode). */
  get shared(): boolean {
    return this.engine.name === 'postgres';
  }

  /**
   * A value that moves whenever anything may have changed in the database, by this process or
   * another: SQLite's data_version (other connections' commits) with total_changes() (this
   * one's writes); on PostgreSQL the server's transaction snapshot, which moves whenever a
   * writing transaction anywhere on the server begins or ends. Caches keyed by it are re-read
   * when it moves (never too late; on a busy PostgreSQL server, sometimes needlessly).
   */
  changeStamp(): string {
    this.#stampStatement ??= this.db.prepare(
      this.shared
        ? 'SELECT pg_current_snapshot()::text AS s'
        : "SELECT total_changes() || ':' || (SELECT data_version FROM pragma_data_version) AS s",
    );
    return (this.#stampStatement.get() as { s: string }).s;
  }

  /**
   * Runs `fn` atomically. The outermost call takes the write lock up front
   * (BEGIN IMMEDIATE) so a concurrent writer waits instead of failing mid-way;
   * nested calls become savepoints, so an inner failure the caller catches
   * undoes only the inner work. Any throw rolls back and is rethrown.
   */
  transaction<T>(fn: () => T): T {
    this.#assertOpen();
    if (this.#depth === 0) {
      try {
        this.db.exec(this.#begin);
      } catch (err) {
        throw asBusyError(err);
      }
      this.#depth = 1;
      // The audit log keeps its head in memory for this transaction and writes it at commit.
      this.audit.transactionBegan();
      let committed = false;
      try {
        const result = notAPromise(fn());
        const head = this.shared ? this.audit.uncommittedHead() : null;
        this.audit.beforeCommit();
        // Delivered to every listening console when (and only if) this transaction commits.
        if (head !== null) this.db.prepare("SELECT pg_notify('castellan_changes', ?)").get(String(head));
        this.db.exec('COMMIT');
        committed = true;
        return result;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.#depth = 0;
        this.audit.transactionEnded();
        if (committed) this.#afterCommit();
      }
    }
    const name = `castellan_sp_${++this.#savepoints}`;
    const auditMark = this.audit.mark();
    this.db.exec(`SAVEPOINT ${name}`);
    this.#depth += 1;
    try {
      const result = notAPromise(fn());
      this.db.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.isTransaction) {
        this.db.exec(`ROLLBACK TO ${name}`);
        this.db.exec(`RELEASE ${name}`);
      }
      // The entries appended since the savepoint are gone; so is the head they made.
      this.audit.rolledBackTo(auditMark);
      throw err;
    } finally {
      this.#depth -= 1;
    }
  }

  /**
   * Runs a PASSIVE checkpoint now (what the idle timer does). Returns false if it could not
   * copy every frame (another process was reading or writing); it never waits for them.
   */
  checkpoint(): boolean {
    this.#assertOpen();
    this.#cancelCheckpoint();
    return this.#checkpoint('PASSIVE');
  }

  /** Bytes in the WAL file (0 if there is none); it is cut back once checkpointed. */
  walFileBytes(): number {
    if (this.shared) return 0;
    return fs.statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
  }

  /** See "Checkpoint policy" at the top. Best effort: a failed checkpoint loses nothing. */
  #afterCommit(): void {
    if (this.shared) return;
    let walBytes = 0;
    try {
      walBytes = this.walFileBytes();
    } catch {
      // Cannot stat the WAL: leave it to the idle checkpoint; the commit itself has succeeded.
    }
    if (walBytes >= WAL_CHECKPOINT_BYTES) {
      this.#cancelCheckpoint();
      this.#checkpoint('PASSIVE');
      return;
    }
    this.#scheduleCheckpoint();
  }

  /** Debounced: a burst of commits is followed by one checkpoint, once the burst is over. */
  #scheduleCheckpoint(): void {
    this.#cancelCheckpoint();
    const timer = setTimeout(() => {
      this.#checkpointTimer = null;
      if (this.#closed || !this.db.isOpen) return;
      // Someone holds a transaction of their own across an await: try again later.
      if (this.db.isTransaction) this.#scheduleCheckpoint();
      else this.#checkpoint('PASSIVE');
    }, CHECKPOINT_IDLE_MS);
    // Never what keeps a CLI process alive; close() checkpoints anyway.
    timer.unref();
    this.#checkpointTimer = timer;
  }

  #cancelCheckpoint(): void {
    if (this.#checkpointTimer !== null) clearTimeout(this.#checkpointTimer);
    this.#checkpointTimer = null;
  }

  #checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): boolean {
    try {
      // TRUNCATE waits for readers through the busy handler; at close we would rather not wait.
      if (mode === 'TRUNCATE') this.db.exec('PRAGMA busy_timeout = 0');
      const r = this.db.prepare(`PRAGMA wal_checkpoint(${mode})`).get() as
        { busy: number; log: number; checkpointed: number } | undefined;
      return r !== undefined && r.busy === 0 && r.checkpointed === r.log;
    } catch {
      // SQLITE_BUSY or LOCKED from another process's checkpoint: the next one catches up.
      return false;
    } finally {
      if (mode === 'TRUNCATE') this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** Locks the vault (zeroing the key) and closes the database. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelCheckpoint();
    this.vault.lock();
    if (this.db.isOpen && this.shared) {
      this.db.close();
    } else if (this.db.isOpen) {
      // The last connection to close checkpoints and removes the WAL by itself; this covers the
      // case where another process still has the workspace open.
      if (!this.db.isTransaction) this.#checkpoint('TRUNCATE');
      this.db.close();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  #migrate(): void {
    for (const migration of MIGRATIONS) {
      if (userVersion(this.db) >= migration.version) continue;
      this.transaction(() => {
        // Another process may have migrated while we waited for the write lock.
        if (userVersion(this.db) >= migration.version) return;
        this.db.exec(migration.sql);
        this.db.exec(`PRAGMA user_version = ${migration.version}`);
      });
    }
  }

  /**
   * PostgreSQL: the migrations of storage/postgres-schema.ts, recorded in castellan_migrations,
   * under a session lock so two admins opening a new database at once migrate it once. A newer
   * schema, or a database holding tables that are not a Castellan workspace, is refused untouched.
   */
  #migratePostgres(where: string): void {
    const lock = postgresDialect.migrationLock as { lock: string; unlock: string };
    this.db.exec(lock.lock);
    try {
      const table = this.db.prepare(PG_SCHEMA_SQL.tableExists).get() as { t: string | null };
      const version =
        table.t === null ? 0 : (this.db.prepare(PG_SCHEMA_SQL.version).get() as { version: number }).version;
      refuseNewerSchema(version, where);
      if (version === 0) {
        const tables = this.db.prepare(PG_SCHEMA_SQL.otherTables).get() as { n: number };
        if (tables.n > 0) {
          throw new CastellanError(
            'INVALID_INPUT',
            `${where} already holds ${tables.n} table(s) that are not a Castellan workspace; use an empty database (or schema)`,
          );
        }
        this.db.exec(PG_SCHEMA_SQL.createTable);
      }
      for (const migration of POSTGRES_MIGRATIONS) {
        if (version >= migration.version) continue;
        this.transaction(() => {
          this.db.exec(migration.sql);
          this.db.prepare(PG_SCHEMA_SQL.record).run(migration.version, migration.name, new Date().toISOString());
        });
      }
    } finally {
      if (this.db.isOpen) this.db.exec(lock.unlock);
    }
  }

  get #begin(): string {
    const d = this.engine.dialect;
    return d.auditHeadLock === null ? d.begin : `${d.begin}; ${d.auditHeadLock}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new CastellanError('INTERNAL', 'this workspace has been closed');
  }
}

/**
 * The folder Electron's `app.getPath('userData')` gives for productName
 * "Castellan", plus `workspace`, so the CLI finds the app's data by default.
 */
export function defaultWorkspaceDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  if (platform === 'win32') {
    const appData = env.APPDATA || path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'Castellan', 'workspace');
  }
  if (platform === 'darwin') {
    return path.posix.join(home, 'Library', 'Application Support', 'Castellan', 'workspace');
  }
  // Chromium takes XDG_CONFIG_HOME verbatim when it is set and non-empty.
  const config = env.XDG_CONFIG_HOME || path.posix.join(home, '.config');
  return path.posix.join(config, 'Castellan', 'workspace');
}

/** `--data-dir` wins, then `CASTELLAN_DATA_DIR`, then the app's own folder. */
export function resolveWorkspaceDir(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  if (flag !== undefined && flag.trim() !== '') return path.resolve(flag);
  const fromEnv = env.CASTELLAN_DATA_DIR;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return path.resolve(fromEnv);
  return defaultWorkspaceDir(env, platform, home);
}

/**
 * Team mode's database: `--database`, then CASTELLAN_DATABASE_URL; undefined means the folder's
 * embedded file. Only postgres:// URLs are accepted (a SQLite file is chosen with --data-dir).
 */
export function resolveDatabase(flag?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = flag?.trim() || env[DATABASE_ENV]?.trim() || undefined;
  if (value === undefined) return undefined;
  return requirePostgresUrl(
    value,
    `${flag?.trim() ? '--database' : DATABASE_ENV} must be a postgres:// URL (the embedded file is chosen with --data-dir)`,
  );
}

function ensurePrivateDir(dir: string): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, dir);
  }
  if (stat !== undefined) {
    if (!stat.isDirectory()) {
      throw new CastellanError('INVALID_INPUT', `${dir} is not a folder, so it cannot hold a workspace`);
    }
    refuseSharedWritable(dir, stat);
    return;
  }
  try {
    // Holds sealed keys and token records: only the owner may list or read it.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fsError(err, dir);
  }
}

/**
 * Whoever can write the workspace folder can swap castellan.db for a file of their own, so a
 * folder writable by its group or by others is refused, with the command that fixes it. (POSIX
 * modes only: Windows ACLs are not read here.)
 */
export function refuseSharedWritable(dir: string, stat: fs.Stats, platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32' || (stat.mode & 0o022) === 0) return;
  const who = (stat.mode & 0o002) !== 0 ? ((stat.mode & 0o020) !== 0 ? 'its group and by others' : 'others') : 'its group';
  const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
  throw new CastellanError(
    'INVALID_INPUT',
    `the workspace folder ${dir} is writable by ${who} (mode ${mode}), so they could replace its database; ` +
      `make it private with: chmod go-w ${JSON.stringify(dir)} (or chmod 700)`,
  );
}

function createPrivateFile(file: string): void {
  // SQLite gives -wal and -shm the same mode as the database, so 0600 here covers all three.
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, file);
  }
}

/** Rejects garbage and truncation before SQLite touches the file (and before WAL files appear). */
function assertLooksLikeSqlite(file: string): void {
  const size = fs.statSync(file).size;
  if (size === 0) return; // SQLite treats an empty file as a new database.
  const header = Buffer.alloc(SQLITE_HEADER_BYTES);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, SQLITE_HEADER_BYTES, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (size < SQLITE_HEADER_BYTES || !header.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER)) {
    throw notADatabase(file);
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pageCount = header.readUInt32BE(28);
  // The in-header size is trustworthy only when its "valid-for" counter matches the change counter.
  const sizeIsValid = header.readUInt32BE(92) === header.readUInt32BE(24);
  if (sizeIsValid && pageCount > 0 && size < pageCount * pageSize) {
    throw new CastellanError(
      'INTEGRITY',
      `${file} is truncated (${size} bytes; its header says ${pageCount * pageSize}); restore it from a backup`,
    );
  }
}

/**
 * SQLite's advice for long-lived connections: refresh planner statistics where they are
 * missing or stale, so the 1,000,000-row token table picks the right index. Bounded work,
 * and best effort: if another process holds the write lock, skip it rather than wait.
 */
function refreshPlannerStatistics(db: SqlDatabase): void {
  try {
    db.exec('PRAGMA busy_timeout = 0');
    db.exec('PRAGMA analysis_limit = 1000');
    db.exec('PRAGMA optimize = 0x10002');
  } catch {
    // Statistics only tune query plans; a workspace without fresh ones is still correct.
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

function assertKnownSchema(db: SqlDatabase): void {
  refuseNewerSchema(userVersion(db), DB_FILE_NAME);
}

/** A database a newer Castellan wrote is refused, and left exactly as it is. */
function refuseNewerSchema(version: number, what: string): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new CastellanError(
      'UNSUPPORTED',
      `${what} was written by a newer Castellan (schema ${version}; this build knows up to ${LATEST_SCHEMA_VERSION})`,
    );
  }
}

function userVersion(db: SqlDatabase): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
}

function notAPromise<T>(result: T): T {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    // The transaction would commit before the awaited work ran.
    throw new CastellanError('INTERNAL', 'a workspace transaction body must be synchronous');
  }
  return result;
}

function notADatabase(file: string): CastellanError {
  return new CastellanError(
    'INTEGRITY',
    `${file} is not a Castellan workspace database (not a SQLite file, or truncated or corrupt); restore it from a backup or move it aside`,
  );
}

function sqliteErrcode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  // Extended result codes carry the primary code in the low byte.
  return typeof code === 'number' ? code & 0xff : undefined;
}

function asOpenError(err: unknown, file: string): unknown {
  if (isCastellanError(err)) return err;
  const code = sqliteErrcode(err);
  if (code === SQLITE_NOTADB || code === SQLITE_CORRUPT) return notADatabase(file);
  if (code === SQLITE_BUSY) return asBusyError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new CastellanError('INTERNAL', `could not open ${file}: ${message}`);
}

function asBusyError(err: unknown): unknown {
  if (sqliteErrcode(err) !== SQLITE_BUSY) return err;
  return new CastellanError(
    'CONFLICT',
    `the workspace is busy: another Castellan process held the write lock for over ${BUSY_TIMEOUT_MS / 1000} s; try again`,
  );
}

function fsError(err: unknown, file: string): CastellanError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new CastellanError('INVALID_INPUT', `no permission to use ${file}`);
  }
  if (e.code === 'ENOTDIR') {
    return new CastellanError('INVALID_INPUT', `${file} lies under something that is not a folder`);
  }
  return new CastellanError('INTERNAL', `could not prepare ${file}: ${e.message}`);
}

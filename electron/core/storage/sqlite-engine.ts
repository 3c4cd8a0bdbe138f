/**
 * The embedded engine: one workspace file through Node's built-in node:sqlite (the default; zero
 * set-up). One connection per process: DatabaseSync is synchronous, so a second connection in
 * the same thread waiting on SQLite's busy handler would block the thread that must finish the
 * first one's transaction. Concurrency inside a process is Kysely's connection mutex (a
 * transaction holds the connection from BEGIN IMMEDIATE to COMMIT); between processes it is
 * SQLite's write lock, waited for up to the busy timeout.
 */
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { MIGRATIONS, type Migration } from '../workspace/schema.ts';
import { sqliteDialect } from './dialect.ts';
import { KyselyPort, type EngineDriver, type Phase } from './kysely-port.ts';
import { nodeSqliteDatabase } from './node-sqlite-kysely.ts';
import { StorageError, isStorageError, type StoragePort } from './port.ts';
import type { StorageTables } from './tables.ts';

export interface SqliteStorageOptions {
  /** The database file (created when missing). */
  path: string;
  /** How long a write waits for another process's transaction. */
  busyTimeoutMs?: number;
  /** The schema to migrate to (the workspace's, by default). */
  migrations?: readonly Migration[];
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openSqliteStorage(options: SqliteStorageOptions): StoragePort {
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = new DatabaseSync(options.path, { timeout, enableForeignKeyConstraints: true });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: a lost token record is a credential in the world we can no longer list or revoke.
    db.exec('PRAGMA synchronous = FULL');
  } catch (err) {
    db.close();
    throw new StorageError('unavailable', `cannot open ${options.path} as a SQLite database: ${messageOf(err)}`, {
      cause: err,
    });
  }
  const kysely = new Kysely<StorageTables>({ dialect: new SqliteDialect({ database: nodeSqliteDatabase(db) }) });
  const driver: EngineDriver = {
    engine: 'sqlite',
    dialect: sqliteDialect,
    kysely,
    migrations: options.migrations ?? MIGRATIONS,
    // The caller holds Kysely's only connection, so the file's one DatabaseSync is ours.
    execScript: async (_conn, script) => {
      db.exec(script);
    },
    mapError: (err, phase) => mapSqliteError(err, phase, options.path),
    rollbackQuietly: async () => {
      try {
        if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // Nothing to undo.
      }
    },
  };
  return new KyselyPort(driver);
}

function mapSqliteError(err: unknown, phase: Phase, file: string): unknown {
  if (isStorageError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  // node:sqlite's own wording: the same code also comes from Buffer and friends in caller code.
  if (code === 'ERR_OUT_OF_RANGE' && /too large to be represented as a JavaScript number/.test(messageOf(err))) {
    return new StorageError(
      'out-of-range',
      `a stored integer is outside the range Castellan can read exactly (±2^53): ${messageOf(err)}`,
      { cause: err },
    );
  }
  const message = messageOf(err);
  if (phase === 'connect' && /database is locked|SQLITE_BUSY/i.test(message)) {
    return new StorageError(
      'unavailable',
      `${file} is busy: another process held its write lock past the timeout; nothing was changed`,
      { cause: err },
    );
  }
  return err;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

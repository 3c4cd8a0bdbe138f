/**
 * The team engine: PostgreSQL 15 or later through `pg` (pure JavaScript), selected by a
 * postgres:// URL. The URL goes to `pg` as written, so its libpq-style options work: `host=` a
 * Unix socket folder, `sslmode=` (disable, prefer, require, verify-ca, verify-full), `sslrootcert=`,
 * `application_name=`, `options=-c search_path=...`.
 *
 * BIGINT (int8, what COUNT(*) and our integer columns return) is parsed as a JavaScript number,
 * refusing a value beyond ±2^53 rather than rounding it; NUMERIC stays text.
 */
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import type { Migration } from '../workspace/schema.ts';
import { postgresDialect } from './dialect.ts';
import { KyselyPort, type EngineDriver, type Phase } from './kysely-port.ts';
import { StorageError, isStorageError, type StoragePort } from './port.ts';
import { POSTGRES_MIGRATIONS } from './postgres-schema.ts';
import { statement } from './statement.ts';
import type { StorageTables } from './tables.ts';

export interface PostgresStorageOptions {
  /** postgres://user:password@host:port/database?sslmode=...&host=/socket/folder */
  url: string;
  /** Connections in the pool (each concurrent transaction holds one). */
  maxConnections?: number;
  /** How long to wait for a connection before saying the database is unavailable. */
  connectTimeoutMs?: number;
  migrations?: readonly Migration[];
}

const INT8_OID = 20;
const MIN_SERVER_VERSION = 150000;

/** int8 text → number, refusing what a double cannot hold exactly. */
export function parseBigintColumn(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new StorageError(
      'out-of-range',
      `a BIGINT value (${text}) is outside the range Castellan can read exactly (±2^53)`,
    );
  }
  return n;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseBigintColumn
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** "database castellan on /run/socket" — for messages: never the user name or password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    const host = u.searchParams.get('host') ?? (u.hostname || 'localhost');
    return `database ${database} on ${host}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'the PostgreSQL database';
  }
}

export async function openPostgresStorage(options: PostgresStorageOptions): Promise<StoragePort> {
  const where = describePostgresUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'castellan',
    types: typeParsers,
  });
  // A connection that dies while idle in the pool, or between two statements of a transaction,
  // is reported by the next query on it; without these listeners `pg` would throw it at the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<StorageTables>({ dialect: new PostgresDialect({ pool }) });
  const driver: EngineDriver = {
    engine: 'postgres',
    dialect: postgresDialect,
    kysely,
    migrations: options.migrations ?? POSTGRES_MIGRATIONS,
    // No parameters: `pg` uses the simple protocol, which runs several statements in one call.
    execScript: async (conn, script) => {
      await conn.executeQuery(CompiledQuery.raw(script, []));
    },
    mapError: (err, phase) => mapPostgresError(err, phase, where),
    rollbackQuietly: async (conn) => {
      try {
        await conn.executeQuery(CompiledQuery.raw('ROLLBACK', []));
      } catch {
        // The connection is gone, and the server rolled the transaction back with it.
      }
    },
  };
  const port = new KyselyPort(driver);
  try {
    const row = await port.get<{ v: number }>(statement("SELECT current_setting('server_version_num')::int AS v"));
    if (row === undefined || row.v < MIN_SERVER_VERSION) {
      throw new StorageError(
        'unavailable',
        `${where} runs PostgreSQL ${row?.v ?? 'of an unknown version'}; Castellan needs 15 or later`,
      );
    }
  } catch (err) {
    await port.close().catch(() => {});
    if (isStorageError(err)) throw err;
    throw new StorageError('unavailable', `cannot connect to PostgreSQL (${where}): ${messageOf(err)}`, { cause: err });
  }
  return port;
}

/** Errors that mean no connection was made: nothing ran, nothing changed. */
const CONNECT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EACCES',
]);
/** Errors that mean an established connection broke. */
const BROKEN_ERRNOS = new Set(['ECONNRESET', 'EPIPE']);

/**
 * A system error from a socket (connect, read, write, DNS), not from, say, a file the caller's
 * own code failed to open inside a transaction: ENOENT means "no such socket" only here.
 */
function isSocketError(err: unknown): boolean {
  const syscall = (err as { syscall?: unknown } | null)?.syscall;
  return syscall === 'connect' || syscall === 'read' || syscall === 'write' || syscall === 'getaddrinfo';
}

/** A connection that could not be made (refused, no such socket, bad password, no TLS, ...). */
export function isConnectFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    (CONNECT_ERRNOS.has(code) && isSocketError(err)) ||
    code.startsWith('28') || // invalid_authorization_specification (bad password, no pg_hba entry)
    code === '3D000' || // the database does not exist
    code === '57P03' || // cannot_connect_now (starting up, shutting down)
    /timeout exceeded when trying to connect|does not support SSL|self[- ]signed certificate|certificate/i.test(message)
  );
}

/** A broken connection, as `pg` or the server reports it. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    isConnectFailure(err) ||
    (BROKEN_ERRNOS.has(code) && isSocketError(err)) ||
    code.startsWith('08') || // connection_exception
    code === '57P01' ||
    code === '57P02' || // terminated by an administrator, crash shutdown
    /Connection terminated|not queryable|connection error|Client was closed/i.test(message)
  );
}

/**
 * What an admin is told when PostgreSQL fails, by what became of the work; `where` comes from
 * describePostgresUrl (never a user name or password). Shared by this port and pg-sync.ts.
 */
export const postgresFailure = {
  unavailable: (where: string, why: string): string =>
    `cannot connect to PostgreSQL (${where}): ${why}; nothing was changed`,
  // Outside a transaction a statement commits by itself: a write's fate is unknown.
  lostStatement: (where: string, why: string): string =>
    `the connection to PostgreSQL (${where}) was lost during a statement: if it was a write, it may or may not have been applied (${why})`,
  lostCommit: (where: string, why: string): string =>
    `the connection to PostgreSQL (${where}) was lost while committing: the change may or may not have been applied; check before retrying (${why})`,
  lostTransaction: (where: string, why: string): string =>
    `the connection to PostgreSQL (${where}) was lost during the transaction: nothing in it was applied, and it can be retried (${why})`,
};

function mapPostgresError(err: unknown, phase: Phase, where: string): unknown {
  if (isStorageError(err)) return err;
  if (!isConnectionError(err)) return err;
  const why = messageOf(err);
  if (isConnectFailure(err)) phase = 'connect';
  switch (phase) {
    case 'connect':
      return new StorageError('unavailable', postgresFailure.unavailable(where, why), { cause: err });
    case 'statement':
      return new StorageError('commit-unknown', postgresFailure.lostStatement(where, why), { cause: err });
    case 'commit':
      return new StorageError('commit-unknown', postgresFailure.lostCommit(where, why), { cause: err });
    default:
      return new StorageError('connection-lost', postgresFailure.lostTransaction(where, why), { cause: err });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

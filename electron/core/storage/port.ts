/**
 * The storage port (issue 14): the one async interface the core talks to, whichever engine holds
 * the workspace. An engine (sqlite-engine.ts, postgres-engine.ts) implements it; the core never
 * sees `DatabaseSync` or `pg` directly.
 *
 * - Statements are written once in the common SQL both engines accept, with `?` placeholders
 *   (statement.ts), and run through a session: the port itself (one statement, autocommit) or a
 *   transaction.
 * - `transaction(fn)` runs `fn` atomically on one connection: committed when the promise it
 *   returns resolves, rolled back when it rejects (and the error rethrown). `savepoint(fn)` nests.
 * - The audit head is the serialization point of team mode: every transaction that appends to
 *   the audit log calls `lockAuditHead()` (or opens with `{ lockAuditHead: true }`) before it
 *   reads the head. On PostgreSQL that is a transaction-scoped advisory lock under READ COMMITTED
 *   (the issue measured 400/400 chained appends from four writers with it, 108/400 without); on
 *   SQLite the transaction already holds the database's write lock from BEGIN IMMEDIATE.
 * - The Kysely builder (`session.db`) compiles for the engine's dialect and runs on the same
 *   connection, for the queries that are easier to build than to write.
 */
import type { Kysely } from 'kysely';
import { CastellanError } from '../../../shared/errors.ts';
import type { Dialect } from './dialect.ts';
import type { Statement } from './statement.ts';
import type { StorageTables } from './tables.ts';

export type EngineName = 'sqlite' | 'postgres';

/** What a statement parameter may be, on both engines. */
export type SqlValue = string | number | null | Uint8Array;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface StorageSession {
  readonly engine: EngineName;
  readonly dialect: Dialect;
  /** A query builder that compiles for this engine and runs on this session's connection. */
  readonly db: Kysely<StorageTables>;
  all<R>(statement: Statement<R>, params?: readonly SqlValue[]): Promise<R[]>;
  get<R>(statement: Statement<R>, params?: readonly SqlValue[]): Promise<R | undefined>;
  run(statement: Statement<unknown>, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Runs a script of several statements without parameters (migrations, DDL). */
  exec(script: string): Promise<void>;
}

export interface StorageTransaction extends StorageSession {
  /**
   * Waits for, then holds until this transaction ends, the audit head: no other transaction
   * (in this process or another, on this database) can append to the audit log meanwhile.
   * Idempotent within a transaction.
   */
  lockAuditHead(): Promise<void>;
  /** Runs `fn` in a savepoint: a rejection undoes only `fn`'s work, and is rethrown. */
  savepoint<T>(fn: (tx: StorageTransaction) => Promise<T>): Promise<T>;
}

export interface TransactionOptions {
  /** Take the audit head lock first thing (the transaction will append to the audit log). */
  lockAuditHead?: boolean;
}

export interface StoragePort extends StorageSession {
  transaction<T>(fn: (tx: StorageTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** The schema version this database is at (0 for an empty one). */
  schemaVersion(): Promise<number>;
  /** Applies every migration the database lacks, each in its own transaction. */
  migrate(): Promise<{ from: number; to: number }>;
  /** Closes every connection; waits for none. Safe to call twice. */
  close(): Promise<void>;
  readonly closed: boolean;
}

export type StorageFailure =
  /** The connection broke before COMMIT was sent: nothing in the transaction was applied. */
  | 'connection-lost'
  /** The connection broke while COMMIT was in flight: the transaction may or may not be applied. */
  | 'commit-unknown'
  /** The database could not be reached or refused the connection. */
  | 'unavailable'
  /** A BIGINT outside JavaScript's safe integer range. */
  | 'out-of-range'
  /** The port was used in a way that would deadlock or escape a transaction. */
  | 'misuse'
  /** The database's schema is newer than this build, or not Castellan's. */
  | 'schema';

/**
 * A storage failure an admin can act on. Messages name the database (never its password) and
 * say whether the work was applied; the driver's own error is kept as `cause` for diagnostics.
 */
export class StorageError extends CastellanError {
  readonly failure: StorageFailure;
  constructor(failure: StorageFailure, message: string, options?: { cause?: unknown }) {
    super(failure === 'misuse' ? 'INTERNAL' : failure === 'schema' ? 'UNSUPPORTED' : 'INTERNAL', message);
    this.name = 'StorageError';
    this.failure = failure;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export function isStorageError(err: unknown, failure?: StorageFailure): err is StorageError {
  return err instanceof StorageError && (failure === undefined || err.failure === failure);
}

/**
 * The database handle the core talks to: the part of `node:sqlite`'s `DatabaseSync` the core
 * uses, so the embedded engine is `DatabaseSync` itself (no layer, no cost) and the team engine
 * (pg-sync.ts) is PostgreSQL behind the same calls.
 *
 * Synchronous on purpose. The core was written against `DatabaseSync`, and in the Electron app it
 * runs in a worker thread of its own (ipc/core-host.ts), so a statement that waits — on SQLite's
 * fsync or on a round trip to PostgreSQL — never holds up the window. The CLI and `castellan
 * serve` run the core on their own main thread, which has no window to hold up.
 */
import type { SQLInputValue, SQLOutputValue, StatementResultingChanges } from 'node:sqlite';
import type { Dialect } from './dialect.ts';

export type SqlRow = Record<string, SQLOutputValue>;

export interface SqlStatement {
  run(...params: SQLInputValue[]): StatementResultingChanges;
  get(...params: SQLInputValue[]): SqlRow | undefined;
  all(...params: SQLInputValue[]): SqlRow[];
  iterate(...params: SQLInputValue[]): Iterator<SqlRow> & Iterable<SqlRow>;
  /** SQLite only: 64-bit integers as bigint (PostgreSQL refuses a BIGINT beyond ±2^53 instead). */
  setReadBigInts?(enabled: boolean): void;
  /** SQLite only (Node 22.16+): rows as arrays. */
  setReturnArrays?(enabled: boolean): void;
}

export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  /** One or more statements without parameters. */
  exec(sql: string): void;
  readonly isOpen: boolean;
  readonly isTransaction: boolean;
  close(): void;
}

/** The engine behind a workspace, and where its SQL differs (dialect.ts). */
export interface EngineInfo {
  readonly name: 'sqlite' | 'postgres';
  readonly dialect: Dialect;
  /** What to call the database in messages: a file path, or "database x on host" (never a password). */
  readonly where: string;
}

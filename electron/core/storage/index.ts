/**
 * electron/core/storage — where the workspace's data lives, behind one async port (issue 14).
 *
 * The core talks to `StoragePort` (port.ts) and never to a driver: statements written once with
 * `?` placeholders (statement.ts), transactions with a callback, savepoints, and the audit-head
 * lock that serializes every audited transaction. Two engines implement it over Kysely
 * (kysely-port.ts): `sqlite` — the embedded default, one file through node:sqlite
 * (sqlite-engine.ts, with the Kysely adapter in node-sqlite-kysely.ts) — and `postgres` — team
 * mode through `pg` (postgres-engine.ts). Every SQL difference between them is in dialect.ts;
 * the PostgreSQL translation of the workspace schema is postgres-schema.ts, team mode's roles and
 * grants postgres-roles.ts; open.ts picks the engine from a URL or file path.
 * docs/postgres.md is the plan for moving the core onto it.
 */
export type {
  EngineName,
  RunResult,
  SqlValue,
  StorageFailure,
  StoragePort,
  StorageSession,
  StorageTransaction,
  TransactionOptions,
} from './port.ts';
export { StorageError, isStorageError } from './port.ts';
export { statement, type Statement } from './statement.ts';
export { dialectFor, likeContains, postgresDialect, sqliteDialect, type Dialect } from './dialect.ts';
export { openSqliteStorage, type SqliteStorageOptions } from './sqlite-engine.ts';
export { openPostgresStorage, describePostgresUrl, type PostgresStorageOptions } from './postgres-engine.ts';
export { POSTGRES_MIGRATIONS } from './postgres-schema.ts';
export { databaseFromEnvironment, isPostgresUrl, openStorage, parseStorageTarget, type StorageTarget } from './open.ts';
export type { StorageTables } from './tables.ts';
export { APP_ROLE_PRIVILEGES, teamGrantsSql } from './postgres-roles.ts';

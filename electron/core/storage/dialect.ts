/**
 * Every difference between the two engines' SQL, in one module (issue 14). The rest of the core
 * writes the SQL both accept (`ON CONFLICT ... DO UPDATE`, `RETURNING`, `?` placeholders) and asks
 * this module for the parts that differ:
 *
 * |                          | SQLite (node:sqlite)              | PostgreSQL (pg)                          |
 * |--------------------------|-----------------------------------|------------------------------------------|
 * | schema version           | PRAGMA user_version               | castellan_migrations table               |
 * | write transaction        | BEGIN IMMEDIATE                   | BEGIN ISOLATION LEVEL READ COMMITTED     |
 * | audit head serialization | (BEGIN IMMEDIATE holds the lock)  | pg_advisory_xact_lock(key)               |
 * | case-insensitive search  | LIKE (ASCII case-insensitive)     | ILIKE                                    |
 * | JSON members / arrays    | json_extract / json_each          | ->> / jsonb_array_elements               |
 * | append-only trigger      | RAISE(ABORT, ...)                 | plpgsql RAISE EXCEPTION (+ TRUNCATE)     |
 * | two-value max / min      | max(a, b) / min(a, b)             | GREATEST(a, b) / LEAST(a, b)             |
 * | catalog reads            | sqlite_master / pragma_table_info | information_schema / pg_catalog          |
 * | row order key            | rowid                             | the table's key column (id, seq)         |
 * | integer columns          | INTEGER (64-bit)                  | BIGINT, parsed as numbers (range-checked)|
 * | bytes                    | BLOB → Uint8Array                 | BYTEA → Buffer (a Uint8Array)            |
 */
import type { EngineName, StorageSession } from './port.ts';
import { statement } from './statement.ts';

/**
 * The advisory lock key every audited transaction takes on PostgreSQL: the first 8 bytes of
 * sha256("castellan.audit_head") as a signed 64-bit integer, so it cannot collide with another
 * application's small integer keys on a shared server. Written as text: it exceeds 2^53.
 */
export const AUDIT_HEAD_LOCK_KEY = '-5305565611990114320';
/** The lock that serializes migrations between processes opening one PostgreSQL database: sha256("castellan.migrations"), likewise. */
export const MIGRATION_LOCK_KEY = '9219953746956352785';

export interface Dialect {
  readonly name: EngineName;
  /** Opens a write transaction. */
  readonly begin: string;
  /**
   * Opens a read-only transaction whose statements all read one snapshot (SQLite's deferred
   * BEGIN does; PostgreSQL's READ COMMITTED would give each statement its own).
   */
  readonly beginSnapshot: string;
  /** The statement that takes the audit head lock, or null where `begin` already holds it. */
  readonly auditHeadLock: string | null;
  /**
   * Session-level lock statements that serialize migrations between processes, taken before the
   * migrations' transactions begin (null on SQLite: BEGIN IMMEDIATE does it). Taken outside the
   * transaction on purpose: a transaction that began before another process committed its DDL
   * can still hold stale catalog caches after waiting for a lock, and miss the new tables.
   */
  readonly migrationLock: { lock: string; unlock: string } | null;
  /** `column` contains the `?` parameter (a `likeContains` pattern), ignoring ASCII case. */
  containsText(column: string): string;
  /** The text of member `member` of the JSON object in `column` (NULL when absent). */
  jsonText(column: string, member: string): string;
  /**
   * True when some element of the JSON array in `column` has a member `member` containing the
   * `?` parameter (a `likeContains` pattern), ignoring ASCII case: the SAN search.
   */
  jsonArrayMemberContains(column: string, member: string): string;
  /** The larger of two values (SQLite's two-argument max(), PostgreSQL's GREATEST). */
  greatest(a: string, b: string): string;
  /** The smaller of two values (SQLite's two-argument min(), PostgreSQL's LEAST). */
  least(a: string, b: string): string;
  /**
   * A FROM item over the elements of the JSON array in `column`, named `alias`; read a member of
   * an element with `jsonElementText(alias, member)`.
   */
  jsonArrayFrom(column: string, alias: string): string;
  jsonElementText(alias: string, member: string): string;
  /** A comma-separated list of `column`'s values in order (an aggregate). */
  joinedIds(column: string): string;
  /** An integer expression used as a condition (SQLite takes it as is; PostgreSQL wants `<> 0`). */
  truthy(expr: string): string;
  /**
   * `column` hidden from the index chooser (SQLite's unary `+`), where the planner would walk
   * the wrong index; PostgreSQL plans from statistics and takes the column as is.
   */
  unindexed(column: string): string;
  /** NULL ordering as SQLite's (NULLs first ascending, last descending), for ORDER BY `dir`. */
  nullsOrder(dir: 'ASC' | 'DESC'): string;
  /** The column that orders a table's rows by insertion (ties in list pages). */
  rowOrder(table: RowOrderedTable): string;
  /**
   * Catalog reads, each answering rows with one `name` column: the tables (without the engine's
   * own bookkeeping), and for the `?` table its columns in order, its primary key's columns, and
   * the tables its foreign keys point at.
   */
  readonly catalog: { tables: string; columns: string; primaryKey: string; parents: string };
  /** DDL making `table` append-only (UPDATE, DELETE — and on PostgreSQL TRUNCATE — refused). */
  appendOnlyTrigger(table: string): string;
}

/** Tables with an insertion-order key. */
export type RowOrderedTable = 'tokens' | 'audit' | 'vault_slots';
const ROW_KEYS: Record<RowOrderedTable, string> = { tokens: 'id', audit: 'seq', vault_slots: 'id' };

/** A pattern for `containsText`: `value` anywhere, with LIKE's wildcards taken literally. */
export function likeContains(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Only plain identifiers reach SQL text from these helpers. */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return name;
}

function member(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain JSON member name: ${name}`);
  return name;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  begin: 'BEGIN IMMEDIATE',
  beginSnapshot: 'BEGIN',
  auditHeadLock: null,
  migrationLock: null,
  containsText: (column) => `${ident(column)} LIKE ? ESCAPE '\\'`,
  jsonText: (column, name) => `json_extract(${ident(column)}, '$.${member(name)}')`,
  jsonArrayMemberContains: (column, name) =>
    `EXISTS (SELECT 1 FROM json_each(${ident(column)}) AS j WHERE json_extract(j.value, '$.${member(name)}') LIKE ? ESCAPE '\\')`,
  jsonArrayFrom: (column, alias) => `json_each(${ident(column)}) AS ${ident(alias)}`,
  jsonElementText: (alias, name) => `json_extract(${ident(alias)}.value, '$.${member(name)}')`,
  joinedIds: (column) => `group_concat(${ident(column)}, ',' ORDER BY ${ident(column)})`,
  truthy: (expr) => expr,
  unindexed: (column) => `+${ident(column)}`,
  nullsOrder: () => '',
  greatest: (a, b) => `max(${a}, ${b})`,
  least: (a, b) => `min(${a}, ${b})`,
  rowOrder: () => 'rowid',
  catalog: {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    columns: 'SELECT name FROM pragma_table_info(?) ORDER BY cid',
    primaryKey: 'SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk',
    parents: 'SELECT DISTINCT "table" AS name FROM pragma_foreign_key_list(?)',
  },
  appendOnlyTrigger: (table) => {
    const t = ident(table);
    return `CREATE TRIGGER ${t}_append_only_update BEFORE UPDATE ON ${t}
BEGIN SELECT RAISE(ABORT, '${t} entries are append-only'); END;
CREATE TRIGGER ${t}_append_only_delete BEFORE DELETE ON ${t}
BEGIN SELECT RAISE(ABORT, '${t} entries are append-only'); END;`;
  },
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  // Explicit: the issue measured REPEATABLE READ losing appends even with the lock (its snapshot
  // predates the lock), and a server's default_transaction_isolation may say otherwise.
  begin: 'BEGIN ISOLATION LEVEL READ COMMITTED',
  beginSnapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  auditHeadLock: `SELECT pg_advisory_xact_lock(${AUDIT_HEAD_LOCK_KEY})`,
  migrationLock: {
    lock: `SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`,
    unlock: `SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`,
  },
  containsText: (column) => `${ident(column)} ILIKE ? ESCAPE '\\'`,
  jsonText: (column, name) => `(${ident(column)}::jsonb ->> '${member(name)}')`,
  jsonArrayMemberContains: (column, name) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements(${ident(column)}::jsonb) AS j(v) WHERE j.v ->> '${member(name)}' ILIKE ? ESCAPE '\\')`,
  jsonArrayFrom: (column, alias) => `jsonb_array_elements(${ident(column)}::jsonb) AS ${ident(alias)}(value)`,
  jsonElementText: (alias, name) => `(${ident(alias)}.value ->> '${member(name)}')`,
  joinedIds: (column) => `string_agg(${ident(column)}::text, ',' ORDER BY ${ident(column)})`,
  truthy: (expr) => `(${expr}) <> 0`,
  unindexed: (column) => ident(column),
  nullsOrder: (dir) => (dir === 'ASC' ? ' NULLS FIRST' : ' NULLS LAST'),
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  rowOrder: (table) => ROW_KEYS[table],
  catalog: {
    tables:
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'castellan_migrations' ORDER BY table_name",
    columns:
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
    primaryKey: `SELECT a.attname AS name FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = to_regclass(?::text) AND i.indisprimary`,
    parents:
      "SELECT DISTINCT confrelid::regclass::text AS name FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass(?::text)",
  },
  appendOnlyTrigger: (table) => {
    const t = ident(table);
    // Row triggers do not fire on TRUNCATE: a statement trigger covers it.
    return `CREATE OR REPLACE FUNCTION castellan_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% entries are append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$fn$;
CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON ${t}
  FOR EACH ROW EXECUTE FUNCTION castellan_append_only();
CREATE TRIGGER ${t}_append_only_truncate BEFORE TRUNCATE ON ${t}
  FOR EACH STATEMENT EXECUTE FUNCTION castellan_append_only();`;
  },
};

export function dialectFor(engine: EngineName): Dialect {
  return engine === 'sqlite' ? sqliteDialect : postgresDialect;
}

// ---- Schema version: PRAGMA user_version on SQLite, a migrations table on PostgreSQL ----------

/** PostgreSQL's schema bookkeeping, for the async port below and the core's Workspace alike. */
export const PG_SCHEMA_SQL = {
  createTable: `CREATE TABLE IF NOT EXISTS castellan_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`,
  tableExists: "SELECT to_regclass('castellan_migrations')::text AS t",
  version: 'SELECT COALESCE(MAX(version), 0) AS version FROM castellan_migrations',
  /** Tables in the current schema besides the bookkeeping one: ours, or someone else's. */
  otherTables:
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'castellan_migrations'",
  record: 'INSERT INTO castellan_migrations (version, name, applied_at) VALUES (?, ?, ?)',
} as const;

/** The schema version recorded in the database (0 when none is). */
export async function readSchemaVersion(session: StorageSession): Promise<number> {
  if (session.engine === 'sqlite') {
    const row = await session.get<{ user_version: number }>(statement('PRAGMA user_version'));
    return row?.user_version ?? 0;
  }
  const exists = await session.get<{ t: string | null }>(statement(PG_SCHEMA_SQL.tableExists));
  if (exists?.t == null) return 0;
  const row = await session.get<{ version: number }>(statement(PG_SCHEMA_SQL.version));
  return row?.version ?? 0;
}

/** How many tables the database (PostgreSQL: the current schema) already holds, ours or not. */
export async function countTables(session: StorageSession): Promise<number> {
  const row =
    session.engine === 'sqlite'
      ? await session.get<{ n: number }>(
          statement("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"),
        )
      : await session.get<{ n: number }>(statement(PG_SCHEMA_SQL.otherTables));
  return row?.n ?? 0;
}

/** Records that migration `version` has been applied (inside that migration's transaction). */
export async function recordSchemaVersion(session: StorageSession, version: number, name: string): Promise<void> {
  if (!Number.isInteger(version) || version < 1) throw new Error(`not a migration version: ${version}`);
  if (session.engine === 'sqlite') {
    await session.exec(`PRAGMA user_version = ${version}`);
    return;
  }
  await session.exec(PG_SCHEMA_SQL.createTable);
  await session.run(statement(PG_SCHEMA_SQL.record), [
    version,
    name,
    new Date().toISOString(),
  ]);
}

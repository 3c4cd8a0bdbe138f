/**
 * Kysely's SQLite dialect over Node's built-in `node:sqlite` (Kysely ships one for
 * better-sqlite3, whose `Database` shape it expects). node:sqlite takes parameters spread, not
 * as an array, and has no `reader` flag: a statement that returns columns is a reader. Statements
 * are prepared once per SQL text and kept (bounded), as the core does today with its own caches.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const MAX_CACHED_STATEMENTS = 500;

export function nodeSqliteDatabase(db: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let st = cache.get(sql);
      if (st === undefined) {
        st = adapt(db.prepare(sql));
        if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value as string);
        cache.set(sql, st);
      }
      return st;
    },
  };
}

function adapt(st: StatementSync): SqliteStatement {
  const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    reader: st.columns().length > 0,
    all: (p) => st.all(...params(p)),
    run: (p) => st.run(...params(p)),
    iterate: (p) => st.iterate(...params(p)),
  };
}

/**
 * The StoragePort both engines share, over Kysely: one connection per transaction (the pool's
 * on PostgreSQL; SQLite's single connection, which Kysely guards with a mutex, so a transaction
 * holds it from BEGIN to COMMIT and other callers queue behind it instead of reading its
 * uncommitted rows). What differs per engine comes in as an EngineDriver.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Migration } from '../workspace/schema.ts';
import { countTables, readSchemaVersion, recordSchemaVersion, type Dialect } from './dialect.ts';
import {
  StorageError,
  type EngineName,
  type RunResult,
  type SqlValue,
  type StoragePort,
  type StorageSession,
  type StorageTransaction,
  type TransactionOptions,
} from './port.ts';
import { statement, type Statement } from './statement.ts';
import type { StorageTables } from './tables.ts';

type Db = Kysely<StorageTables>;

/**
 * Where an error happened: decides what the caller is told about the work's fate. 'statement' is
 * a statement run on the port itself, outside any transaction (it commits by itself).
 */
export type Phase = 'connect' | 'statement' | 'transaction' | 'commit';

export interface EngineDriver {
  readonly engine: EngineName;
  readonly dialect: Dialect;
  readonly kysely: Db;
  readonly migrations: readonly Migration[];
  /** Runs a multi-statement script on `conn` (the caller holds that connection). */
  execScript(conn: Db, script: string): Promise<void>;
  /** Turns a driver error into the error the core sees (a StorageError when it can say more). */
  mapError(err: unknown, phase: Phase): unknown;
  /** Undoes an open transaction on `conn` after a failure; never throws. */
  rollbackQuietly(conn: Db): Promise<void>;
  /** Releases everything after kysely.destroy(). */
  closed?(): void;
}

/** Which port's transaction the current async call chain is inside, if any. */
const activeTransaction = new AsyncLocalStorage<KyselyPort>();

async function executeOn<R>(conn: Db, engine: EngineName, st: Statement<R>, params: readonly SqlValue[]) {
  if (params.length !== st.parameterCount) {
    throw new StorageError('misuse', `the statement takes ${st.parameterCount} parameters, not ${params.length}`);
  }
  const text = engine === 'postgres' ? st.numbered : st.text;
  return conn.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]));
}

class Session implements StorageSession {
  readonly engine: EngineName;
  readonly dialect: Dialect;
  readonly #conn: Db;
  readonly #driver: EngineDriver;
  readonly #phase: Phase;

  constructor(driver: EngineDriver, conn: Db, phase: Phase) {
    this.engine = driver.engine;
    this.dialect = driver.dialect;
    this.#driver = driver;
    this.#conn = conn;
    this.#phase = phase;
  }

  /** Throws when this session may not be used now. */
  protected check(): void {}

  get db(): Db {
    this.check();
    return this.#conn;
  }

  async all<R>(st: Statement<R>, params: readonly SqlValue[] = []): Promise<R[]> {
    this.check();
    try {
      return (await executeOn(this.#conn, this.engine, st, params)).rows;
    } catch (err) {
      throw this.#driver.mapError(err, this.#phase);
    }
  }

  async get<R>(st: Statement<R>, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return (await this.all(st, params))[0];
  }

  async run(st: Statement<unknown>, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.check();
    try {
      const result = await executeOn(this.#conn, this.engine, st, params);
      return { changes: Number(result.numAffectedRows ?? 0n) };
    } catch (err) {
      throw this.#driver.mapError(err, this.#phase);
    }
  }

  async exec(script: string): Promise<void> {
    this.check();
    try {
      await this.#driver.execScript(this.#conn, script);
    } catch (err) {
      throw this.#driver.mapError(err, this.#phase);
    }
  }
}

class Transaction extends Session implements StorageTransaction {
  readonly #driver: EngineDriver;
  #auditHeadLocked = false;
  #savepoints = 0;
  #state: { done: boolean };

  constructor(driver: EngineDriver, conn: Db, state: { done: boolean }) {
    super(driver, conn, 'transaction');
    this.#driver = driver;
    this.#state = state;
  }

  protected override check(): void {
    if (this.#state.done)
      throw new StorageError('misuse', 'this transaction has ended: use it only inside its callback');
  }

  async lockAuditHead(): Promise<void> {
    if (this.#auditHeadLocked) return;
    const lock = this.#driver.dialect.auditHeadLock;
    if (lock !== null) await this.run(statement(lock));
    this.#auditHeadLocked = true;
  }

  async savepoint<T>(fn: (tx: StorageTransaction) => Promise<T>): Promise<T> {
    const name = `castellan_sp_${++this.#savepoints}`;
    await this.exec(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await fn(this);
    } catch (err) {
      if (!this.#state.done) {
        try {
          await this.exec(`ROLLBACK TO SAVEPOINT ${name}`);
          await this.exec(`RELEASE SAVEPOINT ${name}`);
        } catch {
          // The connection is gone: the outer transaction reports it.
        }
      }
      throw err;
    }
    await this.exec(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}

export class KyselyPort extends Session implements StoragePort {
  readonly #driver: EngineDriver;
  #closed = false;

  constructor(driver: EngineDriver) {
    super(driver, driver.kysely, 'statement');
    this.#driver = driver;
  }

  get closed(): boolean {
    return this.#closed;
  }

  protected override check(): void {
    if (this.#closed) throw new StorageError('misuse', 'this storage has been closed');
    if (activeTransaction.getStore() === this) {
      // On SQLite this would wait for the connection the transaction holds, forever; on
      // PostgreSQL it would run outside the transaction. Both are bugs: say so at once.
      throw new StorageError('misuse', 'inside a transaction, use the transaction it was given, not the storage');
    }
  }

  async transaction<T>(fn: (tx: StorageTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.check();
    const driver = this.#driver;
    try {
      return await driver.kysely
        .connection()
        .execute((conn) => activeTransaction.run(this, () => this.#inTransaction(conn, fn, options)));
    } catch (err) {
      // Errors from inside are already mapped; what is left failed to get a connection at all.
      throw driver.mapError(err, 'connect');
    }
  }

  async #inTransaction<T>(
    conn: Db,
    fn: (tx: StorageTransaction) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    const driver = this.#driver;
    try {
      await driver.execScript(conn, driver.dialect.begin);
    } catch (err) {
      throw driver.mapError(err, 'connect');
    }
    const state = { done: false };
    const tx = new Transaction(driver, conn, state);
    let result: T;
    try {
      if (options.lockAuditHead === true) await tx.lockAuditHead();
      result = await fn(tx);
    } catch (err) {
      state.done = true;
      await driver.rollbackQuietly(conn);
      throw driver.mapError(err, 'transaction');
    }
    state.done = true;
    let aborted = false;
    try {
      const r = await conn.executeQuery<{ command?: string }>(CompiledQuery.raw('COMMIT', []));
      // PostgreSQL answers COMMIT with ROLLBACK when a statement failed and the callback
      // swallowed the error: the transaction was aborted at that statement.
      aborted = r.rows[0]?.command === 'ROLLBACK';
    } catch (err) {
      await driver.rollbackQuietly(conn);
      throw driver.mapError(err, 'commit');
    }
    if (aborted) {
      throw new StorageError(
        'misuse',
        'the transaction was rolled back: one of its statements failed and the error was caught inside it; nothing was applied',
      );
    }
    return result;
  }

  async schemaVersion(): Promise<number> {
    this.check();
    return readSchemaVersion(this);
  }

  async migrate(): Promise<{ from: number; to: number }> {
    const migrations = this.#driver.migrations;
    const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
    const from = await this.schemaVersion();
    if (from > latest) {
      throw new StorageError(
        'schema',
        `this database is at schema version ${from}, newer than this build of Castellan understands (${latest}); upgrade Castellan`,
      );
    }
    if (from === 0 && (await countTables(this)) > 0) {
      throw new StorageError(
        'schema',
        'this database already holds tables but no Castellan schema version: it is not a Castellan workspace; use an empty database',
      );
    }
    const driver = this.#driver;
    const lock = driver.dialect.migrationLock;
    const migrateOn = async (conn: Db): Promise<number> => {
      let version = from;
      for (const migration of migrations) {
        if (migration.version <= version) continue;
        // A new transaction per migration, begun after the lock: it sees every earlier commit.
        version = await this.#inTransaction(
          conn,
          async (tx) => {
            // Another process may have migrated while we waited.
            const now = await readSchemaVersion(tx);
            if (now >= migration.version) return now;
            await tx.exec(migration.sql);
            await recordSchemaVersion(tx, migration.version, migration.name);
            return migration.version;
          },
          {},
        );
      }
      return version;
    };
    this.check();
    try {
      const to = await driver.kysely.connection().execute((conn) =>
        activeTransaction.run(this, async () => {
          if (lock === null) return migrateOn(conn);
          await driver.execScript(conn, lock.lock);
          try {
            return await migrateOn(conn);
          } finally {
            // If the connection is gone, so is the lock.
            await driver.execScript(conn, lock.unlock).catch(() => {});
          }
        }),
      );
      return { from, to };
    } catch (err) {
      throw driver.mapError(err, 'connect');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.kysely.destroy();
    this.#driver.closed?.();
  }
}

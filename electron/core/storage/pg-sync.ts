/**
 * PostgreSQL behind the synchronous `SqlDatabase` calls the core makes (sql-database.ts).
 *
 * One connection per workspace, owned by a worker thread running `pg` (pure JavaScript). A call
 * posts its statement to the worker and sleeps in `Atomics.wait` until the worker has posted
 * the answer, which `receiveMessageOnPort` then reads — the pattern the core host already uses
 * for keychain calls (ipc/core-protocol.ts). One connection means a transaction is simply the
 * statements between BEGIN and COMMIT on it, as on SQLite; several admins are several processes,
 * each with its own connection, serialized by the audit-head lock every write transaction takes
 * (workspace.ts).
 *
 * Why a bridge and not an async core: the core is synchronous over `DatabaseSync` at ~1,000 call
 * sites and already runs off the Electron main thread; a round trip through the worker costs tens
 * of microseconds beside the database's own (bench item 13 measures both engines).
 *
 * The worker is given plain JavaScript (`eval`) and the resolved path of `pg`, so it needs no
 * file of its own beside the Electron bundle. BIGINT is parsed as a number (refusing what a double
 * cannot hold exactly), BOOLEAN as 1 or 0 and BYTEA as a Uint8Array, as SQLite gives them.
 */
import { createRequire } from 'node:module';
import type { SQLInputValue, StatementResultingChanges } from 'node:sqlite';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { CastellanError } from '../../../shared/errors.ts';
import { describePostgresUrl, isConnectFailure, isConnectionError, postgresFailure } from './postgres-engine.ts';
import type { SqlDatabase, SqlRow, SqlStatement } from './sql-database.ts';
import { numberPlaceholders } from './statement.ts';

/** How long a statement may wait for a lock (another admin's transaction) before it is refused. */
export const PG_LOCK_TIMEOUT_MS = 5000;
/** How long the caller waits for an answer before giving up on the connection. */
const ANSWER_TIMEOUT_MS = 120_000;
const MIN_SERVER_VERSION = 150000;

const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
const pg = require(workerData.pgPath);
const { port, flag: flagBuffer, changes: changesBuffer, url, lockTimeoutMs } = workerData;
const flag = new Int32Array(flagBuffer);
// [0] moves on every NOTIFY castellan_changes, and on every (re)connect of the listener: the
// watcher then resyncs from its cursor, since a notification sent while it was away is lost.
const changes = new Int32Array(changesBuffer);
let listener = null;
function bumpChanges() {
  Atomics.add(changes, 0, 1);
}
async function listen() {
  if (listener !== null || client === null) return;
  const c = new pg.Client({ connectionString: url, application_name: 'castellan-listen', connectionTimeoutMillis: 10000 });
  listener = c;
  const retry = () => {
    if (listener !== c) return;
    listener = null;
    c.end().catch(() => {});
    bumpChanges();
    if (client !== null) setTimeout(() => listen().catch(() => {}), 1000).unref();
  };
  c.on('error', retry);
  c.on('end', retry);
  c.on('notification', bumpChanges);
  try {
    await c.connect();
    await c.query('LISTEN castellan_changes');
    bumpChanges();
  } catch {
    retry();
  }
}
const INT8 = 20;
const BOOL = 16;
const types = {
  getTypeParser(oid, format) {
    if (oid === INT8 && format !== 'binary') {
      return (text) => {
        const n = Number(text);
        if (!Number.isSafeInteger(n)) {
          const e = new Error('a BIGINT value (' + text + ') is outside the range Castellan can read exactly (±2^53)');
          e.code = 'CASTELLAN_RANGE';
          throw e;
        }
        return n;
      };
    }
    // As SQLite answers a comparison ('x IS NOT NULL AS y'): 1 or 0, so the core reads both alike.
    if (oid === BOOL && format !== 'binary') return (text) => (text === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format);
  },
};
let client = null;
let lost = null;
const names = new Map();
function answer(message) {
  port.postMessage(message);
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
}
function plainError(err) {
  const e = err || {};
  return { message: String(e.message || e), code: e.code, syscall: e.syscall, detail: e.detail, constraint: e.constraint };
}
function param(v) {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}
async function handle(m) {
  if (m.op === 'connect') {
    client = new pg.Client({ connectionString: url, types, application_name: 'castellan', connectionTimeoutMillis: 10000 });
    client.on('error', (err) => { lost = err; });
    await client.connect();
    const r = await client.query("SELECT current_setting('server_version_num')::int AS v");
    await client.query('SET lock_timeout = ' + Number(lockTimeoutMs));
    return { version: r.rows[0].v };
  }
  if (m.op === 'listen') {
    listen().catch(() => {});
    return {};
  }
  if (m.op === 'close') {
    const c = client;
    client = null;
    const l = listener;
    listener = null;
    if (l) await l.end().catch(() => {});
    if (c) await c.end().catch(() => {});
    return {};
  }
  if (client === null) throw Object.assign(new Error('Client was closed'), { code: 'CASTELLAN_CLOSED' });
  if (lost !== null) throw lost;
  if (m.op === 'exec') {
    await client.query(m.text);
    return {};
  }
  let name = names.get(m.text);
  if (name === undefined) {
    name = 'c' + names.size;
    names.set(m.text, name);
  }
  const r = await client.query({ name, text: m.text, values: m.values.map(param) });
  return { rows: r.rows, rowCount: r.rowCount };
}
port.on('message', (m) => {
  handle(m).then(
    (result) => answer({ ok: true, result }),
    (err) => answer({ ok: false, error: plainError(err) }),
  );
});
`;

interface Answer {
  ok: boolean;
  result?: { rows?: SqlRow[]; rowCount?: number | null; version?: number };
  error?: { message: string; code?: string; syscall?: string; detail?: string; constraint?: string };
}

const requireHere = createRequire(import.meta.url);

export class PgSyncDatabase implements SqlDatabase {
  readonly where: string;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #changes: Int32Array;
  #listening = false;
  readonly #statements = new Map<string, PgStatement>();
  #open = true;
  #depth = 0;

  private constructor(url: string) {
    this.where = describePostgresUrl(url);
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(flag);
    const changes = new SharedArrayBuffer(4);
    this.#changes = new Int32Array(changes);
    this.#port = port1;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: port2, flag, changes, url, lockTimeoutMs: PG_LOCK_TIMEOUT_MS, pgPath: requireHere.resolve('pg') },
      transferList: [port2],
    });
    // Never what keeps a CLI process alive; close() ends the connection.
    this.#worker.unref();
    this.#worker.on('error', () => {});
  }

  /** Connects (PostgreSQL 15 or later), or throws a CastellanError saying why not. */
  static open(url: string): PgSyncDatabase {
    const db = new PgSyncDatabase(url);
    try {
      const version = db.#call({ op: 'connect' }).version ?? 0;
      if (version < MIN_SERVER_VERSION) {
        throw new CastellanError('UNSUPPORTED', `${db.where} runs PostgreSQL ${version}; Castellan needs 15 or later`);
      }
    } catch (err) {
      db.#shutdown();
      throw err;
    }
    return db;
  }

  /**
   * A counter that moves when another session commits a change (NOTIFY castellan_changes, sent by
   * every audited transaction at its commit) and whenever the listening connection reconnects,
   * read without a round trip. The first call starts listening, on a connection of its own.
   */
  changeSignal(): number {
    if (!this.#listening && this.#open) {
      this.#listening = true;
      this.#call({ op: 'listen' });
    }
    return Atomics.load(this.#changes, 0);
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** True between BEGIN and COMMIT/ROLLBACK issued through exec(). */
  get isTransaction(): boolean {
    return this.#depth > 0;
  }

  exec(sql: string): void {
    this.#assertOpen();
    const head = sql.trimStart().slice(0, 8).toUpperCase();
    try {
      this.#call({ op: 'exec', text: sql });
    } catch (err) {
      // A failed COMMIT ends the transaction too (PostgreSQL rolls it back).
      if (head.startsWith('COMMIT') || head.startsWith('ROLLBACK')) this.#depth = 0;
      throw err;
    }
    if (head.startsWith('BEGIN')) this.#depth = 1;
    else if (head.startsWith('COMMIT') || head.startsWith('END') || head === 'ROLLBACK') this.#depth = 0;
  }

  prepare(sql: string): SqlStatement {
    this.#assertOpen();
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = new PgStatement(numberPlaceholders(sql).numbered, (text, values) =>
        this.#call({ op: 'query', text, values }),
      );
      this.#statements.set(sql, st);
    }
    return st;
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#call({ op: 'close' });
    } catch {
      // The connection was already gone.
    }
    this.#shutdown();
  }

  #shutdown(): void {
    this.#open = false;
    this.#port.close();
    void this.#worker.terminate();
  }

  #assertOpen(): void {
    if (!this.#open) throw new CastellanError('INTERNAL', `the connection to PostgreSQL (${this.where}) is closed`);
  }

  #call(message: { op: string; text?: string; values?: SQLInputValue[] }): NonNullable<Answer['result']> {
    const seen = Atomics.load(this.#flag, 0);
    this.#port.postMessage(message);
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    let received: { message: Answer } | undefined;
    while ((received = receiveMessageOnPort(this.#port) as { message: Answer } | undefined) === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#shutdown();
        throw new CastellanError(
          'INTERNAL',
          `no answer from PostgreSQL (${this.where}) in ${ANSWER_TIMEOUT_MS / 1000} s; the connection was closed, and whether the last change was applied is unknown`,
        );
      }
      Atomics.wait(this.#flag, 0, seen, Math.min(left, 1000));
    }
    const answer = received.message;
    if (answer.ok) return answer.result ?? {};
    throw this.#asError(answer.error ?? { message: 'unknown error' }, message);
  }

  #asError(e: NonNullable<Answer['error']>, call: { op: string; text?: string }): Error {
    const why = e.message;
    if (e.code === 'CASTELLAN_RANGE') return new CastellanError('INTEGRITY', why);
    if (isConnectFailure(e) || call.op === 'connect') {
      return new CastellanError('UNAVAILABLE', postgresFailure.unavailable(this.where, why));
    }
    if (isConnectionError(e) || e.code === 'CASTELLAN_CLOSED') {
      const inTransaction = this.#depth > 0;
      this.#depth = 0;
      this.#shutdown();
      const lost = !inTransaction
        ? postgresFailure.lostStatement
        : /^\s*(COMMIT|END)\b/i.test(call.text ?? '')
          ? postgresFailure.lostCommit
          : postgresFailure.lostTransaction;
      return new CastellanError('UNAVAILABLE', lost(this.where, why));
    }
    if (e.code === '55P03') {
      return new CastellanError(
        'CONFLICT',
        `the workspace is busy: another admin's transaction held the lock for over ${PG_LOCK_TIMEOUT_MS / 1000} s; try again`,
      );
    }
    const err = new Error(why) as Error & { code?: string; detail?: string; constraint?: string };
    if (e.code !== undefined) err.code = e.code;
    if (e.detail !== undefined) err.detail = e.detail;
    if (e.constraint !== undefined) err.constraint = e.constraint;
    return err;
  }
}

class PgStatement implements SqlStatement {
  readonly #text: string;
  readonly #query: (text: string, values: SQLInputValue[]) => NonNullable<Answer['result']>;

  constructor(text: string, query: (text: string, values: SQLInputValue[]) => NonNullable<Answer['result']>) {
    this.#text = text;
    this.#query = query;
  }

  run(...params: SQLInputValue[]): StatementResultingChanges {
    const r = this.#query(this.#text, params);
    // No rowid on PostgreSQL: a caller that needs the new key asks with RETURNING.
    return { changes: r.rowCount ?? 0, lastInsertRowid: 0 };
  }

  get(...params: SQLInputValue[]): SqlRow | undefined {
    return this.#query(this.#text, params).rows?.[0];
  }

  all(...params: SQLInputValue[]): SqlRow[] {
    return this.#query(this.#text, params).rows ?? [];
  }

  iterate(...params: SQLInputValue[]): Iterator<SqlRow> & Iterable<SqlRow> {
    return this.all(...params)[Symbol.iterator]();
  }
}

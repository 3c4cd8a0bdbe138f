/**
 * Writes the introspection counters (introspect.ts, IntrospectionCounter) from a worker thread
 * with its own connection to the workspace database, so the thread answering requests never
 * waits on what a write costs: the COMMIT's fsync (synchronous = FULL), the checkpoint after it,
 * or — worse — another process holding the write lock (a long `tokens mint` batch), which the
 * 5 s busy timeout would otherwise spend blocking every request. Bench item 10b found the
 * once-a-second flush on the request thread taking 1-14 ms on a loaded machine, which lands
 * squarely in the p99 of requests queued behind it.
 *
 * The worker does nothing but this one upsert (the same statement the in-thread flush runs,
 * for rows that still exist), then a PASSIVE checkpoint, which never waits for readers. It is
 * given plain JavaScript to run (`eval`), so it needs no file of its own beside the bundle the
 * Electron build makes, and no module of ours: nothing here reads keys or the vault.
 */
import { Worker } from 'node:worker_threads';
import { sqliteDialect, type Dialect } from '../storage/dialect.ts';
import { BUSY_TIMEOUT_MS, WAL_SIZE_LIMIT_BYTES } from '../workspace/workspace.ts';

/** Adds a batch's counts to a token's row (for rows that still exist), in the engine's SQL. */
export function upsertIntrospectionSql(dialect: Dialect): string {
  return `INSERT INTO token_introspections (token_id, count, last_at)
           SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM tokens WHERE id = ?)
           ON CONFLICT (token_id) DO UPDATE SET count = token_introspections.count + excluded.count,
             last_at = ${dialect.greatest('token_introspections.last_at', 'excluded.last_at')}`;
}
export const UPSERT_INTROSPECTION_SQL = upsertIntrospectionSql(sqliteDialect);

/** One pending count: token id, how many introspections, the latest (Unix seconds). */
export type CountRow = [tokenId: number, count: number, lastAt: number];

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path, { timeout: workerData.busyMs, enableForeignKeyConstraints: true });
db.exec('PRAGMA synchronous = FULL');
db.exec('PRAGMA wal_autocheckpoint = 0');
db.exec('PRAGMA journal_size_limit = ' + Number(workerData.walLimit));
const upsert = db.prepare(workerData.sql);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (m) => {
  if (m.close) {
    try { db.close(); } catch {}
    parentPort.postMessage({ id: m.id, ok: true });
    return;
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    for (const [id, count, last] of m.rows) upsert.run(id, count, last, id);
    db.exec('COMMIT');
  } catch {
    try { if (db.isTransaction) db.exec('ROLLBACK'); } catch {}
    parentPort.postMessage({ id: m.id, ok: false });
    return;
  }
  try { checkpoint.get(); } catch {}
  parentPort.postMessage({ id: m.id, ok: true });
});
`;

/** The worker and its connection; `write` resolves true once the rows are committed. */
export class CounterWriter {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, (ok: boolean) => void>();
  #next = 0;
  #broken = false;

  constructor(dbPath: string) {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: dbPath, busyMs: BUSY_TIMEOUT_MS, walLimit: WAL_SIZE_LIMIT_BYTES, sql: UPSERT_INTROSPECTION_SQL },
    });
    // Never what keeps a process alive; the server closes it.
    this.#worker.unref();
    this.#worker.on('message', (m: { id: number; ok: boolean }) => {
      const done = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      done?.(m.ok);
    });
    const fail = (): void => {
      this.#broken = true;
      for (const done of this.#waiting.values()) done(false);
      this.#waiting.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', fail);
  }

  /** False once the worker failed (could not open the database, say): the caller writes itself. */
  get usable(): boolean {
    return !this.#broken;
  }

  #send(message: { rows?: CountRow[]; close?: boolean }): Promise<boolean> {
    if (this.#broken) return Promise.resolve(false);
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#worker.postMessage({ id, ...message });
    });
  }

  /** Commits the rows in one transaction; false if they were not written (the caller keeps them). */
  write(rows: CountRow[]): Promise<boolean> {
    return this.#send({ rows });
  }

  /** Closes the worker's connection and ends the worker. */
  async close(): Promise<void> {
    if (!this.#broken) await this.#send({ close: true });
    this.#broken = true;
    await this.#worker.terminate();
  }
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppServices } from '../../electron/core/ipc/app-router.ts';
import type { Dialogs } from '../../electron/core/ipc/dialogs.ts';
import { createAppRouter } from '../../electron/core/ipc/app-router.ts';
import type { Router } from '../../electron/core/ipc/ipc-router.ts';
import { PgSyncDatabase } from '../../electron/core/storage/pg-sync.ts';
import { memorySettings } from '../../electron/core/workspace/settings.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

export function tempDir(prefix = 'castellan-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * The engine the suite runs on: the embedded SQLite file by default, PostgreSQL when
 * CASTELLAN_STORAGE=postgres (.ci/run's second pass, inside scripts/pg-test-cluster.sh run).
 */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.CASTELLAN_STORAGE === 'postgres' ? 'postgres' : 'sqlite';

let pgAdmin: PgSyncDatabase | undefined;

/**
 * `skip` for a test that is about the embedded file itself (it edits the SQLite file as an
 * attacker would, reads its bytes, or checks SQLite's query plans): it runs on the SQLite pass;
 * on the PostgreSQL pass it is skipped with this reason, never silently.
 */
export function sqliteOnly(why: string): false | string {
  return TEST_ENGINE === 'postgres' ? `SQLite pass only: ${why}` : false;
}

/**
 * On the PostgreSQL pass: the database URL standing for the workspace folder `dir`, a schema of
 * its own on the test cluster (named after the folder, so reopening the folder reopens the
 * same workspace). Undefined on the SQLite pass: the workspace is the folder's file.
 */
export function testDatabaseFor(dir: string): string | undefined {
  if (TEST_ENGINE !== 'postgres') return undefined;
  const base = process.env.CASTELLAN_TEST_DATABASE_URL?.trim();
  if (!base) {
    throw new Error('CASTELLAN_STORAGE=postgres needs CASTELLAN_TEST_DATABASE_URL: run under scripts/pg-test-cluster.sh run -- …');
  }
  const schema = `t_${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}`;
  pgAdmin ??= PgSyncDatabase.open(base);
  pgAdmin.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** A real workspace in a temp folder (or its schema on the PostgreSQL pass); scrypt is cheap under the test runner only. */
export function openTestWorkspace(dir = path.join(tempDir(), 'workspace'), kind: 'app' | 'cli' = 'app'): Workspace {
  const database = testDatabaseFor(dir);
  return Workspace.open(dir, {
    actor: { user: 'tester', kind },
    kdf: { N: 2 ** 10, r: 8, p: 1 },
    allowWeakKdfInTests: true,
    ...(database === undefined ? {} : { database }),
  });
}

/**
 * Stands in for the OS's native dialogs: each call takes the next prepared answer.
 * (Electron's dialog cannot run here; everything behind it is real.)
 */
export class QueuedDialogs implements Dialogs {
  readonly opens: (string[] | null)[] = [];
  readonly saves: (string | null)[] = [];
  /** Answers for native confirmations (true = the admin confirmed). */
  readonly confirms: boolean[] = [];
  readonly asked: string[] = [];
  async openFiles(options: { title: string }): Promise<string[] | null> {
    this.asked.push(options.title);
    if (this.opens.length === 0) throw new Error(`unexpected open dialog: ${options.title}`);
    return this.opens.shift() ?? null;
  }
  async saveFile(options: { title: string }): Promise<string | null> {
    this.asked.push(options.title);
    if (this.saves.length === 0) throw new Error(`unexpected save dialog: ${options.title}`);
    return this.saves.shift() ?? null;
  }
  async confirm(options: { title: string }): Promise<boolean> {
    this.asked.push(options.title);
    if (this.confirms.length === 0) throw new Error(`unexpected confirmation: ${options.title}`);
    return this.confirms.shift() ?? false;
  }
}

export interface TestServices extends AppServices {
  ws: Workspace;
  dialogs: QueuedDialogs;
}

export function testServices(ws: Workspace = openTestWorkspace()): TestServices {
  return {
    ws,
    workspace: () => ws,
    dialogs: new QueuedDialogs(),
    settings: memorySettings(),
    info: () => ({
      appName: 'Castellan',
      appVersion: '0.0.0-test',
      workspacePath: ws.dir,
      platform: process.platform,
      versions: { node: process.versions.node, electron: 'harness', chrome: 'harness' },
    }),
  };
}

export function testRouter(services: AppServices): (origin: string) => Router {
  return (origin) => createAppRouter({ allowedOrigins: [origin], services, log: () => undefined });
}

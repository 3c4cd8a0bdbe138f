/**
 * Settings → Database on the core's side (issue 14): opening, describing and testing the choice
 * database-choice.ts made.
 */
import path from 'node:path';
import { CastellanError } from '../../../shared/errors.ts';
import { databaseUrlProblem } from '../../../shared/database-url.ts';
import { describePostgresUrl } from '../storage/postgres-engine.ts';
import { PgSyncDatabase } from '../storage/pg-sync.ts';
import { chooseDatabase, DATABASE_ENV, type AppDatabase, type DatabaseChoice, type DatabaseSource } from './database-choice.ts';
import { DB_FILE_NAME, resolveDatabase } from './workspace.ts';

/** The `database` option for Workspace.open, or a CastellanError saying why the choice cannot be opened. */
export function databaseToOpen(choice: DatabaseChoice): string | undefined {
  if (choice.url === undefined) return undefined;
  if (choice.source === 'env') return resolveDatabase(undefined, { [DATABASE_ENV]: choice.url });
  const problem = databaseUrlProblem(choice.url);
  if (problem !== null) {
    throw new CastellanError(
      'INVALID_INPUT',
      `the database saved in Settings → Database cannot be used: ${problem}. Choose again there, or use the embedded file`,
    );
  }
  return choice.url.trim();
}

export interface DatabaseChoiceView {
  engine: 'sqlite' | 'postgres';
  description: string;
  source: DatabaseSource;
}

/** For display: the engine, where (never a user name or password), and where the choice came from. */
export function describeChoice(choice: DatabaseChoice, workspaceDir: string): DatabaseChoiceView {
  if (choice.url === undefined) {
    return { engine: 'sqlite', description: `the embedded file ${path.join(workspaceDir, DB_FILE_NAME)}`, source: choice.source };
  }
  return { engine: 'postgres', description: describePostgresUrl(choice.url), source: choice.source };
}

/** What the next start opens: the environment still wins; else the preference as saved now. */
export function nextChoice(db: AppDatabase): DatabaseChoice {
  if (db.active.source === 'env') return db.active;
  return chooseDatabase({}, db.preference.get());
}

export function databaseStatus(db: AppDatabase) {
  const next = nextChoice(db);
  const saved = db.preference.get();
  const problem = saved === null ? null : databaseUrlProblem(saved);
  const active = describeChoice(db.active, db.workspaceDir);
  if (db.activeDescription !== undefined) active.description = db.activeDescription;
  return {
    active,
    next: describeChoice(next, db.workspaceDir),
    restart_needed: next.source !== db.active.source || next.url !== db.active.url,
    env_locked: db.active.source === 'env',
    // A hand-edited value that could not be saved here (a password, say) is never sent back.
    preference: saved !== null && problem === null ? saved.trim() : null,
    preference_problem: problem,
  };
}

/**
 * Connects to `url` as the workspace would (PgSyncDatabase: PostgreSQL 15 or later), reads the
 * server's version and disconnects. Throws the same CastellanError opening the workspace would
 * (UNAVAILABLE with the server's reason, UNSUPPORTED for an old server).
 */
export function testDatabaseConnection(url: string): { description: string; server_version: string } {
  const db = PgSyncDatabase.open(url);
  try {
    const row = db.prepare("SELECT current_setting('server_version') AS v").get() as { v?: unknown } | undefined;
    return { description: db.where, server_version: String(row?.v ?? 'unknown') };
  } finally {
    db.close();
  }
}


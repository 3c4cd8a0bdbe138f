/**
 * Which database the app opens its workspace in (issue 14, Settings → Database):
 * CASTELLAN_DATABASE_URL when set (it wins, as in the CLI), else the admin's saved preference (a
 * postgres:// URL without a password, in electron-store), else the embedded file in the workspace
 * folder. The main process chooses once at start (`chooseDatabase`) and hands the choice to the
 * core worker in its init message; a changed preference is opened at the next start.
 *
 * Electron-free: the shell gives it `process.env` and the electron-store value, the tests plain data.
 * Light on purpose (no storage code): the Electron main process imports it. What opens, describes
 * and tests a choice is in database-status.ts, on the core's side.
 */

export type DatabaseSource = 'env' | 'preference' | 'default';

/** Plain data (it crosses to the core worker): a URL for PostgreSQL, none for the embedded file. */
export interface DatabaseChoice {
  source: DatabaseSource;
  url?: string;
}

/** Where the admin's choice is kept: electron-store in the app, memory in tests. */
export interface DatabasePreference {
  /** The saved URL, or null for the embedded file. */
  get(): string | null;
  /** Saves a URL (already checked: no password), or null for the embedded file. */
  set(url: string | null): void;
}

/** What the handlers of Settings → Database need from their host. */
export interface AppDatabase {
  /** What this run opened (fixed until the next start). */
  active: DatabaseChoice;
  preference: DatabasePreference;
  /** The workspace folder, for naming the embedded file. */
  workspaceDir: string;
  /** How to describe `active` when its URL is not known here (a host that opened the workspace itself). */
  activeDescription?: string;
}

export const DATABASE_ENV = 'CASTELLAN_DATABASE_URL';

/**
 * The choice for this start. Never throws: a malformed value is kept as chosen and refused, with
 * its reason, when the workspace is opened (`databaseToOpen`, database-status.ts), so the app starts and says why
 * instead of silently falling back to the embedded file — which would be a different authority.
 */
export function chooseDatabase(env: NodeJS.ProcessEnv, preference: string | null | undefined): DatabaseChoice {
  const fromEnv = env[DATABASE_ENV]?.trim();
  if (fromEnv) return { source: 'env', url: fromEnv };
  const saved = typeof preference === 'string' ? preference.trim() : '';
  if (saved !== '') return { source: 'preference', url: saved };
  return { source: 'default' };
}

/** An in-memory preference (the browser-test harness, unit tests). */
export function memoryDatabasePreference(initial: string | null = null): DatabasePreference {
  let current = initial;
  return {
    get: () => current,
    set(url) {
      current = url;
    },
  };
}

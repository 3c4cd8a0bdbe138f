/**
 * Chooses the engine for a workspace: a postgres:// (or postgresql://) URL selects PostgreSQL,
 * anything else is the path of the embedded SQLite file. Where the URL comes from — the
 * `--database` option, CASTELLAN_DATABASE_URL, Settings → Database — is the caller's business;
 * `databaseFromEnvironment` reads the variable.
 */
import { CastellanError } from '../../../shared/errors.ts';
import { openPostgresStorage } from './postgres-engine.ts';
import type { StoragePort } from './port.ts';
import { StorageError } from './port.ts';
import { openSqliteStorage } from './sqlite-engine.ts';

export type StorageTarget = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

export const MALFORMED_POSTGRES_URL = 'the PostgreSQL URL is malformed (expected postgres://user@host:port/database?options)';

/**
 * `value`, trimmed, when it is a postgres:// URL that parses; else INVALID_INPUT (`notPostgres`
 * when it is no postgres:// URL at all). Never quotes the value: a URL may hold a password.
 */
export function requirePostgresUrl(value: string, notPostgres = 'a postgres:// URL is required'): string {
  const v = value.trim();
  if (!isPostgresUrl(v)) throw new CastellanError('INVALID_INPUT', notPostgres);
  try {
    new URL(v);
  } catch {
    throw new CastellanError('INVALID_INPUT', MALFORMED_POSTGRES_URL);
  }
  return v;
}

/** What `--database VALUE` means. */
export function parseStorageTarget(value: string): StorageTarget {
  const v = value.trim();
  if (v === '') throw new StorageError('misuse', 'a database is required: a postgres:// URL or a SQLite file path');
  if (isPostgresUrl(v)) {
    try {
      new URL(v);
    } catch {
      throw new StorageError('misuse', MALFORMED_POSTGRES_URL);
    }
    return { engine: 'postgres', url: v };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new StorageError(
      'misuse',
      `unsupported database URL scheme "${v.split(':')[0]}": use postgres:// or a SQLite file path`,
    );
  }
  return { engine: 'sqlite', path: v };
}

/** CASTELLAN_DATABASE_URL, when set (team mode); undefined means the embedded file. */
export function databaseFromEnvironment(env: NodeJS.ProcessEnv = process.env): StorageTarget | undefined {
  const value = env.CASTELLAN_DATABASE_URL;
  return value === undefined || value.trim() === '' ? undefined : parseStorageTarget(value);
}

export async function openStorage(target: StorageTarget): Promise<StoragePort> {
  return target.engine === 'postgres'
    ? openPostgresStorage({ url: target.url })
    : openSqliteStorage({ path: target.path });
}

/**
 * Backup and restore of a workspace's database (`castellan backup --out FILE`,
 * `castellan restore FILE`).
 *
 * A backup is an online, consistent copy made with SQLite's backup API (node:sqlite `backup`),
 * while the app or other CLI processes keep working: every page is copied in ONE step, so the
 * copy is the database as of one committed transaction (a step reads under one read transaction;
 * in WAL mode writers carry on meanwhile, and nothing restarts the copy). The copy is then
 * checked — SQLite's quick_check, a known schema version, an audit chain that verifies — turned
 * into a single self-contained file (journal_mode DELETE), made 0600 and only then renamed to
 * FILE. The backup holds what the workspace holds: keys sealed under the vault's passphrases, so
 * the same passphrases unlock it; it is as sensitive as the workspace folder.
 *
 * A restore checks the file the same way before anything is touched, refuses a workspace that a
 * process has open (the app, a CLI, a serve command: SQLite's own locks say so), refuses an
 * existing workspace unless `force`, keeps the replaced database beside it
 * (castellan.db.before-restore-<time>), swaps the checked copy in by rename, and records the
 * restore in the restored audit chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { CastellanError } from '../../../shared/errors.ts';
import type { Actor } from './actor.ts';
import { Audit } from './audit.ts';
import { LATEST_SCHEMA_VERSION } from './schema.ts';
import { DB_FILE_NAME, Workspace } from './workspace.ts';

/** Pages per backup step: all of them, so the copy is one consistent snapshot (a step reads under one lock). */
const ALL_PAGES = 2 ** 31 - 1;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export interface BackupCheck {
  /** Entries in the audit chain (it verified). */
  auditEntries: number;
  tokens: number;
  schemaVersion: number;
}

export interface BackupResult extends BackupCheck {
  file: string;
  bytes: number;
}

export interface RestoreResult extends BackupCheck {
  dir: string;
  /** Where the replaced database was kept, or null if there was none. */
  previous: string | null;
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return code ?? 'I/O error';
}

function removeQuietly(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/**
 * Opens a copy and checks it is a whole Castellan database whose audit chain verifies; leaves
 * it as one file (journal_mode DELETE). `what` names the file in messages.
 */
export function checkDatabaseFile(file: string, what: string, actor: Actor): BackupCheck {
  let header: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      header = Buffer.alloc(SQLITE_HEADER.length);
      fs.readSync(fd, header, 0, header.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CastellanError('NOT_FOUND', `cannot read ${what}: ${errnoText(err)}`);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new CastellanError('INVALID_INPUT', `${what} is not a Castellan backup (not an SQLite database)`);
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
    const quick = db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
    if (quick.length !== 1 || quick[0]!.quick_check !== 'ok') {
      throw new CastellanError('INTEGRITY', `${what} is damaged: SQLite's check fails (${String(quick[0]?.quick_check).slice(0, 120)})`);
    }
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    if (version < 1 || !tables.has('audit') || !tables.has('tokens') || !tables.has('vault_slots')) {
      throw new CastellanError('INVALID_INPUT', `${what} is an SQLite database but not a Castellan workspace`);
    }
    if (version > LATEST_SCHEMA_VERSION) {
      throw new CastellanError(
        'INVALID_INPUT',
        `${what} was written by a newer Castellan (schema ${version}; this build knows up to ${LATEST_SCHEMA_VERSION})`,
      );
    }
    const verified = new Audit(db, actor).verify();
    if (!verified.ok) {
      throw new CastellanError('INTEGRITY', `${what}: its audit chain is broken at entry ${verified.brokenAt}: ${verified.reason}`);
    }
    const tokens = (db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n;
    db.exec('PRAGMA journal_mode = DELETE');
    return { auditEntries: verified.count, tokens, schemaVersion: version };
  } catch (err) {
    if (err instanceof CastellanError) throw err;
    throw new CastellanError('INVALID_INPUT', `${what} cannot be read as a Castellan backup (${(err as Error).message.slice(0, 120)})`);
  } finally {
    if (db?.isOpen) db.close();
  }
}

/**
 * Writes a consistent copy of the open workspace to `out` (which must not exist), checks it,
 * and audits it in the workspace. Other processes may keep writing meanwhile.
 */
export async function backupWorkspace(ws: Workspace, out: string): Promise<BackupResult> {
  if (typeof out !== 'string' || out === '') throw new CastellanError('INVALID_INPUT', 'a backup file name is required');
  const source = ws.sqliteHandle('backup');
  const file = path.resolve(out);
  if (fs.existsSync(file)) {
    throw new CastellanError('CONFLICT', `${out} already exists; a backup never overwrites a file (choose another name or remove it)`);
  }
  if (file === ws.dbPath || path.dirname(file) === ws.dir) {
    throw new CastellanError('INVALID_INPUT', 'write the backup outside the workspace folder: a backup beside the database is lost with it');
  }
  const tmp = `${file}.${process.pid}.partial`;
  try {
    try {
      fs.closeSync(fs.openSync(tmp, 'wx', 0o600));
    } catch (err) {
      throw new CastellanError('INVALID_INPUT', `cannot write ${out}: ${errnoText(err)}`);
    }
    await backup(source, tmp, { rate: ALL_PAGES });
    const check = checkDatabaseFile(tmp, 'the backup just written', ws.actor);
    fs.chmodSync(tmp, 0o600);
    // Audited in the same transaction that makes the file appear: if it cannot appear, no entry.
    ws.transaction(() => {
      ws.audit.append({
        action: 'workspace.backup',
        target: 'workspace',
        details: { file, audit_entries: check.auditEntries, ledger_rows: check.tokens, schema: check.schemaVersion },
      });
      // A hard link never replaces an existing file (EEXIST), unlike a rename.
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CastellanError('CONFLICT', `${out} appeared while the backup was written; nothing was replaced`);
        }
        throw new CastellanError('INVALID_INPUT', `cannot write ${out}: ${errnoText(err)}`);
      }
    });
    return { ...check, file, bytes: fs.statSync(file).size };
  } finally {
    removeQuietly(tmp);
  }
}

/**
 * True when some process has the database open (the app, a CLI, a server): in WAL mode every
 * connection holds a shared lock for as long as it is open, so an exclusive lock is refused.
 */
function inUse(dbPath: string): boolean {
  const db = new DatabaseSync(dbPath, { timeout: 0 });
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    // Fold any WAL into the file before it is set aside, so the kept copy is complete on its own.
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return false;
  } catch {
    return true;
  } finally {
    db.close();
  }
}

/**
 * Replaces the workspace in `dir` with the backup `file`, after checking it. Refuses an
 * existing workspace without `force`, and a workspace any process has open, always.
 */
export function restoreWorkspace(file: string, dir: string, opts: { force?: boolean; actor: Actor }): RestoreResult {
  const source = path.resolve(file);
  const target = path.resolve(dir);
  const dbPath = path.join(target, DB_FILE_NAME);
  if (source === dbPath) throw new CastellanError('INVALID_INPUT', 'that file is the workspace’s own database');
  if (!fs.existsSync(source)) throw new CastellanError('NOT_FOUND', `cannot read ${file}: no such file`);
  const exists = fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0;
  // Refusals that need no copy come first.
  if (exists && opts.force !== true) {
    throw new CastellanError(
      'CONFLICT',
      `a workspace already exists at ${target}; restore --force replaces it (its database is kept beside it as castellan.db.before-restore-<time>)`,
    );
  }
  if (exists && inUse(dbPath)) {
    throw new CastellanError('CONFLICT', `the workspace at ${target} is in use by another process (the app, a CLI or a server); close it and try again`);
  }
  // The copy is checked inside the target folder (one rename away from its place); a folder made
  // for it goes again if the restore does not happen.
  const createdDir = fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  const staging = path.join(target, `${DB_FILE_NAME}.restore-${process.pid}`);
  let previous: string | null = null;
  let restored = false;
  try {
    try {
      fs.copyFileSync(source, staging, fs.constants.COPYFILE_EXCL);
      fs.chmodSync(staging, 0o600);
    } catch (err) {
      throw new CastellanError('INVALID_INPUT', `cannot copy ${file} into ${target}: ${errnoText(err)}`);
    }
    const check = checkDatabaseFile(staging, file, opts.actor);
    if (exists) {
      // Checked again: a process may have opened it while the copy was being checked.
      if (inUse(dbPath)) {
        throw new CastellanError('CONFLICT', `the workspace at ${target} is in use by another process (the app, a CLI or a server); close it and try again`);
      }
      previous = path.join(target, `${DB_FILE_NAME}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      fs.renameSync(dbPath, previous);
      for (const side of ['-wal', '-shm']) fs.rmSync(`${dbPath}${side}`, { force: true });
    }
    fs.renameSync(staging, dbPath);
    try {
      const ws = Workspace.open(target, { actor: opts.actor });
      try {
        ws.transaction(() => {
          ws.audit.append({
            action: 'workspace.restore',
            target: 'workspace',
            details: { from: source, previous, audit_entries: check.auditEntries, ledger_rows: check.tokens },
          });
        });
        const after = ws.audit.verify();
        if (!after.ok) throw new CastellanError('INTEGRITY', `the restored audit chain does not verify: ${after.reason}`);
        restored = true;
        return { ...check, auditEntries: after.count, dir: target, previous };
      } finally {
        ws.close();
      }
    } catch (err) {
      // Put the workspace back as it was: the restore did not happen.
      removeQuietly(dbPath);
      if (previous !== null) fs.renameSync(previous, dbPath);
      throw err;
    }
  } finally {
    removeQuietly(staging);
    if (!restored && createdDir !== undefined) fs.rmSync(createdDir, { recursive: true, force: true });
  }
}

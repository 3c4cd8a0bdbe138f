import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SqlDatabase } from '../../electron/core/storage/sql-database.ts';
import { CastellanError } from '../../shared/errors.ts';
import { currentActor, currentHostName } from '../../electron/core/workspace/actor.ts';
import type { Actor } from '../../electron/core/workspace/actor.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, TABLES } from '../../electron/core/workspace/schema.ts';
import {
  CHECKPOINT_IDLE_MS,
  defaultWorkspaceDir,
  resolveWorkspaceDir,
  WAL_CHECKPOINT_BYTES,
  WAL_SIZE_LIMIT_BYTES,
  Workspace,
} from '../../electron/core/workspace/workspace.ts';

const APP: Actor = { user: 'alice', kind: 'app' };
const CLI: Actor = { user: 'bob', kind: 'cli' };

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-'));
}

function openAt(dir: string, actor: Actor = APP): Workspace {
  return Workspace.open(dir, { actor });
}

function expectError(code: string, message?: string | RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CastellanError, `expected a CastellanError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  };
}

function pragma(db: SqlDatabase, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return Object.values(row)[0];
}

function setMeta(ws: Workspace, key: string, value: string): void {
  ws.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
}

function metaValue(ws: Workspace, key: string): string | undefined {
  return (ws.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

function auditCount(ws: Workspace): number {
  return (ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
}

test('a new workspace gets every table, the latest schema version and the connection settings', () => {
  const dir = path.join(tempDir(), 'nested', 'ws');
  const ws = openAt(dir);
  try {
    const tables = (
      ws.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((r) => r.name);
    for (const table of TABLES) assert.ok(tables.includes(table), `missing table ${table}`);
    assert.equal(pragma(ws.db, 'user_version'), LATEST_SCHEMA_VERSION);
    assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.length);
    assert.equal(pragma(ws.db, 'journal_mode'), 'wal');
    assert.equal(pragma(ws.db, 'foreign_keys'), 1);
    assert.equal(pragma(ws.db, 'busy_timeout'), 5000);
    assert.equal(pragma(ws.db, 'synchronous'), 2); // FULL
    assert.equal(ws.dir, dir);
    assert.equal(ws.dbPath, path.join(dir, 'castellan.db'));
    // The machine is filled in when the caller gave none: every entry names where it was written.
    assert.deepEqual(ws.actor, { ...APP, host: currentHostName() });
    if (process.platform !== 'win32') {
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.equal(fs.statSync(ws.dbPath).mode & 0o777, 0o600);
    }
  } finally {
    ws.close();
  }
});

test('reopening a workspace keeps its data and does not re-run migrations', () => {
  const dir = tempDir();
  const first = openAt(dir);
  first.transaction(() => setMeta(first, 'issuer', 'castellan-test'));
  first.close();
  const second = openAt(dir);
  try {
    assert.equal(metaValue(second, 'issuer'), 'castellan-test');
    assert.equal(pragma(second.db, 'user_version'), LATEST_SCHEMA_VERSION);
  } finally {
    second.close();
  }
});

test('an existing folder is used as it is', () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o750);
  openAt(dir).close();
  if (process.platform !== 'win32') assert.equal(fs.statSync(dir).mode & 0o777, 0o750);
  assert.ok(fs.existsSync(path.join(dir, 'castellan.db')));
});

test('a database from a newer Castellan is refused and left untouched', () => {
  const dir = tempDir();
  const ws = openAt(dir);
  ws.transaction(() => setMeta(ws, 'issuer', 'kept'));
  ws.close();
  const raw = new DatabaseSync(path.join(dir, 'castellan.db'));
  raw.exec(`PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 1}`);
  raw.close();
  const before = fs.readFileSync(path.join(dir, 'castellan.db'));

  assert.throws(
    () => openAt(dir),
    expectError(
      'UNSUPPORTED',
      `castellan.db was written by a newer Castellan (schema ${LATEST_SCHEMA_VERSION + 1}; this build knows up to ${LATEST_SCHEMA_VERSION})`,
    ),
  );

  assert.deepEqual(fs.readFileSync(path.join(dir, 'castellan.db')), before);
  const check = new DatabaseSync(path.join(dir, 'castellan.db'), { readOnly: true });
  assert.equal(pragma(check, 'user_version'), LATEST_SCHEMA_VERSION + 1);
  check.close();
});

test('a file that is not a SQLite database is refused clearly and left untouched', () => {
  const dir = tempDir();
  const dbPath = path.join(dir, 'castellan.db');
  const garbage = Buffer.alloc(8192);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 251;
  fs.writeFileSync(dbPath, garbage);

  assert.throws(() => openAt(dir), expectError('INTEGRITY', /castellan\.db is not a Castellan workspace database/));

  assert.deepEqual(fs.readFileSync(dbPath), garbage);
  assert.deepEqual(fs.readdirSync(dir), ['castellan.db']);
});

test('a database cut off inside its header is refused clearly', () => {
  const dir = tempDir();
  openAt(dir).close();
  const dbPath = path.join(dir, 'castellan.db');
  fs.truncateSync(dbPath, 50);
  const before = fs.readFileSync(dbPath);

  assert.throws(() => openAt(dir), expectError('INTEGRITY', /is not a Castellan workspace database/));
  assert.deepEqual(fs.readFileSync(dbPath), before);
});

test('a database missing its later pages is refused as truncated', () => {
  const dir = tempDir();
  openAt(dir).close();
  const dbPath = path.join(dir, 'castellan.db');
  const fullSize = fs.statSync(dbPath).size;
  assert.ok(fullSize > 8192, 'the schema should span more than two pages');
  fs.truncateSync(dbPath, 8192);

  assert.throws(
    () => openAt(dir),
    expectError('INTEGRITY', /castellan\.db is truncated \(8192 bytes; its header says \d+\)/),
  );
  assert.equal(fs.statSync(dbPath).size, 8192);
});

test('a workspace path that is a file is refused', () => {
  const file = path.join(tempDir(), 'not-a-folder');
  fs.writeFileSync(file, 'x');
  assert.throws(() => openAt(file), expectError('INVALID_INPUT', /is not a folder/));
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
});

test('an actor without a user is refused before anything is created', () => {
  const dir = path.join(tempDir(), 'ws');
  assert.throws(() => Workspace.open(dir, { actor: { user: ' ', kind: 'app' } }), expectError('INVALID_INPUT'));
  assert.equal(fs.existsSync(dir), false);
});

test('the app and the CLI can have one workspace open and write in turns', () => {
  const dir = tempDir();
  const app = openAt(dir, APP);
  const cli = openAt(dir, CLI);
  try {
    for (let i = 0; i < 5; i++) {
      app.transaction(() => {
        setMeta(app, `app_${i}`, String(i));
        app.audit.append({ action: 'test.write', target: `app:${i}`, details: { i } });
      });
      cli.transaction(() => {
        setMeta(cli, `cli_${i}`, String(i));
        cli.audit.append({ action: 'test.write', target: `cli:${i}`, details: { i } });
      });
    }
    for (const ws of [app, cli]) {
      assert.deepEqual(ws.audit.verify(), { ok: true, count: 10 });
      assert.equal(metaValue(ws, 'app_4'), '4');
      assert.equal(metaValue(ws, 'cli_4'), '4');
    }
    const kinds = (app.db.prepare('SELECT actor_kind FROM audit ORDER BY seq').all() as { actor_kind: string }[]).map(
      (r) => r.actor_kind,
    );
    assert.deepEqual(kinds, ['app', 'cli', 'app', 'cli', 'app', 'cli', 'app', 'cli', 'app', 'cli']);
  } finally {
    app.close();
    cli.close();
  }
});

test('a workspace opens while another process holds the write lock', () => {
  const dir = tempDir();
  const holder = openAt(dir, CLI);
  try {
    holder.db.exec('BEGIN IMMEDIATE');
    setMeta(holder, 'pending', '1');
    const reader = openAt(dir, APP);
    assert.equal(metaValue(reader, 'pending'), undefined);
    reader.close();
    holder.db.exec('COMMIT');
  } finally {
    holder.close();
  }
});

test('a throw inside a transaction undoes everything, the audit entry included, and is rethrown', () => {
  const ws = openAt(tempDir());
  try {
    const boom = new Error('boom');
    assert.throws(
      () =>
        ws.transaction(() => {
          setMeta(ws, 'crl_number', '1');
          ws.audit.append({ action: 'test.write', target: 'meta:crl_number', details: {} });
          throw boom;
        }),
      (err) => err === boom,
    );
    assert.equal(metaValue(ws, 'crl_number'), undefined);
    assert.equal(auditCount(ws), 0);
    assert.equal(ws.db.isTransaction, false);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 0 });
  } finally {
    ws.close();
  }
});

test('a nested transaction that fails undoes only its own work', () => {
  const ws = openAt(tempDir());
  try {
    const result = ws.transaction(() => {
      setMeta(ws, 'outer', '1');
      assert.throws(() =>
        ws.transaction(() => {
          setMeta(ws, 'inner', '1');
          ws.audit.append({ action: 'test.inner', target: 'x', details: {} });
          throw new Error('inner fails');
        }),
      );
      ws.transaction(() => setMeta(ws, 'inner_ok', '1'));
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal(metaValue(ws, 'outer'), '1');
    assert.equal(metaValue(ws, 'inner'), undefined);
    assert.equal(metaValue(ws, 'inner_ok'), '1');
    assert.equal(auditCount(ws), 0);
  } finally {
    ws.close();
  }
});

test('a failing outer transaction also undoes nested work that succeeded', () => {
  const ws = openAt(tempDir());
  try {
    assert.throws(() =>
      ws.transaction(() => {
        ws.transaction(() => setMeta(ws, 'inner', '1'));
        throw new Error('outer fails');
      }),
    );
    assert.equal(metaValue(ws, 'inner'), undefined);
  } finally {
    ws.close();
  }
});

test('an async transaction body is refused and rolled back', () => {
  const ws = openAt(tempDir());
  try {
    assert.throws(
      () =>
        ws.transaction(() => {
          setMeta(ws, 'async', '1');
          return Promise.resolve(1);
        }),
      expectError('INTERNAL', /must be synchronous/),
    );
    assert.equal(metaValue(ws, 'async'), undefined);
  } finally {
    ws.close();
  }
});

test('a closed workspace refuses transactions, and closing twice is harmless', () => {
  const ws = openAt(tempDir());
  ws.close();
  ws.close();
  assert.equal(ws.closed, true);
  assert.throws(() => ws.transaction(() => 1), expectError('INTERNAL', /closed/));
});

test('foreign keys are enforced and services go with their deployment', () => {
  const ws = openAt(tempDir());
  try {
    const now = new Date().toISOString();
    assert.throws(() =>
      ws.db.prepare("INSERT INTO services (deployment, name, labels) VALUES ('ghost', 'web', '{}')").run(),
    );
    ws.db
      .prepare('INSERT INTO deployments (name, source_yaml, imported_at, updated_at) VALUES (?, ?, ?, ?)')
      .run('shop', 'x', now, now);
    ws.db.prepare("INSERT INTO services (deployment, name, labels) VALUES ('shop', 'web', '{}')").run();
    ws.db.prepare("DELETE FROM deployments WHERE name = 'shop'").run();
    assert.equal((ws.db.prepare('SELECT count(*) AS n FROM services').get() as { n: number }).n, 0);
  } finally {
    ws.close();
  }
});

test('at most one signing key per profile is active', () => {
  const ws = openAt(tempDir());
  try {
    const insert = ws.db.prepare(
      "INSERT INTO signing_keys (id, profile, alg, state, sealed_private, created_at) VALUES (?, 'ed25519', 'EdDSA', ?, x'00', '2026-01-01T00:00:00.000Z')",
    );
    insert.run('k1', 'active');
    insert.run('k2', 'verify-only');
    assert.throws(() => insert.run('k3', 'active'), /UNIQUE constraint failed/);
    assert.throws(() => insert.run('k4', 'unknown-state'), /CHECK constraint failed/);
    const ids = (ws.db.prepare('SELECT id FROM signing_keys ORDER BY id').all() as { id: string }[]).map((r) => r.id);
    assert.deepEqual(ids, ['k1', 'k2']);
  } finally {
    ws.close();
  }
});

test('every token column can be filtered and sorted through an index', () => {
  const ws = openAt(tempDir());
  try {
    const columns = [
      'jti',
      'subject',
      'deployment',
      'container',
      'profile',
      'key_id',
      'kid',
      'scopes',
      'issued_at',
      'expires_at',
      'revoked_at',
      'revoke_reason',
      'replaced_by',
      'token_sha256',
      'forced_ttl',
      'service',
    ];
    for (const column of columns) {
      const plan = (
        ws.db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM tokens ORDER BY ${column} DESC LIMIT 50`).all() as {
          detail: string;
        }[]
      )
        .map((r) => r.detail)
        .join(' | ');
      assert.doesNotMatch(plan, /TEMP B-TREE/, `sorting on ${column} needs an index: ${plan}`);
      const filter = (
        ws.db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM tokens WHERE ${column} = ?`).all(1) as {
          detail: string;
        }[]
      )
        .map((r) => r.detail)
        .join(' | ');
      assert.match(filter, /USING (COVERING )?INDEX/, `filtering on ${column} needs an index: ${filter}`);
    }
    // The derived statuses (active, expired) and the per-deployment newest-first view.
    for (const sql of [
      'SELECT * FROM tokens WHERE revoked_at IS NULL AND expires_at >= ? ORDER BY expires_at LIMIT 50',
      'SELECT * FROM tokens WHERE revoked_at IS NULL AND expires_at < ? ORDER BY expires_at DESC LIMIT 50',
      'SELECT * FROM tokens WHERE deployment = ? ORDER BY issued_at DESC LIMIT 50',
    ]) {
      const plan = (ws.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(0) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
      assert.match(plan, /USING (COVERING )?INDEX/, `${sql}: ${plan}`);
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${sql}: ${plan}`);
    }
  } finally {
    ws.close();
  }
});

test('the default workspace folder matches Electron userData for "Castellan" on each platform', () => {
  assert.equal(defaultWorkspaceDir({}, 'linux', '/home/ann'), '/home/ann/.config/Castellan/workspace');
  assert.equal(defaultWorkspaceDir({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/ann'), '/xdg/Castellan/workspace');
  assert.equal(
    defaultWorkspaceDir({ XDG_CONFIG_HOME: '' }, 'linux', '/home/ann'),
    '/home/ann/.config/Castellan/workspace',
  );
  assert.equal(
    defaultWorkspaceDir({ XDG_CONFIG_HOME: '/xdg' }, 'darwin', '/Users/ann'),
    '/Users/ann/Library/Application Support/Castellan/workspace',
  );
  assert.equal(
    defaultWorkspaceDir({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'win32', 'C:\\Users\\ann'),
    'C:\\Users\\ann\\AppData\\Roaming\\Castellan\\workspace',
  );
});

test('--data-dir beats CASTELLAN_DATA_DIR, which beats the default', () => {
  const env = { CASTELLAN_DATA_DIR: '/srv/castellan', XDG_CONFIG_HOME: '/xdg' };
  assert.equal(resolveWorkspaceDir('/tmp/flag-ws', env, 'linux', '/home/ann'), '/tmp/flag-ws');
  assert.equal(resolveWorkspaceDir(undefined, env, 'linux', '/home/ann'), '/srv/castellan');
  assert.equal(resolveWorkspaceDir('', env, 'linux', '/home/ann'), '/srv/castellan');
  assert.equal(
    resolveWorkspaceDir(undefined, { XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/ann'),
    '/xdg/Castellan/workspace',
  );
  assert.equal(resolveWorkspaceDir('relative/ws', {}, 'linux', '/home/ann'), path.resolve('relative/ws'));
});

test('currentActor names the OS user and the front end', () => {
  const actor = currentActor('cli');
  assert.equal(actor.kind, 'cli');
  assert.ok(actor.user.length > 0);
  assert.throws(() => currentActor('web' as 'app'), expectError('INVALID_INPUT'));
});

// --- Checkpoint policy (workspace.ts): never inside a commit, yet the WAL stays bounded ---

const MIB = 1024 * 1024;

function writeBlob(ws: Workspace, key: string, bytes: number): void {
  ws.transaction(() => {
    ws.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, 'x'.repeat(bytes));
  });
}

function fileBytes(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

test('commits leave the checkpoint to an idle moment, which copies the WAL into the database', async () => {
  const ws = openAt(tempDir());
  try {
    assert.equal(pragma(ws.db, 'wal_autocheckpoint'), 0);
    assert.equal(pragma(ws.db, 'journal_size_limit'), WAL_SIZE_LIMIT_BYTES);
    const dbBefore = fileBytes(ws.dbPath);
    // Past SQLite's own threshold (1000 pages): with the automatic checkpoint on, this commit
    // would have copied the pages into the database file itself.
    writeBlob(ws, 'blob', 6 * MIB);
    assert.ok(ws.walFileBytes() > 6 * MIB, `the commit is in the WAL (${ws.walFileBytes()} bytes)`);
    assert.equal(fileBytes(ws.dbPath), dbBefore, 'the commit did not checkpoint');
    await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_IDLE_MS + 400));
    assert.ok(fileBytes(ws.dbPath) > dbBefore + 6 * MIB, 'the idle checkpoint copied the pages');
    // Fully checkpointed: the next commit starts the WAL over and cuts the file back.
    writeBlob(ws, 'small', 10);
    assert.ok(ws.walFileBytes() <= WAL_SIZE_LIMIT_BYTES, `WAL cut back (${ws.walFileBytes()} bytes)`);
    assert.equal(ws.checkpoint(), true);
    assert.equal(metaValue(ws, 'small'), 'x'.repeat(10));
  } finally {
    ws.close();
  }
});

test('commits back to back, with no idle moment, still keep the WAL bounded', () => {
  const ws = openAt(tempDir());
  try {
    const step = 6 * MIB;
    let largest = 0;
    for (let i = 0; i < Math.ceil((WAL_CHECKPOINT_BYTES * 2) / step); i++) {
      // New rows each time: rewriting the same pages can reuse their frames and hide growth.
      writeBlob(ws, `blob_${i}`, step);
      largest = Math.max(largest, ws.walFileBytes());
    }
    // The commit that takes the WAL past the bound checkpoints; the next one restarts it.
    assert.ok(
      largest < WAL_CHECKPOINT_BYTES + 2 * step,
      `the WAL reached ${largest} bytes, bound ${WAL_CHECKPOINT_BYTES}`,
    );
    assert.equal(metaValue(ws, 'blob_0')?.length, step);
  } finally {
    ws.close();
  }
});

test('closing checkpoints and empties the WAL, even while another connection has the workspace open', () => {
  const dir = tempDir();
  const app = openAt(dir, APP);
  const cli = openAt(dir, CLI);
  try {
    writeBlob(cli, 'from_cli', MIB);
    app.transaction(() => app.audit.append({ action: 'test.write', target: 'x', details: {} }));
    assert.ok(app.walFileBytes() > MIB);
    app.close();
    assert.equal(fileBytes(`${app.dbPath}-wal`), 0, 'the WAL was truncated');
    assert.equal(metaValue(cli, 'from_cli')?.length, MIB);
    assert.deepEqual(cli.audit.verify(), { ok: true, count: 1 });
  } finally {
    app.close();
    cli.close();
  }
  // The last connection to close removes the WAL altogether.
  assert.equal(fs.existsSync(path.join(dir, 'castellan.db-wal')), false);
});

test('committed work survives a SIGKILL before any checkpoint ran', () => {
  const dir = tempDir();
  openAt(dir).close(); // the schema, checkpointed
  const workspaceModule = new URL('../../electron/core/workspace/workspace.ts', import.meta.url).href;
  // The child commits (each COMMIT fsynced to the WAL) and is killed at once, before the idle
  // checkpoint could run: everything it committed is in the WAL only.
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
      const { Workspace } = await import(${JSON.stringify(workspaceModule)});
      const ws = Workspace.open(process.argv[1], { actor: { user: 'child', kind: 'cli' } });
      for (let i = 0; i < 20; i++) {
        ws.transaction(() => {
          ws.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('k' + i, 'v' + i);
          ws.audit.append({ action: 'test.crash', target: 'meta:k' + i, details: { i } });
        });
      }
      process.stdout.write(String(ws.walFileBytes()));
      process.kill(process.pid, 'SIGKILL');
      `,
      dir,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  assert.ok(Number(child.stdout) > 0, 'the commits were in the WAL when the process died');
  assert.ok(fileBytes(path.join(dir, 'castellan.db-wal')) > 0);
  const ws = openAt(dir);
  try {
    for (let i = 0; i < 20; i++) assert.equal(metaValue(ws, `k${i}`), `v${i}`);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 20 });
  } finally {
    ws.close();
  }
});

/**
 * Settings → Database (issue 14, point 2: the app side) through the real app router
 * (createAppRouter) and through the core worker host: which database the app opens
 * (CASTELLAN_DATABASE_URL, else the saved preference, else the embedded file), and
 * workspace:database / workspace:setDatabase / workspace:testDatabase. A saved URL never holds a
 * password; a refused request changes nothing; a change re-authenticates.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { databaseUrlProblem, MAX_DATABASE_URL_BYTES } from '../../shared/database-url.ts';
import { startCoreHost } from '../../electron/core/ipc/core-host.ts';
import { chooseDatabase, memoryDatabasePreference, type AppDatabase } from '../../electron/core/workspace/database-choice.ts';
import { databaseToOpen } from '../../electron/core/workspace/database-status.ts';
import { memorySettings } from '../../electron/core/workspace/settings.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { freshPostgresDatabase, onCluster, PG_SKIP } from '../harness/pg-database.ts';
import { openTestWorkspace, tempDir, testRouter, testServices, QueuedDialogs, type TestServices } from '../harness/services.ts';

const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const PASSPHRASE = 'correct horse battery staple';
const REAUTH = { passphrase: PASSPHRASE };
const TEAM_URL = 'postgres://castellan@db.example:5432/castellan?sslmode=verify-full';
const WORKER = new URL('../../electron/core/ipc/core-worker.ts', import.meta.url);
const ACTOR = { user: 'tester', kind: 'app' } as const;
const KDF = { N: 2 ** 10, r: 8, p: 1 };

type Status = {
  active: { engine: string; description: string; source: string };
  next: { engine: string; description: string; source: string };
  restart_needed: boolean;
  env_locked: boolean;
  preference: string | null;
  preference_problem: string | null;
};
type Failure = { ok: false; error: { code: string; message: string; issues?: { path: string; message: string }[] } };

function harness(options: { vault?: boolean; database?: Partial<AppDatabase> } = {}) {
  const ws = openTestWorkspace();
  if (options.vault !== false) ws.vault.initialize(PASSPHRASE);
  const database: AppDatabase = {
    active: { source: 'default' },
    preference: memoryDatabasePreference(),
    workspaceDir: ws.dir,
    ...options.database,
  };
  const services: TestServices = { ...testServices(ws), database };
  const router = testRouter(services)(ORIGIN);
  const call = <T = unknown>(channel: string, input: unknown = {}) => router.dispatch(channel, SENDER, input) as Promise<Envelope<T>>;
  async function ok<T = Status>(channel: string, input: unknown = {}): Promise<T> {
    const answer = await call<T>(channel, input);
    assert.equal(answer.ok, true, `${channel}: ${JSON.stringify(answer)}`);
    return (answer as { ok: true; data: T }).data;
  }
  async function refused(channel: string, input: unknown, code: string, message: RegExp): Promise<Failure['error']> {
    const answer = await call(channel, input);
    assert.equal(answer.ok, false, `${channel} should be refused`);
    const error = (answer as Failure).error;
    assert.equal(error.code, code, JSON.stringify(error));
    const text = [error.message, ...(error.issues ?? []).map((i) => i.message)].join(' | ');
    assert.match(text, message);
    return error;
  }
  const auditActions = () => ws.audit.list({ limit: 1000 }).rows.map((r) => r.action);
  return { ws, services, database, call, ok, refused, auditActions, close: () => ws.close() };
}

describe('which database the app opens', () => {
  test('CASTELLAN_DATABASE_URL wins over the preference, the preference over the embedded file; blank values do not count', () => {
    assert.deepEqual(chooseDatabase({ CASTELLAN_DATABASE_URL: 'postgres://a@env/x' }, TEAM_URL), { source: 'env', url: 'postgres://a@env/x' });
    assert.deepEqual(chooseDatabase({ CASTELLAN_DATABASE_URL: '   ' }, TEAM_URL), { source: 'preference', url: TEAM_URL });
    assert.deepEqual(chooseDatabase({}, TEAM_URL), { source: 'preference', url: TEAM_URL });
    assert.deepEqual(chooseDatabase({}, '  '), { source: 'default' });
    assert.deepEqual(chooseDatabase({}, null), { source: 'default' });
  });

  test('a chosen database that cannot be used is refused with its reason, never replaced by the embedded file', () => {
    assert.equal(databaseToOpen({ source: 'default' }), undefined);
    assert.equal(databaseToOpen({ source: 'preference', url: ` ${TEAM_URL} ` }), TEAM_URL);
    // The environment may carry a password (it is not saved anywhere by Castellan).
    assert.equal(databaseToOpen({ source: 'env', url: 'postgres://u:pw@h/db' }), 'postgres://u:pw@h/db');
    assert.throws(() => databaseToOpen({ source: 'env', url: 'mysql://h/db' }), /CASTELLAN_DATABASE_URL must be a postgres:\/\/ URL/);
    // A hand-edited preference holding a password.
    assert.throws(
      () => databaseToOpen({ source: 'preference', url: 'postgres://u:hunter2@h/db' }),
      (err: Error) =>
        /saved in Settings → Database cannot be used: the URL contains a password/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  test('the URL check: each refusal says what is wrong, none quotes the URL back', () => {
    const cases: [string, RegExp][] = [
      ['', /enter a postgres:\/\/ URL/],
      ['mysql://h/db', /must start with postgres:\/\//],
      ['/var/lib/castellan.db', /must start with postgres:\/\//],
      ['postgres://u:s3cret@h/db', /contains a password.*~\/\.pgpass or the PGPASSWORD/],
      ['postgres://u:@h/db', /contains a password/],
      ['postgresql://u@h/db?sslmode=require&password=s3cret', /password= option.*PGPASSWORD/],
      ['postgres://u@h/db?sslpassword=s3cret', /sslpassword= option/],
      ['postgres://u@h /db', /spaces or control characters/],
      ['postgres://u@h:99999/db', /malformed/],
      ['postgres://u@h/db#x', /#fragment/],
      [`postgres://u@h/${'d'.repeat(MAX_DATABASE_URL_BYTES)}`, /longer than 2048 bytes/],
      [`postgres://u@h/${'é'.repeat(1100)}`, /longer than 2048 bytes/],
    ];
    for (const [url, message] of cases) {
      const problem = databaseUrlProblem(url);
      assert.match(problem ?? '(accepted)', message, url.slice(0, 60));
      assert.ok(!problem?.includes('s3cret'), 'the message does not quote the secret');
    }
    for (const url of [TEAM_URL, 'postgresql://castellan@localhost/castellan?host=/run/postgresql', 'postgres:///castellan?host=/tmp']) {
      assert.equal(databaseUrlProblem(url), null, url);
    }
  });
});

describe('workspace:database / setDatabase through the router', () => {
  test('the embedded file by default: engine, where, source; nothing pending', async (t) => {
    const h = harness();
    t.after(h.close);
    const status = await h.ok('workspace:database');
    assert.deepEqual(status.active, {
      engine: 'sqlite',
      description: `the embedded file ${path.join(h.ws.dir, 'castellan.db')}`,
      source: 'default',
    });
    assert.deepEqual(status.next, status.active);
    assert.equal(status.restart_needed, false);
    assert.equal(status.env_locked, false);
    assert.equal(status.preference, null);
    assert.equal(status.preference_problem, null);
  });

  test('saving a URL: re-authenticates, saves it for the next start, audits it without the user name', async (t) => {
    const h = harness();
    t.after(h.close);
    const before = h.auditActions().length;
    const status = await h.ok('workspace:setDatabase', { url: `  ${TEAM_URL}  `, reauth: REAUTH });
    assert.equal(h.database.preference.get(), TEAM_URL, 'saved trimmed');
    assert.equal(status.preference, TEAM_URL);
    assert.equal(status.active.engine, 'sqlite', 'this run keeps the database it opened');
    assert.deepEqual(status.next, { engine: 'postgres', description: 'database castellan on db.example:5432', source: 'preference' });
    assert.equal(status.restart_needed, true);

    const entries = h.ws.audit.list({ limit: 1000 }).rows;
    assert.equal(entries.length, before + 1);
    const entry = entries.find((e) => e.action === 'workspace.database');
    assert.ok(entry, 'the change is in the audit log');
    assert.deepEqual(entry.details, { engine: 'postgres', database: 'database castellan on db.example:5432', takes_effect: 'next start' });

    // Back to the embedded file: nothing pending any more.
    const cleared = await h.ok('workspace:setDatabase', { url: null, reauth: REAUTH });
    assert.equal(h.database.preference.get(), null);
    assert.equal(cleared.preference, null);
    assert.equal(cleared.restart_needed, false);
    assert.equal(cleared.next.engine, 'sqlite');
  });

  test('a URL with a password is refused with the advice, is not saved and is not echoed', async (t) => {
    const h = harness();
    t.after(h.close);
    h.database.preference.set(TEAM_URL);
    for (const url of ['postgres://castellan:hunter2@db.example/castellan', 'postgres://castellan@db.example/castellan?password=hunter2']) {
      const answer = await h.call('workspace:setDatabase', { url, reauth: REAUTH });
      assert.equal(answer.ok, false);
      const error = (answer as Failure).error;
      assert.equal(error.code, 'INVALID_INPUT');
      assert.match(error.issues?.[0]?.message ?? '', /password.*Castellan does not save passwords.*~\/\.pgpass or the PGPASSWORD/);
      assert.ok(!JSON.stringify(answer).includes('hunter2'), 'the answer does not carry the password');
    }
    assert.equal(h.database.preference.get(), TEAM_URL, 'the saved preference is unchanged');
    assert.ok(!h.auditActions().includes('workspace.database'));
  });

  test('malformed input is refused with a specific message and nothing changes', async (t) => {
    const h = harness();
    t.after(h.close);
    await h.refused('workspace:setDatabase', { url: 'mysql://db.example/castellan', reauth: REAUTH }, 'INVALID_INPUT', /must start with postgres:\/\//);
    await h.refused('workspace:setDatabase', { url: 'postgres://db.example:70000/x', reauth: REAUTH }, 'INVALID_INPUT', /malformed/);
    await h.refused('workspace:setDatabase', { url: `postgres://h/${'x'.repeat(3000)}`, reauth: REAUTH }, 'INVALID_INPUT', /longer than 2048 bytes/);
    await h.refused('workspace:setDatabase', { url: 42, reauth: REAUTH }, 'INVALID_INPUT', /expected string/);
    await h.refused('workspace:setDatabase', { reauth: REAUTH }, 'INVALID_INPUT', /expected string|received undefined/);
    await h.refused('workspace:setDatabase', { url: TEAM_URL, reauth: REAUTH, extra: 1 }, 'INVALID_INPUT', /extra|Unrecognized/i);
    assert.equal(h.database.preference.get(), null);
    assert.equal((await h.ok('workspace:database')).restart_needed, false);
    assert.ok(!h.auditActions().includes('workspace.database'));
  });

  test('no re-authentication, or a wrong passphrase: refused, nothing saved', async (t) => {
    const h = harness();
    t.after(h.close);
    await h.refused('workspace:setDatabase', { url: TEAM_URL }, 'INVALID_INPUT', /re-authentication is required/);
    const wrong = await h.call('workspace:setDatabase', { url: TEAM_URL, reauth: { passphrase: 'not it' } });
    assert.equal(wrong.ok, false);
    assert.notEqual((wrong as Failure).error.code, 'INTERNAL');
    await h.refused('workspace:setDatabase', { url: null }, 'INVALID_INPUT', /re-authentication is required/);
    assert.equal(h.database.preference.get(), null);
    assert.ok(!h.auditActions().includes('workspace.database'));
  });

  test('CASTELLAN_DATABASE_URL wins: shown as such (no user, no password), and the preference cannot be changed', async (t) => {
    const h = harness({ database: { active: { source: 'env', url: 'postgres://ops:hunter2@pg.internal:6432/authority' } } });
    t.after(h.close);
    h.database.preference.set(TEAM_URL);
    const status = await h.ok('workspace:database');
    assert.deepEqual(status.active, { engine: 'postgres', description: 'database authority on pg.internal:6432', source: 'env' });
    assert.deepEqual(status.next, status.active, 'the environment still wins at the next start');
    assert.equal(status.env_locked, true);
    assert.equal(status.restart_needed, false);
    const text = JSON.stringify(status);
    assert.ok(!text.includes('hunter2') && !text.includes('ops'), 'neither the password nor the user name is shown');

    await h.refused('workspace:setDatabase', { url: null, reauth: REAUTH }, 'CONFLICT', /CASTELLAN_DATABASE_URL is set/);
    await h.refused('workspace:setDatabase', { url: 'postgres://x@y/z', reauth: REAUTH }, 'CONFLICT', /wins over Settings → Database/);
    assert.equal(h.database.preference.get(), TEAM_URL, 'unchanged');
  });

  test('no vault yet: nothing to re-authenticate against, so the admin confirms natively; Cancel changes nothing', async (t) => {
    const h = harness({ vault: false });
    t.after(h.close);
    h.services.dialogs.confirms.push(false);
    await h.refused('workspace:setDatabase', { url: TEAM_URL }, 'CANCELLED', /not confirmed/);
    assert.equal(h.database.preference.get(), null);
    assert.match(h.services.dialogs.asked.at(-1) ?? '', /confirm the database change/);
    h.services.dialogs.confirms.push(true);
    const status = await h.ok('workspace:setDatabase', { url: TEAM_URL });
    assert.equal(status.preference, TEAM_URL);
  });

  test('the keychain re-authentication needs the native "yes" too', async (t) => {
    const h = harness();
    t.after(h.close);
    // No keychain slot in this workspace: refused before any dialog.
    const answer = await h.call('workspace:setDatabase', { url: TEAM_URL, reauth: { keychain: true } });
    assert.equal(answer.ok, false);
    assert.equal(h.services.dialogs.asked.length, 0);
    assert.equal(h.database.preference.get(), null);
  });
});

describe('workspace:testDatabase', () => {
  test('a server that is not there: the clear reason, nothing saved', async (t) => {
    const h = harness();
    t.after(h.close);
    // Port 1 on loopback: refused at once.
    await h.refused(
      'workspace:testDatabase',
      { url: 'postgres://castellan@127.0.0.1:1/castellan', reauth: REAUTH },
      'UNAVAILABLE',
      /cannot connect to PostgreSQL \(database castellan on 127\.0\.0\.1:1\).*ECONNREFUSED/,
    );
    await h.refused('workspace:testDatabase', { url: 'postgres://castellan@127.0.0.1:1/castellan' }, 'INVALID_INPUT', /re-authentication is required/);
    await h.refused('workspace:testDatabase', { url: 'postgres://c:pw@127.0.0.1:1/castellan', reauth: REAUTH }, 'INVALID_INPUT', /contains a password/);
    assert.equal(h.database.preference.get(), null);
  });

  test('a real cluster: PostgreSQL 15 or later answers with its version', { skip: PG_SKIP }, async (t) => {
    const url = await freshPostgresDatabase(t);
    const h = harness();
    t.after(h.close);
    const answer = await h.ok<{ description: string; server_version: string }>('workspace:testDatabase', { url, reauth: REAUTH });
    assert.match(answer.server_version, /^\d+(\.\d+)?/);
    assert.ok(Number.parseInt(answer.server_version, 10) >= 15);
    assert.match(answer.description, /^database castellan_t_[0-9a-f]+ on /);
    assert.equal(h.database.preference.get(), null, 'testing saves nothing');
  });
});

describe('through the core worker host', () => {
  function hostFor(dir: string, extra: Partial<Parameters<typeof startCoreHost>[0]>) {
    const ws = path.join(dir, 'workspace');
    const dialogs = new QueuedDialogs();
    const host = startCoreHost({
      worker: WORKER,
      workspacePath: ws,
      allowedOrigins: [ORIGIN],
      info: { appName: 'Castellan', appVersion: '0', workspacePath: ws, platform: process.platform, versions: { node: '', electron: '', chrome: '' } },
      dialogs,
      settings: memorySettings(),
      actor: ACTOR,
      kdf: KDF,
      allowWeakKdfInTests: true,
      log: () => undefined,
      ...extra,
    });
    return { host, dialogs, call: (channel: string, input: unknown = {}) => host.dispatch(channel, SENDER, input) };
  }

  test('the worker reads and writes the main thread\'s preference; a change waits for the next start', async (t) => {
    const dir = tempDir();
    const preference = memoryDatabasePreference();
    const { host, call } = hostFor(dir, { database: chooseDatabase({}, preference.get()), databasePreference: preference });
    t.after(async () => {
      await host.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    assert.equal((await call('vault:initialize', { passphrase: PASSPHRASE })).ok, true);
    const saved = (await call('workspace:setDatabase', { url: TEAM_URL, reauth: REAUTH })) as Envelope<Status>;
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.equal(preference.get(), TEAM_URL, 'saved in the main thread\'s store');
    const status = (await call('workspace:database')) as { ok: true; data: Status };
    assert.equal(status.data.active.engine, 'sqlite');
    assert.equal(status.data.next.source, 'preference');
    assert.equal(status.data.restart_needed, true);
  });

  test('a saved preference that cannot be used: every request says why, and the admin can go back to the embedded file', async (t) => {
    const dir = tempDir();
    const preference = memoryDatabasePreference('postgres://castellan:hunter2@db.example/castellan');
    const { host, dialogs, call } = hostFor(dir, { database: chooseDatabase({}, preference.get()), databasePreference: preference });
    t.after(async () => {
      await host.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const vault = (await call('vault:status')) as Failure;
    assert.equal(vault.ok, false);
    assert.match(vault.error.message, /saved in Settings → Database cannot be used: the URL contains a password/);
    assert.ok(!vault.error.message.includes('hunter2'));
    assert.equal(fs.existsSync(path.join(dir, 'workspace', 'castellan.db')), false, 'no embedded file was opened in its place');

    const status = (await call('workspace:database')) as { ok: true; data: Status };
    assert.equal(status.ok, true);
    assert.equal(status.data.active.source, 'preference');
    assert.ok(!JSON.stringify(status).includes('hunter2'));
    assert.equal(status.data.preference, null);
    assert.match(status.data.preference_problem ?? '', /contains a password/);

    // No workspace to re-authenticate against: the native confirmation decides.
    dialogs.confirms.push(true);
    const cleared = (await call('workspace:setDatabase', { url: null })) as Envelope<Status>;
    assert.equal(cleared.ok, true, JSON.stringify(cleared));
    assert.equal(preference.get(), null);
    assert.match(dialogs.asked.at(-1) ?? '', /confirm the database change/);
  });

  test('a PostgreSQL preference opens the workspace there', { skip: PG_SKIP }, async (t) => {
    const url = await freshPostgresDatabase(t);
    const dir = tempDir();
    const preference = memoryDatabasePreference(url);
    const { host, call } = hostFor(dir, { database: chooseDatabase({}, preference.get()), databasePreference: preference });
    t.after(async () => {
      await host.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    assert.equal((await call('vault:initialize', { passphrase: PASSPHRASE })).ok, true);
    const status = (await call('workspace:database')) as { ok: true; data: Status };
    assert.equal(status.data.active.engine, 'postgres');
    assert.equal(status.data.active.source, 'preference');
    assert.equal(fs.existsSync(path.join(dir, 'workspace', 'castellan.db')), false, 'no embedded file');
    const rows = await onCluster<{ n: number }>(url, "SELECT count(*)::int AS n FROM audit WHERE action = 'vault.initialize'");
    assert.equal(rows[0]?.n, 1, 'the vault was created in PostgreSQL');
    // A second admin's CLI on the same database sees the same vault.
    const other = Workspace.open(tempDir(), { actor: { user: 'other', kind: 'cli' }, database: url });
    try {
      assert.equal(other.vault.status().initialized, true);
    } finally {
      other.close();
    }
  });
});

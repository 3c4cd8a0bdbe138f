/**
 * Issue 14, point 2: the core runs in a worker thread and the main thread only relays IPC
 * (electron/core/ipc/core-host.ts, core-worker.ts). The same sequence of requests goes through the
 * in-thread router (what the shell ran before) and through the worker host, each on a workspace of
 * its own; the envelopes agree. What only the main thread has is real and lives in this test's
 * thread: the dialogs' prepared answers (the OS stand-in), an AES-GCM keychain standing in for
 * safeStorage, the preferences store. The worker reaches them through the host's proxies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CHANGE_DOMAINS } from '../../shared/ipc/channels.ts';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { createAppRouter } from '../../electron/core/ipc/app-router.ts';
import { CORE_CLOSED_MESSAGE, CORE_STOPPED_MESSAGE, startCoreHost, type CoreHost } from '../../electron/core/ipc/core-host.ts';
import type { Dialogs } from '../../electron/core/ipc/dialogs.ts';
import type { Router } from '../../electron/core/ipc/ipc-router.ts';
import { changeCursor, type WorkspaceChange } from '../../electron/core/workspace/change-feed.ts';
import { memorySettings, type SettingsStore } from '../../electron/core/workspace/settings.ts';
import type { KeychainBackend } from '../../electron/core/workspace/vault.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { listTokens } from '../../electron/core/tokens/token-ledger.ts';
import { QueuedDialogs, tempDir } from '../harness/services.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';

const WORKER = new URL('../../electron/core/ipc/core-worker.ts', import.meta.url);
const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const ACTOR = { user: 'tester', kind: 'app' } as const;
const KDF = { N: 2 ** 10, r: 8, p: 1 };
const PASSPHRASE = 'correct horse battery staple';

/** Stands in for Electron's safeStorage: an AES key only this thread holds; counts its calls. */
class TestKeychain implements KeychainBackend {
  available = true;
  /** As safeStorage does when the OS keychain entry was reset: decrypting throws. */
  reset = false;
  calls = { encrypt: 0, decrypt: 0 };
  readonly #key = randomBytes(32);
  backend(): string {
    return 'gnome_libsecret';
  }
  isEncryptionAvailable(): boolean {
    return this.available;
  }
  encryptString(s: string): Buffer {
    this.calls.encrypt += 1;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(s, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }
  decryptString(b: Buffer): string {
    this.calls.decrypt += 1;
    if (this.reset) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, b.subarray(0, 12));
    decipher.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([decipher.update(b.subarray(12, b.length - 16)), decipher.final()]).toString('utf8');
  }
}

const info = (dir: string) => ({
  appName: 'Castellan',
  appVersion: '0.0.0-test',
  workspacePath: dir,
  platform: process.platform,
  versions: { node: process.versions.node, electron: 'harness', chrome: 'harness' },
});

interface Side {
  name: string;
  dir: string;
  router: Router;
  dialogs: QueuedDialogs;
  keychain: TestKeychain;
  settings: SettingsStore;
  call(channel: string, input?: unknown, events?: unknown[]): Promise<Envelope<unknown>>;
}

function side(name: string, router: Router, dir: string, dialogs: QueuedDialogs, keychain: TestKeychain, settings: SettingsStore): Side {
  return {
    name,
    dir,
    router,
    dialogs,
    keychain,
    settings,
    call: (channel, input = {}, events) =>
      router.dispatch(channel, SENDER, input, (event, payload) => events?.push({ event, payload })),
  };
}

/** What differs between two workspaces by nature: times, ids, random token ids, hashes. */
function normalized(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) => {
      if (/(_at|^ts|jti|^id|hash|^kid|^key_id|^token|sha256|fingerprint|serial|^public|^subject|^expires|^issued)$/.test(key)) return typeof v;
      if (key === 'workspacePath') return typeof v;
      return v;
    }),
  );
}

function hostOptions(dir: string, dialogs: Dialogs, keychain: KeychainBackend | undefined, settings: SettingsStore) {
  const ws = path.join(dir, 'workspace');
  return {
    worker: WORKER,
    workspacePath: ws,
    allowedOrigins: [ORIGIN],
    info: info(ws),
    dialogs,
    ...(keychain ? { keychain } : {}),
    settings,
    actor: ACTOR,
    kdf: KDF,
    allowWeakKdfInTests: true,
    log: () => undefined,
  };
}

describe('the core worker host answers as the in-thread router does', () => {
  let inThread: Side;
  let worker: Side;
  let host: CoreHost;
  let ws: Workspace;
  const roots: string[] = [];

  before(() => {
    const a = tempDir();
    const b = tempDir();
    roots.push(a, b);
    const keychainA = new TestKeychain();
    ws = Workspace.open(path.join(a, 'workspace'), { actor: ACTOR, kdf: KDF, allowWeakKdfInTests: true, keychain: keychainA });
    const dialogsA = new QueuedDialogs();
    const settingsA = memorySettings();
    const router = createAppRouter({
      allowedOrigins: [ORIGIN],
      services: { info: () => info(ws.dir), workspace: () => ws, dialogs: dialogsA, keychain: keychainA, settings: settingsA },
      log: () => undefined,
    });
    inThread = side('in-thread', router, a, dialogsA, keychainA, settingsA);

    const dialogsB = new QueuedDialogs();
    const keychainB = new TestKeychain();
    const settingsB = memorySettings();
    host = startCoreHost(hostOptions(b, dialogsB, keychainB, settingsB));
    worker = side('worker', host, b, dialogsB, keychainB, settingsB);
  });

  after(async () => {
    await host?.close();
    ws?.close();
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });

  /** The same request on both sides; returns both envelopes after checking they agree. */
  async function same(channel: string, input: unknown = {}, prepare?: (s: Side) => void): Promise<[Envelope<unknown>, Envelope<unknown>]> {
    prepare?.(inThread);
    const a = await inThread.call(channel, input);
    prepare?.(worker);
    const b = await worker.call(channel, input);
    assert.deepEqual(normalized(b), normalized(a), `${channel}: the worker's envelope differs from the in-thread router's`);
    return [a, b];
  }

  test('refusals: unknown channel, foreign sender, invalid input', async () => {
    for (const channel of ['nope:nothing', 42, null]) {
      const a = await inThread.router.dispatch(channel, SENDER, {});
      const b = await host.dispatch(channel, SENDER, {});
      assert.deepEqual(b, a);
      assert.equal(b.ok, false);
    }
    for (const sender of [null, { url: 'https://evil.example/x', isMainFrame: true }, { url: `${ORIGIN}/index.html`, isMainFrame: false }]) {
      const a = await inThread.router.dispatch('vault:status', sender, {});
      const b = await host.dispatch('vault:status', sender, {});
      assert.deepEqual(b, a);
      assert.equal(b.ok || b.error.code, 'FORBIDDEN_SENDER');
    }
    const [, b] = await same('vault:initialize', { passphrase: 'short' });
    assert.equal(b.ok || b.error.code, 'INVALID_INPUT');
    // Input that is not plain data cannot cross to the worker: refused, nothing runs.
    const fn = await host.dispatch('vault:status', SENDER, { f: () => 1 });
    assert.equal(fn.ok || fn.error.code, 'INVALID_INPUT');
  });

  test('vault: status, initialize, lock, wrong and right passphrase', async () => {
    const [, before] = await same('vault:status');
    assert.deepEqual(before.ok && (before.data as { initialized: boolean }).initialized, false);
    await same('vault:initialize', { passphrase: PASSPHRASE });
    await same('vault:lock');
    const [, wrong] = await same('vault:unlock', { passphrase: 'not the passphrase at all' });
    assert.equal(wrong.ok, false);
    const [, right] = await same('vault:unlock', { passphrase: PASSPHRASE });
    assert.equal(right.ok && (right.data as { unlocked: boolean }).unlocked, true);
  });

  test('the OS keychain slot: added and used through the main thread, refused when it is unavailable', async () => {
    const [, added] = await same('vault:addKeychain', { reauth: { passphrase: PASSPHRASE } });
    assert.ok(added.ok);
    const slots = (added.data as { slots: { kind: string; backend: string | null }[] }).slots;
    assert.deepEqual(
      slots.map((s) => [s.kind, s.backend]),
      [
        ['passphrase', null],
        ['keychain', 'gnome_libsecret'],
      ],
    );
    // The wrapping happened in this thread's keychain, not in the worker.
    assert.equal(worker.keychain.calls.encrypt, 1);
    await same('vault:lock');
    const [, unlocked] = await same('vault:unlockKeychain');
    assert.equal(unlocked.ok && (unlocked.data as { unlocked: boolean }).unlocked, true);
    assert.equal(worker.keychain.calls.decrypt, 1);

    // The proxy asks the live backend each time: switched off in this thread, refused in the worker.
    await same('vault:lock');
    const [, refused] = await same('vault:unlockKeychain', {}, (s) => (s.keychain.available = false));
    assert.equal(refused.ok || refused.error.code, 'UNSUPPORTED');
    const [, status] = await same('vault:status');
    assert.equal(status.ok && (status.data as { unlocked: boolean }).unlocked, false);
    for (const s of [inThread, worker]) s.keychain.available = true;
    // The keychain throws in this thread: the error crosses back and the vault refuses as it does in-thread.
    const [, reset] = await same('vault:unlockKeychain', {}, (s) => (s.keychain.reset = true));
    assert.equal(reset.ok || reset.error.code, 'BAD_REQUEST');
    for (const s of [inThread, worker]) s.keychain.reset = false;
    await same('vault:unlock', { passphrase: PASSPHRASE });
  });

  test('deployments: the import dialog is answered on the main side; a cancelled dialog changes nothing', async () => {
    const [, cancelled] = await same('deployments:importDialog', { replace: false, folder: true }, (s) => s.dialogs.opens.push(null));
    assert.deepEqual(cancelled.ok && cancelled.data, { cancelled: true, imported: [] });
    const events: unknown[] = [];
    inThread.dialogs.opens.push([SAMPLES_DIR]);
    const a = await inThread.call('deployments:importDialog', { replace: false, folder: true }, []);
    worker.dialogs.opens.push([SAMPLES_DIR]);
    const b = await worker.call('deployments:importDialog', { replace: false, folder: true }, events);
    assert.deepEqual(normalized(b), normalized(a));
    assert.ok(b.ok && (b.data as { imported: unknown[] }).imported.length > 0);
    assert.deepEqual(worker.dialogs.asked, ['Import every spec of a folder', 'Import every spec of a folder']);
    // Per-request progress events travel back with the request.
    assert.ok(events.length > 0, 'the import reported progress through the host');
    await same('deployments:list', {});
  });

  test('tokens: mint a batch, list a page and a filtered page, revoke one, revoke in bulk', async () => {
    await same('keys:create', { profile: 'zlayer' });
    const events: unknown[] = [];
    const b = await worker.call('tokens:mintBatch', { deployment: 'storefront', service: 'worker', containers: ['w-0', 'w-1', 'w-2', 'w-3'] }, events);
    const a = await inThread.call('tokens:mintBatch', { deployment: 'storefront', service: 'worker', containers: ['w-0', 'w-1', 'w-2', 'w-3'] });
    assert.deepEqual(normalized(b), normalized(a));
    assert.ok(events.length > 0, 'minting reported progress through the host');

    const [, page] = await same('tokens:list', { limit: 2 });
    assert.equal(page.ok && (page.data as { total: number }).total, 4);
    await same('tokens:list', { filter: { container: 'w-1' } });
    await same('tokens:list', { filter: { text: 'w-' }, sort: 'container', direction: 'asc' });

    const jtiOf = async (s: Side, container: string) => {
      const r = await s.call('tokens:list', { filter: { container } });
      assert.ok(r.ok);
      return (r.data as { rows: { jti: string }[] }).rows[0]!.jti;
    };
    const revokedA = await inThread.call('tokens:revoke', { jti: await jtiOf(inThread, 'w-0'), reason: 'leaked' });
    const revokedB = await worker.call('tokens:revoke', { jti: await jtiOf(worker, 'w-0'), reason: 'leaked' });
    assert.deepEqual(normalized(revokedB), normalized(revokedA));
    assert.equal(revokedB.ok && (revokedB.data as { status: string }).status, 'revoked');
    const [, missing] = await same('tokens:revoke', { jti: 'no-such-token', reason: 'leaked' });
    assert.equal(missing.ok || missing.error.code, 'NOT_FOUND');

    const filter = { deployment: 'storefront', service: 'worker' };
    const [, dry] = await same('tokens:revokeBulk', { filter, reason: 'superseded', dry_run: true });
    assert.deepEqual(dry.ok && dry.data, { count: 3, dry_run: true });
    const [, bulk] = await same('tokens:revokeBulk', { filter, reason: 'superseded', dry_run: false });
    assert.deepEqual(bulk.ok && bulk.data, { count: 3, dry_run: false });
    await same('tokens:list', { filter: { status: 'active' } });
  });

  test('settings: the worker reads and writes the main thread\'s store', async () => {
    await same('settings:get');
    const [, set] = await same('settings:set', { theme: 'dark', crl_validity_days: 3 });
    assert.ok(set.ok);
    assert.equal(worker.settings.get().theme, 'dark');
    assert.equal(worker.settings.get().crl_validity_days, 3);
    // A change made on the main side is what the worker reads next.
    worker.settings.set({ theme: 'light' });
    const got = await worker.call('settings:get');
    assert.equal(got.ok && (got.data as { theme: string }).theme, 'light');
    const [, bad] = await same('settings:set', { theme: 'purple' });
    assert.equal(bad.ok || bad.error.code, 'INVALID_INPUT');
    assert.equal(worker.settings.get().theme, 'light');
  });

  test('app:info is the main side\'s data', async () => {
    const r = await worker.call('app:info');
    assert.ok(r.ok);
    assert.equal((r.data as { workspacePath: string }).workspacePath, path.join(worker.dir, 'workspace'));
  });

  test('a change made through another connection reaches onChanges from the worker\'s watcher', async () => {
    const changes: WorkspaceChange[] = [];
    const stop = host.onChanges((c) => changes.push(c));
    try {
      const minted = await worker.call('tokens:mintBatch', { deployment: 'storefront', service: 'worker', containers: ['w-9'] });
      assert.ok(minted.ok);
      const other = Workspace.open(path.join(worker.dir, 'workspace'), { actor: { user: 'bob', kind: 'cli' }, kdf: KDF, allowWeakKdfInTests: true });
      let head: number;
      try {
        const w9 = listTokens(other, { filter: { container: 'w-9' } }).rows[0]!;
        assert.equal(w9.status, 'active');
        // Revoking needs no unlock; it is a change in the tokens domain.
        revokeToken(other, w9.jti!, 'leaked');
        head = changeCursor(other);
      } finally {
        other.close();
      }
      // The watcher may first report the mint above; the revoke is the change that reaches the head.
      for (let waited = 0; !changes.some((c) => c.cursor === head); waited += 20) {
        assert.ok(waited < 15_000, 'the revoke made elsewhere never reached onChanges');
        await new Promise((r) => setTimeout(r, 20));
      }
      const change = changes.find((c) => c.cursor === head)!;
      assert.ok(change.domains.includes('tokens') && change.domains.includes('audit'));
    } finally {
      stop();
    }
  });
});

describe('a core worker that dies', () => {
  test('fails the request in flight with INTERNAL, starts a new worker with the vault locked, and pages are told to reload', async (t) => {
    const dir = tempDir();
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    let dialogOpened!: () => void;
    const opened = new Promise<void>((r) => (dialogOpened = r));
    // The dialog stays open; while it does, the worker is killed: the request is mid-flight.
    const dialogs: Dialogs = {
      openFiles: () => {
        dialogOpened();
        return new Promise(() => undefined);
      },
      saveFile: () => Promise.resolve(null),
    };
    const logs: string[] = [];
    const host = startCoreHost({ ...hostOptions(dir, dialogs, undefined, memorySettings()), log: (l) => logs.push(l) });
    t.after(() => host.close());
    const changes: WorkspaceChange[] = [];
    host.onChanges((c) => changes.push(c));

    const init = await host.dispatch('vault:initialize', SENDER, { passphrase: PASSPHRASE });
    assert.ok(init.ok);
    const first = host.currentWorker()!;
    const inFlight = host.dispatch('deployments:importDialog', SENDER, { replace: false, folder: false });
    await opened;
    await first.terminate();
    assert.deepEqual(await inFlight, { ok: false, error: { code: 'INTERNAL', message: CORE_STOPPED_MESSAGE } });
    assert.equal(host.restarts, 1);
    assert.notEqual(host.currentWorker(), first);
    assert.deepEqual(changes.at(-1)?.domains, [...CHANGE_DOMAINS]);
    assert.ok(logs.some((l) => /core worker stopped/.test(l)));

    const status = await host.dispatch('vault:status', SENDER, {});
    assert.ok(status.ok);
    assert.deepEqual([(status.data as { initialized: boolean }).initialized, (status.data as { unlocked: boolean }).unlocked], [true, false]);
    const again = await host.dispatch('vault:unlock', SENDER, { passphrase: PASSPHRASE });
    assert.equal(again.ok && (again.data as { unlocked: boolean }).unlocked, true);
  });

  test('three crashes within a minute: the host stops restarting and says to restart the app', async (t) => {
    const dir = tempDir();
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const host = startCoreHost(hostOptions(dir, new QueuedDialogs(), undefined, memorySettings()));
    t.after(() => host.close());
    for (let i = 0; i < 3; i++) {
      const w = host.currentWorker()!;
      assert.ok((await host.dispatch('vault:status', SENDER, {})).ok);
      await w.terminate();
    }
    assert.equal(host.currentWorker(), null);
    const r = await host.dispatch('vault:status', SENDER, {});
    assert.deepEqual(r, { ok: false, error: { code: 'INTERNAL', message: 'the Castellan core stopped repeatedly; restart the app' } });
  });
});

test('a worker entry that cannot load (a packaging mistake): requests are answered, never left waiting', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const logs: string[] = [];
  const host = startCoreHost({
    ...hostOptions(dir, new QueuedDialogs(), undefined, memorySettings()),
    worker: path.join(dir, 'no-such-worker.js'),
    log: (l) => logs.push(l),
  });
  t.after(() => host.close());
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await host.dispatch('vault:status', SENDER, {}));
  assert.deepEqual(
    answers.map((a) => (a.ok ? 'ok' : a.error.message)),
    [CORE_STOPPED_MESSAGE, CORE_STOPPED_MESSAGE, CORE_STOPPED_MESSAGE, 'the Castellan core stopped repeatedly; restart the app'],
  );
  assert.equal(host.currentWorker(), null);
  // The log names what failed, not a message that could quote data.
  assert.ok(logs.some((l) => /not restarting it/.test(l)));
  assert.ok(logs.every((l) => !l.includes('no-such-worker')), 'log lines carry the error class, not its message');
});

test('close() stops the worker and closes the workspace; twice is fine; requests afterwards are refused', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const host = startCoreHost(hostOptions(dir, new QueuedDialogs(), undefined, memorySettings()));
  assert.ok((await host.dispatch('vault:initialize', SENDER, { passphrase: PASSPHRASE })).ok);
  const w = host.currentWorker()!;
  let exited = false;
  w.once('exit', () => (exited = true));
  await Promise.all([host.close(), host.close()]);
  await host.close();
  assert.equal(exited, true);
  assert.equal(host.currentWorker(), null);
  assert.deepEqual(await host.dispatch('vault:status', SENDER, {}), { ok: false, error: { code: 'INTERNAL', message: CORE_CLOSED_MESSAGE } });
  // The workspace was closed cleanly (the last connection's close folds the WAL back in): it opens again, initialized.
  assert.equal(fs.existsSync(path.join(dir, 'workspace', 'castellan.db-wal')), false);
  const ws = Workspace.open(path.join(dir, 'workspace'), { actor: ACTOR, kdf: KDF, allowWeakKdfInTests: true });
  try {
    assert.equal(ws.vault.status().initialized, true);
  } finally {
    ws.close();
  }
});

/**
 * Issue 11, point 6: a compromised renderer with the vault unlocked must not take the vault or
 * the keys. Every attack goes through the real app router (contract, sender check, handlers) and
 * the real vault on a real workspace; the CLI runs as a real child process. Slot changes, HS256
 * secret import/export and the CA key export need the current passphrase (or the keychain slot)
 * in the same request; failures are audited and throttled, and change nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import type { KeychainBackend } from '../../electron/core/workspace/vault.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openTestWorkspace, tempDir, testRouter, testServices, type TestServices } from '../harness/services.ts';

const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const ADMIN_PASSPHRASE = 'correct horse battery staple';
const ATTACKER_PASSPHRASE = 'attacker chosen passphrase';
const WRONG = 'a guess at the admin passphrase';
const ATTACKER_SECRET = 'A'.repeat(48);

type Failure = { code: string; message: string; issues?: { path: string; message: string }[] };
type Answer = { ok: true; data: unknown } | { ok: false; error: Failure };

function harness(ws: Workspace = openTestWorkspace()) {
  if (!ws.vault.status().initialized) ws.vault.initialize(ADMIN_PASSPHRASE);
  const services: TestServices = testServices(ws);
  const router = testRouter(services)(ORIGIN);
  const answers: string[] = [];
  async function call(channel: string, input: unknown): Promise<Answer> {
    const answer = (await router.dispatch(channel, SENDER, input, () => undefined)) as Envelope<unknown> as Answer;
    answers.push(JSON.stringify(answer));
    return answer;
  }
  async function ok<T = unknown>(channel: string, input: unknown): Promise<T> {
    const answer = await call(channel, input);
    assert.equal(answer.ok, true, `${channel}: ${JSON.stringify(answer)}`);
    return (answer as { ok: true; data: T }).data;
  }
  async function refused(channel: string, input: unknown, code: string, message?: RegExp): Promise<string> {
    const answer = await call(channel, input);
    assert.equal(answer.ok, false, `${channel} should be refused: ${JSON.stringify(answer)}`);
    const { error } = answer as { ok: false; error: Failure };
    assert.equal(error.code, code, error.message);
    // A contract refusal names the field in its issues (path `reauth`), a domain one in its message.
    if (message) assert.match([error.message, ...(error.issues ?? []).map((i) => i.path)].join(' '), message);
    return error.message;
  }
  return { ws, services, call, ok, refused, answers };
}

/** What a refused attack must leave alone: slots, keys, the CA, and every audit entry but the failures. */
function state(ws: Workspace): unknown {
  return {
    slots: ws.db.prepare('SELECT * FROM vault_slots ORDER BY id').all(),
    keys: ws.db.prepare('SELECT * FROM signing_keys ORDER BY id').all(),
    ca: ws.db.prepare('SELECT * FROM ca').all(),
    audit: ws.db
      .prepare("SELECT seq, action, target, details FROM audit WHERE action NOT LIKE 'vault.%.failed' ORDER BY seq")
      .all(),
    unlocked: ws.vault.unlocked,
  };
}

function failed(ws: Workspace): { action: string; details: Record<string, unknown> }[] {
  return (
    ws.db.prepare("SELECT action, details FROM audit WHERE action LIKE 'vault.%.failed' ORDER BY seq").all() as {
      action: string;
      details: string;
    }[]
  ).map((r) => ({ action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }));
}

/** Lets the next attempt run now, whatever the throttle says (tests never wait on the clock). */
function openThrottle(ws: Workspace): void {
  ws.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() - 1);
}

function assertNoSecrets(answers: string[]): void {
  for (const json of answers) {
    for (const secret of [ADMIN_PASSPHRASE, WRONG, ATTACKER_SECRET]) {
      assert.equal(json.includes(secret), false, 'a passphrase or secret came back over IPC');
    }
  }
}

test('a compromised renderer cannot add its passphrase and remove the admin’s: no reauth, a wrong one, or a keychain it lacks', async () => {
  const h = harness();
  const before = state(h.ws);

  // No re-authentication at all: the contract refuses the request.
  await h.refused('vault:addPassphrase', { passphrase: ATTACKER_PASSPHRASE }, 'INVALID_INPUT', /reauth/);
  await h.refused('vault:removeSlot', { id: 1 }, 'INVALID_INPUT', /reauth/);
  await h.refused('vault:addKeychain', {}, 'INVALID_INPUT', /reauth/);
  // Malformed re-authentication is refused by the contract too.
  await h.refused('vault:removeSlot', { id: 1, reauth: { passphrase: '' } }, 'INVALID_INPUT');
  await h.refused('vault:removeSlot', { id: 1, reauth: { keychain: false } }, 'INVALID_INPUT');
  await h.refused('vault:removeSlot', { id: 1, reauth: { passphrase: WRONG, keychain: true } }, 'INVALID_INPUT');
  assert.deepEqual(failed(h.ws), [], 'requests the contract refuses are no guesses');

  // A wrong passphrase: refused, audited, counted.
  await h.refused(
    'vault:addPassphrase',
    { passphrase: ATTACKER_PASSPHRASE, reauth: { passphrase: WRONG } },
    'BAD_REQUEST',
    /^re-authentication failed: wrong passphrase/,
  );
  openThrottle(h.ws);
  await h.refused(
    'vault:removeSlot',
    { id: 1, reauth: { passphrase: WRONG } },
    'BAD_REQUEST',
    /re-authentication failed/,
  );
  openThrottle(h.ws);
  // The keychain: this process has none, so it cannot stand in for the passphrase.
  await h.refused(
    'vault:addPassphrase',
    { passphrase: ATTACKER_PASSPHRASE, reauth: { keychain: true } },
    'UNSUPPORTED',
  );
  await h.refused('vault:removeSlot', { id: 1, reauth: { keychain: true } }, 'UNSUPPORTED');

  assert.deepEqual(state(h.ws), before);
  assert.deepEqual(
    failed(h.ws).map((f) => [f.action, f.details.kind, f.details.source, f.details.failures]),
    [
      ['vault.reauth.failed', 'passphrase', 'app', 1],
      ['vault.reauth.failed', 'passphrase', 'app', 2],
    ],
  );
  assertNoSecrets(h.answers);

  // The admin still gets in with their passphrase; the attacker's opens nothing.
  await h.ok('vault:lock', {});
  await h.refused('vault:unlock', { passphrase: ATTACKER_PASSPHRASE }, 'BAD_REQUEST', /^wrong passphrase$/);
  openThrottle(h.ws);
  const status = await h.ok<{ unlocked: boolean; slots: { id: number }[] }>('vault:unlock', {
    passphrase: ADMIN_PASSPHRASE,
  });
  assert.equal(status.unlocked, true);
  assert.deepEqual(
    status.slots.map((s) => s.id),
    [1],
  );
  assert.deepEqual(h.ws.audit.verify().ok, true);
  h.ws.close();
});

test('with the current passphrase in the request, the admin adds and removes slots (audited)', async () => {
  const h = harness();
  const reauth = { passphrase: ADMIN_PASSPHRASE };
  const added = await h.ok<{ slots: { id: number; label: string }[] }>('vault:addPassphrase', {
    passphrase: 'the recovery passphrase',
    label: 'recovery',
    reauth,
  });
  assert.deepEqual(
    added.slots.map((s) => [s.id, s.label]),
    [
      [1, 'tester'],
      [2, 'recovery'],
    ],
  );
  // The new slot's passphrase re-authenticates too: it opens the same vault key.
  const removed = await h.ok<{ slots: { id: number }[] }>('vault:removeSlot', {
    id: 1,
    reauth: { passphrase: 'the recovery passphrase' },
  });
  assert.deepEqual(
    removed.slots.map((s) => s.id),
    [2],
  );
  // The old passphrase is gone for re-authentication as well.
  await h.refused(
    'vault:addPassphrase',
    { passphrase: ATTACKER_PASSPHRASE, reauth },
    'BAD_REQUEST',
    /re-authentication failed/,
  );
  assert.deepEqual(
    (h.ws.db.prepare('SELECT action FROM audit ORDER BY seq').all() as { action: string }[]).map((r) => r.action),
    ['vault.initialize', 'vault.slot.add', 'vault.slot.remove', 'vault.reauth.failed'],
  );
  assertNoSecrets(h.answers);
  h.ws.close();
});

test('keys:importZlayerSecret without or with a wrong reauth is refused; the active HS256 key stays the admin’s', async () => {
  const h = harness();
  await h.ok('keys:create', { profile: 'zlayer' });
  const before = state(h.ws);

  await h.refused('keys:importZlayerSecret', { secret: ATTACKER_SECRET }, 'INVALID_INPUT', /reauth/);
  await h.refused(
    'keys:importZlayerSecret',
    { secret: ATTACKER_SECRET, reauth: { passphrase: WRONG } },
    'BAD_REQUEST',
    /re-authentication failed/,
  );
  openThrottle(h.ws);
  await h.refused('keys:importZlayerSecret', { secret: ATTACKER_SECRET, reauth: { keychain: true } }, 'UNSUPPORTED');
  // The dialog variant is refused before any dialog opens (the queue is empty: a dialog would throw).
  await h.refused('keys:importZlayerSecretDialog', {}, 'INVALID_INPUT', /reauth/);
  await h.refused(
    'keys:importZlayerSecretDialog',
    { reauth: { passphrase: WRONG } },
    'BAD_REQUEST',
    /re-authentication failed/,
  );
  openThrottle(h.ws);
  assert.deepEqual(h.services.dialogs.asked, []);
  assert.deepEqual(state(h.ws), before);

  const keys = await h.ok<{ profile: string; state: string }[]>('keys:list', {});
  assert.deepEqual(
    keys.map((k) => [k.profile, k.state]),
    [['zlayer', 'active']],
  );
  assertNoSecrets(h.answers);
  h.ws.close();
});

test('exporting the HS256 secret or the CA key needs reauth, checked before the dialog; with it, the files are written', async () => {
  const h = harness();
  await h.ok('keys:create', { profile: 'zlayer' });
  await h.ok('ca:init', {});
  const dir = tempDir('castellan-reauth-');
  try {
    const before = state(h.ws);
    await h.refused('keys:exportZlayerSecret', { confirm: true }, 'INVALID_INPUT', /reauth/);
    await h.refused(
      'keys:exportZlayerSecret',
      { confirm: true, reauth: { passphrase: WRONG } },
      'BAD_REQUEST',
      /re-authentication failed/,
    );
    openThrottle(h.ws);
    await h.refused('ca:exportZlayer', { confirm: true }, 'INVALID_INPUT', /reauth/);
    await h.refused(
      'ca:exportZlayer',
      { confirm: true, reauth: { passphrase: WRONG } },
      'BAD_REQUEST',
      /re-authentication failed/,
    );
    openThrottle(h.ws);
    assert.deepEqual(h.services.dialogs.asked, [], 'no dialog opened for a refused export');
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual(state(h.ws), before);

    const reauth = { passphrase: ADMIN_PASSPHRASE };
    h.services.dialogs.saves.push(path.join(dir, 'jwt_secret_zlayer.key'));
    await h.ok('keys:exportZlayerSecret', { confirm: true, reauth });
    h.services.dialogs.opens.push([dir]);
    await h.ok('ca:exportZlayer', { confirm: true, reauth });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['jwt_secret_zlayer.key', 'worker_ca.crt', 'worker_ca.key']);
    assertNoSecrets(h.answers);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    h.ws.close();
  }
});

test('over IPC, repeated failures are throttled: refused at once with "try again in N s", unlock included; the count survives a restart', async () => {
  const dir = path.join(tempDir('castellan-throttle-'), 'workspace');
  const h = harness(openTestWorkspace(dir));
  for (let i = 0; i < 3; i++) {
    await h.refused(
      'vault:removeSlot',
      { id: 1, reauth: { passphrase: `${WRONG} ${i}` } },
      'BAD_REQUEST',
      /re-authentication failed/,
    );
  }
  // Pin the window ahead so nothing here depends on how fast the machine is.
  h.ws.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() + 45_000);
  const message = await h.refused(
    'vault:addPassphrase',
    { passphrase: ATTACKER_PASSPHRASE, reauth: { passphrase: ADMIN_PASSPHRASE } },
    'BAD_REQUEST',
  );
  assert.match(message, /^too many failed passphrase attempts \(3\); try again in ([1-3]?[0-9]|4[0-5]) s$/);
  await h.ok('vault:lock', {});
  h.ws.close();

  // A restarted app reads the same count from the workspace.
  const again = harness(openTestWorkspace(dir));
  await again.refused(
    'vault:unlock',
    { passphrase: ADMIN_PASSPHRASE },
    'BAD_REQUEST',
    /try again in ([1-3]?[0-9]|4[0-5]) s/,
  );
  assert.equal(again.ws.vault.unlocked, false);
  assert.equal(
    failed(again.ws).length,
    3,
    'a throttled attempt is answered without a guess, so nothing more is audited',
  );
  openThrottle(again.ws);
  await again.ok('vault:unlock', { passphrase: ADMIN_PASSPHRASE });
  assert.equal(
    again.ws.db.prepare('SELECT * FROM vault_unlock_failures').get(),
    undefined,
    'a successful unlock resets the count',
  );
  again.ws.close();
});

/** Stands in for the OS keychain (Electron's safeStorage): an AES key only this object knows. */
class TestKeychain implements KeychainBackend {
  readonly #key = randomBytes(32);
  backend(): string {
    return 'gnome_libsecret';
  }
  isEncryptionAvailable(): boolean {
    return true;
  }
  encryptString(s: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(s, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }
  decryptString(b: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.#key, b.subarray(0, 12));
    decipher.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([decipher.update(b.subarray(12, b.length - 16)), decipher.final()]).toString('utf8');
  }
}

test('the keychain re-authenticates only with the admin’s yes in a native dialog the page cannot click', async () => {
  // The keychain opens with no typing, so `{ keychain: true }` alone proves nothing about who asks.
  const ws = Workspace.open(path.join(tempDir('castellan-reauth-kc-'), 'workspace'), {
    actor: { user: 'tester', kind: 'app' },
    kdf: { N: 2 ** 10, r: 8, p: 1 },
    allowWeakKdfInTests: true,
    keychain: new TestKeychain(),
  });
  const h = harness(ws);
  // Without a keychain slot there is nothing to open: refused before any dialog.
  await h.refused('vault:removeSlot', { id: 1, reauth: { keychain: true } }, 'NOT_FOUND', /no OS keychain slot/);
  assert.deepEqual(h.services.dialogs.asked, []);
  await h.ok('vault:addKeychain', { reauth: { passphrase: ADMIN_PASSPHRASE } });
  const before = state(h.ws);

  // A compromised renderer asks with the keychain; the admin did not ask, and says no.
  h.services.dialogs.confirms.push(false);
  await h.refused(
    'vault:addPassphrase',
    { passphrase: ATTACKER_PASSPHRASE, reauth: { keychain: true } },
    'CANCELLED',
    /^not confirmed: Castellan did not add a passphrase slot to the vault$/,
  );
  h.services.dialogs.confirms.push(false);
  await h.refused('keys:importZlayerSecret', { secret: ATTACKER_SECRET, reauth: { keychain: true } }, 'CANCELLED');
  assert.deepEqual(h.services.dialogs.asked, [
    'Castellan: confirm with the OS keychain',
    'Castellan: confirm with the OS keychain',
  ]);
  assert.deepEqual(state(h.ws), before);

  // The admin's own request, confirmed in the native dialog, goes through.
  h.services.dialogs.confirms.push(true);
  const added = await h.ok<{ slots: { kind: string }[] }>('vault:addPassphrase', {
    passphrase: 'the recovery passphrase',
    reauth: { keychain: true },
  });
  assert.deepEqual(
    added.slots.map((s) => s.kind),
    ['passphrase', 'keychain', 'passphrase'],
  );
  assertNoSecrets(h.answers);
  h.ws.close();
});

// ---- The CLI: the passphrase it is given is checked against a slot --------------------------

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'electron/cli/castellan.ts');

function cli(
  dataDir: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) childEnv[k] = v;
  }
  Object.assign(childEnv, env, { CASTELLAN_DATA_DIR: dataDir });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO,
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

test('the CLI re-authenticates slot changes and secret exports: a wrong passphrase is refused and audited as cli; the throttle holds across runs', async () => {
  // Made in-process with a cheap scrypt cost (stored in the slot), so the CLI runs stay fast.
  const dir = path.join(tempDir('castellan-reauth-cli-'), 'workspace');
  const ws = openTestWorkspace(dir);
  ws.vault.initialize(ADMIN_PASSPHRASE);
  ws.close();
  const env = { P: ADMIN_PASSPHRASE, W: WRONG, N: ATTACKER_PASSPHRASE };
  const out = path.join(path.dirname(dir), 'secret.key');

  const add = await cli(dir, ['vault', 'add-passphrase', '--passphrase-env', 'W', '--new-passphrase-env', 'N'], env);
  assert.equal(add.code, 2, add.stderr);
  assert.match(add.stderr, /^castellan: wrong passphrase\n$/);
  const remove = await cli(dir, ['vault', 'remove-slot', '1', '--passphrase-env', 'W'], env);
  assert.equal(remove.code, 2, remove.stderr);
  // With no zlayer key the export is refused before any passphrase is read (not a failed attempt).
  const exported = await cli(dir, ['keys', 'export-zlayer-secret', '--out', out, '--passphrase-env', 'W'], env);
  assert.equal(exported.code, 2, exported.stderr);
  assert.equal(fs.existsSync(out), false);
  const again = await cli(dir, ['vault', 'add-passphrase', '--passphrase-env', 'W', '--new-passphrase-env', 'N'], env);
  assert.equal(again.code, 2, again.stderr);

  // The fourth run, straight after three failures, is answered at once by the throttle.
  const check = openTestWorkspace(dir);
  try {
    check.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() + 30_000);
  } finally {
    check.close();
  }
  const throttled = await cli(
    dir,
    ['vault', 'add-passphrase', '--passphrase-env', 'P', '--new-passphrase-env', 'N'],
    env,
  );
  assert.equal(throttled.code, 2, throttled.stderr);
  // The number counts down from 30 while the CLI process starts (slowly, on a loaded machine).
  const wait = /^castellan: too many failed passphrase attempts \(3\); try again in (\d+) s\n$/.exec(throttled.stderr);
  assert.ok(wait, throttled.stderr);
  assert.ok(Number(wait[1]) >= 1 && Number(wait[1]) <= 30, throttled.stderr);
  for (const run of [add, remove, exported, again, throttled]) {
    assert.equal(`${run.stdout}${run.stderr}`.includes(WRONG), false, 'the CLI never prints a passphrase');
  }

  const after = openTestWorkspace(dir);
  try {
    assert.deepEqual(
      failed(after).map((f) => [f.action, f.details.kind, f.details.source, f.details.failures]),
      [
        ['vault.unlock.failed', 'passphrase', 'cli', 1],
        ['vault.unlock.failed', 'passphrase', 'cli', 2],
        ['vault.unlock.failed', 'passphrase', 'cli', 3],
      ],
    );
    assert.equal((after.db.prepare('SELECT count(*) AS n FROM vault_slots').get() as { n: number }).n, 1);
    openThrottle(after);
  } finally {
    after.close();
  }

  // With the right passphrase the slot is added.
  const ok = await cli(dir, ['vault', 'add-passphrase', '--passphrase-env', 'P', '--new-passphrase-env', 'N'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^added passphrase slot #2/);
});

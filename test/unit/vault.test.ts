import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CastellanError } from '../../shared/errors.ts';
import type { Actor } from '../../electron/core/workspace/actor.ts';
import type { KeychainBackend, ScryptCost } from '../../electron/core/workspace/vault.ts';
import { THROTTLE_CAP_MS, THROTTLE_FREE_FAILURES, throttleDelayMs } from '../../electron/core/workspace/vault.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const ADMIN: Actor = { user: 'alice', kind: 'app' };
// Far below the production floor, so the suite stays fast; allowed only under `node --test`.
const FAST_KDF: ScryptCost = { N: 1024, r: 8, p: 1 };
const PASSPHRASE = 'correct horse battery staple';
const LOCKED_MESSAGE = 'the workspace vault is locked; unlock it with a passphrase or the OS keychain';

/**
 * Stands in for the OS keychain (Electron's safeStorage): an AES key only
 * this object knows. Its backend name and availability can be changed, as
 * they can on a real desktop.
 */
class TestKeychain implements KeychainBackend {
  name: string;
  available = true;
  readonly #key: Buffer;

  constructor(name = 'gnome_libsecret', key: Buffer = randomBytes(32)) {
    this.name = name;
    this.#key = key;
  }

  withBackend(name: string): TestKeychain {
    return new TestKeychain(name, this.#key);
  }

  backend(): string {
    return this.name;
  }

  isEncryptionAvailable(): boolean {
    return this.available;
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

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-'));
}

function openWorkspace(dir = tempDir(), keychain?: KeychainBackend): Workspace {
  return Workspace.open(dir, {
    actor: ADMIN,
    kdf: FAST_KDF,
    allowWeakKdfInTests: true,
    ...(keychain ? { keychain } : {}),
  });
}

function initialized(dir = tempDir(), keychain?: KeychainBackend): Workspace {
  const ws = openWorkspace(dir, keychain);
  ws.vault.initialize(PASSPHRASE);
  return ws;
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

/** Everything a failed operation must leave alone. */
function snapshot(ws: Workspace): unknown {
  return {
    slots: ws.db.prepare('SELECT * FROM vault_slots ORDER BY id').all(),
    meta: ws.db.prepare('SELECT * FROM meta ORDER BY key').all(),
    audit: ws.db.prepare('SELECT * FROM audit ORDER BY seq').all(),
    unlocked: ws.vault.status().unlocked,
  };
}

/** `snapshot` without the failed-attempt audit entries: what a refused unlock must leave alone. */
function snapshotBesidesFailures(ws: Workspace): unknown {
  return {
    ...(snapshot(ws) as object),
    // The audit head and its sealed MAC in meta move with every entry, the failure entries included.
    meta: ws.db
      .prepare("SELECT * FROM meta WHERE key NOT LIKE 'audit_head_%' AND key <> 'audit_seal' ORDER BY key")
      .all(),
    audit: ws.db.prepare("SELECT * FROM audit WHERE action NOT LIKE 'vault.%.failed' ORDER BY seq").all(),
  };
}

/** The failed-attempt audit entries, oldest first: action and details. */
function failures(ws: Workspace): { action: string; details: Record<string, unknown> }[] {
  return (
    ws.db.prepare("SELECT action, details FROM audit WHERE action LIKE 'vault.%.failed' ORDER BY seq").all() as {
      action: string;
      details: string;
    }[]
  ).map((r) => ({ action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }));
}

function auditActions(ws: Workspace): string[] {
  return (ws.db.prepare('SELECT action FROM audit ORDER BY seq').all() as { action: string }[]).map((r) => r.action);
}

test('a new vault is uninitialized and locked', () => {
  const ws = openWorkspace();
  try {
    assert.deepEqual(ws.vault.status(), { initialized: false, unlocked: false, slots: [] });
    assert.throws(() => ws.vault.unlockWithPassphrase(PASSPHRASE), expectError('NOT_FOUND', /not been initialized/));
  } finally {
    ws.close();
  }
});

test('initialize makes the key and a passphrase slot, audits it, and leaves the vault unlocked', () => {
  const ws = openWorkspace();
  try {
    const slot = ws.vault.initialize(PASSPHRASE, { label: 'ops team' });
    const status = ws.vault.status();
    assert.equal(status.initialized, true);
    assert.equal(status.unlocked, true);
    assert.deepEqual(status.slots, [slot]);
    assert.equal(slot.kind, 'passphrase');
    assert.equal(slot.label, 'ops team');
    assert.equal(slot.backend, null);

    const params = JSON.parse(
      (ws.db.prepare('SELECT kdf_params FROM vault_slots').get() as { kdf_params: string }).kdf_params,
    ) as Record<string, unknown>;
    assert.equal(params.alg, 'scrypt');
    assert.equal(params.N, FAST_KDF.N);
    assert.equal(params.r, 8);
    assert.equal(params.p, 1);
    assert.equal(params.keylen, 32);
    assert.equal(Buffer.from(params.salt as string, 'base64').length, 16);

    assert.deepEqual(auditActions(ws), ['vault.initialize']);
    const log = ws.audit.exportJsonl();
    assert.ok(!log.includes(PASSPHRASE));
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 1 });
  } finally {
    ws.close();
  }
});

test('the default scrypt cost is N=2^17, r=8, p=1 and it unlocks', () => {
  const ws = Workspace.open(tempDir(), { actor: ADMIN });
  try {
    ws.vault.initialize(PASSPHRASE);
    const params = JSON.parse(
      (ws.db.prepare('SELECT kdf_params FROM vault_slots').get() as { kdf_params: string }).kdf_params,
    ) as Record<string, unknown>;
    assert.deepEqual([params.N, params.r, params.p], [131072, 8, 1]);
    ws.vault.lock();
    ws.vault.unlockWithPassphrase(PASSPHRASE);
    assert.equal(ws.vault.status().unlocked, true);
  } finally {
    ws.close();
  }
});

test('initializing twice is refused and changes nothing', () => {
  const ws = initialized();
  try {
    const before = snapshot(ws);
    assert.throws(
      () => ws.vault.initialize('another passphrase'),
      expectError('CONFLICT', 'the workspace vault is already initialized'),
    );
    assert.deepEqual(snapshot(ws), before);
  } finally {
    ws.close();
  }
});

test('a short or empty passphrase is refused for a new vault and nothing is created', () => {
  const ws = openWorkspace();
  try {
    const before = snapshot(ws);
    assert.throws(
      () => ws.vault.initialize('short'),
      expectError('INVALID_INPUT', 'the passphrase must be at least 8 characters'),
    );
    assert.throws(() => ws.vault.initialize(''), expectError('INVALID_INPUT', 'a passphrase is required'));
    assert.throws(() => ws.vault.initialize('1234567'), expectError('INVALID_INPUT', /at least 8/));
    assert.deepEqual(snapshot(ws), before);
    assert.equal(ws.vault.status().initialized, false);
  } finally {
    ws.close();
  }
});

test('a wrong passphrase is refused and changes nothing', () => {
  const dir = tempDir();
  initialized(dir).close();
  const ws = openWorkspace(dir);
  try {
    const before = snapshotBesidesFailures(ws);
    assert.throws(
      () => ws.vault.unlockWithPassphrase('wrong passphrase!'),
      expectError('BAD_REQUEST', 'wrong passphrase'),
    );
    // An empty passphrase is no guess: refused, not counted.
    assert.throws(() => ws.vault.unlockWithPassphrase(''), expectError('BAD_REQUEST', 'wrong passphrase'));
    assert.deepEqual(snapshotBesidesFailures(ws), before);
    // The one failure is audited with the slot kind, the source and the count, never the passphrase.
    assert.deepEqual(failures(ws), [
      { action: 'vault.unlock.failed', details: { kind: 'passphrase', source: 'app', failures: 1, retry_after_s: 0 } },
    ]);
    assert.equal(JSON.stringify(ws.db.prepare('SELECT * FROM audit').all()).includes('wrong passphrase!'), false);
    assert.equal(ws.vault.status().unlocked, false);
    assert.throws(() => ws.vault.seal(Buffer.from('x'), 'test:1'), expectError('LOCKED'));
  } finally {
    ws.close();
  }
});

test('a locked vault refuses to seal or unseal', () => {
  const ws = initialized();
  try {
    const blob = ws.vault.seal(Buffer.from('payload'), 'test:1');
    ws.vault.lock();
    assert.equal(ws.vault.status().unlocked, false);
    assert.throws(() => ws.vault.seal(Buffer.from('payload'), 'test:1'), expectError('LOCKED', LOCKED_MESSAGE));
    assert.throws(() => ws.vault.unseal(blob, 'test:1'), expectError('LOCKED', LOCKED_MESSAGE));
    assert.throws(() => ws.vault.requireUnlocked(), expectError('LOCKED', LOCKED_MESSAGE));
  } finally {
    ws.close();
  }
});

test('lock then unlock gives back the same key, in this process and the next', () => {
  const dir = tempDir();
  const ws = initialized(dir);
  const plaintext = Buffer.from('the CA private key, say');
  const blob = ws.vault.seal(plaintext, 'ca:1');
  ws.vault.lock();
  ws.vault.unlockWithPassphrase(PASSPHRASE);
  assert.deepEqual(Buffer.from(ws.vault.unseal(blob, 'ca:1')), plaintext);
  ws.close();

  const again = openWorkspace(dir);
  try {
    assert.equal(again.vault.status().unlocked, false);
    again.vault.unlockWithPassphrase(PASSPHRASE);
    assert.deepEqual(Buffer.from(again.vault.unseal(blob, 'ca:1')), plaintext);
  } finally {
    again.close();
  }
});

test('a passphrase typed in another Unicode normal form still unlocks', () => {
  const ws = openWorkspace();
  try {
    ws.vault.initialize('caf\u00e9 au lait');
    ws.vault.lock();
    ws.vault.unlockWithPassphrase('cafe\u0301 au lait');
    assert.equal(ws.vault.status().unlocked, true);
  } finally {
    ws.close();
  }
});

test('sealed blobs are versioned, randomised, and bound to their label', () => {
  const ws = initialized();
  try {
    const plaintext = Buffer.from('secret material');
    const a = Buffer.from(ws.vault.seal(plaintext, 'signing_key:k1'));
    const b = Buffer.from(ws.vault.seal(plaintext, 'signing_key:k1'));
    assert.equal(a[0], 1);
    assert.equal(a.length, 1 + 12 + plaintext.length + 16);
    assert.notDeepEqual(a, b);
    assert.ok(!a.includes(plaintext));

    assert.throws(() => ws.vault.unseal(a, 'signing_key:k2'), expectError('INTEGRITY', /signing_key:k2/));
    const tampered = Buffer.from(a);
    tampered[20] = tampered[20]! ^ 1;
    assert.throws(() => ws.vault.unseal(tampered, 'signing_key:k1'), expectError('INTEGRITY'));
    const wrongVersion = Buffer.from(a);
    wrongVersion[0] = 2;
    assert.throws(() => ws.vault.unseal(wrongVersion, 'signing_key:k1'), expectError('INTEGRITY'));
    assert.throws(() => ws.vault.unseal(a.subarray(0, 20), 'signing_key:k1'), expectError('INTEGRITY'));
    assert.deepEqual(Buffer.from(ws.vault.unseal(a, 'signing_key:k1')), plaintext);
    assert.deepEqual(Buffer.from(ws.vault.unseal(new Uint8Array(b), 'signing_key:k1')), plaintext);
  } finally {
    ws.close();
  }
});

test('a second passphrase slot unlocks too, and adding it is audited', () => {
  const dir = tempDir();
  const ws = initialized(dir);
  const blob = ws.vault.seal(Buffer.from('x'), 'test:1');
  const slot = ws.vault.addPassphraseSlot('second passphrase', 'backup');
  assert.equal(slot.id, 2);
  assert.equal(slot.label, 'backup');
  assert.deepEqual(auditActions(ws), ['vault.initialize', 'vault.slot.add']);
  const entry = ws.audit.list({ action: 'vault.slot.add', limit: 1 }).rows[0]!;
  assert.equal(entry.target, 'vault_slot:2');
  assert.equal(entry.details.label, 'backup');
  assert.ok(!ws.audit.exportJsonl().includes('second passphrase'));
  ws.close();

  const again = openWorkspace(dir);
  try {
    again.vault.unlockWithPassphrase('second passphrase');
    assert.deepEqual(Buffer.from(again.vault.unseal(blob, 'test:1')), Buffer.from('x'));
    again.vault.lock();
    again.vault.unlockWithPassphrase(PASSPHRASE);
    assert.equal(again.vault.status().unlocked, true);
  } finally {
    again.close();
  }
});

test('adding a slot needs the vault unlocked and a long enough passphrase; refusals change nothing', () => {
  const ws = initialized();
  try {
    let before = snapshot(ws);
    assert.throws(() => ws.vault.addPassphraseSlot('short'), expectError('INVALID_INPUT', /at least 8/));
    assert.throws(() => ws.vault.addPassphraseSlot('long enough', ' '), expectError('INVALID_INPUT', /label/));
    assert.deepEqual(snapshot(ws), before);
    ws.vault.lock();
    before = snapshot(ws);
    assert.throws(() => ws.vault.addPassphraseSlot('long enough'), expectError('LOCKED'));
    assert.deepEqual(snapshot(ws), before);
  } finally {
    ws.close();
  }
});

test('the last slot cannot be removed', () => {
  const ws = initialized();
  try {
    const before = snapshot(ws);
    assert.throws(
      () => ws.vault.removeSlot(1),
      expectError('CONFLICT', /vault slot 1 is the last way to unlock this workspace/),
    );
    assert.deepEqual(snapshot(ws), before);
  } finally {
    ws.close();
  }
});

test('removing a slot retires its passphrase and is audited', () => {
  const ws = initialized();
  try {
    ws.vault.addPassphraseSlot('second passphrase');
    ws.vault.removeSlot(1);
    assert.deepEqual(
      ws.vault.status().slots.map((s) => s.id),
      [2],
    );
    assert.deepEqual(auditActions(ws), ['vault.initialize', 'vault.slot.add', 'vault.slot.remove']);
    assert.equal(ws.audit.list({ action: 'vault.slot.remove', limit: 1 }).rows[0]!.target, 'vault_slot:1');
    ws.vault.lock();
    assert.throws(() => ws.vault.unlockWithPassphrase(PASSPHRASE), expectError('BAD_REQUEST', 'wrong passphrase'));
    ws.vault.unlockWithPassphrase('second passphrase');
    assert.deepEqual(auditActions(ws), [
      'vault.initialize',
      'vault.slot.add',
      'vault.slot.remove',
      'vault.unlock.failed',
    ]);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 4 });
  } finally {
    ws.close();
  }
});

test('removing an unknown slot, a bad id, or while locked is refused and changes nothing', () => {
  const ws = initialized();
  try {
    ws.vault.addPassphraseSlot('second passphrase');
    let before = snapshot(ws);
    assert.throws(() => ws.vault.removeSlot(99), expectError('NOT_FOUND', 'vault slot 99 does not exist'));
    assert.throws(() => ws.vault.removeSlot(0), expectError('INVALID_INPUT'));
    assert.deepEqual(snapshot(ws), before);
    ws.vault.lock();
    before = snapshot(ws);
    assert.throws(() => ws.vault.removeSlot(1), expectError('LOCKED'));
    assert.deepEqual(snapshot(ws), before);
  } finally {
    ws.close();
  }
});

test('a keychain slot unlocks without the passphrase', () => {
  const dir = tempDir();
  const keychain = new TestKeychain('gnome_libsecret');
  const ws = initialized(dir, keychain);
  const blob = ws.vault.seal(Buffer.from('x'), 'test:1');
  const slot = ws.vault.addKeychainSlot();
  assert.equal(slot.kind, 'keychain');
  assert.equal(slot.backend, 'gnome_libsecret');
  assert.equal(slot.label, 'OS keychain (gnome_libsecret)');
  const entry = ws.audit.list({ action: 'vault.slot.add', limit: 1 }).rows[0]!;
  assert.deepEqual(entry.details, {
    kind: 'keychain',
    label: 'OS keychain (gnome_libsecret)',
    backend: 'gnome_libsecret',
  });
  ws.close();

  const again = openWorkspace(dir, keychain);
  try {
    again.vault.unlockWithKeychain();
    assert.deepEqual(Buffer.from(again.vault.unseal(blob, 'test:1')), Buffer.from('x'));
  } finally {
    again.close();
  }
});

test('a changed keychain backend is refused with a pointer to the passphrase', () => {
  const dir = tempDir();
  const keychain = new TestKeychain('gnome_libsecret');
  const ws = initialized(dir, keychain);
  ws.vault.addKeychainSlot();
  ws.close();

  const again = openWorkspace(dir, keychain.withBackend('kwallet5'));
  try {
    const before = snapshot(again);
    assert.throws(
      () => again.vault.unlockWithKeychain(),
      expectError(
        'CONFLICT',
        'the OS keychain backend changed from gnome_libsecret to kwallet5; unlock with a passphrase',
      ),
    );
    assert.deepEqual(snapshot(again), before);
    assert.equal(again.vault.status().unlocked, false);
  } finally {
    again.close();
  }
});

test('the basic_text keychain backend is treated as unavailable', () => {
  const dir = tempDir();
  const keychain = new TestKeychain('gnome_libsecret');
  const ws = initialized(dir, keychain);
  ws.vault.addKeychainSlot();
  ws.close();

  const plain = keychain.withBackend('basic_text');
  const again = openWorkspace(dir, plain);
  try {
    let before = snapshot(again);
    assert.throws(
      () => again.vault.unlockWithKeychain(),
      expectError('UNSUPPORTED', /basic_text, which does not encrypt/),
    );
    assert.deepEqual(snapshot(again), before);
    again.vault.unlockWithPassphrase(PASSPHRASE);
    before = snapshot(again);
    assert.throws(() => again.vault.addKeychainSlot(), expectError('UNSUPPORTED', /basic_text/));
    assert.deepEqual(snapshot(again), before);
  } finally {
    again.close();
  }
});

test('no keychain, or one without encryption, is refused clearly', () => {
  const dir = tempDir();
  const keychain = new TestKeychain('kwallet5');
  const ws = initialized(dir, keychain);
  keychain.available = false;
  let before = snapshot(ws);
  assert.throws(() => ws.vault.addKeychainSlot(), expectError('UNSUPPORTED', /not available \(backend kwallet5\)/));
  assert.deepEqual(snapshot(ws), before);
  keychain.available = true;
  ws.vault.addKeychainSlot();
  ws.close();

  const cli = openWorkspace(dir);
  try {
    before = snapshot(cli);
    assert.throws(
      () => cli.vault.unlockWithKeychain(),
      expectError('UNSUPPORTED', /OS keychain is not available in this process/),
    );
    assert.deepEqual(snapshot(cli), before);
  } finally {
    cli.close();
  }
});

test('a damaged passphrase slot is reported, but does not stop another slot unlocking', () => {
  const ws = initialized();
  try {
    ws.vault.addPassphraseSlot('second passphrase');
    ws.db.exec('UPDATE vault_slots SET kdf_params = \'{"alg":"scrypt","N":3}\' WHERE id = 1');
    ws.vault.lock();
    const before = snapshotBesidesFailures(ws);
    assert.throws(
      () => ws.vault.unlockWithPassphrase(PASSPHRASE),
      expectError('INTEGRITY', /vault slot 1 has unreadable/),
    );
    assert.deepEqual(snapshotBesidesFailures(ws), before);
    assert.deepEqual(
      failures(ws).map((f) => f.action),
      ['vault.unlock.failed'],
    );
    ws.vault.unlockWithPassphrase('second passphrase');
    assert.equal(ws.vault.status().unlocked, true);
  } finally {
    ws.close();
  }
});

test('a slot from another workspace does not unlock this one', () => {
  const mine = initialized();
  const theirs = initialized();
  try {
    const foreign = theirs.db.prepare('SELECT kdf_params, wrapped_dek FROM vault_slots WHERE id = 1').get() as {
      kdf_params: string;
      wrapped_dek: Uint8Array;
    };
    mine.db
      .prepare('UPDATE vault_slots SET kdf_params = ?, wrapped_dek = ? WHERE id = 1')
      .run(foreign.kdf_params, foreign.wrapped_dek);
    mine.vault.lock();
    assert.throws(() => mine.vault.unlockWithPassphrase(PASSPHRASE), expectError('BAD_REQUEST', 'wrong passphrase'));
    assert.equal(mine.vault.status().unlocked, false);
  } finally {
    mine.close();
    theirs.close();
  }
});

test('a workspace without a keychain slot says so', () => {
  const ws = initialized(tempDir(), new TestKeychain());
  try {
    ws.vault.lock();
    assert.throws(() => ws.vault.unlockWithKeychain(), expectError('NOT_FOUND', /no OS keychain slot/));
  } finally {
    ws.close();
  }
});

test('a keychain that can no longer decrypt its slot is refused and changes nothing', () => {
  const dir = tempDir();
  const ws = initialized(dir, new TestKeychain('gnome_libsecret'));
  ws.vault.addKeychainSlot();
  ws.close();

  // Same backend, new key: what a reset login keyring looks like.
  const again = openWorkspace(dir, new TestKeychain('gnome_libsecret'));
  try {
    const before = snapshotBesidesFailures(again);
    assert.throws(() => again.vault.unlockWithKeychain(), expectError('BAD_REQUEST', /could not decrypt vault slot 2/));
    assert.deepEqual(snapshotBesidesFailures(again), before);
    // Audited, but not counted towards the passphrase throttle: the keychain answers no guesses.
    assert.deepEqual(failures(again), [
      { action: 'vault.unlock.failed', details: { kind: 'keychain', source: 'app' } },
    ]);
    assert.equal(again.db.prepare('SELECT * FROM vault_unlock_failures').get(), undefined);
  } finally {
    again.close();
  }
});

test('scrypt costs below the floor are refused unless a test asks for them', () => {
  const dir = path.join(tempDir(), 'ws');
  assert.throws(
    () => Workspace.open(dir, { actor: ADMIN, kdf: FAST_KDF }),
    expectError('INVALID_INPUT', /below the floor for a vault that guards CA keys \(N=131072, r=8, p=1\)/),
  );
  assert.equal(fs.existsSync(dir), false);
  assert.throws(
    () => Workspace.open(dir, { actor: ADMIN, kdf: { N: 1000, r: 8, p: 1 }, allowWeakKdfInTests: true }),
    expectError('INVALID_INPUT', /not valid/),
  );
  const ws = Workspace.open(tempDir(), { actor: ADMIN });
  try {
    assert.throws(
      () => ws.vault.initialize(PASSPHRASE, { kdf: { N: 2 ** 16, r: 8, p: 1 } }),
      expectError('INVALID_INPUT', /below the floor/),
    );
    assert.throws(
      () => ws.vault.initialize(PASSPHRASE, { kdf: { N: 2 ** 17, r: 8, p: 0 } }),
      expectError('INVALID_INPUT', /not valid/),
    );
    assert.deepEqual(ws.vault.status(), { initialized: false, unlocked: false, slots: [] });
  } finally {
    ws.close();
  }
});

test('outside the test runner, the weak-cost escape hatch does nothing', () => {
  const dir = tempDir();
  const workspaceModule = fileURLToPath(new URL('../../electron/core/workspace/workspace.ts', import.meta.url));
  const script = path.join(dir, 'probe.ts');
  fs.writeFileSync(
    script,
    `import { Workspace } from ${JSON.stringify(workspaceModule)};
try {
  Workspace.open(${JSON.stringify(path.join(dir, 'ws'))}, { actor: { user: 'x', kind: 'cli' }, kdf: { N: 1024, r: 8, p: 1 }, allowWeakKdfInTests: true }).close();
  console.log('opened');
} catch (err) {
  console.log(err.code);
}
`,
  );
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
  assert.equal(result.stdout.trim(), 'INVALID_INPUT', result.stderr);
  assert.equal(fs.existsSync(path.join(dir, 'ws')), false);
});

/** Every byte SQLite has on disk for this workspace right now. */
function diskBytes(dbPath: string): Buffer[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-journal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
}

function occursIn(files: Buffer[], needle: Buffer): boolean {
  return files.some((bytes) => bytes.includes(needle));
}

test('a sealed private key never reaches the database file or its WAL in the clear', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const pemBody = privateKey
    .export({ format: 'pem', type: 'pkcs8' })
    .toString()
    .replace(/-----[^-]+-----/g, '')
    .replace(/\s+/g, '');
  assert.equal(pemBody, der.toString('base64'));
  const seed = der.subarray(der.length - 32);
  const needles = [der, Buffer.from(pemBody, 'ascii'), seed];

  // Control: the same search finds the key when it is stored unsealed.
  const control = openWorkspace();
  control.transaction(() => control.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('plain', pemBody));
  control.db.prepare('CREATE TABLE plain_blob (b BLOB)').run();
  control.db.prepare('INSERT INTO plain_blob VALUES (?)').run(der);
  const controlBytes = diskBytes(control.dbPath);
  control.close();
  for (const needle of needles) assert.ok(occursIn([...controlBytes, ...diskBytes(control.dbPath)], needle));

  const ws = initialized();
  const sealed = ws.vault.seal(der, 'signing_key:k1');
  ws.transaction(() => {
    ws.db
      .prepare(
        "INSERT INTO signing_keys (id, profile, alg, kid, state, sealed_private, created_at) VALUES ('k1', 'ed25519', 'EdDSA', 'k1', 'active', ?, ?)",
      )
      .run(sealed, new Date().toISOString());
    ws.audit.append({ action: 'signing_key.create', target: 'signing_key:k1', details: { profile: 'ed25519' } });
  });
  const whileOpen = diskBytes(ws.dbPath);
  assert.ok(fs.existsSync(`${ws.dbPath}-wal`), 'the WAL should exist while the workspace is open');
  const dbPath = ws.dbPath;
  ws.close();
  const afterClose = diskBytes(dbPath);

  for (const needle of needles) {
    assert.equal(occursIn(whileOpen, needle), false);
    assert.equal(occursIn(afterClose, needle), false);
  }
  assert.equal(occursIn([...whileOpen, ...afterClose], Buffer.from(PASSPHRASE)), false);

  const again = openWorkspace(path.dirname(dbPath));
  try {
    again.vault.unlockWithPassphrase(PASSPHRASE);
    const stored = again.db.prepare("SELECT sealed_private FROM signing_keys WHERE id = 'k1'").get() as {
      sealed_private: Uint8Array;
    };
    assert.deepEqual(Buffer.from(again.vault.unseal(stored.sealed_private, 'signing_key:k1')), der);
  } finally {
    again.close();
  }
});

test('the throttle delays grow from the fourth failure: 1 s, 2 s, 4 s … capped', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => throttleDelayMs(n)),
    [0, 0, 0, 1000, 2000, 4000, 8000],
  );
  assert.equal(THROTTLE_FREE_FAILURES, 3);
  assert.equal(throttleDelayMs(20), THROTTLE_CAP_MS);
  assert.equal(throttleDelayMs(10_000), THROTTLE_CAP_MS);
});

function throttleRow(ws: Workspace): { failures: number; retry_at: number; last_failed_at: string } | undefined {
  return ws.db.prepare('SELECT failures, retry_at, last_failed_at FROM vault_unlock_failures').get() as
    { failures: number; retry_at: number; last_failed_at: string } | undefined;
}

test('failed unlocks are counted in the workspace; once throttled, an attempt is refused at once, even after a restart or from the CLI', () => {
  const dir = tempDir();
  initialized(dir).close();
  const ws = openWorkspace(dir);
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () => ws.vault.unlockWithPassphrase(`wrong guess ${i}!`),
      expectError('BAD_REQUEST', 'wrong passphrase'),
    );
  }
  const row = throttleRow(ws)!;
  assert.equal(row.failures, 3);
  // The third failure starts the first delay, measured from that failure.
  assert.equal(row.retry_at - Date.parse(row.last_failed_at), 1000);
  assert.deepEqual(
    failures(ws).map((f) => [f.details.failures, f.details.retry_after_s]),
    [
      [1, 0],
      [2, 0],
      [3, 1],
    ],
  );
  ws.close();

  // Pin the window far enough ahead that the assertions below do not depend on the clock.
  const pin = (w: Workspace) => w.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() + 60_000);
  const cli = Workspace.open(dir, { actor: { user: 'alice', kind: 'cli' }, kdf: FAST_KDF, allowWeakKdfInTests: true });
  try {
    pin(cli);
    const before = { ...(snapshot(cli) as object), throttle: throttleRow(cli) };
    // Even the right passphrase is refused while the window runs; nothing is written.
    assert.throws(
      () => cli.vault.unlockWithPassphrase(PASSPHRASE),
      expectError('BAD_REQUEST', /^too many failed passphrase attempts \(3\); try again in ([1-5]?[0-9]|60) s$/),
    );
    assert.deepEqual({ ...(snapshot(cli) as object), throttle: throttleRow(cli) }, before);
    assert.equal(cli.vault.status().unlocked, false);
  } finally {
    cli.close();
  }

  const again = openWorkspace(dir);
  try {
    // The window has passed: a wrong attempt is counted on top (4 → 2 s), a right one resets.
    again.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() - 1);
    assert.throws(
      () => again.vault.unlockWithPassphrase('wrong guess 4!'),
      expectError('BAD_REQUEST', 'wrong passphrase'),
    );
    const fourth = throttleRow(again)!;
    assert.equal(fourth.failures, 4);
    assert.equal(fourth.retry_at - Date.parse(fourth.last_failed_at), 2000);
    again.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() - 1);
    again.vault.unlockWithPassphrase(PASSPHRASE);
    assert.equal(again.vault.status().unlocked, true);
    assert.equal(throttleRow(again), undefined);
    again.vault.lock();
    assert.throws(() => again.vault.unlockWithPassphrase('wrong again!'), expectError('BAD_REQUEST'));
    assert.equal(throttleRow(again)!.failures, 1);
    assert.deepEqual(again.audit.verify().ok, true);
  } finally {
    again.close();
  }
});

test('a CLI process records its failures as source cli', () => {
  const dir = tempDir();
  initialized(dir).close();
  const cli = Workspace.open(dir, { actor: { user: 'ops', kind: 'cli' }, kdf: FAST_KDF, allowWeakKdfInTests: true });
  try {
    assert.throws(() => cli.vault.unlockWithPassphrase('not it at all'), expectError('BAD_REQUEST'));
    assert.deepEqual(failures(cli), [
      { action: 'vault.unlock.failed', details: { kind: 'passphrase', source: 'cli', failures: 1, retry_after_s: 0 } },
    ]);
    assert.equal(cli.audit.list({ action: 'vault.unlock.failed', limit: 1 }).rows[0]!.actor_kind, 'cli');
  } finally {
    cli.close();
  }
});

test('the async unlock opens the vault, refuses a wrong passphrase (audited), and is throttled like the sync one', async () => {
  const dir = tempDir();
  initialized(dir).close();
  const ws = openWorkspace(dir);
  try {
    await assert.rejects(
      ws.vault.unlockWithPassphraseAsync('wrong passphrase!'),
      expectError('BAD_REQUEST', 'wrong passphrase'),
    );
    await assert.rejects(ws.vault.unlockWithPassphraseAsync(''), expectError('BAD_REQUEST', 'wrong passphrase'));
    assert.equal(ws.vault.status().unlocked, false);
    assert.equal(failures(ws).length, 1);
    await ws.vault.unlockWithPassphraseAsync(PASSPHRASE);
    assert.equal(ws.vault.status().unlocked, true);
    assert.equal(throttleRow(ws), undefined);
    const sealed = ws.vault.seal(Buffer.from('hello'), 'test:async');
    ws.vault.lock();
    ws.vault.unlockWithPassphrase(PASSPHRASE);
    assert.equal(Buffer.from(ws.vault.unseal(sealed, 'test:async')).toString(), 'hello');
  } finally {
    ws.close();
  }
});

test('attempts fired in parallel cannot slip past the throttle: one runs at a time, the others are refused at once', async () => {
  const dir = tempDir();
  initialized(dir).close();
  const ws = openWorkspace(dir);
  try {
    const results = await Promise.allSettled(
      [0, 1, 2, 3, 4].map((i) => ws.vault.unlockWithPassphraseAsync(`parallel guess ${i}`)),
    );
    const errors = results.map((r) => (r.status === 'rejected' ? (r.reason as CastellanError) : null));
    assert.equal(errors[0]!.message, 'wrong passphrase');
    for (const e of errors.slice(1)) {
      assert.equal(e!.code, 'CONFLICT');
      assert.equal(e!.message, 'another passphrase attempt is still running; try again when it has finished');
    }
    assert.equal(failures(ws).length, 1, 'only the one guess that ran is counted');
    assert.equal(throttleRow(ws)!.failures, 1);
    // Once it has finished, the next attempt runs.
    await ws.vault.unlockWithPassphraseAsync(PASSPHRASE);
    assert.equal(ws.vault.unlocked, true);
    assert.equal(throttleRow(ws), undefined);
    // The same for re-authentications (they share the count).
    const reauths = await Promise.allSettled(
      [0, 1, 2].map((i) => ws.vault.reauthenticate({ passphrase: `parallel reauth ${i}` })),
    );
    assert.deepEqual(
      reauths.map((r) => (r.status === 'rejected' ? (r.reason as CastellanError).code : 'ok')),
      ['BAD_REQUEST', 'CONFLICT', 'CONFLICT'],
    );
    assert.equal(throttleRow(ws)!.failures, 1);
  } finally {
    ws.close();
  }
});

test('async initialize and add-slot derive off the main thread and give working slots', async () => {
  const ws = openWorkspace();
  try {
    await ws.vault.initializeAsync(PASSPHRASE);
    const slot = await ws.vault.addPassphraseSlotAsync('second passphrase', 'recovery');
    assert.deepEqual([slot.id, slot.label], [2, 'recovery']);
    await assert.rejects(ws.vault.addPassphraseSlotAsync('short'), expectError('INVALID_INPUT', /at least 8/));
    ws.vault.lock();
    await assert.rejects(ws.vault.addPassphraseSlotAsync('third passphrase'), expectError('LOCKED'));
    ws.vault.unlockWithPassphrase('second passphrase');
    ws.vault.lock();
    ws.vault.unlockWithPassphrase(PASSPHRASE);
    assert.deepEqual(auditActions(ws), ['vault.initialize', 'vault.slot.add']);
  } finally {
    ws.close();
  }
});

test('reauthenticate: the current passphrase or keychain passes; a wrong one is refused, audited and counted', async () => {
  const keychain = new TestKeychain();
  const ws = initialized(tempDir(), keychain);
  try {
    await ws.vault.reauthenticate({ passphrase: PASSPHRASE });
    await assert.rejects(
      ws.vault.reauthenticate({ keychain: true }),
      expectError('NOT_FOUND', /no OS keychain slot for gnome_libsecret/),
    );
    ws.vault.addKeychainSlot();
    await ws.vault.reauthenticate({ keychain: true });
    // A passphrase of another slot of the same vault is fine; any other is not.
    ws.vault.addPassphraseSlot('second passphrase');
    await ws.vault.reauthenticate({ passphrase: 'second passphrase' });
    const before = snapshotBesidesFailures(ws);
    await assert.rejects(
      ws.vault.reauthenticate({ passphrase: 'attacker guess' }),
      expectError('BAD_REQUEST', 're-authentication failed: wrong passphrase (or keychain slot)'),
    );
    await assert.rejects(
      ws.vault.reauthenticate({ passphrase: '' }),
      expectError('BAD_REQUEST', /re-authentication failed/),
    );
    for (const missing of [undefined, null, {}, { keychain: false }, 'x']) {
      await assert.rejects(
        ws.vault.reauthenticate(missing as never),
        expectError('INVALID_INPUT', /re-authentication is required/),
      );
    }
    assert.deepEqual(snapshotBesidesFailures(ws), before);
    assert.deepEqual(failures(ws), [
      { action: 'vault.reauth.failed', details: { kind: 'passphrase', source: 'app', failures: 1, retry_after_s: 0 } },
    ]);
    // A keychain that cannot open its slot fails the re-auth (audited, not counted).
    const reset = openWorkspace(ws.dir, new TestKeychain());
    try {
      reset.vault.unlockWithPassphrase(PASSPHRASE);
      await assert.rejects(
        reset.vault.reauthenticate({ keychain: true }),
        expectError('BAD_REQUEST', /re-authentication failed/),
      );
      assert.deepEqual(failures(reset).at(-1), {
        action: 'vault.reauth.failed',
        details: { kind: 'keychain', source: 'app' },
      });
    } finally {
      reset.close();
    }
    ws.vault.lock();
    await assert.rejects(ws.vault.reauthenticate({ passphrase: PASSPHRASE }), expectError('LOCKED'));
  } finally {
    ws.close();
  }
});

test('failed re-authentications share the unlock throttle', async () => {
  const ws = initialized();
  try {
    for (let i = 0; i < 3; i++) {
      await assert.rejects(ws.vault.reauthenticate({ passphrase: `guess ${i}` }), expectError('BAD_REQUEST'));
    }
    ws.db.prepare('UPDATE vault_unlock_failures SET retry_at = ?').run(Date.now() + 30_000);
    await assert.rejects(
      ws.vault.reauthenticate({ passphrase: PASSPHRASE }),
      expectError('BAD_REQUEST', /try again in ([12]?[0-9]|30) s/),
    );
    ws.vault.lock();
    assert.throws(() => ws.vault.unlockWithPassphrase(PASSPHRASE), expectError('BAD_REQUEST', /try again in/));
  } finally {
    ws.close();
  }
});

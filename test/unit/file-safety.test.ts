/**
 * Export files and the workspace folder against someone who can write beside them: planted
 * symbolic links, predictable temporary names, group-writable folders, secrets in world-readable
 * exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { createExclusive, tempPathFor, writeFileAtomic } from '../../electron/core/workspace/files.ts';
import { importDeployments } from '../../electron/core/deployments/deployments.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { writeOutput } from '../../electron/cli/io.ts';
import type { CliIO } from '../../electron/cli/io.ts';
import { openTestWorkspace, tempDir, testRouter, testServices } from '../harness/services.ts';

const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const posix = process.platform !== 'win32';

function folder(t: { after: (fn: () => void) => void }): string {
  const dir = tempDir('castellan-files-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A secret file (0600) and a symbolic link to it, as an attacker would plant them. */
function plantedLink(dir: string, linkName: string): { secret: string; link: string } {
  const secret = path.join(dir, 'id_secret');
  fs.writeFileSync(secret, 'the admin’s private key\n', { mode: 0o600 });
  fs.chmodSync(secret, 0o600);
  const link = path.join(dir, linkName);
  fs.symlinkSync(secret, link);
  return { secret, link };
}

function assertUntouched(secret: string): void {
  assert.equal(fs.readFileSync(secret, 'utf8'), 'the admin’s private key\n');
  if (posix) assert.equal(fs.statSync(secret).mode & 0o777, 0o600);
}

test('writeFileAtomic writes the exact mode whatever the umask, and leaves no temporary file', (t) => {
  const dir = folder(t);
  const before = process.umask(0o077);
  try {
    writeFileAtomic(path.join(dir, 'public.pem'), 'cert\n', 0o644);
  } finally {
    process.umask(before);
  }
  writeFileAtomic(path.join(dir, 'private.yaml'), 'env: secret\n', 0o600);
  writeFileAtomic(path.join(dir, 'private.yaml'), 'env: replaced\n', 0o600);
  if (posix) {
    assert.equal(fs.statSync(path.join(dir, 'public.pem')).mode & 0o777, 0o644);
    assert.equal(fs.statSync(path.join(dir, 'private.yaml')).mode & 0o777, 0o600);
  }
  assert.equal(fs.readFileSync(path.join(dir, 'private.yaml'), 'utf8'), 'env: replaced\n');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['private.yaml', 'public.pem']);
});

test('temporary names are random and hidden beside the file, never the pid or the clock', () => {
  const a = tempPathFor('/some/dir/export.json');
  const b = tempPathFor('/some/dir/export.json');
  assert.notEqual(a, b);
  assert.equal(path.dirname(a), '/some/dir');
  assert.match(path.basename(a), /^\.export\.json\.[0-9a-f]{24}\.tmp$/);
  assert.ok(!a.includes(String(process.pid)));
});

test('an export to a planted symbolic link is refused: the 0600 file it points to stays untouched and 0600', (t) => {
  const dir = folder(t);
  const { secret, link } = plantedLink(dir, 'jwks.json');
  assert.throws(() => writeFileAtomic(link, '{"keys":[]}\n', 0o644), {
    code: 'INVALID_INPUT',
    message: `${link} is a symbolic link; Castellan does not write exports through links: choose the file it points to, or remove the link`,
  });
  assertUntouched(secret);
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is left as it was');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['id_secret', 'jwks.json'], 'no temporary file left');
});

test('a temporary file is created exclusively: a link planted at its name is never followed or chmod-ed', (t) => {
  const dir = folder(t);
  const { secret, link } = plantedLink(dir, '.export.json.tmp');
  assert.throws(() => createExclusive(link, 'attacker gets this?', 0o644), { code: 'EEXIST' });
  assertUntouched(secret);
  assert.ok(fs.lstatSync(link).isSymbolicLink());
});

test('the CLI --out refuses a planted link the same way', (t) => {
  const dir = folder(t);
  const { secret, link } = plantedLink(dir, 'out.pem');
  const io: CliIO = { stdout: () => undefined, stderr: () => undefined, stdin: process.stdin, env: {} };
  assert.throws(() => writeOutput(io, link, 'cert\n'), { code: 'INVALID_INPUT', message: /is a symbolic link/ });
  assertUntouched(secret);
});

test('deployments:export writes 0600 (a spec’s env may hold secrets) and refuses a planted link', async (t) => {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  importDeployments(ws, [{ file: 'shop.yaml', text: 'deployment: shop\nservices:\n  web:\n    env:\n      DB_PASSWORD: hunter2\n' }]);
  const services = testServices(ws);
  const router = testRouter(services)(ORIGIN);
  const dir = folder(t);
  const out = path.join(dir, 'shop.yaml');
  services.dialogs.saves.push(out);
  const ok = (await router.dispatch('deployments:export', SENDER, { name: 'shop' })) as Envelope<{ path: string }>;
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.match(fs.readFileSync(out, 'utf8'), /DB_PASSWORD: hunter2/);
  if (posix) assert.equal(fs.statSync(out).mode & 0o777, 0o600);

  const { secret, link } = plantedLink(dir, 'linked.yaml');
  services.dialogs.saves.push(link);
  const refused = (await router.dispatch('deployments:export', SENDER, { name: 'shop' })) as Envelope<unknown>;
  assert.equal(refused.ok, false);
  assert.match(JSON.stringify(refused), /is a symbolic link/);
  assertUntouched(secret);
});

test('a workspace folder writable by its group or others is refused with how to fix it; nothing is created in it', { skip: !posix }, (t) => {
  const dir = folder(t);
  const ws = path.join(dir, 'workspace');
  fs.mkdirSync(ws, { mode: 0o700 });
  const actor = { user: 'tester', kind: 'app' as const };
  const open = () => Workspace.open(ws, { actor, kdf: { N: 2 ** 10, r: 8, p: 1 }, allowWeakKdfInTests: true });
  fs.chmodSync(ws, 0o770);
  assert.throws(open, {
    code: 'INVALID_INPUT',
    message: `the workspace folder ${ws} is writable by its group (mode 0770), so they could replace its database; make it private with: chmod go-w ${JSON.stringify(ws)} (or chmod 700)`,
  });
  fs.chmodSync(ws, 0o707);
  assert.throws(open, { code: 'INVALID_INPUT', message: /is writable by others \(mode 0707\)/ });
  fs.chmodSync(ws, 0o777);
  assert.throws(open, { code: 'INVALID_INPUT', message: /is writable by its group and by others \(mode 0777\)/ });
  assert.deepEqual(fs.readdirSync(ws), [], 'no database was created');
  // Fixed as the message says, it opens; a group-readable (not writable) folder is fine.
  fs.chmodSync(ws, 0o750);
  open().close();
});

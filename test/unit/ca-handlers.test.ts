/**
 * ca:* through the real app router (createAppRouter + testServices): the router parses every
 * answer against the contract, so an `ok` answer is also a contract check. Dialog answers
 * are queued on `services.dialogs`; everything behind them (files, openssl) is real. No
 * answer may carry key material.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { pemDecodeAll } from '../../electron/core/ca/der.ts';
import { openTestWorkspace, tempDir, testRouter, testServices, type TestServices } from '../harness/services.ts';

const OPENSSL = '/usr/bin/openssl';
const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const PASSPHRASE = 'correct horse battery staple';
const REAUTH = { passphrase: PASSPHRASE };
const DAY = 86_400_000;

let dir = '';
let seq = 0;
const opened: Workspace[] = [];

before(() => {
  dir = tempDir('castellan-ca-handlers-');
});
after(() => {
  for (const ws of opened) ws.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[]): string {
  return execFileSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function opensslAll(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function fresh(name: string): string {
  return path.join(dir, `${++seq}-${name}`);
}

function makeCsr(newkey: string[], subj = '/CN=admin', san?: string): string {
  const out = fresh('req.pem');
  const args = ['req', '-new', ...newkey, '-nodes', '-keyout', fresh('key.pem'), '-subj', subj, '-out', out];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  return fs.readFileSync(out, 'utf8');
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function makeCaFiles(): { cert: string; key: string } {
  const cert = fresh('ca.crt');
  const key = fresh('ca.key');
  openssl([
    'req', '-x509', ...P256, '-nodes', '-keyout', key, '-out', cert, '-days', '60', '-subj', '/CN=Imported CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

function harness() {
  const ws = openTestWorkspace();
  opened.push(ws);
  ws.vault.initialize(PASSPHRASE);
  const services: TestServices = testServices(ws);
  const router = testRouter(services)(ORIGIN);
  const answers: string[] = [];
  async function call<T>(channel: string, input: unknown): Promise<Envelope<T>> {
    const answer = (await router.dispatch(channel, SENDER, input)) as Envelope<T>;
    answers.push(JSON.stringify(answer));
    return answer;
  }
  async function ok<T = Record<string, unknown>>(channel: string, input: unknown = {}): Promise<T> {
    const answer = await call<T>(channel, input);
    assert.equal(answer.ok, true, `${channel}: ${JSON.stringify(answer)}`);
    return (answer as { ok: true; data: T }).data;
  }
  const count = (sql: string) => (ws.db.prepare(sql).get() as { n: number }).n;
  const state = () => ({
    ca: count('SELECT count(*) AS n FROM ca'),
    certs: count('SELECT count(*) AS n FROM certificates'),
    revoked: count('SELECT count(*) AS n FROM certificates WHERE revoked_at IS NOT NULL'),
    audit: count('SELECT count(*) AS n FROM audit'),
    crl: (ws.db.prepare('SELECT crl_number FROM ca_crl').get() as { crl_number: string } | undefined)?.crl_number ?? null,
  });
  /** Refused with `code`; the workspace and the dialogs asked are unchanged. */
  async function refused(channel: string, input: unknown, code: string, message?: RegExp): Promise<void> {
    const before = state();
    const asked = services.dialogs.asked.length;
    const answer = await call(channel, input);
    assert.equal(answer.ok, false, `${channel} should be refused`);
    const error = (answer as { ok: false; error: { code: string; message: string } }).error;
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    assert.deepEqual(state(), before, `${channel} refused but changed the workspace`);
    assert.equal(services.dialogs.asked.length, asked, `${channel} refused but opened a dialog first`);
  }
  return { ws, services, call, ok, refused, answers, state };
}

type Cert = { serial: string; node_id: string; status: string; subject: string; not_after: string; issued_at: string };

function assertNoKeyMaterial(answers: string[], keyPems: string[] = []): void {
  for (const a of answers) {
    assert.equal(a.includes('PRIVATE KEY'), false, 'an answer carried a private key');
    for (const pem of keyPems) {
      for (const line of pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        assert.equal(a.includes(line), false, 'an answer carried key material');
      }
    }
  }
}

test('init, preview, sign, list, save, revoke and export the CRL and bundles through the router', async () => {
  const h = harness();
  assert.equal(await h.ok('ca:show'), null);
  const ca = await h.ok<{ subject: string; key_type: string; imported: boolean }>('ca:init');
  assert.deepEqual([ca.subject, ca.key_type, ca.imported], ['CN=ZLayer Worker CA, O=ZLayer', 'P-256', false]);
  assert.deepEqual(await h.ok('ca:show'), ca);
  await h.refused('ca:init', {}, 'CONFLICT', /already has a worker CA/);

  const csr = makeCsr(P256, '/CN=admin', 'DNS:w1.example');
  const preview = await h.ok('ca:previewCsr', { csr });
  assert.deepEqual(preview, {
    key_type: 'P-256',
    key_size: 256,
    requested_subject: 'CN=admin',
    sans: [{ type: 'dns', value: 'w1.example' }],
    san_verdicts: [{ type: 'dns', value: 'w1.example', allowed: true, rule: null }],
    signature_valid: true,
    acceptable: true,
    problems: [],
  });
  const der64 = Buffer.from(pemDecodeAll(csr)[0]!.der).toString('base64');
  assert.deepEqual(await h.ok('ca:previewCsr', { csr: der64 }), preview);
  const weak = await h.ok<{ acceptable: boolean; problems: string[] }>('ca:previewCsr', { csr: makeCsr(['-newkey', 'rsa:1024']) });
  assert.equal(weak.acceptable, false);
  assert.match(weak.problems[0]!, /below the 2048-bit minimum/);
  await h.refused('ca:previewCsr', { csr: 'garbage!' }, 'INVALID_INPUT', /not a PKCS#10 certificate request/);
  // The workspace SAN policy, per name, for the node id the page has typed (if any).
  const risky = makeCsr(P256, '/CN=x', 'DNS:w3.example,DNS:localhost,IP:127.0.0.1,IP:0.0.0.0,DNS:worker-other,DNS:worker-w3');
  type Verdicts = { acceptable: boolean; san_verdicts: { value: string; allowed: boolean; rule: string | null }[] };
  const judged = await h.ok<Verdicts>('ca:previewCsr', { csr: risky, node_id: 'w3' });
  assert.equal(judged.acceptable, false);
  assert.deepEqual(
    judged.san_verdicts.map((v) => [v.value, v.allowed]),
    [['w3.example', true], ['localhost', false], ['127.0.0.1', false], ['0.0.0.0', false], ['worker-other', false], ['worker-w3', true]],
  );
  assert.match(judged.san_verdicts[4]!.rule!, /names another worker \(this certificate is for worker-w3/);
  const noNode = await h.ok<Verdicts>('ca:previewCsr', { csr: risky });
  assert.match(noNode.san_verdicts[5]!.rule!, /give the node id to judge it/);

  const signed = await h.ok<{ certificate: Cert; leaf_pem: string }>('ca:sign', { csr, node_id: 'w1' });
  assert.equal(signed.certificate.subject, 'CN=worker-w1, O=ZLayer Worker');
  assert.equal(Date.parse(signed.certificate.not_after) - Date.parse(signed.certificate.issued_at) <= 90 * DAY, true);
  assert.equal(Date.parse(signed.certificate.not_after) - Date.parse(signed.certificate.issued_at) > 89 * DAY, true);
  const caFile = fresh('ca.pem');
  h.services.dialogs.saves.push(caFile);
  await h.ok('ca:exportBundle', { format: 'pem' });
  const leafFile = fresh('leaf.pem');
  fs.writeFileSync(leafFile, signed.leaf_pem);
  const verified = opensslAll(['verify', '-CAfile', caFile, leafFile]);
  assert.equal(verified.status, 0, verified.out);
  const second = await h.ok<{ certificate: Cert }>('ca:sign', { csr: der64, node_id: 'w2', days: 10 });
  await h.refused('ca:sign', { csr, node_id: 'w3', days: 0 }, 'INVALID_INPUT');
  await h.refused('ca:sign', { csr, node_id: 'w3', days: 3650 }, 'INVALID_INPUT', /validity of 3650 days is refused: .*at most 90 days/);
  await h.refused('ca:sign', { csr: risky, node_id: 'w3' }, 'INVALID_INPUT', /DNS:localhost is refused/);
  await h.refused('ca:sign', { csr, node_id: 'bad id' }, 'INVALID_INPUT', /node id "bad id" is invalid/);
  await h.refused('ca:sign', { csr: makeCsr(['-newkey', 'rsa:1024']), node_id: 'w3' }, 'INVALID_INPUT', /below the 2048-bit minimum/);

  const list = await h.ok<{ rows: Cert[]; total: number }>('ca:certs', {});
  assert.equal(list.total, 2);
  assert.deepEqual((await h.ok<{ rows: Cert[] }>('ca:certs', { search: 'worker-w2' })).rows.map((r) => r.node_id), ['w2']);
  assert.deepEqual((await h.ok<{ rows: Cert[] }>('ca:certs', { expiring_within_days: 30 })).rows.map((r) => r.node_id), ['w2']);
  assert.equal((await h.ok<{ rows: Cert[]; total: number }>('ca:certs', { limit: 1, offset: 1 })).rows.length, 1);

  // Save the certificate in each format; a cancelled dialog writes nothing.
  for (const format of ['pem', 'der', 'json'] as const) {
    const out = fresh(`leaf.${format}`);
    h.services.dialogs.saves.push(out);
    assert.deepEqual(await h.ok('ca:saveCertificate', { serial: signed.certificate.serial, format }), { cancelled: false, path: out });
    assert.equal(fs.statSync(out).mode & 0o777, 0o644);
  }
  assert.equal(fs.readFileSync(path.join(dir, `${seq - 2}-leaf.pem`), 'utf8'), signed.leaf_pem);
  const registration = JSON.parse(fs.readFileSync(path.join(dir, `${seq}-leaf.json`), 'utf8')) as { leaf_der: string; ca_chain_der: string[] };
  assert.equal(registration.ca_chain_der.length, 1);
  h.services.dialogs.saves.push(null);
  assert.deepEqual(await h.ok('ca:saveCertificate', { serial: signed.certificate.serial, format: 'pem' }), { cancelled: true, path: null });
  await h.refused('ca:saveCertificate', { serial: 'abcdef', format: 'pem' }, 'NOT_FOUND', /no certificate with serial abcdef/);

  // Revoke with the CRL validity from the settings.
  h.services.settings.set({ crl_validity_days: 2 });
  const colon = signed.certificate.serial.toUpperCase().replace(/(..)(?!$)/g, '$1:');
  const revoked = await h.ok<Cert & { revocation_reason: string }>('ca:revoke', { serial: colon, reason: 'keyCompromise' });
  assert.deepEqual([revoked.status, revoked.revocation_reason], ['revoked', 'keyCompromise']);
  await h.refused('ca:revoke', { serial: colon, reason: 'superseded' }, 'CONFLICT', /already revoked/);
  await h.refused('ca:revoke', { serial: '7f'.repeat(16), reason: 'superseded' }, 'NOT_FOUND');
  await h.refused('ca:revoke', { serial: second.certificate.serial, reason: 'lost' }, 'INVALID_INPUT');

  const crlPem = fresh('crl.pem');
  h.services.dialogs.saves.push(crlPem);
  await h.ok('ca:exportCrl', { format: 'pem' });
  const crlCheck = opensslAll(['crl', '-in', crlPem, '-CAfile', caFile, '-noout']);
  assert.match(crlCheck.out, /verify OK/);
  const text = openssl(['crl', '-in', crlPem, '-noout', '-text']);
  assert.match(text, new RegExp(`Serial Number: ${signed.certificate.serial.toUpperCase()}[\\s\\S]*Key Compromise`));
  const last = /Last Update: (.*)\n/.exec(text)![1]!;
  const next = /Next Update: (.*)\n/.exec(text)![1]!;
  assert.equal(Date.parse(next) - Date.parse(last), 2 * DAY);
  const crlDer = fresh('crl.der');
  h.services.dialogs.saves.push(crlDer);
  await h.ok('ca:exportCrl', { format: 'der' });
  assert.match(openssl(['crl', '-inform', 'DER', '-in', crlDer, '-noout', '-text']), /CRL Number:\s*\n\s*2\n/);

  for (const format of ['der', 'p7b', 'p7b-der', 'json'] as const) {
    const out = fresh(`bundle.${format}`);
    h.services.dialogs.saves.push(out);
    assert.deepEqual(await h.ok('ca:exportBundle', { format }), { cancelled: false, path: out });
    if (format === 'p7b') assert.match(openssl(['pkcs7', '-in', out, '-print_certs']), /ZLayer Worker CA/);
    if (format === 'p7b-der') assert.match(openssl(['pkcs7', '-inform', 'DER', '-in', out, '-print_certs']), /ZLayer Worker CA/);
  }
  h.services.dialogs.saves.push(null);
  assert.deepEqual(await h.ok('ca:exportBundle', { format: 'pem' }), { cancelled: true, path: null });
  await h.refused('ca:exportBundle', { format: 'zip' }, 'INVALID_INPUT');

  assert.ok(h.ws.audit.verify().ok);
  assertNoKeyMaterial(h.answers);
});

test('ca:importDialog asks for the certificate then the key; a mismatch or cancel changes nothing', async () => {
  const a = makeCaFiles();
  const b = makeCaFiles();
  const h = harness();

  h.services.dialogs.opens.push(null);
  assert.deepEqual(await h.ok('ca:importDialog'), { cancelled: true, ca: null });
  h.services.dialogs.opens.push([a.cert], null);
  assert.deepEqual(await h.ok('ca:importDialog'), { cancelled: true, ca: null });
  assert.equal(h.state().ca, 0);

  const before = h.state();
  h.services.dialogs.opens.push([a.cert], [b.key]);
  const answer = await h.call('ca:importDialog', {});
  assert.equal(answer.ok, false);
  assert.match((answer as { ok: false; error: { code: string; message: string } }).error.message, /the key does not match the certificate/);
  assert.deepEqual(h.state(), before);

  h.services.dialogs.opens.push([a.cert], [a.key]);
  const imported = await h.ok<{ cancelled: boolean; ca: { subject: string; imported: boolean } }>('ca:importDialog');
  assert.deepEqual([imported.cancelled, imported.ca.subject, imported.ca.imported], [false, 'CN=Imported CA', true]);
  assert.deepEqual(h.services.dialogs.asked.slice(-2), [
    'Import the worker CA: 1 of 2, the certificate (worker_ca.crt)',
    'Import the worker CA: 2 of 2, its private key (worker_ca.key)',
  ]);
  // With a CA in place the dialog is never opened.
  await h.refused('ca:importDialog', {}, 'CONFLICT', /already has a worker CA/);
  assertNoKeyMaterial(h.answers, [fs.readFileSync(a.key, 'utf8')]);
});

test('ca:exportZlayer needs confirm: true and the unlocked vault; writes 0644/0600 into the chosen folder', async () => {
  const h = harness();
  await h.ok('ca:init');
  await h.refused('ca:exportZlayer', {}, 'INVALID_INPUT');
  await h.refused('ca:exportZlayer', { confirm: false }, 'INVALID_INPUT');

  const out = fresh('zlayer');
  fs.mkdirSync(out);
  h.services.dialogs.opens.push([out]);
  assert.deepEqual(await h.ok('ca:exportZlayer', { confirm: true, reauth: REAUTH }), { cancelled: false, path: out });
  assert.equal(fs.statSync(path.join(out, 'worker_ca.crt')).mode & 0o777, 0o644);
  assert.equal(fs.statSync(path.join(out, 'worker_ca.key')).mode & 0o777, 0o600);
  assert.equal(
    openssl(['pkey', '-in', path.join(out, 'worker_ca.key'), '-pubout']),
    openssl(['x509', '-in', path.join(out, 'worker_ca.crt'), '-noout', '-pubkey']),
  );
  h.services.dialogs.opens.push(null);
  assert.deepEqual(await h.ok('ca:exportZlayer', { confirm: true, reauth: REAUTH }), { cancelled: true, path: null });

  h.ws.vault.lock();
  await h.refused('ca:exportZlayer', { confirm: true, reauth: REAUTH }, 'LOCKED', /vault is locked/);
  assertNoKeyMaterial(h.answers, [fs.readFileSync(path.join(out, 'worker_ca.key'), 'utf8')]);
});

test('locked vault: sign, revoke, init and import refuse with LOCKED before any dialog; reads and public exports work', async () => {
  const h = harness();
  await h.refused('ca:exportBundle', { format: 'pem' }, 'NOT_FOUND', /no worker CA/);
  await h.ok('ca:init');
  const signed = await h.ok<{ certificate: Cert }>('ca:sign', { csr: makeCsr(P256), node_id: 'n1' });
  h.ws.vault.lock();
  await h.refused('ca:sign', { csr: makeCsr(P256), node_id: 'n2' }, 'LOCKED');
  await h.refused('ca:revoke', { serial: signed.certificate.serial, reason: 'superseded' }, 'LOCKED');

  const other = harness();
  other.ws.vault.lock();
  await other.refused('ca:init', {}, 'LOCKED');
  await other.refused('ca:importDialog', {}, 'LOCKED');

  assert.equal((await h.ok<{ key_type: string }>('ca:show')).key_type, 'P-256');
  assert.equal((await h.ok<{ total: number }>('ca:certs', {})).total, 1);
  const crl = fresh('crl.pem');
  h.services.dialogs.saves.push(crl);
  await h.ok('ca:exportCrl', { format: 'pem' });
  assert.match(fs.readFileSync(crl, 'utf8'), /^-----BEGIN X509 CRL-----/);
  const bundle = fresh('ca.p7b');
  h.services.dialogs.saves.push(bundle);
  await h.ok('ca:exportBundle', { format: 'p7b' });
  const leaf = fresh('leaf.crt');
  h.services.dialogs.saves.push(leaf);
  await h.ok('ca:saveCertificate', { serial: signed.certificate.serial, format: 'pem' });
  assert.match(fs.readFileSync(leaf, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
});

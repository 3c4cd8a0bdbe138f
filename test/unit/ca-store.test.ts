/**
 * The worker CA on top of the workspace (ca-store.ts, certificate-inventory.ts,
 * crl-publisher.ts): real temp workspaces and SQLite, CSRs made by `openssl req`, every
 * output checked with the real openssl. Every refusal is checked for its error and for
 * leaving the tables and the audit log exactly as they were.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isCastellanError } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import {
  crlNeedsRefresh,
  exportCaBundle,
  exportCaZlayer,
  exportCrl,
  importCa,
  initCa,
  publishCrl,
  requireCaCert,
  showCa,
} from '../../electron/core/ca/ca-store.ts';
import { caBundle } from '../../electron/core/ca/ca-bundle.ts';
import {
  csrFromText,
  exportCertificate,
  getCertificate,
  listCertificates,
  normalizeSerial,
  revokeCertificate,
  signCsr,
} from '../../electron/core/ca/certificate-inventory.ts';
import { readStoredCrl } from '../../electron/core/ca/crl-publisher.ts';
import { pemDecodeAll, pemEncode } from '../../electron/core/ca/der.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { updateWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import { rsaExponentCsr } from '../harness/forged-csr.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';

const OPENSSL = '/usr/bin/openssl';
const PASSPHRASE = 'correct horse battery staple';
const DAY = 86_400_000;
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const ED25519 = ['-newkey', 'ed25519'];
const RSA2048 = ['-newkey', 'rsa:2048'];
const RSA1024 = ['-newkey', 'rsa:1024'];

let dir = '';
let seq = 0;
const workspaces: Workspace[] = [];

before(() => {
  dir = tempDir('castellan-ca-store-');
});

after(() => {
  for (const ws of workspaces) ws.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[]): string {
  return execFileSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** stdout + stderr of an openssl run (it prints verify results on either). */
function opensslAll(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, `${++seq}-${name}`);
  fs.writeFileSync(p, content);
  return p;
}

const csrCache = new Map<string, string>();
/** A PEM CSR from `openssl req`. */
function makeCsr(newkey: string[], subj = '/CN=admin', san?: string): string {
  const cacheKey = `${newkey.join(' ')}|${subj}|${san ?? ''}`;
  const cached = csrCache.get(cacheKey);
  if (cached) return cached;
  const out = path.join(dir, `req-${++seq}.pem`);
  const args = ['req', '-new', ...newkey, '-nodes', '-keyout', path.join(dir, `key-${seq}.pem`), '-subj', subj, '-out', out];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  const pem = fs.readFileSync(out, 'utf8');
  csrCache.set(cacheKey, pem);
  return pem;
}

/** An unlocked workspace of its own. */
function workspace(wsDir?: string): Workspace {
  const ws = openTestWorkspace(wsDir);
  workspaces.push(ws);
  if (!ws.vault.status().initialized) ws.vault.initialize(PASSPHRASE);
  else ws.vault.unlockWithPassphrase(PASSPHRASE);
  return ws;
}

async function workspaceWithCa(): Promise<Workspace> {
  const ws = workspace();
  await initCa(ws);
  return ws;
}

interface State {
  ca: number;
  certs: number;
  revoked: number;
  audit: number;
  crlNumber: string | null;
  storedCrl: string | null;
}

function stateOf(ws: Workspace): State {
  const n = (sql: string) => (ws.db.prepare(sql).get() as { n: number }).n;
  const meta = ws.db.prepare("SELECT value FROM meta WHERE key = 'crl_number'").get() as { value: string } | undefined;
  const crl = ws.db.prepare('SELECT crl_number FROM ca_crl').get() as { crl_number: string } | undefined;
  return {
    ca: n('SELECT count(*) AS n FROM ca'),
    certs: n('SELECT count(*) AS n FROM certificates'),
    revoked: n('SELECT count(*) AS n FROM certificates WHERE revoked_at IS NOT NULL'),
    audit: n('SELECT count(*) AS n FROM audit'),
    crlNumber: meta?.value ?? null,
    storedCrl: crl?.crl_number ?? null,
  };
}

/** Expect `run` to be refused with `code` and `message`, leaving the workspace as it was. */
async function refused(ws: Workspace, run: () => unknown, code: ErrorCode, message: RegExp): Promise<void> {
  const before = stateOf(ws);
  await assert.rejects(
    async () => {
      await run();
    },
    (err: unknown) => {
      assert.ok(isCastellanError(err), `expected a CastellanError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
  assert.deepEqual(stateOf(ws), before, 'a refusal changed the workspace');
  assert.ok(ws.audit.verify().ok);
}

/** The CA certificate as PEM, read without an (audited) export. */
function caPem(ws: Workspace): string {
  return caBundle(requireCaCert(ws), 'pem');
}

function verifyLeaf(ws: Workspace, leafPem: string): string {
  const r = opensslAll(['verify', '-CAfile', file('ca.pem', caPem(ws)), file('leaf.pem', leafPem)]);
  assert.equal(r.status, 0, r.out);
  return r.out;
}

async function crlText(ws: Workspace): Promise<{ pemFile: string; text: string; verify: string }> {
  let pem = '';
  await exportCrl(ws, 'pem', (data) => (pem = data as string));
  const pemFile = file('crl.pem', pem);
  const verify = opensslAll(['crl', '-in', pemFile, '-CAfile', file('ca.pem', caPem(ws)), '-noout']);
  assert.equal(verify.status, 0, verify.out);
  return { pemFile, text: openssl(['crl', '-in', pemFile, '-noout', '-text']), verify: verify.out };
}

function crlNumberOf(text: string): number {
  const m = /CRL Number:\s*\n\s*(\d+)/.exec(text);
  assert.ok(m, text);
  return Number(m[1]);
}

function colonSerial(serial: string): string {
  return serial.toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

function auditActions(ws: Workspace): string[] {
  return ws.audit
    .list({ limit: 1000 })
    .rows.map((r) => r.action)
    .reverse();
}

// ───────────────────────────── the CA ─────────────────────────────

describe('the CA', () => {
  test('initCa creates the ZLayer worker CA, seals its key, publishes CRL #1 and audits it', async () => {
    const ws = workspace();
    assert.equal(showCa(ws), null);
    const ca = await initCa(ws);
    assert.equal(ca.subject, 'CN=ZLayer Worker CA, O=ZLayer');
    assert.equal(ca.issuer, ca.subject);
    assert.equal(ca.key_type, 'P-256');
    assert.equal(ca.imported, false);
    assert.equal(Date.parse(ca.not_after) - Date.parse(ca.not_before), 3650 * DAY + 60_000);
    assert.deepEqual(showCa(ws), ca);

    const row = ws.db.prepare('SELECT cert_der, sealed_key FROM ca').get() as { cert_der: Uint8Array; sealed_key: Uint8Array };
    const x509 = new X509Certificate(row.cert_der);
    assert.equal(x509.ca, true);
    // The key is sealed under `ca_key` and matches the certificate.
    const key = ws.vault.unseal(row.sealed_key, 'ca_key');
    const keyPem = pemEncode(key, 'PRIVATE KEY');
    key.fill(0);
    const pub = openssl(['pkey', '-in', file('k.pem', keyPem), '-pubout']);
    assert.equal(pub, x509.publicKey.export({ type: 'spki', format: 'pem' }));
    assert.equal(Buffer.from(row.sealed_key).includes(Buffer.from(pemDecodeAll(keyPem)[0]!.der.subarray(-32))), false);

    const text = openssl(['x509', '-in', file('ca.pem', caPem(ws)), '-noout', '-text']);
    assert.match(text, /CA:TRUE/);
    assert.match(text, /Digital Signature, Certificate Sign, CRL Sign/);

    const { text: crl, verify } = await crlText(ws);
    assert.match(verify, /verify OK/);
    assert.equal(crlNumberOf(crl), 1);
    assert.match(crl, /No Revoked Certificates/);
    assert.deepEqual(auditActions(ws), ['vault.initialize', 'ca.init', 'ca.export']);
    assert.ok(ws.audit.verify().ok);
  });

  test('a second initCa is refused with CONFLICT and changes nothing', async () => {
    const ws = await workspaceWithCa();
    const ca = showCa(ws);
    await refused(ws, () => initCa(ws), 'CONFLICT', /already has a worker CA/);
    assert.deepEqual(showCa(ws), ca);
  });

  test('initCa with a locked vault is refused with LOCKED and changes nothing', async () => {
    const ws = workspace();
    ws.vault.lock();
    await refused(ws, () => initCa(ws), 'LOCKED', /vault is locked/);
    assert.equal(showCa(ws), null);
  });

  test('importCa adopts an openssl-made P-256 CA; leaves it signs verify against it', async () => {
    const certFile = path.join(dir, `imp-${++seq}.crt`);
    const keyFile = path.join(dir, `imp-${seq}.key`);
    openssl([
      'req', '-x509', ...P256, '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '365',
      '-subj', '/CN=Existing Worker CA/O=ZLayer',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    const ws = workspace();
    const ca = await importCa(ws, fs.readFileSync(certFile), fs.readFileSync(keyFile));
    assert.equal(ca.imported, true);
    assert.equal(ca.subject, 'CN=Existing Worker CA, O=ZLayer');
    const signed = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'imported-1' });
    const r = opensslAll(['verify', '-CAfile', certFile, file('leaf.pem', signed.leafPem)]);
    assert.equal(r.status, 0, r.out);
    assert.match((await crlText(ws)).verify, /verify OK/);
    assert.equal(auditActions(ws)[1], 'ca.import');
  });

  test('importCa refuses a key that does not match the certificate, and nothing changes', async () => {
    const a = path.join(dir, `a-${++seq}`);
    const b = path.join(dir, `b-${seq}`);
    for (const p of [a, b]) {
      openssl([
        'req', '-x509', ...P256, '-nodes', '-keyout', `${p}.key`, '-out', `${p}.crt`, '-days', '30', '-subj', '/CN=CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ]);
    }
    const ws = workspace();
    const before = stateOf(ws);
    await refused(ws, () => importCa(ws, fs.readFileSync(`${a}.crt`), fs.readFileSync(`${b}.key`)), 'INVALID_INPUT', /the key does not match the certificate/);
    assert.deepEqual(stateOf(ws), { ...before, ca: 0, crlNumber: null, storedCrl: null });
    assert.equal(showCa(ws), null);
  });

  test('importCa refuses a non-CA certificate, garbage, an empty file, a locked vault and an existing CA', async () => {
    const leaf = path.join(dir, `leaf-${++seq}`);
    openssl(['req', '-x509', ...P256, '-nodes', '-keyout', `${leaf}.key`, '-out', `${leaf}.crt`, '-days', '30', '-subj', '/CN=leaf', '-addext', 'basicConstraints=critical,CA:FALSE']);
    const cert = fs.readFileSync(`${leaf}.crt`);
    const key = fs.readFileSync(`${leaf}.key`);
    const ws = workspace();
    await refused(ws, () => importCa(ws, cert, key), 'INVALID_INPUT', /not a CA \(basicConstraints cA is false\)/);
    await refused(ws, () => importCa(ws, randomBytes(300), key), 'INVALID_INPUT', /not a PEM certificate/);
    await refused(ws, () => importCa(ws, new Uint8Array(0), key), 'INVALID_INPUT', /the certificate file is empty/);
    ws.vault.lock();
    await refused(ws, () => importCa(ws, cert, key), 'LOCKED', /vault is locked/);
    ws.vault.unlockWithPassphrase(PASSPHRASE);
    await initCa(ws);
    await refused(ws, () => importCa(ws, cert, key), 'CONFLICT', /already has a worker CA/);
  });
});

// ───────────────────────────── signing ─────────────────────────────

describe('signing CSRs', () => {
  test('P-256, Ed25519 and RSA-2048 CSRs from openssl sign and verify with openssl verify -CAfile', async () => {
    const ws = await workspaceWithCa();
    const kinds: [string, string[]][] = [['p256', P256], ['ed25519', ED25519], ['rsa2048', RSA2048]];
    for (const [name, newkey] of kinds) {
      const csr = makeCsr(newkey, '/CN=admin', `DNS:${name}.nodes.example,IP:10.0.0.7`);
      const before = stateOf(ws);
      const signed = await signCsr(ws, { csr, nodeId: `node-${name}` });
      assert.match(verifyLeaf(ws, signed.leafPem), /OK/);
      const c = signed.certificate;
      assert.equal(c.subject, `CN=worker-node-${name}, O=ZLayer Worker`);
      assert.deepEqual(c.sans, [
        { type: 'dns', value: `${name}.nodes.example` },
        { type: 'ip', value: '10.0.0.7' },
      ]);
      assert.equal(c.status, 'valid');
      assert.deepEqual(stateOf(ws), { ...before, certs: before.certs + 1, audit: before.audit + 1 });
      const x = new X509Certificate(signed.leafDer);
      assert.equal(x.serialNumber.toLowerCase(), c.serial);
      assert.equal(x.fingerprint256, c.fingerprint_sha256);
      // The registration reply: the leaf and the CA, base64 DER.
      assert.equal(signed.registration.leaf_der, Buffer.from(signed.leafDer).toString('base64'));
      assert.equal(signed.registration.ca_chain_der.length, 1);
      assert.equal(pemEncode(Buffer.from(signed.registration.ca_chain_der[0]!, 'base64'), 'CERTIFICATE'), caPem(ws));
      assert.deepEqual(getCertificate(ws, c.serial), c);
    }
    const entry = ws.audit.list({ action: 'ca.sign', limit: 1 }).rows[0]!;
    assert.equal(entry.target, `certificate:${listCertificates(ws).rows[0]!.serial}`);
    assert.equal(entry.details.requested_subject, 'CN=admin');
    assert.equal(entry.details.csr_key_type, 'RSA 2048');
  });

  test('a CSR asking for CN=admin yields CN=worker-<node id>, and DER input works too', async () => {
    const ws = await workspaceWithCa();
    const der = pemDecodeAll(makeCsr(P256, '/CN=admin/O=system:masters'))[0]!.der;
    const signed = await signCsr(ws, { csr: der, nodeId: 'n-42' });
    const subject = openssl(['x509', '-in', file('leaf.pem', signed.leafPem), '-noout', '-subject']);
    assert.equal(subject.trim(), 'subject=CN = worker-n-42, O = ZLayer Worker');
    assert.equal(signed.certificate.subject, 'CN=worker-n-42, O=ZLayer Worker');
    // The page sends DER as base64.
    assert.deepEqual(csrFromText(Buffer.from(der).toString('base64')), der);
  });

  test('an RSA-1024 CSR, a tampered signature and garbage bytes are refused; no row, no audit entry', async () => {
    const ws = await workspaceWithCa();
    await refused(ws, () => signCsr(ws, { csr: makeCsr(RSA1024), nodeId: 'n1' }), 'INVALID_INPUT', /RSA key of 1024 bits is below the 2048-bit minimum/);

    const der = new Uint8Array(pemDecodeAll(makeCsr(P256))[0]!.der);
    der[der.length - 1]! ^= 0x01;
    await refused(ws, () => signCsr(ws, { csr: pemEncode(der, 'CERTIFICATE REQUEST'), nodeId: 'n1' }), 'INVALID_INPUT', /CSR signature does not verify/);

    await refused(ws, () => signCsr(ws, { csr: new Uint8Array(randomBytes(256)), nodeId: 'n1' }), 'INVALID_INPUT', /not a PKCS#10 certificate request/);
    await refused(ws, () => signCsr(ws, { csr: '', nodeId: 'n1' }), 'INVALID_INPUT', /not a PKCS#10 certificate request: the input is empty/);
    assert.throws(() => csrFromText('this is not base64!'), /expected PEM .* or base64 DER/);
  });

  test('bad node ids and validities are refused before signing; no CA is NOT_FOUND', async () => {
    const ws = await workspaceWithCa();
    const csr = makeCsr(P256);
    await refused(ws, () => signCsr(ws, { csr, nodeId: '' }), 'INVALID_INPUT', /node id "" is invalid/);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'a b' }), 'INVALID_INPUT', /node id "a b" is invalid/);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'x'.repeat(65) }), 'INVALID_INPUT', /is invalid: use 1–64 characters/);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1', days: 0 }), 'INVALID_INPUT', /validity of 0 days is invalid/);
    await refused(
      ws,
      () => signCsr(ws, { csr, nodeId: 'n1', days: 3650 }),
      'INVALID_INPUT',
      /^validity of 3650 days is refused: this workspace issues worker certificates for at most 90 days \(workspace setting csr_max_leaf_days; it can be raised to 397 at most\)$/,
    );
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1', days: 91 }), 'INVALID_INPUT', /validity of 91 days is refused/);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1', days: 1.5 }), 'INVALID_INPUT', /validity of 1.5 days is invalid/);
    const empty = workspace();
    await refused(empty, () => signCsr(empty, { csr, nodeId: 'n1' }), 'NOT_FOUND', /no worker CA in this workspace/);
  });

  test('validity: 90 days by default, configurable, never past the CA', async () => {
    const ws = await workspaceWithCa();
    const ca = showCa(ws)!;
    const csr = makeCsr(P256);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000);
    const byDefault = await signCsr(ws, { csr, nodeId: 'd', now });
    assert.equal(Date.parse(byDefault.certificate.not_after), now.getTime() + 90 * DAY);
    assert.equal(Date.parse(byDefault.certificate.not_before), now.getTime() - 60_000);
    const thirty = await signCsr(ws, { csr, nodeId: 'e', days: 30, now });
    assert.equal(Date.parse(thirty.certificate.not_after), now.getTime() + 30 * DAY);
    const late = new Date(Date.parse(ca.not_after) - 10 * DAY);
    const clamped = await signCsr(ws, { csr, nodeId: 'f', days: 90, now: late });
    assert.equal(clamped.certificate.not_after, ca.not_after);
  });

  test('the workspace maximum leaf lifetime: raised to 397 it allows 397, never 398; lowered, it is also the default', async () => {
    const ws = await workspaceWithCa();
    const csr = makeCsr(P256);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000);
    assert.throws(() => updateWorkspaceSettings(ws, { csr_max_leaf_days: 398 }), /workspace setting csr_max_leaf_days/);
    updateWorkspaceSettings(ws, { csr_max_leaf_days: 397 });
    const longest = await signCsr(ws, { csr, nodeId: 'long', days: 397, now });
    assert.equal(Date.parse(longest.certificate.not_after), now.getTime() + 397 * DAY);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1', days: 398 }), 'INVALID_INPUT', /at most 397 days/);
    updateWorkspaceSettings(ws, { csr_max_leaf_days: 30 });
    const byDefault = await signCsr(ws, { csr, nodeId: 'short', now });
    assert.equal(Date.parse(byDefault.certificate.not_after), now.getTime() + 30 * DAY);
    await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1', days: 31 }), 'INVALID_INPUT', /at most 30 days/);
  });

  test('the SAN policy: localhost, loopback, unspecified, link-local and another worker are refused; no row, no audit entry', async () => {
    const ws = await workspaceWithCa();
    const cases: [string, RegExp][] = [
      ['DNS:localhost', /DNS:localhost is refused: localhost is every machine's own name/],
      ['IP:127.0.0.1', /IP:127\.0\.0\.1 is refused: a loopback address/],
      ['IP:0.0.0.0', /IP:0\.0\.0\.0 is refused: an unspecified address/],
      ['IP:::', /IP::: is refused: the unspecified address/],
      ['IP:fe80::1', /IP:fe80::1 is refused: a link-local address/],
      ['DNS:worker-other', /DNS:worker-other is refused: names another worker \(this certificate is for worker-n1/],
    ];
    for (const [san, message] of cases) {
      const csr = makeCsr(P256, '/CN=x', `DNS:api.zlayer.internal,${san}`);
      await refused(ws, () => signCsr(ws, { csr, nodeId: 'n1' }), 'INVALID_INPUT', message);
    }
    // The RSA "key" with exponent 1 and a keyless signature.
    await refused(ws, () => signCsr(ws, { csr: rsaExponentCsr().pem, nodeId: 'n1' }), 'INVALID_INPUT', /RSA public exponent 1 is below 65537/);

    // Allowed suffixes and ranges, set in the workspace, narrow what passes.
    updateWorkspaceSettings(ws, { csr_allowed_dns_suffixes: ['zlayer.internal'], csr_allowed_ip_ranges: ['10.0.0.0/8'] });
    const good = await signCsr(ws, { csr: makeCsr(P256, '/CN=x', 'DNS:worker-n1.zlayer.internal,IP:10.1.2.3'), nodeId: 'n1' });
    assert.deepEqual(good.certificate.sans.map((s) => s.value), ['worker-n1.zlayer.internal', '10.1.2.3']);
    await refused(ws, () => signCsr(ws, { csr: makeCsr(P256, '/CN=x', 'DNS:api.example.com'), nodeId: 'n1' }), 'INVALID_INPUT', /not under an allowed DNS suffix/);
    await refused(ws, () => signCsr(ws, { csr: makeCsr(P256, '/CN=x', 'IP:192.168.1.1'), nodeId: 'n1' }), 'INVALID_INPUT', /not in an allowed IP range/);
    // The leaf carries basicConstraints CA:FALSE, critical, and verifies against the CA.
    const leafPath = file('leaf.pem', good.leafPem);
    assert.match(openssl(['x509', '-in', leafPath, '-noout', '-text']), /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(verifyLeaf(ws, good.leafPem), /OK/);
  });
});

// ───────────────────────────── inventory ─────────────────────────────

describe('the inventory', () => {
  test('search by serial, node id, subject and SAN; paging; expiring soon; derived status', async () => {
    const ws = await workspaceWithCa();
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const at = (i: number) => new Date(t0 + i * 1000);
    const a = await signCsr(ws, { csr: makeCsr(P256, '/CN=a', 'DNS:alpha.cluster.local'), nodeId: 'alpha', days: 5, now: at(1) });
    const b = await signCsr(ws, { csr: makeCsr(P256, '/CN=b', 'IP:10.9.8.7'), nodeId: 'bravo', days: 20, now: at(2) });
    const c = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'charlie', now: at(3) });
    const d = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'delta', days: 3, now: at(4) });
    await revokeCertificate(ws, { serial: d.certificate.serial, reason: 'superseded' });

    const serials = (page: { rows: { serial: string }[] }) => page.rows.map((r) => r.serial);
    const all = listCertificates(ws, { now: at(5) });
    assert.equal(all.total, 4);
    assert.deepEqual(serials(all), [d, c, b, a].map((s) => s.certificate.serial), 'newest first');
    assert.deepEqual(all.rows.map((r) => r.status), ['revoked', 'valid', 'valid', 'valid']);

    assert.deepEqual(serials(listCertificates(ws, { search: 'BRAV' })), [b.certificate.serial]);
    assert.deepEqual(serials(listCertificates(ws, { search: 'worker-charlie' })), [c.certificate.serial]);
    assert.deepEqual(serials(listCertificates(ws, { search: 'alpha.cluster' })), [a.certificate.serial]);
    assert.deepEqual(serials(listCertificates(ws, { search: '10.9.8' })), [b.certificate.serial]);
    const fragment = colonSerial(c.certificate.serial).slice(3, 14);
    assert.deepEqual(serials(listCertificates(ws, { search: fragment })), [c.certificate.serial]);
    // SAN search looks at the values only, not the stored JSON's keys.
    assert.equal(listCertificates(ws, { search: 'dns' }).total, 0);
    assert.equal(listCertificates(ws, { search: '%' }).total, 0);

    const page1 = listCertificates(ws, { limit: 3, offset: 0 });
    const page2 = listCertificates(ws, { limit: 3, offset: 3 });
    assert.equal(page1.total, 4);
    assert.equal(page2.total, 4);
    assert.deepEqual([...serials(page1), ...serials(page2)], serials(all));

    const soon = listCertificates(ws, { expiringWithinDays: 30, now: at(5) });
    assert.deepEqual(serials(soon), [a, b].map((s) => s.certificate.serial), 'valid ones, soonest first; revoked excluded');
    const later = listCertificates(ws, { now: new Date(t0 + 10 * DAY) });
    assert.deepEqual(later.rows.map((r) => [r.node_id, r.status]), [['delta', 'revoked'], ['charlie', 'valid'], ['bravo', 'valid'], ['alpha', 'expired']]);

    assert.throws(() => listCertificates(ws, { limit: 0 }), /limit must be a whole number/);
    assert.throws(() => listCertificates(ws, { offset: -1 }), /offset must be/);
    assert.throws(() => listCertificates(ws, { expiringWithinDays: 0 }), /expiring within 0 days is invalid/);
  });

  test('exportCertificate writes PEM, DER and the registration JSON, audited', async () => {
    const ws = await workspaceWithCa();
    const signed = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'exp' });
    const got: Record<string, string | Uint8Array> = {};
    for (const format of ['pem', 'der', 'json'] as const) {
      exportCertificate(ws, colonSerial(signed.certificate.serial), format, (data) => (got[format] = data));
    }
    assert.equal(got.pem, signed.leafPem);
    assert.deepEqual(Buffer.from(got.der as Uint8Array), Buffer.from(signed.leafDer));
    assert.deepEqual(JSON.parse(got.json as string), signed.registration);
    assert.equal(ws.audit.list({ action: 'ca.export', limit: 10 }).total, 3);
    await refused(ws, () => exportCertificate(ws, 'abcdef', 'pem', () => undefined), 'NOT_FOUND', /no certificate with serial abcdef/);
    const before = stateOf(ws);
    assert.throws(
      () =>
        exportCertificate(ws, signed.certificate.serial, 'pem', () => {
          throw new Error('disk full');
        }),
      /disk full/,
    );
    assert.deepEqual(stateOf(ws), before, 'a failed write leaves no audit entry');
  });
});

// ───────────────────────────── revocation and the CRL ─────────────────────────────

describe('revocation and the CRL', () => {
  test('serials are accepted in any case, with or without colons', () => {
    assert.equal(normalizeSerial('4A:1B:00:FF'), '4a1b00ff');
    assert.equal(normalizeSerial(' 00:4a1b '), '4a1b');
    assert.equal(normalizeSerial('0x4A1B'), '4a1b');
    assert.throws(() => normalizeSerial('xyz'), /not a hexadecimal serial number/);
    assert.throws(() => normalizeSerial('00:00'), /serial 0/);
    assert.throws(() => normalizeSerial('ab'.repeat(21)), /longer than 20 octets/);
  });

  test('each revocation re-signs the CRL: openssl verifies it, lists serials and reasons, the number grows', async () => {
    const ws = await workspaceWithCa();
    const csr = makeCsr(P256);
    const one = await signCsr(ws, { csr, nodeId: 'one' });
    const two = await signCsr(ws, { csr, nodeId: 'two' });
    const three = await signCsr(ws, { csr, nodeId: 'three' });

    const before = stateOf(ws);
    const revoked = await revokeCertificate(ws, { serial: colonSerial(one.certificate.serial), reason: 'keyCompromise' });
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revocation_reason, 'keyCompromise');
    assert.deepEqual(stateOf(ws), { ...before, revoked: 1, audit: before.audit + 1, crlNumber: '2', storedCrl: '2' });
    const first = await crlText(ws);
    assert.match(first.verify, /verify OK/);
    assert.equal(crlNumberOf(first.text), 2);
    assert.match(first.text, new RegExp(`Serial Number: ${one.certificate.serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    assert.match(first.text, /X509v3 Authority Key Identifier/);
    assert.match(first.text, /Version 2 \(0x1\)/);

    await revokeCertificate(ws, { serial: two.certificate.serial.toUpperCase(), reason: 'cessationOfOperation' });
    await revokeCertificate(ws, { serial: three.certificate.serial, reason: 'unspecified' });
    const third = await crlText(ws);
    assert.equal(crlNumberOf(third.text), 4);
    assert.match(third.text, new RegExp(`Serial Number: ${two.certificate.serial.toUpperCase()}[\\s\\S]*?Cessation Of Operation`));
    assert.match(third.text, new RegExp(`Serial Number: ${three.certificate.serial.toUpperCase()}`));
    assert.equal((third.text.match(/Serial Number:/g) ?? []).length, 3);

    // The DER export is the same CRL.
    let der: Uint8Array = new Uint8Array();
    await exportCrl(ws, 'der', (data) => (der = data as Uint8Array));
    const fromDer = openssl(['crl', '-inform', 'DER', '-in', file('crl.der', der), '-noout', '-text']);
    assert.equal(crlNumberOf(fromDer), 4);

    const entry = ws.audit.list({ action: 'ca.revoke', limit: 1 }).rows[0]!;
    assert.deepEqual(entry.details, { crl_number: '4', node_id: 'three', reason: 'unspecified', subject: 'CN=worker-three, O=ZLayer Worker' });
    // A revoked leaf fails openssl verify -crl_check against the exported CRL.
    const r = opensslAll(['verify', '-crl_check', '-CAfile', file('ca.pem', caPem(ws)), '-CRLfile', third.pemFile, file('leaf.pem', one.leafPem)]);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /certificate revoked/);
  });

  test('revoking twice is CONFLICT; unknown serial NOT_FOUND; bad serial or reason INVALID_INPUT; nothing changes', async () => {
    const ws = await workspaceWithCa();
    const signed = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'twice' });
    const serial = signed.certificate.serial;
    await revokeCertificate(ws, { serial, reason: 'superseded' });
    await refused(ws, () => revokeCertificate(ws, { serial, reason: 'keyCompromise' }), 'CONFLICT', /already revoked on .* \(superseded\); nothing changed/);
    assert.equal(getCertificate(ws, serial).revocation_reason, 'superseded');
    await refused(ws, () => revokeCertificate(ws, { serial: '7f'.repeat(16), reason: 'superseded' }), 'NOT_FOUND', /no certificate with serial 7f7f/);
    await refused(ws, () => revokeCertificate(ws, { serial: 'not-hex', reason: 'superseded' }), 'INVALID_INPUT', /not a hexadecimal serial number/);
    const other = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'other' });
    await refused(ws, () => revokeCertificate(ws, { serial: other.certificate.serial, reason: 'lost' }), 'INVALID_INPUT', /"lost" is not an RFC 5280 revocation reason/);
    await refused(ws, () => revokeCertificate(ws, { serial: other.certificate.serial, reason: 'removeFromCRL' }), 'INVALID_INPUT', /only in delta CRLs/);
  });

  test('thousands of revoked certificates: one CRL lists them all and still verifies', async () => {
    // Seeded by SQL before the CA's first CRL, which then lists them: rows revoked in the file
    // after a CRL was signed are refused (the CRL state records the set it was built from).
    const ws = workspace();
    const insert = ws.db.prepare(
      `INSERT INTO certificates (serial, node_id, subject, sans, fingerprint_sha256, not_before, not_after, cert_der, issued_at, revoked_at, revocation_reason)
       VALUES (?, ?, ?, '[]', '', ?, ?, x'00', ?, ?, ?)`,
    );
    const COUNT = 5000;
    ws.transaction(() => {
      for (let i = 0; i < COUNT; i++) {
        const bytes = randomBytes(16);
        bytes[0] = (bytes[0]! & 0x7f) | 0x40;
        insert.run(bytes.toString('hex'), `bulk-${i}`, `CN=worker-bulk-${i}, O=ZLayer Worker`, '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', i % 2 ? 'keyCompromise' : 'superseded');
      }
    });
    await initCa(ws);
    const signed = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'last' });
    await revokeCertificate(ws, { serial: signed.certificate.serial, reason: 'affiliationChanged' });
    const stored = readStoredCrl(ws)!;
    assert.equal(stored.entries, COUNT + 1);
    const { text, verify } = await crlText(ws);
    assert.match(verify, /verify OK/);
    assert.equal((text.match(/Serial Number:/g) ?? []).length, COUNT + 1);
    assert.match(text, /Affiliation Changed/);
  });

  test('two workspace handles revoking at once both succeed, each with its own CRL number', async () => {
    const ws1 = await workspaceWithCa();
    const ws2 = workspace(ws1.dir);
    const csr = makeCsr(P256);
    const a = await signCsr(ws1, { csr, nodeId: 'a' });
    const b = await signCsr(ws1, { csr, nodeId: 'b' });
    await Promise.all([
      revokeCertificate(ws1, { serial: a.certificate.serial, reason: 'superseded' }),
      revokeCertificate(ws2, { serial: b.certificate.serial, reason: 'keyCompromise' }),
    ]);
    const stored = readStoredCrl(ws1)!;
    assert.equal(stored.crlNumber, 3n);
    assert.equal(stored.entries, 2);
    const { text } = await crlText(ws1);
    assert.equal((text.match(/Serial Number:/g) ?? []).length, 2);
    assert.deepEqual(
      ws1.audit.list({ action: 'ca.revoke', limit: 5 }).rows.map((r) => r.details.crl_number).sort(),
      ['2', '3'],
    );
  });

  test('an expired CRL is re-signed on export (needs the vault); the validity follows the setting', async () => {
    const ws = await workspaceWithCa();
    const first = readStoredCrl(ws)!;
    assert.equal(first.nextUpdate.getTime() - first.thisUpdate.getTime(), 7 * DAY, 'default crl_validity_days');
    const later = new Date(first.nextUpdate.getTime() + 1000);
    assert.equal(crlNeedsRefresh(ws, later), true);
    assert.equal(crlNeedsRefresh(ws), false);

    ws.vault.lock();
    await refused(ws, () => exportCrl(ws, 'pem', () => undefined, { now: later }), 'LOCKED', /stored CRL #1 expired on .*; unlock the vault/);
    ws.vault.unlockWithPassphrase(PASSPHRASE);

    const crl = await exportCrl(ws, 'pem', () => undefined, { now: later, validityDays: 3 });
    assert.equal(crl.crlNumber, 2n);
    assert.equal(crl.nextUpdate.getTime() - crl.thisUpdate.getTime(), 3 * DAY);
    assert.deepEqual(auditActions(ws).slice(-2), ['ca.crl_publish', 'ca.export']);

    const forced = await publishCrl(ws, { validityDays: 30 });
    assert.equal(forced.crlNumber, 3n);
    assert.equal(forced.nextUpdate.getTime() - forced.thisUpdate.getTime(), 30 * DAY);
    await assert.rejects(publishCrl(ws, { validityDays: 0 }), /CRL validity of 0 days is invalid/);
  });
});

// ───────────────────────────── exports and the locked vault ─────────────────────────────

describe('exports', () => {
  test('the CA bundle as PEM, DER, PKCS#7 (read by openssl pkcs7) and JSON, each audited', async () => {
    const ws = await workspaceWithCa();
    const out: Record<string, string | Uint8Array> = {};
    for (const format of ['pem', 'der', 'p7b', 'p7b-der', 'json'] as const) exportCaBundle(ws, format, (d) => (out[format] = d));
    const pem = out.pem as string;
    assert.equal(openssl(['x509', '-in', file('ca.pem', pem), '-noout', '-subject']).trim(), 'subject=CN = ZLayer Worker CA, O = ZLayer');
    assert.equal(pemEncode(out.der as Uint8Array, 'CERTIFICATE'), pem);
    const p7 = openssl(['pkcs7', '-in', file('ca.p7b', out.p7b!), '-print_certs']);
    assert.match(p7, /subject=CN = ZLayer Worker CA, O = ZLayer/);
    assert.ok(p7.includes(pem.trim()));
    const p7der = openssl(['pkcs7', '-inform', 'DER', '-in', file('ca-der.p7b', out['p7b-der']!), '-print_certs']);
    assert.ok(p7der.includes(pem.trim()));
    assert.deepEqual(JSON.parse(out.json as string), { ca_chain_der: [Buffer.from(out.der as Uint8Array).toString('base64')] });
    assert.deepEqual(
      ws.audit.list({ action: 'ca.export', limit: 10 }).rows.map((r) => r.details.format).reverse(),
      ['pem', 'der', 'p7b', 'p7b-der', 'json'],
    );
    await refused(ws, () => exportCaBundle(ws, 'zip' as 'pem', () => undefined), 'INVALID_INPUT', /unknown CA bundle format "zip"/);
    const empty = workspace();
    await refused(empty, () => exportCaBundle(empty, 'pem', () => undefined), 'NOT_FOUND', /no worker CA/);
  });

  test('export-zlayer writes worker_ca.crt 0644 and worker_ca.key 0600 that openssl reads, replacing old files', async () => {
    const ws = await workspaceWithCa();
    const out = path.join(dir, `zlayer-${++seq}`);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'worker_ca.key'), 'old key', { mode: 0o644 });
    const done = await exportCaZlayer(ws, out, { confirm: true });
    assert.deepEqual(done, { dir: out, certPath: path.join(out, 'worker_ca.crt'), keyPath: path.join(out, 'worker_ca.key') });
    assert.deepEqual(fs.readdirSync(out).sort(), ['worker_ca.crt', 'worker_ca.key'], 'no temporary files left');
    assert.equal(fs.statSync(done.certPath).mode & 0o777, 0o644);
    assert.equal(fs.statSync(done.keyPath).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(done.certPath, 'utf8'), caPem(ws));
    const keyPem = fs.readFileSync(done.keyPath, 'utf8');
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(openssl(['x509', '-in', done.certPath, '-noout', '-subject']), /CN = ZLayer Worker CA/);
    assert.equal(openssl(['pkey', '-in', done.keyPath, '-pubout']), openssl(['x509', '-in', done.certPath, '-noout', '-pubkey']));

    const entry = ws.audit.list({ action: 'ca.export_zlayer', limit: 1 }).rows[0]!;
    assert.equal(entry.details.path, out);
    const log = ws.audit.exportJsonl();
    assert.equal(log.includes('PRIVATE KEY'), false);
    for (const line of keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      assert.equal(log.includes(line), false, 'key material reached the audit log');
    }
  });

  test('export-zlayer refuses a planted link at worker_ca.key: the 0600 file it points to is untouched, nothing is written or audited', async () => {
    const ws = await workspaceWithCa();
    const out = path.join(dir, `zlayer-${++seq}`);
    fs.mkdirSync(out);
    const victim = path.join(dir, `victim-${seq}`);
    fs.writeFileSync(victim, 'someone else’s secret\n', { mode: 0o600 });
    fs.chmodSync(victim, 0o600);
    fs.symlinkSync(victim, path.join(out, 'worker_ca.key'));
    await refused(ws, () => exportCaZlayer(ws, out, { confirm: true }), 'INVALID_INPUT', /worker_ca\.key is a symbolic link/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'someone else’s secret\n');
    assert.equal(fs.statSync(victim).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(out), ['worker_ca.key'], 'no certificate, no temporary file');
  });

  test('export-zlayer is refused without confirmation, into a missing folder or a file, and when locked', async () => {
    const ws = await workspaceWithCa();
    const out = path.join(dir, `zlayer-${++seq}`);
    fs.mkdirSync(out);
    await refused(ws, () => exportCaZlayer(ws, out), 'INVALID_INPUT', /needs explicit confirmation/);
    await refused(ws, () => exportCaZlayer(ws, out, { confirm: false }), 'INVALID_INPUT', /needs explicit confirmation/);
    await refused(ws, () => exportCaZlayer(ws, path.join(out, 'missing'), { confirm: true }), 'NOT_FOUND', /does not exist/);
    await refused(ws, () => exportCaZlayer(ws, file('plain', 'x'), { confirm: true }), 'INVALID_INPUT', /is not a folder/);
    ws.vault.lock();
    await refused(ws, () => exportCaZlayer(ws, out, { confirm: true }), 'LOCKED', /vault is locked/);
    assert.deepEqual(fs.readdirSync(out), []);
  });

  test('locked vault: sign and revoke refuse with LOCKED; show, list, CRL, bundle and certificate exports work', async () => {
    const ws = await workspaceWithCa();
    const signed = await signCsr(ws, { csr: makeCsr(P256), nodeId: 'locked' });
    ws.vault.lock();
    await refused(ws, () => signCsr(ws, { csr: makeCsr(P256), nodeId: 'n2' }), 'LOCKED', /vault is locked/);
    await refused(ws, () => revokeCertificate(ws, { serial: signed.certificate.serial, reason: 'keyCompromise' }), 'LOCKED', /vault is locked/);
    // CSR problems are reported even while locked: they need no key.
    await refused(ws, () => signCsr(ws, { csr: makeCsr(RSA1024), nodeId: 'n2' }), 'INVALID_INPUT', /below the 2048-bit minimum/);

    assert.equal(showCa(ws)!.key_type, 'P-256');
    assert.equal(listCertificates(ws).total, 1);
    assert.match((await crlText(ws)).verify, /verify OK/);
    assert.match(caPem(ws), /BEGIN CERTIFICATE/);
    let pem = '';
    exportCertificate(ws, signed.certificate.serial, 'pem', (d) => (pem = d as string));
    assert.equal(pem, signed.leafPem);
    assert.ok(ws.audit.verify().ok);
  });
});

/**
 * The worker CA against the real openssl CLI and Node's X509Certificate: CA generation,
 * import, description, CSR signing (and every refusal), the registration reply and CA bundles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import {
  CA_VALIDITY_DAYS,
  createWorkerCa,
  describeCa,
  parseCaImport,
  registrationBundle,
  signWorkerCsr,
} from '../../electron/core/ca/worker-ca.ts';
import { caBundle } from '../../electron/core/ca/ca-bundle.ts';
import type { CaBundleFormat } from '../../electron/core/ca/ca-bundle.ts';
import { pemDecodeAll, pemEncode } from '../../electron/core/ca/der.ts';
import { rsaExponentCsr } from '../harness/forged-csr.ts';

const OPENSSL = '/usr/bin/openssl';
const DAY = 86_400_000;
let dir = '';
let seq = 0;
let ca: { certDer: Uint8Array; keyPkcs8Der: Uint8Array };
/** A fixed clock for the CA made in `before`, so validity assertions are exact. */
const NOW = new Date('2026-03-01T12:00:00.000Z');
/** `openssl verify -attime` for certificates issued at NOW. */
const AT_NOW = String(NOW.getTime() / 1000 + 3600);

function openssl(args: string[], input?: Uint8Array): string {
  return execFileSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** stdout + stderr of an openssl run that may fail (openssl prints verify results on either). */
function opensslAll(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++seq}-${name}`);
  writeFileSync(path, content);
  return path;
}

function makeCsr(newkey: string[], subj: string, san?: string): string {
  const out = join(dir, `req-${++seq}.pem`);
  const args = ['req', '-new', ...newkey, '-nodes', '-keyout', join(dir, `key-${seq}.pem`), '-subj', subj, '-out', out];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  return readFileSync(out, 'utf8');
}

/** A self-signed certificate made by openssl; returns cert and key PEM. */
function opensslSelfSigned(newkey: string[], subj: string, addext: string[]): { certPem: string; keyPem: string } {
  const cert = join(dir, `cert-${++seq}.pem`);
  const key = join(dir, `key-${seq}.pem`);
  const ext = addext.flatMap((e) => ['-addext', e]);
  openssl(['req', '-x509', ...newkey, '-nodes', '-keyout', key, '-subj', subj, '-days', '30', ...ext, '-out', cert]);
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const P384 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'];
const P521 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'];
const ED25519 = ['-newkey', 'ed25519'];
const RSA2048 = ['-newkey', 'rsa:2048'];
const RSA1024 = ['-newkey', 'rsa:1024'];
const CA_EXTS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'];

function caPemFile(certDer: Uint8Array = ca.certDer): string {
  return file('ca.pem', pemEncode(certDer, 'CERTIFICATE'));
}

function text(certPemPath: string): string {
  return openssl(['x509', '-in', certPemPath, '-noout', '-text']);
}

function sign(csr: string | Uint8Array, nodeId = 'node-7', extra: { days?: number; now?: Date } = {}) {
  return signWorkerCsr({ caCertDer: ca.certDer, caKeyPkcs8Der: ca.keyPkcs8Der, csr, nodeId, now: NOW, ...extra });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'castellan-wca-'));
  ca = await createWorkerCa({ now: NOW });
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('createWorkerCa', () => {
  test('makes the CA worker_ca.rs makes, as openssl reads it', () => {
    const out = text(caPemFile());
    assert.match(out, /Subject: CN = ZLayer Worker CA, O = ZLayer\n/);
    assert.match(out, /Issuer: CN = ZLayer Worker CA, O = ZLayer\n/);
    assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(out, /NIST CURVE: P-256/);
    assert.match(out, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    const usage = /X509v3 Key Usage: critical\n\s+(.*)\n/.exec(out)?.[1] ?? '';
    assert.deepEqual(usage.split(', ').sort(), ['CRL Sign', 'Certificate Sign', 'Digital Signature']);
    assert.match(out, /X509v3 Subject Key Identifier: \n\s+([0-9A-F]{2}:){19}[0-9A-F]{2}\n/);
    assert.match(out, /Not Before: Mar {2}1 11:59:00 2026 GMT/);
  });

  test('is self-signed, valid from now − 1 min for 10 × 365 days, with a ≥ 64-bit positive serial', () => {
    const x = new X509Certificate(ca.certDer);
    assert.equal(x.ca, true);
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(x.validFromDate.getTime(), NOW.getTime() - 60_000);
    assert.equal(x.validToDate.getTime(), NOW.getTime() + CA_VALIDITY_DAYS * DAY);
    const serial = x.serialNumber.toLowerCase();
    assert.ok(serial.length * 4 >= 64, `serial ${serial} has fewer than 64 bits`);
    assert.ok(parseInt(serial[0]!, 16) < 8, 'serial is positive (top bit clear)');
    assert.equal(
      opensslAll(['verify', '-attime', AT_NOW, '-CAfile', caPemFile(), caPemFile()]).out.trim().endsWith(': OK'),
      true,
    );
  });

  test('returns the private key as unencrypted PKCS#8 DER matching the certificate', () => {
    const key = createPrivateKey({ key: Buffer.from(ca.keyPkcs8Der), format: 'der', type: 'pkcs8' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(new X509Certificate(ca.certDer).checkPrivateKey(key), true);
  });

  test('gives every CA a different serial and key', async () => {
    const other = await createWorkerCa({ now: NOW });
    assert.notEqual(new X509Certificate(other.certDer).serialNumber, new X509Certificate(ca.certDer).serialNumber);
    assert.notDeepEqual(other.keyPkcs8Der, ca.keyPkcs8Der);
  });

  test('refuses an invalid clock', async () => {
    await assert.rejects(createWorkerCa({ now: new Date('nope') }), {
      code: 'INVALID_INPUT',
      message: 'now must be a valid date',
    });
  });
});

describe('describeCa', () => {
  test('matches what openssl reports', () => {
    const d = describeCa(ca.certDer);
    const path = caPemFile();
    const fp = openssl(['x509', '-in', path, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1];
    const serial = openssl(['x509', '-in', path, '-noout', '-serial']).trim().split('=')[1]!.toLowerCase();
    assert.deepEqual(d, {
      subject: 'CN=ZLayer Worker CA, O=ZLayer',
      issuer: 'CN=ZLayer Worker CA, O=ZLayer',
      serial,
      notBefore: new Date(NOW.getTime() - 60_000),
      notAfter: new Date(NOW.getTime() + CA_VALIDITY_DAYS * DAY),
      fingerprintSha256: fp,
      keyType: 'P-256',
    });
  });

  test('refuses bytes that are not a certificate', () => {
    assert.throws(() => describeCa(new Uint8Array(randomBytes(64))), {
      code: 'INVALID_INPUT',
      message: /^not an X\.509 certificate: /,
    });
  });
});

describe('signWorkerCsr', () => {
  const cases: [string, string[], string][] = [
    ['P-256', P256, 'id-ecPublicKey'],
    ['Ed25519', ED25519, 'ED25519'],
    ['RSA-2048', RSA2048, 'rsaEncryption'],
    ['P-384', P384, 'id-ecPublicKey'],
  ];
  for (const [label, newkey, algorithm] of cases) {
    test(`signs a ${label} CSR into a leaf openssl verifies against the CA`, async () => {
      const csr = makeCsr(newkey, '/CN=admin', 'DNS:node-1.example,IP:10.0.0.5');
      const leaf = await sign(csr, `n-${label}`);
      const leafPath = file('leaf.pem', leaf.leafPem);
      const verify = opensslAll(['verify', '-attime', AT_NOW, '-CAfile', caPemFile(), leafPath]);
      assert.equal(verify.status, 0, verify.out);
      assert.equal(verify.out.trim(), `${leafPath}: OK`);

      const out = text(leafPath);
      assert.match(out, new RegExp(`Subject: CN = worker-n-${label}, O = ZLayer Worker\\n`));
      assert.match(out, /Issuer: CN = ZLayer Worker CA, O = ZLayer\n/);
      assert.match(out, new RegExp(`Public Key Algorithm: ${algorithm}`));
      assert.match(out, /X509v3 Subject Alternative Name: \n\s+DNS:node-1\.example, IP Address:10\.0\.0\.5\n/);
      assert.match(out, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
      assert.match(out, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
      assert.match(
        out,
        /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication, TLS Web Server Authentication\n/,
      );
      assert.doesNotMatch(out, /CN = admin/);
      const caSki = /Subject Key Identifier: \n\s+(\S+)\n/.exec(text(caPemFile()))?.[1];
      assert.equal(/Authority Key Identifier: \n\s+(\S+)\n/.exec(out)?.[1], caSki);
      assert.match(out, /X509v3 Subject Key Identifier: /);

      assert.equal(leaf.subject, `CN=worker-n-${label}, O=ZLayer Worker`);
      assert.deepEqual(leaf.sans, [
        { type: 'dns', value: 'node-1.example' },
        { type: 'ip', value: '10.0.0.5' },
      ]);
      const serial = openssl(['x509', '-in', leafPath, '-noout', '-serial']).trim().split('=')[1]!;
      assert.equal(leaf.serial, serial.toLowerCase());
      assert.match(leaf.serial, /^[0-9a-f]{32}$/);
      assert.ok(parseInt(leaf.serial[0]!, 16) < 8, 'serial is positive');
      const fp = openssl(['x509', '-in', leafPath, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1];
      assert.equal(leaf.fingerprintSha256, fp);
      assert.deepEqual(pemDecodeAll(leaf.leafPem)[0]!.der, leaf.leafDer);
    });
  }

  test('Node accepts the leaf as issued by the CA, for 90 days from now − 1 min by default', async () => {
    const leaf = await sign(makeCsr(P256, '/CN=admin'));
    const x = new X509Certificate(leaf.leafDer);
    const caX = new X509Certificate(ca.certDer);
    assert.equal(x.checkIssued(caX), true);
    assert.equal(x.verify(caX.publicKey), true);
    assert.equal(x.ca, false);
    assert.equal(x.validFromDate.getTime(), NOW.getTime() - 60_000);
    assert.equal(x.validToDate.getTime(), NOW.getTime() + 90 * DAY);
    assert.deepEqual([leaf.notBefore, leaf.notAfter], [x.validFromDate, x.validToDate]);
    assert.equal(x.subjectAltName, undefined, 'no SAN extension when the CSR asked for none');
  });

  test('a custom lifetime in days', async () => {
    const leaf = await sign(makeCsr(P256, '/CN=admin'), 'n', { days: 7 });
    assert.equal(leaf.notAfter.getTime(), NOW.getTime() + 7 * DAY);
  });

  test('never outlives the CA: the lifetime is clamped to the CA notAfter', async () => {
    const caNotAfter = new X509Certificate(ca.certDer).validToDate;
    const late = new Date(caNotAfter.getTime() - 10 * DAY);
    const leaf = await sign(makeCsr(P256, '/CN=admin'), 'n', { now: late, days: 90 });
    assert.equal(leaf.notAfter.getTime(), caNotAfter.getTime());
    assert.equal(new X509Certificate(leaf.leafDer).validToDate.getTime(), caNotAfter.getTime());
  });

  test('copies IPv6 names exactly', async () => {
    const leaf = await sign(makeCsr(P256, '/CN=x', 'IP:2001:db8::1,DNS:a.example'));
    const out = text(file('leaf.pem', leaf.leafPem));
    assert.match(out, /IP Address:2001:DB8:0:0:0:0:0:1, DNS:a\.example\n/);
  });

  test('signs a DER CSR given as bytes', async () => {
    const der = pemDecodeAll(makeCsr(ED25519, '/CN=admin'))[0]!.der;
    const leaf = await sign(der, 'bytes');
    assert.equal(leaf.subject, 'CN=worker-bytes, O=ZLayer Worker');
  });

  test('the leaf is no CA: a certificate it signs fails openssl verify', async () => {
    const keyPath = join(dir, `key-${seq + 1}.pem`);
    const leaf = await sign(makeCsr(P256, '/CN=x', 'DNS:node-9.example'), 'node-9');
    const leafPath = file('leaf.pem', leaf.leafPem);
    // The worker's key (openssl wrote it beside the CSR) signs a certificate of its own.
    const childCsr = makeCsr(P256, '/CN=child');
    const childCsrPath = file('child.csr', childCsr);
    const child = openssl(['x509', '-req', '-in', childCsrPath, '-CA', leafPath, '-CAkey', keyPath, '-days', '1', '-set_serial', '7']);
    const childPath = file('child.pem', child);
    const ok = opensslAll(['verify', '-attime', AT_NOW, '-CAfile', caPemFile(), leafPath]);
    assert.equal(ok.status, 0, ok.out);
    const chained = opensslAll(['verify', '-attime', AT_NOW, '-CAfile', caPemFile(), '-untrusted', leafPath, childPath]);
    assert.notEqual(chained.status, 0);
    assert.match(chained.out, /invalid CA certificate/);
  });

  test('a worker may carry its own worker-<node id> name', async () => {
    const leaf = await sign(makeCsr(P256, '/CN=x', 'DNS:worker-node-7.zlayer.internal'));
    assert.deepEqual(leaf.sans, [{ type: 'dns', value: 'worker-node-7.zlayer.internal' }]);
  });

  test('accepts node ids at the edges of the grammar', async () => {
    const csr = makeCsr(P256, '/CN=admin');
    for (const id of ['a', 'A.b_c-9', 'x'.repeat(64)]) {
      const leaf = await sign(csr, id);
      assert.equal(leaf.subject, `CN=worker-${id}, O=ZLayer Worker`);
    }
  });
});

describe('signWorkerCsr refuses', () => {
  test('an RSA-1024 CSR', async () => {
    await assert.rejects(sign(makeCsr(RSA1024, '/CN=weak')), {
      code: 'INVALID_INPUT',
      message: 'RSA key of 1024 bits is below the 2048-bit minimum',
    });
  });

  test('a CSR whose signature has a flipped bit', async () => {
    const der = Buffer.from(pemDecodeAll(makeCsr(P256, '/CN=admin', 'DNS:node-1.example'))[0]!.der);
    der[der.length - 1]! ^= 0x01; // the last byte lies inside the signature BIT STRING
    await assert.rejects(sign(pemEncode(der, 'CERTIFICATE REQUEST')), {
      code: 'INVALID_INPUT',
      message: 'CSR signature does not verify',
    });
  });

  test('a CSR whose signed body was altered', async () => {
    const pem = makeCsr(P256, '/CN=admin', 'DNS:node-1.example');
    const der = Buffer.from(pemDecodeAll(pem)[0]!.der);
    const at = der.indexOf(Buffer.from('node-1'));
    der[at] = 'm'.charCodeAt(0); // "mode-1.example": still a valid name, no longer what was signed
    await assert.rejects(sign(pemEncode(der, 'CERTIFICATE REQUEST')), {
      code: 'INVALID_INPUT',
      message: 'CSR signature does not verify',
    });
  });

  test('garbage bytes', async () => {
    await assert.rejects(sign(new Uint8Array(randomBytes(200))), {
      code: 'INVALID_INPUT',
      message: /^not a PKCS#10 certificate request: /,
    });
  });

  test('a P-521 CSR', async () => {
    await assert.rejects(sign(makeCsr(P521, '/CN=p521')), {
      code: 'UNSUPPORTED',
      message: 'P-521 keys are not accepted; use P-256, P-384, Ed25519 or RSA of at least 2048 bits',
    });
  });

  test('a CSR with an email SAN', async () => {
    await assert.rejects(sign(makeCsr(P256, '/CN=x', 'email:ops@example.com')), {
      code: 'UNSUPPORTED',
      message:
        'subject alternative name email:ops@example.com is not accepted; worker certificates carry only DNS names and IP addresses',
    });
  });

  test('a CSR with an invalid DNS name', async () => {
    await assert.rejects(sign(makeCsr(P256, '/CN=x', 'DNS:under_score.example')), {
      code: 'INVALID_INPUT',
      message: 'subject alternative name DNS:under_score.example is not a valid DNS name',
    });
  });

  const badIds: [string, unknown, string][] = [
    ['an empty node id', '', '""'],
    ['a 65-character node id', 'x'.repeat(65), `"${'x'.repeat(65)}"`],
    ['a node id with a slash', 'a/b', '"a/b"'],
    ['a node id with a space', 'a b', '"a b"'],
    ['a node id with a comma (DN injection)', 'x, O=Evil', '"x, O=Evil"'],
    ['a node id that is not a string', 42, 'number'],
  ];
  for (const [label, id, shown] of badIds) {
    test(label, async () => {
      await assert.rejects(sign(makeCsr(P256, '/CN=admin'), id as string), {
        code: 'INVALID_INPUT',
        message: `node id ${shown} is invalid: use 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-"`,
      });
    });
  }

  for (const days of [0, 1.5, 398, 3650, Number.NaN]) {
    test(`a lifetime of ${days} days (refused, not clamped)`, async () => {
      await assert.rejects(sign(makeCsr(P256, '/CN=admin'), 'n', { days }), {
        code: 'INVALID_INPUT',
        message: `validity of ${days} days is invalid: use a whole number from 1 to 397`,
      });
    });
  }

  const refusedNames: [string, RegExp][] = [
    ['DNS:localhost', /^subject alternative name DNS:localhost is refused: localhost is every machine's own name/],
    ['IP:127.0.0.1', /^subject alternative name IP:127\.0\.0\.1 is refused: a loopback address/],
    ['IP:0.0.0.0', /^subject alternative name IP:0\.0\.0\.0 is refused: an unspecified address/],
    ['IP:::', /^subject alternative name IP::: is refused: the unspecified address/],
    ['IP:169.254.1.1', /is refused: a link-local address/],
    ['DNS:worker-other', /^subject alternative name DNS:worker-other is refused: names another worker \(this certificate is for worker-node-7/],
  ];
  for (const [san, message] of refusedNames) {
    test(`a CSR asking for ${san}`, async () => {
      await assert.rejects(sign(makeCsr(P256, '/CN=x', `DNS:ok.example,${san}`)), { code: 'INVALID_INPUT', message });
    });
  }

  test('an RSA "key" with public exponent 1, whose signature was forged without a key', async () => {
    await assert.rejects(sign(rsaExponentCsr().pem), {
      code: 'INVALID_INPUT',
      message: 'the RSA public exponent 1 is below 65537 (with exponent 1 any signature can be forged without a key)',
    });
  });

  test('when the CA has expired', async () => {
    const caNotAfter = new X509Certificate(ca.certDer).validToDate;
    await assert.rejects(sign(makeCsr(P256, '/CN=admin'), 'n', { now: new Date(caNotAfter.getTime() + 1000) }), {
      code: 'CONFLICT',
      message: `the worker CA certificate expired on ${caNotAfter.toISOString()}`,
    });
  });

  test('when the CA is not valid yet', async () => {
    await assert.rejects(sign(makeCsr(P256, '/CN=admin'), 'n', { now: new Date(NOW.getTime() - DAY) }), {
      code: 'CONFLICT',
      message: `the worker CA certificate is not valid until ${new Date(NOW.getTime() - 60_000).toISOString()}`,
    });
  });

  test('when the stored CA key does not match the CA certificate', async () => {
    const other = await createWorkerCa({ now: NOW });
    await assert.rejects(
      signWorkerCsr({
        caCertDer: ca.certDer,
        caKeyPkcs8Der: other.keyPkcs8Der,
        csr: makeCsr(P256, '/CN=a'),
        nodeId: 'n',
        now: NOW,
      }),
      { code: 'INTEGRITY', message: 'the CA key does not match the CA certificate' },
    );
  });

  test('when the stored CA key is unreadable', async () => {
    await assert.rejects(
      signWorkerCsr({
        caCertDer: ca.certDer,
        caKeyPkcs8Der: new Uint8Array(40),
        csr: makeCsr(P256, '/CN=a'),
        nodeId: 'n',
        now: NOW,
      }),
      { code: 'INTEGRITY', message: 'the CA key is not a readable PKCS#8 private key' },
    );
  });
});

describe('parseCaImport', () => {
  test('accepts a matching openssl CA with a PKCS#8 key, and signs with it', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=Imported CA/O=Example', CA_EXTS);
    assert.match(keyPem, /BEGIN PRIVATE KEY/);
    const imported = await parseCaImport(certPem, keyPem);
    assert.deepEqual(imported.certDer, pemDecodeAll(certPem)[0]!.der);
    const leaf = await signWorkerCsr({
      ...imported,
      caCertDer: imported.certDer,
      caKeyPkcs8Der: imported.keyPkcs8Der,
      csr: makeCsr(P256, '/CN=a'),
      nodeId: 'imp',
    });
    const verify = opensslAll(['verify', '-CAfile', file('imported.pem', certPem), file('leaf.pem', leaf.leafPem)]);
    assert.equal(verify.status, 0, verify.out);
    assert.match(text(file('leaf.pem', leaf.leafPem)), /Issuer: CN = Imported CA, O = Example\n/);
  });

  test('accepts a SEC1 EC PRIVATE KEY and returns it as PKCS#8', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=Sec1 CA', CA_EXTS);
    const sec1 = openssl(['ec', '-in', file('k.pem', keyPem)], undefined);
    assert.match(sec1, /BEGIN EC PRIVATE KEY/);
    const imported = await parseCaImport(certPem, sec1);
    const key = createPrivateKey({ key: Buffer.from(imported.keyPkcs8Der), format: 'der', type: 'pkcs8' });
    assert.equal(new X509Certificate(imported.certDer).checkPrivateKey(key), true);
  });

  test('round-trips a CA made by createWorkerCa', async () => {
    const certPem = pemEncode(ca.certDer, 'CERTIFICATE');
    const keyPem = pemEncode(ca.keyPkcs8Der, 'PRIVATE KEY');
    const imported = await parseCaImport(certPem, keyPem, { now: NOW });
    assert.deepEqual(imported.certDer, ca.certDer);
  });

  test('refuses a key that does not match the certificate', async () => {
    const a = opensslSelfSigned(P256, '/CN=A', CA_EXTS);
    const b = opensslSelfSigned(P256, '/CN=B', CA_EXTS);
    await assert.rejects(parseCaImport(a.certPem, b.keyPem), {
      code: 'INVALID_INPUT',
      message: 'the key does not match the certificate',
    });
  });

  test('refuses a certificate that is not a CA', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=Leafish', ['basicConstraints=critical,CA:FALSE']);
    await assert.rejects(parseCaImport(certPem, keyPem), {
      code: 'INVALID_INPUT',
      message: 'certificate is not a CA (basicConstraints cA is false)',
    });
  });

  test('refuses a certificate without basicConstraints', async () => {
    const key = file('k.pem', openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']));
    const csr = file('r.pem', openssl(['req', '-new', '-key', key, '-subj', '/CN=plain']));
    const cert = openssl(['x509', '-req', '-in', csr, '-key', key, '-days', '5']);
    assert.doesNotMatch(text(file('c.pem', cert)), /Basic Constraints/);
    await assert.rejects(parseCaImport(cert, readFileSync(key, 'utf8')), {
      code: 'INVALID_INPUT',
      message: 'certificate is not a CA (it has no basicConstraints extension)',
    });
  });

  test('refuses a CA whose keyUsage lacks cRLSign', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=No CRL', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign',
    ]);
    await assert.rejects(parseCaImport(certPem, keyPem), {
      code: 'INVALID_INPUT',
      message: 'the CA certificate keyUsage lacks cRLSign, which revocation lists need',
    });
  });

  test('refuses a CA whose keyUsage lacks keyCertSign', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=No sign', [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,cRLSign',
    ]);
    await assert.rejects(parseCaImport(certPem, keyPem), {
      code: 'INVALID_INPUT',
      message: 'the CA certificate keyUsage lacks keyCertSign',
    });
  });

  test('refuses text that is not a PEM certificate', async () => {
    await assert.rejects(parseCaImport('just text', pemEncode(ca.keyPkcs8Der, 'PRIVATE KEY')), {
      code: 'INVALID_INPUT',
      message: 'not a PEM certificate',
    });
  });

  test('refuses a key where the certificate should be', async () => {
    const keyPem = pemEncode(ca.keyPkcs8Der, 'PRIVATE KEY');
    await assert.rejects(parseCaImport(keyPem, keyPem), {
      code: 'INVALID_INPUT',
      message: 'not a PEM certificate (found a PEM PRIVATE KEY block)',
    });
  });

  test('refuses a chain of several certificates', async () => {
    const other = await createWorkerCa({ now: NOW });
    const chain = pemEncode(ca.certDer, 'CERTIFICATE') + pemEncode(other.certDer, 'CERTIFICATE');
    await assert.rejects(parseCaImport(chain, pemEncode(ca.keyPkcs8Der, 'PRIVATE KEY')), {
      code: 'INVALID_INPUT',
      message: 'expected one CA certificate, found 2; import the CA alone',
    });
  });

  test('refuses text that is not a PEM private key', async () => {
    await assert.rejects(parseCaImport(pemEncode(ca.certDer, 'CERTIFICATE'), 'no key here'), {
      code: 'INVALID_INPUT',
      message: 'not a PEM private key (expected PRIVATE KEY or EC PRIVATE KEY)',
    });
  });

  test('refuses a PEM private key whose contents are not a key', async () => {
    await assert.rejects(
      parseCaImport(pemEncode(ca.certDer, 'CERTIFICATE'), pemEncode(new Uint8Array(randomBytes(48)), 'PRIVATE KEY')),
      {
        code: 'INVALID_INPUT',
        message: 'the PRIVATE KEY block is not a readable private key',
      },
    );
  });

  test('refuses an encrypted key, and says how to decrypt it', async () => {
    const { certPem, keyPem } = opensslSelfSigned(P256, '/CN=Enc', CA_EXTS);
    const encrypted = openssl(['pkey', '-in', file('k.pem', keyPem), '-aes256', '-passout', 'pass:secret']);
    assert.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/);
    await assert.rejects(parseCaImport(certPem, encrypted), {
      code: 'UNSUPPORTED',
      message: 'the key is encrypted; decrypt it first (openssl pkey -in key.pem -out key-plain.pem)',
    });
  });

  test('refuses an RSA CA', async () => {
    const { certPem, keyPem } = opensslSelfSigned(RSA2048, '/CN=RSA CA', CA_EXTS);
    await assert.rejects(parseCaImport(certPem, keyPem), {
      code: 'UNSUPPORTED',
      message: 'the key is RSA (2048 bits); the worker CA signs with ECDSA P-256 only',
    });
  });

  test('refuses an expired CA', async () => {
    const old = await createWorkerCa({ now: new Date('2010-01-01T00:00:00Z') });
    await assert.rejects(
      parseCaImport(pemEncode(old.certDer, 'CERTIFICATE'), pemEncode(old.keyPkcs8Der, 'PRIVATE KEY'), { now: NOW }),
      {
        code: 'INVALID_INPUT',
        message: 'the CA certificate expired on 2019-12-30T00:00:00.000Z',
      },
    );
  });

  test('never puts key material in an error message', async () => {
    const a = opensslSelfSigned(P256, '/CN=A', CA_EXTS);
    const b = opensslSelfSigned(P256, '/CN=B', CA_EXTS);
    const body = b.keyPem.split('\n')[1]!;
    await assert.rejects(parseCaImport(a.certPem, b.keyPem), (err: Error) => !err.message.includes(body.slice(0, 20)));
  });
});

describe('registrationBundle and caBundle', () => {
  test('registrationBundle carries the leaf and the CA as base64 DER', async () => {
    const leaf = await sign(makeCsr(P256, '/CN=admin'));
    const bundle = registrationBundle(leaf.leafDer, ca.certDer);
    assert.deepEqual(Object.keys(bundle), ['leaf_der', 'ca_chain_der']);
    assert.deepEqual(new Uint8Array(Buffer.from(bundle.leaf_der, 'base64')), leaf.leafDer);
    assert.equal(bundle.ca_chain_der.length, 1);
    assert.deepEqual(new Uint8Array(Buffer.from(bundle.ca_chain_der[0]!, 'base64')), ca.certDer);
    const x = new X509Certificate(Buffer.from(bundle.leaf_der, 'base64'));
    assert.equal(x.checkIssued(new X509Certificate(Buffer.from(bundle.ca_chain_der[0]!, 'base64'))), true);
  });

  test('registrationBundle refuses bytes that are not certificates', () => {
    assert.throws(() => registrationBundle(new Uint8Array([1, 2, 3]), ca.certDer), {
      code: 'INVALID_INPUT',
      message: /^not an X\.509 certificate/,
    });
  });

  test('PEM is read by openssl', () => {
    const pem = caBundle(ca.certDer, 'pem');
    assert.match(
      openssl(['x509', '-noout', '-subject', '-in', file('b.pem', pem)]),
      /subject=CN = ZLayer Worker CA, O = ZLayer/,
    );
  });

  test('DER is the certificate', () => {
    assert.deepEqual(caBundle(ca.certDer, 'der'), ca.certDer);
  });

  test('p7b is a PEM PKCS#7 bundle `openssl pkcs7 -in` prints the CA from; p7b-der the same as DER', () => {
    const p7b = caBundle(ca.certDer, 'p7b');
    assert.match(p7b, /^-----BEGIN PKCS7-----\n[A-Za-z0-9+/=\n]+-----END PKCS7-----\n$/);
    const out = openssl(['pkcs7', '-in', file('ca.p7b', p7b), '-print_certs']);
    assert.match(out, /subject=CN = ZLayer Worker CA, O = ZLayer/);
    const certs = pemDecodeAll(out).filter((b) => b.label === 'CERTIFICATE');
    assert.equal(certs.length, 1);
    assert.deepEqual(certs[0]!.der, ca.certDer);
    const der = caBundle(ca.certDer, 'p7b-der');
    assert.deepEqual(der, pemDecodeAll(p7b)[0]!.der);
    const fromDer = openssl(['pkcs7', '-inform', 'DER', '-in', file('ca-der.p7b', der), '-print_certs']);
    assert.deepEqual(pemDecodeAll(fromDer).filter((b) => b.label === 'CERTIFICATE')[0]!.der, ca.certDer);
  });

  test('json is the registration form', () => {
    const json = JSON.parse(caBundle(ca.certDer, 'json')) as { ca_chain_der: string[] };
    assert.deepEqual(Object.keys(json), ['ca_chain_der']);
    assert.deepEqual(new Uint8Array(Buffer.from(json.ca_chain_der[0]!, 'base64')), ca.certDer);
  });

  test('an unknown format is refused', () => {
    assert.throws(() => caBundle(ca.certDer, 'pfx' as CaBundleFormat), {
      code: 'INVALID_INPUT',
      message: 'unknown CA bundle format "pfx"; use pem, der, p7b, p7b-der or json',
    });
  });

  test('bytes that are not a certificate are refused', () => {
    assert.throws(() => caBundle(new Uint8Array(randomBytes(30)), 'pem'), {
      code: 'INVALID_INPUT',
      message: /^not an X\.509 certificate/,
    });
  });
});

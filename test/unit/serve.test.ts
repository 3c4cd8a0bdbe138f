/**
 * `castellan serve` publications, checked by real third-party clients against a server bound to
 * 127.0.0.1 on a free port: `openssl ocsp` (status, reason, nonce, signature against the CA),
 * `curl` + `openssl crl` for the CRL, PyJWT's PyJWKClient for the JWKS, jose for the signed
 * revocation list. Every revoke is made through a SECOND connection to the workspace (what
 * another process does), and must show on the very next request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { initCa, requireCaCert } from '../../electron/core/ca/ca-store.ts';
import { revokeCertificate, signCsr } from '../../electron/core/ca/certificate-inventory.ts';
import { pemEncode } from '../../electron/core/ca/der.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { CastellanServer, isLoopbackHost, startServer, type AccessLogEntry } from '../../electron/core/serve/server.ts';
import { getTokenConfig } from '../../electron/core/tokens/signing-keys.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { opensslCsr, TEST_PASSPHRASE } from '../harness/seed.ts';
import { pyClient, run } from '../harness/serve.ts';
import { tempDir } from '../harness/services.ts';
import { isError, tokenWorkspace } from '../harness/tokens.ts';

const OPENSSL = '/usr/bin/openssl';

let ws: Workspace;
let other: Workspace;
let server: CastellanServer;
let url = '';
let dir = '';
const log: AccessLogEntry[] = [];
const leaves: { serial: string; file: string }[] = [];
let caFile = '';

before(async () => {
  ws = await tokenWorkspace(['ed25519', 'es256', 'zlayer']);
  await initCa(ws);
  dir = tempDir('castellan-serve-');
  caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, pemEncode(requireCaCert(ws), 'CERTIFICATE'));
  for (const node of ['node-1', 'node-2', 'node-3']) {
    const signed = await signCsr(ws, { csr: opensslCsr('w', `${node}.example`), nodeId: node });
    const file = path.join(dir, `${node}.pem`);
    fs.writeFileSync(file, signed.leafPem);
    leaves.push({ serial: signed.certificate.serial, file });
  }
  // Another "process": its own connection and vault.
  other = Workspace.open(ws.dir, {
    actor: { user: 'other-admin', kind: 'cli' },
    kdf: { N: 2 ** 10, r: 8, p: 1 },
    allowWeakKdfInTests: true,
  });
  other.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  server = await startServer({ workspace: ws, host: '127.0.0.1', port: 0, accessLog: (e) => log.push(e) });
  url = server.url!;
});

after(async () => {
  await server?.close();
  other?.close();
  ws?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(ws.dir), { recursive: true, force: true });
});

async function ocspText(leafFile: string, extra: string[] = []): Promise<string> {
  const r = await run(OPENSSL, [
    'ocsp', '-issuer', caFile, '-cert', leafFile, '-url', `${url}/ocsp`, '-CAfile', caFile, '-resp_text', ...extra,
  ]);
  return `${r.stdout}\n${r.stderr}`;
}

test('openssl ocsp: good, then revoked with time and reason right after a revoke from another connection', async () => {
  const leaf = leaves[0]!;
  const before = await ocspText(leaf.file);
  assert.match(before, /Response verify OK/);
  assert.match(before, new RegExp(`${leaf.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: good`));
  assert.match(before, /OCSP Nonce:/, 'the nonce openssl sent is echoed (openssl also checks it matches)');
  assert.match(before, /This Update: .*\n\s*Next Update: /);
  assert.match(before, /Responder Id: [0-9A-F]{40}/, 'a byKey responder id (SHA-1 of the CA key)');

  await revokeCertificate(other, { serial: leaf.serial, reason: 'keyCompromise' });
  const afterRevoke = await ocspText(leaf.file);
  assert.match(afterRevoke, /Response verify OK/);
  assert.match(afterRevoke, /: revoked/);
  assert.match(afterRevoke, /Reason: keyCompromise/);
  assert.match(afterRevoke, /Revocation Time: /);

  // The other leaves are unaffected.
  assert.match(await ocspText(leaves[1]!.file), /: good/);
});

test('openssl ocsp: a certificate this CA never issued is unknown; a foreign issuer is unknown', async () => {
  // A leaf from another CA, asked about with that CA as issuer.
  const foreign = path.join(dir, 'foreign');
  fs.mkdirSync(foreign);
  await run(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(foreign, 'ca.key'),
    '-out', path.join(foreign, 'ca.pem'), '-days', '2', '-subj', '/CN=Foreign CA', '-addext', 'basicConstraints=critical,CA:TRUE']);
  const r = await run(OPENSSL, ['ocsp', '-issuer', path.join(foreign, 'ca.pem'), '-serial', '0x1234', '-url', `${url}/ocsp`,
    '-CAfile', caFile, '-resp_text', '-no_nonce']);
  assert.match(`${r.stdout}${r.stderr}`, /0x1234: unknown/);
  // Our issuer, a serial not in the inventory.
  const r2 = await run(OPENSSL, ['ocsp', '-issuer', caFile, '-serial', '0x4abcdef', '-url', `${url}/ocsp`, '-CAfile', caFile, '-resp_text']);
  assert.match(`${r2.stdout}${r2.stderr}`, /0x4abcdef: unknown/);
  assert.match(`${r2.stdout}${r2.stderr}`, /Response verify OK/);
});

test('GET /ocsp/{base64} answers the same request as POST (SHA-256 CertID too)', async () => {
  const reqFile = path.join(dir, 'req.der');
  await run(OPENSSL, ['ocsp', '-issuer', caFile, '-sha256', '-cert', leaves[2]!.file, '-no_nonce', '-reqout', reqFile]);
  const b64 = encodeURIComponent(fs.readFileSync(reqFile).toString('base64'));
  const res = await fetch(`${url}/ocsp/${b64}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/ocsp-response');
  const respFile = path.join(dir, 'resp.der');
  fs.writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
  const r = await run(OPENSSL, ['ocsp', '-respin', respFile, '-reqin', reqFile, '-issuer', caFile, '-CAfile', caFile, '-resp_text']);
  assert.match(`${r.stdout}${r.stderr}`, /Response verify OK/);
  assert.match(`${r.stdout}${r.stderr}`, /Hash Algorithm: sha256/);
  assert.match(`${r.stdout}${r.stderr}`, /Cert Status: good/);
});

test('a request without a nonce may get a pre-produced answer, but never one older than a revoke', async () => {
  const signed = await signCsr(ws, { csr: opensslCsr('w', 'cache.example'), nodeId: 'cache-node' });
  const leafFile = path.join(dir, 'cache-node.pem');
  fs.writeFileSync(leafFile, signed.leafPem);
  const reqFile = path.join(dir, 'cache-req.der');
  await run(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', reqFile]);
  const ask = async (): Promise<string> => {
    const res = await fetch(`${url}/ocsp`, { method: 'POST', body: fs.readFileSync(reqFile), headers: { 'content-type': 'application/ocsp-request' } });
    const file = path.join(dir, 'cache-resp.der');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const r = await run(OPENSSL, ['ocsp', '-respin', file, '-reqin', reqFile, '-issuer', caFile, '-CAfile', caFile, '-resp_text']);
    return `${r.stdout}${r.stderr}`;
  };
  assert.match(await ask(), /Cert Status: good/);
  assert.match(await ask(), /Cert Status: good/);
  await revokeCertificate(other, { serial: signed.certificate.serial, reason: 'affiliationChanged' });
  const after = await ask();
  assert.match(after, /Cert Status: revoked/);
  assert.match(after, /Reason: affiliationChanged/);
  assert.match(after, /Response verify OK/);
});

test('garbage OCSP requests get malformedRequest and change nothing', async () => {
  const count = (): unknown => ws.db.prepare('SELECT count(*) AS n FROM audit').get();
  const auditBefore = JSON.stringify(count());
  for (const body of [Buffer.from('not an ocsp request'), Buffer.alloc(0), Buffer.from([0x30, 0x03, 0x30, 0x01, 0x00])]) {
    const res = await fetch(`${url}/ocsp`, { method: 'POST', body, headers: { 'content-type': 'application/ocsp-request' } });
    assert.equal(res.status, 200);
    const file = path.join(dir, 'bad.der');
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const r = await run(OPENSSL, ['ocsp', '-respin', file, '-resp_text', '-noverify']);
    assert.match(`${r.stdout}${r.stderr}`, /malformedrequest \(1\)/i);
  }
  const res = await fetch(`${url}/ocsp/%%%not-base64`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...bytes], [0x30, 0x03, 0x0a, 0x01, 0x01], 'OCSPResponse { malformedRequest }');
  assert.equal(JSON.stringify(count()), auditBefore);
});

test('curl fetches the CRL (DER and PEM) and openssl verifies it against the CA; a revoke shows at once', async () => {
  const der = path.join(dir, 'crl.der');
  const c = await run('/usr/bin/curl', ['-sS', '-D', '-', '-o', der, `${url}/crl`]);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /content-type: application\/pkix-crl/i);
  assert.match(c.stdout, /etag: "crl-\d+"/i);
  const v = await run(OPENSSL, ['crl', '-inform', 'DER', '-in', der, '-CAfile', caFile, '-noout', '-text']);
  assert.match(`${v.stdout}${v.stderr}`, /verify OK/);
  const numberBefore = /X509v3 CRL Number: \n\s*(\d+)/.exec(v.stdout)?.[1];

  const pem = await run('/usr/bin/curl', ['-sS', '-H', 'Accept: application/x-pem-file', `${url}/crl`]);
  assert.match(pem.stdout, /^-----BEGIN X509 CRL-----/);
  const pem2 = await (await fetch(`${url}/crl.pem`)).text();
  assert.equal(pem2, pem.stdout);

  await revokeCertificate(other, { serial: leaves[1]!.serial, reason: 'superseded' });
  await run('/usr/bin/curl', ['-sS', '-o', der, `${url}/crl`]);
  const v2 = await run(OPENSSL, ['crl', '-inform', 'DER', '-in', der, '-CAfile', caFile, '-noout', '-text']);
  assert.match(`${v2.stdout}${v2.stderr}`, /verify OK/);
  assert.ok(v2.stdout.toUpperCase().includes(leaves[1]!.serial.toUpperCase()), 'the newly revoked serial is listed');
  const numberAfter = /X509v3 CRL Number: \n\s*(\d+)/.exec(v2.stdout)?.[1];
  assert.ok(Number(numberAfter) > Number(numberBefore));
});

test('PyJWKClient fetches the JWKS from the server and verifies an ed25519 and an es256 token', async () => {
  const { issuer, audience } = getTokenConfig(ws);
  for (const [profile, alg] of [['ed25519', 'EdDSA'], ['es256', 'ES256']] as const) {
    const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0', profile });
    const r = await pyClient({ op: 'jwks_verify', url: `${url}/.well-known/jwks.json`, token: minted.token, alg, audience, issuer });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.kid, minted.record.kid);
    assert.equal((r.claims as Record<string, unknown>).jti, minted.record.jti);
  }
  const res = await fetch(`${url}/.well-known/jwks.json`);
  const etag = res.headers.get('etag')!;
  assert.match(res.headers.get('cache-control')!, /max-age=\d+/);
  const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
  assert.equal(jwks.keys.length, 2, 'ed25519 and es256; never the zlayer HMAC secret');
  assert.ok(jwks.keys.every((k) => k.d === undefined && k.k === undefined));
  const again = await fetch(`${url}/.well-known/jwks.json`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
});

test('/revocations: a signed list that verifies against the JWKS and lists a revoke from another connection on the next request', async () => {
  const jwks = createLocalJWKSet((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: [] });
  const fetchList = async (): Promise<{ seq: number; entries: { jti: string }[] }> => {
    const res = await fetch(`${url}/revocations`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/jwt');
    const { payload } = await jwtVerify(await res.text(), jwks, { typ: 'castellan-revocations+jwt' });
    return payload as unknown as { seq: number; entries: { jti: string }[] };
  };
  const first = await fetchList();
  const same = await fetchList();
  assert.equal(same.seq, first.seq, 'nothing changed: the same list, not a new sequence number');
  const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1', profile: 'ed25519' });
  revokeToken(other, minted.record.jti!, 'leaked');
  const next = await fetchList();
  assert.ok(next.seq > first.seq);
  assert.ok(next.entries.some((e) => e.jti === minted.record.jti));
});

test('healthz, unknown routes, wrong methods, and an access log with no secrets', async () => {
  const h = await fetch(`${url}/healthz`);
  assert.deepEqual(await h.json(), { status: 'ok', vault: 'unlocked', ca: true });
  assert.equal((await fetch(`${url}/nope`)).status, 404);
  const wrong = await fetch(`${url}/crl`, { method: 'POST', body: 'x' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
  assert.ok(log.length > 0);
  for (const e of log) {
    assert.deepEqual(Object.keys(e).sort(), ['client', 'method', 'ms', 'path', 'status', 'ts']);
    assert.ok(!e.path.includes('?'));
  }
  assert.ok(log.some((e) => e.path === '/ocsp/{request}'), 'a GET OCSP request is logged by route, not by its bytes');
});

test('a 10 MB body is refused with 413 and nothing is read into memory', async () => {
  const res = await fetch(`${url}/ocsp`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024, 0x30) });
  assert.equal(res.status, 413);
});

test('plain HTTP only on loopback: any other address needs TLS; bad ports and TLS files are refused', () => {
  assert.equal(isLoopbackHost('127.0.0.1'), true);
  assert.equal(isLoopbackHost('::1'), true);
  assert.equal(isLoopbackHost('localhost'), true);
  assert.equal(isLoopbackHost('0.0.0.0'), false);
  assert.equal(isLoopbackHost('10.1.2.3'), false);
  assert.throws(() => new CastellanServer({ workspace: ws, host: '0.0.0.0', port: 0 }), isError('INVALID_INPUT', /needs TLS/));
  assert.throws(() => new CastellanServer({ workspace: ws, host: '::', port: 0 }), isError('INVALID_INPUT', /needs TLS/));
  assert.throws(() => new CastellanServer({ workspace: ws, port: 70000 }), isError('INVALID_INPUT', /not a TCP port/));
  assert.throws(
    () => new CastellanServer({ workspace: ws, host: '0.0.0.0', port: 0, tls: { cert: 'junk', key: 'junk' } }),
    isError('INVALID_INPUT', /TLS certificate and key/),
  );
});

test('TLS with an admin-provided certificate (bound to loopback here)', async () => {
  const key = path.join(dir, 'tls.key');
  const cert = path.join(dir, 'tls.pem');
  await run(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const tls = await startServer({ workspace: ws, host: '127.0.0.1', port: 0, tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });
  try {
    assert.match(tls.url!, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await run('/usr/bin/curl', ['-sS', '--cacert', cert, `${tls.url}/healthz`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"status":"ok"/);
  } finally {
    await tls.close();
  }
});

test('a delegated OCSP responder (id-kp-OCSPSigning, issued by the CA, audited) signs answers openssl accepts against the CA', async () => {
  const delegated = await startServer({ workspace: ws, host: '127.0.0.1', port: 0, ocspDelegated: true });
  try {
    const r = await run(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leaves[2]!.file, '-url', `${delegated.url!}/ocsp`,
      '-CAfile', caFile, '-resp_text']);
    const text = `${r.stdout}\n${r.stderr}`;
    assert.match(text, /Response verify OK/);
    assert.match(text, /: good/);
    assert.match(text, /Subject: CN ?= ?Castellan OCSP Responder/);
    assert.match(text, /OCSP Signing/);
    assert.match(text, /OCSP No Check/);
    const entry = ws.audit.list({ action: 'serve.ocsp_responder_issue', limit: 5 }).rows[0];
    assert.ok(entry, 'the responder certificate is audited');
    // A second request reuses the same responder certificate (no new audit entry).
    await run(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leaves[2]!.file, '-url', `${delegated.url!}/ocsp`, '-CAfile', caFile]);
    assert.equal(ws.audit.list({ action: 'serve.ocsp_responder_issue', limit: 5 }).rows.length, 1);
  } finally {
    await delegated.close();
  }
});

test('while the vault is locked OCSP answers tryLater (the responder and its key are dropped); unlocked, it answers again', async () => {
  const reqFile = path.join(dir, 'lock-req.der');
  await run(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leaves[2]!.file, '-reqout', reqFile]);
  const post = async (): Promise<number[]> =>
    [...Buffer.from(await (await fetch(`${url}/ocsp`, { method: 'POST', body: fs.readFileSync(reqFile) })).arrayBuffer())];
  assert.equal((await post()).length > 5, true);
  ws.vault.lock();
  try {
    assert.deepEqual(await post(), [0x30, 0x03, 0x0a, 0x01, 0x03], 'OCSPResponse { tryLater }');
  } finally {
    ws.vault.unlockWithPassphrase(TEST_PASSPHRASE);
  }
  const r = await run(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leaves[2]!.file, '-url', `${url}/ocsp`, '-CAfile', caFile]);
  assert.match(`${r.stdout}${r.stderr}`, /: good/);
});

test('TLS with a server certificate the worker CA issues (castellan ca sign), verified by curl against the CA', async () => {
  const key = path.join(dir, 'serve.key');
  const csr = path.join(dir, 'serve.csr');
  await run(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr,
    '-subj', '/CN=serve', '-addext', 'subjectAltName=DNS:castellan.test']);
  const signed = await signCsr(ws, { csr: fs.readFileSync(csr, 'utf8'), nodeId: 'serve', days: 30 });
  const tls = await startServer({ workspace: ws, host: '127.0.0.1', port: 0, tls: { cert: signed.leafPem, key: fs.readFileSync(key) } });
  try {
    const port = /:(\d+)$/.exec(tls.url!)![1]!;
    const r = await run('/usr/bin/curl', ['-sS', '--cacert', caFile, '--resolve', `castellan.test:${port}:127.0.0.1`, `https://castellan.test:${port}/healthz`]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"status":"ok"/);

    // mTLS: a verifier holding a worker certificate may introspect without a client secret,
    // until that certificate is revoked (from another connection).
    const wKey = path.join(dir, 'mtls.key');
    const wCsr = path.join(dir, 'mtls.csr');
    await run(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', wKey, '-out', wCsr,
      '-subj', '/CN=gw', '-addext', 'subjectAltName=DNS:gateway.example']);
    const worker = await signCsr(ws, { csr: fs.readFileSync(wCsr, 'utf8'), nodeId: 'gateway-1' });
    const wCert = path.join(dir, 'mtls.pem');
    fs.writeFileSync(wCert, worker.leafPem);
    const token = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-5', profile: 'ed25519' }).token;
    const introspectMtls = async (withCert: boolean): Promise<string> => {
      const args = ['-sS', '-w', '\n%{http_code}', '--cacert', caFile, '--resolve', `castellan.test:${port}:127.0.0.1`,
        '--data-urlencode', `token=${token}`, `https://castellan.test:${port}/introspect`];
      if (withCert) args.unshift('--cert', wCert, '--key', wKey);
      const out = await run('/usr/bin/curl', args);
      assert.equal(out.status, 0, out.stderr);
      return out.stdout;
    };
    assert.match(await introspectMtls(true), /"active":true[\s\S]*\n200$/);
    assert.match(await introspectMtls(false), /\n401$/, 'no certificate, no credentials');
    await revokeCertificate(other, { serial: worker.certificate.serial, reason: 'keyCompromise' });
    assert.match(await introspectMtls(true), /\n401$/, 'a revoked worker certificate is refused on the next request');
  } finally {
    await tls.close();
  }
});

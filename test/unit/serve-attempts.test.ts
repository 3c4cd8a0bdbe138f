/**
 * garm's attempt binding and the published locations in worker certificates.
 *
 * - A token minted for a replica's newer create attempt supersedes the container's earlier
 *   tokens (revoked `superseded`, replaced_by, audited); introspection says {"active":false}
 *   and the inspector says revoked: superseded. An older attempt is refused and changes nothing.
 *   zlayer tokens keep exactly COMPAT.md's claims (the attempt lives in the ledger);
 *   ed25519/es256 tokens carry `create_attempt`, which PyJWT sees after verifying.
 * - The `attempt_binding` workspace setting turns it off.
 * - `public_base_url`: new worker certificates carry CRL Distribution Points and an AIA OCSP
 *   URL; `openssl verify -crl_download` follows the first, `openssl ocsp` the second, both to a
 *   running server, and both see a revoke.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initCa, requireCaCert } from '../../electron/core/ca/ca-store.ts';
import { revokeCertificate, signCsr } from '../../electron/core/ca/certificate-inventory.ts';
import { pemEncode } from '../../electron/core/ca/der.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { refreshToken } from '../../electron/core/tokens/revocation.ts';
import { introspect } from '../../electron/core/serve/introspect.ts';
import { startServer, type CastellanServer } from '../../electron/core/serve/server.ts';
import { getTokenConfig } from '../../electron/core/tokens/signing-keys.ts';
import { inspectWithLedger } from '../../electron/core/tokens/token-inspection.ts';
import { getToken, tokenRowByJti } from '../../electron/core/tokens/token-ledger.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { opensslCsr } from '../harness/seed.ts';
import { run } from '../harness/serve.ts';
import { tempDir } from '../harness/services.ts';
import { isError, py, tokenWorkspace } from '../harness/tokens.ts';

let ws: Workspace;
let dir = '';

before(async () => {
  ws = await tokenWorkspace(['ed25519', 'es256', 'zlayer']);
  dir = tempDir('castellan-attempts-');
});

after(() => {
  ws?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(ws.dir), { recursive: true, force: true });
});

const payload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const mint = (container: string, profile: 'zlayer' | 'ed25519' | 'es256', attempt?: number) =>
  mintToken(ws, { deployment: 'storefront', service: 'web', container, profile, ...(attempt === undefined ? {} : { attempt }) });
const snapshot = (): string =>
  JSON.stringify({
    tokens: ws.db.prepare('SELECT id, revoked_at, revoke_reason, replaced_by FROM tokens ORDER BY id').all(),
    audit: ws.db.prepare('SELECT count(*) AS n FROM audit').get(),
  });

test('attempt binding is on by default; a newer attempt supersedes the container\'s earlier tokens, audited', () => {
  assert.equal(readWorkspaceSettings(ws).attempt_binding, true);
  const unbound = mint('web-0', 'zlayer');
  const first = mint('web-0', 'zlayer', 1);
  const firstEd = mint('web-0', 'ed25519', 1);
  const neighbour = mint('web-1', 'zlayer', 1);
  assert.equal(tokenRowByJti(ws, unbound.record.jti!)!.revoke_reason, 'superseded', 'an unbound token yields to attempt 1');

  const second = mint('web-0', 'ed25519', 2);
  for (const old of [first, firstEd]) {
    const row = tokenRowByJti(ws, old.record.jti!)!;
    assert.equal(row.revoke_reason, 'superseded');
    assert.equal(row.replaced_by, second.record.jti);
    const history = getToken(ws, row.id).history;
    const entry = history.find((h) => h.action === 'token.revoke');
    assert.equal(entry?.details.reason, 'superseded');
    assert.equal(entry?.details.superseded_by_attempt, 2);
    // The inspector says why; introspection says only inactive.
    const inspected = inspectWithLedger(ws, old.token);
    assert.equal(inspected.verdict, 'revoked');
    assert.match(inspected.reason, /superseded/);
    assert.equal(inspected.record?.revoke_reason, 'superseded');
    assert.deepEqual(introspect(ws, old.token), { active: false, why: 'revoked', tokenId: row.id });
  }
  assert.equal(tokenRowByJti(ws, neighbour.record.jti!)!.revoked_at, null, 'another replica is untouched');
  assert.equal(introspect(ws, second.token).active, true);
});

test('an older attempt is refused with CONFLICT and changes nothing; attempt must be a whole number', () => {
  mint('web-2', 'es256', 5);
  const before = snapshot();
  assert.throws(() => mint('web-2', 'zlayer', 4), isError('CONFLICT', /attempt 5.*attempt 4 is an earlier one/));
  assert.throws(() => mint('web-2', 'zlayer', 0), isError('INVALID_INPUT', /create attempt/));
  assert.throws(() => mint('web-2', 'zlayer', 1.5), isError('INVALID_INPUT', /create attempt/));
  assert.equal(snapshot(), before);
});

test('zlayer claims stay exactly COMPAT.md\'s; ed25519 carries create_attempt, verified by PyJWT; the ledger rebuilds it', async () => {
  const z = mint('web-3', 'zlayer', 7);
  assert.deepEqual(Object.keys(payload(z.token)), ['sub', 'iat', 'exp', 'iss', 'roles', 'scopes', 'jti']);
  assert.equal(tokenRowByJti(ws, z.record.jti!)!.create_attempt, 7);

  const e = mint('web-3', 'ed25519', 7);
  assert.equal(payload(e.token).create_attempt, 7);
  const jwksFile = path.join(dir, 'jwks.json');
  const server = await startServer({ workspace: ws, port: 0 });
  try {
    fs.writeFileSync(jwksFile, await (await fetch(`${server.url!}/.well-known/jwks.json`)).text());
  } finally {
    await server.close();
  }
  const { issuer, audience } = getTokenConfig(ws);
  const r = py({ op: 'decode_jwks', token: e.token, jwks_path: jwksFile, kid: e.record.kid, alg: 'EdDSA', audience, issuer });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal((r.claims as Record<string, unknown>).create_attempt, 7);
  assert.deepEqual(getToken(ws, e.record.id).claims, payload(e.token), 'claims rebuilt from the row match what was signed');
});

test('refresh keeps the attempt and supersedes only the token it replaces', () => {
  const a = mint('web-4', 'ed25519', 3);
  const b = mint('web-4', 'zlayer', 3);
  const refreshed = refreshToken(ws, a.record.jti!);
  assert.equal(payload(refreshed.token).create_attempt, 3);
  assert.equal(tokenRowByJti(ws, a.record.jti!)!.revoke_reason, 'superseded');
  assert.equal(tokenRowByJti(ws, b.record.jti!)!.revoked_at, null, 'a sibling of the same attempt stays');
});

test('with attempt_binding off, attempts are recorded but supersede nothing', () => {
  updateWorkspaceSettings(ws, { attempt_binding: false });
  try {
    const a = mint('web-5', 'zlayer', 9);
    const b = mint('web-5', 'zlayer', 2);
    assert.equal(tokenRowByJti(ws, a.record.jti!)!.revoked_at, null);
    assert.equal(tokenRowByJti(ws, b.record.jti!)!.create_attempt, 2);
  } finally {
    updateWorkspaceSettings(ws, { attempt_binding: true });
  }
});

test('public_base_url: bad values are refused and change nothing', () => {
  const before = readWorkspaceSettings(ws);
  for (const bad of ['ftp://x.example', 'https://user:pw@x.example', 'https://x.example/?q=1', 'https://x.example/', 'not a url']) {
    assert.throws(() => updateWorkspaceSettings(ws, { public_base_url: bad }), isError('INVALID_INPUT', /public_base_url/));
  }
  assert.deepEqual(readWorkspaceSettings(ws), before);
});

test('public_base_url: new worker certificates point at the server; openssl follows the CRL DP and the OCSP URL', async () => {
  await initCa(ws);
  const caFile = path.join(dir, 'ca.pem');
  fs.writeFileSync(caFile, pemEncode(requireCaCert(ws), 'CERTIFICATE'));
  const before = await signCsr(ws, { csr: opensslCsr('w', 'plain.example'), nodeId: 'plain' });
  const plainFile = path.join(dir, 'plain.pem');
  fs.writeFileSync(plainFile, before.leafPem);
  assert.doesNotMatch((await run('/usr/bin/openssl', ['x509', '-in', plainFile, '-noout', '-text'])).stdout, /CRL Distribution/);

  const server: CastellanServer = await startServer({ workspace: ws, port: 0 });
  try {
    updateWorkspaceSettings(ws, { public_base_url: server.url! });
    const signed = await signCsr(ws, { csr: opensslCsr('w', 'pub.example'), nodeId: 'pub' });
    const leaf = path.join(dir, 'pub.pem');
    fs.writeFileSync(leaf, signed.leafPem);
    const text = (await run('/usr/bin/openssl', ['x509', '-in', leaf, '-noout', '-text'])).stdout;
    assert.match(text, new RegExp(`X509v3 CRL Distribution Points:[\\s\\S]*URI:${server.url!}/crl`));
    assert.match(text, new RegExp(`Authority Information Access:[\\s\\S]*OCSP - URI:${server.url!}/ocsp`));
    const ocspUri = (await run('/usr/bin/openssl', ['x509', '-in', leaf, '-noout', '-ocsp_uri'])).stdout.trim();
    assert.equal(ocspUri, `${server.url!}/ocsp`);

    const verify = async (): Promise<string> => {
      const r = await run('/usr/bin/openssl', ['verify', '-crl_download', '-crl_check', '-CAfile', caFile, leaf]);
      return `${r.stdout}${r.stderr}`;
    };
    const ocsp = async (): Promise<string> => {
      const r = await run('/usr/bin/openssl', ['ocsp', '-issuer', caFile, '-cert', leaf, '-url', ocspUri, '-CAfile', caFile]);
      return `${r.stdout}${r.stderr}`;
    };
    assert.match(await verify(), /: OK/);
    assert.match(await ocsp(), /: good/);
    await revokeCertificate(ws, { serial: signed.certificate.serial, reason: 'cessationOfOperation' });
    assert.match(await verify(), /certificate revoked/);
    assert.match(await ocsp(), /: revoked/);
  } finally {
    await server.close();
    updateWorkspaceSettings(ws, { public_base_url: '' });
  }
});

/**
 * The `castellan ca …` verbs end to end, each a real child process on a real workspace with
 * the passphrase from an environment variable (--passphrase-env), CSRs from `openssl req`,
 * and every output checked with openssl. Usage errors exit 1, refusals exit 2 with the
 * reason on stderr; a refusal leaves the database exactly as it was.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { Audit } from '../../electron/core/workspace/audit.ts';
import { pemDecodeAll } from '../../electron/core/ca/der.ts';
import { tempDir } from '../harness/services.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const OPENSSL = '/usr/bin/openssl';
const PASSPHRASE = 'a passphrase for the worker CA CLI test';
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

let dir = '';
let seq = 0;

before(() => {
  dir = tempDir('castellan-ca-cli-');
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Run = { status: number | null; stdout: string; stderr: string };

function fresh(name: string): string {
  return path.join(dir, `${++seq}-${name}`);
}

function openssl(args: string[]): string {
  return execFileSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function opensslAll(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function makeCsr(newkey: string[], subj = '/CN=admin', san?: string): string {
  const out = fresh('req.pem');
  const args = ['req', '-new', ...newkey, '-nodes', '-keyout', fresh('key.pem'), '-subj', subj, '-out', out];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  return out;
}

function makeCaFiles(): { cert: string; key: string } {
  const cert = fresh('ca.crt');
  const key = fresh('ca.key');
  openssl([
    'req', '-x509', ...P256, '-nodes', '-keyout', key, '-out', cert, '-days', '60', '-subj', '/CN=Imported CA/O=Ops',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { cert, key };
}

/** A workspace folder and a runner for the CLI against it. */
function cliIn(wsDir: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  env.CASTELLAN_DATA_DIR = wsDir;
  env.PP = PASSPHRASE;
  const run = (args: string[], options: { input?: string | Uint8Array } = {}): Run => {
    const r = spawnSync(process.execPath, [CLI, ...args], { env, input: options.input ?? '', encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const expect = (status: number, args: string[], options: { input?: string | Uint8Array } = {}): Run => {
    const r = run(args, options);
    assert.equal(r.status, status, `castellan ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.includes(PASSPHRASE), false, 'the passphrase was printed');
    assert.equal(r.stdout.includes('PRIVATE KEY') || r.stderr.includes('PRIVATE KEY'), false, 'a private key was printed');
    return r;
  };
  /** With the passphrase from $PP, expecting exit 0. */
  const ok = (args: string[], options: { input?: string | Uint8Array } = {}): Run =>
    expect(0, ['--passphrase-env', 'PP', ...args], options);
  return { run, expect, ok };
}

/** What the workspace holds, read straight from its database; the audit chain must verify. */
function stateOf(wsDir: string) {
  const db = new DatabaseSync(path.join(wsDir, 'castellan.db'));
  try {
    const audit = new Audit(db, { user: 'test', kind: 'cli' }).verify();
    assert.ok(audit.ok, JSON.stringify(audit));
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      audit: audit.count,
      ca: n('SELECT count(*) AS n FROM ca'),
      certs: n('SELECT count(*) AS n FROM certificates'),
      revoked: n('SELECT count(*) AS n FROM certificates WHERE revoked_at IS NOT NULL'),
      crl: (db.prepare('SELECT crl_number FROM ca_crl').get() as { crl_number: string } | undefined)?.crl_number ?? null,
    };
  } finally {
    db.close();
  }
}

function crlNumber(text: string): number {
  const m = /CRL Number:\s*\n\s*(\d+)/.exec(text);
  assert.ok(m, text);
  return Number(m[1]);
}

let shared: { wsDir: string; cli: ReturnType<typeof cliIn>; caPem: string } | null = null;

/** One workspace with a CA, made once (each unlock costs a full-strength scrypt). */
function withCa() {
  if (shared) return shared;
  const wsDir = path.join(dir, 'shared-ws');
  const cli = cliIn(wsDir);
  cli.ok(['init']);
  const shown = cli.expect(0, ['ca', 'show']);
  assert.match(shown.stdout, /^no worker CA yet/);
  assert.equal(cli.expect(0, ['ca', 'show', '--json']).stdout, 'null\n');

  const created = cli.ok(['ca', 'init']);
  assert.match(created.stdout, /^created the worker CA\nsubject: +CN=ZLayer Worker CA, O=ZLayer\n/);
  assert.match(created.stdout, /^key: +P-256$/m);
  const caPem = fresh('ca.pem');
  cli.expect(0, ['ca', 'bundle', '--out', caPem]);
  shared = { wsDir, cli, caPem };
  return shared;
}

test('ca init, show, a second init refused; bundle in every format (p7b read by openssl pkcs7)', () => {
  const { wsDir, cli, caPem } = withCa();
  const info = JSON.parse(cli.expect(0, ['ca', 'show', '--json']).stdout) as { subject: string; key_type: string; imported: boolean };
  assert.deepEqual([info.subject, info.key_type, info.imported], ['CN=ZLayer Worker CA, O=ZLayer', 'P-256', false]);

  const before = stateOf(wsDir);
  const again = cli.expect(2, ['--passphrase-env', 'PP', 'ca', 'init']);
  assert.match(again.stderr, /^castellan: this workspace already has a worker CA/);
  assert.deepEqual(stateOf(wsDir), before);

  assert.equal(cli.expect(0, ['ca', 'bundle']).stdout, fs.readFileSync(caPem, 'utf8'), 'PEM on stdout by default');
  const p7b = fresh('ca.p7b');
  cli.expect(0, ['ca', 'bundle', '--format', 'p7b', '--out', p7b]);
  assert.match(fs.readFileSync(p7b, 'utf8'), /^-----BEGIN PKCS7-----\n/, 'p7b is PEM by default');
  assert.match(openssl(['pkcs7', '-in', p7b, '-print_certs']), /subject=CN = ZLayer Worker CA, O = ZLayer/);
  const p7bDer = fresh('ca-der.p7b');
  cli.expect(0, ['ca', 'bundle', '--format', 'p7b', '--der', '--out', p7bDer]);
  assert.equal(fs.readFileSync(p7bDer)[0], 0x30, 'p7b --der is DER');
  assert.deepEqual(fs.readFileSync(p7bDer), Buffer.from(pemDecodeAll(fs.readFileSync(p7b, 'utf8'))[0]!.der));
  assert.match(openssl(['pkcs7', '-inform', 'DER', '-in', p7bDer, '-print_certs']), /subject=CN = ZLayer Worker CA, O = ZLayer/);
  assert.match(cli.expect(1, ['ca', 'bundle', '--format', 'pem', '--der']).stderr, /^castellan: --der applies to --format p7b/);
  const derFile = fresh('ca.der');
  cli.expect(0, ['ca', 'bundle', '--format', 'der', '--out', derFile]);
  assert.deepEqual(fs.readFileSync(derFile), Buffer.from(pemDecodeAll(fs.readFileSync(caPem, 'utf8'))[0]!.der));
  const json = JSON.parse(cli.expect(0, ['ca', 'bundle', '--format', 'json']).stdout) as { ca_chain_der: string[] };
  assert.equal(json.ca_chain_der[0], fs.readFileSync(derFile).toString('base64'));

  const auditBefore = stateOf(wsDir).audit;
  const bad = cli.expect(1, ['ca', 'bundle', '--format', 'zip']);
  assert.match(bad.stderr, /--format must be pem, der, p7b or json, not "zip"/);
  assert.equal(stateOf(wsDir).audit, auditBefore);
});

test('ca sign: P-256, Ed25519 and RSA-2048 CSRs verify with openssl; CN=admin becomes CN=worker-<id>; stdin and DER', () => {
  const { wsDir, cli, caPem } = withCa();
  const kinds: [string, string[]][] = [['p256', P256], ['ed25519', ['-newkey', 'ed25519']], ['rsa2048', ['-newkey', 'rsa:2048']]];
  for (const [name, newkey] of kinds) {
    const csr = makeCsr(newkey, '/CN=admin', `DNS:${name}.example`);
    const leaf = fresh(`${name}.crt`);
    const reg = fresh(`${name}.json`);
    const before = stateOf(wsDir);
    const r = cli.ok(['ca', 'sign', csr, '--node-id', `node-${name}`, '--out', leaf, '--bundle-json', reg]);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^signed CN=worker-node-${name}, O=ZLayer Worker, serial [0-9a-f]+, valid until \\S+\\n$`));
    const verified = opensslAll(['verify', '-CAfile', caPem, leaf]);
    assert.equal(verified.status, 0, verified.out);
    assert.equal(openssl(['x509', '-in', leaf, '-noout', '-subject']).trim(), `subject=CN = worker-node-${name}, O = ZLayer Worker`);
    const bundle = JSON.parse(fs.readFileSync(reg, 'utf8')) as { leaf_der: string; ca_chain_der: string[] };
    assert.equal(bundle.leaf_der, Buffer.from(pemDecodeAll(fs.readFileSync(leaf, 'utf8'))[0]!.der).toString('base64'));
    assert.equal(bundle.ca_chain_der.length, 1);
    assert.deepEqual(stateOf(wsDir), { ...before, certs: before.certs + 1, audit: before.audit + 1 });
  }

  // A DER CSR on stdin, the leaf PEM on stdout, a custom validity.
  const der = pemDecodeAll(fs.readFileSync(makeCsr(P256), 'utf8'))[0]!.der;
  const piped = cli.ok(['ca', 'sign', '-', '--node-id', 'piped', '--days', '7'], { input: der });
  assert.match(piped.stdout, /^-----BEGIN CERTIFICATE-----\n/);
  const leaf = fresh('piped.crt');
  fs.writeFileSync(leaf, piped.stdout);
  assert.equal(opensslAll(['verify', '-CAfile', caPem, leaf]).status, 0);
  const end = Date.parse(openssl(['x509', '-in', leaf, '-noout', '-enddate']).trim().replace('notAfter=', ''));
  const start = Date.parse(openssl(['x509', '-in', leaf, '-noout', '-startdate']).trim().replace('notBefore=', ''));
  assert.equal(end - start, 7 * 86_400_000 + 60_000);
});

test('ca sign refuses RSA-1024, a tampered signature and garbage (before asking for the passphrase); nothing is added', () => {
  const { wsDir, cli } = withCa();
  const tampered = new Uint8Array(pemDecodeAll(fs.readFileSync(makeCsr(P256), 'utf8'))[0]!.der);
  tampered[tampered.length - 1]! ^= 0x01;
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['rsa1024', fs.readFileSync(makeCsr(['-newkey', 'rsa:1024'])), /^castellan: RSA key of 1024 bits is below the 2048-bit minimum\n$/],
    ['tampered', tampered, /^castellan: CSR signature does not verify\n$/],
    ['garbage', Buffer.from('definitely not a certificate request\n'), /^castellan: not a PKCS#10 certificate request: /],
  ];
  for (const [name, input, message] of cases) {
    const csr = fresh(`${name}.csr`);
    fs.writeFileSync(csr, input);
    const before = stateOf(wsDir);
    // No --passphrase-env: the CSR is judged first, so the refusal names the CSR, not the vault.
    const r = cli.expect(2, ['ca', 'sign', csr, '--node-id', 'n1']);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.deepEqual(stateOf(wsDir), before);
  }
  const before = stateOf(wsDir);
  const good = makeCsr(P256);
  assert.match(cli.expect(1, ['ca', 'sign', good]).stderr, /--node-id is required/);
  assert.match(cli.expect(1, ['ca', 'sign', good, '--node-id', 'n1', '--days', 'ten']).stderr, /--days must be a whole number of days, not "ten"/);
  assert.match(cli.expect(2, ['ca', 'sign', good, '--node-id', 'n1', '--days', '0']).stderr, /validity of 0 days is invalid/);
  // Refused, not clamped to the workspace maximum, and before the passphrase is asked for.
  assert.match(
    cli.expect(2, ['ca', 'sign', good, '--node-id', 'n1', '--days', '3650']).stderr,
    /^castellan: validity of 3650 days is refused: this workspace issues worker certificates for at most 90 days \(workspace setting csr_max_leaf_days; it can be raised to 397 at most\)\n$/,
  );
  for (const san of ['DNS:localhost', 'IP:127.0.0.1', 'IP:0.0.0.0', 'DNS:worker-other']) {
    assert.match(
      cli.expect(2, ['ca', 'sign', makeCsr(P256, '/CN=x', san), '--node-id', 'n1']).stderr,
      new RegExp(`^castellan: subject alternative name ${san.replace(/[.]/g, '\\.')} is refused: `),
    );
  }
  assert.match(cli.expect(2, ['ca', 'sign', good, '--node-id', 'no spaces']).stderr, /node id "no spaces" is invalid/);
  assert.match(cli.expect(2, ['ca', 'sign', fresh('missing.csr'), '--node-id', 'n1']).stderr, /cannot read .*: no such file/);
  // A good CSR without a passphrase: the vault cannot be unlocked, nothing is signed.
  assert.match(cli.expect(2, ['ca', 'sign', good, '--node-id', 'n1']).stderr, /a secret is needed: pass --passphrase-env VAR/);
  assert.deepEqual(stateOf(wsDir), before);
});

test('ca preview shows what a CSR asks for; an unacceptable one exits 2', () => {
  const { cli } = withCa();
  const csr = makeCsr(P256, '/CN=admin', 'DNS:p.example,IP:192.0.2.1');
  const text = cli.expect(0, ['ca', 'preview', csr]).stdout;
  assert.match(text, /^requested subject: CN=admin \(the leaf gets CN=worker-<node id> instead\)$/m);
  assert.match(text, /^names: +dns:p\.example, ip:192\.0\.2\.1$/m);
  assert.match(text, /^acceptable: +yes$/m);
  const json = JSON.parse(cli.expect(0, ['ca', 'preview', csr, '--json']).stdout) as { key_type: string; acceptable: boolean };
  assert.deepEqual([json.key_type, json.acceptable], ['P-256', true]);
  // Each name with its verdict; refused ones name the rule, and --node-id judges worker-* names.
  const mixed = makeCsr(P256, '/CN=x', 'DNS:api.zlayer.internal,DNS:localhost,IP:127.0.0.1,IP:0.0.0.0,DNS:worker-other,DNS:worker-n1');
  const judged = cli.expect(2, ['ca', 'preview', mixed, '--node-id', 'n1']);
  assert.match(judged.stdout, /^ {2}allowed dns:api\.zlayer\.internal$/m);
  assert.match(judged.stdout, /^ {2}REFUSED dns:localhost {2}\(localhost is every machine's own name \(workspace setting csr_allow_local_sans is off\)\)$/m);
  assert.match(judged.stdout, /^ {2}REFUSED ip:127\.0\.0\.1 {2}\(a loopback address/m);
  assert.match(judged.stdout, /^ {2}REFUSED ip:0\.0\.0\.0 {2}\(an unspecified address/m);
  assert.match(judged.stdout, /^ {2}REFUSED dns:worker-other {2}\(names another worker \(this certificate is for worker-n1/m);
  assert.match(judged.stdout, /^ {2}allowed dns:worker-n1$/m);
  type Verdicts = { acceptable: boolean; san_verdicts: { value: string; allowed: boolean; rule: string | null }[] };
  const verdicts = JSON.parse(cli.expect(2, ['ca', 'preview', mixed, '--node-id', 'n1', '--json']).stdout) as Verdicts;
  assert.deepEqual(
    verdicts.san_verdicts.map((v) => [v.value, v.allowed]),
    [['api.zlayer.internal', true], ['localhost', false], ['127.0.0.1', false], ['0.0.0.0', false], ['worker-other', false], ['worker-n1', true]],
  );
  const weak = cli.expect(2, ['ca', 'preview', makeCsr(['-newkey', 'rsa:1024'])]);
  assert.match(weak.stdout, /^acceptable: +no$/m);
  assert.match(weak.stderr, /^castellan: the worker CA would refuse this CSR: RSA key of 1024 bits/);
});

test('ca certs, ca revoke and ca crl: openssl verifies the CRL, lists the reasons, and the number grows', () => {
  const wsDir = path.join(dir, 'revoke-ws');
  const cli = cliIn(wsDir);
  cli.ok(['init']);
  cli.ok(['ca', 'init']);
  const caPem = fresh('ca.pem');
  cli.expect(0, ['ca', 'bundle', '--out', caPem]);
  const csr = makeCsr(P256, '/CN=x', 'DNS:edge.example');
  const serials: string[] = [];
  for (const [node, days] of [['edge-1', '10'], ['edge-2', '90'], ['edge-3', '90']] as const) {
    const r = cli.ok(['ca', 'sign', csr, '--node-id', node, '--days', days, '--out', fresh(`${node}.crt`)]);
    serials.push(/serial ([0-9a-f]+)/.exec(r.stderr)![1]!);
  }

  type Page = { total: number; rows: { serial: string; node_id: string; status: string; revocation_reason: string | null }[] };
  const page = JSON.parse(cli.expect(0, ['ca', 'certs', '--json']).stdout) as Page;
  assert.equal(page.total, 3);
  assert.deepEqual(page.rows.map((r) => r.node_id), ['edge-3', 'edge-2', 'edge-1']);
  const search = JSON.parse(cli.expect(0, ['ca', 'certs', '--json', '--search', 'worker-edge-2']).stdout) as Page;
  assert.deepEqual(search.rows.map((r) => r.node_id), ['edge-2']);
  const soon = JSON.parse(cli.expect(0, ['ca', 'certs', '--json', '--expiring-days', '30']).stdout) as Page;
  assert.deepEqual(soon.rows.map((r) => r.node_id), ['edge-1']);
  assert.match(cli.expect(0, ['ca', 'certs']).stdout, new RegExp(`^${serials[0]} {2}edge-1 {2}valid {2}until \\S+ {2}edge\\.example$`, 'm'));

  const crlOut = () => {
    const file = fresh('crl.pem');
    const r = cli.expect(0, ['ca', 'crl', '--out', file]);
    const verify = opensslAll(['crl', '-in', file, '-CAfile', caPem, '-noout']);
    assert.equal(verify.status, 0, verify.out);
    assert.match(verify.out, /verify OK/);
    return { file, stderr: r.stderr, text: openssl(['crl', '-in', file, '-noout', '-text']) };
  };
  assert.equal(crlNumber(crlOut().text), 1);

  const colon = serials[0]!.toUpperCase().replace(/(..)(?!$)/g, '$1:');
  const revoked = cli.ok(['ca', 'revoke', colon, '--reason', 'keyCompromise']);
  assert.match(revoked.stdout, new RegExp(`^revoked ${serials[0]} \\(CN=worker-edge-1, O=ZLayer Worker\\) at \\S+: keyCompromise\\n$`));
  const second = crlOut();
  assert.equal(crlNumber(second.text), 2);
  assert.match(second.stderr, /^CRL #2: 1 revoked, next update \S+\n$/);
  assert.match(second.text, new RegExp(`Serial Number: ${serials[0]!.toUpperCase()}[\\s\\S]*?Key Compromise`));

  cli.ok(['ca', 'revoke', serials[1]!, '--reason', 'superseded']);
  const third = crlOut();
  assert.equal(crlNumber(third.text), 3);
  assert.match(third.text, new RegExp(`Serial Number: ${serials[1]!.toUpperCase()}[\\s\\S]*?Superseded`));
  const derFile = fresh('crl.der');
  cli.expect(0, ['ca', 'crl', '--der', '--out', derFile]);
  assert.equal(crlNumber(openssl(['crl', '-inform', 'DER', '-in', derFile, '-noout', '-text'])), 3);

  const statuses = JSON.parse(cli.expect(0, ['ca', 'certs', '--json']).stdout) as Page;
  assert.deepEqual(statuses.rows.map((r) => [r.node_id, r.status, r.revocation_reason]), [
    ['edge-3', 'valid', null],
    ['edge-2', 'revoked', 'superseded'],
    ['edge-1', 'revoked', 'keyCompromise'],
  ]);

  // Refusals change nothing.
  const before = stateOf(wsDir);
  assert.match(cli.expect(2, ['--passphrase-env', 'PP', 'ca', 'revoke', serials[0]!, '--reason', 'superseded']).stderr, /already revoked on .* \(keyCompromise\); nothing changed/);
  assert.match(cli.expect(2, ['ca', 'revoke', '7f'.repeat(16), '--reason', 'superseded']).stderr, /^castellan: no certificate with serial 7f7f/);
  assert.match(cli.expect(2, ['ca', 'revoke', serials[2]!, '--reason', 'lost']).stderr, /"lost" is not an RFC 5280 revocation reason/);
  assert.match(cli.expect(2, ['ca', 'revoke', 'zz', '--reason', 'superseded']).stderr, /not a hexadecimal serial number/);
  assert.match(cli.expect(1, ['ca', 'revoke', serials[2]!]).stderr, /--reason is required: one of unspecified, keyCompromise/);
  assert.deepEqual(stateOf(wsDir), before);
  // A current CRL exports without the passphrase, and --refresh re-signs it.
  const refreshed = cli.ok(['ca', 'crl', '--refresh', '--out', fresh('crl.pem')]);
  assert.match(refreshed.stderr, /^CRL #4: 2 revoked/);
});

test('ca export-zlayer needs --yes and the passphrase; writes worker_ca.crt 0644 and worker_ca.key 0600', () => {
  const { wsDir, cli, caPem } = withCa();
  const out = fresh('zlayer');
  fs.mkdirSync(out);
  const before = stateOf(wsDir);
  const noYes = cli.expect(1, ['--passphrase-env', 'PP', 'ca', 'export-zlayer', out]);
  assert.match(noYes.stderr, /^castellan: this writes the worker CA private key to disk, and whoever holds it can issue worker certificates; add --yes to confirm\n/);
  assert.match(cli.expect(2, ['ca', 'export-zlayer', out, '--yes']).stderr, /a secret is needed/);
  assert.match(cli.expect(2, ['--passphrase-env', 'PP', 'ca', 'export-zlayer', path.join(out, 'nope'), '--yes']).stderr, /does not exist/);
  assert.deepEqual(fs.readdirSync(out), []);
  assert.deepEqual(stateOf(wsDir), before);

  const r = cli.ok(['ca', 'export-zlayer', out, '--yes']);
  assert.equal(r.stdout, `wrote ${path.join(out, 'worker_ca.crt')} (0644)\nwrote ${path.join(out, 'worker_ca.key')} (0600)\n`);
  const crt = path.join(out, 'worker_ca.crt');
  const key = path.join(out, 'worker_ca.key');
  assert.equal(fs.statSync(crt).mode & 0o777, 0o644);
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(crt, 'utf8'), fs.readFileSync(caPem, 'utf8'));
  assert.match(openssl(['x509', '-in', crt, '-noout', '-subject']), /CN = ZLayer Worker CA/);
  assert.equal(openssl(['pkey', '-in', key, '-pubout']), openssl(['x509', '-in', crt, '-noout', '-pubkey']));
  assert.equal(stateOf(wsDir).audit, before.audit + 1);
});

test('ca import: a key that does not match is refused and nothing changes; a matching pair is adopted', () => {
  const wsDir = path.join(dir, 'import-ws');
  const cli = cliIn(wsDir);
  cli.ok(['init']);
  const a = makeCaFiles();
  const b = makeCaFiles();
  const before = stateOf(wsDir);
  const mismatch = cli.expect(2, ['--passphrase-env', 'PP', 'ca', 'import', a.cert, b.key]);
  assert.equal(mismatch.stderr, 'castellan: the key does not match the certificate\n');
  assert.deepEqual(stateOf(wsDir), before);
  assert.equal(before.ca, 0);
  assert.match(cli.expect(1, ['ca', 'import', '-', '-']).stderr, /only one of CRT and KEY/);

  const imported = cli.ok(['ca', 'import', a.cert, '-'], { input: fs.readFileSync(a.key) });
  assert.match(imported.stdout, /^imported the worker CA\nsubject: +CN=Imported CA, O=Ops\n/);
  assert.match(imported.stdout, /^origin: +imported on /m);
  assert.deepEqual(stateOf(wsDir), { ...before, ca: 1, audit: before.audit + 1, crl: '1' });
  const leaf = fresh('leaf.crt');
  cli.ok(['ca', 'sign', makeCsr(P256), '--node-id', 'imp', '--out', leaf]);
  assert.equal(opensslAll(['verify', '-CAfile', a.cert, leaf]).status, 0);
  assert.match(cli.expect(2, ['--passphrase-env', 'PP', 'ca', 'import', a.cert, a.key]).stderr, /already has a worker CA/);
});

test('ca policy shows the CSR policy; ca policy set changes it (audited, passphrase needed) and signing follows it', () => {
  const wsDir = path.join(dir, 'policy-ws');
  const cli = cliIn(wsDir);
  cli.ok(['init']);
  const shown = cli.expect(0, ['ca', 'policy']).stdout;
  assert.match(shown, /^max leaf lifetime: +90 days$/m);
  assert.match(shown, /^allowed DNS suffixes: +\(any valid DNS name\)$/m);
  assert.match(shown, /^localhost, loopback, link-local: refused$/m);
  assert.deepEqual(JSON.parse(cli.expect(0, ['ca', 'policy', '--json']).stdout), {
    csr_max_leaf_days: 90,
    csr_allowed_dns_suffixes: [],
    csr_allowed_ip_ranges: [],
    csr_allow_local_sans: false,
  });

  // Bad values are refused with the setting named, before the passphrase is asked for; nothing changes.
  const before = stateOf(wsDir);
  assert.match(cli.expect(2, ['ca', 'policy', 'set', '--max-leaf-days', '3650']).stderr, /workspace setting csr_max_leaf_days/);
  assert.match(cli.expect(2, ['ca', 'policy', 'set', '--dns-suffix', '.bad']).stderr, /csr_allowed_dns_suffixes: a DNS suffix is lowercase labels/);
  assert.match(cli.expect(2, ['ca', 'policy', 'set', '--ip-range', '10.0.0.0/40']).stderr, /csr_allowed_ip_ranges/);
  assert.match(cli.expect(1, ['ca', 'policy', 'set']).stderr, /nothing to change/);
  assert.match(cli.expect(1, ['ca', 'policy', 'set', '--allow-local-sans', 'maybe']).stderr, /takes yes or no/);
  assert.match(cli.expect(2, ['ca', 'policy', 'set', '--max-leaf-days', '30']).stderr, /a secret is needed: pass --passphrase-env VAR/);
  assert.deepEqual(stateOf(wsDir), before);

  const set = cli.ok(['ca', 'policy', 'set', '--max-leaf-days', '397', '--dns-suffix', 'zlayer.internal', '--ip-range', '10.0.0.0/8', '--ip-range', 'fd00::/8']);
  assert.match(set.stdout, /^max leaf lifetime: +397 days$/m);
  assert.match(set.stdout, /^allowed IP ranges: +10\.0\.0\.0\/8, fd00::\/8$/m);
  assert.equal(stateOf(wsDir).audit, before.audit + 1);

  cli.ok(['ca', 'init']);
  const good = makeCsr(P256, '/CN=x', 'DNS:worker-n1.zlayer.internal,IP:10.2.3.4');
  const signed = cli.ok(['ca', 'sign', good, '--node-id', 'n1', '--days', '397', '--out', fresh('n1.crt')]);
  assert.match(signed.stderr, /^signed CN=worker-n1, O=ZLayer Worker/);
  const outside = makeCsr(P256, '/CN=x', 'DNS:api.example.com');
  assert.match(cli.expect(2, ['ca', 'sign', outside, '--node-id', 'n1']).stderr, /DNS:api\.example\.com is refused: not under an allowed DNS suffix \(workspace setting csr_allowed_dns_suffixes: zlayer\.internal\)/);
  assert.match(cli.expect(2, ['ca', 'sign', good, '--node-id', 'n1', '--days', '398']).stderr, /validity of 398 days is refused: .*at most 397 days/);
});

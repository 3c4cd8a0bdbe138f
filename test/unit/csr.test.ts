/**
 * previewCsr against requests made by the real openssl CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { previewCsr, MAX_CSR_BYTES } from '../../electron/core/ca/csr.ts';
import { pemDecodeAll, pemEncode } from '../../electron/core/ca/der.ts';
import { DEFAULT_SAN_POLICY } from '../../electron/core/ca/san-policy.ts';
import { compressedP256Csr, offCurveCsr, rsaExponentCsr } from '../harness/forged-csr.ts';

const OPENSSL = '/usr/bin/openssl';
let dir = '';
let seq = 0;

function openssl(args: string[]): string {
  return execFileSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `openssl req -new` with a fresh key; returns the PEM text (or DER bytes with outform DER). */
function makeCsr(newkey: string[], subj: string, san?: string, outform: 'PEM' | 'DER' = 'PEM'): string | Buffer {
  const out = join(dir, `req-${++seq}.${outform.toLowerCase()}`);
  const args = [
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-keyout',
    join(dir, `key-${seq}.pem`),
    '-subj',
    subj,
    '-outform',
    outform,
    '-out',
    out,
  ];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  openssl(args);
  return outform === 'PEM' ? readFileSync(out, 'utf8') : readFileSync(out);
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const P384 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'];
const P521 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'];
const ED25519 = ['-newkey', 'ed25519'];
const RSA2048 = ['-newkey', 'rsa:2048'];
const RSA1024 = ['-newkey', 'rsa:1024'];
const STANDARD_SAN = 'DNS:node-1.example,IP:10.0.0.5';

/** Flip one bit in the last byte of the DER, which lies inside the signature BIT STRING. */
function tamperSignature(pem: string): string {
  const der = Buffer.from(pemDecodeAll(pem)[0]!.der);
  der[der.length - 1]! ^= 0x01;
  return pemEncode(der, 'CERTIFICATE REQUEST');
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'castellan-csr-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('previewCsr reads what a CSR asks for', () => {
  test('a P-256 PEM request with DNS and IP names', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=admin', STANDARD_SAN) as string);
    assert.deepEqual(p, {
      keyType: 'P-256',
      keySize: 256,
      requestedSubject: 'CN=admin',
      sans: [
        { type: 'dns', value: 'node-1.example' },
        { type: 'ip', value: '10.0.0.5' },
      ],
      sanVerdicts: [
        { type: 'dns', value: 'node-1.example', allowed: true, rule: null },
        { type: 'ip', value: '10.0.0.5', allowed: true, rule: null },
      ],
      signatureValid: true,
      acceptable: true,
      problems: [],
    });
  });

  test('the same request given as DER bytes', async () => {
    const p = await previewCsr(new Uint8Array(makeCsr(P256, '/CN=admin', STANDARD_SAN, 'DER') as Buffer));
    assert.equal(p.keyType, 'P-256');
    assert.equal(p.signatureValid, true);
    assert.deepEqual(p.sans, [
      { type: 'dns', value: 'node-1.example' },
      { type: 'ip', value: '10.0.0.5' },
    ]);
  });

  test('PEM given as bytes, and the NEW CERTIFICATE REQUEST label', async () => {
    const pem = makeCsr(P256, '/CN=admin') as string;
    const asBytes = await previewCsr(new Uint8Array(Buffer.from(pem)));
    assert.equal(asBytes.acceptable, true);
    const legacy = pem.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST');
    assert.match(legacy, /BEGIN NEW CERTIFICATE REQUEST/);
    const p = await previewCsr(legacy);
    assert.equal(p.acceptable, true);
    assert.equal(p.requestedSubject, 'CN=admin');
  });

  test('a request without SANs is acceptable and lists none', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=doesnt-matter') as string);
    assert.deepEqual(p.sans, []);
    assert.equal(p.acceptable, true);
  });

  test('Ed25519, P-384 and RSA-2048 keys are accepted', async () => {
    const ed = await previewCsr(makeCsr(ED25519, '/CN=ed') as string);
    assert.deepEqual([ed.keyType, ed.keySize, ed.signatureValid, ed.acceptable], ['Ed25519', 256, true, true]);
    const p384 = await previewCsr(makeCsr(P384, '/CN=p384') as string);
    assert.deepEqual([p384.keyType, p384.keySize, p384.signatureValid, p384.acceptable], ['P-384', 384, true, true]);
    const rsa = await previewCsr(makeCsr(RSA2048, '/CN=rsa') as string);
    assert.deepEqual([rsa.keyType, rsa.keySize, rsa.signatureValid, rsa.acceptable], ['RSA', 2048, true, true]);
  });

  test('IPv6 names print in RFC 5952 form', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=v6', 'IP:2001:0db8:0:0:0:0:0:1,IP:fd00::1:0:0:2') as string);
    assert.deepEqual(p.sans, [
      { type: 'ip', value: '2001:db8::1' },
      { type: 'ip', value: 'fd00::1:0:0:2' },
    ]);
    assert.equal(p.acceptable, true);
  });

  test('the requested subject is shown in order, RFC 4514-escaped', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=a\\,b/O=Example Org/C=DE') as string);
    assert.equal(p.requestedSubject, 'CN=a\\,b, O=Example Org, C=DE');
  });
});

describe('previewCsr lists what the CA would refuse', () => {
  test('an RSA-1024 key', async () => {
    const p = await previewCsr(makeCsr(RSA1024, '/CN=weak') as string);
    assert.equal(p.keyType, 'RSA');
    assert.equal(p.keySize, 1024);
    assert.equal(p.signatureValid, true);
    assert.equal(p.acceptable, false);
    assert.deepEqual(p.problems, ['RSA key of 1024 bits is below the 2048-bit minimum']);
  });

  test('a P-521 key (unsupported curve)', async () => {
    const p = await previewCsr(makeCsr(P521, '/CN=p521') as string);
    assert.equal(p.keyType, 'P-521');
    assert.equal(p.acceptable, false);
    assert.deepEqual(p.problems, [
      'P-521 keys are not accepted; use P-256, P-384, Ed25519 or RSA of at least 2048 bits',
    ]);
  });

  test('a flipped bit in the signature', async () => {
    const p = await previewCsr(tamperSignature(makeCsr(P256, '/CN=admin', STANDARD_SAN) as string));
    assert.equal(p.signatureValid, false);
    assert.equal(p.acceptable, false);
    assert.deepEqual(p.problems, ['CSR signature does not verify']);
  });

  test('a flipped bit in an Ed25519 signature', async () => {
    const p = await previewCsr(tamperSignature(makeCsr(ED25519, '/CN=ed') as string));
    assert.equal(p.signatureValid, false);
    assert.deepEqual(p.problems, ['CSR signature does not verify']);
  });

  test('an email SAN', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:ok.example,email:ops@example.com') as string);
    assert.deepEqual(p.sans, [
      { type: 'dns', value: 'ok.example' },
      { type: 'email', value: 'ops@example.com' },
    ]);
    assert.deepEqual(p.problems, [
      'subject alternative name email:ops@example.com is not accepted; worker certificates carry only DNS names and IP addresses',
    ]);
  });

  test('a URI SAN', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'URI:spiffe://cluster/worker') as string);
    assert.deepEqual(p.sans, [{ type: 'uri', value: 'spiffe://cluster/worker' }]);
    assert.deepEqual(p.problems, [
      'subject alternative name URI:spiffe://cluster/worker is not accepted; worker certificates carry only DNS names and IP addresses',
    ]);
  });

  test('a registeredID SAN', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:ok.example,RID:1.2.3.4') as string);
    assert.deepEqual(p.sans, [{ type: 'dns', value: 'ok.example' }]);
    assert.deepEqual(p.problems, [
      'subject alternative name of type registeredID is not accepted; worker certificates carry only DNS names and IP addresses',
    ]);
  });

  test('an otherName SAN', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'otherName:1.3.6.1.4.1.311.20.2.3;UTF8:admin@example') as string);
    assert.deepEqual(p.problems, [
      'subject alternative name of type otherName is not accepted; worker certificates carry only DNS names and IP addresses',
    ]);
  });

  test('a syntactically invalid DNS name', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:bad_name.example') as string);
    assert.deepEqual(p.problems, ['subject alternative name DNS:bad_name.example is not a valid DNS name']);
  });

  test('a DNS label starting with a hyphen', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:-node.example') as string);
    assert.deepEqual(p.problems, ['subject alternative name DNS:-node.example is not a valid DNS name']);
  });

  test('a wildcard DNS name', async () => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:*.example.com') as string);
    assert.deepEqual(p.problems, [
      'subject alternative name DNS:*.example.com is a wildcard, which worker certificates may not carry',
    ]);
  });
});

describe('previewCsr refuses input that is not a CSR', () => {
  const notCsr = { name: 'CastellanError', code: 'INVALID_INPUT', message: /^not a PKCS#10 certificate request: / };

  test('random bytes', async () => {
    await assert.rejects(previewCsr(new Uint8Array(randomBytes(300))), notCsr);
  });

  test('a DER SEQUENCE that is not a CSR', async () => {
    await assert.rejects(previewCsr(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), notCsr);
  });

  test('text without a PEM block', async () => {
    await assert.rejects(previewCsr('hello, I am a worker'), {
      code: 'INVALID_INPUT',
      message: 'not a PKCS#10 certificate request: no -----BEGIN CERTIFICATE REQUEST----- block',
    });
  });

  test('a PEM certificate instead of a request', async () => {
    const certPem = join(dir, 'self.pem');
    openssl([
      'req',
      '-x509',
      ...P256,
      '-nodes',
      '-keyout',
      join(dir, 'self.key'),
      '-subj',
      '/CN=self',
      '-days',
      '1',
      '-out',
      certPem,
    ]);
    await assert.rejects(previewCsr(readFileSync(certPem, 'utf8')), {
      code: 'INVALID_INPUT',
      message: 'not a PKCS#10 certificate request: found a PEM CERTIFICATE block, expected CERTIFICATE REQUEST',
    });
  });

  test('a PEM block whose body is not base64', async () => {
    await assert.rejects(previewCsr('-----BEGIN CERTIFICATE REQUEST-----\n$$$$\n-----END CERTIFICATE REQUEST-----\n'), {
      code: 'INVALID_INPUT',
      message: /^not a PKCS#10 certificate request: .*not base64/,
    });
  });

  test('a truncated request', async () => {
    const der = makeCsr(P256, '/CN=admin', undefined, 'DER') as Buffer;
    await assert.rejects(previewCsr(new Uint8Array(der.subarray(0, der.length - 10))), notCsr);
  });

  test('empty input', async () => {
    await assert.rejects(previewCsr(new Uint8Array(0)), {
      code: 'INVALID_INPUT',
      message: 'not a PKCS#10 certificate request: the input is empty',
    });
  });

  test('input over the size limit', async () => {
    await assert.rejects(previewCsr(new Uint8Array(MAX_CSR_BYTES + 1)), {
      code: 'INVALID_INPUT',
      message: `not a PKCS#10 certificate request: the input of ${MAX_CSR_BYTES + 1} bytes exceeds the ${MAX_CSR_BYTES}-byte limit`,
    });
  });
});

describe('the key policy refuses keys that are no keys', () => {
  test('an RSA "key" with exponent 1: its signature, forged without any key, verifies — and the CSR is refused', async () => {
    const forged = rsaExponentCsr();
    // The attack is real: Node (OpenSSL) accepts the key and the keyless "signature".
    const key = createPublicKey(forged.spkiPem);
    assert.equal(key.asymmetricKeyDetails?.publicExponent, 1n);
    assert.equal(verify('sha256', forged.tbs, key, forged.signature), true);
    // openssl's own check of the request's signature passes too.
    const file = join(dir, 'e1.csr');
    writeFileSync(file, forged.pem);
    const check = spawnSync(OPENSSL, ['req', '-in', file, '-verify', '-noout'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout + check.stderr, /verify OK/);
    const p = await previewCsr(forged.pem);
    assert.equal(p.keyType, 'RSA');
    assert.equal(p.acceptable, false);
    // A broken key proves nothing, so its signature is not reported as valid.
    assert.equal(p.signatureValid, false);
    assert.deepEqual(p.problems, [
      'the RSA public exponent 1 is below 65537 (with exponent 1 any signature can be forged without a key)',
    ]);
  });

  test('RSA exponent 3, an even exponent and an even modulus are refused by name', async () => {
    assert.deepEqual((await previewCsr(rsaExponentCsr({ e: 3n }).pem)).problems, ['the RSA public exponent 3 is below 65537']);
    assert.deepEqual((await previewCsr(rsaExponentCsr({ e: 65538n }).pem)).problems, [
      'the RSA public exponent 65538 is even, so it is not an RSA key',
    ]);
    const evenN = (1n << 2047n) | (12345n << 10n);
    assert.deepEqual((await previewCsr(rsaExponentCsr({ e: 65537n, n: evenN }).pem)).problems, [
      'the RSA modulus is even, so it is not an RSA key',
    ]);
  });

  test('an EC point off the P-256 curve is refused', async () => {
    const p = await previewCsr(offCurveCsr());
    assert.equal(p.acceptable, false);
    assert.deepEqual(p.problems, ['the EC public key is not a point on the curve P-256']);
  });

  test('a compressed P-256 point is checked too: a real one passes, an x with no point is refused', async () => {
    const good = await previewCsr(compressedP256Csr());
    assert.deepEqual([good.keyType, good.signatureValid, good.problems], ['P-256', true, []]);
    // The first x for which x³ − 3x + b is not a square modulo the P-256 prime: no point has it.
    const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
    const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
    const pow = (x: bigint, e: bigint): bigint => {
      let r = 1n;
      for (x %= p; e > 0n; e >>= 1n, x = (x * x) % p) if (e & 1n) r = (r * x) % p;
      return r;
    };
    let x = 1n;
    while (pow((((x * x * x - 3n * x + b) % p) + p) % p, (p - 1n) / 2n) === 1n) x++;
    const bad = await previewCsr(compressedP256Csr(x));
    assert.deepEqual(bad.problems, ['the EC public key is not a point on the curve P-256']);
  });

  test('an EC key with explicit curve parameters is refused', async () => {
    const pem = makeCsr([...P256, '-pkeyopt', 'ec_param_enc:explicit'], '/CN=explicit') as string;
    const p = await previewCsr(pem);
    assert.equal(p.acceptable, false);
    assert.equal(p.problems[0], 'EC keys with explicit or missing curve parameters are not accepted; use the named curve P-256 or P-384');
  });

  test('real RSA-2048 (e = 65537), P-256 and P-384 keys pass the point and exponent checks', async () => {
    for (const newkey of [RSA2048, P256, P384]) {
      const p = await previewCsr(makeCsr(newkey, '/CN=ok') as string);
      assert.deepEqual(p.problems, [], newkey.join(' '));
    }
  });
});

describe('the SAN policy judges each name, with the rule that refused it', () => {
  const refused = async (san: string, nodeId: string | null, rule: RegExp) => {
    const p = await previewCsr(makeCsr(P256, '/CN=x', san) as string, { nodeId });
    assert.equal(p.acceptable, false, san);
    assert.equal(p.sanVerdicts.length, 1, san);
    assert.equal(p.sanVerdicts[0]!.allowed, false, san);
    assert.match(p.sanVerdicts[0]!.rule ?? '', rule, san);
    assert.match(p.problems[0] ?? '', /^subject alternative name .* is refused: /, san);
    return p;
  };

  test('localhost, loopback, unspecified and link-local names are refused by default', async () => {
    await refused('DNS:localhost', 'a', /localhost is every machine's own name \(workspace setting csr_allow_local_sans is off\)/);
    await refused('DNS:LocalHost', 'a', /localhost/);
    await refused('DNS:api.localhost', 'a', /localhost/);
    await refused('IP:127.0.0.1', 'a', /loopback address \(127\.0\.0\.0\/8\)/);
    await refused('IP:127.8.9.10', 'a', /loopback/);
    await refused('IP:::1', 'a', /loopback address \(::1\)/);
    await refused('IP:::ffff:127.0.0.1', 'a', /loopback/);
    await refused('IP:0.0.0.0', 'a', /unspecified address \(0\.0\.0\.0\/8\) names no host/);
    await refused('IP:::', 'a', /unspecified address \(::\)/);
    await refused('IP:169.254.10.1', 'a', /link-local address \(169\.254\.0\.0\/16\)/);
    await refused('IP:fe80::1', 'a', /link-local address \(fe80::\/10\)/);
    await refused('IP:224.0.0.1', 'a', /multicast/);
    const p = await refused('DNS:localhost', 'a', /localhost/);
    assert.equal(
      p.problems[0],
      "subject alternative name DNS:localhost is refused: localhost is every machine's own name (workspace setting csr_allow_local_sans is off)",
    );
  });

  test('another worker’s name is refused; the node’s own is allowed; without a node id it cannot be judged', async () => {
    await refused('DNS:worker-other', 'a', /names another worker \(this certificate is for worker-a; only its own name is allowed\)/);
    await refused('DNS:worker-ab.zlayer.internal', 'a', /another worker/);
    await refused('DNS:worker-a', null, /give the node id to judge it/);
    const own = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:worker-a,DNS:Worker-A.zlayer.internal') as string, { nodeId: 'a' });
    assert.deepEqual(own.problems, []);
    assert.deepEqual(own.sanVerdicts.map((v) => v.allowed), [true, true]);
  });

  test('the issue’s request: every refused name gets its verdict, the good one passes', async () => {
    const p = await previewCsr(
      makeCsr(P256, '/CN=x', 'DNS:api.zlayer.internal,DNS:localhost,IP:127.0.0.1,IP:0.0.0.0,DNS:worker-other') as string,
      { nodeId: 'node-1' },
    );
    assert.equal(p.acceptable, false);
    assert.deepEqual(
      p.sanVerdicts.map((v) => [v.value, v.allowed]),
      [
        ['api.zlayer.internal', true],
        ['localhost', false],
        ['127.0.0.1', false],
        ['0.0.0.0', false],
        ['worker-other', false],
      ],
    );
    assert.equal(p.problems.length, 4);
  });

  test('allowed DNS suffixes and IP ranges narrow what passes; csr_allow_local_sans lifts only the local rule', async () => {
    const sanPolicy = {
      ...DEFAULT_SAN_POLICY,
      csr_allowed_dns_suffixes: ['zlayer.internal'],
      csr_allowed_ip_ranges: ['10.0.0.0/8', 'fd00::/8'],
    };
    const csr = makeCsr(P256, '/CN=x', 'DNS:api.zlayer.internal,DNS:zlayer.internal,DNS:evil-zlayer.internal,IP:10.1.2.3,IP:192.168.1.1,IP:fd00::5') as string;
    const p = await previewCsr(csr, { sanPolicy, nodeId: 'a' });
    assert.deepEqual(
      p.sanVerdicts.map((v) => [v.value, v.allowed]),
      [
        ['api.zlayer.internal', true],
        ['zlayer.internal', true],
        ['evil-zlayer.internal', false],
        ['10.1.2.3', true],
        ['192.168.1.1', false],
        ['fd00::5', true],
      ],
    );
    assert.match(p.sanVerdicts[2]!.rule!, /not under an allowed DNS suffix \(workspace setting csr_allowed_dns_suffixes: zlayer\.internal\)/);
    assert.match(p.sanVerdicts[4]!.rule!, /not in an allowed IP range \(workspace setting csr_allowed_ip_ranges: 10\.0\.0\.0\/8, fd00::\/8\)/);

    const local = { ...DEFAULT_SAN_POLICY, csr_allow_local_sans: true };
    const l = await previewCsr(makeCsr(P256, '/CN=x', 'DNS:localhost,IP:127.0.0.1,IP:0.0.0.0') as string, { sanPolicy: local, nodeId: 'a' });
    assert.deepEqual(l.sanVerdicts.map((v) => v.allowed), [true, true, false]);
  });
});

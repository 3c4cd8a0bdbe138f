/**
 * The hand-written CRL against openssl (verification, text dump, revocation checking of real
 * leaves) and against @peculiar/x509's parser.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import {
  REVOCATION_REASON_CODES,
  buildCrl,
  crlPem,
  revocationReasonSchema,
  revocationReasons,
} from '../../electron/core/ca/crl.ts';
import type { BuildCrlParams, RevocationReason, RevokedEntry } from '../../electron/core/ca/crl.ts';
import { createWorkerCa, signWorkerCsr } from '../../electron/core/ca/worker-ca.ts';
import { decodeTime, pemEncode, readWhole, timeSize, writeTime } from '../../electron/core/ca/der.ts';
import type * as X509 from '@peculiar/x509';

type X509Module = typeof X509;

const OPENSSL = '/usr/bin/openssl';
const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const AT_NOW = String(NOW.getTime() / 1000 + 3600);
let dir = '';
let seq = 0;
let ca: { certDer: Uint8Array; keyPkcs8Der: Uint8Array };
let caPath = '';
let x509: X509Module;

function openssl(args: string[]): string {
  return execFileSync(OPENSSL, args, {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function opensslAll(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A copy typed as BufferSource (TypeScript's WebCrypto types want an ArrayBuffer-backed view). */
function ab(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++seq}-${name}`);
  writeFileSync(path, content);
  return path;
}

function params(revoked: RevokedEntry[], extra: Partial<BuildCrlParams> = {}): BuildCrlParams {
  return {
    caCertDer: ca.certDer,
    caKeyPkcs8Der: ca.keyPkcs8Der,
    crlNumber: 42n,
    thisUpdate: NOW,
    nextUpdate: new Date(NOW.getTime() + 7 * DAY),
    revoked,
    ...extra,
  };
}

async function crlFile(revoked: RevokedEntry[], extra: Partial<BuildCrlParams> = {}): Promise<string> {
  return file('crl.pem', crlPem(await buildCrl(params(revoked, extra))));
}

function crlText(path: string): string {
  return openssl(['crl', '-in', path, '-noout', '-text']);
}

/** The block openssl prints for one revoked serial (up to the next entry or the signature). */
function entryBlock(textOut: string, serialUpper: string): string {
  const start = textOut.indexOf(`Serial Number: ${serialUpper}\n`);
  assert.notEqual(start, -1, `serial ${serialUpper} is listed`);
  const rest = textOut.slice(start + 1);
  const end = rest.search(/\n\s+Serial Number: |\n\s+Signature Algorithm/);
  return rest.slice(0, end);
}

async function leaf(nodeId: string): Promise<{ path: string; serial: string }> {
  const out = join(dir, `req-${++seq}.pem`);
  execFileSync(
    OPENSSL,
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, `k-${seq}.pem`),
      '-subj',
      '/CN=admin',
      '-out',
      out,
    ],
    { stdio: 'ignore' },
  );
  const signed = await signWorkerCsr({
    caCertDer: ca.certDer,
    caKeyPkcs8Der: ca.keyPkcs8Der,
    csr: readFileSync(out, 'utf8'),
    nodeId,
    now: NOW,
  });
  return { path: file('leaf.pem', signed.leafPem), serial: signed.serial };
}

/**
 * @peculiar/x509 2.x refuses to load without a Reflect-metadata polyfill, and reflect-metadata is
 * not a dependency; this minimal one covers what its tsyringe container calls.
 */
async function loadPeculiar(): Promise<X509Module> {
  const meta = new WeakMap<object, Map<unknown, unknown>>();
  const R = Reflect as unknown as Record<string, unknown>;
  R.defineMetadata ??= (k: unknown, v: unknown, t: object) => {
    meta.set(t, (meta.get(t) ?? new Map<unknown, unknown>()).set(k, v));
  };
  R.getOwnMetadata ??= (k: unknown, t: object) => meta.get(t)?.get(k);
  R.getMetadata ??= (k: unknown, t: object) => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o) as object | null) {
      if (meta.get(o)?.has(k)) return meta.get(o)!.get(k);
    }
    return undefined;
  };
  const mod = await import('@peculiar/x509');
  mod.cryptoProvider.set(globalThis.crypto);
  return mod;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'castellan-crl-'));
  ca = await createWorkerCa({ now: NOW });
  caPath = file('ca.pem', pemEncode(ca.certDer, 'CERTIFICATE'));
  x509 = await loadPeculiar();
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('buildCrl output, as openssl reads it', () => {
  test('three revoked leaves: verifies, lists each serial and reason, carries CRL Number and AKI', async () => {
    const a = await leaf('a');
    const b = await leaf('b');
    const c = await leaf('c');
    const revokedAt = new Date(NOW.getTime() + 5 * 60_000);
    const path = await crlFile([
      { serialHex: a.serial, revokedAt, reason: 'keyCompromise' },
      { serialHex: b.serial, revokedAt, reason: 'superseded' },
      { serialHex: c.serial, revokedAt, reason: 'cessationOfOperation' },
    ]);
    assert.match(readFileSync(path, 'utf8'), /^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n$/);

    const verify = opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']);
    assert.equal(verify.status, 0, verify.out);
    assert.match(verify.out, /verify OK/);

    const out = crlText(path);
    assert.match(out, /Version 2 \(0x1\)/);
    assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(out, /Issuer: CN = ZLayer Worker CA, O = ZLayer\n/);
    assert.match(out, /Last Update: Mar {2}1 12:00:00 2026 GMT/);
    assert.match(out, /Next Update: Mar {2}8 12:00:00 2026 GMT/);
    assert.match(out, /X509v3 CRL Number: \n\s+42\n/);
    const caSki = /Subject Key Identifier: \n\s+(\S+)\n/.exec(openssl(['x509', '-in', caPath, '-noout', '-text']))?.[1];
    assert.equal(/X509v3 Authority Key Identifier: \n\s+(\S+)\n/.exec(out)?.[1], caSki);
    for (const [serial, reason] of [
      [a.serial, 'Key Compromise'],
      [b.serial, 'Superseded'],
      [c.serial, 'Cessation Of Operation'],
    ] as const) {
      const block = entryBlock(out, serial.toUpperCase());
      assert.match(block, /Revocation Date: Mar {2}1 12:05:00 2026 GMT/);
      assert.match(block, new RegExp(`X509v3 CRL Reason Code: \\n\\s+${reason}`));
    }
  });

  test('openssl verify -crl_check reports a revoked leaf as revoked and passes the others', async () => {
    const revokedLeaf = await leaf('gone');
    const goodLeaf = await leaf('fine');
    const path = await crlFile([{ serialHex: revokedLeaf.serial, revokedAt: NOW, reason: 'keyCompromise' }]);
    const bad = opensslAll([
      'verify',
      '-attime',
      AT_NOW,
      '-crl_check',
      '-CRLfile',
      path,
      '-CAfile',
      caPath,
      revokedLeaf.path,
    ]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /certificate revoked/);
    const good = opensslAll([
      'verify',
      '-attime',
      AT_NOW,
      '-crl_check',
      '-CRLfile',
      path,
      '-CAfile',
      caPath,
      goodLeaf.path,
    ]);
    assert.equal(good.status, 0, good.out);
    assert.match(good.out, /: OK\n/);
  });

  test('every RFC 5280 reason is encoded as openssl names it; unspecified carries no reasonCode', async () => {
    const names: Record<RevocationReason, string | null> = {
      unspecified: null,
      keyCompromise: 'Key Compromise',
      cACompromise: 'CA Compromise',
      affiliationChanged: 'Affiliation Changed',
      superseded: 'Superseded',
      cessationOfOperation: 'Cessation Of Operation',
      certificateHold: 'Certificate Hold',
      removeFromCRL: 'Remove From CRL',
      privilegeWithdrawn: 'Privilege Withdrawn',
      aACompromise: 'AA Compromise',
    };
    const entries = revocationReasons.map((reason, i) => ({
      serialHex: (0x1000 + i).toString(16),
      revokedAt: NOW,
      reason,
    }));
    const path = await crlFile(entries);
    assert.equal(opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']).status, 0);
    const out = crlText(path);
    revocationReasons.forEach((reason, i) => {
      const block = entryBlock(out, (0x1000 + i).toString(16).toUpperCase());
      const name = names[reason];
      if (name === null) assert.doesNotMatch(block, /CRL Reason Code|CRL entry extensions/);
      else assert.match(block, new RegExp(`CRL Reason Code: \\n\\s+${name}\\n?`));
    });
  });

  test('serials are normalised: case, leading zeros, the sign octet, 20 octets', async () => {
    const longest = '7f' + 'ab'.repeat(19);
    const path = await crlFile([
      { serialHex: '00ABCdef', revokedAt: NOW, reason: 'superseded' },
      { serialHex: '80', revokedAt: NOW, reason: 'superseded' },
      { serialHex: 'f', revokedAt: NOW, reason: 'superseded' },
      { serialHex: longest, revokedAt: NOW, reason: 'superseded' },
    ]);
    assert.equal(opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']).status, 0);
    const out = crlText(path);
    const serials = [...out.matchAll(/Serial Number: (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(serials, ['ABCDEF', '80', '0F', longest.toUpperCase()]);
  });

  test('an empty list verifies and has no revokedCertificates', async () => {
    const path = await crlFile([]);
    assert.equal(opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']).status, 0);
    assert.match(crlText(path), /No Revoked Certificates\./);
  });

  test('dates from 2050 on are GeneralizedTime, before 1950 too', async () => {
    const path = await crlFile(
      [{ serialHex: '01', revokedAt: new Date('1949-12-31T23:59:59Z'), reason: 'superseded' }],
      {
        thisUpdate: new Date('2049-12-31T23:59:59Z'),
        nextUpdate: new Date('2051-01-01T00:00:00Z'),
      },
    );
    assert.equal(opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']).status, 0);
    const out = crlText(path);
    assert.match(out, /Last Update: Dec 31 23:59:59 2049 GMT/);
    assert.match(out, /Next Update: Jan {2}1 00:00:00 2051 GMT/);
    assert.match(out, /Revocation Date: Dec 31 23:59:59 1949 GMT/);
    const der = await buildCrl(
      params([], { thisUpdate: new Date('2049-12-31T23:59:59Z'), nextUpdate: new Date('2051-01-01T00:00:00Z') }),
    );
    assert.ok(Buffer.from(der).includes(Buffer.from('\x17\x0d491231235959Z', 'latin1')), 'UTCTime for 2049');
    assert.ok(Buffer.from(der).includes(Buffer.from('\x18\x0f20510101000000Z', 'latin1')), 'GeneralizedTime for 2051');
  });

  test('a large CRL number', async () => {
    const path = await crlFile([], { crlNumber: 2n ** 100n });
    assert.equal(opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']).status, 0);
    assert.match(crlText(path), new RegExp(`X509v3 CRL Number: \\n\\s+${2n ** 100n}\\n`));
  });

  test('10,000 entries: openssl verifies it and lists every serial', async () => {
    const entries: RevokedEntry[] = [];
    for (let i = 0; i < 10_000; i++) {
      entries.push({
        serialHex: (0x4000_0000_0000_0000n + BigInt(i)).toString(16),
        revokedAt: new Date(NOW.getTime() - i * 1000),
        reason: revocationReasons[i % revocationReasons.length]!,
      });
    }
    const path = await crlFile(entries);
    const verify = opensslAll(['crl', '-in', path, '-CAfile', caPath, '-noout']);
    assert.equal(verify.status, 0, verify.out);
    const out = crlText(path);
    assert.equal(out.match(/Serial Number: /g)?.length, 10_000);
    assert.ok(out.includes('Serial Number: 400000000000270F\n'));
  });
});

describe('buildCrl output, as @peculiar/x509 reads it', () => {
  test('issuer, dates, entries, reasons, extensions and signature', async () => {
    const entries: RevokedEntry[] = [
      { serialHex: '0a1b2c', revokedAt: new Date(NOW.getTime() - 60_000), reason: 'keyCompromise' },
      { serialHex: 'ff00', revokedAt: NOW, reason: 'unspecified' },
      { serialHex: '123456789abcdef0', revokedAt: NOW, reason: 'aACompromise' },
    ];
    const der = await buildCrl(params(entries, { crlNumber: 7n }));
    const crl = new x509.X509Crl(ab(der));
    assert.equal(crl.issuer, 'CN=ZLayer Worker CA, O=ZLayer');
    assert.equal(crl.thisUpdate.getTime(), NOW.getTime());
    assert.equal(crl.nextUpdate?.getTime(), NOW.getTime() + 7 * DAY);
    assert.deepEqual(
      crl.entries.map((e) => [e.serialNumber, e.revocationDate.getTime(), e.reason]),
      [
        ['0a1b2c', NOW.getTime() - 60_000, REVOCATION_REASON_CODES.keyCompromise],
        ['ff00', NOW.getTime(), undefined],
        ['123456789abcdef0', NOW.getTime(), REVOCATION_REASON_CODES.aACompromise],
      ],
    );
    const crlNumber = crl.getExtension('2.5.29.20');
    assert.ok(crlNumber);
    assert.deepEqual(new Uint8Array(crlNumber.value), new Uint8Array([0x02, 0x01, 0x07]));
    const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
    const ski = new x509.X509Certificate(ab(ca.certDer)).getExtension(x509.SubjectKeyIdentifierExtension);
    assert.equal(aki?.keyId, ski?.keyId);
    assert.equal(await crl.verify({ publicKey: new x509.X509Certificate(ab(ca.certDer)) }), true);
    assert.equal(
      await crl.verify({ publicKey: new x509.X509Certificate(ab((await createWorkerCa()).certDer)) }),
      false,
    );
  });

  test('a 10,000-entry CRL parses with every entry', async () => {
    const entries: RevokedEntry[] = [];
    for (let i = 1; i <= 10_000; i++) entries.push({ serialHex: i.toString(16), revokedAt: NOW, reason: 'superseded' });
    // asn1js stops at 10,000 nodes by default; a CRL this size has ~70,000.
    const crl = new x509.X509Crl(ab(await buildCrl(params(entries))), { berOptions: { maxNodes: 1_000_000 } });
    assert.equal(crl.entries.length, 10_000);
    assert.equal(crl.entries[9_999]?.serialNumber, '2710');
  });
});

describe('buildCrl refuses', () => {
  const at = NOW;
  const cases: [string, () => BuildCrlParams, string][] = [
    [
      'a negative CRL number',
      () => params([], { crlNumber: -1n }),
      'crlNumber must be a non-negative integer of at most 20 octets',
    ],
    [
      'a CRL number over 20 octets',
      () => params([], { crlNumber: 2n ** 159n }),
      'crlNumber must be a non-negative integer of at most 20 octets',
    ],
    [
      'a CRL number that is not a bigint',
      () => params([], { crlNumber: 5 as unknown as bigint }),
      'crlNumber must be a non-negative integer of at most 20 octets',
    ],
    ['an invalid thisUpdate', () => params([], { thisUpdate: new Date('x') }), 'thisUpdate must be a valid date'],
    [
      'nextUpdate not after thisUpdate',
      () => params([], { nextUpdate: NOW }),
      'nextUpdate must be later than thisUpdate',
    ],
    ['a list that is not a list', () => params(null as unknown as RevokedEntry[]), 'revoked must be a list'],
    [
      'a serial that is not hex',
      () => params([{ serialHex: 'xyz', revokedAt: at, reason: 'superseded' }]),
      'revoked[0].serialHex "xyz" is not a hexadecimal serial number',
    ],
    [
      'an empty serial',
      () => params([{ serialHex: '', revokedAt: at, reason: 'superseded' }]),
      'revoked[0].serialHex "" is not a hexadecimal serial number',
    ],
    [
      'a serial with a 0x prefix',
      () => params([{ serialHex: '0x1f', revokedAt: at, reason: 'superseded' }]),
      'revoked[0].serialHex "0x1f" is not a hexadecimal serial number',
    ],
    [
      'a zero serial',
      () => params([{ serialHex: '000', revokedAt: at, reason: 'superseded' }]),
      'revoked[0].serialHex is zero; serial numbers are positive',
    ],
    [
      'a serial over 20 octets',
      () => params([{ serialHex: '1' + '0'.repeat(40), revokedAt: at, reason: 'superseded' }]),
      `revoked[0].serialHex 1${'0'.repeat(40)} is longer than 20 octets`,
    ],
    [
      'the same serial twice (spelled differently)',
      () =>
        params([
          { serialHex: 'abc', revokedAt: at, reason: 'superseded' },
          { serialHex: '0ABC', revokedAt: at, reason: 'keyCompromise' },
        ]),
      'serial abc appears more than once in the revocation list',
    ],
    [
      'an unknown reason',
      () => params([{ serialHex: '01', revokedAt: at, reason: 'bogus' as RevocationReason }]),
      'revoked[0].reason "bogus" is not an RFC 5280 revocation reason',
    ],
    [
      'a prototype property as reason',
      () => params([{ serialHex: '01', revokedAt: at, reason: 'toString' as RevocationReason }]),
      'revoked[0].reason "toString" is not an RFC 5280 revocation reason',
    ],
    [
      'an invalid revocation date',
      () => params([{ serialHex: '01', revokedAt: new Date(Number.NaN), reason: 'superseded' }]),
      'revoked[0].revokedAt must be a valid date',
    ],
  ];
  for (const [label, make, message] of cases) {
    test(label, async () => {
      await assert.rejects(buildCrl(make()), { name: 'CastellanError', code: 'INVALID_INPUT', message });
    });
  }

  test('a CA key that does not match the CA certificate', async () => {
    const other = await createWorkerCa({ now: NOW });
    await assert.rejects(buildCrl(params([], { caKeyPkcs8Der: other.keyPkcs8Der })), {
      code: 'INTEGRITY',
      message: 'the CA key does not match the CA certificate',
    });
  });
});

describe('revocation reasons', () => {
  test('the schema accepts the ten RFC 5280 names and nothing else', () => {
    assert.equal(revocationReasons.length, 10);
    for (const r of revocationReasons) assert.equal(revocationReasonSchema.parse(r), r);
    assert.equal(revocationReasonSchema.safeParse('KeyCompromise').success, false);
    assert.equal(revocationReasonSchema.safeParse('7').success, false);
  });

  test('codes follow RFC 5280 (7 unused)', () => {
    assert.deepEqual(Object.values(REVOCATION_REASON_CODES), [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);
  });
});

describe('the CRL writer’s time encoding', () => {
  test('agrees with Date for instants across years 1–9999', () => {
    let state = 12345;
    const next = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const from = Date.parse('0001-01-01T00:00:00Z');
    const to = Date.parse('9999-12-31T23:59:59Z');
    const samples = [
      from,
      to,
      Date.parse('2000-02-29T23:59:59.999Z'),
      Date.parse('1950-01-01T00:00:00Z'),
      Date.parse('2049-12-31T23:59:59Z'),
    ];
    for (let i = 0; i < 5000; i++) samples.push(Math.floor(from + next() * (to - from)));
    for (const ms of samples) {
      const out = new Uint8Array(timeSize(ms));
      assert.equal(writeTime(out, 0, ms), out.length);
      const decoded = decodeTime(out, readWhole(out));
      assert.equal(decoded.getTime(), Math.floor(ms / 1000) * 1000, new Date(ms).toISOString());
    }
  });

  test('Node reads the leaf times the same writer produced', async () => {
    const l = await leaf('time');
    const x = new X509Certificate(readFileSync(l.path));
    assert.equal(x.validFromDate.getTime(), NOW.getTime() - 60_000);
  });
});

/**
 * Item 8: `castellan serve` under load (autocannon, the npm load generator), each figure beside
 * its peer or limit measured in the same run. The server runs in its own process
 * (serve-child.ts) so the load generator does not share its event loop; on 2 cores each gets one.
 *
 * 10a OCSP: a worker CA with 100,000 revoked certificates (rows seeded with SQL in one
 *    transaction, as bench/lib/ledger.ts does for tokens) and one good leaf; the same CA, key and
 *    revocations exported to an OpenSSL `index.txt` and served by `openssl ocsp -index … -port`
 *    (the responder OpenSSL ships; one process, as it runs by default). Both get the same two
 *    requests (the good leaf, a revoked serial; no nonce) from 10 connections, interleaved run by
 *    run. Figures: median requests/s and p99 latency. Target: Castellan ≥ 5× OpenSSL's throughput.
 * 10b Introspection: p99 latency of POST /introspect from 50 concurrent connections on a
 *    1,000,000-token ledger (seeded like items 2–4), cycling through 500 real tokens (ed25519 and
 *    zlayer) minted on top, each answer checked to be active. Target: p99 < 5 ms.
 * 10c Revoke-to-visible: a second connection revokes a token (what another process does) and the
 *    very next /introspect request must answer {"active":false}; reported as how many of the
 *    trials the next request saw it, and the median time from commit to that answer.
 *
 * Also runnable alone: `node bench/items/serve.ts [--quick]`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { initCa, requireCaCert, withCaKey } from '../../electron/core/ca/ca-store.ts';
import { signCsr } from '../../electron/core/ca/certificate-inventory.ts';
import { pemEncode } from '../../electron/core/ca/der.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { createVerifierClient } from '../../electron/core/serve/clients.ts';
import { PASSPHRASE, prepareWorkspace, reopen, tempRoot } from '../lib/fixtures.ts';
import { seedLedger } from '../lib/ledger.ts';
import { formatTable, verdict, type Row } from '../lib/report.ts';
import { int, median, percentile, round, sig } from '../lib/stats.ts';

export const OCSP_TARGET_RATIO = 5;
export const INTROSPECT_P99_LIMIT_MS = 5;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OPENSSL = '/usr/bin/openssl';

export interface ServeSizes {
  revokedCerts: number;
  ledgerRows: number;
  ledgerRealMint: number;
  runs: number;
  seconds: number;
  revokeTrials: number;
}

export const SERVE_FULL: ServeSizes = { revokedCerts: 100_000, ledgerRows: 1_000_000, ledgerRealMint: 10_000, runs: 3, seconds: 8, revokeTrials: 50 };
export const SERVE_QUICK: ServeSizes = { revokedCerts: Number(process.env.BENCH_SERVE_CERTS ?? 100_000), ledgerRows: 100_000, ledgerRealMint: 2_000, runs: 2, seconds: 3, revokeTrials: 20 };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startChild(wsDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(HERE, 'serve-child.ts'), wsDir], {
    env: { ...process.env, BENCH_PASSPHRASE: PASSPHRASE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`serve-child exited ${code}`)));
  });
  return { child, url };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

type Load = { rps: number; p99: number; p50: number; non2xx: number; errors: number; mismatches: number; total: number };

async function load(opts: autocannon.Options): Promise<Load> {
  const r = await autocannon(opts);
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    p50: r.latency.p50,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    mismatches: r.mismatches ?? 0,
    total: r.requests.total,
  };
}

type Request = { method: 'POST'; path: string; headers: Record<string, string>; body: string };

/**
 * An open loop at an even pace: request i is sent at t0 + i / rate whatever the answers do, and
 * its latency runs from that scheduled moment (so a stall that delays the sending counts too).
 * Written by hand because autocannon's rate mode sends each connection's share in a burst at the
 * top of every second and corrects for coordinated omission with a 1 ms expected interval, which
 * measures its own bursts rather than the server (bench/README.md, item 10).
 */
async function paced(opts: { url: string; requests: Request[]; rate: number; seconds: number; verifyBody: (b: string) => boolean }): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const target = new URL(opts.url);
  const n = Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let mismatches = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  for (let i = 0; i < n; i++) {
    const at = t0 + (i * 1000) / opts.rate;
    const wait = at - performance.now();
    if (wait >= 1) await sleep(wait);
    const r = opts.requests[i % opts.requests.length]!;
    pending.push(
      new Promise<void>((resolve) => {
        const req = http.request(
          { host: target.hostname, port: target.port, path: r.path, method: r.method, agent, headers: { ...r.headers, 'content-length': Buffer.byteLength(r.body) } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => {
              latencies.push(performance.now() - at);
              if (res.statusCode !== 200) non2xx += 1;
              else if (!opts.verifyBody(body)) mismatches += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.end(r.body);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { rps: n / opts.seconds, p99: round(percentile(latencies, 99)), p50: round(percentile(latencies, 50)), non2xx, errors, mismatches, total: n };
}

/** YYMMDDHHMMSSZ, OpenSSL's index.txt time format. */
function indexTime(d: Date): string {
  return d.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');
}

function opensslCsrPem(dir: string): string {
  const key = path.join(dir, 'leaf.key');
  const req = path.join(dir, 'leaf.csr');
  execFileSync(OPENSSL, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', req, '-subj', '/CN=w', '-addext', 'subjectAltName=DNS:leaf.example'], { stdio: 'ignore' });
  return fs.readFileSync(req, 'utf8');
}

async function benchOcsp(root: string, sizes: ServeSizes, log: (l: string) => void): Promise<Row[]> {
  const dir = path.join(root, 'ocsp');
  fs.mkdirSync(dir);
  const prepared = await prepareWorkspace(dir);
  const ws = prepared.ws;
  let leafFile = '';
  let revokedSerial = '';
  const caFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'ca.key');
  const indexFile = path.join(dir, 'index.txt');
  try {
    await initCa(ws);
    const leaf = await signCsr(ws, { csr: opensslCsrPem(dir), nodeId: 'bench-leaf' });
    leafFile = path.join(dir, 'leaf.pem');
    fs.writeFileSync(leafFile, leaf.leafPem);
    fs.writeFileSync(caFile, pemEncode(requireCaCert(ws), 'CERTIFICATE'));
    await withCaKey(ws, (ca) => fs.writeFileSync(keyFile, pemEncode(ca.keyPkcs8Der, 'PRIVATE KEY'), { mode: 0o600 }));

    // 100,000 revoked certificates, as rows the inventory would hold, and the same in index.txt.
    const t0 = performance.now();
    const now = Date.now();
    const notAfter = new Date(now + 80 * 86_400_000);
    const lines: string[] = [];
    const der = new Uint8Array(leaf.leafDer);
    ws.transaction(() => {
      const insert = ws.db.prepare(
        `INSERT INTO certificates (serial, node_id, subject, sans, fingerprint_sha256, not_before, not_after, cert_der, issued_at, revoked_at, revocation_reason)
         VALUES (?, ?, ?, '[]', ?, ?, ?, ?, ?, ?, ?)`,
      );
      const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation', 'affiliationChanged'];
      for (let i = 0; i < sizes.revokedCerts; i++) {
        const serial = randomBytes(16);
        serial[0] = (serial[0]! & 0x7f) | 0x40;
        const hex = serial.toString('hex');
        const revokedAt = new Date(now - (i % 1000) * 60_000 - 1000);
        const reason = reasons[i % reasons.length]!;
        insert.run(hex, `n${i}`, `CN=worker-n${i}, O=ZLayer Worker`, 'x', new Date(now - 86_400_000).toISOString(), notAfter.toISOString(), der, new Date(now - 86_400_000).toISOString(), revokedAt.toISOString(), reason);
        lines.push(`R\t${indexTime(notAfter)}\t${indexTime(revokedAt)},${reason}\t${hex.toUpperCase()}\tunknown\t/CN=worker-n${i}/O=ZLayer Worker`);
        if (i === Math.floor(sizes.revokedCerts / 2)) revokedSerial = hex;
      }
      // Revocations written by SQL are ones the product did not make, and `castellan serve`
      // refuses a revoked set that differs from the one the last CRL was built from. The fixture
      // records the workspace as one whose last CRL predates that digest (a state the product
      // accepts: its next CRL records one), with the CRL record re-MAC'd while unlocked.
      ws.db.prepare("DELETE FROM meta WHERE key = 'crl_revoked_sha256'").run();
      ws.integrity.seal('crl');
    });
    lines.push(`V\t${indexTime(leaf.certificate.not_after ? new Date(leaf.certificate.not_after) : notAfter)}\t\t${leaf.certificate.serial.toUpperCase()}\tunknown\t/CN=worker-bench-leaf/O=ZLayer Worker`);
    fs.writeFileSync(indexFile, `${lines.join('\n')}\n`);
    fs.writeFileSync(`${indexFile}.attr`, 'unique_subject = no\n');
    log(`  10a: ${int(sizes.revokedCerts)} revoked certificates seeded in ${sig((performance.now() - t0) / 1000)} s`);
  } finally {
    ws.close();
  }

  const goodReq = path.join(dir, 'good.der');
  const revokedReq = path.join(dir, 'revoked.der');
  execFileSync(OPENSSL, ['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', goodReq], { stdio: 'ignore' });
  execFileSync(OPENSSL, ['ocsp', '-issuer', caFile, '-serial', `0x${revokedSerial}`, '-no_nonce', '-reqout', revokedReq], { stdio: 'ignore' });
  const requests = [goodReq, revokedReq].map((f) => ({
    method: 'POST' as const,
    path: '/ocsp',
    headers: { 'content-type': 'application/ocsp-request' },
    body: fs.readFileSync(f),
  }));

  const port = await freePort();
  // A fresh OpenSSL responder for every run: its single-threaded loop stalls for good on a
  // connection that closes without a complete request (as the load generator's do when a run
  // ends, or a readiness probe would), so one stalled run must not spoil the next.
  let peer: ChildProcess | null = null;
  const startPeer = async (): Promise<void> => {
    if (peer !== null) await stop(peer);
    const p = spawn(OPENSSL, ['ocsp', '-index', indexFile, '-port', String(port), '-rsigner', caFile, '-rkey', keyFile, '-CA', caFile, '-ignore_err'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    peer = p;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      p.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        if (err.includes('waiting for OCSP client connections')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`openssl ocsp exited ${code}: ${err}`)));
    });
  };
  const { child, url } = await startChild(prepared.dir);
  try {
    await startPeer();
    log(`  10a: castellan at ${url}, openssl ocsp on port ${port}`);
    // Both answer both requests correctly before anything is timed.
    for (const [name, base] of [['castellan', url], ['openssl', `http://127.0.0.1:${port}`]] as const) {
      for (const [req, want] of [[goodReq, ': good'], [revokedReq, ': revoked']] as const) {
        const text = execFileSync(OPENSSL, ['ocsp', '-reqin', req, '-url', `${base}/ocsp`, '-CAfile', caFile, '-issuer', caFile, '-resp_text', '-timeout', '10'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
        if (!/Cert Status: (good|revoked)/.test(text) || !text.includes(want === ': good' ? 'Cert Status: good' : 'Cert Status: revoked')) {
          throw new Error(`${name} answered ${want} wrongly`);
        }
      }
    }
    const castellan: Load[] = [];
    const openssl: Load[] = [];
    await load({ url, connections: 10, duration: 1, requests });
    for (let r = 0; r < sizes.runs; r++) {
      castellan.push(await load({ url, connections: 10, duration: sizes.seconds, requests }));
      await startPeer();
      openssl.push(await load({ url: `http://127.0.0.1:${port}`, connections: 10, duration: sizes.seconds, requests }));
      log(`  10a run ${r + 1}: castellan ${int(castellan.at(-1)!.rps)} req/s (p99 ${castellan.at(-1)!.p99} ms), openssl ${int(openssl.at(-1)!.rps)} req/s (p99 ${openssl.at(-1)!.p99} ms)`);
    }
    const c = median(castellan.map((l) => l.rps));
    const o = median(openssl.map((l) => l.rps));
    const ratio = o > 0 ? c / o : Number.POSITIVE_INFINITY;
    const note = (ls: Load[]) => `p99 ${sig(median(ls.map((l) => l.p99)))} ms, p50 ${sig(median(ls.map((l) => l.p50)))} ms, non-2xx ${ls.reduce((a, l) => a + l.non2xx, 0)}, errors ${ls.reduce((a, l) => a + l.errors, 0)}`;
    return [
      {
        item: '10a OCSP throughput',
        value: round(c, 0),
        unit: 'req/s',
        figure: `${int(c)} req/s`,
        comparedWith: `openssl ocsp -index (${int(o)} req/s)`,
        ratio,
        target: `≥ ${OCSP_TARGET_RATIO.toFixed(2)}×`,
        verdict: verdict(ratio >= OCSP_TARGET_RATIO),
        notes: `${int(sizes.revokedCerts)} revoked certs, 10 connections, ${sizes.runs} × ${sizes.seconds} s interleaved; castellan ${note(castellan)}; openssl ${note(openssl)}`,
        data: { castellan, openssl },
      },
      {
        item: '10a OCSP p99',
        value: median(castellan.map((l) => l.p99)),
        unit: 'ms',
        figure: `${sig(median(castellan.map((l) => l.p99)))} ms`,
        comparedWith: `openssl p99 ${sig(median(openssl.map((l) => l.p99)))} ms`,
        ratio: null,
        target: 'info',
        verdict: 'info',
      },
    ];
  } finally {
    await stop(child);
    if (peer !== null) await stop(peer);
  }
}

async function benchIntrospect(root: string, sizes: ServeSizes, log: (l: string) => void): Promise<Row[]> {
  const dir = path.join(root, 'introspect');
  fs.mkdirSync(dir);
  const prepared = await prepareWorkspace(dir);
  const ws = prepared.ws;
  let tokens: { token: string; jti: string }[] = [];
  let client = { id: '', secret: '' };
  try {
    const t0 = performance.now();
    const s = seedLedger(ws, sizes.ledgerRows - sizes.ledgerRealMint, sizes.ledgerRealMint, 8);
    log(`  10b: seeded ${int(sizes.ledgerRows)} rows in ${sig((performance.now() - t0) / 1000)} s`);
    const { deployment, service } = s.realService;
    const containers = Array.from({ length: 250 }, (_, i) => `bench-${i}`);
    tokens = [
      ...mintBatch(ws, { deployment, service, containers, profile: 'ed25519' }),
      ...mintBatch(ws, { deployment, service, containers, profile: 'zlayer' }),
    ].map((m) => ({ token: m.token, jti: m.record.jti! }));
    const created = createVerifierClient(ws, 'bench');
    client = { id: created.client.id, secret: created.secret };
  } finally {
    ws.close();
  }
  const auth = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
  const headers = { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' };
  const { child, url } = await startChild(prepared.dir);
  try {
    // Half the tokens are kept for 10c; the load cycles through the other half.
    const loaded = tokens.filter((_, i) => i % 2 === 0);
    const requests = loaded.map((t) => ({ method: 'POST' as const, path: '/introspect', headers, body: `token=${t.token}` }));
    const verifyBody = (body: string): boolean => body.startsWith('{"active":true');
    await load({ url, connections: 50, duration: 1, requests, verifyBody });
    const runs: Load[] = [];
    for (let r = 0; r < sizes.runs; r++) {
      runs.push(await load({ url, connections: 50, duration: sizes.seconds, requests, verifyBody }));
      log(`  10b run ${r + 1}: p99 ${runs.at(-1)!.p99} ms, p50 ${runs.at(-1)!.p50} ms, ${int(runs.at(-1)!.rps)} req/s, mismatches ${runs.at(-1)!.mismatches}`);
    }
    // A steady 500 requests/s, evenly paced (up to 50 connections): the latency a verifier sees
    // when the server is not saturated, beside the closed loop above.
    const steady = await paced({ url, requests, rate: 500, seconds: sizes.seconds * 2, verifyBody });
    log(`  10b steady 500 req/s: p99 ${steady.p99} ms, p50 ${steady.p50} ms`);
    const p99 = median(runs.map((l) => l.p99));
    const rows: Row[] = [
      {
        item: '10b introspection p99',
        value: p99,
        unit: 'ms',
        figure: `${sig(p99)} ms`,
        comparedWith: `${INTROSPECT_P99_LIMIT_MS} ms`,
        ratio: p99 / INTROSPECT_P99_LIMIT_MS,
        target: `< ${INTROSPECT_P99_LIMIT_MS} ms`,
        verdict: verdict(p99 < INTROSPECT_P99_LIMIT_MS && runs.every((l) => l.mismatches === 0 && l.non2xx === 0)),
        notes: `${int(sizes.ledgerRows)}-token ledger, 50 connections, ${loaded.length} tokens cycled, ${sizes.runs} × ${sizes.seconds} s; median ${int(median(runs.map((l) => l.rps)))} req/s, p50 ${sig(median(runs.map((l) => l.p50)))} ms; answers not active: ${runs.reduce((a, l) => a + l.mismatches, 0)}, non-2xx ${runs.reduce((a, l) => a + l.non2xx, 0)}`,
        data: { runs },
      },
      {
        item: '10b introspection p99 at 500 req/s',
        value: steady.p99,
        unit: 'ms',
        figure: `${sig(steady.p99)} ms`,
        comparedWith: `${INTROSPECT_P99_LIMIT_MS} ms`,
        ratio: steady.p99 / INTROSPECT_P99_LIMIT_MS,
        target: 'info',
        verdict: 'info',
        notes: `500 req/s evenly paced (open loop, latency from each request's scheduled start, up to 50 connections), ${sizes.seconds * 2} s; p50 ${sig(steady.p50)} ms; not active: ${steady.mismatches}, non-2xx ${steady.non2xx}, errors ${steady.errors}`,
        data: { steady },
      },
    ];

    // 10c: revoke through another connection, then the very next request.
    const other = reopen(prepared.dir);
    const spare = tokens.filter((_, i) => i % 2 === 1).slice(0, sizes.revokeTrials);
    const seen: boolean[] = [];
    const ms: number[] = [];
    try {
      for (const t of spare) {
        revokeToken(other, t.jti, 'leaked');
        const t0 = performance.now();
        const res = await fetch(`${url}/introspect`, { method: 'POST', headers, body: `token=${t.token}` });
        const body = await res.text();
        ms.push(performance.now() - t0);
        seen.push(body === '{"active":false}');
      }
    } finally {
      other.close();
    }
    const hits = seen.filter(Boolean).length;
    rows.push({
      item: '10c revoke-to-visible at /introspect',
      value: hits,
      unit: 'trials',
      figure: `next request: ${hits}/${seen.length}`,
      comparedWith: 'the next request',
      ratio: null,
      target: `${seen.length}/${seen.length}`,
      verdict: verdict(hits === seen.length),
      notes: `revoke committed by a second connection, then one request; commit → answer median ${sig(median(ms))} ms`,
      data: { ms },
    });
    return rows;
  } finally {
    await stop(child);
  }
}

export async function benchServe(root: string, sizes: ServeSizes, log: (l: string) => void): Promise<Row[]> {
  return [...(await benchOcsp(root, sizes, log)), ...(await benchIntrospect(root, sizes, log))];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const root = tempRoot();
  const log = (l: string): void => void process.stdout.write(`${l}\n`);
  try {
    const rows = await benchServe(root, quick ? SERVE_QUICK : SERVE_FULL, log);
    process.stdout.write(`\n${formatTable(rows)}\n\n`);
    for (const r of rows) if (r.notes) process.stdout.write(`  ${r.item}: ${r.notes}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

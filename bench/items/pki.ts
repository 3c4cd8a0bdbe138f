/**
 * Items 5 and 6, against Python's `cryptography` doing the same work in the same run
 * (bench/python/csr_peer.py, bench/python/crl_peer.py), interleaved run by run.
 *
 * 5. CSR verify + sign: Castellan's `signWorkerCsr` (parse the PEM, verify the CSR signature,
 *    check key and names, build the leaf with its extensions, sign ecdsa-with-SHA256 with the P-256
 *    CA key, DER + PEM + fingerprint) over the same CSRs as the peer. Target ≥ 2× the peer. The CA
 *    is opened once outside the clock (`openCa`), as the peer loads it once and as the workspace's
 *    `signCsr` keeps it opened while the vault stays unlocked (ca-store.ts `withOpenedCa`).
 * 6. CRL generation: `buildCrl` with 10,000 and 100,000 revoked serials; 100,000 < 250 ms, the
 *    100k/10k ratio (≈ 10 when linear) reported; the peer builds the same CRL.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCrl, type RevocationReason, type RevokedEntry } from '../../electron/core/ca/crl.ts';
import { readCertificate, createWorkerCa, openCa, signWorkerCsr } from '../../electron/core/ca/worker-ca.ts';
import { PYTHON } from '../lib/env.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, median, prng, round, sig } from '../lib/stats.ts';

export const CSR_TARGET_RATIO = 2;
export const CRL_100K_LIMIT_MS = 250;
/** "Close to linear": the 100k/10k time ratio may exceed 10 by at most this factor. */
export const CRL_GROWTH_MAX = 13;

const PY_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'python');

function python(script: string, args: string[]): string {
  return execFileSync(PYTHON, [path.join(PY_DIR, script), ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
}

interface Ca {
  certDer: Uint8Array;
  keyPkcs8Der: Uint8Array;
  certFile: string;
  keyFile: string;
}

async function writeCa(dir: string): Promise<Ca> {
  const ca = await createWorkerCa();
  const certFile = path.join(dir, 'ca.der');
  const keyFile = path.join(dir, 'ca-key.pkcs8.der');
  fs.writeFileSync(certFile, ca.certDer);
  fs.writeFileSync(keyFile, ca.keyPkcs8Der, { mode: 0o600 });
  return { ...ca, certFile, keyFile };
}

export async function benchCsr(
  dir: string,
  opts: { csrs: number; runs: number },
  log: (line: string) => void,
): Promise<Row[]> {
  const ca = await writeCa(dir);
  const csrFile = path.join(dir, 'csrs.json');
  python('csr_peer.py', ['make', String(opts.csrs), csrFile]);
  const csrs = JSON.parse(fs.readFileSync(csrFile, 'utf8')) as string[];
  const opened = openCa(ca.certDer, ca.keyPkcs8Der);

  const castellanPass = async (): Promise<{ perSec: number; leafDer: Uint8Array }> => {
    let leafDer: Uint8Array = new Uint8Array();
    const t0 = performance.now();
    for (let i = 0; i < csrs.length; i++) {
      const leaf = await signWorkerCsr({ ca: opened, csr: csrs[i]!, nodeId: `n${i}` });
      leafDer = leaf.leafDer;
    }
    return { perSec: csrs.length / ((performance.now() - t0) / 1000), leafDer };
  };

  await castellanPass(); // warm-up
  const ours: number[] = [];
  const peers: number[] = [];
  let peerExtensions: [string, boolean][] = [];
  let leafDer: Uint8Array = new Uint8Array();
  for (let r = 0; r < opts.runs; r++) {
    const c = await castellanPass();
    ours.push(c.perSec);
    leafDer = c.leafDer;
    const p = JSON.parse(python('csr_peer.py', ['run', ca.certFile, ca.keyFile, csrFile, '1'])) as {
      per_sec: number[];
      extensions: [string, boolean][];
    };
    peers.push(p.per_sec[0]!);
    peerExtensions = p.extensions;
    log(`  csr run ${r + 1}/${opts.runs}: castellan ${int(c.perSec)} /s, python ${int(p.per_sec[0]!)} /s`);
  }
  // Same work: both leaves carry the same extensions, critical flags included.
  const ourExtensions = [...readCertificate(leafDer).extensions.entries()].map(([oid, e]) => `${oid}:${e.critical}`).sort();
  const theirs = peerExtensions.map(([oid, critical]) => `${oid}:${critical}`).sort();
  if (ourExtensions.join() !== theirs.join()) {
    throw new Error(`the peer's leaf differs: castellan ${ourExtensions.join(' ')} vs python ${theirs.join(' ')}`);
  }
  const mine = median(ours);
  const peer = median(peers);
  const ratio = mine / peer;
  return [
    {
      item: '5 CSR verify + sign',
      value: round(mine, 0),
      unit: 'CSRs/s',
      figure: `${int(mine)} CSRs/s`,
      comparedWith: `python cryptography ${int(peer)} /s`,
      ratio,
      target: `≥ ${CSR_TARGET_RATIO.toFixed(2)}×`,
      verdict: verdict(ratio >= CSR_TARGET_RATIO),
      notes: `${csrs.length} P-256 CSRs (2 DNS + 1 IP) per pass, median of ${opts.runs} interleaved passes after warm-up; same 6 extensions; both sides load the CA once, outside the clock`,
      data: { castellanPerSec: ours.map((v) => round(v, 0)), pythonPerSec: peers.map((v) => round(v, 0)), csrs: csrs.length },
    },
  ];
}

const REASONS: RevocationReason[] = ['keyCompromise', 'superseded', 'cessationOfOperation', 'affiliationChanged', 'unspecified'];

/** Random 16-byte serials as the worker CA issues them (top bit clear, next bit set). */
function revokedEntries(n: number, now: number): RevokedEntry[] {
  const rand = prng(n);
  const out: RevokedEntry[] = [];
  for (let i = 0; i < n; i++) {
    let hex = (0x40 + Math.floor(rand() * 0x40)).toString(16);
    for (let b = 1; b < 16; b++) hex += Math.floor(rand() * 256).toString(16).padStart(2, '0');
    out.push({ serialHex: hex, revokedAt: new Date(now - Math.floor(rand() * 90 * 86_400) * 1000), reason: REASONS[i % REASONS.length]! });
  }
  return out;
}

export async function benchCrl(
  dir: string,
  opts: { sizes: [number, number]; runs: number; peerRuns: [number, number] },
  log: (line: string) => void,
): Promise<Row[]> {
  const ca = await writeCa(dir);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const params = {
    caCertDer: ca.certDer,
    caKeyPkcs8Der: ca.keyPkcs8Der,
    thisUpdate: new Date(now),
    nextUpdate: new Date(now + 7 * 86_400_000),
  };
  let crlNumber = 1n;
  const result = new Map<number, { ours: number[]; peer: number[]; bytes: number; peerBytes: number }>();
  for (const [s, n] of opts.sizes.entries()) {
    const revoked = revokedEntries(n, now);
    const entriesFile = path.join(dir, `crl-${n}.json`);
    fs.writeFileSync(entriesFile, JSON.stringify(revoked.map((e) => [e.serialHex, e.revokedAt.getTime(), e.reason])));
    const ours: number[] = [];
    const peer: number[] = [];
    let bytes = 0;
    let peerBytes = 0;
    await buildCrl({ ...params, crlNumber: crlNumber++, revoked }); // warm-up at this size
    for (let r = 0; r < opts.runs; r++) {
      const t0 = performance.now();
      bytes = (await buildCrl({ ...params, crlNumber: crlNumber++, revoked })).length;
      ours.push(performance.now() - t0);
      if (r < opts.peerRuns[s]!) {
        const p = JSON.parse(
          python('crl_peer.py', [ca.certFile, ca.keyFile, entriesFile, '1', String(now), String(params.nextUpdate.getTime())]),
        ) as { ms: number[]; bytes: number };
        peer.push(p.ms[0]!);
        peerBytes = p.bytes;
      }
      log(`  crl ${int(n)} run ${r + 1}/${opts.runs}: castellan ${sig(ours[r]!)} ms${peer[r] === undefined ? '' : `, python ${sig(peer[r]!)} ms`}`);
    }
    // Same content: the DER sizes agree to a few bytes (signature length varies by one or two).
    if (Math.abs(bytes - peerBytes) > 4) throw new Error(`CRL sizes differ: castellan ${bytes} B, python ${peerBytes} B`);
    result.set(n, { ours, peer, bytes, peerBytes });
  }
  const [small, large] = opts.sizes;
  const a = result.get(small)!;
  const b = result.get(large)!;
  const smallMs = median(a.ours);
  const largeMs = median(b.ours);
  const growth = largeMs / smallMs;
  const sizeRatio = large / small;
  const rows: Row[] = [];
  for (const [n, r] of [
    [small, a],
    [large, b],
  ] as const) {
    const ms = median(r.ours);
    const peerMs = median(r.peer);
    const isLarge = n === large;
    rows.push({
      item: `6 CRL ${int(n)} revoked`,
      value: round(ms),
      unit: 'ms',
      figure: `${sig(ms)} ms`,
      comparedWith: isLarge
        ? `limit ${CRL_100K_LIMIT_MS} ms; python ${sig(peerMs)} ms`
        : `python cryptography ${sig(peerMs)} ms`,
      ratio: isLarge ? ms / CRL_100K_LIMIT_MS : peerMs / ms,
      target: isLarge ? `< ${CRL_100K_LIMIT_MS} ms` : 'speed-up vs python (info)',
      verdict: isLarge ? verdict(ms < CRL_100K_LIMIT_MS) : 'info',
      notes: `median of ${r.ours.length} after 1 warm-up (python ${r.peer.length}); ${int(r.bytes)} B DER${isLarge ? `; ${sig(peerMs / ms)}× faster than python` : ''}`,
      data: { castellanMs: r.ours.map((v) => round(v)), pythonMs: r.peer.map((v) => round(v)), bytes: r.bytes, pythonBytes: r.peerBytes },
    });
  }
  rows.push({
    item: `6 CRL growth ${int(large)}/${int(small)}`,
    value: round(growth, 2),
    unit: '×',
    figure: `${growth.toFixed(2)}× time for ${sizeRatio}× entries`,
    comparedWith: `linear = ${sizeRatio}×`,
    ratio: null,
    target: `≤ ${CRL_GROWTH_MAX}× (near linear)`,
    verdict: verdict(growth <= CRL_GROWTH_MAX * (sizeRatio / 10)),
    notes: `python's growth: ${(median(b.peer) / median(a.peer)).toFixed(2)}×`,
    data: { growth, pythonGrowth: median(b.peer) / median(a.peer) },
  });
  return rows;
}

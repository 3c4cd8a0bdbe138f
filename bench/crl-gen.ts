/**
 * CRL generation timing: `node bench/crl-gen.ts` prints ms for 10k and 100k revoked entries
 * with Castellan's hand-written DER path (electron/core/ca/crl.ts).
 * `node bench/crl-gen.ts --library` also times @peculiar/x509's X509CrlGenerator at 10k
 * (the reason the hand-written path exists; 100k is not attempted, it runs for minutes).
 */
import { createWorkerCa } from '../electron/core/ca/worker-ca.ts';
import { buildCrl, revocationReasons } from '../electron/core/ca/crl.ts';
import type { RevokedEntry } from '../electron/core/ca/crl.ts';

function entries(n: number, at: Date): RevokedEntry[] {
  const out: RevokedEntry[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      serialHex: (0x4000_0000_0000_0000_0000_0000_0000_0000n + BigInt(i) * 7919n).toString(16),
      revokedAt: new Date(at.getTime() - i * 1000),
      reason: revocationReasons[i % revocationReasons.length]!,
    });
  }
  return out;
}

const ca = await createWorkerCa();
const now = new Date();
const params = {
  caCertDer: ca.certDer,
  caKeyPkcs8Der: ca.keyPkcs8Der,
  crlNumber: 1n,
  thisUpdate: now,
  nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
};

await buildCrl({ ...params, revoked: entries(1000, now) }); // warm-up

// Wall time suffers when other processes share the two cores, so CPU time (user + system of
// this process, which includes the GC threads) is printed beside it.
for (const n of [10_000, 100_000]) {
  const revoked = entries(n, now);
  const wall: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    bytes = (await buildCrl({ ...params, revoked })).length;
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  console.log(
    `castellan buildCrl ${String(n).padStart(6)} entries: wall ${wall[2]!.toFixed(1)} ms median ` +
      `(min ${wall[0]!.toFixed(1)}), cpu ${cpu[2]!.toFixed(1)} ms median, ${bytes} bytes`,
  );
}

if (process.argv.includes('--library')) {
  // @peculiar/x509 2.x needs a Reflect-metadata polyfill (reflect-metadata is not installed);
  // this minimal one covers what tsyringe calls.
  const meta = new WeakMap<object, Map<unknown, unknown>>();
  const R = Reflect as unknown as Record<string, unknown>;
  R.defineMetadata ??= (k: unknown, v: unknown, t: object) => {
    const m = meta.get(t) ?? new Map<unknown, unknown>();
    meta.set(t, m.set(k, v));
  };
  R.getOwnMetadata ??= (k: unknown, t: object) => meta.get(t)?.get(k);
  R.getMetadata ??= (k: unknown, t: object) => {
    for (let o: object | null = t; o; o = Object.getPrototypeOf(o) as object | null) {
      if (meta.get(o)?.has(k)) return meta.get(o)!.get(k);
    }
    return undefined;
  };
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(globalThis.crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const key = await crypto.subtle.importKey('pkcs8', new Uint8Array(ca.keyPkcs8Der), alg, false, ['sign']);
  const n = 10_000;
  const list = entries(n, now).map((e) => ({ serialNumber: e.serialHex, revocationDate: e.revokedAt, reason: 1 }));
  const t0 = performance.now();
  await x509.X509CrlGenerator.create({
    issuer: 'CN=ZLayer Worker CA, O=ZLayer',
    thisUpdate: params.thisUpdate,
    nextUpdate: params.nextUpdate,
    signingAlgorithm: alg,
    signingKey: key,
    entries: list,
  });
  console.log(`@peculiar/x509 X509CrlGenerator ${n} entries: ${(performance.now() - t0).toFixed(0)} ms`);
}

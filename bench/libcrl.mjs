import './shim.mjs'; import * as x509 from '@peculiar/x509';
x509.cryptoProvider.set(globalThis.crypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
for (const n of [10000, 100000]) {
  const entries = [];
  for (let i = 0; i < n; i++) entries.push({ serialNumber: (0x4000000000000000n + BigInt(i)).toString(16), revocationDate: new Date(), reason: x509.X509CrlReason.keyCompromise });
  const t = performance.now();
  const crl = await x509.X509CrlGenerator.create({ issuer: 'CN=ZLayer Worker CA, O=ZLayer', thisUpdate: new Date(), nextUpdate: new Date(Date.now()+86400e3), signingAlgorithm: alg, signingKey: keys.privateKey, entries });
  console.log(n, (performance.now() - t).toFixed(0), 'ms', crl.rawData.byteLength);
}

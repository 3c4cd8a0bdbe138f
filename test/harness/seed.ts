import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { initCa } from '../../electron/core/ca/ca-store.ts';
import { revokeCertificate, signCsr } from '../../electron/core/ca/certificate-inventory.ts';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { mintBatch, mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { REPO_ROOT } from './renderer-server.ts';
import { tempDir } from './services.ts';

/** The ZLayer sample specs shipped with the repository (the README's walkthrough uses them too). */
export const SAMPLES_DIR = path.join(REPO_ROOT, 'samples');
export const TEST_PASSPHRASE = 'correct horse battery staple';

/**
 * A workspace that looks lived-in: the sample deployments, a vault, zlayer and ed25519 keys,
 * a few dozen tokens with one revoked. Everything goes through the real core functions.
 */
export async function seedDemoWorkspace(ws: Workspace): Promise<{ token: string }> {
  if (!ws.vault.status().initialized) ws.vault.initialize(TEST_PASSPHRASE);
  importDeployments(ws, readSpecFiles(SAMPLES_DIR));
  await createKey(ws, 'zlayer');
  await createKey(ws, 'ed25519');
  mintBatch(ws, { deployment: 'storefront', service: 'worker', profile: 'zlayer' });
  mintBatch(ws, { deployment: 'storefront', service: 'web', containers: ['web-0', 'web-1', 'web-2'], profile: 'ed25519' });
  const leaked = mintToken(ws, { deployment: 'ci-runners', service: 'runner', container: 'runner-0', profile: 'zlayer' });
  if (leaked.record.jti) revokeToken(ws, leaked.record.jti, 'leaked');
  const fresh = mintToken(ws, { deployment: 'storefront', service: 'cache', container: 'cache-0', profile: 'zlayer' });
  return { token: fresh.token };
}

/** A CSR the way a worker makes one: `openssl req` with a P-256 key. */
export function opensslCsr(cn: string, dns: string): string {
  const dir = tempDir('castellan-csr-');
  execFileSync('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'req.pem'),
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${dns}`,
  ], { stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, 'req.pem'), 'utf8');
}

/** The worker CA with three workers, one of them revoked. */
export async function seedDemoCa(ws: Workspace): Promise<void> {
  await initCa(ws);
  const serials: string[] = [];
  for (const node of ['node-1', 'node-2', 'node-3']) {
    const signed = await signCsr(ws, { csr: opensslCsr('admin', `${node}.example`), nodeId: node });
    serials.push(signed.certificate.serial);
  }
  await revokeCertificate(ws, { serial: serials[2]!, reason: 'keyCompromise' }, { validityDays: 7 });
}

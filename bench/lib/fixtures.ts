/**
 * Workspaces for the benchmarks: a temp folder, the real default KDF (scrypt at full cost, once
 * per workspace: the weak KDF is refused outside `node --test`), ten deployments of five services
 * each (50 services, written as ZLayer specs and imported through the product), and one active
 * key per profile the benchmarks mint with.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

export const PASSPHRASE = 'castellan bench passphrase';
export const ACTOR = { user: 'bench', kind: 'cli' } as const;

/** Deployment names and their five services; TTLs and scopes vary the way real policies do. */
const DEPLOYMENTS: readonly [string, readonly string[]][] = [
  ['storefront', ['web', 'worker', 'cache', 'search', 'checkout']],
  ['payments', ['api', 'ledger', 'reconciler', 'fraud', 'webhooks']],
  ['identity', ['auth', 'sessions', 'directory', 'mfa', 'audit-sink']],
  ['ci-runners', ['runner', 'janitor', 'artifact-store', 'scheduler', 'cache-warmer']],
  ['analytics', ['ingest', 'etl', 'warehouse-loader', 'dashboards', 'exporter']],
  ['messaging', ['broker', 'notifier', 'mailer', 'sms-gateway', 'push']],
  ['media', ['transcoder', 'thumbnailer', 'cdn-purger', 'uploader', 'catalog']],
  ['platform', ['ingress', 'dns-sync', 'cert-renewer', 'metrics', 'log-shipper']],
  ['inventory', ['stock', 'pricing', 'supplier-sync', 'forecaster', 'importer']],
  ['support', ['tickets', 'chat', 'knowledge-base', 'escalations', 'survey']],
];

const TTLS = ['3600', '86400', '604800', '2592000', '7776000'];
const SCOPES = [
  null, // the default container policy
  'deployment:{d}:read',
  'deployment:{d}:write, secret:{d}:read',
  'job:build:execute, image:write',
  'container:{d}:read, deployment:{d}:read',
];

export interface ServiceName {
  deployment: string;
  service: string;
}

export const SERVICES: readonly ServiceName[] = DEPLOYMENTS.flatMap(([deployment, services]) =>
  services.map((service) => ({ deployment, service })),
);

function specYaml(deployment: string, services: readonly string[], d: number): string {
  const lines = [`# Synthetic deployment for the benchmarks`, 'version: v1', `deployment: ${deployment}`, 'services:'];
  services.forEach((service, s) => {
    const i = d * 5 + s;
    lines.push(`  ${service}:`, '    rtype: service', '    image:', `      name: ghcr.io/example/${deployment}-${service}:1.${i}.0`);
    lines.push('    scale:', '    ' + '  mode: fixed', `      replicas: ${1 + (i % 6)}`);
    const labels: string[] = [`      zlayer.team: ${deployment}`];
    if (i % 7 !== 0) labels.push(`      zlayer.io/api-token-ttl: "${TTLS[i % TTLS.length]}"`);
    const scope = SCOPES[i % SCOPES.length];
    if (scope) labels.push(`      zlayer.io/api-scopes: "${scope.replaceAll('{d}', deployment)}"`);
    lines.push('    labels:', ...labels);
  });
  return `${lines.join('\n')}\n`;
}

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-bench-'));
}

/** Writes the ten specs into `dir/specs` and returns that folder. */
export function writeSpecs(dir: string): string {
  const specs = path.join(dir, 'specs');
  fs.mkdirSync(specs, { recursive: true });
  DEPLOYMENTS.forEach(([deployment, services], d) => {
    fs.writeFileSync(path.join(specs, `${deployment}.yaml`), specYaml(deployment, services, d));
  });
  return specs;
}

export interface PreparedWorkspace {
  ws: Workspace;
  dir: string;
  /** Milliseconds spent in scrypt (vault.initialize) and in the rest of the setup. */
  kdfMs: number;
  setupMs: number;
}

/**
 * A new workspace in `dir`: vault initialized (default KDF), 50 services imported, zlayer + ed25519
 * keys. With `database` (a postgres:// URL) the workspace lives in that PostgreSQL database.
 */
export async function prepareWorkspace(dir: string, database?: string): Promise<PreparedWorkspace> {
  const t0 = performance.now();
  const ws = Workspace.open(path.join(dir, 'workspace'), database === undefined ? { actor: ACTOR } : { actor: ACTOR, database });
  const k0 = performance.now();
  ws.vault.initialize(PASSPHRASE);
  const kdfMs = performance.now() - k0;
  importDeployments(ws, readSpecFiles(writeSpecs(dir)));
  await createKey(ws, 'zlayer');
  await createKey(ws, 'ed25519');
  return { ws, dir: ws.dir, kdfMs, setupMs: performance.now() - t0 - kdfMs };
}

/** Opens an existing bench workspace without unlocking it (listing and revoking need no key). */
export function reopen(dir: string, database?: string): Workspace {
  return Workspace.open(dir, database === undefined ? { actor: ACTOR } : { actor: ACTOR, database });
}

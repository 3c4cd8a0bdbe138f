/**
 * Deployments as Castellan keeps them: the source YAML exactly as imported (so an export
 * gives back the same document with only edited labels changed) and a row per service with
 * its labels, from which the label policy is resolved.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CastellanError } from '../../../shared/errors.ts';
import { findingsFor, resolveContainerAccess, type ContainerAccess, type Finding } from '../../../shared/policy/index.ts';
import { parseDeploymentSpecs, setServiceLabels, type ParsedSpec } from './deployment-spec.ts';
import type { Workspace } from '../workspace/workspace.ts';

export interface SpecFile {
  file: string;
  text: string;
}

export interface ServiceRecord {
  deployment: string;
  name: string;
  rtype: string | null;
  replicas: number | null;
  labels: Record<string, string>;
}

export interface DeploymentRecord {
  name: string;
  source_file: string | null;
  imported_at: string;
  updated_at: string;
  services: ServiceRecord[];
}

export interface ServicePolicy {
  deployment: string;
  service: string;
  labels: Record<string, string>;
  access: ContainerAccess;
  findings: Finding[];
}

const SPEC_EXTENSIONS = new Set(['.yaml', '.yml']);
/** A spec larger than this is not a deployment spec; refuse it before parsing. */
const MAX_SPEC_BYTES = 4 * 1024 * 1024;

/** One file, or every .yaml/.yml file of a folder (not recursive), in name order. */
export function readSpecFiles(target: string): SpecFile[] {
  // Absolute, so the recorded source file still means something when read from elsewhere.
  const abs = path.resolve(target);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new CastellanError('NOT_FOUND', `${target}: no such file or folder`);
  }
  const files = stat.isDirectory()
    ? fs
        .readdirSync(abs)
        .filter((name) => SPEC_EXTENSIONS.has(path.extname(name).toLowerCase()))
        .sort()
        .map((name) => path.join(abs, name))
        // A sub-folder called "x.yaml" is not a spec; the folder import is not recursive.
        .filter((file) => statOrNull(file)?.isFile() === true)
    : [abs];
  if (files.length === 0) throw new CastellanError('NOT_FOUND', `${target}: no .yaml or .yml files in this folder`);
  return files.map((file) => {
    const size = fs.statSync(file).size;
    if (size > MAX_SPEC_BYTES) {
      throw new CastellanError('INVALID_INPUT', `${file}: ${size} bytes is too large for a deployment spec`);
    }
    try {
      return { file, text: fs.readFileSync(file, 'utf8') };
    } catch (err) {
      throw new CastellanError('INVALID_INPUT', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'read error'})`);
    }
  });
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

export interface ImportOptions {
  /** Replace deployments that already exist instead of refusing the batch. */
  replace?: boolean;
  onProgress?: (done: number, total: number, name: string) => void;
}

/**
 * All or nothing: every file is parsed and checked first, then one transaction writes every
 * deployment, its services and one audit entry each.
 */
export function importDeployments(ws: Workspace, files: SpecFile[], options: ImportOptions = {}): string[] {
  if (files.length === 0) throw new CastellanError('INVALID_INPUT', 'no deployment specs to import');
  // Same order as `files`: each spec is paired with the file it came from.
  const specs = parseDeploymentSpecs(files).map((spec, i) => ({ ...spec, file: files[i]!.file }));
  const now = new Date().toISOString();
  return ws.transaction(() => {
    const exists = ws.db.prepare('SELECT source_file FROM deployments WHERE name = ?');
    for (const spec of specs) {
      const existing = exists.get(spec.deployment) as { source_file: string | null } | undefined;
      if (existing && !options.replace) {
        throw new CastellanError(
          'CONFLICT',
          `deployment "${spec.deployment}" (${spec.file}) already exists in this workspace` +
            `${existing.source_file ? `, imported from ${existing.source_file}` : ''}; nothing was imported`,
        );
      }
    }
    const upsert = ws.db.prepare(
      `INSERT INTO deployments(name, source_file, source_yaml, imported_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET source_file = excluded.source_file, source_yaml = excluded.source_yaml,
         updated_at = excluded.updated_at`,
    );
    const dropServices = ws.db.prepare('DELETE FROM services WHERE deployment = ?');
    const insertService = ws.db.prepare(
      'INSERT INTO services(deployment, name, rtype, replicas, labels) VALUES (?, ?, ?, ?, ?)',
    );
    specs.forEach((spec, i) => {
      const replaced = Boolean(exists.get(spec.deployment));
      upsert.run(spec.deployment, spec.file, spec.source, now, now);
      dropServices.run(spec.deployment);
      for (const svc of spec.services) {
        insertService.run(spec.deployment, svc.name, svc.rtype, svc.replicas, JSON.stringify(svc.labels));
      }
      ws.audit.append({
        action: replaced ? 'deployment.replace' : 'deployment.import',
        target: `deployment:${spec.deployment}`,
        details: { file: spec.file, services: spec.services.map((s) => s.name) },
      });
      options.onProgress?.(i + 1, specs.length, spec.deployment);
    });
    return specs.map((s) => s.deployment);
  });
}

interface ServiceRow {
  deployment: string;
  name: string;
  rtype: string | null;
  replicas: number | null;
  labels: string;
}

function serviceFromRow(row: ServiceRow): ServiceRecord {
  return {
    deployment: row.deployment,
    name: row.name,
    rtype: row.rtype,
    replicas: row.replicas,
    labels: JSON.parse(row.labels) as Record<string, string>,
  };
}

export function listDeployments(ws: Workspace): DeploymentRecord[] {
  const deployments = ws.db
    .prepare('SELECT name, source_file, imported_at, updated_at FROM deployments ORDER BY name')
    .all() as unknown as Omit<DeploymentRecord, 'services'>[];
  const services = ws.db
    .prepare('SELECT deployment, name, rtype, replicas, labels FROM services ORDER BY deployment, name')
    .all() as unknown as ServiceRow[];
  const byDeployment = new Map<string, ServiceRecord[]>();
  for (const row of services) {
    const list = byDeployment.get(row.deployment) ?? [];
    list.push(serviceFromRow(row));
    byDeployment.set(row.deployment, list);
  }
  return deployments.map((d) => ({ ...d, services: byDeployment.get(d.name) ?? [] }));
}

export function getService(ws: Workspace, deployment: string, service: string): ServiceRecord {
  const row = ws.db
    .prepare('SELECT deployment, name, rtype, replicas, labels FROM services WHERE deployment = ? AND name = ?')
    .get(deployment, service) as ServiceRow | undefined;
  if (!row) {
    const known = ws.db.prepare('SELECT 1 FROM deployments WHERE name = ?').get(deployment);
    throw new CastellanError(
      'NOT_FOUND',
      known ? `deployment "${deployment}" has no service "${service}"` : `no deployment "${deployment}" in this workspace`,
    );
  }
  return serviceFromRow(row);
}

export function policyOf(service: ServiceRecord): ServicePolicy {
  const access = resolveContainerAccess(service.deployment, service.labels);
  return {
    deployment: service.deployment,
    service: service.name,
    labels: service.labels,
    access,
    findings: findingsFor(service.deployment, service.name, access),
  };
}

export function servicePolicy(ws: Workspace, deployment: string, service: string): ServicePolicy {
  return policyOf(getService(ws, deployment, service));
}

export function allPolicies(ws: Workspace): ServicePolicy[] {
  return listDeployments(ws).flatMap((d) => d.services.map(policyOf));
}

/**
 * Replace a service's labels: the stored YAML is edited in place (only the labels block
 * changes), the service row follows, and the audit entry records the change, in one
 * transaction.
 */
export function setLabels(ws: Workspace, deployment: string, service: string, labels: Record<string, string>): ServicePolicy {
  // The labels are read inside the transaction, so a concurrent edit cannot be silently undone.
  return ws.transaction(() => {
    const before = getService(ws, deployment, service);
    const row = ws.db.prepare('SELECT source_yaml FROM deployments WHERE name = ?').get(deployment) as
      | { source_yaml: string }
      | undefined;
    if (!row) throw new CastellanError('NOT_FOUND', `no deployment "${deployment}" in this workspace`);
    const yaml = setServiceLabels(row.source_yaml, service, labels);
    const now = new Date().toISOString();
    ws.db.prepare('UPDATE deployments SET source_yaml = ?, updated_at = ? WHERE name = ?').run(yaml, now, deployment);
    ws.db
      .prepare('UPDATE services SET labels = ? WHERE deployment = ? AND name = ?')
      .run(JSON.stringify(labels), deployment, service);
    const changed = [...new Set([...Object.keys(before.labels), ...Object.keys(labels)])]
      .filter((k) => !Object.hasOwn(before.labels, k) || !Object.hasOwn(labels, k) || before.labels[k] !== labels[k])
      .sort();
    ws.audit.append({
      action: 'policy.labels.set',
      target: `service:${deployment}/${service}`,
      // Label names are values here, never object keys: the audit refuses keys that look like
      // secrets, and `zlayer.io/api-token-ttl` is policy, not a token.
      details: {
        changes: changed.map((label) => ({
          label,
          before: Object.hasOwn(before.labels, label) ? before.labels[label]! : null,
          after: Object.hasOwn(labels, label) ? labels[label]! : null,
        })),
      },
    });
    return policyOf({ ...before, labels });
  });
}

export function setLabel(ws: Workspace, deployment: string, service: string, key: string, value: string): ServicePolicy {
  return ws.transaction(() => {
    const current = getService(ws, deployment, service);
    return setLabels(ws, deployment, service, { ...current.labels, [key]: value });
  });
}

export function unsetLabel(ws: Workspace, deployment: string, service: string, key: string): ServicePolicy {
  return ws.transaction(() => {
    const current = getService(ws, deployment, service);
    if (!Object.hasOwn(current.labels, key)) {
      throw new CastellanError('NOT_FOUND', `service ${deployment}/${service} has no label "${key}"`);
    }
    const { [key]: _removed, ...rest } = current.labels;
    return setLabels(ws, deployment, service, rest);
  });
}

/** The stored spec, as imported plus label edits; the export is audited. */
export function exportDeployment(ws: Workspace, name: string): string {
  return ws.transaction(() => {
    const row = ws.db.prepare('SELECT source_yaml FROM deployments WHERE name = ?').get(name) as
      | { source_yaml: string }
      | undefined;
    if (!row) throw new CastellanError('NOT_FOUND', `no deployment "${name}" in this workspace`);
    ws.audit.append({ action: 'deployment.export', target: `deployment:${name}`, details: {} });
    return row.source_yaml;
  });
}

export type { ParsedSpec };

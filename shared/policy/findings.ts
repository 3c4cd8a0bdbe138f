/**
 * Risk findings: what an audit of a service's resolved container access should
 * point at. Severity ranks how much a leaked container token (or a compromised
 * workload) could do with it.
 */
import { formatTtl } from './describe.ts';
import type { ContainerAccess } from './labels.ts';
import { formatScope, levelAtLeast } from './levels.ts';

export type FindingSeverity = 'critical' | 'high' | 'medium' | 'low';

export type Finding = {
  code: string;
  severity: FindingSeverity;
  title: string;
  detail: string;
  deployment: string;
  service: string;
};

export const FINDING_SEVERITIES: readonly FindingSeverity[] = ['critical', 'high', 'medium', 'low'];

/**
 * A week or more. Inclusive on purpose: the sample ci-runners.yaml sets exactly
 * 604800 and says an audit should flag it.
 */
export const LONG_TTL_SECS = 7 * 86_400;

/** Below this, a token may lapse before a slow-starting workload makes its first call. */
export const SHORT_TTL_SECS = 5 * 60;

export function findingsFor(deployment: string, service: string, access: ContainerAccess): Finding[] {
  const findings: Finding[] = [];
  const add = (code: string, severity: FindingSeverity, title: string, detail: string): void => {
    findings.push({ code, severity, title, detail, deployment, service });
  };

  if (access.mount_socket) {
    add(
      'daemon-socket',
      'critical',
      'Daemon socket mounted: full daemon admin',
      'zlayer.io/daemon-socket bind-mounts the host daemon socket, which authenticates every caller as admin: the container can do anything the daemon can, whatever its token scopes say.',
    );
  }

  // Without a usable api-scopes label every scope is ZLayer's own default. The default is rated by
  // what it grants, like any other scope: write on every container and every image is as broad as
  // when it is written out, and more likely to go unnoticed because no label shows it.
  const usesDefaults = access.scopes_source !== 'label';
  for (const scope of access.scopes) {
    if (scope.level !== 'write' || scope.resource_id !== null) continue;
    // Write on every deployment is reported once, as reaching beyond the container's deployment.
    if (scope.resource_kind === 'deployment') continue;
    if (usesDefaults) {
      const why =
        access.scopes_source === 'default-fallback'
          ? "the api-scopes label had no valid entry, so the daemon fell back to ZLayer's default policy"
          : "no api-scopes label is set, so the daemon grants ZLayer's default policy (deployment:<own>:read, container:*:write, image:*:write), which lets the per-container Docker socket build, run and push";
      add(
        'wildcard-write',
        'high',
        `Write on every ${scope.resource_kind} (implicit ZLayer default)`,
        `${formatScope(scope)} lets the token modify any ${scope.resource_kind} in the cluster: ${why}. Set zlayer.io/api-scopes to narrow it if the workload does not drive containers or images.`,
      );
    } else {
      add(
        'wildcard-write',
        'high',
        `Write on every ${scope.resource_kind}`,
        `${formatScope(scope)} lets the token modify any ${scope.resource_kind} in the cluster, not just this deployment's.`,
      );
    }
  }

  for (const scope of access.scopes) {
    if (scope.resource_kind !== 'deployment' || scope.level !== 'write') continue;
    if (scope.resource_id === deployment) continue;
    add(
      'write-beyond-deployment',
      'high',
      scope.resource_id === null ? 'Write on every deployment' : `Write on another deployment (${scope.resource_id})`,
      `${formatScope(scope)} reaches beyond the container's own deployment '${deployment}': it can redeploy or reconfigure ${scope.resource_id === null ? 'every deployment' : `'${scope.resource_id}'`}.`,
    );
  }

  for (const scope of access.scopes) {
    if (scope.resource_kind !== 'secret' || !levelAtLeast(scope.level, 'read')) continue;
    const broad = scope.resource_id === null || scope.level === 'write';
    add(
      'secret-access',
      broad ? 'high' : 'medium',
      scope.resource_id === null ? 'Access to every secret' : `Access to secret ${scope.resource_id}`,
      `${formatScope(scope)} lets the token ${scope.level === 'write' ? 'read and change' : scope.level === 'execute' ? 'use' : 'read'} ${scope.resource_id === null ? 'every secret' : `secret '${scope.resource_id}'`}; a leaked token leaks ${scope.resource_id === null ? 'them' : 'it'}.`,
    );
  }

  if (access.ttl_secs >= LONG_TTL_SECS) {
    add(
      'long-ttl',
      'medium',
      `Token lives ${formatTtl(access.ttl_secs)}`,
      `A leaked container token stays valid for ${formatTtl(access.ttl_secs)} (${access.ttl_secs} s) unless revoked; ZLayer's default is 24 h. Anything of 7 days or more is flagged.`,
    );
  } else if (access.ttl_secs < SHORT_TTL_SECS) {
    add(
      'short-ttl',
      'low',
      `Token lives only ${formatTtl(access.ttl_secs)}`,
      `The token expires ${formatTtl(access.ttl_secs)} after the daemon mints it, which it does once, when it creates the container; API calls the workload makes later are refused.`,
    );
  }

  if (access.docker_socket === true) {
    const canDrive = access.scopes.some(
      (s) => (s.resource_kind === 'container' || s.resource_kind === 'image') && s.level === 'write',
    );
    add(
      'docker-socket',
      canDrive ? 'medium' : 'low',
      'Docker API socket enabled',
      `zlayer.io/docker-socket mounts a Docker Engine API socket authenticated as the container's token${canDrive ? ', whose container/image write scopes let the workload create containers and build or push images' : "; it can do only what the token's scopes allow"}.`,
    );
  }

  return findings.sort((a, b) => FINDING_SEVERITIES.indexOf(a.severity) - FINDING_SEVERITIES.indexOf(b.severity));
}

/**
 * Findings of many services in one ranking: worst severity first, then by deployment and service
 * (so a critical finding never sits below a medium one of another service), then as each service
 * listed them.
 */
export function rankFindings(findings: readonly Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort(
      (a, b) =>
        FINDING_SEVERITIES.indexOf(a.f.severity) - FINDING_SEVERITIES.indexOf(b.f.severity) ||
        a.f.deployment.localeCompare(b.f.deployment) ||
        a.f.service.localeCompare(b.f.service) ||
        a.i - b.i,
    )
    .map(({ f }) => f);
}

/** How many findings there are of each severity (every severity present, zero or not). */
export function countBySeverity(findings: readonly Finding[]): Record<FindingSeverity, number> {
  const counts: Record<FindingSeverity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

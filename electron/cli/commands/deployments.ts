import { describeScopes, formatTtl } from '../../../shared/policy/index.ts';
import {
  allPolicies,
  exportDeployment,
  importDeployments,
  listDeployments,
  readSpecFiles,
  servicePolicy,
  setLabel,
  unsetLabel,
  type ServicePolicy,
} from '../../core/deployments/deployments.ts';
import type { Command, CommandContext } from '../cli.ts';
import { safe } from '../help.ts';
import { writeOutput } from '../io.ts';

const MAX_NAMES_SHOWN = 20;

function policyJson(p: ServicePolicy) {
  return {
    deployment: p.deployment,
    service: p.service,
    scopes: p.access.scopes,
    ttl_secs: p.access.ttl_secs,
    ttl_secs_exact: p.access.ttl_secs_exact,
    mount_socket: p.access.mount_socket,
    docker_socket: p.access.docker_socket,
    scopes_source: p.access.scopes_source,
    diagnostics: p.access.diagnostics,
    findings: p.findings,
  };
}

function printPolicy(ctx: CommandContext, p: ServicePolicy): void {
  ctx.print(`${safe(p.deployment)}/${safe(p.service)}`);
  ctx.print(`  scopes:  ${p.access.scopes.map((s) => `${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`).join(', ')}${p.access.scopes_source === 'label' ? '' : ` (${p.access.scopes_source})`}`);
  ctx.print(`           ${describeScopes(p.access.scopes)}`);
  ctx.print(`  ttl:     ${p.access.ttl_secs_exact} s (${formatTtl(p.access.ttl_secs)})`);
  ctx.print(`  daemon socket: ${p.access.mount_socket ? 'MOUNTED (full daemon admin)' : 'off'}`);
  for (const d of p.access.diagnostics) ctx.print(`  ${d.severity}: ${safe(d.label)}: ${safe(d.message)}`);
  for (const f of p.findings) ctx.print(`  finding [${f.severity}] ${safe(f.title)}: ${safe(f.detail)}`);
}

export const deploymentCommands: Command[] = [
  {
    path: ['deployments', 'import'],
    usage: 'deployments import PATH [--replace]',
    summary: 'import a ZLayer spec file or every .yaml of a folder (all or nothing)',
    positionals: 1,
    options: { replace: { type: 'boolean' } },
    run(ctx) {
      const files = readSpecFiles(ctx.args[0]!);
      const names = importDeployments(ctx.workspace(), files, {
        replace: Boolean(ctx.values.replace),
        onProgress: (done, total) => {
          if (total >= 50 && (done % 50 === 0 || done === total)) ctx.io.stderr(`imported ${done}/${total}\n`);
        },
      });
      // A folder of thousands of specs would otherwise print thousands of names on one line.
      const shown = names.length <= MAX_NAMES_SHOWN ? names.join(', ') : `${names.slice(0, MAX_NAMES_SHOWN).join(', ')}, … and ${names.length - MAX_NAMES_SHOWN} more`;
      ctx.print(`imported ${names.length} deployment(s): ${shown}`);
    },
  },
  {
    path: ['deployments', 'list'],
    usage: 'deployments list [--json]',
    summary: 'list deployments and their services with labels',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const list = listDeployments(ctx.workspace());
      if (ctx.values.json) return ctx.printJson(list);
      for (const d of list) {
        ctx.print(`${safe(d.name)}  (${d.services.length} services, from ${safe(d.source_file ?? 'unknown')})`);
        for (const s of d.services) {
          ctx.print(`  ${safe(s.name)}  ${safe(s.rtype ?? '')}${s.replicas !== null ? ` ×${s.replicas}` : ''}`);
          for (const [k, v] of Object.entries(s.labels)) ctx.print(`    ${safe(k)}=${safe(v)}`);
        }
      }
    },
  },
  {
    path: ['deployments', 'export'],
    usage: 'deployments export NAME [--out FILE]',
    summary: 'the spec as imported, with only edited labels changed',
    positionals: 1,
    options: { out: { type: 'string' } },
    run(ctx) {
      const ws = ctx.workspace();
      // If the file cannot be written, the audit entry for the export rolls back with it.
      // 0600: a spec's env may hold secrets.
      ws.transaction(() => writeOutput(ctx.io, ctx.values.out as string | undefined, exportDeployment(ws, ctx.args[0]!), 0o600));
    },
  },
  {
    path: ['policy', 'show'],
    usage: 'policy show DEPLOYMENT SERVICE [--json]',
    summary: 'the access a service’s token gets, exactly as the daemon resolves it',
    positionals: 2,
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const p = servicePolicy(ctx.workspace(), ctx.args[0]!, ctx.args[1]!);
      if (ctx.values.json) ctx.printJson(policyJson(p));
      else printPolicy(ctx, p);
    },
  },
  {
    path: ['policy', 'set-label'],
    usage: 'policy set-label DEPLOYMENT SERVICE KEY VALUE',
    summary: 'set one label of a service',
    positionals: 4,
    run(ctx) {
      const [d, s, k, v] = ctx.args as [string, string, string, string];
      printPolicy(ctx, setLabel(ctx.workspace(), d, s, k, v));
    },
  },
  {
    path: ['policy', 'unset-label'],
    usage: 'policy unset-label DEPLOYMENT SERVICE KEY',
    summary: 'remove one label of a service',
    positionals: 3,
    run(ctx) {
      const [d, s, k] = ctx.args as [string, string, string];
      printPolicy(ctx, unsetLabel(ctx.workspace(), d, s, k));
    },
  },
  {
    path: ['policy', 'findings'],
    usage: 'policy findings [--json]',
    summary: 'risk findings for every service',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const findings = allPolicies(ctx.workspace()).flatMap((p) => p.findings);
      if (ctx.values.json) return ctx.printJson(findings);
      if (findings.length === 0) ctx.print('no findings');
      for (const f of findings) ctx.print(`[${f.severity}] ${safe(f.deployment)}/${safe(f.service)}: ${safe(f.title)} — ${safe(f.detail)}`);
    },
  },
];

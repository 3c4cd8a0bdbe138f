import { CastellanError } from '../../../shared/errors.ts';
import { DEFAULT_SETTINGS } from '../../../shared/ipc/contract/settings.ts';
import type { CaBundleFormat } from '../../core/ca/ca-bundle.ts';
import {
  crlNeedsRefresh,
  exportCaBundle,
  exportCaZlayer,
  exportCrl,
  importCa,
  initCa,
  isBundleFormat,
  publishCrl,
  refuseExisting,
  showCa,
} from '../../core/ca/ca-store.ts';
import type { CaInfo } from '../../core/ca/ca-store.ts';
import {
  assertRevocable,
  assertSignable,
  DEFAULT_LIST_LIMIT,
  listCertificates,
  revokeCertificate,
  signCsr,
} from '../../core/ca/certificate-inventory.ts';
import type { CertificateRecord } from '../../core/ca/certificate-inventory.ts';
import { revocationReasons } from '../../core/ca/crl.ts';
import { csrPreviewAnswer, previewCsr } from '../../core/ca/csr.ts';
import { DEFAULT_LEAF_VALIDITY_DAYS } from '../../core/ca/worker-ca.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../core/workspace/workspace-settings.ts';
import { workspaceSettingsPatchSchema } from '../../../shared/workspace-settings.ts';
import type { WorkspaceSettings } from '../../../shared/workspace-settings.ts';
import { UsageError } from '../cli.ts';
import { safe } from '../help.ts';
import type { Command, CommandContext } from '../cli.ts';
import { readInput, writeOutput } from '../io.ts';
import { str, wholeNumber } from '../options.ts';

/** The CLI has no preferences store: CRLs get the app's default validity. */
const CRL_TIMING = { validityDays: DEFAULT_SETTINGS.crl_validity_days };
const REASONS = revocationReasons.filter((r) => r !== 'removeFromCRL');

function printCa(ctx: CommandContext, ca: CaInfo): void {
  ctx.print(`subject:      ${safe(ca.subject)}`);
  ctx.print(`issuer:       ${safe(ca.issuer)}`);
  ctx.print(`serial:       ${ca.serial}`);
  ctx.print(`valid:        ${ca.not_before} to ${ca.not_after}`);
  ctx.print(`key:          ${ca.key_type}`);
  ctx.print(`sha-256:      ${ca.fingerprint_sha256}`);
  ctx.print(`origin:       ${ca.imported ? 'imported' : 'created here'} on ${ca.created_at}`);
}

function certLine(c: CertificateRecord): string {
  const sans = c.sans.map((s) => safe(s.value)).join(',');
  const status = c.status === 'revoked' ? `revoked (${c.revocation_reason ?? 'unspecified'})` : c.status;
  return `${c.serial}  ${safe(c.node_id)}  ${status}  until ${c.not_after}${sans ? `  ${sans}` : ''}`;
}

type CsrPolicy = Pick<
  WorkspaceSettings,
  'csr_max_leaf_days' | 'csr_allowed_dns_suffixes' | 'csr_allowed_ip_ranges' | 'csr_allow_local_sans'
>;

function csrPolicyOf(settings: WorkspaceSettings): CsrPolicy {
  return {
    csr_max_leaf_days: settings.csr_max_leaf_days,
    csr_allowed_dns_suffixes: settings.csr_allowed_dns_suffixes,
    csr_allowed_ip_ranges: settings.csr_allowed_ip_ranges,
    csr_allow_local_sans: settings.csr_allow_local_sans,
  };
}

function printCsrPolicy(ctx: CommandContext, p: CsrPolicy): void {
  ctx.print(`max leaf lifetime:     ${p.csr_max_leaf_days} days`);
  ctx.print(`allowed DNS suffixes:  ${p.csr_allowed_dns_suffixes.join(', ') || '(any valid DNS name)'}`);
  ctx.print(`allowed IP ranges:     ${p.csr_allowed_ip_ranges.join(', ') || '(any address)'}`);
  ctx.print(`localhost, loopback, link-local: ${p.csr_allow_local_sans ? 'allowed' : 'refused'}`);
  ctx.print('always refused:        unspecified/multicast addresses, another worker’s worker-* name, wildcards');
}

export const caCommands: Command[] = [
  {
    path: ['ca', 'init'],
    usage: 'ca init',
    summary: 'create the worker CA (ECDSA P-256, CN=ZLayer Worker CA, 10 years); its key is sealed in the vault',
    async run(ctx) {
      // Refused before the passphrase is asked for.
      refuseExisting(ctx.workspace());
      const ca = await initCa(await ctx.unlocked(), CRL_TIMING);
      ctx.print('created the worker CA');
      printCa(ctx, ca);
    },
  },
  {
    path: ['ca', 'import'],
    usage: 'ca import CRT KEY',
    summary: 'adopt an existing worker CA: its PEM certificate and unencrypted PEM key (which must match)',
    positionals: 2,
    async run(ctx) {
      const [certFile, keyFile] = ctx.args as [string, string];
      if (certFile === '-' && keyFile === '-') throw new UsageError('only one of CRT and KEY can be read from stdin (-)');
      refuseExisting(ctx.workspace());
      const ws = await ctx.unlocked();
      const cert = await readInput(ctx.io, certFile);
      const key = await readInput(ctx.io, keyFile);
      try {
        const ca = await importCa(ws, cert, key, CRL_TIMING);
        ctx.print('imported the worker CA');
        printCa(ctx, ca);
      } finally {
        key.fill(0);
      }
    },
  },
  {
    path: ['ca', 'export-zlayer'],
    usage: 'ca export-zlayer DIR --yes',
    summary: 'write worker_ca.crt (0644) and worker_ca.key (0600, the CA private key) into DIR',
    positionals: 1,
    options: { yes: { type: 'boolean' } },
    async run(ctx) {
      if (ctx.values.yes !== true) {
        throw new UsageError(
          'this writes the worker CA private key to disk, and whoever holds it can issue worker certificates; add --yes to confirm',
        );
      }
      // No CA: said before the passphrase is asked for.
      if (showCa(ctx.workspace()) === null) throw new CastellanError('NOT_FOUND', 'there is no worker CA in this workspace; create one (castellan ca init) or import one (castellan ca import)');
      const done = await exportCaZlayer(await ctx.reauthenticated(), ctx.args[0]!, { confirm: true });
      ctx.print(`wrote ${done.certPath} (0644)`);
      ctx.print(`wrote ${done.keyPath} (0600)`);
    },
  },
  {
    path: ['ca', 'show'],
    usage: 'ca show [--json]',
    summary: 'the worker CA, if the workspace has one',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const ca = showCa(ctx.workspace());
      if (ctx.values.json) return ctx.printJson(ca);
      if (ca === null) return ctx.print('no worker CA yet: create one with `castellan ca init` or import one with `castellan ca import`');
      printCa(ctx, ca);
    },
  },
  {
    path: ['ca', 'sign'],
    usage: `ca sign CSR --node-id N [--days D] [--out FILE] [--bundle-json FILE]`,
    summary: `sign a worker CSR (file or - for stdin, PEM or DER) as CN=worker-N; ${DEFAULT_LEAF_VALIDITY_DAYS} days by default`,
    positionals: 1,
    options: {
      'node-id': { type: 'string' },
      days: { type: 'string' },
      out: { type: 'string' },
      'bundle-json': { type: 'string' },
    },
    async run(ctx) {
      const nodeId = str(ctx, 'node-id');
      if (nodeId === undefined) throw new UsageError('--node-id is required: the leaf is CN=worker-<node id>, whatever the CSR asks for');
      // Any whole number here: the workspace maximum (csr_max_leaf_days) refuses with its own words.
      const rawDays = str(ctx, 'days');
      if (rawDays !== undefined && !/^\d{1,9}$/.test(rawDays)) {
        throw new UsageError(`--days must be a whole number of days, not ${JSON.stringify(rawDays)}`);
      }
      const days = rawDays === undefined ? undefined : Number(rawDays);
      const params = { csr: new Uint8Array(await readInput(ctx.io, ctx.args[0]!)), nodeId, days };
      // Everything wrong with the request is reported before the passphrase is asked for.
      assertSignable(ctx.workspace(), params);
      const signed = await signCsr(await ctx.unlocked(), params);
      const bundleFile = str(ctx, 'bundle-json');
      if (bundleFile !== undefined) writeOutput(ctx.io, bundleFile, `${JSON.stringify(signed.registration)}\n`);
      writeOutput(ctx.io, str(ctx, 'out'), signed.leafPem);
      const c = signed.certificate;
      ctx.io.stderr(`signed ${c.subject}, serial ${c.serial}, valid until ${c.not_after}\n`);
    },
  },
  {
    path: ['ca', 'policy'],
    usage: 'ca policy [--json]',
    summary: 'the workspace CSR policy: maximum leaf lifetime, allowed DNS suffixes and IP ranges, local names',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const policy = csrPolicyOf(readWorkspaceSettings(ctx.workspace()));
      if (ctx.values.json) return ctx.printJson(policy);
      printCsrPolicy(ctx, policy);
    },
  },
  {
    path: ['ca', 'policy', 'set'],
    usage:
      'ca policy set [--max-leaf-days N] [--dns-suffix S ...] [--any-dns] [--ip-range CIDR ...] [--any-ip] [--allow-local-sans yes|no]',
    summary: 'change the workspace CSR policy (audited; needs the passphrase); --dns-suffix/--ip-range replace the lists',
    options: {
      'max-leaf-days': { type: 'string' },
      'dns-suffix': { type: 'string', multiple: true },
      'any-dns': { type: 'boolean' },
      'ip-range': { type: 'string', multiple: true },
      'any-ip': { type: 'boolean' },
      'allow-local-sans': { type: 'string' },
    },
    async run(ctx) {
      const patch: Partial<CsrPolicy> = {};
      const maxDays = str(ctx, 'max-leaf-days');
      if (maxDays !== undefined) {
        if (!/^\d{1,9}$/.test(maxDays)) throw new UsageError(`--max-leaf-days must be a whole number of days, not ${JSON.stringify(maxDays)}`);
        patch.csr_max_leaf_days = Number(maxDays);
      }
      const suffixes = ctx.values['dns-suffix'] as string[] | undefined;
      if (suffixes && ctx.values['any-dns']) throw new UsageError('give --dns-suffix or --any-dns, not both');
      if (suffixes) patch.csr_allowed_dns_suffixes = suffixes;
      if (ctx.values['any-dns']) patch.csr_allowed_dns_suffixes = [];
      const ranges = ctx.values['ip-range'] as string[] | undefined;
      if (ranges && ctx.values['any-ip']) throw new UsageError('give --ip-range or --any-ip, not both');
      if (ranges) patch.csr_allowed_ip_ranges = ranges;
      if (ctx.values['any-ip']) patch.csr_allowed_ip_ranges = [];
      const local = str(ctx, 'allow-local-sans');
      if (local !== undefined) {
        if (local !== 'yes' && local !== 'no') throw new UsageError(`--allow-local-sans takes yes or no, not ${JSON.stringify(local)}`);
        patch.csr_allow_local_sans = local === 'yes';
      }
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to change: give at least one option');
      // Out-of-bounds values are refused before the passphrase is asked for (the update checks again).
      const checked = workspaceSettingsPatchSchema.safeParse(patch);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new CastellanError('INVALID_INPUT', `workspace setting ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid value'}`);
      }
      // Loosening what the CA signs is for an admin who holds the passphrase.
      const ws = await ctx.unlocked();
      printCsrPolicy(ctx, csrPolicyOf(updateWorkspaceSettings(ws, patch)));
    },
  },
  {
    path: ['ca', 'preview'],
    usage: 'ca preview CSR [--node-id N] [--json]',
    summary: 'what a CSR asks for and whether the worker CA would sign it for node N under the workspace CSR policy (exit 2 if it would not)',
    positionals: 1,
    options: { json: { type: 'boolean' }, 'node-id': { type: 'string' } },
    async run(ctx) {
      const p = await previewCsr(new Uint8Array(await readInput(ctx.io, ctx.args[0]!)), {
        sanPolicy: readWorkspaceSettings(ctx.workspace()),
        nodeId: str(ctx, 'node-id') ?? null,
      });
      if (ctx.values.json) {
        ctx.printJson(csrPreviewAnswer(p));
      } else {
        ctx.print(`requested subject: ${safe(p.requestedSubject) || '(empty)'} (the leaf gets CN=worker-<node id> instead)`);
        ctx.print(`key:               ${p.keyType}${p.keyType === 'RSA' ? ` ${p.keySize} bits` : ''}`);
        ctx.print(`names:             ${p.sans.map((s) => `${s.type}:${safe(s.value)}`).join(', ') || '(none)'}`);
        // Each name's verdict under the workspace SAN policy, with the rule that refused it.
        for (const v of p.sanVerdicts) {
          ctx.print(`  ${v.allowed ? 'allowed' : 'REFUSED'} ${v.type}:${safe(v.value)}${v.allowed ? '' : `  (${v.rule ?? ''})`}`);
        }
        ctx.print(`signature:         ${p.signatureValid ? 'valid' : 'INVALID'}`);
        ctx.print(`acceptable:        ${p.acceptable ? 'yes' : 'no'}`);
        for (const problem of p.problems) ctx.print(`  problem: ${safe(problem)}`);
      }
      if (!p.acceptable) {
        throw new CastellanError('INVALID_INPUT', `the worker CA would refuse this CSR: ${p.problems[0] ?? 'unknown problem'}`);
      }
    },
  },
  {
    path: ['ca', 'certs'],
    usage: 'ca certs [--json] [--search S] [--expiring-days N] [--limit N] [--offset N]',
    summary: 'issued worker certificates, newest first (with --expiring-days: valid ones expiring soonest first)',
    options: {
      json: { type: 'boolean' },
      search: { type: 'string' },
      'expiring-days': { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
    },
    run(ctx) {
      const page = listCertificates(ctx.workspace(), {
        search: str(ctx, 'search'),
        expiringWithinDays: wholeNumber(ctx, 'expiring-days', 1, 36_500),
        limit: wholeNumber(ctx, 'limit', 1, 10_000) ?? DEFAULT_LIST_LIMIT,
        offset: wholeNumber(ctx, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      });
      if (ctx.values.json) return ctx.printJson(page);
      if (page.total === 0) return ctx.print('no certificates');
      for (const c of page.rows) ctx.print(certLine(c));
      if (page.rows.length < page.total) ctx.print(`(${page.rows.length} of ${page.total}; use --limit and --offset for more)`);
    },
  },
  {
    path: ['ca', 'revoke'],
    usage: `ca revoke SERIAL --reason R`,
    summary: `revoke a worker certificate and re-sign the CRL; R is one of ${REASONS.join(', ')}`,
    positionals: 1,
    options: { reason: { type: 'string' } },
    async run(ctx) {
      const reason = str(ctx, 'reason');
      if (reason === undefined) throw new UsageError(`--reason is required: one of ${REASONS.join(', ')}`);
      const input = { serial: ctx.args[0]!, reason };
      assertRevocable(ctx.workspace(), input);
      const revoked = await revokeCertificate(await ctx.unlocked(), input, CRL_TIMING);
      ctx.print(`revoked ${revoked.serial} (${safe(revoked.subject)}) at ${revoked.revoked_at}: ${revoked.revocation_reason}`);
    },
  },
  {
    path: ['ca', 'crl'],
    usage: 'ca crl [--out FILE] [--der] [--refresh]',
    summary: 'the current CRL as PEM (X509 CRL) or DER; re-signed first if expired or with --refresh (needs the vault)',
    options: { out: { type: 'string' }, der: { type: 'boolean' }, refresh: { type: 'boolean' } },
    async run(ctx) {
      const format = ctx.values.der ? 'der' : 'pem';
      let ws = ctx.workspace();
      if (ctx.values.refresh || crlNeedsRefresh(ws)) {
        ws = await ctx.unlocked();
        if (ctx.values.refresh) await publishCrl(ws, CRL_TIMING);
      }
      const crl = await exportCrl(ws, format, (data) => writeOutput(ctx.io, str(ctx, 'out'), data), CRL_TIMING);
      ctx.io.stderr(`CRL #${crl.crlNumber}: ${crl.entries} revoked, next update ${crl.nextUpdate.toISOString()}\n`);
    },
  },
  {
    path: ['ca', 'bundle'],
    usage: 'ca bundle [--format pem|der|p7b|json] [--der] [--out FILE]',
    summary:
      'the CA certificate for verifiers: PEM (default), DER, a PKCS#7 bundle (.p7b: PEM "BEGIN PKCS7", or DER with --der) or ZLayer JSON chain',
    options: { format: { type: 'string' }, out: { type: 'string' }, der: { type: 'boolean' } },
    run(ctx) {
      let format = str(ctx, 'format') ?? 'pem';
      if (!isBundleFormat(format)) throw new UsageError(`--format must be pem, der, p7b or json, not ${JSON.stringify(format)}`);
      if (ctx.values.der) {
        if (format === 'p7b') format = 'p7b-der';
        else if (format !== 'p7b-der') throw new UsageError('--der applies to --format p7b (for a DER certificate, use --format der)');
      }
      exportCaBundle(ctx.workspace(), format as CaBundleFormat, (data) =>
        writeOutput(ctx.io, str(ctx, 'out'), typeof data === 'string' && format === 'json' ? `${data}\n` : data),
      );
    },
  },
];

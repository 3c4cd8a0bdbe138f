/**
 * `castellan serve` (electron/core/serve/) and its verifier clients.
 *
 * `serve` unlocks the vault (--passphrase-env VAR or a prompt: it signs OCSP answers, the
 * revocation list and expired CRLs, and checks HS256 tokens), listens until SIGINT/SIGTERM,
 * prints its URLs on stderr and one JSON access-log line per request on stdout.
 */
import fs from 'node:fs';
import { CastellanError } from '../../../shared/errors.ts';
import { createVerifierClient, listVerifierClients, revokeVerifierClient } from '../../core/serve/clients.ts';
import { startServer, type AccessLogEntry } from '../../core/serve/server.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../core/workspace/workspace-settings.ts';
import { UsageError, type Command, type CommandContext } from '../cli.ts';
import { str } from '../options.ts';

function whole(ctx: CommandContext, name: string, min: number, max: number): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(v);
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CastellanError('NOT_FOUND', `cannot read the TLS ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read error')}`);
  }
}

export const serveCommands: Command[] = [
  {
    path: ['serve'],
    usage: 'serve [--host A] [--port N] [--tls-cert F --tls-key F]',
    summary:
      'publish JWKS, revocation list, CRL, OCSP, introspection until stopped (also --rate N, --burst N, --ocsp-validity S, --ocsp-delegated)',
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'ocsp-validity': { type: 'string' },
      'ocsp-delegated': { type: 'boolean' },
    },
    async run(ctx) {
      const certFile = str(ctx, 'tls-cert');
      const keyFile = str(ctx, 'tls-key');
      if ((certFile === undefined) !== (keyFile === undefined)) {
        throw new UsageError('--tls-cert and --tls-key go together');
      }
      const port = whole(ctx, 'port', 0, 65535);
      const ratePerSec = whole(ctx, 'rate', 0, 1_000_000);
      const rateBurst = whole(ctx, 'burst', 1, 1_000_000);
      const ocspValiditySecs = whole(ctx, 'ocsp-validity', 60, 7 * 86_400);
      const tls =
        certFile !== undefined && keyFile !== undefined
          ? { cert: readPem(certFile, 'certificate'), key: readPem(keyFile, 'key') }
          : undefined;
      const ws = await ctx.unlocked();
      const server = await startServer({
        workspace: ws,
        ...(str(ctx, 'host') !== undefined ? { host: str(ctx, 'host')! } : {}),
        ...(port !== undefined ? { port } : {}),
        ...(tls ? { tls } : {}),
        ...(ratePerSec !== undefined ? { ratePerSec } : {}),
        ...(rateBurst !== undefined ? { rateBurst } : {}),
        ...(ocspValiditySecs !== undefined ? { ocspValiditySecs } : {}),
        ocspDelegated: ctx.values['ocsp-delegated'] === true,
        accessLog: (entry: AccessLogEntry) => ctx.io.stdout(`${JSON.stringify(entry)}\n`),
      });
      const url = server.url!;
      ctx.io.stderr(
        [
          `castellan serve: listening on ${url}`,
          `  JWKS         ${url}/.well-known/jwks.json`,
          `  revocations  ${url}/revocations`,
          `  CRL          ${url}/crl  (PEM: ${url}/crl.pem)`,
          `  OCSP         ${url}/ocsp`,
          `  introspect   ${url}/introspect`,
          `  health       ${url}/healthz`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      const stats = server.stats;
      ctx.io.stderr(`castellan serve: stopped after ${stats.requests} request(s)\n`);
    },
  },
  {
    path: ['serve', 'clients', 'list'],
    usage: 'serve clients list [--json]',
    summary: 'list the verifier clients allowed to call /introspect',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const clients = listVerifierClients(ctx.workspace());
      if (ctx.values.json) return ctx.printJson(clients);
      if (clients.length === 0) return ctx.print('no verifier clients');
      for (const c of clients) {
        ctx.print(`${c.id}  ${c.revoked_at ? `revoked ${c.revoked_at}` : 'active'.padEnd(32)}  ${c.name}  (created ${c.created_at})`);
      }
    },
  },
  {
    path: ['serve', 'clients', 'create'],
    usage: 'serve clients create NAME [--json]',
    summary: 'issue a verifier client id and secret for /introspect (the secret is shown once)',
    positionals: 1,
    options: { json: { type: 'boolean' } },
    async run(ctx) {
      const ws = await ctx.unlocked();
      const { client, secret } = createVerifierClient(ws, ctx.args[0]!);
      if (ctx.values.json) return ctx.printJson({ ...client, client_secret: secret });
      ctx.io.stderr(`created verifier client ${client.id} (${client.name}); the secret below is shown only now\n`);
      ctx.print(`client_id=${client.id}`);
      ctx.print(`client_secret=${secret}`);
    },
  },
  {
    path: ['serve', 'clients', 'revoke'],
    usage: 'serve clients revoke CLIENT_ID',
    summary: 'revoke a verifier client: its next /introspect call gets 401',
    positionals: 1,
    async run(ctx) {
      const ws = await ctx.unlocked();
      const client = revokeVerifierClient(ws, ctx.args[0]!);
      ctx.print(`revoked verifier client ${client.id} (${client.name}) at ${client.revoked_at}`);
    },
  },
  {
    path: ['serve', 'settings'],
    usage: 'serve settings [--public-base-url URL|""] [--attempt-binding on|off] [--json]',
    summary: 'show or change the workspace settings publishing uses (changes are audited)',
    options: {
      'public-base-url': { type: 'string' },
      'attempt-binding': { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(ctx) {
      const base = str(ctx, 'public-base-url');
      const binding = str(ctx, 'attempt-binding');
      if (binding !== undefined && binding !== 'on' && binding !== 'off') {
        throw new UsageError('--attempt-binding must be on or off');
      }
      let settings;
      if (base === undefined && binding === undefined) {
        settings = readWorkspaceSettings(ctx.workspace());
      } else {
        // Where verifiers are sent and whether old attempts stay valid: an authority change.
        const ws = await ctx.unlocked();
        settings = updateWorkspaceSettings(ws, {
          ...(base !== undefined ? { public_base_url: base } : {}),
          ...(binding !== undefined ? { attempt_binding: binding === 'on' } : {}),
        });
      }
      const shown = { public_base_url: settings.public_base_url, attempt_binding: settings.attempt_binding };
      if (ctx.values.json) return ctx.printJson(shown);
      ctx.print(`public_base_url  ${shown.public_base_url === '' ? '(not set: certificates name no CRL or OCSP URL)' : shown.public_base_url}`);
      ctx.print(`attempt_binding  ${shown.attempt_binding ? 'on' : 'off'}`);
    },
  },
];

/**
 * `castellan serve` inside the app (Settings → Publishing): one server at a time on the app's
 * own workspace, loopback only, started and stopped by the admin. The Electron shell stops it
 * on quit; nothing starts it on its own.
 */
import { CastellanError } from '../../../shared/errors.ts';
import type { ServeStatus } from '../../../shared/ipc/contract/serve.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { readWorkspaceSettings } from '../workspace/workspace-settings.ts';
import { isLoopbackHost, startServer, type CastellanServer } from './server.ts';

const ENDPOINTS: [string, string][] = [
  ['JWKS', '/.well-known/jwks.json'],
  ['Revocation list', '/revocations'],
  ['CRL', '/crl'],
  ['OCSP', '/ocsp'],
  ['Introspection', '/introspect'],
  ['Health', '/healthz'],
];

export class ServeController {
  readonly #workspace: () => Workspace;
  #server: CastellanServer | null = null;
  #starting: Promise<CastellanServer> | null = null;

  constructor(workspace: () => Workspace) {
    this.#workspace = workspace;
  }

  status(): ServeStatus {
    const ws = this.#workspace();
    const settings = readWorkspaceSettings(ws);
    const server = this.#server;
    const url = server?.url ?? null;
    return {
      running: server !== null,
      url,
      endpoints: url === null ? [] : ENDPOINTS.map(([name, path]) => ({ name, url: `${url}${path}` })),
      started_at: server?.stats.started_at ?? null,
      requests: server?.stats.requests ?? 0,
      public_base_url: settings.public_base_url,
      attempt_binding: settings.attempt_binding,
    };
  }

  async start(host: string, port: number): Promise<ServeStatus> {
    if (!isLoopbackHost(host)) {
      throw new CastellanError('INVALID_INPUT', 'the app publishes on loopback only; serve other addresses with `castellan serve` and TLS');
    }
    if (this.#server !== null || this.#starting !== null) throw new CastellanError('CONFLICT', 'publishing is already running');
    const ws = this.#workspace();
    ws.vault.requireUnlocked();
    this.#starting = startServer({ workspace: ws, host, port });
    try {
      this.#server = await this.#starting;
    } finally {
      this.#starting = null;
    }
    return this.status();
  }

  async stop(): Promise<ServeStatus> {
    const server = this.#server;
    this.#server = null;
    await server?.close();
    return this.status();
  }
}

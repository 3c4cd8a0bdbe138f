/**
 * Helpers for the `castellan serve` tests. The server runs in the test process, so every
 * external client (openssl, curl, python) is spawned asynchronously: a synchronous spawn would
 * block the event loop the server answers on.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Ran = { status: number | null; stdout: string; stderr: string; out: Buffer };

export function run(cmd: string, args: string[], options: { input?: string | Uint8Array; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => {
      const stdout = Buffer.concat(out);
      resolve({ status, stdout: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), out: stdout });
    });
    // A child that exits without reading its stdin is not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

const PY_CLIENT = fileURLToPath(new URL('../unit/python/serve_client.py', import.meta.url));

/** The independent verifier (PyJWT's PyJWKClient, urllib) against a running server. */
export async function pyClient(request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await run('/usr/bin/python3', [PY_CLIENT], { input: JSON.stringify(request) });
  if (r.status !== 0) throw new Error(`python client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

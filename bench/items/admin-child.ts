/**
 * Item 13c's admin: one of several processes working on the same workspace at once, each with its
 * own Workspace (the same PostgreSQL database, or the same SQLite file), as several admins'
 * consoles and CLIs would.
 *
 *   node bench/items/admin-child.ts <workspace dir> <database URL | -> <admin name> <deployment> <service>
 *
 * Opens and unlocks the workspace, prints `ready`, waits for `go <epoch ms deadline>` on stdin,
 * then until the deadline alternates: mint one token for its service (`mintToken`: ledger row +
 * audit entry, committed), revoke the oldest token it minted and has not revoked (`revokeToken`).
 * Each is one write transaction; under PostgreSQL each takes the audit-head lock. Prints one JSON
 * line: operations committed, per-operation latencies, and the errors met (by message, so a lost
 * race or a lock timeout shows instead of hiding in a lower count).
 */
import readline from 'node:readline';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { PASSPHRASE } from '../lib/fixtures.ts';

const [dir, database, user, deployment, service] = process.argv.slice(2);
if (!dir || !database || !user || !deployment || !service) {
  throw new Error('usage: admin-child.ts <workspace dir> <database URL | -> <admin name> <deployment> <service>');
}
const actor = { user, kind: 'cli' } as const;
const ws = Workspace.open(dir, database === '-' ? { actor } : { actor, database });
ws.vault.unlockWithPassphrase(PASSPHRASE);
process.stdout.write('ready\n');

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const go = await lines.next();
const deadline = Number(String(go.value ?? '').split(' ')[1]);
if (go.done || !Number.isFinite(deadline)) throw new Error('expected "go <deadline>" on stdin');

const now = () => performance.timeOrigin + performance.now();
const unrevoked: string[] = [];
const latencies: number[] = [];
const errors = new Map<string, number>();
let mints = 0;
let revokes = 0;
let n = 0;
const started = now();
while (now() < deadline) {
  const t0 = performance.now();
  try {
    if (n % 2 === 0 || unrevoked.length === 0) {
      const minted = mintToken(ws, { deployment, service, container: `${user}-${n}` });
      unrevoked.push(minted.record.jti!);
      mints += 1;
    } else {
      revokeToken(ws, unrevoked.shift()!, 'other');
      revokes += 1;
    }
    latencies.push(performance.now() - t0);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    errors.set(message, (errors.get(message) ?? 0) + 1);
  }
  n += 1;
}
const ended = now();
ws.close();
process.stdout.write(
  `${JSON.stringify({ user, mints, revokes, ops: mints + revokes, started, ended, latencies, errors: Object.fromEntries(errors) })}\n`,
);
process.exit(0);

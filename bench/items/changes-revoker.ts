/**
 * Item 11's other admin: a process of its own on the same workspace file, as the CLI would be
 * (item 13: on the same PostgreSQL database, given as argv[3]).
 * Reads one jti per line on stdin, revokes it, and prints the moment the revoke had committed
 * (`performance.timeOrigin + performance.now()`: epoch milliseconds with a fraction, comparable
 * across processes on one machine).
 */
import readline from 'node:readline';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const actor = { user: 'bench-other-admin', kind: 'cli' } as const;
const database = process.argv[3];
const ws = Workspace.open(process.argv[2]!, database === undefined ? { actor } : { actor, database });
const lines = readline.createInterface({ input: process.stdin });
for await (const jti of lines) {
  if (jti === '') continue;
  revokeToken(ws, jti, 'leaked');
  process.stdout.write(`${performance.timeOrigin + performance.now()}\n`);
}
ws.close();

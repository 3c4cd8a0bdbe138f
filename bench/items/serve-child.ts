/**
 * The server under test for bench item 8, in its own process (the load generator must not share
 * its event loop): opens the workspace in argv[2], unlocks it with BENCH_PASSPHRASE, serves on
 * 127.0.0.1 with no rate limit, prints `{"url": …}` and runs until SIGTERM.
 */
import { startServer } from '../../electron/core/serve/server.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: serve-child.ts <workspace dir>');
const ws = Workspace.open(dir, { actor: { user: 'bench', kind: 'cli' } });
ws.vault.unlockWithPassphrase(process.env.BENCH_PASSPHRASE ?? '');
const server = await startServer({ workspace: ws, host: '127.0.0.1', port: 0, ratePerSec: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => {
    ws.close();
    process.exit(0);
  });
});

/**
 * One admin as a separate process: opens the storage given on the command line and appends
 * COUNT chained audit entries as WRITER, one transaction each. Prints "done N" and exits 0, or
 * prints the error and exits 1.
 *   node test/harness/chain-writer.ts sqlite|postgres PATH|URL WRITER COUNT
 */
import { openPostgresStorage, openSqliteStorage } from '../../electron/core/storage/index.ts';
import { appendChained } from './audit-chain.ts';

const [engine, target, writer, countText] = process.argv.slice(2);
const count = Number(countText);
if ((engine !== 'sqlite' && engine !== 'postgres') || !target || !writer || !Number.isInteger(count)) {
  process.stderr.write('usage: chain-writer.ts sqlite|postgres PATH|URL WRITER COUNT\n');
  process.exit(2);
}
const port = engine === 'sqlite' ? openSqliteStorage({ path: target }) : await openPostgresStorage({ url: target });
try {
  for (let i = 0; i < count; i += 1) await appendChained(port, writer, 'token.revoke', `${writer}-${i}`);
  process.stdout.write(`done ${count}\n`);
} catch (err) {
  process.stderr.write(`${writer}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await port.close();
}

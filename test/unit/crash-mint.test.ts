/**
 * Fail-closed minting under a crash: the CLI's `mint-batch` writes every row
 * of a 20,000-token batch in one transaction, reports progress on stderr while
 * that transaction is open, and prints tokens only after COMMIT. Killed with
 * SIGKILL at any point, it must never have printed a token whose ledger row is
 * missing, the batch must be all there or not at all, and the audit chain must
 * still verify.
 *
 * No timing is assumed: the kill is triggered by what the child prints (its
 * first progress line, or its first token), and the assertions hold wherever
 * the kill actually lands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tokenSha256 } from '../../electron/core/tokens/sign.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tempDir } from '../harness/services.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const REPLICAS = 20_000;
const SPEC = `version: v1
deployment: crash
services:
  fleet:
    rtype: service
    image: {name: busybox}
    scale: {mode: fixed, replicas: ${REPLICAS}}
  armada:
    rtype: service
    image: {name: busybox}
    scale: {mode: fixed, replicas: ${REPLICAS}}
`;

function environment(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CASTELLAN_DATA_DIR: path.join(dir, 'ws'),
    PP: 'a passphrase for the crash test',
  };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function cli(dir: string, args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], {
    env: environment(dir),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
}

type Outcome = { stdout: string; stderr: string; killed: boolean; code: number | null };

/** Runs `mint-batch crash SERVICE` and SIGKILLs it as soon as `trigger` says so. */
function mintBatchUntil(
  dir: string,
  service: string,
  trigger: (stream: 'stdout' | 'stderr', text: string) => boolean,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--passphrase-env', 'PP', 'mint-batch', 'crash', service], {
      env: environment(dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const check = (stream: 'stdout' | 'stderr', text: string) => {
      if (!killed && trigger(stream, text)) {
        killed = child.kill('SIGKILL');
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      check('stdout', stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      check('stderr', stderr);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, killed, code }));
  });
}

/** Tokens the child printed in full (a line cut by the kill is not a token anyone holds). */
function printedTokens(stdout: string): string[] {
  const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [container, token] = line.split('\t');
      assert.match(container ?? '', /^(fleet|armada)-\d+$/);
      assert.match(token ?? '', /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
      return token!;
    });
}

function checkLedger(dir: string, service: string, printed: string[]): number {
  const ws = Workspace.open(path.join(dir, 'ws'), { actor: { user: 'checker', kind: 'cli' } });
  try {
    const rows = (
      ws.db.prepare("SELECT count(*) AS n FROM tokens WHERE deployment = 'crash' AND service = ?").get(service) as {
        n: number;
      }
    ).n;
    assert.ok(
      rows === 0 || rows === REPLICAS,
      `the batch is all or nothing, but ${rows} of ${REPLICAS} rows are there`,
    );
    const bySha = ws.db.prepare('SELECT jti FROM tokens WHERE token_sha256 = ?');
    for (const token of printed) {
      const row = bySha.get(tokenSha256(token)) as { jti: string } | undefined;
      assert.ok(row, 'a printed token has no ledger row');
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string };
      assert.equal(row.jti, claims.jti);
    }
    if (printed.length > 0) assert.equal(rows, REPLICAS, 'tokens are printed only after the whole batch committed');
    const audit = ws.audit.verify();
    assert.equal(audit.ok, true, JSON.stringify(audit));
    const mintEntries = (
      ws.db
        .prepare(
          "SELECT count(*) AS n FROM audit WHERE action = 'token.mint' AND json_extract(details, '$.container') LIKE ?",
        )
        .get(`${service}-%`) as { n: number }
    ).n;
    assert.equal(mintEntries, rows, 'every row has its audit entry, and no entry outlives its row');
    return rows;
  } finally {
    ws.close();
  }
}

test('SIGKILL during a 20,000-token mint-batch never leaves a printed token without its ledger row', async (t) => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'crash.yaml'), SPEC);
  cli(dir, ['init']);
  cli(dir, ['deployments', 'import', path.join(dir, 'crash.yaml')]);
  cli(dir, ['keys', 'create', '--profile', 'zlayer']);

  // 1. Killed at the first progress line, i.e. inside the open transaction.
  const mid = await mintBatchUntil(
    dir,
    'fleet',
    (stream, text) => stream === 'stderr' && /minting \d+\/20000\n/.test(text),
  );
  assert.match(mid.stderr, /minting \d+\/20000/, `the child never reported progress: ${mid.stderr}`);
  const midPrinted = printedTokens(mid.stdout);
  const midRows = checkLedger(dir, 'fleet', midPrinted);
  if (mid.killed && midRows === 0) assert.equal(midPrinted.length, 0);
  t.diagnostic(`killed at progress: ${midRows} rows committed, ${midPrinted.length} tokens printed`);

  // 2. Killed at its first printed token, i.e. after COMMIT, part-way through printing.
  const late = await mintBatchUntil(dir, 'armada', (stream) => stream === 'stdout');
  const latePrinted = printedTokens(late.stdout);
  assert.ok(late.stdout.length > 0, `the child printed no token: ${late.stderr}`);
  assert.equal(checkLedger(dir, 'armada', latePrinted), REPLICAS, 'output began, so the batch had committed');
  t.diagnostic(`killed at first output: ${latePrinted.length} complete tokens printed, all in the ledger`);
});

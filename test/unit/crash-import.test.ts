/**
 * A CLI import killed with SIGKILL in the middle of its transaction must leave the previous
 * state intact, the audit chain verifying, the database sound and no lock behind.
 *
 * The CLI prints `imported N/M` on stderr every 50 specs from inside the import transaction;
 * the child is killed on the first such line, when 50 of 3000 deployments are written but
 * nothing is committed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { importDeployments, listDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'electron/cli/castellan.ts');
const SAMPLES = path.resolve(REPO, 'samples');
const SPEC_COUNT = 3000;

function bulkSpec(i: number): string {
  const name = `bulk-${String(i).padStart(5, '0')}`;
  return [
    `# generated spec ${i}`,
    'version: v1',
    `deployment: ${name}`,
    'services:',
    '  web:',
    '    rtype: service',
    '    image:',
    '      name: nginx:alpine',
    '    labels:',
    '      zlayer.team: bulk',
    '  worker:',
    '    rtype: service',
    '    image:',
    '      name: busybox:latest',
    '    scale:',
    '      mode: fixed',
    '      replicas: 2',
    '    labels:',
    `      zlayer.io/api-scopes: "deployment:${name}:read"`,
    '      zlayer.io/api-token-ttl: "3600"',
    '  cache:',
    '    rtype: service',
    '    image:',
    '      name: redis:7-alpine',
    '',
  ].join('\n');
}

function childEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  env.CASTELLAN_DATA_DIR = dataDir;
  return env;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The progress line the child was killed on, if it was. */
  killedAt: string | null;
}

/** Runs `deployments import folder`; with `killOnProgress`, SIGKILLs it on its first progress line. */
function runImport(dataDir: string, folder: string, killOnProgress: boolean): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'deployments', 'import', folder], {
      cwd: REPO,
      env: childEnv(dataDir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killedAt: string | null = null;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!killOnProgress || killedAt !== null) return;
      const line = stderr.split('\n').find((l) => /^imported \d+\/\d+$/.test(l));
      if (line !== undefined) {
        killedAt = line;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, killedAt }));
  });
}

function stateOf(ws: Workspace) {
  return {
    deployments: ws.db.prepare('SELECT * FROM deployments ORDER BY name').all(),
    services: ws.db.prepare('SELECT * FROM services ORDER BY deployment, name').all(),
    meta: ws.db.prepare("SELECT key, value FROM meta WHERE key LIKE 'audit_head_%' ORDER BY key").all(),
    lastAudit: ws.db.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get(),
  };
}

test('SIGKILL in the middle of a 3000-spec CLI import leaves the previous state, a sound database and no lock', async (t) => {
  const dataDir = path.join(tempDir('castellan-crash-'), 'ws');
  t.after(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));

  // The previous state: the two samples.
  let ws = openTestWorkspace(dataDir, 'cli');
  importDeployments(ws, readSpecFiles(SAMPLES));
  const before = stateOf(ws);
  const beforeAudit = ws.audit.verify();
  assert.deepEqual(beforeAudit, { ok: true, count: 2 });
  ws.close();

  const folder = tempDir('castellan-crash-specs-');
  t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
  for (let i = 0; i < SPEC_COUNT; i++) {
    fs.writeFileSync(path.join(folder, `spec-${String(i).padStart(5, '0')}.yaml`), bulkSpec(i));
  }

  const killed = await runImport(dataDir, folder, true);
  assert.equal(killed.signal, 'SIGKILL', `the child was not killed: exit ${killed.code}\n${killed.stderr}`);
  assert.equal(killed.code, null);
  assert.match(killed.killedAt ?? '', new RegExp(`^imported (\\d+)/${SPEC_COUNT}$`));
  const done = Number(/^imported (\d+)\//.exec(killed.killedAt!)![1]);
  assert.ok(done < SPEC_COUNT, `killed after ${done} of ${SPEC_COUNT}: the import had not finished`);
  assert.doesNotMatch(killed.stdout, /imported \d+ deployment/, 'the import never reported success');

  ws = openTestWorkspace(dataDir, 'cli');
  try {
    assert.equal((ws.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    assert.deepEqual(stateOf(ws), before);
    assert.deepEqual(
      listDeployments(ws).map((d) => [d.name, d.services.map((s) => s.name)]),
      [
        ['ci-runners', ['janitor', 'runner']],
        ['storefront', ['cache', 'web', 'worker']],
      ],
    );
    assert.deepEqual(ws.audit.verify(), beforeAudit);
  } finally {
    ws.close();
  }

  // No stale lock: another process imports the same folder, all of it.
  const again = await runImport(dataDir, folder, false);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^imported ${SPEC_COUNT} deployment\\(s\\): bulk-00000, bulk-00001, `));
  assert.match(again.stderr, new RegExp(`imported ${SPEC_COUNT}/${SPEC_COUNT}\\n$`));

  ws = openTestWorkspace(dataDir, 'cli');
  try {
    assert.equal((ws.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    assert.equal((ws.db.prepare('SELECT count(*) AS n FROM deployments').get() as { n: number }).n, SPEC_COUNT + 2);
    assert.equal((ws.db.prepare('SELECT count(*) AS n FROM services').get() as { n: number }).n, SPEC_COUNT * 3 + 5);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 2 + SPEC_COUNT });
    // The samples came through untouched.
    assert.deepEqual(
      ws.db.prepare("SELECT * FROM deployments WHERE name IN ('ci-runners', 'storefront') ORDER BY name").all(),
      before.deployments,
    );
  } finally {
    ws.close();
  }
});

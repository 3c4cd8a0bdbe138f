import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CastellanError } from '../../shared/errors.ts';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import type { Profile } from '../../electron/core/tokens/key-material.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from './seed.ts';
import { openTestWorkspace } from './services.ts';

const PY_SCRIPT = fileURLToPath(new URL('../unit/python/verify_jwt.py', import.meta.url));

/** The independent verifier: PyJWT under Debian's Python, one JSON request in, one answer out. */
export function py(request: Record<string, unknown>): { ok: boolean; [k: string]: unknown } {
  const run = spawnSync('/usr/bin/python3', [PY_SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' });
  assert.equal(run.status, 0, `python helper failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { ok: boolean };
}

/** For assert.throws/rejects: a CastellanError with this code (and message, when given). */
export function isError(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CastellanError, `expected a CastellanError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** A temp workspace with its vault unlocked and the sample deployments imported. */
export function sampleWorkspace(): Workspace {
  const ws = openTestWorkspace();
  ws.vault.initialize(TEST_PASSPHRASE);
  importDeployments(ws, readSpecFiles(SAMPLES_DIR));
  return ws;
}

/** The same, with an active signing key for each profile given. */
export async function tokenWorkspace(profiles: readonly Profile[]): Promise<Workspace> {
  const ws = sampleWorkspace();
  for (const p of profiles) await createKey(ws, p);
  return ws;
}

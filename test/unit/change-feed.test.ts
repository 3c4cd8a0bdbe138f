/**
 * The change feed (change-feed.ts): the audit head is a cursor over every change; what follows
 * it names the domains touched. Real workspaces, real second connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { importDeployments, readSpecFiles } from '../../electron/core/deployments/deployments.ts';
import { revokeToken } from '../../electron/core/tokens/revocation.ts';
import { mintToken } from '../../electron/core/tokens/minting.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import {
  CHANGE_DOMAINS,
  changeCursor,
  changesSince,
  domainOfAction,
  MAX_ENTRIES_SCANNED,
  watchChanges,
  type WorkspaceChange,
} from '../../electron/core/workspace/change-feed.ts';
import { openTestWorkspace } from '../harness/services.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from '../harness/seed.ts';

test('actions map to the contract domains; unknown ones to workspace', () => {
  assert.equal(domainOfAction('token.mint'), 'tokens');
  assert.equal(domainOfAction('tokens.revoke_bulk'), 'tokens');
  assert.equal(domainOfAction('key.rotate'), 'keys');
  assert.equal(domainOfAction('deployment.import'), 'deployments');
  assert.equal(domainOfAction('policy.update'), 'deployments');
  assert.equal(domainOfAction('ca.revoke'), 'ca');
  assert.equal(domainOfAction('vault.slot.add'), 'vault');
  assert.equal(domainOfAction('someday.new'), 'workspace');
});

test('what follows a cursor: nothing, then the domains of the new entries, then nothing again', async () => {
  const ws = openTestWorkspace();
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    importDeployments(ws, readSpecFiles(SAMPLES_DIR));
    await createKey(ws, 'zlayer');
    const start = changeCursor(ws);
    assert.ok(start > 0);
    assert.equal(changesSince(ws, start), null);

    const minted = mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' });
    revokeToken(ws, minted.record.jti!, 'leaked');
    const change = changesSince(ws, start)!;
    assert.equal(change.after, start);
    assert.equal(change.cursor, changeCursor(ws));
    assert.deepEqual(change.domains, ['tokens', 'audit']);
    assert.equal(changesSince(ws, change.cursor), null);

    // A log shorter than the cursor (the file restored from a backup): everything may differ.
    const restored = changesSince(ws, change.cursor + 10)!;
    assert.deepEqual(restored.domains, [...CHANGE_DOMAINS]);
    assert.equal(restored.cursor, change.cursor);
  } finally {
    ws.close();
  }
});

test('past MAX_ENTRIES_SCANNED new entries every domain is named without reading them', async () => {
  const ws = openTestWorkspace();
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    const start = changeCursor(ws);
    ws.transaction(() => {
      for (let i = 0; i <= MAX_ENTRIES_SCANNED; i++) ws.audit.append({ action: 'token.mint', target: `token:${i}` });
    });
    assert.deepEqual(changesSince(ws, start)!.domains, [...CHANGE_DOMAINS]);
    // One fewer is read, and says only what it was.
    assert.deepEqual(changesSince(ws, start + 1)!.domains, ['tokens', 'audit']);
  } finally {
    ws.close();
  }
});

test('the watcher starts at the head, reports a change made through another connection once, and stops', async () => {
  const ws = openTestWorkspace();
  const other = openTestWorkspace(ws.dir, 'cli');
  try {
    ws.vault.initialize(TEST_PASSPHRASE);
    const seen: WorkspaceChange[] = [];
    const stop = watchChanges(() => ws, (c) => seen.push(c), { intervalMs: 5 });
    try {
      await sleep(30);
      assert.equal(seen.length, 0, 'opening a workspace is not a change');
      importDeployments(other, readSpecFiles(SAMPLES_DIR));
      for (let i = 0; i < 200 && seen.length === 0; i++) await sleep(10);
      assert.equal(seen.length, 1);
      assert.ok(seen[0]!.domains.includes('deployments'));
      assert.equal(seen[0]!.cursor, changeCursor(ws));
    } finally {
      stop();
    }
    other.transaction(() => other.audit.append({ action: 'ca.revoke', target: 'cert:1' }));
    await sleep(40);
    assert.equal(seen.length, 1, 'nothing is reported after stop()');
  } finally {
    other.close();
    ws.close();
  }
});

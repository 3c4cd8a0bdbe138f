import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKSPACE_SETTINGS } from '../../shared/workspace-settings.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import { openTestWorkspace } from '../harness/services.ts';

test('a new workspace reads the defaults; a change is stored, audited with before/after, and read back', (t) => {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  assert.deepEqual(readWorkspaceSettings(ws), DEFAULT_WORKSPACE_SETTINGS);
  const after = updateWorkspaceSettings(ws, { max_token_ttl_secs: 3600 });
  assert.equal(after.max_token_ttl_secs, 3600);
  assert.equal(readWorkspaceSettings(ws).max_token_ttl_secs, 3600);
  const entry = ws.audit.list({ action: 'workspace.settings', limit: 10 }).rows[0];
  assert.equal(entry?.action, 'workspace.settings');
  assert.deepEqual(entry?.details, {
    changes: [{ setting: 'max_token_ttl_secs', before: DEFAULT_WORKSPACE_SETTINGS.max_token_ttl_secs, after: 3600 }],
  });
});

test('an out-of-bounds value is refused with the setting named, and nothing changes', (t) => {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  assert.throws(() => updateWorkspaceSettings(ws, { max_token_ttl_secs: 10 }), /workspace setting max_token_ttl_secs/);
  assert.throws(() => updateWorkspaceSettings(ws, { max_token_ttl_secs: 1.5 }), /max_token_ttl_secs/);
  assert.deepEqual(readWorkspaceSettings(ws), DEFAULT_WORKSPACE_SETTINGS);
});

test('a hand-edited value outside the bounds is an integrity error, not a silent default', (t) => {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  ws.db.prepare("INSERT INTO meta (key, value) VALUES ('setting:max_token_ttl_secs', '315360000')").run();
  assert.throws(() => readWorkspaceSettings(ws), { code: 'INTEGRITY', message: /max_token_ttl_secs .*out of bounds/ });
});

test('the CSR policy settings: bounded, validated entry by entry, and audited', (t) => {
  const ws = openTestWorkspace();
  t.after(() => ws.close());
  assert.equal(DEFAULT_WORKSPACE_SETTINGS.csr_max_leaf_days, 90);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_max_leaf_days: 398 }), /workspace setting csr_max_leaf_days/);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_max_leaf_days: 0 }), /csr_max_leaf_days/);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_allowed_dns_suffixes: ['.zlayer.internal'] }), /csr_allowed_dns_suffixes: a DNS suffix is lowercase labels/);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_allowed_dns_suffixes: ['*.example'] }), /csr_allowed_dns_suffixes/);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_allowed_ip_ranges: ['10.0.0.0/33'] }), /csr_allowed_ip_ranges: an IP range is an address or CIDR/);
  assert.throws(() => updateWorkspaceSettings(ws, { csr_allowed_ip_ranges: ['10.0.0.256'] }), /csr_allowed_ip_ranges/);
  assert.deepEqual(readWorkspaceSettings(ws), DEFAULT_WORKSPACE_SETTINGS);
  assert.equal(ws.audit.list({ action: 'workspace.settings', limit: 10 }).rows.length, 0);

  updateWorkspaceSettings(ws, {
    csr_max_leaf_days: 397,
    csr_allowed_dns_suffixes: ['zlayer.internal'],
    csr_allowed_ip_ranges: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7'],
    csr_allow_local_sans: true,
  });
  const read = readWorkspaceSettings(ws);
  assert.equal(read.csr_max_leaf_days, 397);
  assert.deepEqual(read.csr_allowed_ip_ranges, ['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
  const entry = ws.audit.list({ action: 'workspace.settings', limit: 1 }).rows[0]!;
  assert.deepEqual(
    (entry.details.changes as { setting: string }[]).map((c) => c.setting),
    ['csr_max_leaf_days', 'csr_allowed_dns_suffixes', 'csr_allowed_ip_ranges', 'csr_allow_local_sans'],
  );
});

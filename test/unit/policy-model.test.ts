/**
 * The policy editor's model (renderer/src/deployments/policy-model.ts), against the daemon's own
 * grammar (shared/policy/labels.ts): what the structured rows write is read back by the parser as
 * exactly those scopes; a label read into rows and written again means the same; entries the
 * daemon skips survive verbatim; lifetimes keep their seconds through units; the access diff says
 * what a change grants and removes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessDiff,
  scopeRowProblems,
  scopeRowsOf,
  scopesValueOf,
  ttlDraftOf,
  ttlSecsOf,
  type IdMode,
  type ScopeRow,
} from '../../renderer/src/deployments/policy-model.ts';
import { KNOWN_RESOURCE_KINDS } from '../../shared/policy/describe.ts';
import { resolveContainerAccess } from '../../shared/policy/labels.ts';
import type { PermissionLevel } from '../../shared/policy/scopes.ts';

const D = 'storefront';

/** A small deterministic generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('rows the editor builds are read back by the daemon grammar as exactly those scopes', () => {
  const r = rng(12);
  const kinds = [...KNOWN_RESOURCE_KINDS, 'queue', 'bucket'];
  const modes: IdMode[] = ['own', 'any', 'named'];
  const levels: PermissionLevel[] = ['read', 'execute', 'write'];
  for (let n = 0; n < 300; n++) {
    const rows: ScopeRow[] = Array.from({ length: 1 + Math.floor(r() * 5) }, (_, i) => ({
      key: i,
      kind: kinds[Math.floor(r() * kinds.length)]!,
      idMode: modes[Math.floor(r() * 3)]!,
      id: `id-${Math.floor(r() * 9)}`,
      level: levels[Math.floor(r() * 3)]!,
    }));
    assert.deepEqual(scopeRowProblems(rows), []);
    const value = scopesValueOf(rows, D);
    const access = resolveContainerAccess(D, { 'zlayer.io/api-scopes': value });
    assert.equal(access.scopes_source, 'label', value);
    assert.deepEqual(
      access.scopes,
      rows.map((row) => ({
        resource_kind: row.kind,
        resource_id: row.idMode === 'own' ? D : row.idMode === 'any' ? null : row.id,
        level: row.level,
      })),
      value,
    );
    assert.ok(!access.diagnostics.some((d) => d.severity === 'error'), value);
    // And the rows read from that text write the same text again.
    assert.equal(scopesValueOf(scopeRowsOf(value, D), D), value);
  }
});

test('a hand-written label keeps its meaning through the rows; entries the daemon skips stay verbatim', () => {
  const raw = ' deployment:storefront:READ ,, image:write, garbage, container::write, secret:db:read:extra ';
  const rows = scopeRowsOf(raw, D);
  assert.deepEqual(
    rows.map((row) => row.invalid ?? `${row.kind}|${row.idMode}|${row.id}|${row.level}`),
    ['deployment|own|storefront|read', 'image|any||write', 'garbage', 'container|any||write', 'secret:db:read:extra'],
  );
  const written = scopesValueOf(rows, D);
  assert.equal(written, 'deployment:storefront:read, image:*:write, garbage, container:*:write, secret:db:read:extra');
  assert.deepEqual(
    resolveContainerAccess(D, { 'zlayer.io/api-scopes': written }).scopes,
    resolveContainerAccess(D, { 'zlayer.io/api-scopes': raw }).scopes,
  );
});

test('the editor refuses rows that would not say what they show', () => {
  const row = (over: Partial<ScopeRow>): ScopeRow => ({
    key: 1,
    kind: 'secret',
    idMode: 'named',
    id: 'x',
    level: 'read',
    ...over,
  });
  assert.match(scopeRowProblems([row({ id: '' })]).join(), /Scope 1: type the id, or choose "every id"/);
  assert.match(scopeRowProblems([row({ id: '*' })]).join(), /"\*" means every id/);
  assert.match(scopeRowProblems([row({ id: 'a b' })]).join(), /may not contain spaces, commas or colons/);
  assert.match(scopeRowProblems([row({ kind: '' })]).join(), /choose a kind/);
  assert.match(scopeRowProblems([row({ kind: 'a:b' })]).join(), /may not contain/);
  assert.match(scopeRowProblems([row({ kind: '*' })]).join(), /not a wildcard/);
  assert.deepEqual(scopeRowProblems([row({ invalid: 'garbage' })]), [], 'a skipped entry is shown, not re-judged');
});

test('lifetimes keep their seconds through units; what is not a whole number is not written', () => {
  for (const secs of [1, 59, 60, 90, 3600, 5400, 86_400, 93_600, 604_800, 2_592_000]) {
    const draft = ttlDraftOf(String(secs));
    assert.equal(ttlSecsOf(draft), secs, `${secs} → ${draft.amount} ${draft.unit}`);
    assert.equal(resolveContainerAccess(D, { 'zlayer.io/api-token-ttl': String(ttlSecsOf(draft)) }).ttl_secs, secs);
  }
  assert.deepEqual(ttlDraftOf('3600'), { amount: '1', unit: 'h' });
  assert.deepEqual(ttlDraftOf(' +7200 '), { amount: '2', unit: 'h' });
  assert.deepEqual(ttlDraftOf('604800'), { amount: '7', unit: 'd' });
  assert.deepEqual(ttlDraftOf('not-a-number'), { amount: '', unit: 's' });
  assert.deepEqual(ttlDraftOf('0'), { amount: '', unit: 's' });
  for (const amount of ['', '0', '1.5', '-1', '1e3', ' 2', '9999999999999']) {
    assert.equal(ttlSecsOf({ amount, unit: 'd' }), null, JSON.stringify(amount));
  }
});

test('the access diff names what a change grants and removes, as the daemon resolves both', () => {
  const before = resolveContainerAccess(D, {
    'zlayer.io/api-scopes': 'deployment:storefront:read, secret:*:read',
    'zlayer.io/api-token-ttl': '3600',
  });
  const after = resolveContainerAccess(D, {
    'zlayer.io/api-scopes': 'deployment:storefront:write, secret:db:read',
    'zlayer.io/daemon-socket': 'yes',
  });
  const diff = accessDiff(before, after);
  assert.deepEqual(diff.grants, ['may write deployment storefront', 'full daemon admin (the host daemon socket)']);
  assert.deepEqual(diff.removes, ['may read any secret']);
  assert.deepEqual(diff.other, ['token lifetime 1 h → 1 d (longer)']);
  // A scope already covered by a wildcard grants nothing new.
  const same = accessDiff(
    resolveContainerAccess(D, { 'zlayer.io/api-scopes': 'image:*:write' }),
    resolveContainerAccess(D, { 'zlayer.io/api-scopes': 'image:*:write, image:x:read' }),
  );
  assert.deepEqual(same, { grants: [], removes: [], other: [] });
  // Dropping the label falls back to ZLayer's defaults: that grants wildcard writes.
  const defaults = accessDiff(
    resolveContainerAccess(D, { 'zlayer.io/api-scopes': 'deployment:storefront:read' }),
    resolveContainerAccess(D, {}),
  );
  assert.deepEqual(defaults.grants, ['may write any container', 'may write any image']);
});

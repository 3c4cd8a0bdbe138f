/**
 * Capability bits and risk per token (shared/policy/token-risk.ts, migration ui-tokens): what
 * minting stores, what the list's capability / risk / grants filters select (checked against
 * the scopes themselves, row by row), that the migration's SQL backfill rates exactly as the
 * TypeScript does, that the capability pages walk their partial index, and that bad filters are
 * refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importDeployments } from '../../electron/core/deployments/deployments.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { revokeBulk } from '../../electron/core/tokens/revocation.ts';
import { TOKEN_FACTS_BACKFILL } from '../../electron/core/workspace/schema.ts';
import { createKey } from '../../electron/core/tokens/signing-keys.ts';
import { listTokens, pageIdsQuery, type TokenRecord } from '../../electron/core/tokens/token-ledger.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tokenFilterSchema } from '../../shared/ipc/contract/tokens.ts';
import { levelAtLeast, type PermissionLevel, type TokenScope } from '../../shared/policy/scopes.ts';
import {
  CAPABILITY_BITS,
  riskName,
  TOKEN_CAPABILITIES,
  TOKEN_RISKS,
  tokenFacts,
} from '../../shared/policy/token-risk.ts';
import { openTestWorkspace } from '../harness/services.ts';

const SPEC = `version: v1
deployment: vault-app
services:
  keeper:
    rtype: service
    image: {name: keeper:1}
    labels:
      zlayer.io/api-scopes: "secret:vault-app:write, deployment:vault-app:read"
  reader:
    rtype: service
    image: {name: reader:1}
    labels:
      zlayer.io/api-scopes: "secret:db-password:read"
      zlayer.io/api-token-ttl: "3600"
  builder:
    rtype: service
    image: {name: builder:1}
    labels:
      zlayer.io/api-scopes: "image:*:write, job:build:execute"
  plain:
    rtype: service
    image: {name: plain:1}
    labels:
      zlayer.io/api-scopes: "deployment:vault-app:read"
      zlayer.io/api-token-ttl: "3600"
  longlived:
    rtype: service
    image: {name: long:1}
    labels:
      zlayer.io/api-scopes: "deployment:vault-app:read"
      zlayer.io/api-token-ttl: "604800"
  admin:
    rtype: service
    image: {name: admin:1}
    labels:
      zlayer.io/api-scopes: "deployment:vault-app:read"
      zlayer.io/api-token-ttl: "3600"
      zlayer.io/daemon-socket: " YES "
  defaults:
    rtype: service
    image: {name: defaults:1}
  other:
    rtype: service
    image: {name: other:1}
    labels:
      zlayer.io/api-scopes: "deployment:storefront:write"
      zlayer.io/api-token-ttl: "3600"
`;

const SERVICES = ['keeper', 'reader', 'builder', 'plain', 'longlived', 'admin', 'defaults', 'other'];

async function workspaceWithTokens(): Promise<Workspace> {
  const ws = openTestWorkspace();
  ws.vault.initialize('correct horse battery');
  importDeployments(ws, [{ file: 'vault-app.yaml', text: SPEC }]);
  await createKey(ws, 'zlayer');
  for (const [i, service] of SERVICES.entries()) {
    mintBatch(ws, {
      deployment: 'vault-app',
      service,
      containers: Array.from({ length: i + 1 }, (_, n) => `${service}-${n}`),
    });
  }
  return ws;
}

function all(ws: Workspace, filter: Record<string, string> = {}): TokenRecord[] {
  return listTokens(ws, { filter, limit: 10_000 }).rows;
}

const grantsLevel = (scopes: TokenScope[], kind: string, level: PermissionLevel) =>
  scopes.some((s) => s.resource_kind === kind && levelAtLeast(s.level, level));

test('tokenFacts rates by what the token grants', () => {
  const s = (kind: string, id: string | null, level: PermissionLevel): TokenScope => ({
    resource_kind: kind,
    resource_id: id,
    level,
  });
  assert.deepEqual(tokenFacts([s('deployment', 'd', 'read')], 'd', false, 3600), { caps: 0, risk: 0 });
  assert.deepEqual(tokenFacts([s('deployment', 'd', 'read')], 'd', true, 3600), { caps: 4, risk: 3 });
  assert.deepEqual(tokenFacts([s('secret', 'x', 'write')], 'd', false, 3600), { caps: 1, risk: 2 });
  assert.deepEqual(tokenFacts([s('secret', null, 'write')], 'd', false, 3600), { caps: 3, risk: 2 });
  assert.deepEqual(tokenFacts([s('secret', 'x', 'read')], 'd', false, 3600), { caps: 0, risk: 1 });
  assert.deepEqual(tokenFacts([s('secret', null, 'read')], 'd', false, 3600), { caps: 0, risk: 2 });
  assert.deepEqual(tokenFacts([s('deployment', 'other', 'write')], 'd', false, 3600), { caps: 0, risk: 2 });
  assert.deepEqual(tokenFacts([s('deployment', 'd', 'write')], 'd', false, 3600), { caps: 0, risk: 0 });
  assert.deepEqual(tokenFacts([s('image', null, 'write')], 'd', false, 3600), { caps: 2, risk: 2 });
  assert.deepEqual(tokenFacts([s('secret', 'x', 'none')], 'd', false, 604_800), { caps: 0, risk: 1 });
  assert.equal(riskName(2), 'high');
});

test('minting stores the facts; each capability, risk and grants filter selects exactly the matching tokens', async () => {
  const ws = await workspaceWithTokens();
  try {
    const every = all(ws);
    assert.equal(every.length, (SERVICES.length * (SERVICES.length + 1)) / 2);
    const row = ws.db.prepare("SELECT caps, risk FROM tokens WHERE service = 'admin' LIMIT 1").get() as {
      caps: number;
      risk: number;
    };
    assert.deepEqual({ ...row }, { caps: 4, risk: 3 });
    for (const r of every) {
      const wantSocket = r.service === 'admin';
      assert.equal(r.daemon_socket, wantSocket, `${r.service}: daemon socket`);
      const facts = tokenFacts(r.scopes, r.deployment, wantSocket, r.expires_at - r.issued_at);
      assert.equal(r.risk, riskName(facts.risk), `${r.service}: risk`);
    }
    const expectations: Record<string, (r: TokenRecord) => boolean> = {
      secret_write: (r) => r.scopes.some((s) => s.resource_kind === 'secret' && s.level === 'write'),
      wildcard_write: (r) => r.scopes.some((s) => s.resource_id === null && s.level === 'write'),
      daemon_socket: (r) => r.daemon_socket,
    };
    for (const capability of TOKEN_CAPABILITIES) {
      const got = all(ws, { capability })
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const want = every
        .filter(expectations[capability]!)
        .map((r) => r.id)
        .sort((a, b) => a - b);
      assert.ok(want.length > 0, `${capability} has tokens to find`);
      assert.deepEqual(got, want, capability);
      assert.equal(listTokens(ws, { filter: { capability } }).total, want.length);
    }
    assert.deepEqual(new Set(all(ws, { capability: 'secret_write' }).map((r) => r.service)), new Set(['keeper']));
    assert.deepEqual(
      new Set(all(ws, { capability: 'wildcard_write' }).map((r) => r.service)),
      new Set(['builder', 'defaults']),
    );
    for (const risk of TOKEN_RISKS) {
      const got = all(ws, { risk })
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const want = every
        .filter((r) => TOKEN_RISKS.indexOf(r.risk) >= TOKEN_RISKS.indexOf(risk))
        .map((r) => r.id)
        .sort((a, b) => a - b);
      assert.deepEqual(got, want, `risk ${risk} or worse`);
    }
    assert.deepEqual(new Set(all(ws, { risk: 'critical' }).map((r) => r.service)), new Set(['admin']));
    assert.deepEqual(
      new Set(
        all(ws, { risk: 'medium' })
          .filter((r) => r.risk === 'medium')
          .map((r) => r.service),
      ),
      new Set(['reader', 'longlived']),
    );
    for (const [kind, level] of [
      ['secret', 'read'],
      ['secret', 'write'],
      ['image', 'write'],
      ['job', 'execute'],
      ['deployment', 'write'],
    ] as const) {
      const got = all(ws, { grants: `${kind}:${level}` })
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const want = every
        .filter((r) => grantsLevel(r.scopes, kind, level))
        .map((r) => r.id)
        .sort((a, b) => a - b);
      assert.ok(want.length > 0);
      assert.deepEqual(got, want, `grants ${kind}:${level}`);
    }
    // Filters combine: the status and a capability together.
    revokeBulk(ws, { filter: { service: 'builder' }, reason: 'leaked', dryRun: false });
    assert.deepEqual(
      new Set(all(ws, { capability: 'wildcard_write', status: 'active' }).map((r) => r.service)),
      new Set(['defaults']),
    );
    // A bulk revoke by capability revokes exactly those.
    const revoked = revokeBulk(ws, { filter: { capability: 'secret_write' }, reason: 'leaked', dryRun: false });
    assert.equal(revoked.count, 1);
    assert.equal(all(ws, { capability: 'secret_write', status: 'active' }).length, 0);
  } finally {
    ws.close();
  }
});

test('bad capability, risk and grants filters are refused with a clear error and change nothing', async () => {
  const ws = await workspaceWithTokens();
  try {
    const before = listTokens(ws, { filter: { status: 'active' } }).total;
    assert.throws(
      () => listTokens(ws, { filter: { capability: 'root' as never } }),
      /capability must be one of secret_write, wildcard_write, daemon_socket/,
    );
    assert.throws(
      () => listTokens(ws, { filter: { risk: 'extreme' as never } }),
      /risk must be one of low, medium, high, critical/,
    );
    for (const grants of ['secret', 'secret:admin', ':write', 'a:b:write', "x' OR 1=1 --:write"]) {
      if (grants.includes("'")) {
        // A kind is bound as a parameter: odd characters select nothing, they do not break the SQL.
        assert.equal(listTokens(ws, { filter: { grants } }).total, 0);
        continue;
      }
      assert.throws(() => listTokens(ws, { filter: { grants } }), /grants filter is kind:level/, grants);
    }
    assert.throws(
      () => revokeBulk(ws, { filter: { risk: 'low' }, reason: 'other', dryRun: false }),
      /needs at least one filter/,
      'risk low narrows nothing, so it is no selector for a bulk revoke',
    );
    assert.equal(listTokens(ws, { filter: { status: 'active' } }).total, before);
    assert.equal(tokenFilterSchema.safeParse({ capability: 'root' }).success, false);
    assert.equal(tokenFilterSchema.safeParse({ grants: 'secret:admin' }).success, false);
    assert.equal(
      tokenFilterSchema.safeParse({ grants: 'secret:write', risk: 'high', capability: 'daemon_socket' }).success,
      true,
    );
  } finally {
    ws.close();
  }
});

test('the migration backfill rates existing tokens exactly as minting does', async () => {
  const ws = await workspaceWithTokens();
  try {
    const minted = ws.db.prepare('SELECT id, caps, risk FROM tokens ORDER BY id').all() as {
      id: number;
      caps: number;
      risk: number;
    }[];
    // Odd scope sets straight into the ledger, as rows from before the migration would be.
    const odd: TokenScope[][] = [
      [],
      [{ resource_kind: 'secret', resource_id: null, level: 'read' }],
      [{ resource_kind: 'secret', resource_id: 'x', level: 'execute' }],
      [{ resource_kind: 'secret', resource_id: 'x', level: 'none' }],
      [{ resource_kind: 'deployment', resource_id: null, level: 'write' }],
      [{ resource_kind: 'deployment', resource_id: 'vault-app', level: 'write' }],
      [{ resource_kind: 'deployment', resource_id: 'elsewhere', level: 'write' }],
      [
        { resource_kind: 'volume', resource_id: 'v', level: 'write' },
        { resource_kind: 'secret', resource_id: 's', level: 'write' },
      ],
    ];
    const keyId = (ws.db.prepare('SELECT id FROM signing_keys LIMIT 1').get() as { id: string }).id;
    const insert = ws.db
      .prepare(`INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, scopes,
      issued_at, expires_at, token_sha256) VALUES (?, 'container:plain:p', 'vault-app', ?, 'p', 'zlayer', ?, ?, 1000, ?, ?)`);
    odd.forEach((scopes, i) =>
      insert.run(
        `odd-${i}`,
        i === 3 ? 'admin' : 'plain',
        keyId,
        JSON.stringify(scopes),
        i === 2 ? 1000 + 604_800 : 4600,
        `odd-${i}`,
      ),
    );
    ws.db.exec('UPDATE tokens SET caps = 0, risk = 0');
    ws.db.exec(TOKEN_FACTS_BACKFILL);
    const after = ws.db
      .prepare('SELECT id, caps, risk, scopes, service, deployment, issued_at, expires_at FROM tokens ORDER BY id')
      .all() as {
      id: number;
      caps: number;
      risk: number;
      scopes: string;
      service: string;
      deployment: string;
      issued_at: number;
      expires_at: number;
    }[];
    for (const m of minted) {
      const a = after.find((r) => r.id === m.id)!;
      assert.deepEqual([a.caps, a.risk], [m.caps, m.risk], `token ${m.id} (${a.service})`);
    }
    for (const a of after.slice(minted.length)) {
      const want = tokenFacts(
        JSON.parse(a.scopes) as TokenScope[],
        a.deployment,
        a.service === 'admin',
        a.expires_at - a.issued_at,
      );
      assert.deepEqual([a.caps, a.risk], [want.caps, want.risk], a.scopes);
    }
    assert.equal(CAPABILITY_BITS.daemon_socket, 4);
  } finally {
    ws.close();
  }
});

test('a capability or risk page walks its own partial index in page order', async () => {
  const ws = await workspaceWithTokens();
  try {
    const plan = (filter: Record<string, string>) => {
      const q = pageIdsQuery(filter, 2_000_000_000, 'issued_at', 'desc');
      return (ws.db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params, 200, 0) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
    };
    assert.match(plan({ capability: 'secret_write' }), /USING (COVERING )?INDEX tokens_cap_secret_write/);
    assert.match(
      plan({ capability: 'wildcard_write', status: 'active' }),
      /USING (COVERING )?INDEX tokens_cap_wildcard_write/,
    );
    assert.match(
      plan({ capability: 'daemon_socket', status: 'revoked' }),
      /USING (COVERING )?INDEX tokens_cap_daemon_socket/,
    );
    assert.match(plan({ risk: 'high' }), /USING (COVERING )?INDEX tokens_risk_high/);
    assert.doesNotMatch(plan({ capability: 'secret_write' }), /TEMP B-TREE/);
  } finally {
    ws.close();
  }
});

/**
 * Seeding a large token ledger FAST, for the benchmarks that need 100,000 or 1,000,000 rows.
 *
 * Minting a million tokens through the product would take many minutes, so the rows are written
 * with direct SQL in ONE transaction, shaped like what the product writes:
 *
 * - tokens come in batches per service (1–400 containers named `<service>-<n>`, one issued_at per
 *   batch, as `mintBatch` does), 80 % zlayer / 20 % ed25519 with the workspace's real key ids,
 *   kid, issuer and audience, the service's real policy scopes and TTL (1 h to 90 d), issued over
 *   the last 120 days, so a good part is expired; random UUID jti, random SHA-256;
 * - ~5 % are revoked (a reason, a time between issue and expiry, `revoke_audit_seq`);
 * - the audit log gets what the product would have written: one `token.mint_batch` summary and one
 *   `token.mint` entry per token, one `token.revoke` entry per revocation, on a VALID hash chain
 *   (checked against the product's own `auditEntryHash` for the first entries), and the head in meta.
 *
 * For speed the token and audit indexes are dropped inside the transaction and re-created from
 * their exact `sqlite_master` SQL afterwards (a sorted bulk build instead of a million random
 * B-tree inserts per index), and the connection writes without a journal; the schema and the
 * settings that result are the product's (WAL, synchronous FULL).
 * Then `mintBatch` mints real tokens on top, through the product.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { REVOKE_REASONS } from '../../shared/ipc/contract/tokens.ts';
import { auditEntryHash, canonicalJson, GENESIS_HASH } from '../../electron/core/workspace/audit.ts';
import { getService, policyOf } from '../../electron/core/deployments/deployments.ts';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { activeSigner, getTokenConfig, nowSecs } from '../../electron/core/tokens/signing-keys.ts';
import { normalizeScopes } from '../../electron/core/tokens/claims.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { tokenFacts, type TokenFacts } from '../../shared/policy/token-risk.ts';
import { SERVICES } from './fixtures.ts';
import { prng } from './stats.ts';

const DAY = 86_400;
const ISSUE_SPAN_SECS = 120 * DAY;
const REVOKED_SHARE = 0.05;
const ED25519_SHARE = 0.2;
const MAX_BATCH = 400;

export interface SeedResult {
  syntheticRows: number;
  realMinted: number;
  /** Milliseconds: whole seeding, the SQL insert, the index rebuild, and the real mintBatch. */
  totalMs: number;
  insertMs: number;
  indexMs: number;
  mintMs: number;
  auditEntries: number;
  status: { active: number; expired: number; revoked: number };
  /** The service the real tokens were minted for. */
  realService: { deployment: string; service: string };
}

interface ServicePlan {
  deployment: string;
  service: string;
  scopesJson: string;
  ttl: number;
  /** Capability bits and risk, as minting stores them. */
  facts: TokenFacts;
}

/** The canonical JSON of an audit entry without its hash, field order as canonicalJson sorts them. */
function hashedText(
  seq: number,
  ts: string,
  user: string,
  kind: string,
  action: string,
  target: string,
  detailsJson: string,
  prevHash: string,
): string {
  return (
    `{"action":${JSON.stringify(action)},"actor_kind":${JSON.stringify(kind)},"actor_user":${JSON.stringify(user)},` +
    `"details":${detailsJson},"prev_hash":"${prevHash}","seq":${seq},"target":${JSON.stringify(target)},"ts":"${ts}"}`
  );
}

/**
 * Writes `rows` synthetic ledger rows (plus their audit entries) in one transaction, then mints
 * `realMint` real zlayer tokens with `mintBatch`. The vault must be unlocked and both keys exist.
 */
export function seedLedger(ws: Workspace, rows: number, realMint: number, seed = 20261123): SeedResult {
  const t0 = performance.now();
  const rand = prng(seed);
  const now = nowSecs();
  const zlayer = activeSigner(ws, 'zlayer').key;
  const ed25519 = activeSigner(ws, 'ed25519').key;
  const config = getTokenConfig(ws);
  const plans: ServicePlan[] = SERVICES.map(({ deployment, service }) => {
    const policy = policyOf(getService(ws, deployment, service));
    return {
      deployment,
      service,
      scopesJson: JSON.stringify(normalizeScopes(policy.access.scopes)),
      ttl: policy.access.ttl_secs,
      facts: tokenFacts(normalizeScopes(policy.access.scopes), deployment, policy.access.mount_socket, policy.access.ttl_secs),
    };
  });
  // A few services mint most tokens (as real fleets do): weight ~ 1/(rank+1).
  const weights = plans.map((_, i) => 1 / (1 + (i % 17)));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const pickService = (): ServicePlan => {
    let r = rand() * weightSum;
    for (let i = 0; i < plans.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return plans[i]!;
    }
    return plans[plans.length - 1]!;
  };

  const user = ws.actor.user;
  const kind = ws.actor.kind;
  const indexSql = (
    ws.db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('tokens', 'audit') AND sql IS NOT NULL",
      )
      .all() as { name: string; sql: string }[]
  ).map((r) => r);

  let insertMs = 0;
  let indexMs = 0;
  let auditEntries = 0;
  const status = { active: 0, expired: 0, revoked: 0 };

  // Bulk-load settings for this connection only, restored below: the seed is written once into a
  // throw-away file, so no rollback journal (the WAL would hold the whole ledger a second time),
  // no fsync, a 1 GiB page cache, and the index sorts in memory on two threads.
  ws.db.exec('PRAGMA journal_mode = OFF');
  ws.db.exec('PRAGMA synchronous = OFF');
  ws.db.exec('PRAGMA cache_size = -1048576');
  ws.db.exec('PRAGMA temp_store = MEMORY');
  ws.db.exec('PRAGMA threads = 2');
  ws.transaction(() => {
    const i0 = performance.now();
    for (const { name } of indexSql) ws.db.exec(`DROP INDEX "${name}"`);
    const last = ws.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    let seq = last?.seq ?? 0;
    let prevHash = last?.hash ?? GENESIS_HASH;
    let checked = 0;
    const insertAudit = ws.db.prepare(
      `INSERT INTO audit (seq, ts, actor_user, actor_kind, action, target, details, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const append = (ts: string, action: string, target: string, detailsJson: string): number => {
      seq += 1;
      const hash = createHash('sha256')
        .update(hashedText(seq, ts, user, kind, action, target, detailsJson, prevHash))
        .digest('hex');
      if (checked < 3) {
        // The hand-written canonical form must be exactly the product's.
        const expected = auditEntryHash({
          seq,
          ts,
          actor_user: user,
          actor_kind: kind,
          action,
          target,
          details: JSON.parse(detailsJson) as Record<string, never>,
          prev_hash: prevHash,
        });
        if (expected !== hash || canonicalJson(JSON.parse(detailsJson)) !== detailsJson) {
          throw new Error(`seeded audit entry ${seq} does not hash as the product would`);
        }
        checked += 1;
      }
      insertAudit.run(seq, ts, user, kind, action, target, detailsJson, prevHash, hash);
      prevHash = hash;
      auditEntries += 1;
      return seq;
    };
    const insertToken = ws.db.prepare(
      `INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, kid, scopes,
         issued_at, expires_at, revoked_at, revoke_reason, token_sha256, forced_ttl, issuer, audience, caps, risk)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
    );
    const revocations: { id: number; jti: string; at: number; reason: string; p: ServicePlan; container: string; keyId: string }[] = [];

    let written = 0;
    const start = now - ISSUE_SPAN_SECS;
    while (written < rows) {
      const p = pickService();
      const size = Math.min(rows - written, 1 + Math.floor(rand() * rand() * MAX_BATCH));
      // Issue times advance with the row count, with jitter, so ids follow issued_at as they do.
      const iat = Math.min(now - 60, start + Math.floor((written / rows) * ISSUE_SPAN_SECS + rand() * 600));
      const exp = iat + p.ttl;
      const asym = rand() < ED25519_SHARE;
      const key = asym ? ed25519 : zlayer;
      const profile = asym ? 'ed25519' : 'zlayer';
      const ts = new Date(iat * 1000 + Math.floor(rand() * 1000)).toISOString();
      const batchSeq = append(
        ts,
        'token.mint_batch',
        `service:${p.deployment}/${p.service}`,
        canonicalJson({
          count: size,
          deployment: p.deployment,
          service: p.service,
          profile,
          key_id: key.id,
          kid: key.kid,
          scopes: JSON.parse(p.scopesJson) as never,
          ttl_secs: p.ttl,
          policy_ttl_secs: p.ttl,
          issued_at: iat,
        }),
      );
      const shas = randomBytes(32 * size).toString('hex');
      for (let n = 0; n < size; n++) {
        const jti = randomUUID();
        const container = `${p.service}-${n}`;
        const subject = `container:${p.service}:${container}`;
        const sha256 = shas.slice(n * 64, n * 64 + 64);
        let revokedAt: number | null = null;
        let reason: string | null = null;
        if (rand() < REVOKED_SHARE) {
          revokedAt = iat + Math.floor(rand() * (Math.min(exp, now) - iat));
          reason = REVOKE_REASONS[Math.floor(rand() * REVOKE_REASONS.length)]!;
          status.revoked += 1;
        } else if (exp < now) status.expired += 1;
        else status.active += 1;
        const info = insertToken.run(
          jti,
          subject,
          p.deployment,
          p.service,
          container,
          profile,
          key.id,
          key.kid,
          p.scopesJson,
          iat,
          exp,
          revokedAt,
          reason,
          sha256,
          asym ? config.issuer : null,
          asym ? config.audience : null,
          p.facts.caps,
          p.facts.risk,
        );
        append(
          ts,
          'token.mint',
          `token:${jti}`,
          `{"batch_seq":${batchSeq},"container":${JSON.stringify(container)},"expires_at":${exp},"jti":"${jti}","sha256":"${sha256}","subject":${JSON.stringify(subject)}}`,
        );
        if (revokedAt !== null) {
          revocations.push({ id: Number(info.lastInsertRowid), jti, at: revokedAt, reason: reason!, p, container, keyId: key.id });
        }
      }
      written += size;
    }
    // Revocations happened later than the mints; their entries follow, in time order.
    revocations.sort((a, b) => a.at - b.at);
    const link = ws.db.prepare('UPDATE tokens SET revoke_audit_seq = ? WHERE id = ?');
    for (const r of revocations) {
      const entrySeq = append(
        new Date(r.at * 1000).toISOString(),
        'token.revoke',
        `token:${r.jti}`,
        canonicalJson({
          jti: r.jti,
          reason: r.reason,
          replaced_by: null,
          deployment: r.p.deployment,
          service: r.p.service,
          container: r.container,
          key_id: r.keyId,
        }),
      );
      link.run(entrySeq, r.id);
    }
    const setMeta = ws.db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    setMeta.run('audit_head_seq', String(seq));
    setMeta.run('audit_head_hash', prevHash);
    const i1 = performance.now();
    insertMs = i1 - i0;
    for (const { sql } of indexSql) ws.db.exec(sql);
    indexMs = performance.now() - i1;
  });
  // Back to exactly what Workspace.open set (workspace.ts) and SQLite's defaults.
  ws.db.exec('PRAGMA journal_mode = WAL');
  ws.db.exec('PRAGMA synchronous = FULL');
  ws.db.exec('PRAGMA cache_size = -2000');
  ws.db.exec('PRAGMA temp_store = DEFAULT');
  ws.db.exec('PRAGMA threads = 0');

  // Real tokens on top, through the product (one batch per 10,000, the product's batch path).
  const real = plans[0]!;
  const m0 = performance.now();
  let realMinted = 0;
  while (realMinted < realMint) {
    const size = Math.min(10_000, realMint - realMinted);
    const containers = Array.from({ length: size }, (_, i) => `${real.service}-seed-${realMinted + i}`);
    realMinted += mintBatch(ws, { deployment: real.deployment, service: real.service, containers }).length;
  }
  const mintMs = performance.now() - m0;
  status.active += realMinted;
  auditEntries += realMinted + Math.ceil(realMint / 10_000);

  return {
    syntheticRows: rows,
    realMinted,
    totalMs: performance.now() - t0,
    insertMs,
    indexMs,
    mintMs,
    auditEntries,
    status,
    realService: { deployment: real.deployment, service: real.service },
  };
}

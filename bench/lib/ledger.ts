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
 *
 * A PostgreSQL workspace (team mode) gets the same rows from the same generator, written in chunks
 * (seedLedgerPostgres below says how).
 */
import { createHash, createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { SQLInputValue } from 'node:sqlite';
import { REVOKE_REASONS } from '../../shared/ipc/contract/tokens.ts';
import { auditEntryHash, auditEntryMac, auditSealMac, canonicalJson, GENESIS_HASH } from '../../electron/core/workspace/audit.ts';
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
  /** PostgreSQL: VACUUM (ANALYZE) after the load, milliseconds. */
  vacuumMs?: number;
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
/** Where the synthetic rows go: the SQLite file row by row, or PostgreSQL in chunks. */
interface LedgerSink {
  audit(seq: number, ts: string, action: string, target: string, detailsJson: string, prevHash: string, hash: string): void;
  /** Values in the order of TOKEN_COLUMNS; returns the row's id. */
  token(values: SQLInputValue[]): number;
  /** The revocation's audit entry, for the token row's revoke_audit_seq. */
  link(entrySeq: number, id: number): void;
}

/** tokens columns the synthetic rows fill (forced_ttl is 0; the rest take their defaults). */
const TOKEN_COLUMNS = [
  'jti', 'subject', 'deployment', 'service', 'container', 'profile', 'key_id', 'kid', 'scopes',
  'issued_at', 'expires_at', 'revoked_at', 'revoke_reason', 'token_sha256', 'issuer', 'audience', 'caps', 'risk',
] as const;

interface Generated {
  seq: number;
  hash: string;
  auditEntries: number;
  status: { active: number; expired: number; revoked: number };
}

/**
 * Generates `rows` synthetic ledger rows and their audit entries (after the chain's head `last`)
 * into `sink`, in the order the product would have written them. Consumes `rand` exactly as the
 * SQLite seeder always has, so a seed number gives the same ledger on both engines.
 */
function generate(
  ws: Workspace,
  rows: number,
  rand: () => number,
  now: number,
  last: { seq: number; hash: string },
  sink: LedgerSink,
): Generated {
  const zlayer = activeSigner(ws, 'zlayer').key;
  const ed25519 = activeSigner(ws, 'ed25519').key;
  const config = getTokenConfig(ws);
  const plans: ServicePlan[] = planServices(ws);
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
  let auditEntries = 0;
  const status = { active: 0, expired: 0, revoked: 0 };
  let seq = last.seq;
  let prevHash = last.hash;
  let checked = 0;
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
    sink.audit(seq, ts, action, target, detailsJson, prevHash, hash);
    prevHash = hash;
    auditEntries += 1;
    return seq;
  };
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
      const id = sink.token([
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
      ]);
      append(
        ts,
        'token.mint',
        `token:${jti}`,
        `{"batch_seq":${batchSeq},"container":${JSON.stringify(container)},"expires_at":${exp},"jti":"${jti}","sha256":"${sha256}","subject":${JSON.stringify(subject)}}`,
      );
      if (revokedAt !== null) {
        revocations.push({ id, jti, at: revokedAt, reason: reason!, p, container, keyId: key.id });
      }
    }
    written += size;
  }
  // Revocations happened later than the mints; their entries follow, in time order.
  revocations.sort((a, b) => a.at - b.at);
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
    sink.link(entrySeq, r.id);
  }
  return { seq, hash: prevHash, auditEntries, status };
}

function planServices(ws: Workspace): ServicePlan[] {
  return SERVICES.map(({ deployment, service }) => {
    const policy = policyOf(getService(ws, deployment, service));
    return {
      deployment,
      service,
      scopesJson: JSON.stringify(normalizeScopes(policy.access.scopes)),
      ttl: policy.access.ttl_secs,
      facts: tokenFacts(normalizeScopes(policy.access.scopes), deployment, policy.access.mount_socket, policy.access.ttl_secs),
    };
  });
}

/** Real tokens on top, through the product (one batch per 10,000, the product's batch path). */
function mintReal(ws: Workspace, realMint: number): number {
  const real = planServices(ws)[0]!;
  let realMinted = 0;
  while (realMinted < realMint) {
    const size = Math.min(10_000, realMint - realMinted);
    const containers = Array.from({ length: size }, (_, i) => `${real.service}-seed-${realMinted + i}`);
    realMinted += mintBatch(ws, { deployment: real.deployment, service: real.service, containers }).length;
  }
  return realMinted;
}

/**
 * Writes `rows` synthetic ledger rows (plus their audit entries) in one transaction, then mints
 * `realMint` real zlayer tokens with `mintBatch`. The vault must be unlocked and both keys exist.
 */
export function seedLedger(ws: Workspace, rows: number, realMint: number, seed = 20261123): SeedResult {
  if (ws.shared) return seedLedgerPostgres(ws, rows, realMint, seed);
  const t0 = performance.now();
  const rand = prng(seed);
  const now = nowSecs();
  const indexSql = (
    ws.db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('tokens', 'audit') AND sql IS NOT NULL",
      )
      .all() as { name: string; sql: string }[]
  ).map((r) => r);

  let insertMs = 0;
  let indexMs = 0;
  let generated: Generated | null = null;

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
    const insertAudit = ws.db.prepare(
      `INSERT INTO audit (seq, ts, actor_user, actor_kind, action, target, details, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertToken = ws.db.prepare(
      `INSERT INTO tokens (${TOKEN_COLUMNS.join(', ')}, forced_ttl)
       VALUES (${TOKEN_COLUMNS.map(() => '?').join(', ')}, 0)`,
    );
    const link = ws.db.prepare('UPDATE tokens SET revoke_audit_seq = ? WHERE id = ?');
    const user = ws.actor.user;
    const kind = ws.actor.kind;
    generated = generate(ws, rows, rand, now, last ?? { seq: 0, hash: GENESIS_HASH }, {
      audit: (seq, ts, action, target, detailsJson, prevHash, hash) => {
        insertAudit.run(seq, ts, user, kind, action, target, detailsJson, prevHash, hash);
      },
      token: (values) => Number(insertToken.run(...values).lastInsertRowid),
      link: (entrySeq, id) => {
        link.run(entrySeq, id);
      },
    });
    const setMeta = ws.db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    setMeta.run('audit_head_seq', String(generated.seq));
    setMeta.run('audit_head_hash', generated.hash);
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

  const m0 = performance.now();
  const realMinted = mintReal(ws, realMint);
  const mintMs = performance.now() - m0;
  return result(generated!, rows, realMinted, realMint, ws, t0, insertMs, indexMs, mintMs);
}

function result(
  g: Generated,
  rows: number,
  realMinted: number,
  realMint: number,
  ws: Workspace,
  t0: number,
  insertMs: number,
  indexMs: number,
  mintMs: number,
  extra: Record<string, number> = {},
): SeedResult {
  const real = planServices(ws)[0]!;
  return {
    syntheticRows: rows,
    realMinted,
    totalMs: performance.now() - t0,
    insertMs,
    indexMs,
    mintMs,
    auditEntries: g.auditEntries + realMinted + Math.ceil(realMint / 10_000),
    status: { ...g.status, active: g.status.active + realMinted },
    realService: { deployment: real.deployment, service: real.service },
    ...extra,
  };
}

/** Rows per INSERT … SELECT FROM unnest(…) on PostgreSQL (one round trip through the driver thread each). */
const PG_CHUNK = 10_000;
const AUDIT_KEY_INFO = 'castellan audit entry mac v1';

/**
 * The same ledger in a PostgreSQL workspace. Row-at-a-time through the synchronous driver would
 * be a million round trips, so rows go in chunks: one `INSERT … SELECT FROM unnest($1::text[], …)`
 * per 10,000 rows, with explicit ids (the identity sequence is moved past them afterwards), inside
 * one transaction with the secondary indexes dropped and re-created from their own definitions
 * (pg_get_indexdef). Unlike the SQLite seed, every entry carries its live MAC and the log's seal
 * moves to the new head, as if the vault had been unlocked throughout: sealing a million-entry
 * tail afterwards (what the SQLite seed's first mintBatch does) would be a million round trips.
 * The MAC key is derived as record-integrity.ts does, and checked against the seal the product
 * wrote before seeding. Then VACUUM (ANALYZE): a long-lived database has been vacuumed and has
 * statistics; a freshly bulk-loaded one has neither.
 */
function seedLedgerPostgres(ws: Workspace, rows: number, realMint: number, seed: number): SeedResult {
  const t0 = performance.now();
  const rand = prng(seed);
  const now = nowSecs();
  const key = createSecretKey(ws.vault.deriveKey(AUDIT_KEY_INFO));
  const seal = ws.audit.readSeal();
  if (seal === null || auditSealMac(key, seal.seq, seal.hash) !== seal.mac) {
    throw new Error('the audit MAC key the PostgreSQL seed derives does not match the seal the product wrote');
  }
  const indexes = ws.db
    .prepare(
      `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS sql
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       WHERE t.relname IN ('tokens', 'audit') AND t.relnamespace = current_schema()::regnamespace
         AND NOT x.indisprimary AND NOT x.indisunique`,
    )
    .all() as { name: string; sql: string }[];
  const types = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint'];
  const insertTokens = ws.db.prepare(
    `INSERT INTO tokens (id, ${TOKEN_COLUMNS.join(', ')}, forced_ttl)
     SELECT *, 0 FROM unnest(?::bigint[], ${types.map((t) => `?::${t}[]`).join(', ')})`,
  );
  const insertAudit = ws.db.prepare(
    `INSERT INTO audit (seq, ts, actor_user, actor_kind, action, target, details, prev_hash, hash, mac)
     SELECT s, ts, ?, ?, a, t, d, p, h, m
     FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS u(s, ts, a, t, d, p, h, m)`,
  );
  const user = ws.actor.user;
  const kind = ws.actor.kind;
  let tokenCols: SQLInputValue[][] = [];
  let tokenIds: number[] = [];
  let auditCols: SQLInputValue[][] = [];
  const links: [number[], number[]] = [[], []];
  const flushTokens = (): void => {
    if (tokenIds.length === 0) return;
    insertTokens.run(...([tokenIds, ...tokenCols] as unknown as SQLInputValue[]));
    tokenIds = [];
    tokenCols = [];
  };
  const flushAudit = (): void => {
    if (auditCols.length === 0 || auditCols[0]!.length === 0) return;
    insertAudit.run(user, kind, ...(auditCols as unknown as SQLInputValue[]));
    auditCols = [];
  };

  let insertMs = 0;
  let indexMs = 0;
  let generated: Generated | null = null;
  ws.transaction(() => {
    ws.db.exec("SET LOCAL maintenance_work_mem = '512MB'");
    const i0 = performance.now();
    for (const { name } of indexes) ws.db.exec(`DROP INDEX "${name}"`);
    const last = ws.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    let nextId = (ws.db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM tokens').get() as { m: number }).m + 1;
    generated = generate(ws, rows, rand, now, last ?? { seq: 0, hash: GENESIS_HASH }, {
      audit: (seq, ts, action, target, detailsJson, prevHash, hash) => {
        if (auditCols.length === 0) auditCols = [[], [], [], [], [], [], [], []];
        const values = [seq, ts, action, target, detailsJson, prevHash, hash, auditEntryMac(key, hash, false)];
        for (let c = 0; c < values.length; c++) auditCols[c]!.push(values[c]!);
        if (auditCols[0]!.length >= PG_CHUNK) flushAudit();
      },
      token: (values) => {
        if (tokenCols.length === 0) tokenCols = values.map(() => []);
        const id = nextId++;
        tokenIds.push(id);
        for (let c = 0; c < values.length; c++) tokenCols[c]!.push(values[c]!);
        if (tokenIds.length >= PG_CHUNK) flushTokens();
        return id;
      },
      link: (entrySeq, id) => {
        links[0].push(id);
        links[1].push(entrySeq);
      },
    });
    flushTokens();
    flushAudit();
    for (let i = 0; i < links[0].length; i += PG_CHUNK) {
      ws.db
        .prepare(
          `UPDATE tokens SET revoke_audit_seq = u.seq
           FROM unnest(?::bigint[], ?::bigint[]) AS u(id, seq) WHERE tokens.id = u.id`,
        )
        .run(...([links[0].slice(i, i + PG_CHUNK), links[1].slice(i, i + PG_CHUNK)] as unknown as SQLInputValue[]));
    }
    ws.db.prepare("SELECT setval(pg_get_serial_sequence('tokens', 'id'), (SELECT MAX(id) FROM tokens))").get();
    const setMeta = ws.db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    setMeta.run('audit_head_seq', String(generated.seq));
    setMeta.run('audit_head_hash', generated.hash);
    setMeta.run('audit_seal', `${generated.seq}:${generated.hash}:${auditSealMac(key, generated.seq, generated.hash)}`);
    const i1 = performance.now();
    insertMs = i1 - i0;
    for (const { sql } of indexes) ws.db.exec(sql);
    indexMs = performance.now() - i1;
  });
  const v0 = performance.now();
  ws.db.exec('VACUUM (ANALYZE) tokens');
  ws.db.exec('VACUUM (ANALYZE) audit');
  const vacuumMs = performance.now() - v0;

  const m0 = performance.now();
  const realMinted = mintReal(ws, realMint);
  const mintMs = performance.now() - m0;
  ws.db.exec('ANALYZE tokens');
  return result(generated!, rows, realMinted, realMint, ws, t0, insertMs, indexMs, mintMs, { vacuumMs });
}

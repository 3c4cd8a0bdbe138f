/**
 * Minting container tokens, fail-closed.
 *
 * The policy comes from the service's labels (`policyOf(getService(…))`), the
 * claims from the profile's builder (COMPAT.md for zlayer), and the order is
 * the reference's persist-before-embed rule: the ledger row and the audit
 * entry are written in one transaction, and the token leaves this module only
 * after that transaction has committed. A token whose `jti` has no ledger row
 * therefore never exists.
 *
 * - `noJti` mints the daemon's "un-revocable" form (no `jti` claim, bounded
 *   only by its TTL); it is still recorded (jti NULL, its SHA-256) and the
 *   audit entry says `no_jti: true`.
 * - A TTL override may only shorten the policy's TTL, unless `force`; a forced
 *   longer TTL sets `forced_ttl` on the row and in the audit entry.
 * - The workspace's `max_token_ttl_secs` (workspace-settings.ts, default 30 days)
 *   caps every mint, forced or not, and a policy TTL above it too: nothing mints a
 *   token that outlives it. And no token may expire after MAX_SHOWN_UNIX_SECS
 *   (year 9999), the last time the ledger, the CLI and the UI can all show.
 * - A batch (every replica `<service>-<n>`, ZLayer's container naming, or an
 *   explicit list) is one transaction: all rows or none, with progress
 *   reported from inside it and the tokens returned only after COMMIT.
 */
import { randomUUID } from 'node:crypto';
import type { SQLInputValue } from 'node:sqlite';
import type { SqlStatement } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import { formatTtl } from '../../../shared/policy/index.ts';
import { isoFromUnixSecs, MAX_SHOWN_UNIX_SECS } from '../../../shared/time.ts';
import { tokenFacts, type TokenFacts } from '../../../shared/policy/token-risk.ts';
import type { AuditDetails } from '../workspace/audit.ts';
import { getService, policyOf, type ServicePolicy } from '../deployments/deployments.ts';
import { activeSigner, getTokenConfig, nowSecs, type ActiveSigner } from './signing-keys.ts';
import { recordOf, tokenTarget, type TokenRecord, type TokenRow } from './token-ledger.ts';
import { readWorkspaceSettings } from '../workspace/workspace-settings.ts';
import { asymmetricClaims, normalizeScopes, zlayerClaims, type TokenScope } from './claims.ts';
import { isProfile, PROFILES, type Profile } from './key-material.ts';
import { tokenSha256 } from './sign.ts';
import type { Workspace } from '../workspace/workspace.ts';

export const MAX_BATCH = 100_000;
const CONTAINER_ID = /^[^\s:\p{Cc}]{1,253}$/u;

export type Minted = { token: string; record: TokenRecord };

export type MintOptions = {
  deployment: string;
  service: string;
  container: string;
  profile?: Profile;
  /** Shorter than the policy's TTL, or longer with `force`. */
  ttlSecs?: number;
  force?: boolean;
  noJti?: boolean;
  /**
   * The replica's create attempt (garm's attempt binding): recorded on the row, carried as the
   * `create_attempt` claim by ed25519/es256 tokens (never by zlayer tokens, whose claims are
   * pinned). With the workspace's `attempt_binding` on, the container's active tokens from
   * earlier (or unnamed) attempts are revoked as `superseded` in the same transaction, and an
   * attempt older than one already minted for the container is refused.
   */
  attempt?: number;
  /** Unix seconds; defaults to the clock. */
  now?: number;
};

export type BatchOptions = {
  deployment: string;
  service: string;
  /** Defaults to `<service>-0 … <service>-(replicas-1)`; required when the replica count is unknown. */
  containers?: readonly string[];
  profile?: Profile;
  /** May only shorten the policy's TTL. */
  ttlSecs?: number;
  now?: number;
  /** Called from inside the transaction, about every 1 % and at the end. */
  onProgress?: (done: number, total: number) => void;
};

/** Everything one mint needs, resolved once per call (or once per batch). */
type MintPlan = {
  deployment: string;
  service: string;
  profile: Profile;
  policy: ServicePolicy;
  scopes: TokenScope[];
  scopesJson: string;
  ttlSecs: number;
  policyTtlSecs: number;
  forced: boolean;
  signer: ActiveSigner;
  issuer: string | null;
  audience: string | null;
  /** What the token can do (shared/policy/token-risk.ts), stored beside it for the list filters. */
  facts: TokenFacts;
  attemptBinding: boolean;
  insert: SqlStatement;
  returnsId: boolean;
};

type Extra = Record<string, string | number | boolean | null>;

function requireName(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a name of 1 to 253 characters`);
  }
  return value;
}

function requireContainer(value: unknown): string {
  if (typeof value !== 'string' || !CONTAINER_ID.test(value)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `container id ${typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : ''} must be 1 to 253 characters without ':', whitespace or control characters`,
    );
  }
  return value;
}

function plan(
  ws: Workspace,
  input: { deployment: string; service: string; profile?: Profile; ttlSecs?: number; force?: boolean },
): MintPlan {
  // Locked first: nothing is looked up or changed for a locked vault.
  ws.vault.requireUnlocked();
  const profile = input.profile ?? 'zlayer';
  if (!isProfile(profile)) throw new CastellanError('INVALID_INPUT', `profile must be one of ${PROFILES.join(', ')}`);
  const deployment = requireName('deployment', input.deployment);
  const service = requireName('service', input.service);
  const policy = policyOf(getService(ws, deployment, service));
  const policyTtlSecs = policy.access.ttl_secs;
  let ttlSecs = policyTtlSecs;
  let forced = false;
  if (input.ttlSecs !== undefined) {
    if (typeof input.ttlSecs !== 'number' || !Number.isSafeInteger(input.ttlSecs) || input.ttlSecs < 1) {
      throw new CastellanError('INVALID_INPUT', 'the TTL must be a whole number of seconds, 1 or more');
    }
    if (input.ttlSecs > policyTtlSecs) {
      if (input.force !== true) {
        throw new CastellanError(
          'INVALID_INPUT',
          `a TTL of ${input.ttlSecs} s (${formatTtl(input.ttlSecs)}) is longer than the ${policyTtlSecs} s (${formatTtl(policyTtlSecs)}) ` +
            `the policy of ${deployment}/${service} allows; only a shorter TTL may be asked for unless forced, and forcing is audited`,
        );
      }
      forced = true;
    }
    ttlSecs = input.ttlSecs;
  }
  const maxTtl = readWorkspaceSettings(ws).max_token_ttl_secs;
  if (ttlSecs > maxTtl) {
    const asked =
      input.ttlSecs === undefined
        ? `the policy of ${deployment}/${service} asks for ${ttlSecs} s (${formatTtl(ttlSecs)})`
        : `a TTL of ${ttlSecs} s (${formatTtl(ttlSecs)}) was asked for${input.force === true ? ' (forced)' : ''}`;
    throw new CastellanError(
      'INVALID_INPUT',
      `${asked}, longer than this workspace's maximum token lifetime of ${maxTtl} s (${formatTtl(maxTtl)}, ` +
        'setting max_token_ttl_secs); no mint may exceed it, forced or not. Ask for a shorter TTL, ' +
        'or raise the maximum (castellan settings set max_token_ttl_secs N, audited)',
    );
  }
  const config = profile === 'zlayer' ? null : getTokenConfig(ws);
  return {
    deployment,
    service,
    profile,
    policy,
    scopes: normalizeScopes(policy.access.scopes),
    scopesJson: JSON.stringify(normalizeScopes(policy.access.scopes)),
    ttlSecs,
    policyTtlSecs,
    forced,
    signer: activeSigner(ws, profile),
    issuer: config?.issuer ?? null,
    audience: config?.audience ?? null,
    facts: tokenFacts(normalizeScopes(policy.access.scopes), deployment, policy.access.mount_socket, ttlSecs),
    attemptBinding: readWorkspaceSettings(ws).attempt_binding,
    insert: ws.db.prepare(
      `INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, kid, scopes,
         issued_at, expires_at, token_sha256, forced_ttl, issuer, audience, caps, risk, create_attempt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)${ws.shared ? ' RETURNING id' : ''}`,
    ),
    // PostgreSQL has no rowid to read back: the new id comes from RETURNING.
    returnsId: ws.shared,
  };
}

/** Refuses a mint whose exp could not be shown by the ledger, the CLI or the UI. */
function requireShownExp(p: MintPlan, now: number): void {
  if (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0) {
    throw new CastellanError('INVALID_INPUT', 'the mint time must be whole seconds since the epoch');
  }
  if (now + p.ttlSecs > MAX_SHOWN_UNIX_SECS) {
    throw new CastellanError(
      'INVALID_INPUT',
      `the token would expire at ${now + p.ttlSecs} s since the epoch, after ${isoFromUnixSecs(MAX_SHOWN_UNIX_SECS)}, ` +
        'the last time the ledger and the console can show; nothing was minted',
    );
  }
}

/**
 * Signs one token and records it with its audit entry. Must run inside the
 * caller's transaction; the caller returns the token only after COMMIT.
 * In a batch (`batchSeq`), what every token shares is in the batch's summary
 * entry, and each token's own entry holds only what is its own.
 */
function signAndRecord(
  ws: Workspace,
  p: MintPlan,
  container: string,
  now: number,
  noJti: boolean,
  audit: { extra?: Extra; batchSeq?: number; attempt?: number } = {},
): Minted {
  const attempt = audit.attempt ?? null;
  const jti = noJti ? null : randomUUID();
  const claimsInput = {
    service: p.service,
    container,
    scopes: p.scopes,
    ttlSecs: p.ttlSecs,
    now,
    jti,
  };
  const claims =
    p.profile === 'zlayer'
      ? zlayerClaims(claimsInput)
      : asymmetricClaims({
          ...claimsInput,
          issuer: p.issuer!,
          audience: p.audience!,
          deployment: p.deployment,
          createAttempt: attempt,
        });
  const token = p.signer.signer.sign(claims);
  const sha256 = tokenSha256(token);
  const values: SQLInputValue[] = [
    jti,
    claims.sub,
    p.deployment,
    p.service,
    container,
    p.profile,
    p.signer.key.id,
    p.signer.key.kid,
    p.scopesJson,
    claims.iat,
    claims.exp,
    sha256,
    p.forced ? 1 : 0,
    p.issuer,
    p.audience,
    p.facts.caps,
    p.facts.risk,
    attempt,
  ];
  const id = p.returnsId
    ? (p.insert.get(...values) as { id: number }).id
    : Number(p.insert.run(...values).lastInsertRowid);
  const row: TokenRow = {
    id,
    jti,
    subject: claims.sub,
    deployment: p.deployment,
    service: p.service,
    container,
    profile: p.profile,
    key_id: p.signer.key.id,
    kid: p.signer.key.kid,
    scopes: p.scopesJson,
    issued_at: claims.iat,
    expires_at: claims.exp,
    revoked_at: null,
    revoke_reason: null,
    replaced_by: null,
    token_sha256: sha256,
    forced_ttl: p.forced ? 1 : 0,
    issuer: p.issuer,
    audience: p.audience,
    revoke_audit_seq: null,
    caps: p.facts.caps,
    risk: p.facts.risk,
    create_attempt: attempt,
  };
  ws.audit.append({
    action: 'token.mint',
    target: tokenTarget(row),
    details:
      audit.batchSeq !== undefined
        ? { jti, container, subject: row.subject, expires_at: row.expires_at, sha256, batch_seq: audit.batchSeq }
        : mintDetails(p, row, noJti, attempt === null ? audit.extra : { ...audit.extra, create_attempt: attempt }),
  });
  if (attempt !== null && p.attemptBinding) supersedeEarlierAttempts(ws, row, attempt, now);
  return { token, record: recordOf(row, now) };
}

function requireAttempt(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CastellanError('INVALID_INPUT', 'the create attempt must be a whole number, 1 or more');
  }
  return value;
}

/** Refuses an attempt older than one already minted for the container (binding on only). */
function assertAttemptIsCurrent(ws: Workspace, p: MintPlan, container: string, attempt: number): void {
  if (!p.attemptBinding) return;
  const row = ws.db
    .prepare('SELECT max(create_attempt) AS newest FROM tokens WHERE deployment = ? AND container = ? AND service = ?')
    .get(p.deployment, container, p.service) as { newest: number | null };
  if (row.newest !== null && row.newest > attempt) {
    throw new CastellanError(
      'CONFLICT',
      `container ${container} of ${p.deployment}/${p.service} already has a token for create attempt ${row.newest}; ` +
        `attempt ${attempt} is an earlier one and gets no token`,
    );
  }
}

/**
 * garm's attempt binding: the container's active tokens from earlier or unnamed attempts are
 * revoked as `superseded` (replaced_by = the new token's jti), each with its audit entry, in the
 * mint's transaction. Tokens of the same attempt are left alone (a refresh replaces those).
 */
function supersedeEarlierAttempts(ws: Workspace, fresh: TokenRow, attempt: number, now: number): void {
  const earlier = ws.db
    .prepare(
      `SELECT id, jti, key_id, create_attempt FROM tokens
       WHERE deployment = ? AND container = ? AND service = ? AND id <> ? AND revoked_at IS NULL AND expires_at >= ?
         AND (create_attempt IS NULL OR create_attempt < ?)`,
    )
    .all(fresh.deployment, fresh.container, fresh.service, fresh.id, now, attempt) as {
    id: number;
    jti: string | null;
    key_id: string;
    create_attempt: number | null;
  }[];
  const update = ws.db.prepare(
    "UPDATE tokens SET revoked_at = ?, revoke_reason = 'superseded', replaced_by = ?, revoke_audit_seq = ? WHERE id = ? AND revoked_at IS NULL",
  );
  for (const old of earlier) {
    const entry = ws.audit.append({
      action: 'token.revoke',
      target: tokenTarget(old),
      details: {
        jti: old.jti,
        reason: 'superseded',
        replaced_by: fresh.jti,
        deployment: fresh.deployment,
        service: fresh.service,
        container: fresh.container,
        key_id: old.key_id,
        create_attempt: old.create_attempt,
        superseded_by_attempt: attempt,
      },
    });
    update.run(now, fresh.jti, entry.seq, old.id);
  }
}

function mintDetails(p: MintPlan, row: TokenRow, noJti: boolean, extra: Extra = {}): AuditDetails {
  return {
    jti: row.jti,
    no_jti: noJti,
    subject: row.subject,
    deployment: p.deployment,
    service: p.service,
    container: row.container,
    profile: p.profile,
    key_id: p.signer.key.id,
    kid: p.signer.key.kid,
    scopes: p.scopes,
    ttl_secs: p.ttlSecs,
    policy_ttl_secs: p.policyTtlSecs,
    forced_ttl: p.forced,
    expires_at: row.expires_at,
    sha256: row.token_sha256,
    ...extra,
  };
}

/** Mints one token. The ledger row and audit entry are committed before it is returned. */
export function mintToken(ws: Workspace, options: MintOptions): Minted {
  const p = plan(ws, options);
  const container = requireContainer(options.container);
  const attempt = options.attempt === undefined ? undefined : requireAttempt(options.attempt);
  const now = options.now ?? nowSecs();
  requireShownExp(p, now);
  return ws.transaction(() => {
    if (attempt !== undefined) assertAttemptIsCurrent(ws, p, container, attempt);
    return signAndRecord(ws, p, container, now, options.noJti === true, attempt === undefined ? {} : { attempt });
  });
}

/**
 * Mints inside the caller's transaction (for refresh, which must revoke the old
 * token in the same transaction). The caller must not hand the token out before COMMIT.
 */
export function mintTokenInTransaction(ws: Workspace, options: MintOptions, extra: Extra = {}): Minted {
  if (!ws.db.isTransaction) throw new CastellanError('INTERNAL', 'mintTokenInTransaction needs an open transaction');
  const p = plan(ws, options);
  const now = options.now ?? nowSecs();
  requireShownExp(p, now);
  const container = requireContainer(options.container);
  const attempt = options.attempt === undefined ? undefined : requireAttempt(options.attempt);
  if (attempt !== undefined) assertAttemptIsCurrent(ws, p, container, attempt);
  return signAndRecord(ws, p, container, now, options.noJti === true, {
    extra,
    ...(attempt === undefined ? {} : { attempt }),
  });
}

/** The containers of a batch: the explicit list, or every replica by ZLayer's naming. */
export function batchContainers(
  ws: Workspace,
  deployment: string,
  service: string,
  containers?: readonly string[],
): string[] {
  if (containers !== undefined) {
    if (!Array.isArray(containers) || containers.length === 0) {
      throw new CastellanError('INVALID_INPUT', 'the list of containers is empty');
    }
    if (containers.length > MAX_BATCH) {
      throw new CastellanError(
        'INVALID_INPUT',
        `a batch holds at most ${MAX_BATCH} containers, not ${containers.length}`,
      );
    }
    const seen = new Set<string>();
    for (const c of containers) {
      requireContainer(c);
      if (seen.has(c)) throw new CastellanError('INVALID_INPUT', `container ${JSON.stringify(c)} is listed twice`);
      seen.add(c);
    }
    return [...containers];
  }
  const svc = getService(ws, deployment, service);
  if (svc.replicas === null) {
    throw new CastellanError(
      'INVALID_INPUT',
      `the replica count of ${deployment}/${service} is not known from its spec (scale mode manual or absent); list the containers explicitly`,
    );
  }
  if (svc.replicas === 0) {
    throw new CastellanError(
      'INVALID_INPUT',
      `${deployment}/${service} has 0 replicas; list the containers explicitly`,
    );
  }
  if (svc.replicas > MAX_BATCH) {
    throw new CastellanError(
      'INVALID_INPUT',
      `${deployment}/${service} has ${svc.replicas} replicas; a batch holds at most ${MAX_BATCH}`,
    );
  }
  return Array.from({ length: svc.replicas }, (_, n) => `${service}-${n}`);
}

/**
 * Mints one token per container in ONE transaction: every row and audit entry
 * or none. Progress is reported from inside the transaction; the tokens are
 * returned only after COMMIT, so none can escape a rolled-back batch.
 */
export function mintBatch(ws: Workspace, options: BatchOptions): Minted[] {
  const p = plan(ws, {
    deployment: options.deployment,
    service: options.service,
    profile: options.profile,
    ttlSecs: options.ttlSecs,
  });
  const containers = batchContainers(ws, p.deployment, p.service, options.containers);
  const now = options.now ?? nowSecs();
  requireShownExp(p, now);
  const total = containers.length;
  const step = Math.max(1, Math.ceil(total / 100));
  return ws.transaction(() => {
    // The summary comes first, so each token's entry can name it (batch_seq).
    const summary = ws.audit.append({
      action: 'token.mint_batch',
      target: `service:${p.deployment}/${p.service}`,
      details: {
        count: total,
        deployment: p.deployment,
        service: p.service,
        profile: p.profile,
        key_id: p.signer.key.id,
        kid: p.signer.key.kid,
        scopes: p.scopes,
        ttl_secs: p.ttlSecs,
        policy_ttl_secs: p.policyTtlSecs,
        issued_at: now,
      },
    });
    const minted: Minted[] = [];
    for (const container of containers) {
      minted.push(signAndRecord(ws, p, container, now, false, { batchSeq: summary.seq }));
      if (minted.length % step === 0 || minted.length === total) options.onProgress?.(minted.length, total);
    }
    return minted;
  });
}

/**
 * What a command can refuse before it asks for the passphrase. Unlocking costs a full-strength
 * scrypt (seconds) and a prompt; a request that will be refused anyway (no such service, no
 * active key, a TTL beyond the policy without --force, a revoked token) is refused at once,
 * with the same message the core gives once unlocked. The core checks everything again after
 * the unlock: these are a courtesy, never the guard.
 */
import { formatTtl } from '../../shared/policy/index.ts';
import { CastellanError } from '../../shared/errors.ts';
import { getService, policyOf } from '../core/deployments/deployments.ts';
import type { Profile } from '../core/tokens/key-material.ts';
import type { TokenRow } from '../core/tokens/token-ledger.ts';
import type { Workspace } from '../core/workspace/workspace.ts';

/** The message `activeSigner` gives, without unlocking anything. */
export function assertActiveKey(ws: Workspace, profile: Profile): void {
  // A read of the key table only: the sealed key itself is not touched.
  const row = ws.db.prepare("SELECT 1 AS ok FROM signing_keys WHERE profile = ? AND state = 'active'").get(profile);
  if (row === undefined) {
    throw new CastellanError(
      'NOT_FOUND',
      profile === 'zlayer'
        ? 'there is no active zlayer key: import the daemon’s secret (keys import-zlayer-secret) or create one'
        : `there is no active ${profile} key: create one (keys create --profile ${profile})`,
    );
  }
}

/** The service exists, its policy allows the TTL (or --force), and the profile has an active key. */
export function assertMintable(
  ws: Workspace,
  input: { deployment: string; service: string; profile?: Profile; ttlSecs?: number; force?: boolean },
): void {
  const policy = policyOf(getService(ws, input.deployment, input.service));
  const allowed = policy.access.ttl_secs;
  if (input.ttlSecs !== undefined && input.ttlSecs > allowed && input.force !== true) {
    throw new CastellanError(
      'INVALID_INPUT',
      `a TTL of ${input.ttlSecs} s (${formatTtl(input.ttlSecs)}) is longer than the ${allowed} s (${formatTtl(allowed)}) ` +
        `the policy of ${input.deployment}/${input.service} allows; only a shorter TTL may be asked for unless forced, and forcing is audited`,
    );
  }
  assertActiveKey(ws, input.profile ?? 'zlayer');
}

/** A token `refresh` can replace: not revoked, and its profile has an active key. */
export function assertRefreshable(ws: Workspace, row: TokenRow): void {
  if (row.revoked_at !== null) {
    throw new CastellanError(
      'CONFLICT',
      `token ${row.jti ?? `#${row.id}`} was already revoked (${row.revoke_reason ?? 'no reason'}); mint a new one instead`,
    );
  }
  if (row.jti === null) {
    throw new CastellanError('INVALID_INPUT', `token #${row.id} was minted without a jti: it cannot be refreshed or revoked, only expire`);
  }
  assertActiveKey(ws, row.profile as Profile);
}

function activeKeyId(ws: Workspace, profile: Profile): string | null {
  const row = ws.db.prepare("SELECT id FROM signing_keys WHERE profile = ? AND state = 'active'").get(profile) as { id: string } | undefined;
  return row?.id ?? null;
}

/** `keys create` of a profile that has an active key: the message `createKey` gives. */
export function assertNoActiveKey(ws: Workspace, profile: Profile): void {
  const existing = activeKeyId(ws, profile);
  if (existing !== null) {
    throw new CastellanError('CONFLICT', `profile ${profile} already has an active key (${existing}); rotate it to replace it`);
  }
}

/** `export revocations` needs an active ed25519 or es256 key: the message the core gives. */
export function assertRevocationSigner(ws: Workspace): void {
  if (activeKeyId(ws, 'ed25519') === null && activeKeyId(ws, 'es256') === null) {
    throw new CastellanError(
      'NOT_FOUND',
      'the revocation list is signed with an asymmetric key, and there is no active ed25519 or es256 key; create one (keys create --profile ed25519)',
    );
  }
}

/**
 * The inspector wired to the workspace: `inspectToken` (tokens/inspect.ts) with
 * this workspace's keys, its issuer and audience, and its ledger.
 *
 * - Asymmetric keys verify from their public JWKs, but only once their key
 *   record passes its authentication check (record-integrity.ts), which needs
 *   the vault unlocked: while locked an ed25519/es256 token gets LOCKED too.
 * - zlayer keys are the daemon's HMAC secret, sealed in the vault. An HS256
 *   token can only be checked with the vault unlocked: while it is locked the
 *   inspection throws LOCKED ("unlock to check") rather than give a verdict that
 *   would be a guess. A malformed token still gets its verdict while locked.
 * - The ledger row is bound by the token's exact SHA-256. A token whose jti is
 *   in the ledger but whose SHA-256 is not that row's is `forged` (it reuses a
 *   real id with claims Castellan never signed), never valid nor revoked.
 * - A token signed by a key marked compromised is `compromised_key`, never valid.
 */
import { describeScopes } from '../../../shared/policy/index.ts';
import { getTokenConfig, nowSecs, retireSpentKeys, verifyKeys } from './signing-keys.ts';
import { recordOf, tokenRowByJti, tokenRowBySha256, type TokenRecord, type TokenRow } from './token-ledger.ts';
import type { TokenScope } from './claims.ts';
import { inspectToken, type Verdict } from './inspect.ts';
import type { Profile } from './key-material.ts';
import type { Workspace } from '../workspace/workspace.ts';

/** The contract's `inspectionSchema`. */
export type TokenInspection = {
  verdict: Verdict;
  reason: string;
  header: Record<string, unknown> | null;
  claims: Record<string, unknown> | null;
  key_id: string | null;
  profile: Profile | null;
  scopes: TokenScope[];
  scopes_in_words: string;
  record: TokenRecord | null;
};

export function inspectWithLedger(ws: Workspace, token: string, now: number = nowSecs()): TokenInspection {
  retireSpentKeys(ws, now);
  const keys = verifyKeys(ws);
  const { issuer, audience } = getTokenConfig(ws);
  const result = inspectToken<TokenRow>(token, {
    now,
    issuer,
    audience,
    findKeyByKid: keys.findKeyByKid,
    hmacKeys: keys.hmacKeys,
    ledgerBySha256: (sha256) => tokenRowBySha256(ws, sha256),
    ledgerByJti: (jti) => tokenRowByJti(ws, jti),
  });
  const scopes = result.scopes ?? [];
  return {
    verdict: result.verdict,
    reason: result.reason,
    header: result.header,
    claims: result.claims,
    key_id: result.keyId ?? null,
    profile: result.profile ?? null,
    scopes,
    scopes_in_words: describeScopes(scopes),
    record: result.ledger ? recordOf(result.ledger, now) : null,
  };
}

/**
 * What one minted token can do, reduced to the few facts an auditor filters by: capability bits
 * and a risk rating. The ledger stores both beside each token, computed once at mint (and
 * backfilled by the schema migration that added them), so the Tokens page can filter a
 * 1,000,000-row ledger by them through indexes instead of parsing every row's scopes.
 *
 * The rating is of the TOKEN, by what it grants, not of the label that produced it: a wildcard
 * write is a wildcard write whether it came from ZLayer's defaults or from an explicit label.
 */
import { LONG_TTL_SECS } from './findings.ts';
import { levelAtLeast, type TokenScope } from './levels.ts';

export const TOKEN_CAPABILITIES = ['secret_write', 'wildcard_write', 'daemon_socket'] as const;
export type TokenCapability = (typeof TOKEN_CAPABILITIES)[number];

/** Bit of each capability in the ledger's `caps` column. */
export const CAPABILITY_BITS: Readonly<Record<TokenCapability, number>> = {
  secret_write: 1,
  wildcard_write: 2,
  daemon_socket: 4,
};

export const CAPABILITY_LABELS: Readonly<Record<TokenCapability, string>> = {
  secret_write: 'can write secret',
  wildcard_write: 'any wildcard write',
  daemon_socket: 'daemon socket',
};

/** In ascending order; the ledger's `risk` column holds the index. */
export const TOKEN_RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type TokenRisk = (typeof TOKEN_RISKS)[number];

export type TokenFacts = { caps: number; risk: number };

/**
 * - critical: the container had the host daemon socket (full daemon admin, whatever the scopes);
 * - high: a write on every id of some kind, any write on a secret, access to every secret, or a
 *   write on a deployment other than its own;
 * - medium: access to a named secret, or a lifetime of 7 days or more;
 * - low: anything else.
 * The migration's backfill (schema.ts, TOKEN_FACTS_BACKFILL) states the same rules in SQL.
 */
export function tokenFacts(
  scopes: readonly TokenScope[],
  deployment: string,
  daemonSocket: boolean,
  ttlSecs: number,
): TokenFacts {
  const secretWrite = scopes.some((s) => s.resource_kind === 'secret' && s.level === 'write');
  const wildcardWrite = scopes.some((s) => s.resource_id === null && s.level === 'write');
  const caps =
    (secretWrite ? CAPABILITY_BITS.secret_write : 0) |
    (wildcardWrite ? CAPABILITY_BITS.wildcard_write : 0) |
    (daemonSocket ? CAPABILITY_BITS.daemon_socket : 0);
  const secretAccess = scopes.filter((s) => s.resource_kind === 'secret' && levelAtLeast(s.level, 'read'));
  const high =
    secretWrite ||
    wildcardWrite ||
    secretAccess.some((s) => s.resource_id === null) ||
    scopes.some((s) => s.resource_kind === 'deployment' && s.level === 'write' && s.resource_id !== deployment);
  const medium = secretAccess.length > 0 || ttlSecs >= LONG_TTL_SECS;
  const risk = daemonSocket ? 3 : high ? 2 : medium ? 1 : 0;
  return { caps, risk };
}

export function riskName(risk: number): TokenRisk {
  return TOKEN_RISKS[Math.max(0, Math.min(3, risk))]!;
}

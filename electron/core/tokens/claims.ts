/**
 * Claim sets for container tokens. Key order is part of the contract: the
 * zlayer payload is emitted in the field order of the daemon's `Claims` struct
 * (COMPAT.md), and JSON.stringify keeps insertion order, so each builder
 * inserts keys in exactly that order and rebuilds every scope in
 * `resource_kind, resource_id, level` order.
 */
import { CastellanError } from '../../../shared/errors.ts';
import { PERMISSION_LEVELS, type TokenScope } from '../../../shared/policy/scopes.ts';

export type { TokenScope };

export const ZLAYER_ISSUER = 'zlayer';
export const CONTAINER_ROLE = 'container';

/** `sub, iat, exp, iss, roles, scopes, jti`; `jti` only when a ledger row exists first. */
export type ZlayerClaims = {
  sub: string;
  iat: number;
  exp: number;
  iss: 'zlayer';
  roles: string[];
  scopes: TokenScope[];
  jti?: string;
};

/**
 * `sub, iat, exp, iss, aud, roles, scopes, deployment, jti`: the zlayer claims,
 * with the workspace's own issuer, an audience that verifiers pin (the OpenShell
 * model), and `deployment` so a verifier can check the scope of the identity
 * without parsing `sub` (whose service part is not the deployment name).
 */
export type AsymmetricClaims = {
  sub: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
  roles: string[];
  scopes: TokenScope[];
  deployment: string;
  /** The replica's create attempt (garm's `create_attempt`), when the mint named one. */
  create_attempt?: number;
  jti?: string;
};

export type ZlayerClaimsInput = {
  service: string;
  container: string;
  scopes: readonly TokenScope[];
  ttlSecs: number;
  /** Unix seconds. */
  now: number;
  jti?: string | null;
};

export type AsymmetricClaimsInput = ZlayerClaimsInput & {
  issuer: string;
  audience: string;
  deployment: string;
  /** A positive whole number, or absent/null for a token not bound to an attempt. */
  createAttempt?: number | null;
};

// Printable, no whitespace, no ':' (it separates the parts of `sub`).
const NAME_PART = /^[^\s:\p{Cc}]+$/u;
const NO_CONTROL = /^[^\p{Cc}]+$/u;

function requireNamePart(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a non-empty string`);
  }
  if (!NAME_PART.test(value)) {
    throw new CastellanError('INVALID_INPUT', `${what} must not contain ':', whitespace or control characters`);
  }
  return value;
}

function requireText(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || !NO_CONTROL.test(value)) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a non-empty string without control characters`);
  }
  return value;
}

function requireSeconds(what: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new CastellanError('INVALID_INPUT', `${what} must be a whole number of seconds ≥ ${min}`);
  }
  return value;
}

/** True when `value` is a scope the daemon could deserialise. */
export function isTokenScope(value: unknown): value is TokenScope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.resource_kind === 'string' &&
    v.resource_kind.length > 0 &&
    (v.resource_id === null || typeof v.resource_id === 'string') &&
    typeof v.level === 'string' &&
    (PERMISSION_LEVELS as readonly string[]).includes(v.level)
  );
}

/** Copies scopes into token key order, refusing anything the daemon could not read. */
export function normalizeScopes(scopes: readonly unknown[]): TokenScope[] {
  if (!Array.isArray(scopes)) {
    throw new CastellanError('INVALID_INPUT', 'scopes must be an array');
  }
  return scopes.map((scope, i) => {
    if (!isTokenScope(scope)) {
      throw new CastellanError(
        'INVALID_INPUT',
        `scope #${i + 1} must have a non-empty resource_kind, a string or null resource_id, and a level of ${PERMISSION_LEVELS.join(' | ')}`,
      );
    }
    return { resource_kind: scope.resource_kind, resource_id: scope.resource_id, level: scope.level };
  });
}

function common(input: ZlayerClaimsInput): {
  sub: string;
  iat: number;
  exp: number;
  scopes: TokenScope[];
  jti: string | null;
} {
  const service = requireNamePart('service', input.service);
  const container = requireNamePart('container', input.container);
  const now = requireSeconds('now', input.now, 0);
  const ttl = requireSeconds('ttlSecs', input.ttlSecs, 1);
  const exp = now + ttl;
  if (!Number.isSafeInteger(exp)) {
    throw new CastellanError('INVALID_INPUT', 'now + ttlSecs is too large');
  }
  const jti = input.jti === undefined || input.jti === null ? null : requireText('jti', input.jti);
  return { sub: `container:${service}:${container}`, iat: now, exp, scopes: normalizeScopes(input.scopes), jti };
}

/** The daemon's container-token claims (`mint_container_token`). Never email, node_id or aud. */
export function zlayerClaims(input: ZlayerClaimsInput): ZlayerClaims {
  const c = common(input);
  const claims: ZlayerClaims = {
    sub: c.sub,
    iat: c.iat,
    exp: c.exp,
    iss: ZLAYER_ISSUER,
    roles: [CONTAINER_ROLE],
    scopes: c.scopes,
  };
  if (c.jti !== null) claims.jti = c.jti;
  return claims;
}

/** Claims for the ed25519 / es256 profiles: zlayer's, plus `aud`, a workspace `iss`, and `deployment`. */
export function asymmetricClaims(input: AsymmetricClaimsInput): AsymmetricClaims {
  const c = common(input);
  const claims: AsymmetricClaims = {
    sub: c.sub,
    iat: c.iat,
    exp: c.exp,
    iss: requireText('issuer', input.issuer),
    aud: requireText('audience', input.audience),
    roles: [CONTAINER_ROLE],
    scopes: c.scopes,
    deployment: requireText('deployment', input.deployment),
  };
  if (input.createAttempt !== undefined && input.createAttempt !== null) {
    if (!Number.isSafeInteger(input.createAttempt) || input.createAttempt < 1) {
      throw new CastellanError('INVALID_INPUT', 'the create attempt must be a whole number, 1 or more');
    }
    claims.create_attempt = input.createAttempt;
  }
  if (c.jti !== null) claims.jti = c.jti;
  return claims;
}

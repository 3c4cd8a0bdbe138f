/**
 * ZLayer's token-scope vocabulary: permission levels, the scope shape baked into
 * container tokens, the label names that configure them and the default policy.
 * Mirrors `zlayer_types::storage` and `zlayer_agent::auth` (see COMPAT.md).
 */
import { z } from 'zod';

/** Serialised names, in ascending order: a higher level implies the lower ones. */
export const PERMISSION_LEVELS = ['none', 'read', 'execute', 'write'] as const;

export const PermissionLevelSchema = z.enum(PERMISSION_LEVELS);
export type PermissionLevel = z.infer<typeof PermissionLevelSchema>;

/** none = 0 < read = 1 < execute = 2 < write = 3. */
export function levelRank(level: PermissionLevel): number {
  return PERMISSION_LEVELS.indexOf(level);
}

export function levelAtLeast(have: PermissionLevel, required: PermissionLevel): boolean {
  return levelRank(have) >= levelRank(required);
}

/**
 * One scope as it appears in a token's `scopes` claim. Key order matters: it is
 * the order the daemon's serde struct emits, and tokens Castellan mints must match.
 * `resource_id: null` is a wildcard over every id of the kind.
 */
export type TokenScope = {
  resource_kind: string;
  resource_id: string | null;
  level: PermissionLevel;
};

export const TokenScopeSchema = z.strictObject({
  // The label parser never yields an empty kind, so neither may the IPC boundary.
  resource_kind: z.string().min(1),
  resource_id: z.string().nullable(),
  level: PermissionLevelSchema,
}) satisfies z.ZodType<TokenScope>;

/** Builds a scope with its keys in token order, whatever order the caller thinks in. */
export function tokenScope(resource_kind: string, resource_id: string | null, level: PermissionLevel): TokenScope {
  return { resource_kind, resource_id, level };
}

/** `kind:id:level` in label syntax, `*` for a wildcard id. */
export function formatScope(scope: TokenScope): string {
  return `${scope.resource_kind}:${scope.resource_id ?? '*'}:${scope.level}`;
}

export const LABEL_API_SCOPES = 'zlayer.io/api-scopes';
export const LABEL_API_TOKEN_TTL = 'zlayer.io/api-token-ttl';
export const LABEL_DAEMON_SOCKET = 'zlayer.io/daemon-socket';
export const LABEL_DOCKER_SOCKET = 'zlayer.io/docker-socket';

export const POLICY_LABELS = [LABEL_API_SCOPES, LABEL_API_TOKEN_TTL, LABEL_DAEMON_SOCKET, LABEL_DOCKER_SOCKET] as const;

/** 24 h, the daemon's `DEFAULT_CONTAINER_TOKEN_TTL_SECS`. */
export const DEFAULT_CONTAINER_TOKEN_TTL_SECS = 86_400;

/** The least-privilege base: read-only on the container's own deployment. */
export function defaultContainerScopes(deployment: string): TokenScope[] {
  return [tokenScope('deployment', deployment, 'read')];
}

/**
 * What a container gets without an `api-scopes` label: the base plus
 * `container:*:write` and `image:*:write`, which ZLayer adds so the default
 * per-container Docker socket can build, run and push.
 */
export function defaultScopesFor(deployment: string): TokenScope[] {
  return [
    ...defaultContainerScopes(deployment),
    tokenScope('container', null, 'write'),
    tokenScope('image', null, 'write'),
  ];
}

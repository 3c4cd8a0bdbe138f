/**
 * ZLayer's token-scope vocabulary: permission levels, the scope shape baked into
 * container tokens, the label names that configure them and the default policy.
 * Mirrors `zlayer_types::storage` and `zlayer_agent::auth` (see COMPAT.md).
 */
import { z } from 'zod';
import {
  PERMISSION_LEVELS,
  tokenScope,
  type PermissionLevel,
  type TokenScope,
} from './levels.ts';

// The plain vocabulary lives in levels.ts (no zod, for the renderer's chunks); one source for both.
export {
  formatScope,
  levelAtLeast,
  levelRank,
  PERMISSION_LEVELS,
  tokenScope,
  type PermissionLevel,
  type TokenScope,
} from './levels.ts';

export const PermissionLevelSchema = z.enum(PERMISSION_LEVELS) satisfies z.ZodType<PermissionLevel>;

export const TokenScopeSchema = z.strictObject({
  // The label parser never yields an empty kind, so neither may the IPC boundary.
  resource_kind: z.string().min(1),
  resource_id: z.string().nullable(),
  level: PermissionLevelSchema,
}) satisfies z.ZodType<TokenScope>;

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

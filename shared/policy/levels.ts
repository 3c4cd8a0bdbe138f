/**
 * Permission levels and the scope shape, without zod, so the renderer's page chunks can rank and
 * print scopes without bundling the schemas (scopes.ts builds its schemas from these and
 * re-exports them; the Tokens page's first rows wait on every module its chunk graph evaluates,
 * bench item 7).
 */

/** Serialised names, in ascending order: a higher level implies the lower ones. */
export const PERMISSION_LEVELS = ['none', 'read', 'execute', 'write'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

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

/** Builds a scope with its keys in token order, whatever order the caller thinks in. */
export function tokenScope(resource_kind: string, resource_id: string | null, level: PermissionLevel): TokenScope {
  return { resource_kind, resource_id, level };
}

/** `kind:id:level` in label syntax, `*` for a wildcard id. */
export function formatScope(scope: TokenScope): string {
  return `${scope.resource_kind}:${scope.resource_id ?? '*'}:${scope.level}`;
}

/**
 * The daemon's scope check (COMPAT.md, "ZLayer container tokens"): a scope grants
 * a request when the kinds are equal, the scope's id is null or equal to the
 * request's, and the scope's level is at least the required one.
 */
import { levelAtLeast, levelRank, type PermissionLevel, type TokenScope } from './scopes.ts';

function scopeGrants(scope: TokenScope, kind: string, id: string | null, required: PermissionLevel): boolean {
  return (
    scope.resource_kind === kind &&
    (scope.resource_id === null || scope.resource_id === id) &&
    levelAtLeast(scope.level, required)
  );
}

/**
 * Whether `scopes` allow `required` on `kind`/`id`. A request with a null id
 * (a kind-wide action) is granted only by wildcard scopes.
 */
export function grants(
  scopes: readonly TokenScope[],
  kind: string,
  id: string | null,
  required: PermissionLevel,
): boolean {
  return scopes.some((scope) => scopeGrants(scope, kind, id, required));
}

/** The scopes that each, on its own, grant the request. */
export function grantingScopes(
  scopes: readonly TokenScope[],
  kind: string,
  id: string | null,
  required: PermissionLevel,
): TokenScope[] {
  return scopes.filter((scope) => scopeGrants(scope, kind, id, required));
}

/** `admin` bypasses scopes; every other role, `container` included, grants nothing. */
export function grantsWithRoles(
  roles: readonly string[],
  scopes: readonly TokenScope[],
  kind: string,
  id: string | null,
  required: PermissionLevel,
): boolean {
  return roles.includes('admin') || grants(scopes, kind, id, required);
}

export type KindAccess = {
  /** The highest level reached. */
  level: PermissionLevel;
  /** Whether a wildcard scope reaches that level (so every id of the kind has it). */
  via_wildcard: boolean;
  /** The highest level granted on every id of the kind. */
  wildcard_level: PermissionLevel;
};

function higher(a: PermissionLevel, b: PermissionLevel): PermissionLevel {
  return levelRank(b) > levelRank(a) ? b : a;
}

/**
 * One cell of the access matrix. Without `id` (undefined): the highest level any
 * scope of `kind` grants on some id. With an id: the highest level granted on that
 * id. With null: what a kind-wide request gets, which only wildcards reach.
 */
export function highestLevel(scopes: readonly TokenScope[], kind: string, id?: string | null): KindAccess {
  let level: PermissionLevel = 'none';
  let wildcardLevel: PermissionLevel = 'none';
  for (const scope of scopes) {
    if (scope.resource_kind !== kind) continue;
    if (scope.resource_id === null) {
      wildcardLevel = higher(wildcardLevel, scope.level);
      level = higher(level, scope.level);
    } else if (id === undefined || scope.resource_id === id) {
      level = higher(level, scope.level);
    }
  }
  return {
    level,
    via_wildcard: level !== 'none' && wildcardLevel === level,
    wildcard_level: wildcardLevel,
  };
}

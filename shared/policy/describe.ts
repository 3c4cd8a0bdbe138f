/** Plain words for scopes and lifetimes, for the UI and for reports. */
import type { PermissionLevel, TokenScope } from './scopes.ts';

/**
 * Resource kinds ZLayer authorises against, in the order the access matrix shows
 * them. The daemon accepts any kind in a label; this list only orders and names.
 */
export const KNOWN_RESOURCE_KINDS = [
  'deployment',
  'service',
  'container',
  'image',
  'job',
  'cron',
  'secret',
  'node',
  'volume',
  'network',
  // ZLayer's permission API names these two in its examples (api/permissions.rs).
  'project',
  'environment',
] as const;

/** The known kinds, then every other kind `scopes` mention, sorted. */
export function resourceKindsFor(scopes: readonly TokenScope[]): string[] {
  const known = new Set<string>(KNOWN_RESOURCE_KINDS);
  const seen = new Set(scopes.map((s) => s.resource_kind).filter((kind) => !known.has(kind)));
  return [...KNOWN_RESOURCE_KINDS, ...[...seen].sort()];
}

const VERBS: Record<Exclude<PermissionLevel, 'none'>, string> = {
  read: 'may read',
  execute: 'may execute',
  write: 'may write',
};

/** "may write any container", "may read deployment storefront", "no access to any secret". */
export function describeScope(scope: TokenScope): string {
  const target =
    scope.resource_id === null ? `any ${scope.resource_kind}` : `${scope.resource_kind} ${scope.resource_id}`;
  return scope.level === 'none' ? `no access to ${target}` : `${VERBS[scope.level]} ${target}`;
}

export function describeScopes(scopes: readonly TokenScope[]): string {
  return scopes.length === 0 ? 'no scopes' : scopes.map(describeScope).join('; ');
}

const UNITS: ReadonlyArray<[string, number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['min', 60],
  ['s', 1],
];

/** 3600 → "1 h", 604800 → "7 d", 93600 → "1 d 2 h", 90 → "1 min 30 s", 0 → "0 s". */
export function formatTtl(secs: number): string {
  if (!Number.isSafeInteger(secs) || secs < 0) return `${secs} s`;
  const parts: string[] = [];
  let rest = secs;
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${unit}`);
    rest -= count * size;
  }
  return parts.length === 0 ? '0 s' : parts.join(' ');
}

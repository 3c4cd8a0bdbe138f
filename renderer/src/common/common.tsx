import { Alert, Badge, Group, Text, Tooltip } from '@mantine/core';
import type { PermissionLevel, TokenScope } from '../../../shared/policy/scopes.ts';

export const LEVEL_COLORS: Record<PermissionLevel, string> = {
  none: 'gray',
  read: 'teal',
  execute: 'yellow',
  write: 'red',
};

export const SEVERITY_COLORS: Record<string, string> = {
  critical: 'red',
  high: 'orange',
  medium: 'yellow',
  low: 'blue',
  error: 'red',
  warning: 'orange',
  info: 'gray',
};

export function ErrorAlert({ error, title = 'Something went wrong' }: { error: string | null; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" title={title} role="alert">
      {error}
    </Alert>
  );
}

export function ScopeChip({ scope }: { scope: TokenScope }) {
  const wildcard = scope.resource_id === null;
  const text = `${scope.resource_kind}:${scope.resource_id ?? '*'}:${scope.level}`;
  return (
    <Tooltip label={wildcard ? `${scope.level} on every ${scope.resource_kind} (wildcard id)` : `${scope.level} on ${scope.resource_kind} ${scope.resource_id}`}>
      <Badge
        color={LEVEL_COLORS[scope.level]}
        variant={wildcard ? 'filled' : 'light'}
        data-level={scope.level}
        data-wildcard={wildcard ? 'true' : 'false'}
        style={{ textTransform: 'none' }}
      >
        {wildcard ? '✱ ' : ''}
        {text}
      </Badge>
    </Tooltip>
  );
}

export function ScopeChips({ scopes }: { scopes: readonly TokenScope[] }) {
  return (
    <Group gap={6} aria-label="Scopes">
      {scopes.map((s, i) => (
        <ScopeChip key={`${s.resource_kind}:${s.resource_id}:${s.level}:${i}`} scope={s} />
      ))}
    </Group>
  );
}

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <Badge color={SEVERITY_COLORS[severity] ?? 'gray'} variant="light" data-severity={severity}>
      {severity}
    </Badge>
  );
}

/** "in 3 h", "2 d ago". */
export function relativeTime(unixSecs: number, now = Date.now() / 1000): string {
  const delta = Math.round(unixSecs - now);
  const abs = Math.abs(delta);
  const unit = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : abs < 129_600 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} d`;
  return delta >= 0 ? `in ${unit}` : `${unit} ago`;
}

export function Muted({ children }: { children: React.ReactNode }) {
  return (
    <Text c="dimmed" size="sm">
      {children}
    </Text>
  );
}

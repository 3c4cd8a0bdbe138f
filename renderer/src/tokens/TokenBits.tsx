import { Badge, Code, ScrollArea } from '@mantine/core';
import type { z } from 'zod';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { CAPABILITY_LABELS, type TokenCapability } from '../../../shared/policy/token-risk.ts';
import { shortJti } from './jti.ts';
import type { REVOKE_REASONS, TOKEN_STATUSES, tokenFilterSchema } from '../../../shared/ipc/contract/tokens.ts';

export type TokenRecord = ChannelOutput<'tokens:get'>['record'];
export type TokenStatus = (typeof TOKEN_STATUSES)[number];
export type RevokeReason = (typeof REVOKE_REASONS)[number];
export type TokenFilter = z.input<typeof tokenFilterSchema>;
export type SigningKey = ChannelOutput<'keys:list'>[number];

export const STATUS_COLORS: Record<TokenStatus, string> = { active: 'teal', expired: 'gray', revoked: 'red' };

export const REASON_LABELS: Record<RevokeReason, string> = {
  key_compromise: 'Key compromise',
  leaked: 'Leaked',
  superseded: 'Superseded',
  decommissioned: 'Decommissioned',
  other: 'Other',
};

export const PROFILE_LABELS: Record<string, string> = {
  zlayer: 'ZLayer (HS256 shared secret)',
  ed25519: 'Ed25519 (EdDSA)',
  es256: 'ES256 (ECDSA P-256)',
};

export function TokenStatusBadge({ status }: { status: TokenStatus }) {
  return (
    <Badge color={STATUS_COLORS[status]} variant={status === 'active' ? 'light' : 'filled'} data-status={status}>
      {status}
    </Badge>
  );
}

/** The first characters of a jti, enough to tell tokens apart in a list. */
export { shortJti } from './jti.ts';

/** A human label for a token in button names: "a1b2c3d4 (web-0)". */
export function tokenLabel(record: Pick<TokenRecord, 'jti' | 'container'>): string {
  return `${shortJti(record.jti)} (${record.container})`;
}

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <div role="region" aria-label={label}>
      {/* Focusable, so a keyboard can scroll a long block. */}
      <ScrollArea.Autosize mah={320} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': `${label} (scrollable)` }}>
        <Code block>{JSON.stringify(value, null, 2)}</Code>
      </ScrollArea.Autosize>
    </div>
  );
}

/** A plain description of a filter: "status active, service web". */
export function describeFilter(filter: TokenFilter): string {
  const parts = Object.entries(filter)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) =>
      k === 'capability'
        ? `that ${CAPABILITY_LABELS[v as TokenCapability] ?? String(v)}`.replace(
            'that daemon socket',
            'that had the daemon socket',
          )
        : k === 'risk'
          ? `rated ${String(v)} or worse`
          : k === 'grants'
            ? `holding ${String(v).replace(/:([a-z]+)$/, ' $1')} or higher`
            : `${k.replace('_', ' ')} ${k === 'text' ? `“${String(v)}”` : String(v)}`,
    );
  return parts.length ? parts.join(', ') : 'no filter (every token)';
}

/**
 * Compact, cheap marks for the token table: scope chips (widest level first), the daemon-socket
 * mark, the risk and the lifetime left as a bar. Plain spans with static styles rather than
 * Mantine badges and tooltips: the table renders a few dozen rows per scroll frame and must stay
 * under the 50 ms long-task limit (bench item 7). Text keeps the body colour on a light tint, so
 * contrast does not depend on the tint.
 */
import type { CSSProperties, ReactNode } from 'react';
import { levelRank, type PermissionLevel, type TokenScope } from '../../../shared/policy/levels.ts';
import type { TokenRisk } from '../../../shared/policy/token-risk.ts';
import type { TokenRecord } from './TokenBits.tsx';

const TINT: Record<PermissionLevel, string> = {
  none: 'gray',
  read: 'teal',
  execute: 'yellow',
  write: 'red',
};

const chipBase: CSSProperties = {
  display: 'inline-block',
  padding: '0 5px',
  marginRight: 4,
  borderRadius: 4,
  fontSize: 11,
  lineHeight: '16px',
  fontFamily: 'var(--mantine-font-family-monospace)',
  color: 'var(--mantine-color-text)',
  whiteSpace: 'nowrap',
  verticalAlign: 'top',
  marginTop: 1,
};

const CHIP_STYLES = Object.fromEntries(
  (Object.keys(TINT) as PermissionLevel[]).flatMap((level) => [
    [
      `${level}:named`,
      { ...chipBase, background: `var(--mantine-color-${TINT[level]}-light)`, border: `1px solid transparent` },
    ],
    [
      `${level}:wildcard`,
      {
        ...chipBase,
        background: `var(--mantine-color-${TINT[level]}-light)`,
        border: `1px solid var(--mantine-color-${TINT[level]}-outline)`,
        fontWeight: 700,
      },
    ],
  ]),
) as Record<string, CSSProperties>;

/** Widest first: the higher level, then a wildcard before a named id, then by kind. */
export function widestFirst(scopes: readonly TokenScope[]): TokenScope[] {
  return [...scopes].sort(
    (a, b) =>
      levelRank(b.level) - levelRank(a.level) ||
      (a.resource_id === null ? 0 : 1) - (b.resource_id === null ? 0 : 1) ||
      a.resource_kind.localeCompare(b.resource_kind) ||
      (a.resource_id ?? '').localeCompare(b.resource_id ?? ''),
  );
}

export function scopeText(s: TokenScope): string {
  return `${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`;
}

const MAX_CHIPS = 3;

const chipsFree: CSSProperties = { display: 'block', lineHeight: '22px' };

/** Two lines of chips fit the 44 px row; what does not fit is in the title and the count. */
const chipsBox: CSSProperties = {
  display: 'block',
  whiteSpace: 'normal',
  maxHeight: 40,
  overflow: 'hidden',
  lineHeight: '20px',
  paddingTop: 1,
};

export function ScopeChipsCompact({
  scopes,
  daemonSocket = false,
  all = false,
}: {
  scopes: readonly TokenScope[];
  daemonSocket?: boolean;
  /** Every chip, wrapping freely (a card), instead of the first few in two table lines. */
  all?: boolean;
}) {
  const sorted = widestFirst(scopes);
  const shown = all ? sorted : sorted.slice(0, daemonSocket ? MAX_CHIPS - 1 : MAX_CHIPS);
  const rest = sorted.length - shown.length;
  return (
    <span
      title={sorted.map(scopeText).join(', ') || 'no scopes'}
      data-testid="scope-chips"
      style={all ? chipsFree : chipsBox}
    >
      {daemonSocket && <DaemonSocketMark />}
      {sorted.length === 0 && <span style={CHIP_STYLES['none:named']}>no scopes</span>}
      {shown.map((s, i) => (
        <span
          key={i}
          style={CHIP_STYLES[`${s.level}:${s.resource_id === null ? 'wildcard' : 'named'}`]}
          data-level={s.level}
          data-wildcard={s.resource_id === null ? 'true' : 'false'}
        >
          {scopeText(s)}
        </span>
      ))}
      {rest > 0 && <span style={{ fontSize: 12 }}>+{rest} more</span>}
    </span>
  );
}

const socketStyle: CSSProperties = {
  ...chipBase,
  fontFamily: 'inherit',
  fontWeight: 700,
  background: 'var(--mantine-color-red-light)',
  border: '1px solid var(--mantine-color-red-outline)',
};

/** The host daemon socket: full daemon admin, whatever the scopes say. */
export function DaemonSocketMark({ label = 'daemon socket' }: { label?: string }) {
  return (
    <span style={socketStyle} data-testid="daemon-socket-mark" title="The host daemon socket: full daemon admin">
      ⚠ {label}
    </span>
  );
}

const tagStyle: CSSProperties = {
  ...chipBase,
  fontFamily: 'inherit',
  border: '1px solid var(--mantine-color-default-border)',
};

/** A plain tag on a light tint; the text keeps the body colour. */
export function Tag({ tint = 'gray', children, title }: { tint?: string; children: ReactNode; title?: string }) {
  return (
    <span style={{ ...tagStyle, background: `var(--mantine-color-${tint}-light)` }} title={title}>
      {children}
    </span>
  );
}

const RISK_TINT: Record<TokenRisk, string> = { low: 'gray', medium: 'yellow', high: 'orange', critical: 'red' };
const RISK_STYLES = Object.fromEntries(
  (Object.keys(RISK_TINT) as TokenRisk[]).map((r) => [
    r,
    {
      ...chipBase,
      marginRight: 0,
      fontFamily: 'inherit',
      fontWeight: r === 'critical' || r === 'high' ? 700 : 400,
      background: `var(--mantine-color-${RISK_TINT[r]}-light)`,
    } satisfies CSSProperties,
  ]),
) as Record<TokenRisk, CSSProperties>;

export function RiskMark({ risk }: { risk: TokenRisk }) {
  return (
    <span style={RISK_STYLES[risk]} data-risk={risk}>
      {risk}
    </span>
  );
}

function shortSpan(secs: number): string {
  const abs = Math.abs(secs);
  if (abs < 90) return `${Math.round(abs)} s`;
  if (abs < 5400) return `${Math.round(abs / 60)} min`;
  if (abs < 129_600) return `${Math.round(abs / 3600)} h`;
  return `${Math.round(abs / 86_400)} d`;
}

const track: CSSProperties = {
  display: 'block',
  height: 4,
  marginTop: 2,
  borderRadius: 2,
};

/** "5 h left" over a bar of the lifetime left; expired and revoked tokens have an empty bar. */
export function TtlLeftBar({
  record,
  now,
}: {
  record: Pick<TokenRecord, 'issued_at' | 'expires_at' | 'status'>;
  now: number;
}) {
  const lifetime = Math.max(1, record.expires_at - record.issued_at);
  const left = record.expires_at - now;
  const live = record.status === 'active' && left > 0;
  const ratio = live ? Math.min(1, left / lifetime) : 0;
  const tint = ratio > 0.5 ? 'teal' : ratio > 0.15 ? 'yellow' : 'red';
  const text =
    record.status === 'revoked'
      ? 'ended by revoke'
      : live
        ? `${shortSpan(left)} left`
        : `expired ${shortSpan(left)} ago`;
  return (
    <span title={`expires ${dateTime(record.expires_at)}`} style={{ display: 'block', fontSize: 13 }}>
      {text}
      <span
        style={{
          ...track,
          // One element per bar: the filled part is a hard-stop gradient.
          background: `linear-gradient(to right, var(--mantine-color-${tint}-filled) ${(ratio * 100).toFixed(1)}%, var(--mantine-color-default-border) 0)`,
        }}
        aria-hidden="true"
        data-ttl-left={ratio.toFixed(3)}
      />
    </span>
  );
}

/** One formatter for every row: `toLocaleString` builds a new one per call, tens of µs each. */
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
export function dateTime(unixSecs: number): string {
  return DATE_TIME.format(unixSecs * 1000);
}

const STATUS_TINT: Record<TokenRecord['status'], string> = { active: 'teal', expired: 'gray', revoked: 'red' };
const STATUS_STYLES = Object.fromEntries(
  (Object.keys(STATUS_TINT) as TokenRecord['status'][]).map((st) => [
    st,
    {
      ...chipBase,
      marginRight: 0,
      fontFamily: 'inherit',
      fontWeight: 700,
      textTransform: 'uppercase',
      letterSpacing: '0.03em',
      background: `var(--mantine-color-${STATUS_TINT[st]}-light)`,
      border: st === 'active' ? '1px solid transparent' : `1px solid var(--mantine-color-${STATUS_TINT[st]}-outline)`,
    } satisfies CSSProperties,
  ]),
) as Record<TokenRecord['status'], CSSProperties>;

/** The status as a light mark (the table's; the drawer keeps the Mantine badge). */
export function StatusMark({ status }: { status: TokenRecord['status'] }) {
  return (
    <span style={STATUS_STYLES[status]} data-status={status}>
      {status}
    </span>
  );
}

import type { CSSProperties } from 'react';
import { formatTtl } from '../../../shared/policy/describe.ts';
import { LONG_TTL_SECS, SHORT_TTL_SECS } from '../../../shared/policy/findings.ts';
import { DEFAULT_CONTAINER_TOKEN_TTL_SECS } from '../../../shared/policy/scopes.ts';

/** The scale runs from 1 minute to 90 days, logarithmically (a minute and a month both matter). */
const MIN = 60;
const MAX = 90 * 86_400;

function position(secs: number): number {
  const clamped = Math.min(MAX, Math.max(MIN, secs));
  return (100 * Math.log(clamped / MIN)) / Math.log(MAX / MIN);
}

/** Where a lifetime sits against the audit's thresholds, in words. */
export function ttlVerdict(secs: number): { tone: 'short' | 'normal' | 'long'; text: string } {
  if (secs >= LONG_TTL_SECS) {
    return { tone: 'long', text: `flagged: ${formatTtl(LONG_TTL_SECS)} or more lets a leaked token live that long` };
  }
  if (secs < SHORT_TTL_SECS) {
    return {
      tone: 'short',
      text: `flagged: under ${formatTtl(SHORT_TTL_SECS)}, the token may lapse before the workload calls`,
    };
  }
  return {
    tone: 'normal',
    text: secs === DEFAULT_CONTAINER_TOKEN_TTL_SECS ? 'the default' : 'within the audit thresholds',
  };
}

const bar: CSSProperties = { position: 'relative', height: 10, borderRadius: 5, overflow: 'hidden', display: 'flex' };
const tick: CSSProperties = {
  position: 'absolute',
  top: -2,
  width: 2,
  height: 14,
  background: 'var(--mantine-color-text)',
};
const tickLabel: CSSProperties = {
  position: 'absolute',
  top: 14,
  transform: 'translateX(-50%)',
  fontSize: 11,
  whiteSpace: 'nowrap',
};

/**
 * A lifetime on a scale marking the default (24 h) and the risk thresholds (under 5 min: may
 * lapse; 7 d or more: flagged as long). The drawing is decorative; the sentence under it says
 * the same in words.
 */
export function TtlScale({ secs, label = 'Token lifetime' }: { secs: number; label?: string }) {
  const short = position(SHORT_TTL_SECS);
  const long = position(LONG_TTL_SECS);
  const verdict = ttlVerdict(secs);
  const marks: [number, string][] = [
    [SHORT_TTL_SECS, formatTtl(SHORT_TTL_SECS)],
    [DEFAULT_CONTAINER_TOKEN_TTL_SECS, `${formatTtl(DEFAULT_CONTAINER_TOKEN_TTL_SECS)} default`],
    [LONG_TTL_SECS, formatTtl(LONG_TTL_SECS)],
  ];
  return (
    <div>
      <div style={{ position: 'relative', margin: '6px 12px 22px' }} aria-hidden="true" data-testid="ttl-scale">
        <div style={bar}>
          <span style={{ width: `${short}%`, background: 'var(--mantine-color-yellow-light)' }} />
          <span style={{ width: `${long - short}%`, background: 'var(--mantine-color-teal-light)' }} />
          <span style={{ flex: 1, background: 'var(--mantine-color-red-light)' }} />
        </div>
        {marks.map(([at, text]) => (
          <span key={at}>
            <span style={{ ...tick, left: `${position(at)}%`, opacity: 0.5 }} />
            <span style={{ ...tickLabel, left: `${position(at)}%` }}>{text}</span>
          </span>
        ))}
        <span
          style={{
            position: 'absolute',
            top: -4,
            left: `calc(${position(secs)}% - 7px)`,
            width: 14,
            height: 18,
            borderRadius: 3,
            background: 'var(--mantine-color-body)',
            border: '3px solid var(--mantine-color-text)',
          }}
          data-position={position(secs).toFixed(1)}
        />
      </div>
      <div style={{ fontSize: 13 }} data-testid="ttl-verdict">
        {label}: <strong>{formatTtl(secs)}</strong> ({secs} s), {verdict.text}.
      </div>
    </div>
  );
}

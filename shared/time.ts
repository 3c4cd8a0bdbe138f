/**
 * Unix times as Castellan can show them. A JavaScript Date holds ±8.64e15 ms, and
 * ISO-8601 (what the CLI, the JSON output and the UI print) has four-digit years, so
 * the last second every path can show is 9999-12-31T23:59:59Z. A token may not expire
 * later than that (minting refuses it), and a stored time beyond it (a hand-edited or
 * foreign row) is shown clamped to it instead of crashing the list.
 */
export const MAX_SHOWN_UNIX_SECS = 253_402_300_799;

/** `secs` as ISO-8601 without milliseconds; never throws, whatever the number. */
export function isoFromUnixSecs(secs: number): string {
  if (typeof secs !== 'number' || !Number.isFinite(secs)) return String(secs);
  if (secs < 0 || secs > MAX_SHOWN_UNIX_SECS) return `${secs} s since the epoch (beyond year 9999)`;
  return new Date(Math.floor(secs) * 1000).toISOString().replace('.000Z', 'Z');
}

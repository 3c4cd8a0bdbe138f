/**
 * The policy editor's model: the structured rows of a service's policy labels, and the exact
 * label text they stand for. The label text is the state (what is saved, what the raw view
 * shows); the rows are a view of it that the editor keeps while an entry is being typed. Every
 * conversion here goes through the daemon's own grammar (shared/policy/labels.ts).
 */
import { describeScope, formatTtl } from '../../../shared/policy/describe.ts';
import { parseRustU64, parseScopeEntry, rustTrim, type ContainerAccess } from '../../../shared/policy/labels.ts';
import { grants } from '../../../shared/policy/matcher.ts';
import type { PermissionLevel } from '../../../shared/policy/scopes.ts';

export type IdMode = 'own' | 'any' | 'named';

export interface ScopeRow {
  /** Stable React key. */
  key: number;
  kind: string;
  idMode: IdMode;
  id: string;
  level: PermissionLevel;
  /** An entry the daemon skips, kept verbatim until it is removed or rewritten. */
  invalid?: string;
}

let nextKey = 1;
export function newKey(): number {
  return nextKey++;
}

/** The rows of an api-scopes value: every non-empty entry, as the daemon splits and trims it. */
export function scopeRowsOf(value: string, deployment: string): ScopeRow[] {
  const rows: ScopeRow[] = [];
  for (const piece of value.split(',')) {
    const entry = rustTrim(piece);
    if (entry === '') continue;
    const parsed = parseScopeEntry(entry);
    if (!parsed.ok) {
      rows.push({ key: newKey(), kind: '', idMode: 'any', id: '', level: 'read', invalid: entry });
      continue;
    }
    const { resource_kind: kind, resource_id: id, level } = parsed.scope;
    rows.push({
      key: newKey(),
      kind,
      idMode: id === null ? 'any' : id === deployment ? 'own' : 'named',
      id: id ?? '',
      level,
    });
  }
  return rows;
}

/** `kind:id:level` of one row in label syntax (`*` for every id). */
export function entryOf(row: ScopeRow, deployment: string): string {
  if (row.invalid !== undefined) return row.invalid;
  const id = row.idMode === 'own' ? deployment : row.idMode === 'any' ? '*' : row.id;
  return `${row.kind}:${id}:${row.level}`;
}

/** The api-scopes value for the rows: entries joined by ", " (the daemon trims around commas). */
export function scopesValueOf(rows: readonly ScopeRow[], deployment: string): string {
  return rows.map((r) => entryOf(r, deployment)).join(', ');
}

const BAD_NAME = /[\s,:]/;

/** What keeps the rows from saving, in words. */
export function scopeRowProblems(rows: readonly ScopeRow[]): string[] {
  const problems: string[] = [];
  rows.forEach((r, i) => {
    if (r.invalid !== undefined) return;
    const n = `Scope ${i + 1}`;
    if (r.kind === '') problems.push(`${n}: choose a kind, or type a custom one`);
    else if (BAD_NAME.test(r.kind))
      problems.push(`${n}: the kind "${r.kind}" may not contain spaces, commas or colons`);
    else if (r.kind === '*') problems.push(`${n}: kind "*" is not a wildcard (the daemon compares kinds literally)`);
    if (r.idMode === 'named') {
      if (r.id === '') problems.push(`${n}: type the id, or choose "every id" (an empty id means every id)`);
      else if (r.id === '*') problems.push(`${n}: "*" means every id; choose "every id" instead`);
      else if (BAD_NAME.test(r.id)) problems.push(`${n}: the id "${r.id}" may not contain spaces, commas or colons`);
    }
  });
  return problems;
}

export const TTL_UNITS = [
  { unit: 'd', label: 'days', secs: 86_400 },
  { unit: 'h', label: 'hours', secs: 3_600 },
  { unit: 'min', label: 'minutes', secs: 60 },
  { unit: 's', label: 'seconds', secs: 1 },
] as const;
export type TtlUnit = (typeof TTL_UNITS)[number]['unit'];

export interface TtlDraft {
  amount: string;
  unit: TtlUnit;
}

/** The largest unit that divides the label's seconds; empty when the label is not a whole number. */
export function ttlDraftOf(value: string | undefined): TtlDraft {
  if (value === undefined) return { amount: '24', unit: 'h' };
  const parsed = parseRustU64(rustTrim(value));
  if (!parsed.ok || parsed.value === 0n || parsed.value > BigInt(Number.MAX_SAFE_INTEGER))
    return { amount: '', unit: 's' };
  const secs = Number(parsed.value);
  const unit = TTL_UNITS.find((u) => secs % u.secs === 0)!;
  return { amount: String(secs / unit.secs), unit: unit.unit };
}

/** Seconds for a draft, or null when it is not a whole number above 0. */
export function ttlSecsOf(draft: TtlDraft): number | null {
  if (!/^[0-9]{1,12}$/.test(draft.amount)) return null;
  const secs = Number(draft.amount) * TTL_UNITS.find((u) => u.unit === draft.unit)!.secs;
  return secs > 0 && Number.isSafeInteger(secs) ? secs : null;
}

/** What a change of labels grants and removes, as the daemon would resolve both. */
export function accessDiff(
  before: ContainerAccess,
  after: ContainerAccess,
): { grants: string[]; removes: string[]; other: string[] } {
  const granted: string[] = [];
  const removed: string[] = [];
  const other: string[] = [];
  const seen = new Set<string>();
  for (const s of after.scopes) {
    if (s.level === 'none' || grants(before.scopes, s.resource_kind, s.resource_id, s.level)) continue;
    const text = describeScope(s);
    if (!seen.has(text)) granted.push(text);
    seen.add(text);
  }
  for (const s of before.scopes) {
    if (s.level === 'none' || grants(after.scopes, s.resource_kind, s.resource_id, s.level)) continue;
    const text = describeScope(s);
    if (!seen.has(text)) removed.push(text);
    seen.add(text);
  }
  if (!before.mount_socket && after.mount_socket) granted.push('full daemon admin (the host daemon socket)');
  if (before.mount_socket && !after.mount_socket) removed.push('full daemon admin (the host daemon socket)');
  if (before.docker_socket !== true && after.docker_socket === true)
    granted.push('a Docker API socket acting as the token');
  if (before.docker_socket === true && after.docker_socket !== true) removed.push('the Docker API socket');
  if (before.ttl_secs !== after.ttl_secs) {
    other.push(
      `token lifetime ${formatTtl(before.ttl_secs)} → ${formatTtl(after.ttl_secs)} (${after.ttl_secs > before.ttl_secs ? 'longer' : 'shorter'})`,
    );
  }
  return { grants: granted, removes: removed, other };
}

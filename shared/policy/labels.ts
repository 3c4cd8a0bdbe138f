/**
 * Resolves a service's `zlayer.io/*` labels into the API access its containers
 * get, exactly as ZLayer's `resolve_container_api_access` (zlayer_agent/auth.rs)
 * does, and explains what the daemon silently drops along the way.
 *
 * The Rust code leans on `str::trim`, `to_ascii_lowercase` and `u64::from_str`;
 * their JavaScript look-alikes differ at the edges, so exact twins live here.
 */
import { KNOWN_RESOURCE_KINDS } from './describe.ts';
import {
  DEFAULT_CONTAINER_TOKEN_TTL_SECS,
  LABEL_API_SCOPES,
  LABEL_API_TOKEN_TTL,
  LABEL_DAEMON_SOCKET,
  LABEL_DOCKER_SOCKET,
  PERMISSION_LEVELS,
  POLICY_LABELS,
  defaultScopesFor,
  formatScope,
  tokenScope,
  type PermissionLevel,
  type TokenScope,
} from './scopes.ts';

export type DiagnosticSeverity = 'error' | 'warning' | 'info';

export type Diagnostic = {
  label: string;
  severity: DiagnosticSeverity;
  code: string;
  message: string;
  /** The scope entry concerned, trimmed as the daemon trims it. */
  entry?: string;
  /** Position of that entry in the comma-separated list, from 0. */
  index?: number;
};

export type ScopesSource = 'default' | 'label' | 'default-fallback';

export type ContainerAccess = {
  scopes: TokenScope[];
  /**
   * The TTL to compute with: exact up to Number.MAX_SAFE_INTEGER, clamped to it above
   * (a `ttl-too-large` diagnostic says so). Never show it on its own beyond 2^53: show
   * `ttl_secs_exact`.
   */
  ttl_secs: number;
  /**
   * The TTL exactly as the daemon reads it (a u64, `u64::from_str`), in decimal:
   * `"18446744073709551615"` stays that, where `ttl_secs` would be 9007199254740991.
   * The default's value (`"86400"`) when the label is absent or falls back.
   */
  ttl_secs_exact: string;
  mount_socket: boolean;
  /** `null` when the label is absent: the reference leaves that case undefined. */
  docker_socket: boolean | null;
  scopes_source: ScopesSource;
  diagnostics: Diagnostic[];
};

// Unicode White_Space, which is what Rust's `char::is_whitespace` (and so
// `str::trim`) tests. JavaScript's `trim` also strips U+FEFF and keeps U+0085.
const RUST_WHITE_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Rust's `str::trim`. Every White_Space code point is in the BMP, so code units suffice. */
export function rustTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && RUST_WHITE_SPACE.has(s.charCodeAt(start))) start++;
  while (end > start && RUST_WHITE_SPACE.has(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** Rust's `str::to_ascii_lowercase`: A–Z only, so U+212A KELVIN SIGN stays itself. */
export function asciiLowercase(s: string): string {
  return s.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}

export const U64_MAX = 18_446_744_073_709_551_615n;

export type U64Parse = { ok: true; value: bigint } | { ok: false; error: 'empty' | 'invalid-digit' | 'overflow' };

/**
 * Rust's `u64::from_str`: an optional leading `+`, then one or more ASCII digits.
 * No `-` (not even `-0`), no inner spaces, no `_`, nothing above u64::MAX.
 */
export function parseRustU64(src: string): U64Parse {
  if (src === '') return { ok: false, error: 'empty' };
  const digits = src.startsWith('+') ? src.slice(1) : src;
  if (!/^[0-9]+$/.test(digits)) return { ok: false, error: 'invalid-digit' };
  const value = BigInt(digits);
  return value > U64_MAX ? { ok: false, error: 'overflow' } : { ok: true, value };
}

const TRUE_VALUES = new Set(['1', 'true', 'yes']);
const FALSE_VALUES = new Set(['0', 'false', 'no', 'off']);

const ACCEPTED_LEVELS = PERMISSION_LEVELS.join(', ');

// Format characters (U+FEFF BOM, U+200B, U+180E…) that Rust does not trim and a
// reader cannot see: an entry carrying one looks right and matches nothing.
const INVISIBLE = /\p{Cf}/u;

/** Quotes a value for a message, spelling out characters a reader could not see. */
function shown(value: string): string {
  const visible = value.replace(
    /(?! )[\p{Cf}\p{Cc}\p{Z}]/gu,
    (ch) => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`,
  );
  return `'${visible}'`;
}

function labelValue(labels: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(labels, name) ? labels[name] : undefined;
}

export type ScopeEntryParse = { ok: true; scope: TokenScope } | { ok: false; code: string; message: string };

/**
 * The daemon's `parse_scope`, applied to one already-trimmed entry, with the
 * reason a rejected entry was rejected. Note what it does NOT trim: the kind,
 * the id and the level keep any spaces around the `:` separators.
 */
export function parseScopeEntry(entry: string): ScopeEntryParse {
  if (entry === '') {
    return { ok: false, code: 'scope-empty-entry', message: 'empty entry (stray comma)' };
  }
  const parts = entry.split(':');
  let kind: string;
  let id: string | null;
  let rawLevel: string;
  if (parts.length === 2) {
    [kind, rawLevel] = parts as [string, string];
    id = null;
  } else if (parts.length === 3) {
    const [k, i, l] = parts as [string, string, string];
    kind = k;
    id = i === '*' || i === '' ? null : i;
    rawLevel = l;
  } else if (parts.length < 2) {
    return {
      ok: false,
      code: 'scope-too-few-segments',
      message: `${shown(entry)} has no ':'; expected kind:level or kind:id:level`,
    };
  } else {
    return {
      ok: false,
      code: 'scope-too-many-segments',
      message: `${shown(entry)} has ${parts.length} ':'-separated segments; expected 2 (kind:level) or 3 (kind:id:level)`,
    };
  }
  if (kind === '') {
    return { ok: false, code: 'scope-empty-kind', message: `${shown(entry)} has an empty resource kind` };
  }
  const level = asciiLowercase(rawLevel);
  if (!(PERMISSION_LEVELS as readonly string[]).includes(level)) {
    const spaced =
      rawLevel !== rustTrim(rawLevel)
        ? ' (spaces around ":" are not trimmed)'
        : INVISIBLE.test(rawLevel)
          ? ' (it contains an invisible character)'
          : '';
    return {
      ok: false,
      code: 'scope-unknown-level',
      message: `unknown level ${shown(rawLevel)}${spaced}; accepted levels are ${ACCEPTED_LEVELS}, in any ASCII case`,
    };
  }
  return { ok: true, scope: tokenScope(kind, id, level as PermissionLevel) };
}

/** Advice about entries the daemon accepts but that probably do not do what was meant. */
function acceptedEntryNotes(scope: TokenScope, entry: string, index: number, earlier: TokenScope[]): Diagnostic[] {
  const notes: Diagnostic[] = [];
  const note = (severity: DiagnosticSeverity, code: string, message: string): void => {
    notes.push({ label: LABEL_API_SCOPES, severity, code, message, entry, index });
  };
  const { resource_kind: kind, resource_id: id } = scope;
  if (kind !== rustTrim(kind) || (id !== null && id !== rustTrim(id))) {
    note(
      'warning',
      'scope-whitespace',
      `${shown(entry)} keeps spaces inside its kind or id (${shown(kind)}${id === null ? '' : `, ${shown(id)}`}); the daemon compares them verbatim, so it will match nothing spelled without them`,
    );
  }
  if (INVISIBLE.test(kind) || (id !== null && INVISIBLE.test(id))) {
    note(
      'warning',
      'scope-invisible-character',
      `${shown(entry)} has an invisible character (such as a byte-order mark or zero-width space) in its kind or id; the daemon keeps it, so the scope matches nothing spelled without it`,
    );
  }
  if (kind === '*') {
    note(
      'warning',
      'scope-wildcard-kind',
      `kind '*' is not a wildcard: the daemon compares kinds literally, so this matches nothing`,
    );
  } else if (
    kind === rustTrim(kind) &&
    !INVISIBLE.test(kind) &&
    !(KNOWN_RESOURCE_KINDS as readonly string[]).includes(kind)
  ) {
    note(
      'info',
      'scope-unknown-kind',
      `kind ${shown(kind)} is not one Castellan knows; the daemon accepts any kind, so check the spelling`,
    );
  }
  if (scope.level === 'none') {
    note(
      'info',
      'scope-none-level',
      `${shown(entry)} grants nothing: a none scope takes nothing away from what other scopes grant`,
    );
  }
  const twin = earlier.find((s) => s.resource_kind === kind && s.resource_id === id);
  if (twin !== undefined) {
    note(
      'info',
      'scope-repeated',
      twin.level === scope.level
        ? `'${formatScope(scope)}' is granted more than once`
        : `${kind} ${id ?? '*'} is granted at both ${twin.level} and ${scope.level}; the higher level applies`,
    );
  }
  return notes;
}

function resolveScopes(
  deployment: string,
  raw: string | undefined,
): { scopes: TokenScope[]; source: ScopesSource; diagnostics: Diagnostic[] } {
  if (raw === undefined) return { scopes: defaultScopesFor(deployment), source: 'default', diagnostics: [] };
  if (rustTrim(raw) === '') {
    return {
      scopes: defaultScopesFor(deployment),
      source: 'default',
      diagnostics: [
        {
          label: LABEL_API_SCOPES,
          severity: 'warning',
          code: 'scopes-blank',
          message:
            'the label is blank, so the daemon ignores it and applies the defaults (which include container:*:write and image:*:write); it does not mean "no scopes"',
        },
      ],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const parsed: TokenScope[] = [];
  raw.split(',').forEach((piece, index) => {
    const entry = rustTrim(piece);
    const result = parseScopeEntry(entry);
    if (result.ok) {
      diagnostics.push(...acceptedEntryNotes(result.scope, entry, index, parsed));
      parsed.push(result.scope);
    } else {
      // A stray comma loses nothing; any other skipped entry loses a grant the author meant.
      const severity = result.code === 'scope-empty-entry' ? 'warning' : 'error';
      diagnostics.push({
        label: LABEL_API_SCOPES,
        severity,
        code: result.code,
        message: `${result.message}; the daemon skips this entry`,
        entry,
        index,
      });
    }
  });
  if (parsed.length === 0) {
    diagnostics.push({
      label: LABEL_API_SCOPES,
      severity: 'error',
      code: 'scopes-no-valid-entry',
      message: 'no valid entry: defaults applied (deployment read plus container:*:write and image:*:write)',
    });
    return { scopes: defaultScopesFor(deployment), source: 'default-fallback', diagnostics };
  }
  return { scopes: parsed, source: 'label', diagnostics };
}

type ResolvedTtl = { ttl_secs: number; ttl_secs_exact: string; diagnostics: Diagnostic[] };

function resolveTtl(raw: string | undefined): ResolvedTtl {
  const byDefault = {
    ttl_secs: DEFAULT_CONTAINER_TOKEN_TTL_SECS,
    ttl_secs_exact: String(DEFAULT_CONTAINER_TOKEN_TTL_SECS),
  };
  if (raw === undefined) return { ...byDefault, diagnostics: [] };
  const value = rustTrim(raw);
  const parsed = parseRustU64(value);
  const fallback = (code: string, why: string): ResolvedTtl => ({
    ...byDefault,
    diagnostics: [
      {
        label: LABEL_API_TOKEN_TTL,
        severity: 'warning',
        code,
        message: `${why}; the daemon uses the default of ${DEFAULT_CONTAINER_TOKEN_TTL_SECS} s (24 h)`,
      },
    ],
  });
  if (!parsed.ok) {
    if (parsed.error === 'empty') return fallback('ttl-empty', 'the value is empty');
    if (parsed.error === 'overflow') {
      return fallback('ttl-overflow', `${shown(value)} is larger than the maximum ${U64_MAX} seconds`);
    }
    if (/^-[0-9]+$/.test(value)) {
      return fallback(
        'ttl-negative',
        `${shown(value)} is negative; the daemon reads an unsigned integer and rejects any '-', even -0`,
      );
    }
    return fallback(
      'ttl-not-a-number',
      `${shown(value)} is not a number of seconds (ASCII digits only, optionally after '+'; no units, spaces, underscores or decimals)`,
    );
  }
  if (parsed.value === 0n) return fallback('ttl-zero', 'a TTL of 0 is not allowed');
  if (parsed.value > BigInt(Number.MAX_SAFE_INTEGER)) {
    return {
      ttl_secs: Number.MAX_SAFE_INTEGER,
      ttl_secs_exact: parsed.value.toString(),
      diagnostics: [
        {
          label: LABEL_API_TOKEN_TTL,
          severity: 'error',
          code: 'ttl-too-large',
          message: `the daemon accepts ${parsed.value} s (shown exactly as ttl_secs_exact; Castellan computes with at most ${Number.MAX_SAFE_INTEGER} s, and no mint here may exceed the workspace's maximum token lifetime). The daemon mints exp as now + ttl with Duration arithmetic: when ttl is within the current Unix time (about 1.8e9 s) of ${U64_MAX}, that addition overflows and the daemon panics; below that, the token in practice never expires`,
        },
      ],
    };
  }
  return { ttl_secs: Number(parsed.value), ttl_secs_exact: parsed.value.toString(), diagnostics: [] };
}

/**
 * Daemon-socket semantics: on only for 1, true, yes (trimmed, ASCII case-insensitive).
 * An unrecognised value is reported; the recognised off values are not.
 */
function resolveSwitch(
  label: string,
  raw: string | undefined,
  unrecognised: string,
): { on: boolean | null; diagnostics: Diagnostic[] } {
  if (raw === undefined) return { on: null, diagnostics: [] };
  const value = asciiLowercase(rustTrim(raw));
  if (TRUE_VALUES.has(value)) return { on: true, diagnostics: [] };
  if (FALSE_VALUES.has(value)) return { on: false, diagnostics: [] };
  return {
    on: false,
    diagnostics: [
      {
        label,
        severity: 'warning',
        code: 'socket-unrecognised',
        message: `${shown(raw)} is not a recognised value (on: 1, true, yes; off: 0, false, no, off): ${unrecognised}`,
      },
    ],
  };
}

/** Labels the daemon ignores because their key is not exactly one of its label names. */
function misspeltLabelKeys(labels: Record<string, string>): Diagnostic[] {
  const known = new Set<string>(POLICY_LABELS);
  const diagnostics: Diagnostic[] = [];
  for (const key of Object.keys(labels)) {
    if (known.has(key)) continue;
    const normalised = asciiLowercase(rustTrim(key)).replaceAll('_', '-');
    const meant = POLICY_LABELS.find((name) => name === normalised);
    if (meant !== undefined) {
      diagnostics.push({
        label: key,
        severity: 'warning',
        code: 'label-misspelt',
        message: `the daemon ignores ${shown(key)}: label names are matched exactly; did you mean '${meant}'?`,
      });
    }
  }
  return diagnostics;
}

/**
 * The access a container of `deployment` gets from its service's labels.
 * `scopes`, `ttl_secs` (below 2^53) and `mount_socket` equal what the daemon computes.
 */
export function resolveContainerAccess(deployment: string, labels: Record<string, string>): ContainerAccess {
  const scopes = resolveScopes(deployment, labelValue(labels, LABEL_API_SCOPES));
  const ttl = resolveTtl(labelValue(labels, LABEL_API_TOKEN_TTL));
  const daemonSocket = resolveSwitch(
    LABEL_DAEMON_SOCKET,
    labelValue(labels, LABEL_DAEMON_SOCKET),
    'the daemon treats this as off',
  );
  // The reference never parses zlayer.io/docker-socket (a bin-side spawner does),
  // and its comments disagree on whether the socket is on by default. Castellan
  // reads it with the daemon-socket grammar and reports null when it is absent,
  // rather than guessing a default.
  const dockerSocket = resolveSwitch(
    LABEL_DOCKER_SOCKET,
    labelValue(labels, LABEL_DOCKER_SOCKET),
    "Castellan reads this as off (the reference does not define this label's grammar)",
  );
  return {
    scopes: scopes.scopes,
    ttl_secs: ttl.ttl_secs,
    ttl_secs_exact: ttl.ttl_secs_exact,
    mount_socket: daemonSocket.on === true,
    docker_socket: dockerSocket.on,
    scopes_source: scopes.source,
    diagnostics: [
      ...scopes.diagnostics,
      ...ttl.diagnostics,
      ...daemonSocket.diagnostics,
      ...dockerSocket.diagnostics,
      ...misspeltLabelKeys(labels),
    ],
  };
}

/** Diagnostics only, for validating labels as they are typed. */
export function validateLabels(deployment: string, labels: Record<string, string>): Diagnostic[] {
  return resolveContainerAccess(deployment, labels).diagnostics;
}

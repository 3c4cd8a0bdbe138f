/**
 * The CLI's help text: the command list (`castellan help`), one command's page
 * (`castellan help mint`, `castellan mint --help`), the nearest command to a mistyped one, and
 * escaping of control characters that untrusted fields could carry to a terminal.
 *
 * Everything wraps at 100 columns. What each flag means and whether a command needs the vault
 * unlocked is written here, by command path, so the command definitions stay short; a command
 * may also carry its own `vault` and `flagHelp`, which win.
 */
import type { CommandMeta as Command } from './cli.ts';

export const WIDTH = 100;

/** Wraps `text` to WIDTH columns; continuation lines start with `indent` spaces. */
export function wrap(text: string, indent: number, firstPrefix = ''): string {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = firstPrefix;
  let lineHasWord = false;
  for (const word of text.split(/ +/)) {
    if (word === '') continue;
    if (lineHasWord && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = pad + word;
    } else {
      line += (lineHasWord ? ' ' : '') + word;
    }
    lineHasWord = true;
  }
  lines.push(line);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Whether a command needs the vault
// ---------------------------------------------------------------------------

export type VaultNeed = 'never' | 'always' | 'sometimes' | 'creates';

const VAULT: Record<string, VaultNeed> = {
  init: 'creates',
  'vault add-passphrase': 'always',
  'vault remove-slot': 'always',
  'keys create': 'always',
  'keys rotate': 'always',
  'keys import-zlayer-secret': 'always',
  'keys export-zlayer-secret': 'always',
  mint: 'always',
  'mint-batch': 'always',
  refresh: 'always',
  inspect: 'sometimes',
  'export revocations': 'always',
  'ca init': 'always',
  'ca import': 'always',
  'ca export-zlayer': 'always',
  'ca sign': 'always',
  'ca revoke': 'always',
  'ca crl': 'sometimes',
  restore: 'never',
};

const VAULT_TEXT: Record<VaultNeed, string> = {
  never: 'not needed: runs with the vault locked, asks for no passphrase.',
  always:
    'must be unlocked: asks for the passphrase (or reads the variable --passphrase-env names), and only ' +
    'after every check that needs no key has passed.',
  sometimes:
    'unlocked only when a sealed key is needed (inspect: to verify a zlayer HS256 token; ca crl: to ' +
    're-sign an expired CRL); then it asks for the passphrase, or reads the variable --passphrase-env names.',
  creates: 'creates it: asks for a new passphrase twice, or reads the variable --passphrase-env names.',
};

export function vaultNeed(c: Command): VaultNeed {
  return c.vault ?? VAULT[c.path.join(' ')] ?? 'never';
}

// ---------------------------------------------------------------------------
// What each flag means
// ---------------------------------------------------------------------------

const FLAGS: Record<string, string> = {
  json: 'print JSON on stdout instead of text',
  out: 'write to FILE instead of stdout ("-" is stdout); the file is replaced atomically',
  profile: 'token profile: zlayer (HS256, the daemon’s own), ed25519 (EdDSA) or es256 (ECDSA P-256)',
  ttl: 'token lifetime in seconds; longer than the service’s policy only with --force',
  force: 'allow a TTL longer than the policy (audited as forced)',
  'no-jti': 'mint without a jti: such a token cannot be revoked, only expire',
  containers: 'comma-separated container names to mint for',
  'containers-file': 'FILE (or - for stdin) with one container name a line',
  status: 'only tokens in this state: active, expired or revoked',
  deployment: 'only this deployment',
  service: 'only this service',
  container: 'only this container',
  key: 'only tokens signed by this key id (keys list shows them)',
  text: 'only tokens whose jti, subject or container contains this text',
  sort: 'sort column',
  asc: 'oldest first (default: newest first)',
  limit: 'at most N rows',
  offset: 'skip the first N rows',
  reason: 'why it is revoked (recorded in the ledger, the audit log and the revocation list)',
  'dry-run': 'count what would be revoked and change nothing',
  compromised: 'the old key leaked: it stops verifying at once (revoke its tokens afterwards)',
  'literal-env': 'environment variable holding a literal --jwt-secret value',
  'allow-weak': 'accept a literal secret shorter than 32 bytes',
  issuer: 'the iss claim of ed25519/es256 tokens',
  audience: 'the aud claim of ed25519/es256 tokens',
  'new-passphrase-env': 'environment variable holding the new passphrase (else a prompt, asked twice)',
  label: 'a name for the new slot',
  replace: 'replace deployments that already exist (else the import is refused)',
  format: 'output format',
  yes: 'confirm writing the CA private key to disk',
  'node-id': 'the worker’s node id; the leaf is CN=worker-<node id>',
  days: 'validity of the leaf certificate in days',
  'bundle-json': 'also write ZLayer’s registration reply ({ "ca_chain_der": [...] }) to FILE',
  search: 'only certificates whose serial, node id or names contain this text',
  'expiring-days': 'only valid certificates expiring within N days, soonest first',
  der: 'DER (binary) instead of PEM (text)',
  refresh: 're-sign the CRL now (needs the vault)',
};

const COMMAND_FLAGS: Record<string, Record<string, string>> = {
  'audit export': { format: 'jsonl (one JSON object a line) or csv' },
  'ca bundle': {
    format:
      'pem: the certificate as PEM (default); der: the certificate as DER; p7b: a PKCS#7 certs-only ' +
      'bundle, PEM ("-----BEGIN PKCS7-----", what `openssl pkcs7 -in F` reads) unless --der; json: ' +
      'ZLayer’s { "ca_chain_der": [base64] }',
    der: 'with --format p7b: write the PKCS#7 bundle as DER (binary, `openssl pkcs7 -inform der`)',
  },
  'ca revoke': { reason: 'RFC 5280 reason' },
  'keys rotate': { profile: 'the profile whose active key is replaced' },
  'keys create': { profile: 'zlayer (HS256, the daemon’s own), ed25519 (EdDSA) or es256 (ECDSA P-256)' },
  revoke: {
    service: 'revoke every active token of DEPLOYMENT/SERVICE',
    deployment: 'revoke every active token of a deployment',
    key: 'revoke every active token signed by a key',
  },
  restore: { force: 'replace the workspace even though it already exists' },
};

/** The value placeholder a string flag is shown with. */
function placeholder(name: string): string {
  if (name.endsWith('-env')) return 'VAR';
  if (name === 'to') return 'TARGET';
  if (name === 'out' || name.endsWith('-file') || name === 'bundle-json') return 'FILE';
  if (['limit', 'offset', 'days', 'expiring-days', 'ttl'].includes(name)) return 'N';
  return name.toUpperCase().replace(/-/g, '_');
}

const GLOBAL_HELP: [string, string][] = [
  ['--data-dir DIR', 'the workspace folder (else $CASTELLAN_DATA_DIR, else the app’s own workspace)'],
  ['--database URL', 'team mode: the workspace in PostgreSQL, postgres://… (else $CASTELLAN_DATABASE_URL, else the folder’s own file)'],
  ['--passphrase-env VAR', 'read the passphrase from environment variable VAR instead of a prompt'],
  ['-h, --help', 'this help'],
];

function twoColumns(rows: [string, string][], left: number): string[] {
  return rows.map(([a, b]) => {
    if (a.length + 4 > left) return `  ${a}\n${wrap(b, left, ' '.repeat(left))}`;
    return wrap(b, left, `  ${a.padEnd(left - 2)}`);
  });
}

/** `castellan help COMMAND`: usage, what it does, its flags, whether it needs the vault. */
export function commandHelp(c: Command): string {
  const name = c.path.join(' ');
  const flags: [string, string][] = [];
  for (const [flag, def] of Object.entries(c.options ?? {})) {
    const text = c.flagHelp?.[flag] ?? COMMAND_FLAGS[name]?.[flag] ?? FLAGS[flag] ?? '';
    flags.push([`--${flag}${def.type === 'string' ? ` ${placeholder(flag)}` : ''}`, text]);
  }
  const out = [
    wrap(c.usage, 'usage: castellan '.length + name.length + 1, 'usage: castellan '),
    '',
    wrap(`${c.summary.charAt(0).toUpperCase()}${c.summary.slice(1)}.`, 0),
    '',
  ];
  if (flags.length > 0) out.push('Flags:', ...twoColumns(flags, 26), '');
  out.push('Global flags:', ...twoColumns(GLOBAL_HELP, 26), '');
  out.push(wrap(VAULT_TEXT[vaultNeed(c)], 'Vault: '.length, 'Vault: '));
  return `${out.join('\n')}\n`;
}

/** `castellan help`: every command, one line each, grouped by their first word. */
export function overview(commands: Command[], version: string): string {
  const left = 28;
  const rows: string[] = [];
  let group: string | null = null;
  for (const c of commands) {
    const first = c.path.length > 1 ? c.path[0]! : '';
    if (group !== null && first !== group) rows.push('');
    group = first;
    rows.push(...twoColumns([[c.path.join(' '), c.summary]], left));
  }
  return [
    `castellan ${version}: the Castellan credential authority, headless`,
    '',
    'usage: castellan [--data-dir DIR | --database URL] [--passphrase-env VAR] COMMAND [ARGS] [FLAGS]',
    '       castellan help COMMAND     flags of one command, and whether it needs the vault',
    '       castellan --version',
    '',
    'Commands:',
    ...rows,
    '',
    wrap(
      'The workspace is --data-dir, else $CASTELLAN_DATA_DIR, else the app’s own workspace; with --database ' +
        'postgres://… (or $CASTELLAN_DATABASE_URL) it is that shared PostgreSQL database (team mode). A passphrase ' +
        'comes from a prompt or from the environment variable named by --passphrase-env, never from argv. ' +
        'Exit status: 0 success, 1 usage error, 2 refused by Castellan (reason on stderr).',
      0,
    ),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// The nearest command to a mistyped one
// ---------------------------------------------------------------------------

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The command whose name is closest to the words given, if any is close enough to suggest. */
export function nearest(commands: Command[], words: string[]): string | null {
  let best: { name: string; d: number } | null = null;
  // Every command, and every group word (`tokens`, `ca`): "tokns" is nearest to "tokens".
  const names = new Set([...commands.map((c) => c.path.join(' ')), ...commands.filter((c) => c.path.length > 1).map((c) => c.path[0]!)]);
  // On a tie the full command wins: it comes first ("tokns list" → "tokens list", not "tokens").
  for (const name of names) {
    const given = words.slice(0, name.split(' ').length).join(' ');
    const d = distance(given.toLowerCase(), name);
    if (!best || d < best.d) best = { name, d };
  }
  if (!best) return null;
  const given = words.slice(0, best.name.split(' ').length).join(' ');
  return best.d <= Math.max(2, Math.floor(given.length / 3)) ? best.name : null;
}

// ---------------------------------------------------------------------------
// Control characters from untrusted fields
// ---------------------------------------------------------------------------

// C0 and C1 controls, DEL, and the Unicode bidi controls that can reorder what a terminal shows.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One untrusted field for a terminal: every control character, newlines included, escaped. */
export function safe(value: unknown): string {
  return String(value).replace(CONTROL, escapeChar);
}

/** A whole line of text for a terminal: control characters escaped, its newlines and tabs kept. */
export function safeText(text: string): string {
  return text.replace(CONTROL_KEEP_LINES, escapeChar);
}

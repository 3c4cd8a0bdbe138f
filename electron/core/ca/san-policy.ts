/**
 * Which subject alternative names the worker CA copies into a leaf. A worker's certificate is
 * its identity on the cluster's mTLS mesh, so a name in it must say which machine holds the key:
 *
 * - never an unspecified (0.0.0.0/8, ::) or multicast/broadcast address: they name no host;
 * - by default never `localhost` (or `*.localhost`), a loopback or a link-local address: every
 *   machine is its own localhost, so such a name lets one worker's key pass for any other's
 *   local endpoint (workspace setting `csr_allow_local_sans` lifts this);
 * - never another worker's name: a DNS name whose first label starts `worker-` must be this
 *   node's own `worker-<node id>` (ZLayer names workers so; the CA chooses the CN the same way);
 * - when the workspace lists allowed DNS suffixes or IP ranges, only names inside them.
 *
 * Each name gets a verdict with the rule that refused it, for the preview and for the error.
 */
import type { WorkspaceSettings } from '../../../shared/workspace-settings.ts';
import { DEFAULT_WORKSPACE_SETTINGS } from '../../../shared/workspace-settings.ts';
import { ipInRange, parseCidr } from '../../../shared/san-policy.ts';
import type { IpRange } from '../../../shared/san-policy.ts';

export type SanPolicy = Pick<
  WorkspaceSettings,
  'csr_allowed_dns_suffixes' | 'csr_allowed_ip_ranges' | 'csr_allow_local_sans'
>;

export const DEFAULT_SAN_POLICY: SanPolicy = {
  csr_allowed_dns_suffixes: DEFAULT_WORKSPACE_SETTINGS.csr_allowed_dns_suffixes,
  csr_allowed_ip_ranges: DEFAULT_WORKSPACE_SETTINGS.csr_allowed_ip_ranges,
  csr_allow_local_sans: DEFAULT_WORKSPACE_SETTINGS.csr_allow_local_sans,
};

const range = (text: string): IpRange => parseCidr(text)!;

/** Addresses that name no host: refused whatever the settings say. */
const NEVER: { range: IpRange; what: string }[] = [
  { range: range('0.0.0.0/8'), what: 'an unspecified address (0.0.0.0/8)' },
  { range: range('::/128'), what: 'the unspecified address (::)' },
  { range: range('224.0.0.0/4'), what: 'a multicast address (224.0.0.0/4)' },
  { range: range('255.255.255.255/32'), what: 'the broadcast address' },
  { range: range('ff00::/8'), what: 'a multicast address (ff00::/8)' },
];

/** Addresses every machine has for itself: refused unless csr_allow_local_sans. */
const LOCAL: { range: IpRange; what: string }[] = [
  { range: range('127.0.0.0/8'), what: 'a loopback address (127.0.0.0/8)' },
  { range: range('::1/128'), what: 'the loopback address (::1)' },
  { range: range('169.254.0.0/16'), what: 'a link-local address (169.254.0.0/16)' },
  { range: range('fe80::/10'), what: 'a link-local address (fe80::/10)' },
];

const LOCAL_SETTING = 'workspace setting csr_allow_local_sans is off';

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the address itself. */
function unmapped(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return ip;
  return ip.subarray(12);
}

/** Why the CA refuses IP address `ip` (4 or 16 bytes), or null when the policy allows it. */
export function ipSanRule(ip: Uint8Array, policy: SanPolicy = DEFAULT_SAN_POLICY): string | null {
  const candidates = unmapped(ip) === ip ? [ip] : [ip, unmapped(ip)];
  for (const addr of candidates) {
    const never = NEVER.find((n) => ipInRange(addr, n.range));
    if (never) return `${never.what} names no host`;
    const local = LOCAL.find((n) => ipInRange(addr, n.range));
    if (local && !policy.csr_allow_local_sans) return `${local.what} is every machine's own (${LOCAL_SETTING})`;
  }
  const allowed = policy.csr_allowed_ip_ranges;
  if (allowed.length > 0 && !candidates.some((addr) => allowed.some((r) => ipInRange(addr, range(r))))) {
    return `not in an allowed IP range (workspace setting csr_allowed_ip_ranges: ${allowed.join(', ')})`;
  }
  return null;
}

/**
 * Why the CA refuses DNS name `name` (already a syntactically valid host name), or null.
 * `nodeId` is the node the leaf is for; without it no `worker-*` name can be judged its own.
 */
export function dnsSanRule(name: string, policy: SanPolicy = DEFAULT_SAN_POLICY, nodeId?: string | null): string | null {
  const lower = name.toLowerCase();
  if ((lower === 'localhost' || lower.endsWith('.localhost')) && !policy.csr_allow_local_sans) {
    return `localhost is every machine's own name (${LOCAL_SETTING})`;
  }
  if (lower.startsWith('worker-')) {
    const own = nodeId ? `worker-${nodeId.toLowerCase()}` : null;
    if (own === null) {
      return 'names a worker, and only the node’s own name worker-<node id> is allowed: give the node id to judge it';
    }
    if (lower !== own && !lower.startsWith(`${own}.`)) {
      return `names another worker (this certificate is for ${own}; only its own name is allowed)`;
    }
  }
  const suffixes = policy.csr_allowed_dns_suffixes;
  if (suffixes.length > 0 && !suffixes.some((s) => lower === s || lower.endsWith(`.${s}`))) {
    return `not under an allowed DNS suffix (workspace setting csr_allowed_dns_suffixes: ${suffixes.join(', ')})`;
  }
  return null;
}

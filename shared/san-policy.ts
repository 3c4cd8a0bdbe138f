/**
 * The pure parts of the worker CA's subject-alternative-name policy: reading IP addresses and
 * CIDR ranges, and the spelling of an allowed DNS suffix. Shared so the workspace settings'
 * schema can bound the policy's lists; the judging itself is electron/core/ca/san-policy.ts.
 */

/** IPv4 (4 bytes) or IPv6 (16 bytes), or null when `text` is neither. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIpv6(text);
  return parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // No leading zeros: "010" reads as octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  if (text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export interface IpRange {
  /** The network address's bytes (4 or 16). */
  bytes: Uint8Array;
  prefix: number;
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (a /32 or /128); null when malformed. */
export function parseCidr(text: string): IpRange | null {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (slash === -1) return { bytes, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) return null;
  return { bytes, prefix: Number(p) };
}

/** Whether `ip` lies in `range` (same family only: an IPv4 range never matches an IPv6 address). */
export function ipInRange(ip: Uint8Array, range: IpRange): boolean {
  if (ip.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

/** A DNS suffix as the policy stores it: lowercase labels, no leading dot, no wildcard. */
export const DNS_SUFFIX = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

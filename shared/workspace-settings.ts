import { z } from 'zod';
import { DNS_SUFFIX, parseCidr } from './san-policy.ts';

/**
 * Security policy that belongs to the workspace itself (stored in its database, audited on every
 * change, the same for the app, the CLI and `serve`), as opposed to an admin's preferences
 * (electron-store). Each setting is one field here with its bounds and its default; the core
 * module `electron/core/workspace/workspace-settings.ts` reads and writes them.
 */
export const DAY_SECS = 86_400;
/** The most a workspace may allow for a worker leaf (csr_max_leaf_days). */
export const MAX_LEAF_DAYS_CEILING = 397;

/** An http(s) URL with no credentials, query or fragment, and no trailing slash; '' when unset. */
function isPublicBaseUrl(value: string): boolean {
  if (value === '') return true;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    !value.endsWith('/') &&
    !/[\s\p{Cc}]/u.test(value)
  );
}

export const workspaceSettingsSchema = z.strictObject({
  /** Upper bound on every container token's lifetime, forced mints included. */
  max_token_ttl_secs: z
    .number()
    .int()
    .min(60)
    .max(365 * DAY_SECS),
  /**
   * Longest life of a worker leaf certificate, in days: 90 by default as in ZLayer's worker_ca.rs,
   * at most 397 (the CA/Browser Forum's ceiling for TLS leaves). A longer request is refused.
   */
  csr_max_leaf_days: z.number().int().min(1).max(MAX_LEAF_DAYS_CEILING),
  /**
   * DNS names a worker certificate may carry: each name must equal one of these suffixes or end
   * in `.<suffix>`. Empty (the default): any valid DNS name, subject to the fixed refusals.
   */
  csr_allowed_dns_suffixes: z
    .array(z.string().regex(DNS_SUFFIX, 'a DNS suffix is lowercase labels such as zlayer.internal (no leading dot, no *)'))
    .max(64),
  /**
   * IP addresses a worker certificate may carry, as CIDR ranges (10.0.0.0/8, fd00::/8) or single
   * addresses. Empty (the default): any address, subject to the fixed refusals.
   */
  csr_allowed_ip_ranges: z
    .array(z.string().max(49).refine((v) => parseCidr(v) !== null, 'an IP range is an address or CIDR such as 10.0.0.0/8'))
    .max(64),
  /**
   * Whether `localhost`, loopback (127.0.0.0/8, ::1) and link-local (169.254.0.0/16, fe80::/10)
   * names may appear in a worker certificate. Off by default: such a name proves nothing about
   * which machine holds the key. Unspecified (0.0.0.0, ::) and multicast addresses are refused always.
   */
  csr_allow_local_sans: z.boolean(),
  /**
   * garm's attempt binding: a container token minted with a create attempt supersedes the
   * container's tokens from earlier attempts (revoked as `superseded`, audited), and a mint for
   * an attempt older than one already minted is refused.
   */
  attempt_binding: z.boolean(),
  /**
   * Where verifiers reach `castellan serve` (e.g. https://castellan.example:8443), or '' for
   * nowhere. When set, newly issued worker certificates name `<url>/crl` as their CRL
   * distribution point and `<url>/ocsp` as their OCSP responder.
   */
  public_base_url: z
    .string()
    .max(2048)
    .refine(isPublicBaseUrl, 'must be an http(s) URL without credentials, query, fragment or trailing slash, or empty'),
});

export type WorkspaceSettings = z.infer<typeof workspaceSettingsSchema>;
export type WorkspaceSettingName = keyof WorkspaceSettings;

export const DEFAULT_WORKSPACE_SETTINGS: WorkspaceSettings = {
  max_token_ttl_secs: 30 * DAY_SECS,
  csr_max_leaf_days: 90,
  csr_allowed_dns_suffixes: [],
  csr_allowed_ip_ranges: [],
  csr_allow_local_sans: false,
  attempt_binding: true,
  public_base_url: '',
};

export const workspaceSettingsPatchSchema = workspaceSettingsSchema.partial();

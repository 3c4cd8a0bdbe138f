import { z } from 'zod';

/**
 * Security policy that belongs to the workspace itself (stored in its database, audited on every
 * change, the same for the app, the CLI and `serve`), as opposed to an admin's preferences
 * (electron-store). Each setting is one field here with its bounds and its default; the core
 * module `electron/core/workspace-settings.ts` reads and writes them.
 */
export const DAY_SECS = 86_400;

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
  attempt_binding: true,
  public_base_url: '',
};

export const workspaceSettingsPatchSchema = workspaceSettingsSchema.partial();

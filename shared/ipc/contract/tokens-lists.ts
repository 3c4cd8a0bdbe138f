/**
 * The value lists of the tokens contract, apart from its schemas (tokens.ts builds them from
 * these and re-exports them) so the renderer's page chunks can hold them without bundling zod:
 * the Tokens page's first rows wait on every module its chunk graph evaluates (bench item 7).
 */
export const PROFILES = ['zlayer', 'ed25519', 'es256'] as const;
export const TOKEN_STATUSES = ['active', 'expired', 'revoked'] as const;
export const REVOKE_REASONS = ['key_compromise', 'leaked', 'superseded', 'decommissioned', 'other'] as const;
export const TOKEN_SORT_COLUMNS = [
  'issued_at',
  'expires_at',
  'revoked_at',
  'deployment',
  'service',
  'container',
  'subject',
  'profile',
  'kid',
  'jti',
] as const;

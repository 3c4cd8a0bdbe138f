import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { TOKEN_CAPABILITIES, TOKEN_RISKS } from '../../policy/token-risk.ts';
import { empty, name, reauthSchema, savedFileSchema, TokenScopeSchema } from './schemas.ts';
import { PROFILES, REVOKE_REASONS, TOKEN_SORT_COLUMNS, TOKEN_STATUSES } from './tokens-lists.ts';

// The plain lists live in tokens-lists.ts (no zod, for the renderer's chunks); one source for both.
export { PROFILES, REVOKE_REASONS, TOKEN_SORT_COLUMNS, TOKEN_STATUSES } from './tokens-lists.ts';

export const profileSchema = z.enum(PROFILES);
export const KEY_STATES = ['active', 'verify-only', 'retired'] as const;
export const revokeReasonSchema = z.enum(REVOKE_REASONS);
export const VERDICTS = [
  'valid',
  'expired',
  'revoked',
  'bad_signature',
  'unknown_key',
  'malformed',
  'not_issued_here',
  /** A known jti on a token whose SHA-256 is not the ledger row's: never valid. */
  'forged',
  /** Signed by a key marked compromised: never valid. */
  'compromised_key',
] as const;

export const signingKeySchema = z.strictObject({
  id: z.string(),
  profile: profileSchema,
  alg: z.string(),
  kid: z.string().nullable(),
  state: z.enum(KEY_STATES),
  compromised: z.boolean(),
  created_at: z.string(),
  rotated_at: z.string().nullable(),
  retired_at: z.string().nullable(),
  /** Tokens this key signed, by status. */
  tokens: z.strictObject({ active: z.number().int(), expired: z.number().int(), revoked: z.number().int() }),
});

export const tokenRecordSchema = z.strictObject({
  id: z.number().int(),
  jti: z.string().nullable(),
  subject: z.string(),
  deployment: z.string(),
  service: z.string(),
  container: z.string(),
  profile: profileSchema,
  key_id: z.string(),
  kid: z.string().nullable(),
  scopes: z.array(TokenScopeSchema),
  issued_at: z.number().int(),
  expires_at: z.number().int(),
  status: z.enum(TOKEN_STATUSES),
  revoked_at: z.number().int().nullable(),
  revoke_reason: z.string().nullable(),
  replaced_by: z.string().nullable(),
  token_sha256: z.string(),
  forced_ttl: z.boolean(),
  /** The service mounted the host daemon socket when the token was minted (full daemon admin). */
  daemon_socket: z.boolean(),
  /** The token's rating by what it grants (shared/policy/token-risk.ts). */
  risk: z.enum(TOKEN_RISKS),
});

/** Filters shared by the list, the bulk revoke and the CLI. */
export const tokenFilterSchema = z.strictObject({
  status: z.enum(TOKEN_STATUSES).optional(),
  deployment: z.string().max(253).optional(),
  service: z.string().max(253).optional(),
  container: z.string().max(253).optional(),
  profile: profileSchema.optional(),
  key_id: z.string().max(100).optional(),
  /** Substring of jti, subject or container. */
  text: z.string().max(200).optional(),
  /** Tokens with this capability: can write a secret, writes every id of a kind, had the daemon socket. */
  capability: z.enum(TOKEN_CAPABILITIES).optional(),
  /** Tokens rated this risk or worse. */
  risk: z.enum(TOKEN_RISKS).optional(),
  /** `kind:level`: tokens with a scope of that kind at that level or higher (the access matrix's cells). */
  grants: z
    .string()
    .max(300)
    .regex(/^[^:]+:(read|execute|write)$/, 'grants is kind:level, the level one of read, execute, write')
    .optional(),
});

/** A freshly minted token: the only time the token itself crosses IPC. */
export const mintedSchema = z.strictObject({ token: z.string(), record: tokenRecordSchema });

const mintInput = z.strictObject({
  deployment: name,
  service: name,
  container: name,
  profile: profileSchema.default('zlayer'),
  ttl_secs: z.number().int().positive().optional(),
  /** A TTL longer than the policy's is refused unless forced; forcing is audited. */
  force: z.boolean().default(false),
  no_jti: z.boolean().default(false),
});

export const inspectionSchema = z.strictObject({
  verdict: z.enum(VERDICTS),
  reason: z.string(),
  header: z.unknown().nullable(),
  claims: z.unknown().nullable(),
  key_id: z.string().nullable(),
  profile: profileSchema.nullable(),
  scopes: z.array(TokenScopeSchema),
  scopes_in_words: z.string(),
  record: tokenRecordSchema.nullable(),
});

export const keyExposureSchema = z.strictObject({
  key: signingKeySchema,
  revocable: z.number().int(),
  unrevocable: z.number().int(),
  revocable_until: z.number().int().nullable(),
  unrevocable_until: z.number().int().nullable(),
  revocable_tokens: z.array(tokenRecordSchema),
  unrevocable_tokens: z.array(tokenRecordSchema),
});

export const tokensContract = {
  'keys:list': defineChannel({ summary: 'signing keys with state and token counts', input: empty, output: z.array(signingKeySchema) }),
  'keys:create': defineChannel({
    summary: 'create the active signing key of a profile',
    input: z.strictObject({ profile: profileSchema }),
    output: signingKeySchema,
  }),
  'keys:rotate': defineChannel({
    summary: 'make a new active key; the old one verifies until its tokens expire',
    input: z.strictObject({ profile: profileSchema, compromised: z.boolean().default(false) }),
    output: z.strictObject({
      key: signingKeySchema,
      previous: signingKeySchema.nullable(),
      /** When compromised: active tokens the old key signed (offer the bulk revoke). */
      tokens_at_risk: z.number().int(),
    }),
  }),
  'keys:importZlayerSecretDialog': defineChannel({
    summary: 'import the daemon’s jwt_secret_zlayer.key through a native dialog (re-authenticates)',
    input: z.strictObject({ reauth: reauthSchema }),
    output: z.strictObject({ cancelled: z.boolean(), key: signingKeySchema.nullable() }),
  }),
  'keys:importZlayerSecret': defineChannel({
    summary: 'import a literal ZLayer JWT secret (--jwt-secret / ZLAYER_JWT_SECRET; re-authenticates)',
    input: z.strictObject({ secret: z.string().min(1).max(4096), reauth: reauthSchema }),
    output: signingKeySchema,
  }),
  'keys:exportZlayerSecret': defineChannel({
    summary: 'export the active ZLayer secret in the daemon’s file format (mode 0600; re-authenticates)',
    input: z.strictObject({ confirm: z.literal(true), reauth: reauthSchema }),
    output: savedFileSchema,
  }),
  'keys:exportJwks': defineChannel({ summary: 'save the JWKS of the asymmetric keys', input: empty, output: savedFileSchema }),
  'tokens:mint': defineChannel({ summary: 'mint one container token', input: mintInput, output: mintedSchema }),
  'tokens:mintBatch': defineChannel({
    summary: 'mint tokens for every replica of a service, or a list of containers, in one transaction',
    input: z.strictObject({
      deployment: name,
      service: name,
      containers: z.array(name).max(100_000).optional(),
      profile: profileSchema.default('zlayer'),
      ttl_secs: z.number().int().positive().optional(),
    }),
    output: z.array(mintedSchema),
  }),
  'tokens:list': defineChannel({
    summary: 'page through the token ledger',
    input: z.strictObject({
      filter: tokenFilterSchema.default({}),
      sort: z.enum(TOKEN_SORT_COLUMNS).default('issued_at'),
      direction: z.enum(['asc', 'desc']).default('desc'),
      limit: z.number().int().min(1).max(1000).default(200),
      offset: z.number().int().min(0).default(0),
    }),
    output: z.strictObject({ rows: z.array(tokenRecordSchema), total: z.number().int() }),
  }),
  'tokens:get': defineChannel({
    summary: 'one ledger record with its claims and history',
    input: z.strictObject({ id: z.number().int().positive() }),
    output: z.strictObject({
      record: tokenRecordSchema,
      claims: z.record(z.string(), z.unknown()),
      scopes_in_words: z.string(),
      history: z.array(z.strictObject({ ts: z.string(), action: z.string(), actor: z.string(), details: z.record(z.string(), z.unknown()) })),
    }),
  }),
  'tokens:revoke': defineChannel({
    summary: 'revoke one token by jti',
    input: z.strictObject({ jti: z.string().min(1).max(200), reason: revokeReasonSchema }),
    output: tokenRecordSchema,
  }),
  'tokens:revokeBulk': defineChannel({
    summary: 'revoke every active token a filter selects (dry run first)',
    input: z.strictObject({ filter: tokenFilterSchema, reason: revokeReasonSchema, dry_run: z.boolean() }),
    output: z.strictObject({ count: z.number().int(), dry_run: z.boolean() }),
  }),
  'tokens:refresh': defineChannel({
    summary: 'mint a replacement, then revoke the old token as superseded',
    input: z.strictObject({ jti: z.string().min(1).max(200) }),
    output: mintedSchema,
  }),
  'tokens:inspect': defineChannel({
    summary: 'verify a pasted token and explain it',
    // Over 16 KB is refused by the inspector itself with a verdict, not by the schema.
    input: z.strictObject({ token: z.string().max(1_000_000) }),
    output: inspectionSchema,
  }),
  'tokens:exportRevocations': defineChannel({
    summary: 'save the signed revocation list',
    input: empty,
    output: savedFileSchema,
  }),
  'keys:exposure': defineChannel({
    summary: 'which active tokens of a key can be revoked, which cannot (no jti), and until when',
    input: z.strictObject({ id: z.string().min(1).max(100) }),
    output: keyExposureSchema,
  }),
  'keys:retire': defineChannel({
    summary: 'retire any key now (force); re-authenticates, audited',
    input: z.strictObject({ id: z.string().min(1).max(100), force: z.literal(true), reauth: reauthSchema }),
    output: signingKeySchema,
  }),
  'tokens:stats': defineChannel({
    summary: 'counts and what expires soon',
    input: z.strictObject({ expiring_within_secs: z.number().int().positive().default(86_400) }),
    output: z.strictObject({
      active: z.number().int(),
      expired: z.number().int(),
      revoked: z.number().int(),
      expiring_soon: z.array(tokenRecordSchema),
    }),
  }),
} as const;

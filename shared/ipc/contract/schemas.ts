import { z } from 'zod';
import { TokenScopeSchema } from '../../policy/scopes.ts';

/** Schemas shared by several domain contracts. */
export const empty = z.strictObject({});
export const name = z.string().min(1).max(253);
/** Re-authentication carried by a dangerous request: the current passphrase, or the OS keychain slot. */
export const reauthSchema = z.union([
  z.strictObject({ passphrase: z.string().min(1).max(1024) }),
  z.strictObject({ keychain: z.literal(true) }),
]);
export const labelMap = z.record(z.string().min(1).max(253), z.string().max(65_536));

export const diagnosticSchema = z.strictObject({
  label: z.string(),
  severity: z.enum(['error', 'warning', 'info']),
  code: z.string(),
  message: z.string(),
  entry: z.string().optional(),
  index: z.number().int().optional(),
});

export const findingSchema = z.strictObject({
  code: z.string(),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  title: z.string(),
  detail: z.string(),
  deployment: z.string(),
  service: z.string(),
});

export const accessSchema = z.strictObject({
  scopes: z.array(TokenScopeSchema),
  ttl_secs: z.number().int().nonnegative(),
  /** The TTL exactly as the daemon reads it (u64, decimal); ttl_secs is clamped to 2^53-1. */
  ttl_secs_exact: z.string().regex(/^[0-9]{1,20}$/),
  mount_socket: z.boolean(),
  docker_socket: z.boolean().nullable(),
  scopes_source: z.enum(['default', 'label', 'default-fallback']),
  diagnostics: z.array(diagnosticSchema),
});

export const servicePolicySchema = z.strictObject({
  deployment: z.string(),
  service: z.string(),
  labels: z.record(z.string(), z.string()),
  access: accessSchema,
  findings: z.array(findingSchema),
});

/** What a save/open through a native dialog produced. */
export const savedFileSchema = z.strictObject({ cancelled: z.boolean(), path: z.string().nullable() });

export { TokenScopeSchema };

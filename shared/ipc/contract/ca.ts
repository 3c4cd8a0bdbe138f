import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { empty, reauthSchema, savedFileSchema } from './schemas.ts';

export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export const revocationReasonSchema = z.enum(REVOCATION_REASONS);
// p7b is PEM (BEGIN PKCS7), p7b-der the same bundle as DER.
export const BUNDLE_FORMATS = ['pem', 'der', 'p7b', 'p7b-der', 'json'] as const;

const sanSchema = z.strictObject({ type: z.enum(['dns', 'ip', 'email', 'uri']), value: z.string() });

export const caInfoSchema = z.strictObject({
  subject: z.string(),
  issuer: z.string(),
  serial: z.string(),
  not_before: z.string(),
  not_after: z.string(),
  fingerprint_sha256: z.string(),
  key_type: z.string(),
  imported: z.boolean(),
  created_at: z.string(),
});

export const certificateSchema = z.strictObject({
  serial: z.string(),
  node_id: z.string(),
  subject: z.string(),
  sans: z.array(sanSchema),
  fingerprint_sha256: z.string(),
  not_before: z.string(),
  not_after: z.string(),
  issued_at: z.string(),
  status: z.enum(['valid', 'expired', 'revoked']),
  revoked_at: z.string().nullable(),
  revocation_reason: z.string().nullable(),
});

/** One requested name and the workspace SAN policy's verdict on it (`rule`: why it is refused). */
export const sanVerdictSchema = z.strictObject({
  type: z.enum(['dns', 'ip', 'email', 'uri']),
  value: z.string(),
  allowed: z.boolean(),
  rule: z.string().nullable(),
});

export const csrPreviewSchema = z.strictObject({
  key_type: z.string(),
  key_size: z.number().int(),
  requested_subject: z.string(),
  sans: z.array(sanSchema),
  san_verdicts: z.array(sanVerdictSchema),
  signature_valid: z.boolean(),
  acceptable: z.boolean(),
  problems: z.array(z.string()),
});

/** A CSR as the page read it from a dropped file: PEM text, or DER as base64. */
const csrInput = z.string().min(1).max(64 * 1024);
const nodeId = z.string().min(1).max(64);

export const caContract = {
  'ca:show': defineChannel({ summary: 'the worker CA, if any', input: empty, output: caInfoSchema.nullable() }),
  'ca:init': defineChannel({ summary: 'create the worker CA', input: empty, output: caInfoSchema }),
  'ca:importDialog': defineChannel({
    summary: 'import worker_ca.crt and worker_ca.key chosen in native dialogs',
    input: empty,
    output: z.strictObject({ cancelled: z.boolean(), ca: caInfoSchema.nullable() }),
  }),
  'ca:exportZlayer': defineChannel({
    summary: 'write worker_ca.crt (0644) and worker_ca.key (0600) into a folder chosen in a dialog (re-authenticates)',
    input: z.strictObject({ confirm: z.literal(true), reauth: reauthSchema }),
    output: savedFileSchema,
  }),
  'ca:previewCsr': defineChannel({
    summary: 'what a CSR asks for, judged by the workspace CSR policy (for node_id, if given)',
    input: z.strictObject({ csr: csrInput, node_id: nodeId.optional() }),
    output: csrPreviewSchema,
  }),
  'ca:sign': defineChannel({
    summary: 'sign a worker CSR',
    // days: refused beyond the workspace's csr_max_leaf_days (with that message), default 90 or that maximum.
    input: z.strictObject({ csr: csrInput, node_id: nodeId, days: z.number().int().min(1).max(36_500).optional() }),
    output: z.strictObject({ certificate: certificateSchema, leaf_pem: z.string() }),
  }),
  'ca:saveCertificate': defineChannel({
    summary: 'save an issued certificate as PEM, DER or the registration JSON',
    input: z.strictObject({ serial: z.string().min(1).max(64), format: z.enum(['pem', 'der', 'json']) }),
    output: savedFileSchema,
  }),
  'ca:certs': defineChannel({
    summary: 'issued certificates',
    input: z.strictObject({
      search: z.string().max(200).optional(),
      expiring_within_days: z.number().int().positive().optional(),
      limit: z.number().int().min(1).max(1000).default(500),
      offset: z.number().int().min(0).default(0),
    }),
    output: z.strictObject({ rows: z.array(certificateSchema), total: z.number().int() }),
  }),
  'ca:revoke': defineChannel({
    summary: 'revoke a certificate and regenerate the CRL',
    input: z.strictObject({ serial: z.string().min(1).max(64), reason: revocationReasonSchema }),
    output: certificateSchema,
  }),
  'ca:exportCrl': defineChannel({
    summary: 'save the current CRL',
    input: z.strictObject({ format: z.enum(['pem', 'der']) }),
    output: savedFileSchema,
  }),
  'ca:exportBundle': defineChannel({
    summary: 'save the CA bundle',
    input: z.strictObject({ format: z.enum(BUNDLE_FORMATS) }),
    output: savedFileSchema,
  }),
} as const;

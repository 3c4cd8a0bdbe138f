import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { empty, reauthSchema, savedFileSchema } from './schemas.ts';

const passphrase = z.string().min(1).max(1024);
const slotSchema = z.strictObject({
  id: z.number().int(),
  kind: z.enum(['passphrase', 'keychain']),
  label: z.string(),
  backend: z.string().nullable(),
  created_at: z.string(),
});
const vaultStatus = z.strictObject({
  initialized: z.boolean(),
  unlocked: z.boolean(),
  slots: z.array(slotSchema),
  keychain: z.strictObject({ available: z.boolean(), backend: z.string().nullable(), reason: z.string().nullable() }),
});

const auditEntry = z.strictObject({
  seq: z.number().int(),
  ts: z.string(),
  actor_user: z.string(),
  actor_kind: z.enum(['app', 'cli']),
  actor_admin: z.string().optional(),
  actor_host: z.string().optional(),
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});

export const workspaceContract = {
  'vault:status': defineChannel({ summary: 'vault state and slots', input: empty, output: vaultStatus }),
  'vault:initialize': defineChannel({
    summary: 'create the vault with a first passphrase; `label` names the admin it belongs to (default: the OS user)',
    input: z.strictObject({ passphrase, label: z.string().max(100).optional() }),
    output: vaultStatus,
  }),
  'vault:unlock': defineChannel({
    summary: 'unlock with a passphrase',
    input: z.strictObject({ passphrase }),
    output: vaultStatus,
  }),
  'vault:unlockKeychain': defineChannel({ summary: 'unlock with the OS keychain', input: empty, output: vaultStatus }),
  'vault:lock': defineChannel({ summary: 'lock the vault', input: empty, output: vaultStatus }),
  'vault:addPassphrase': defineChannel({
    summary: 'add a passphrase slot (re-authenticates: `reauth` is the current passphrase or the keychain)',
    input: z.strictObject({ passphrase, label: z.string().max(100).optional(), reauth: reauthSchema }),
    output: vaultStatus,
  }),
  'vault:addKeychain': defineChannel({
    summary: 'add an OS-keychain slot (re-authenticates)',
    input: z.strictObject({ reauth: reauthSchema }),
    output: vaultStatus,
  }),
  'vault:removeSlot': defineChannel({
    summary: 'remove an unlock slot (re-authenticates)',
    input: z.strictObject({ id: z.number().int().positive(), reauth: reauthSchema }),
    output: vaultStatus,
  }),
  'audit:list': defineChannel({
    summary: 'list audit entries',
    input: z.strictObject({
      action: z.string().max(100).optional(),
      /** Substring of the action name, as the page's Action filter types it. */
      action_contains: z.string().max(100).optional(),
      text: z.string().max(200).optional(),
      actor: z.string().max(100).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
      offset: z.number().int().min(0).default(0),
    }),
    output: z.strictObject({ rows: z.array(auditEntry), total: z.number().int() }),
  }),
  'audit:verify': defineChannel({
    summary: 'verify the audit hash chain',
    input: empty,
    output: z.strictObject({
      ok: z.boolean(),
      count: z.number().int(),
      brokenAt: z.number().int().nullable(),
      reason: z.string().nullable(),
      /** Entries covered by a valid MAC; absent while the vault is locked. */
      authenticated: z.number().int().optional(),
      /** Entries appended while the vault was locked, not authenticated yet. */
      unauthenticated: z.strictObject({ from: z.number().int(), to: z.number().int() }).nullable().optional(),
      /** Key, CA, CRL and settings records that fail their authentication check. */
      records: z.array(z.strictObject({ record: z.string(), reason: z.string() })).optional(),
    }),
  }),
  'audit:export': defineChannel({
    summary: 'save the audit log through a native dialog',
    input: z.strictObject({ format: z.enum(['jsonl', 'csv']) }),
    output: savedFileSchema,
  }),
} as const;

import { z } from 'zod';
import { databaseUrlProblem } from '../../database-url.ts';
import { defineChannel } from '../define.ts';
import { empty, reauthSchema } from './schemas.ts';

/**
 * Settings → Database (issue 14): which database this console's workspace lives in — the embedded
 * file, or a PostgreSQL database several admins share. CASTELLAN_DATABASE_URL wins (and is shown
 * as such, not editable); else the saved preference; else the embedded file. A change takes effect
 * at the next start of the app. Switching the authority the console talks to re-authenticates.
 */

/** A postgres:// URL without a password (shared/database-url.ts says why not, word for word). */
export const databaseUrlSchema = z
  .string()
  .superRefine((value, ctx) => {
    const problem = databaseUrlProblem(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((value) => value.trim());

const choiceSchema = z.strictObject({
  engine: z.enum(['sqlite', 'postgres']),
  /** "the embedded file /…/castellan.db" or "database castellan on db.example:5432": never a user name or password. */
  description: z.string(),
  /** CASTELLAN_DATABASE_URL, the saved preference, or the default (the embedded file). */
  source: z.enum(['env', 'preference', 'default']),
});

export const databaseStatusSchema = z.strictObject({
  /** What this run of the app opened. */
  active: choiceSchema,
  /** What the next start opens (differs from `active` after a change). */
  next: choiceSchema,
  /** True when the next start opens something else: the change waits for a restart. */
  restart_needed: z.boolean(),
  /** CASTELLAN_DATABASE_URL is set: it wins, and the preference cannot be changed here. */
  env_locked: z.boolean(),
  /** The saved preference (a password-free postgres:// URL), or null for the embedded file. */
  preference: z.string().nullable(),
  /** Why the saved preference cannot be used (a hand-edited file), or null. */
  preference_problem: z.string().nullable(),
});

export const workspaceDatabaseContract = {
  'workspace:database': defineChannel({
    summary: 'which database the workspace lives in, where that choice came from, and what the next start opens',
    input: empty,
    output: databaseStatusSchema,
  }),
  'workspace:setDatabase': defineChannel({
    summary:
      'save the PostgreSQL URL to open at the next start (`url`: no password), or null for the embedded file; re-authenticates, audited',
    input: z.strictObject({ url: databaseUrlSchema.nullable(), reauth: reauthSchema.optional() }),
    output: databaseStatusSchema,
  }),
  'workspace:testDatabase': defineChannel({
    summary: 'connect to a PostgreSQL URL, check the server is version 15 or later, and disconnect; re-authenticates',
    input: z.strictObject({ url: databaseUrlSchema, reauth: reauthSchema.optional() }),
    output: z.strictObject({
      description: z.string(),
      /** The server's own version string, e.g. "16.4". */
      server_version: z.string(),
    }),
  }),
} as const;

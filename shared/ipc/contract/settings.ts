import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { empty } from './schemas.ts';

/** Preferences only (electron-store); everything that grows lives in SQLite. */
export const settingsSchema = z.strictObject({
  theme: z.enum(['light', 'dark', 'system']),
  /** nextUpdate − thisUpdate of published CRLs. */
  crl_validity_days: z.number().int().min(1).max(365),
  /** "Expires soon" thresholds on the overview. */
  token_warning_hours: z.number().int().min(1).max(24 * 90),
  cert_warning_days: z.number().int().min(1).max(365),
  ca_warning_days: z.number().int().min(1).max(3650),
});
export type Settings = z.output<typeof settingsSchema>;

export { DEFAULT_SETTINGS } from './settings-defaults.ts';

export const settingsContract = {
  'settings:get': defineChannel({ summary: 'read preferences', input: empty, output: settingsSchema }),
  'settings:set': defineChannel({ summary: 'change preferences', input: settingsSchema.partial().strict(), output: settingsSchema }),
} as const;

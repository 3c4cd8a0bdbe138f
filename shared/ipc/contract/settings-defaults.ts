import type { Settings } from './settings.ts';

/**
 * The default preferences, apart from their schema so the renderer's first chunk can hold them
 * without bundling zod (the schemas load with the pages that validate).
 */
export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  crl_validity_days: 7,
  token_warning_hours: 24,
  cert_warning_days: 14,
  ca_warning_days: 180,
};

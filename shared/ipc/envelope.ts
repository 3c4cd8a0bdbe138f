import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

/**
 * Electron passes only `error.message` across `ipcRenderer.invoke`, so every answer is an
 * envelope: the typed error code survives the boundary and the renderer can rethrow it.
 */
export interface IssueSummary {
  path: string;
  message: string;
}

export type Envelope<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: ErrorCode; message: string; issues?: IssueSummary[] } };

export const envelopeErrorSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
});

export function ok<T>(data: T): Envelope<T> {
  return { ok: true, data };
}

export function fail(code: ErrorCode, message: string, issues?: IssueSummary[]): Envelope<never> {
  return issues ? { ok: false, error: { code, message, issues } } : { ok: false, error: { code, message } };
}

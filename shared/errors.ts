/**
 * Typed errors that cross every boundary in Castellan: core → router → envelope → renderer.
 * A message is written for an admin to read; it never carries a secret.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'UNKNOWN_CHANNEL',
  'FORBIDDEN_SENDER',
  'INVALID_OUTPUT',
  'LOCKED',
  'NOT_FOUND',
  'CONFLICT',
  'BAD_REQUEST',
  'UNSUPPORTED',
  'INTEGRITY',
  'CANCELLED',
  /** The shared database (PostgreSQL) could not be reached, or the connection broke. */
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class CastellanError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CastellanError';
    this.code = code;
  }
}

export function isCastellanError(err: unknown): err is CastellanError {
  return err instanceof CastellanError;
}

/**
 * The short form of a token id shown across the console. Kept apart from TokenBits so the
 * command palette (in the first chunk) does not pull the policy code and zod in with it.
 */
export function shortJti(jti: string | null): string {
  return jti ? jti.slice(0, 8) : 'no-jti';
}

/**
 * Settings → Database (issue 14): the PostgreSQL URL an admin may save as a preference. Shared by
 * the IPC contract (the main side refuses it at the boundary) and the Settings page (the same
 * message, live, as the admin types), so what is refused and why is written once.
 *
 * A saved URL never holds a password: electron-store is a plain JSON file. The password comes from
 * ~/.pgpass or PGPASSWORD, which `pg` reads itself when the URL has none.
 */

/** The longest URL accepted (bytes of UTF-8); a real one is well under 200. */
export const MAX_DATABASE_URL_BYTES = 2048;

/** Query options that carry a secret: refused like a password in the authority part. */
const SECRET_OPTIONS = ['password', 'sslpassword'];

export const PASSWORD_ADVICE =
  'Castellan does not save passwords in its preferences: remove it from the URL and put it in ~/.pgpass or the PGPASSWORD environment variable';

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * Why `text` cannot be saved as the database preference, or null when it can. Each message says
 * what is wrong and what is expected, for an admin to read; none quotes the URL back (it might
 * hold the very password being refused).
 */
export function databaseUrlProblem(text: string): string | null {
  // A character is at least one byte: a long string is refused before it is encoded.
  if (text.length > MAX_DATABASE_URL_BYTES || utf8Length(text) > MAX_DATABASE_URL_BYTES) {
    return `the URL is longer than ${MAX_DATABASE_URL_BYTES} bytes; a PostgreSQL URL is far shorter`;
  }
  const value = text.trim();
  if (value === '') return 'enter a postgres:// URL (or use the embedded file)';
  if (!/^postgres(ql)?:\/\//i.test(value)) {
    return 'the URL must start with postgres:// (for example postgres://castellan@db.example:5432/castellan)';
  }
  // Control characters and spaces are never part of a connection URL; URL() would drop or escape some.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'the URL contains spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'the URL is malformed (expected postgres://user@host:port/database?options)';
  }
  if (url.password !== '' || /^[a-z]+:\/\/[^/?#@]*:[^/?#@]*@/i.test(value)) {
    return `the URL contains a password. ${PASSWORD_ADVICE}`;
  }
  for (const key of url.searchParams.keys()) {
    if (SECRET_OPTIONS.includes(key.toLowerCase())) {
      return `the URL has a ${key}= option. ${PASSWORD_ADVICE}`;
    }
  }
  if (url.port !== '' && Number(url.port) === 0) return 'the URL names port 0; PostgreSQL listens on 5432 by default';
  if (url.hash !== '') return 'the URL has a #fragment, which a PostgreSQL URL never has';
  return null;
}

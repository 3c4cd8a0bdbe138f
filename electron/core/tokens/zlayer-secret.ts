/**
 * The ZLayer daemon's JWT secret (COMPAT.md, "ZLayer container tokens").
 *
 * The daemon signs with the *bytes of a secret string*. That string is either
 * given verbatim (`--jwt-secret` / `ZLAYER_JWT_SECRET`) or derived from
 * `{data_dir}/jwt_secret_zlayer.key`: 64 random bytes whose lowercase hex (128
 * characters) is the string. Castellan must derive the identical string, so the
 * file reader is strict: anything but exactly 64 bytes is refused rather than
 * guessed at (a truncated or re-encoded file would silently give another key).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CastellanError } from '../../../shared/errors.ts';

export const ZLAYER_KEY_FILE_NAME = 'jwt_secret_zlayer.key';
export const ZLAYER_KEY_FILE_BYTES = 64;
/** Below this many characters a literal secret is refused unless the caller opts in. */
export const ZLAYER_MIN_LITERAL_CHARS = 32;

const KEY_FILE_HEX = /^[0-9a-f]{128}$/;
const HEXISH = /^[0-9a-fA-F]+\s*$/;

/**
 * The HMAC key for a secret string: its bytes, exactly as Rust's `str::as_bytes`
 * (UTF-8, which is plain ASCII for every secret a key file or a sane flag yields).
 */
export function zlayerHmacKeyBytes(secret: string): Uint8Array {
  return new Uint8Array(Buffer.from(secret, 'utf8'));
}

/** The key string a daemon derives from the raw contents of `jwt_secret_zlayer.key`. */
export function zlayerSecretFromKeyFile(bytes: Uint8Array): string {
  if (bytes.byteLength !== ZLAYER_KEY_FILE_BYTES) {
    let hint = '';
    if (bytes.byteLength === 0) {
      hint = ' (the file is empty)';
    } else if (bytes.byteLength < ZLAYER_KEY_FILE_BYTES) {
      hint = ' (the file looks truncated)';
    } else if (HEXISH.test(Buffer.from(bytes).toString('latin1'))) {
      hint = ' (it looks like hex text; the daemon reads 64 raw bytes, so import the text as a literal secret instead)';
    }
    throw new CastellanError(
      'INVALID_INPUT',
      `${ZLAYER_KEY_FILE_NAME} must hold exactly ${ZLAYER_KEY_FILE_BYTES} bytes, but this file holds ${bytes.byteLength}${hint}`,
    );
  }
  return Buffer.from(bytes).toString('hex');
}

/**
 * Validates a secret given as text, as the daemon would take it from
 * `--jwt-secret`. It is used verbatim, so surrounding whitespace (almost always a
 * paste accident that would yield a different key) is refused rather than trimmed.
 */
export function zlayerSecretFromLiteral(secret: string, options: { allowWeak?: boolean } = {}): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new CastellanError('INVALID_INPUT', 'the ZLayer JWT secret must not be empty');
  }
  if (secret.trim() !== secret) {
    throw new CastellanError(
      'INVALID_INPUT',
      'the ZLayer JWT secret starts or ends with whitespace; the daemon uses it verbatim, so remove it if it was pasted by accident',
    );
  }
  if (secret.length < ZLAYER_MIN_LITERAL_CHARS && options.allowWeak !== true) {
    throw new CastellanError(
      'INVALID_INPUT',
      `the ZLayer JWT secret is ${secret.length} characters long; at least ${ZLAYER_MIN_LITERAL_CHARS} are required (confirm explicitly to import a weaker one)`,
    );
  }
  return secret;
}

/** A fresh key file as a daemon would create it, and the secret string it yields. */
export function generateZlayerKeyFile(): { fileBytes: Uint8Array; secret: string } {
  const fileBytes = new Uint8Array(randomBytes(ZLAYER_KEY_FILE_BYTES));
  return { fileBytes, secret: Buffer.from(fileBytes).toString('hex') };
}

/** The key-file bytes for a secret that came from a key file (128 lowercase hex chars). */
export function zlayerKeyFileBytes(secretHex: string): Uint8Array {
  if (typeof secretHex !== 'string' || !KEY_FILE_HEX.test(secretHex)) {
    throw new CastellanError(
      'UNSUPPORTED',
      `only a secret derived from a key file (128 lowercase hex characters) can be written as ${ZLAYER_KEY_FILE_NAME}; a literal secret has no file form, so give it to the daemon with --jwt-secret`,
    );
  }
  return new Uint8Array(Buffer.from(secretHex, 'hex'));
}

/**
 * Writes secret bytes to `path` via a temporary file in the same directory and a
 * rename, so a reader sees either the old file or the whole new one. The mode is
 * set on the open descriptor (and re-applied, since umask may narrow it) before
 * any byte is written.
 */
export async function writeSecretFileAtomic(path: string, bytes: Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  let renamed = false;
  try {
    await handle.chmod(mode);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    }
  }
}

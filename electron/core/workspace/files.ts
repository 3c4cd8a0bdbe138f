/**
 * Writing export files without trusting the folder they go to.
 *
 * A file is written the way ZLayer does (a temporary file, then a rename), with three guards:
 * - the temporary name is random (96 bits) and the file is created exclusively (`wx`:
 *   O_CREAT|O_EXCL, which never follows a symbolic link), so nobody can plant a link at the name
 *   in advance and have Castellan write, or chmod, the file it points to;
 * - the mode is set on the open descriptor (fchmod), never by path;
 * - a destination that is a symbolic link is refused: renaming over it would silently replace
 *   the link, and following it would write wherever it points. The admin chooses the real file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CastellanError } from '../../../shared/errors.ts';

/** A fresh temporary name beside `file`: hidden, random, never derived from the pid or the clock. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
}

/** Refuses a destination that is a symbolic link (a missing file is fine). */
export function refuseSymlink(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return;
  }
  if (stat.isSymbolicLink()) {
    throw new CastellanError(
      'INVALID_INPUT',
      `${file} is a symbolic link; Castellan does not write exports through links: choose the file it points to, or remove the link`,
    );
  }
}

/**
 * Create `file` exclusively (it must not exist, not even as a link) with exactly `mode`, write
 * `data` and flush it. On failure nothing of ours is left behind.
 */
export function createExclusive(file: string, data: string | Uint8Array, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    // The umask may have narrowed the mode (a 0644 certificate under umask 077).
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
}

/** A temporary file beside `file` holding `data` with `mode`; the caller renames or removes it. */
export function writeTemp(file: string, data: string | Uint8Array, mode: number): string {
  const tmp = tempPathFor(file);
  createExclusive(tmp, data, mode);
  return tmp;
}

/** Write `file` atomically with `mode` (0644 by default; 0600 for anything that may hold secrets). */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  refuseSymlink(file);
  const tmp = writeTemp(file, data, mode);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

import fs from 'node:fs';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { CastellanError } from '../../shared/errors.ts';
import { writeFileAtomic } from '../core/workspace/files.ts';

export interface CliIO {
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: process.stdin,
    env: process.env,
  };
}

/** One line from a TTY without echo, or from piped stdin. */
async function promptHidden(io: CliIO, question: string): Promise<string> {
  const muted = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  io.stderr(question);
  const rl = readline.createInterface({ input: io.stdin, output: muted, terminal: Boolean(io.stdin.isTTY) });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new CastellanError('BAD_REQUEST', 'no passphrase given (stdin closed)')));
    });
    io.stderr('\n');
    return line;
  } finally {
    rl.close();
  }
}

/**
 * A secret from the environment variable named by `--<flag> VAR`, else a prompt on the
 * terminal. Never from argv, and never echoed.
 */
export async function readSecret(
  io: CliIO,
  envName: string | undefined,
  flag: string,
  question: string,
  opts: { confirm?: boolean } = {},
): Promise<string> {
  if (envName !== undefined) {
    const value = io.env[envName];
    if (value === undefined || value === '') {
      throw new CastellanError('BAD_REQUEST', `--${flag} names ${envName}, but that environment variable is empty or unset`);
    }
    return value;
  }
  if (!io.stdin.isTTY && io.env.CASTELLAN_ALLOW_STDIN_SECRET !== '1') {
    throw new CastellanError('BAD_REQUEST', `a secret is needed: pass --${flag} VAR (an environment variable holding it) or run in a terminal`);
  }
  const first = await promptHidden(io, question);
  if (opts.confirm) {
    const second = await promptHidden(io, 'Repeat to confirm: ');
    if (first !== second) throw new CastellanError('BAD_REQUEST', 'the two entries differ; nothing was changed');
  }
  return first;
}

/** Read a file argument, or stdin for "-". */
export async function readInput(io: CliIO, file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CastellanError('NOT_FOUND', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read error')}`);
  }
}

/** Write to --out FILE atomically (temp + rename) with `mode`, or to stdout. */
export function writeOutput(io: CliIO, out: string | undefined, data: string | Uint8Array, mode = 0o644): void {
  if (out === undefined || out === '-') {
    io.stdout(data);
    return;
  }
  try {
    // A random temporary name created exclusively, and a symbolic link at --out is refused.
    writeFileAtomic(out, data, mode);
  } catch (err) {
    if (err instanceof CastellanError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (code ?? 'write error');
    throw new CastellanError('INVALID_INPUT', `cannot write ${out}: ${why}`);
  }
}

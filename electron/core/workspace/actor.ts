/**
 * Who is acting: every audit entry names the OS user, the machine, and which front end
 * (the Electron app or the CLI) did the work. The admin (the vault slot that unlocked the
 * workspace) comes from the vault at the time of each entry (audit.ts useAdmin).
 */
import os from 'node:os';
import { CastellanError } from '../../../shared/errors.ts';

export type ActorKind = 'app' | 'cli';

export interface Actor {
  user: string;
  kind: ActorKind;
  /** The machine's host name; several admins on several machines share one authority. */
  host?: string;
}

export const ACTOR_KINDS: readonly ActorKind[] = ['app', 'cli'];

/** The OS user running this process, acting through the given front end. */
export function currentActor(kind: ActorKind, env: NodeJS.ProcessEnv = process.env): Actor {
  return { user: currentUserName(env), kind: assertActorKind(kind), host: currentHostName() };
}

/** Throws INVALID_INPUT unless `actor` is a usable audit identity. */
export function assertActor(actor: Actor): Actor {
  if (typeof actor !== 'object' || actor === null) {
    throw new CastellanError('INVALID_INPUT', 'an actor { user, kind } is required');
  }
  if (typeof actor.user !== 'string' || actor.user.trim() === '') {
    throw new CastellanError('INVALID_INPUT', 'the actor needs a non-empty user name');
  }
  assertActorKind(actor.kind);
  return actor;
}

function assertActorKind(kind: string): ActorKind {
  if (kind !== 'app' && kind !== 'cli') {
    throw new CastellanError('INVALID_INPUT', `actor kind must be "app" or "cli", not ${JSON.stringify(kind)}`);
  }
  return kind;
}

function currentUserName(env: NodeJS.ProcessEnv): string {
  // os.userInfo() throws when the uid has no passwd entry (common in containers).
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // fall through to the environment
  }
  return env.USER || env.USERNAME || env.LOGNAME || 'unknown';
}

/** The host name, printable and at most 253 characters (a DNS name's limit); 'unknown' if unset. */
export function currentHostName(): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  const name = os.hostname().replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 253);
  return name === '' ? 'unknown' : name;
}

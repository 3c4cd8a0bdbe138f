/**
 * Who is acting: every audit entry names the OS user and which front end
 * (the Electron app or the CLI) did the work.
 */
import os from 'node:os';
import { CastellanError } from '../../../shared/errors.ts';

export type ActorKind = 'app' | 'cli';

export interface Actor {
  user: string;
  kind: ActorKind;
}

export const ACTOR_KINDS: readonly ActorKind[] = ['app', 'cli'];

/** The OS user running this process, acting through the given front end. */
export function currentActor(kind: ActorKind, env: NodeJS.ProcessEnv = process.env): Actor {
  return { user: currentUserName(env), kind: assertActorKind(kind) };
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

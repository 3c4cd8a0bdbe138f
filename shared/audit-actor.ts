/**
 * How an audit entry's actor reads, the same in the console, the CLI and a token's history:
 * the admin (the vault slot that unlocked the workspace) first, then the OS user, the machine
 * and the front end — `alice (ops@build-7, cli)`. Entries written while the vault was locked, or
 * before schema version 9, name no admin (and the older ones no machine): `ops (app)`.
 */
export interface AuditActorFields {
  actor_user: string;
  actor_kind: string;
  actor_admin?: string | null | undefined;
  actor_host?: string | null | undefined;
}

export function describeActor(e: AuditActorFields): string {
  const who = e.actor_host ? `${e.actor_user}@${e.actor_host}` : e.actor_user;
  return e.actor_admin ? `${e.actor_admin} (${who}, ${e.actor_kind})` : `${who} (${e.actor_kind})`;
}

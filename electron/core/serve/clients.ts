/**
 * Verifier clients: who may call `POST /introspect`. Castellan issues each one a client id and a
 * secret (shown once, at creation) and can revoke it; the workspace keeps only the SHA-256 of the
 * secret. The secret is 32 random bytes, so a fast hash is enough: there is nothing to
 * brute-force that a slow KDF would protect, and the server checks it on every request.
 *
 * Creating and revoking a client are audited; the secret never is.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqlStatement } from '../storage/sql-database.ts';
import { CastellanError } from '../../../shared/errors.ts';
import type { Workspace } from '../workspace/workspace.ts';

export type VerifierClient = {
  id: string;
  name: string;
  created_at: string;
  revoked_at: string | null;
};

const NAME = /^[^\p{Cc}]{1,100}$/u;
const CLIENT_ID = /^vc_[A-Za-z0-9_-]{16}$/;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function target(id: string): string {
  return `serve_client:${id}`;
}

export function listVerifierClients(ws: Workspace): VerifierClient[] {
  return ws.db
    .prepare('SELECT id, name, created_at, revoked_at FROM serve_clients ORDER BY created_at, id')
    .all() as VerifierClient[];
}

/** Creates a client; the secret is returned here and nowhere else. */
export function createVerifierClient(ws: Workspace, name: string): { client: VerifierClient; secret: string } {
  if (typeof name !== 'string' || !NAME.test(name.trim())) {
    throw new CastellanError('INVALID_INPUT', 'a verifier client needs a name of 1 to 100 characters without control characters');
  }
  const id = `vc_${randomBytes(12).toString('base64url')}`;
  const secret = randomBytes(32).toString('base64url');
  const client: VerifierClient = { id, name: name.trim(), created_at: new Date().toISOString(), revoked_at: null };
  ws.transaction(() => {
    ws.db
      .prepare('INSERT INTO serve_clients (id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?)')
      .run(client.id, client.name, sha256Hex(secret), client.created_at);
    ws.audit.append({ action: 'serve.client_create', target: target(id), details: { name: client.name } });
  });
  return { client, secret };
}

/** Revokes a client; its secret stops working on the server's next request. Twice is harmless. */
export function revokeVerifierClient(ws: Workspace, id: string): VerifierClient {
  if (typeof id !== 'string' || !CLIENT_ID.test(id)) {
    throw new CastellanError('INVALID_INPUT', 'a verifier client id looks like vc_ followed by 16 characters');
  }
  return ws.transaction(() => {
    const row = ws.db.prepare('SELECT id, name, created_at, revoked_at FROM serve_clients WHERE id = ?').get(id) as
      VerifierClient | undefined;
    if (row === undefined) throw new CastellanError('NOT_FOUND', `no verifier client ${id}`);
    if (row.revoked_at !== null) return row;
    const revokedAt = new Date().toISOString();
    ws.db.prepare('UPDATE serve_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(revokedAt, id);
    ws.audit.append({ action: 'serve.client_revoke', target: target(id), details: { name: row.name } });
    return { ...row, revoked_at: revokedAt };
  });
}

// A fixed digest to compare against when the client id is unknown, so an unknown id and a wrong
// secret cost the same.
const NO_CLIENT_DIGEST = sha256Hex('castellan: no such verifier client');

/**
 * The client id if `id` names an unrevoked client whose secret is `secret`, else null. Read from
 * the database on every call, so a revoke from another process applies to the next request.
 */
const lookups = new WeakMap<Workspace, SqlStatement>();

export function authenticateVerifierClient(ws: Workspace, id: string, secret: string): string | null {
  let lookup = lookups.get(ws);
  if (lookup === undefined) {
    lookup = ws.db.prepare('SELECT secret_sha256, revoked_at FROM serve_clients WHERE id = ?');
    lookups.set(ws, lookup);
  }
  const row =
    CLIENT_ID.test(id) && secret.length <= 256
      ? (lookup.get(id) as
          { secret_sha256: string; revoked_at: string | null } | undefined)
      : undefined;
  const expected = Buffer.from(row?.secret_sha256 ?? NO_CLIENT_DIGEST, 'hex');
  const given = Buffer.from(sha256Hex(secret), 'hex');
  const same = expected.length === given.length && timingSafeEqual(expected, given);
  return row !== undefined && row.revoked_at === null && same ? id : null;
}

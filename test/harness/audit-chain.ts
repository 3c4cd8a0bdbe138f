/**
 * A stand-in hash-chained audit log for the storage tests: entries chained by sha256 over their
 * fields and the previous hash, appended the way the core will append (take the audit head lock,
 * read the head, write after it). Independent of electron/core/workspace/audit.ts on purpose: these tests
 * are about the storage port's serialization, not the audit format.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statement, type StoragePort } from '../../electron/core/storage/index.ts';

export const GENESIS = '0'.repeat(64);
const insertAudit = statement(
  `INSERT INTO audit (seq, ts, actor_user, actor_kind, action, target, details, prev_hash, hash)
   VALUES (?, ?, ?, 'cli', ?, ?, '{}', ?, ?)`,
);
export const auditHead = statement<{ seq: number; hash: string }>(
  'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1',
);
const allAudit = statement<{
  seq: number;
  actor_user: string;
  action: string;
  target: string;
  prev_hash: string;
  hash: string;
}>('SELECT seq, actor_user, action, target, prev_hash, hash FROM audit ORDER BY seq');

export function chainHash(seq: number, actor: string, action: string, target: string, prev: string): string {
  return createHash('sha256').update(`${seq}\n${actor}\n${action}\n${target}\n${prev}`).digest('hex');
}

/** Appends one chained entry the way the core will: lock the head, read it, write after it. */
export async function appendChained(port: StoragePort, actor: string, action: string, target: string): Promise<number> {
  return port.transaction(
    async (tx) => {
      const head = await tx.get(auditHead);
      const seq = (head?.seq ?? 0) + 1;
      const prev = head?.hash ?? GENESIS;
      const hash = chainHash(seq, actor, action, target, prev);
      await tx.run(insertAudit, [seq, new Date().toISOString(), actor, action, target, prev, hash]);
      return seq;
    },
    { lockAuditHead: true },
  );
}

export async function assertChainIntact(port: StoragePort, expected: number): Promise<void> {
  const rows = await port.all(allAudit);
  assert.equal(rows.length, expected, `the log holds ${rows.length} entries, not ${expected}`);
  let prev = GENESIS;
  rows.forEach((row, i) => {
    assert.equal(row.seq, i + 1, `entry ${i + 1} is numbered ${row.seq}`);
    assert.equal(row.prev_hash, prev, `entry ${row.seq} does not link to the one before it`);
    assert.equal(
      row.hash,
      chainHash(row.seq, row.actor_user, row.action, row.target, row.prev_hash),
      `entry ${row.seq}'s hash is wrong`,
    );
    prev = row.hash;
  });
}

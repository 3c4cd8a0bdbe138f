/**
 * Changes pushed to open consoles (issue 14, team semantics). Every change to a workspace appends
 * to its audit log in the same transaction, so the audit head's sequence number is a cursor over
 * all changes, whoever made them: this app, the CLI in a terminal, another admin's console on the
 * same file. A console that knows the cursor it last saw asks "what changed after it?" — one
 * indexed read of the head, plus, when it moved, the distinct domains of the new entries — and
 * reloads the pages that show them.
 *
 * How a change is noticed is the engine's business; what is read afterwards is not. On the
 * embedded SQLite file the watcher polls the head (the primary key's last entry: microseconds,
 * on the core's worker thread, core-worker.ts). On PostgreSQL the revoking transaction's NOTIFY will
 * wake it instead; notifications are not durable, so after a reconnect it resyncs from the same
 * cursor — which is also why the cursor, not the notification, carries the truth.
 */
import { CHANGE_DOMAINS, type ChangeDomain } from '../../../shared/ipc/channels.ts';
import type { Workspace } from './workspace.ts';

export { CHANGE_DOMAINS, type ChangeDomain };

export interface WorkspaceChange {
  /** The audit sequence number the change ends at: pass it back to read what follows. */
  cursor: number;
  /** The cursor this change starts after. */
  after: number;
  /** What the new entries touched ('audit' always: every change is an entry). */
  domains: ChangeDomain[];
}

/** Past this many new entries the domains are not read one by one: a reload of everything is cheaper. */
export const MAX_ENTRIES_SCANNED = 2000;
/** PostgreSQL: the head is read at least this often even without a notification. */
const SAFETY_READ_MS = 1000;

const ACTION_DOMAIN: Record<string, ChangeDomain> = {
  token: 'tokens',
  tokens: 'tokens',
  revocations: 'tokens',
  key: 'keys',
  keys: 'keys',
  deployment: 'deployments',
  deployments: 'deployments',
  policy: 'deployments',
  ca: 'ca',
  vault: 'vault',
  workspace: 'workspace',
  settings: 'workspace',
  serve: 'serve',
  audit: 'audit',
};

/** The domain an audit action belongs to ('workspace' for one this build does not know). */
export function domainOfAction(action: string): ChangeDomain {
  const prefix = action.split('.', 1)[0] ?? '';
  return ACTION_DOMAIN[prefix] ?? 'workspace';
}

/** The audit head now: the cursor a console starts from. */
export function changeCursor(ws: Workspace): number {
  const row = ws.db.prepare('SELECT seq FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}

/** What changed after `cursor`, or null when nothing did. */
export function changesSince(ws: Workspace, cursor: number): WorkspaceChange | null {
  const head = changeCursor(ws);
  if (head === cursor) return null;
  // The log is shorter than what the console saw: the file was restored from a backup. Everything may differ.
  if (head < cursor) return { cursor: head, after: cursor, domains: [...CHANGE_DOMAINS] };
  if (head - cursor > MAX_ENTRIES_SCANNED) return { cursor: head, after: cursor, domains: [...CHANGE_DOMAINS] };
  const rows = ws.db
    .prepare('SELECT DISTINCT action FROM audit WHERE seq > ? AND seq <= ?')
    .all(cursor, head) as { action: string }[];
  const domains = new Set<ChangeDomain>(['audit']);
  for (const r of rows) domains.add(domainOfAction(r.action));
  return { cursor: head, after: cursor, domains: CHANGE_DOMAINS.filter((d) => domains.has(d)) };
}

export interface ChangeWatcherOptions {
  /** How often the head is read (SQLite). Default 50 ms: a change shows in a console in < 100 ms. */
  intervalMs?: number;
}

/**
 * Watches whichever workspace `current()` returns (the app opens it lazily and may switch) and
 * calls `listener` once per batch of changes. A workspace seen for the first time starts at its
 * head: opening one is not a change. Errors reading the head (a workspace closing under us) are
 * skipped; the next tick tries again. Returns the stop function.
 */
export function watchChanges(
  current: () => Workspace | null,
  listener: (change: WorkspaceChange) => void,
  options: ChangeWatcherOptions = {},
): () => void {
  let watched: Workspace | null = null;
  let cursor = 0;
  let signal: number | null = null;
  let readAt = 0;
  const tick = () => {
    const ws = current();
    if (ws === null) {
      watched = null;
      return;
    }
    try {
      if (ws !== watched) {
        watched = ws;
        signal = ws.changeSignal();
        readAt = Date.now();
        cursor = changeCursor(ws);
        return;
      }
      // PostgreSQL: the head is read only when a NOTIFY came (or the listener reconnected: a
      // notification may have been missed, so resync from the cursor), and once a second anyway.
      const now = Date.now();
      const next = ws.changeSignal();
      if (next !== null && next === signal && now - readAt < SAFETY_READ_MS) return;
      signal = next;
      readAt = now;
      const change = changesSince(ws, cursor);
      if (change === null) return;
      cursor = change.cursor;
      listener(change);
    } catch {
      // A closed or busy workspace: nothing to report this tick.
    }
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? 50);
  timer.unref();
  return () => clearInterval(timer);
}

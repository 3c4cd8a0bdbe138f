/**
 * IPC handlers for Settings → Database: workspace:database, workspace:setDatabase,
 * workspace:testDatabase (issue 14).
 *
 * Pointing the console at another database switches the authority it talks to, so a change
 * re-authenticates like the other dangerous operations: the current passphrase (or the keychain
 * slot with a native "yes"), checked against the vault of the workspace open now. A test
 * connection re-authenticates too: `pg` sends PGPASSWORD (or a client key) to whatever server the
 * URL names, and a compromised renderer must not be able to send it to a server of its choosing.
 *
 * When there is no passphrase to check — the workspace open now has no vault yet (a new admin
 * joining a team), or it cannot be opened at all (the saved database is down) — the admin confirms
 * in a native dialog the page cannot click, so Castellan never locks the admin out of choosing.
 *
 * A change is saved as a preference and opened at the next start (the workspace open now, its
 * unlocked vault and any publishing stay as they are until then); it is audited in the workspace
 * open now.
 */
import { CastellanError } from '../../../../shared/errors.ts';
import { memoryDatabasePreference, type AppDatabase } from '../../workspace/database-choice.ts';
import { databaseStatus, describeChoice, testDatabaseConnection } from '../../workspace/database-status.ts';
import type { Reauthentication } from '../../workspace/vault.ts';
import type { Workspace } from '../../workspace/workspace.ts';
import type { Dialogs } from '../dialogs.ts';
import type { HandlerMap } from '../ipc-router.ts';
import { reauthenticateRequest } from './reauth.ts';

/**
 * Without a host-given AppDatabase (a harness that opened the workspace itself): what the open
 * workspace is, as it describes itself, and a preference kept in memory.
 */
function fallbackDatabase(workspace: () => Workspace): () => AppDatabase {
  let made: AppDatabase | undefined;
  return () => {
    if (made) return made;
    const ws = workspace();
    made = {
      active: ws.shared ? { source: 'env', url: 'postgres:///' } : { source: 'default' },
      preference: memoryDatabasePreference(),
      workspaceDir: ws.dir,
      ...(ws.shared ? { activeDescription: ws.engine.where } : {}),
    };
    return made;
  };
}

/** The workspace open now, or the reason it cannot be opened. */
function tryWorkspace(workspace: () => Workspace): { ws: Workspace } | { error: string } {
  try {
    return { ws: workspace() };
  } catch (err) {
    return { error: err instanceof CastellanError ? err.message : 'it failed to open' };
  }
}

async function authorize(
  workspace: () => Workspace,
  dialogs: Dialogs,
  reauth: Reauthentication | undefined,
  what: string,
): Promise<Workspace | null> {
  const current = tryWorkspace(workspace);
  if ('ws' in current && current.ws.vault.status().initialized) {
    if (reauth === undefined) {
      throw new CastellanError(
        'INVALID_INPUT',
        `re-authentication is required to ${what}: give the current passphrase (or use the OS keychain slot)`,
      );
    }
    await reauthenticateRequest(current.ws, dialogs, reauth, what);
    return current.ws;
  }
  // Nothing to check a passphrase against: the admin says yes where the page cannot.
  if (dialogs.confirm === undefined) {
    throw new CastellanError('UNSUPPORTED', `this process cannot ask for a native confirmation, so it cannot ${what}`);
  }
  const why =
    'ws' in current
      ? 'This workspace has no vault yet, so there is no passphrase to check.'
      : `The workspace open now cannot be opened (${current.error}), so no passphrase can be checked.`;
  const yes = await dialogs.confirm({
    title: 'Castellan: confirm the database change',
    message: `Allow Castellan to ${what}?`,
    detail: `${why} If you did not just ask for this, choose Cancel.`,
    confirmLabel: 'Allow',
  });
  if (!yes) throw new CastellanError('CANCELLED', `not confirmed: Castellan did not ${what}`);
  return 'ws' in current ? current.ws : null;
}

export function workspaceDatabaseHandlers(
  workspace: () => Workspace,
  dialogs: Dialogs,
  given: AppDatabase | undefined,
): HandlerMap {
  const database = given ? () => given : fallbackDatabase(workspace);
  return {
    'workspace:database': () => databaseStatus(database()),

    'workspace:setDatabase': async ({ url, reauth }) => {
      const db = database();
      if (db.active.source === 'env') {
        throw new CastellanError(
          'CONFLICT',
          'CASTELLAN_DATABASE_URL is set for this app and wins over Settings → Database; unset it (and restart) to choose the database here',
        );
      }
      const chosen = url === null ? { source: 'default' as const } : { source: 'preference' as const, url };
      const shown = describeChoice(chosen, db.workspaceDir).description;
      const what = url === null ? 'open the embedded file from the next start' : `open ${shown} from the next start`;
      const ws = await authorize(workspace, dialogs, reauth, what);
      db.preference.set(url);
      if (ws !== null) {
        ws.transaction(() =>
          ws.audit.append({
            action: 'workspace.database',
            target: 'preferences',
            details: { engine: url === null ? 'sqlite' : 'postgres', database: shown, takes_effect: 'next start' },
          }),
        );
      }
      return databaseStatus(db);
    },

    'workspace:testDatabase': async ({ url, reauth }) => {
      const shown = describeChoice({ source: 'preference', url }, database().workspaceDir).description;
      await authorize(workspace, dialogs, reauth, `connect to ${shown} to test it`);
      return testDatabaseConnection(url);
    },
  };
}

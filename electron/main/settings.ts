import Store from 'electron-store';
import { databaseUrlProblem } from '../../shared/database-url.ts';
import { DEFAULT_SETTINGS, settingsSchema, type Settings } from '../../shared/ipc/contract/settings.ts';
import type { DatabasePreference } from '../core/workspace/database-choice.ts';
import type { SettingsStore } from '../core/workspace/settings.ts';

interface Preferences {
  settings: Settings;
  /** Settings → Database: a postgres:// URL without a password; absent for the embedded file. */
  database?: string;
}

let store: Store<Preferences> | undefined;
const preferences = (): Store<Preferences> =>
  (store ??= new Store<Preferences>({ name: 'preferences', defaults: { settings: DEFAULT_SETTINGS } }));

/** electron-store holds preferences only; a corrupt or hand-edited file falls back to defaults. */
export function electronSettings(): SettingsStore {
  const read = (): Settings => {
    const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...preferences().get('settings') });
    return parsed.success ? parsed.data : DEFAULT_SETTINGS;
  };
  return {
    get: read,
    set(patch) {
      const next = settingsSchema.parse({ ...read(), ...patch });
      preferences().set('settings', next);
      return next;
    },
  };
}

/**
 * The database preference, apart from `settings` so settings:set can never change it (a change
 * re-authenticates: workspace:setDatabase). A hand-edited value is returned as it is and refused,
 * with its reason, when the workspace is opened (database-choice.ts), never silently replaced.
 */
export function electronDatabasePreference(): DatabasePreference {
  return {
    get() {
      const value = preferences().get('database');
      return typeof value === 'string' && value.trim() !== '' ? value : null;
    },
    set(url) {
      if (url === null) {
        preferences().delete('database');
        return;
      }
      // The handler checked it already; checked again so no path writes a password to this file.
      const problem = databaseUrlProblem(url);
      if (problem !== null) throw new Error(problem);
      preferences().set('database', url.trim());
    },
  };
}

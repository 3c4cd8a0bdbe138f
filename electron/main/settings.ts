import Store from 'electron-store';
import { DEFAULT_SETTINGS, settingsSchema, type Settings } from '../../shared/ipc/contract/settings.ts';
import type { SettingsStore } from '../core/workspace/settings.ts';

/** electron-store holds preferences only; a corrupt or hand-edited file falls back to defaults. */
export function electronSettings(): SettingsStore {
  const store = new Store<{ settings: Settings }>({ name: 'preferences', defaults: { settings: DEFAULT_SETTINGS } });
  const read = (): Settings => {
    const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...store.get('settings') });
    return parsed.success ? parsed.data : DEFAULT_SETTINGS;
  };
  return {
    get: read,
    set(patch) {
      const next = settingsSchema.parse({ ...read(), ...patch });
      store.set('settings', next);
      return next;
    },
  };
}

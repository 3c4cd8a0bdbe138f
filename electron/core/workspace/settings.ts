import { DEFAULT_SETTINGS, settingsSchema, type Settings } from '../../../shared/ipc/contract/settings.ts';

/** Preferences: electron-store in the app; in memory for the harness, defaults for the CLI. */
export interface SettingsStore {
  get(): Settings;
  set(patch: Partial<Settings>): Settings;
}

export function memorySettings(initial: Partial<Settings> = {}): SettingsStore {
  let current: Settings = settingsSchema.parse({ ...DEFAULT_SETTINGS, ...initial });
  return {
    get: () => current,
    set(patch) {
      current = settingsSchema.parse({ ...current, ...patch });
      return current;
    },
  };
}

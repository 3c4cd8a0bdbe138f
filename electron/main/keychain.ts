import { safeStorage } from 'electron';
import type { KeychainBackend } from '../core/workspace/vault.ts';

/** The vault's OS-keychain slot, through Electron's safeStorage. */
export const safeStorageKeychain: KeychainBackend = {
  backend: () => (process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : process.platform),
  isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
  encryptString: (s) => safeStorage.encryptString(s),
  decryptString: (b) => safeStorage.decryptString(b),
};

import type { Dialogs } from '../dialogs.ts';
import { writeFileAtomic } from '../../workspace/files.ts';
import { exportAuditWithCheckpoint, verifyWorkspace } from '../../workspace/record-integrity.ts';
import type { HandlerMap } from '../ipc-router.ts';
import { reauthenticateRequest } from './reauth.ts';
import type { KeychainBackend } from '../../workspace/vault.ts';
import type { Workspace } from '../../workspace/workspace.ts';

export function keychainStatus(keychain: KeychainBackend | undefined) {
  if (!keychain) return { available: false, backend: null, reason: 'no OS keychain in this process' };
  const backend = keychain.backend();
  if (backend === 'basic_text') {
    return { available: false, backend, reason: 'the Linux keychain backend is basic_text, which does not encrypt' };
  }
  if (!keychain.isEncryptionAvailable()) return { available: false, backend, reason: 'OS encryption is not available' };
  return { available: true, backend, reason: null };
}

export function workspaceHandlers(workspace: () => Workspace, dialogs: Dialogs, keychain?: KeychainBackend): HandlerMap {
  const status = () => ({ ...workspace().vault.status(), keychain: keychainStatus(keychain) });
  return {
    'vault:status': status,
    // scrypt runs on libuv's threadpool (the async vault methods): the main process never freezes.
    'vault:initialize': async ({ passphrase, label }) => (
      await workspace().vault.initializeAsync(passphrase, label === undefined || label.trim() === '' ? {} : { label }),
      status()
    ),
    'vault:unlock': async ({ passphrase }) => (await workspace().vault.unlockWithPassphraseAsync(passphrase), status()),
    'vault:unlockKeychain': () => (workspace().vault.unlockWithKeychain(), status()),
    'vault:lock': () => (workspace().vault.lock(), status()),
    // Slots are the keys to the kingdom: an unlocked vault is not enough, the request itself must
    // carry the current passphrase (or use the keychain slot), checked before anything changes.
    'vault:addPassphrase': async ({ passphrase, label, reauth }) => {
      const ws = workspace();
      await reauthenticateRequest(ws, dialogs, reauth, 'add a passphrase slot to the vault');
      await ws.vault.addPassphraseSlotAsync(passphrase, label);
      return status();
    },
    'vault:addKeychain': async ({ reauth }) => {
      const ws = workspace();
      await reauthenticateRequest(ws, dialogs, reauth, 'add an OS-keychain slot to the vault');
      ws.vault.addKeychainSlot();
      return status();
    },
    'vault:removeSlot': async ({ id, reauth }) => {
      const ws = workspace();
      await reauthenticateRequest(ws, dialogs, reauth, `remove vault slot ${id}`);
      ws.vault.removeSlot(id);
      return status();
    },

    'audit:list': (query) => workspace().audit.list(query),
    'audit:verify': () => {
      const ws = workspace();
      if (!ws.vault.unlocked) {
        // The chain alone proves nothing against someone who can edit the file: say so, never "OK".
        const chain = ws.audit.verify();
        const why = ws.vault.status().initialized
          ? 'the vault is locked: the hash chain is intact but cannot be authenticated; unlock to verify'
          : 'the workspace has no vault yet: the hash chain is intact, but nothing can be authenticated until a vault is created';
        return {
          ok: false,
          count: chain.count,
          brokenAt: chain.ok ? null : chain.brokenAt,
          reason: chain.ok ? why : chain.reason,
        };
      }
      const result = verifyWorkspace(ws);
      return {
        ok: result.ok,
        count: result.count,
        brokenAt: result.brokenAt,
        reason: result.reason,
        authenticated: result.authenticated,
        unauthenticated: result.unauthenticated,
        records: result.records,
      };
    },
    'audit:export': async ({ format }) => {
      const file = await dialogs.saveFile({
        title: 'Export the audit log',
        defaultName: `castellan-audit.${format}`,
        filters: [{ name: format.toUpperCase(), extensions: [format] }],
      });
      if (!file) return { cancelled: true, path: null };
      // Ends with a checkpoint signed by the vault's checkpoint key (so LOCKED while locked).
      exportAuditWithCheckpoint(workspace(), format, (text) => writeFileAtomic(file, text, 0o600));
      return { cancelled: false, path: file };
    },
  };
}

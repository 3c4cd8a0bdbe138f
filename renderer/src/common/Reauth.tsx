import { Checkbox, PasswordInput, Stack } from '@mantine/core';
import { useCallback, useState } from 'react';
import type { ChannelInput } from '../../../shared/ipc/contract.ts';
import { useChannel } from '../hooks.ts';

/** What a dangerous request carries: the current passphrase, or the OS keychain slot. */
export type Reauthentication = ChannelInput<'vault:removeSlot'>['reauth'];

export interface ReauthState {
  passphrase: string;
  setPassphrase: (value: string) => void;
  useKeychain: boolean;
  setUseKeychain: (value: boolean) => void;
  /** True when this workspace has a keychain slot the OS keychain here can open. */
  keychainOffered: boolean;
  /** Something to send: a passphrase typed, or the keychain chosen. */
  ready: boolean;
  /**
   * The credential for ONE request; the typed passphrase is cleared from state at once, so it
   * lives only in the request being sent (a failed request means typing it again).
   */
  take: () => Reauthentication;
}

/**
 * Re-authentication for the keys to the kingdom (vault slots, the HS256 secret, the CA key):
 * an unlocked vault is not enough, the request itself carries the current passphrase.
 */
export function useReauth(): ReauthState {
  const [passphrase, setPassphrase] = useState('');
  const [useKeychain, setUseKeychain] = useState(false);
  const vault = useChannel('vault:status', {});
  const status = vault.data;
  const keychainOffered = Boolean(
    status?.keychain.available &&
      status.slots.some((s) => s.kind === 'keychain' && s.backend === status.keychain.backend),
  );
  const viaKeychain = useKeychain && keychainOffered;
  const take = useCallback((): Reauthentication => {
    const credential: Reauthentication = viaKeychain ? { keychain: true } : { passphrase };
    setPassphrase('');
    return credential;
  }, [viaKeychain, passphrase]);
  return {
    passphrase,
    setPassphrase,
    useKeychain: viaKeychain,
    setUseKeychain,
    keychainOffered,
    ready: viaKeychain || passphrase !== '',
    take,
  };
}

/** The "Current passphrase" field (and the keychain alternative, when this workspace has one). */
export function ReauthFields({ state, label = 'Current passphrase' }: { state: ReauthState; label?: string }) {
  return (
    <Stack gap={6}>
      <PasswordInput
        label={label}
        description="Re-enter the vault passphrase: this change needs it, not just an unlocked vault."
        value={state.passphrase}
        onChange={(e) => state.setPassphrase(e.currentTarget.value)}
        disabled={state.useKeychain}
        autoComplete="current-password"
        maxLength={1024}
      />
      {state.keychainOffered && (
        <Checkbox
          label="Use the OS keychain slot instead (you confirm in a system dialog)"
          checked={state.useKeychain}
          onChange={(e) => state.setUseKeychain(e.currentTarget.checked)}
        />
      )}
    </Stack>
  );
}

import { Alert, Button, Group, PasswordInput, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { call } from '../ipc.ts';
import { useAction } from '../hooks.ts';

type VaultStatus = ChannelOutput<'vault:status'>;

/** Create or unlock the vault; shown above every page while keys are out of reach. */
export function VaultGate({ status, onChange }: { status: VaultStatus | null; onChange: (s: VaultStatus) => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [admin, setAdmin] = useState('');
  const act = useAction(async (fn: () => Promise<VaultStatus>) => {
    const next = await fn();
    setPassphrase('');
    setConfirm('');
    onChange(next);
  });
  if (!status || status.unlocked) return null;

  if (!status.initialized) {
    return (
      <Alert color="yellow" title="Create the workspace vault" mb="md" aria-label="Vault">
        <Text size="sm" mb="xs">
          Every private key Castellan holds is sealed under a key that this passphrase protects.
        </Text>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (passphrase !== confirm) return act.setError('the two passphrases differ');
            void act.run(() => call('vault:initialize', admin.trim() === '' ? { passphrase } : { passphrase, label: admin.trim() }));
          }}
        >
          <Group align="flex-end">
            <TextInput
              label="Your name"
              description="Names you in the audit log; your OS user name if left empty"
              maxLength={100}
              value={admin}
              onChange={(e) => setAdmin(e.currentTarget.value)}
            />
            <PasswordInput label="New passphrase" value={passphrase} onChange={(e) => setPassphrase(e.currentTarget.value)} />
            <PasswordInput label="Repeat passphrase" value={confirm} onChange={(e) => setConfirm(e.currentTarget.value)} />
            <Button type="submit" loading={act.busy}>
              Create vault
            </Button>
          </Group>
        </form>
        {act.error && (
          <Text c="red" size="sm" role="alert" mt="xs">
            {act.error}
          </Text>
        )}
      </Alert>
    );
  }

  const keychainSlot = status.slots.some((s) => s.kind === 'keychain');
  return (
    <Alert color="yellow" title="The vault is locked" mb="md" aria-label="Vault">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(() => call('vault:unlock', { passphrase }));
        }}
      >
        <Group align="flex-end">
          <PasswordInput label="Passphrase" value={passphrase} onChange={(e) => setPassphrase(e.currentTarget.value)} />
          <Button type="submit" loading={act.busy}>
            Unlock
          </Button>
          {keychainSlot && status.keychain.available && (
            <Button variant="default" onClick={() => void act.run(() => call('vault:unlockKeychain', {}))}>
              Unlock with OS keychain
            </Button>
          )}
        </Group>
      </form>
      {act.error && (
        <Text c="red" size="sm" role="alert" mt="xs">
          {act.error}
        </Text>
      )}
    </Alert>
  );
}

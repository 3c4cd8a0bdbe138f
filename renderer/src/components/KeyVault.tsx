import {
  Alert,
  Button,
  Card,
  Group,
  Modal,
  PasswordInput,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { useAction } from '../hooks.ts';
import { call } from '../ipc.ts';
import { ErrorAlert, Muted } from './common.tsx';

type VaultStatus = ChannelOutput<'vault:status'>;
type Slot = VaultStatus['slots'][number];

function slotName(slot: Slot): string {
  return slot.label || `${slot.kind} slot ${slot.id}`;
}

/** The vault's unlock slots: list, add (passphrase, OS keychain), remove, and lock. */
export function KeyVault({ status, onChange }: { status: VaultStatus | null; onChange: (s: VaultStatus) => void }) {
  const [label, setLabel] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [removing, setRemoving] = useState<Slot | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const act = useAction(async (fn: () => Promise<VaultStatus>, done: string) => {
    onChange(await fn());
    setMessage(done);
  });
  const addPassphrase = useAction(async () => {
    if (passphrase !== repeat) throw new Error('the two passphrases differ');
    onChange(await call('vault:addPassphrase', { passphrase, ...(label.trim() ? { label: label.trim() } : {}) }));
    setPassphrase('');
    setRepeat('');
    setLabel('');
    setMessage('Added a passphrase slot.');
  });
  const remove = useAction(async (slot: Slot) => {
    onChange(await call('vault:removeSlot', { id: slot.id }));
    setRemoving(null);
    setMessage(`Removed ${slotName(slot)}.`);
  });

  if (!status) return null;
  const keychain = status.keychain;
  return (
    <Card withBorder component="section" aria-labelledby="vault-title">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="vault-title">
          Vault
        </Title>
        <Button
          variant="default"
          disabled={!status.unlocked}
          loading={act.busy}
          onClick={() => void act.run(() => call('vault:lock', {}), 'The vault is locked.')}
        >
          Lock vault
        </Button>
      </Group>
      <Muted>
        Every private key is sealed under the vault key; each slot below is one way to unlock it.
        {status.unlocked ? '' : ' The vault is locked: unlock it above to manage slots.'}
      </Muted>
      <ErrorAlert error={act.error ?? addPassphrase.error} title="Vault" />
      {message && (
        <Alert
          color="teal"
          role="status"
          mt="xs"
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => setMessage(null)}
        >
          {message}
        </Alert>
      )}
      <Table aria-label="Vault slots" mt="sm" striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Kind</Table.Th>
            <Table.Th>Label</Table.Th>
            <Table.Th>Backend</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {status.slots.map((slot) => (
            <Table.Tr key={slot.id} data-slot-id={slot.id}>
              <Table.Td>{slot.kind === 'keychain' ? 'OS keychain' : 'passphrase'}</Table.Td>
              <Table.Td>{slot.label || <Text c="dimmed">—</Text>}</Table.Td>
              <Table.Td>{slot.backend ?? '—'}</Table.Td>
              <Table.Td>{new Date(slot.created_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Button
                  size="compact-xs"
                  color="red"
                  variant="subtle"
                  aria-label={`Remove slot ${slotName(slot)}`}
                  disabled={!status.unlocked}
                  onClick={() => {
                    remove.setError(null);
                    setRemoving(slot);
                  }}
                >
                  Remove
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>

      <form
        onSubmit={(e) => {
          e.preventDefault();
          setMessage(null);
          void addPassphrase.run();
        }}
      >
        <Group align="flex-end" mt="md">
          <TextInput
            label="Slot label"
            placeholder="optional, e.g. recovery"
            value={label}
            onChange={(e) => setLabel(e.currentTarget.value)}
            maxLength={100}
          />
          <PasswordInput
            label="Slot passphrase"
            value={passphrase}
            onChange={(e) => setPassphrase(e.currentTarget.value)}
          />
          <PasswordInput
            label="Repeat slot passphrase"
            value={repeat}
            onChange={(e) => setRepeat(e.currentTarget.value)}
          />
          <Button type="submit" disabled={!status.unlocked || passphrase === ''} loading={addPassphrase.busy}>
            Add passphrase slot
          </Button>
        </Group>
      </form>
      <Group mt="md" align="center">
        <Button
          variant="default"
          disabled={!status.unlocked || !keychain.available}
          aria-describedby="keychain-reason"
          onClick={() => {
            setMessage(null);
            void act.run(() => call('vault:addKeychain', {}), 'Added an OS-keychain slot.');
          }}
        >
          Add OS-keychain slot
        </Button>
        <Text size="sm" c="dimmed" id="keychain-reason">
          {keychain.available
            ? `Unlocks with your login through ${keychain.backend ?? 'the OS keychain'}.`
            : `Unavailable: ${keychain.reason ?? 'no OS keychain'}.`}
        </Text>
      </Group>

      {removing && (
        <Modal
          opened
          closeButtonProps={{ 'aria-label': 'Close' }}
          onClose={() => setRemoving(null)}
          title={`Remove ${slotName(removing)}`}
        >
          <Stack>
            <Text size="sm">
              This {removing.kind === 'keychain' ? 'OS-keychain' : 'passphrase'} slot will no longer unlock the vault.
              The last slot cannot be removed.
            </Text>
            <ErrorAlert error={remove.error} title="Not removed" />
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setRemoving(null)}>
                Cancel
              </Button>
              <Button color="red" loading={remove.busy} onClick={() => void remove.run(removing)}>
                Remove slot
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
    </Card>
  );
}

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
import { ErrorAlert, Muted } from '../common/common.tsx';
import { ReauthFields, useReauth } from '../common/Reauth.tsx';

type VaultStatus = ChannelOutput<'vault:status'>;
type Slot = VaultStatus['slots'][number];

function slotName(slot: Slot): string {
  return slot.label || `${slot.kind} slot ${slot.id}`;
}

/** Remove one slot: asks for the current passphrase (or the keychain slot) and sends it with the request. */
function RemoveSlotDialog({
  slot,
  onClose,
  onRemoved,
}: {
  slot: Slot;
  onClose: () => void;
  onRemoved: (s: VaultStatus) => void;
}) {
  const reauth = useReauth();
  const remove = useAction(async () => {
    onRemoved(await call('vault:removeSlot', { id: slot.id, reauth: reauth.take() }));
  });
  return (
    <Modal opened closeButtonProps={{ 'aria-label': 'Close' }} onClose={onClose} title={`Remove ${slotName(slot)}`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void remove.run();
        }}
      >
        <Stack>
          <Text size="sm">
            This {slot.kind === 'keychain' ? 'OS-keychain' : 'passphrase'} slot will no longer unlock the vault. The
            last slot cannot be removed.
          </Text>
          <ReauthFields state={reauth} />
          <ErrorAlert error={remove.error} title="Not removed" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={remove.busy} disabled={!reauth.ready}>
              Remove slot
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** Add an OS-keychain slot: asks for the current passphrase first. */
function AddKeychainDialog({ onClose, onAdded }: { onClose: () => void; onAdded: (s: VaultStatus) => void }) {
  const reauth = useReauth();
  const add = useAction(async () => {
    onAdded(await call('vault:addKeychain', { reauth: reauth.take() }));
  });
  return (
    <Modal opened closeButtonProps={{ 'aria-label': 'Close' }} onClose={onClose} title="Add an OS-keychain slot">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <Stack>
          <Text size="sm">
            The vault key is stored in the OS keychain too, so your login unlocks the vault without the passphrase.
          </Text>
          <ReauthFields state={reauth} />
          <ErrorAlert error={add.error} title="Not added" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={add.busy} disabled={!reauth.ready}>
              Add OS-keychain slot
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The vault's unlock slots: list, add (passphrase, OS keychain), remove, and lock. */
export function KeyVault({ status, onChange }: { status: VaultStatus | null; onChange: (s: VaultStatus) => void }) {
  const [label, setLabel] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [removing, setRemoving] = useState<Slot | null>(null);
  const [addingKeychain, setAddingKeychain] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const addReauth = useReauth();

  const act = useAction(async (fn: () => Promise<VaultStatus>, done: string) => {
    onChange(await fn());
    setMessage(done);
  });
  const addPassphrase = useAction(async () => {
    if (passphrase !== repeat) throw new Error('the two passphrases differ');
    onChange(
      await call('vault:addPassphrase', {
        passphrase,
        ...(label.trim() ? { label: label.trim() } : {}),
        reauth: addReauth.take(),
      }),
    );
    setPassphrase('');
    setRepeat('');
    setLabel('');
    setMessage('Added a passphrase slot.');
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
                    setMessage(null);
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
            description="The admin it belongs to: the audit log names whoever unlocks with it"
            placeholder="e.g. bob, or recovery"
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
          <ReauthFields state={addReauth} />
          <Button
            type="submit"
            disabled={!status.unlocked || passphrase === '' || !addReauth.ready}
            loading={addPassphrase.busy}
          >
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
            setAddingKeychain(true);
          }}
        >
          Add OS-keychain slot…
        </Button>
        <Text size="sm" c="dimmed" id="keychain-reason">
          {keychain.available
            ? `Unlocks with your login through ${keychain.backend ?? 'the OS keychain'}.`
            : `Unavailable: ${keychain.reason ?? 'no OS keychain'}.`}
        </Text>
      </Group>

      {removing && (
        <RemoveSlotDialog
          slot={removing}
          onClose={() => setRemoving(null)}
          onRemoved={(next) => {
            onChange(next);
            setMessage(`Removed ${slotName(removing)}.`);
            setRemoving(null);
          }}
        />
      )}
      {addingKeychain && (
        <AddKeychainDialog
          onClose={() => setAddingKeychain(false)}
          onAdded={(next) => {
            onChange(next);
            setMessage('Added an OS-keychain slot.');
            setAddingKeychain(false);
          }}
        />
      )}
    </Card>
  );
}

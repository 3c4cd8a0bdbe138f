import { Alert, Button, Checkbox, Group, Loader, Modal, PasswordInput, Stack, Table, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { isoFromUnixSecs } from '../../../shared/time.ts';
import { useAction } from '../hooks.ts';
import { call, errorMessage } from '../ipc.ts';
import { ErrorAlert, relativeTime } from '../common/common.tsx';
import { ReauthFields, useReauth } from '../common/Reauth.tsx';
import { RevokeDialog } from './RevokeDialog.tsx';
import type { RevokeReason, SigningKey } from './TokenBits.tsx';

type Profile = SigningKey['profile'];

/**
 * Revoke every active token one key signed: the dry-run count first, then the confirm
 * names the count. Mount it only while wanted.
 */
export function KeyRevokeTokensDialog({
  keyId,
  defaultReason,
  onClose,
  onDone,
}: {
  keyId: string;
  defaultReason: RevokeReason;
  onClose: () => void;
  onDone: (count: number) => void;
}) {
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    call('tokens:revokeBulk', { filter: { key_id: keyId }, reason: defaultReason, dry_run: true }).then(
      (answer) => live && setCount(answer.count),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [keyId, defaultReason]);
  const plural = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'token' : 'tokens'}`;
  return (
    <RevokeDialog
      title={`Revoke the tokens of key ${keyId}`}
      confirmLabel={count === null ? 'Counting…' : count === 0 ? 'Nothing to revoke' : `Revoke ${plural(count)}`}
      disabled={count === null || count === 0}
      defaultReason={defaultReason}
      onClose={onClose}
      onConfirm={async (reason) => {
        const answer = await call('tokens:revokeBulk', { filter: { key_id: keyId }, reason, dry_run: false });
        onDone(answer.count);
      }}
    >
      <ErrorAlert error={error} title="Could not count the tokens" />
      {count === null && !error ? (
        <Loader size="sm" aria-label="Counting tokens" />
      ) : (
        count !== null && (
          <Text size="sm" data-testid="key-dry-run">
            Dry run: {plural(count)} signed by key {keyId} {count === 1 ? 'is' : 'are'} still active. Nothing has been
            revoked yet.
          </Text>
        )
      )}
    </RevokeDialog>
  );
}

/**
 * Rotate a profile's active key. With "compromised", the old key is flagged and the dialog
 * goes on to offer revoking its tokens (dry-run count first).
 */
export function KeyRotateDialog({
  profile,
  active,
  onClose,
  onChanged,
}: {
  profile: Profile;
  active: SigningKey;
  onClose: () => void;
  onChanged: (message: string) => void;
}) {
  const [compromised, setCompromised] = useState(false);
  const [rotated, setRotated] = useState<{ key: SigningKey; previous: SigningKey | null; atRisk: number } | null>(null);
  const [offer, setOffer] = useState(false);
  const rotate = useAction(async () => {
    const answer = await call('keys:rotate', { profile, compromised });
    onChanged(
      `Rotated ${profile}: ${answer.key.id} is active${answer.previous ? `, ${answer.previous.id} verifies only` : ''}.`,
    );
    if (compromised && answer.previous)
      setRotated({ key: answer.key, previous: answer.previous, atRisk: answer.tokens_at_risk });
    else onClose();
  });

  if (rotated?.previous && offer) {
    return (
      <KeyRevokeTokensDialog
        keyId={rotated.previous.id}
        defaultReason="key_compromise"
        onClose={onClose}
        onDone={(n) => {
          onChanged(
            `Revoked ${n.toLocaleString('en-US')} ${n === 1 ? 'token' : 'tokens'} of the compromised key ${rotated.previous!.id}.`,
          );
          onClose();
        }}
      />
    );
  }

  return (
    <Modal
      opened
      closeButtonProps={{ 'aria-label': 'Close' }}
      onClose={onClose}
      title={rotated ? 'Key rotated' : `Rotate the ${profile} key`}
      size="lg"
    >
      {rotated?.previous ? (
        <Stack>
          <Alert color="orange" title="The old key is marked compromised">
            {rotated.key.id} now signs new tokens. {rotated.previous.id} still verifies the tokens it signed until they
            expire; {rotated.atRisk.toLocaleString('en-US')} of them {rotated.atRisk === 1 ? 'is' : 'are'} active.
            Revoke them so that a stolen key cannot be used to pass off a forged token as one of them.
          </Alert>
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Not now
            </Button>
            <Button color="red" onClick={() => setOffer(true)}>
              Revoke the old key’s tokens…
            </Button>
          </Group>
        </Stack>
      ) : (
        <Stack>
          <Text size="sm">
            A new {profile} key becomes active and signs every new token. The current key ({active.id}) becomes
            verify-only: tokens it signed keep working until they expire, then it retires.
          </Text>
          <Checkbox
            label="The current key is compromised"
            description="Flags the old key as compromised; afterwards Castellan offers to revoke every active token it signed."
            checked={compromised}
            onChange={(e) => setCompromised(e.currentTarget.checked)}
          />
          <ErrorAlert error={rotate.error} title="Not rotated" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button color={compromised ? 'red' : undefined} loading={rotate.busy} onClick={() => void rotate.run()}>
              Rotate key
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

/** Explicit confirmation before the ZLayer secret leaves the vault. */
export function KeyExportSecretDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (path: string) => void }) {
  const reauth = useReauth();
  const exportSecret = useAction(async () => {
    const answer = await call('keys:exportZlayerSecret', { confirm: true, reauth: reauth.take() });
    if (!answer.cancelled && answer.path) onSaved(answer.path);
    onClose();
  });
  return (
    <Modal
      opened
      closeButtonProps={{ 'aria-label': 'Close' }}
      onClose={onClose}
      title="Export the ZLayer secret"
      size="lg"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void exportSecret.run();
        }}
      >
        <Stack>
          <Alert color="red" title="Anyone with this file can mint tokens for the daemon">
            The file is written in the daemon’s jwt_secret_zlayer.key format, readable only by you (mode 0600). Move it
            straight to the daemon’s data directory and do not keep copies. The export is recorded in the audit log.
          </Alert>
          <ReauthFields state={reauth} />
          <ErrorAlert error={exportSecret.error} title="Not exported" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={exportSecret.busy} disabled={!reauth.ready}>
              Export secret…
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

type Exposure = ChannelOutput<'keys:exposure'>;

function when(unix: number | null): string {
  if (unix === null) return '—';
  return `${isoFromUnixSecs(unix)} (${relativeTime(unix)})`;
}

/**
 * For a compromised key: which of its active tokens can still be revoked (they carry a
 * jti), which cannot (minted without one) and until when each kind stays usable against a
 * verifier that still trusts the key, with the actions that end it: revoke what can be
 * revoked, and force-retire the key.
 */
export function CompromisedKeyPanel({
  signingKey,
  onRevoke,
  onRetire,
}: {
  signingKey: SigningKey;
  onRevoke: () => void;
  onRetire: () => void;
}) {
  const [exposure, setExposure] = useState<Exposure | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { id, state, tokens } = signingKey;
  useEffect(() => {
    let live = true;
    call('keys:exposure', { id }).then(
      (answer) => live && setExposure(answer),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [id, state, tokens.active, tokens.revoked]);
  const plural = (n: number) => `${n.toLocaleString('en-US')} ${n === 1 ? 'token' : 'tokens'}`;
  return (
    <Alert
      color="red"
      variant="light"
      title={`Key ${id} is compromised`}
      role="region"
      aria-label={`Compromised key ${id}`}
      data-testid="compromised-key-panel"
      data-key-id={id}
      mt="sm"
    >
      <Stack gap="xs">
        <Text size="sm">
          It is no longer published in the JWKS, and the inspector accepts none of its tokens.
          {state === 'retired' ? ' It is retired.' : ' Verifiers that cached it may still accept what it signed:'}
        </Text>
        <ErrorAlert error={error} title="Could not read the key’s tokens" />
        {exposure === null && !error && <Loader size="sm" aria-label="Reading the key’s tokens" />}
        {exposure && (
          <>
            <Text size="sm" data-testid="revocable">
              <strong>{plural(exposure.revocable)}</strong> can be revoked
              {exposure.revocable_until !== null && <> (the last expires {when(exposure.revocable_until)})</>}.
            </Text>
            <Text size="sm" data-testid="unrevocable">
              <strong>{plural(exposure.unrevocable)}</strong> cannot be revoked (minted without a jti)
              {exposure.unrevocable_until !== null && <>; they stay usable until {when(exposure.unrevocable_until)}</>}.
            </Text>
            {exposure.revocable + exposure.unrevocable > 0 && (
              <Table aria-label={`Active tokens of key ${id}`} withTableBorder>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Ledger</Table.Th>
                    <Table.Th>Container</Table.Th>
                    <Table.Th>Can be revoked</Table.Th>
                    <Table.Th>Expires</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {[...exposure.unrevocable_tokens, ...exposure.revocable_tokens].map((t) => (
                    <Table.Tr key={t.id} data-revocable={t.jti !== null}>
                      <Table.Td>#{t.id}</Table.Td>
                      <Table.Td>
                        {t.deployment}/{t.service} · {t.container}
                      </Table.Td>
                      <Table.Td>{t.jti === null ? 'no (no jti)' : 'yes'}</Table.Td>
                      <Table.Td>{when(t.expires_at)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            <Group gap="xs">
              {exposure.revocable > 0 && (
                <Button size="xs" color="red" variant="light" onClick={onRevoke}>
                  Revoke {plural(exposure.revocable)}…
                </Button>
              )}
              {state !== 'retired' && (
                <Button size="xs" color="red" onClick={onRetire}>
                  Force-retire key…
                </Button>
              )}
            </Group>
          </>
        )}
      </Stack>
    </Alert>
  );
}

/** Retire a key now, whatever its tokens: the request carries the current passphrase. */
export function KeyRetireDialog({
  signingKey,
  onClose,
  onRetired,
}: {
  signingKey: SigningKey;
  onClose: () => void;
  onRetired: (key: SigningKey) => void;
}) {
  const [passphrase, setPassphrase] = useState('');
  const retire = useAction(async () => {
    const key = await call('keys:retire', { id: signingKey.id, force: true, reauth: { passphrase } });
    setPassphrase('');
    onRetired(key);
  });
  return (
    <Modal
      opened
      closeButtonProps={{ 'aria-label': 'Close' }}
      onClose={onClose}
      title={`Force-retire key ${signingKey.id}`}
      size="lg"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void retire.run();
        }}
      >
        <Stack>
          <Alert color="red" title="Every token this key signed stops being accepted">
            The key leaves the JWKS and is never published again; the inspector refuses all its tokens, including the{' '}
            {signingKey.tokens.active.toLocaleString('en-US')} still active.
            {signingKey.state === 'active' &&
              ` It is the active ${signingKey.profile} key: nothing can be minted with that profile until you create a new key.`}{' '}
            The retirement is recorded in the audit log.
          </Alert>
          <PasswordInput
            label="Current passphrase"
            description="Retiring a key by force needs the workspace passphrase again."
            value={passphrase}
            onChange={(e) => setPassphrase(e.currentTarget.value)}
            autoComplete="current-password"
            required
            data-autofocus
          />
          <ErrorAlert error={retire.error} title="Not retired" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={retire.busy} disabled={passphrase === ''}>
              Retire key
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

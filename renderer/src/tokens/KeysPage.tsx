import { Alert, Badge, Button, Card, Group, PasswordInput, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { PROFILES } from '../../../shared/ipc/contract/tokens-lists.ts';
import { ErrorAlert, Muted, relativeTime } from '../common/common.tsx';
import {
  CompromisedKeyPanel,
  KeyExportSecretDialog,
  KeyRetireDialog,
  KeyRevokeTokensDialog,
  KeyRotateDialog,
} from './KeyDialogs.tsx';
import { KeyVault } from '../workspace/KeyVault.tsx';
import { ReauthFields, useReauth } from '../common/Reauth.tsx';
import { PROFILE_LABELS, type SigningKey } from './TokenBits.tsx';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';
import { PublishedAt } from '../common/PublishedAt.tsx';

type VaultStatus = ChannelOutput<'vault:status'>;
type Profile = SigningKey['profile'];

const STATE_COLORS: Record<SigningKey['state'], string> = { active: 'teal', 'verify-only': 'yellow', retired: 'gray' };

function since(iso: string | null): string {
  if (!iso) return '—';
  return relativeTime(Date.parse(iso) / 1000);
}

function KeyRows({
  keys,
  onRevokeTokens,
  onRetire,
}: {
  keys: SigningKey[];
  onRevokeTokens: (key: SigningKey) => void;
  onRetire: (key: SigningKey) => void;
}) {
  return (
    <Table aria-label="Signing keys" striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Key</Table.Th>
          <Table.Th>Algorithm</Table.Th>
          <Table.Th>State</Table.Th>
          <Table.Th>Created</Table.Th>
          <Table.Th>Rotated</Table.Th>
          <Table.Th>Tokens</Table.Th>
          <Table.Th>Actions</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {keys.map((k) => (
          <Table.Tr key={k.id} data-key-id={k.id} data-state={k.state}>
            <Table.Td>
              <Text ff="monospace" size="sm">
                {k.id}
              </Text>
              {k.kid && (
                <Text ff="monospace" size="xs" c="dimmed">
                  kid {k.kid}
                </Text>
              )}
            </Table.Td>
            <Table.Td>{k.alg}</Table.Td>
            <Table.Td>
              <Group gap={4}>
                <Badge color={STATE_COLORS[k.state]} variant="light">
                  {k.state}
                </Badge>
                {k.compromised && (
                  <Badge color="red" variant="filled">
                    compromised
                  </Badge>
                )}
              </Group>
            </Table.Td>
            <Table.Td title={k.created_at}>{since(k.created_at)}</Table.Td>
            <Table.Td title={k.rotated_at ?? undefined}>{since(k.rotated_at)}</Table.Td>
            <Table.Td>
              <Text size="sm">
                {k.tokens.active} active · {k.tokens.expired} expired · {k.tokens.revoked} revoked
              </Text>
            </Table.Td>
            <Table.Td>
              {k.state !== 'active' && k.tokens.active > 0 && (
                <Button
                  size="compact-xs"
                  color="red"
                  variant="light"
                  aria-label={`Revoke the tokens of key ${k.id}`}
                  onClick={() => onRevokeTokens(k)}
                >
                  Revoke its tokens…
                </Button>
              )}
              {k.state !== 'retired' && (
                <Button
                  size="compact-xs"
                  color="red"
                  variant="subtle"
                  aria-label={`Force-retire key ${k.id}`}
                  onClick={() => onRetire(k)}
                >
                  Force-retire…
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function KeysPage({
  vault,
  onVaultChange,
}: {
  vault: VaultStatus | null;
  onVaultChange: (s: VaultStatus) => void;
}) {
  const keys = useChannel('keys:list', {});
  const [message, setMessage] = useState<string | null>(null);
  const [rotating, setRotating] = useState<{ profile: Profile; active: SigningKey } | null>(null);
  const [revokingKey, setRevokingKey] = useState<SigningKey | null>(null);
  const [retiringKey, setRetiringKey] = useState<SigningKey | null>(null);
  const [exportingSecret, setExportingSecret] = useState(false);
  const [secret, setSecret] = useState('');

  // The shell's status may be stale (another window, the CLI); refresh it on arrival.
  useEffect(() => {
    call('vault:status', {}).then(onVaultChange, () => undefined);
  }, [onVaultChange]);
  // Unlocking or locking changes what the key actions can do.
  const unlocked = vault?.unlocked ?? false;
  const [seenUnlocked, setSeenUnlocked] = useState(unlocked);
  if (seenUnlocked !== unlocked) {
    setSeenUnlocked(unlocked);
    keys.reload();
  }

  const done = (text: string) => {
    setMessage(text);
    keys.reload();
  };
  const create = useAction(async (profile: Profile) => {
    const key = await call('keys:create', { profile });
    done(`Created ${profile} key ${key.id}.`);
  });
  // Importing replaces the active HS256 key: both imports carry the current passphrase.
  const importReauth = useReauth();
  const importDialog = useAction(async () => {
    const answer = await call('keys:importZlayerSecretDialog', { reauth: importReauth.take() });
    if (!answer.cancelled && answer.key) done(`Imported the ZLayer secret as key ${answer.key.id}.`);
  });
  const importLiteral = useAction(async () => {
    const key = await call('keys:importZlayerSecret', { secret, reauth: importReauth.take() });
    setSecret('');
    done(`Imported the ZLayer secret as key ${key.id}.`);
  });
  const exportJwks = useAction(async () => {
    const answer = await call('keys:exportJwks', {});
    if (!answer.cancelled) setMessage(`Saved the JWKS to ${answer.path}.`);
  });

  const all = keys.data ?? [];
  const error = keys.error ?? create.error ?? importDialog.error ?? importLiteral.error ?? exportJwks.error;

  return (
    <Stack>
      <Group>
        <Button variant="default" loading={exportJwks.busy} onClick={() => void exportJwks.run()}>
          Export JWKS…
        </Button>
        <Button variant="default" onClick={keys.reload}>
          Reload
        </Button>
      </Group>
      <PublishedAt what="JWKS and revocation list" paths={[{ name: 'JWKS', path: '/.well-known/jwks.json' }, { name: 'revocation list', path: '/revocations' }]} />
      <ErrorAlert error={error} />
      {message && (
        <Alert color="teal" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={() => setMessage(null)}>
          {message}
        </Alert>
      )}

      {PROFILES.map((profile) => {
        const ofProfile = all.filter((k) => k.profile === profile);
        const active = ofProfile.find((k) => k.state === 'active');
        return (
          <Card key={profile} withBorder component="section" aria-labelledby={`keys-${profile}`}>
            <Group justify="space-between" mb="xs">
              <Title order={2} size="h4" id={`keys-${profile}`}>
                {PROFILE_LABELS[profile] ?? profile}
              </Title>
              {active ? (
                <Button variant="light" onClick={() => setRotating({ profile, active })}>
                  Rotate {profile} key…
                </Button>
              ) : (
                <Button loading={create.busy} onClick={() => void create.run(profile)}>
                  Create {profile} key
                </Button>
              )}
            </Group>
            {ofProfile.length === 0 ? (
              <Muted>{keys.loading ? 'Loading…' : `No ${profile} key yet.`}</Muted>
            ) : (
              <KeyRows keys={ofProfile} onRevokeTokens={setRevokingKey} onRetire={setRetiringKey} />
            )}
            {ofProfile
              .filter((k) => k.compromised)
              .map((k) => (
                <CompromisedKeyPanel
                  key={k.id}
                  signingKey={k}
                  onRevoke={() => setRevokingKey(k)}
                  onRetire={() => setRetiringKey(k)}
                />
              ))}
            {profile === 'zlayer' && (
              <Stack gap="xs" mt="md" aria-label="ZLayer secret">
                <Text size="sm" fw={600}>
                  The daemon’s secret
                </Text>
                <Muted>
                  ZLayer verifies HS256 tokens with the secret in its jwt_secret_zlayer.key (or --jwt-secret). Import it
                  so Castellan mints tokens the daemon accepts, or export Castellan’s to install on the daemon.
                </Muted>
                <Group align="flex-end">
                  <ReauthFields state={importReauth} label="Current passphrase (to import)" />
                  <Button
                    variant="default"
                    loading={importDialog.busy}
                    disabled={!importReauth.ready}
                    onClick={() => void importDialog.run()}
                  >
                    Import secret file…
                  </Button>
                  <form
                    onSubmit={(e) => {
                      e.preventDefault();
                      void importLiteral.run();
                    }}
                  >
                    <Group align="flex-end">
                      <PasswordInput
                        label="ZLayer JWT secret"
                        description="the literal --jwt-secret / ZLAYER_JWT_SECRET value"
                        value={secret}
                        onChange={(e) => setSecret(e.currentTarget.value)}
                        autoComplete="off"
                        maxLength={4096}
                        w={320}
                      />
                      <Button
                        type="submit"
                        variant="default"
                        disabled={secret === '' || !importReauth.ready}
                        loading={importLiteral.busy}
                      >
                        Import pasted secret
                      </Button>
                    </Group>
                  </form>
                  <Button color="red" variant="light" disabled={!active} onClick={() => setExportingSecret(true)}>
                    Export secret…
                  </Button>
                </Group>
              </Stack>
            )}
          </Card>
        );
      })}

      <KeyVault status={vault} onChange={onVaultChange} />

      {rotating && (
        <KeyRotateDialog
          profile={rotating.profile}
          active={rotating.active}
          onClose={() => setRotating(null)}
          onChanged={done}
        />
      )}
      {revokingKey && (
        <KeyRevokeTokensDialog
          keyId={revokingKey.id}
          defaultReason={revokingKey.compromised ? 'key_compromise' : 'superseded'}
          onClose={() => setRevokingKey(null)}
          onDone={(n) => {
            setRevokingKey(null);
            done(`Revoked ${n.toLocaleString('en-US')} ${n === 1 ? 'token' : 'tokens'} of key ${revokingKey.id}.`);
          }}
        />
      )}
      {retiringKey && (
        <KeyRetireDialog
          signingKey={retiringKey}
          onClose={() => setRetiringKey(null)}
          onRetired={(key) => {
            setRetiringKey(null);
            done(`Retired key ${key.id}.`);
          }}
        />
      )}
      {exportingSecret && (
        <KeyExportSecretDialog
          onClose={() => setExportingSecret(false)}
          onSaved={(path) => setMessage(`Saved the ZLayer secret to ${path}.`)}
        />
      )}
    </Stack>
  );
}

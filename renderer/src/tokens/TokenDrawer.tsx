import { Button, Drawer, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';
import { ErrorAlert, Muted, relativeTime } from '../common/common.tsx';
import { DaemonSocketMark, RiskMark, ScopeChipsCompact, TtlLeftBar } from './TokenScopes.tsx';
import { JsonBlock, PROFILE_LABELS, shortJti, TokenStatusBadge, type TokenRecord } from './TokenBits.tsx';
import { TokenReveal } from './TokenReveal.tsx';

function when(unix: number): string {
  return `${new Date(unix * 1000).toLocaleString()} (${relativeTime(unix)})`;
}

/**
 * One token's record, decoded claims, scopes in words and history. `version` changes when
 * the caller changed the token (a revoke), which reloads the details. A replacement minted
 * by Refresh is shown once and dropped when the drawer closes (this component unmounts).
 */
export function TokenDrawer({
  id,
  version,
  onClose,
  onRevoke,
  onChanged,
}: {
  id: number;
  version: number;
  onClose: () => void;
  onRevoke: (record: TokenRecord) => void;
  onChanged: () => void;
}) {
  const details = useChannel('tokens:get', { id });
  const introspected = useChannel('serve:introspection', { id });
  const [replacement, setReplacement] = useState<{ token: string; jti: string | null } | null>(null);
  const [seenVersion, setSeenVersion] = useState(version);
  if (seenVersion !== version) {
    setSeenVersion(version);
    details.reload();
    introspected.reload();
  }
  const refresh = useAction(async (jti: string) => {
    const minted = await call('tokens:refresh', { jti });
    setReplacement({ token: minted.token, jti: minted.record.jti });
    details.reload();
    onChanged();
  });

  const data = details.data;
  const record = data?.record;
  return (
    <Drawer
      opened
      closeButtonProps={{ 'aria-label': 'Close' }}
      onClose={onClose}
      position="right"
      size="xl"
      title={record ? `Token ${shortJti(record.jti)}` : 'Token'}
    >
      <Stack>
        <ErrorAlert error={details.error} title="Could not load the token" />
        {!data && details.loading && <Loader size="sm" aria-label="Loading token" />}
        {record && data && (
          <>
            <Group>
              <TokenStatusBadge status={record.status} />
              <Text fw={600}>{record.subject}</Text>
            </Group>
            <Table aria-label="Token record" withRowBorders={false} verticalSpacing={2}>
              <Table.Tbody>
                <Row label="jti" value={record.jti ?? 'none (cannot be revoked on its own)'} />
                <Row label="Deployment / service" value={`${record.deployment} / ${record.service}`} />
                <Row label="Container" value={record.container} />
                <Row
                  label="Profile"
                  value={`${PROFILE_LABELS[record.profile] ?? record.profile}, key ${record.key_id}${record.kid ? ` (kid ${record.kid})` : ''}`}
                />
                <Row label="Issued" value={when(record.issued_at)} />
                <Row label="Expires" value={when(record.expires_at)} />
                <Row label="Lifetime left" value={<TtlLeftBar record={record} now={Date.now() / 1000} />} />
                {record.revoked_at !== null && (
                  <Row label="Revoked" value={`${when(record.revoked_at)}: ${record.revoke_reason ?? 'no reason'}`} />
                )}
                {record.replaced_by && <Row label="Replaced by" value={record.replaced_by} />}
                {record.forced_ttl && <Row label="TTL" value="forced above the policy" />}
                <Row label="SHA-256" value={record.token_sha256} />
                <Row
                  label="Introspected"
                  value={
                    introspected.data === null
                      ? '…'
                      : introspected.data.count === 0 || introspected.data.last_at === null
                        ? 'never (by a verifier calling /introspect)'
                        : `${introspected.data.count} time${introspected.data.count === 1 ? '' : 's'}, last ${when(introspected.data.last_at)}`
                  }
                />
              </Table.Tbody>
            </Table>
            <Group>
              <Button
                variant="light"
                disabled={!record.jti || record.status !== 'active'}
                loading={refresh.busy}
                onClick={() => record.jti && void refresh.run(record.jti)}
                title="Mint a replacement, then revoke this token as superseded"
              >
                Refresh
              </Button>
              <Button
                color="red"
                variant="light"
                disabled={!record.jti || record.status === 'revoked'}
                onClick={() => onRevoke(record)}
              >
                Revoke
              </Button>
            </Group>
            <ErrorAlert error={refresh.error} title="Not refreshed" />
            {replacement && (
              <TokenReveal secret={replacement.token} label={`Replacement token ${shortJti(replacement.jti)}`} />
            )}
            <Title order={3} size="h5">
              Scopes
            </Title>
            <Group gap="xs">
              <Text size="sm">
                Risk: <RiskMark risk={record.risk} />
              </Text>
              {record.daemon_socket && <DaemonSocketMark />}
            </Group>
            <ScopeChipsCompact scopes={record.scopes} all />
            <Text size="sm" aria-label="Scopes in words">
              {data.scopes_in_words}
            </Text>
            <Title order={3} size="h5">Claims</Title>
            <JsonBlock value={data.claims} label="Decoded claims" />
            <Title order={3} size="h5">History</Title>
            {data.history.length === 0 ? (
              <Muted>No history.</Muted>
            ) : (
              <Table aria-label="Token history" striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>When</Table.Th>
                    <Table.Th>Action</Table.Th>
                    <Table.Th>Actor</Table.Th>
                    <Table.Th>Details</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.history.map((h, i) => (
                    <Table.Tr key={i}>
                      <Table.Td>{new Date(h.ts).toLocaleString()}</Table.Td>
                      <Table.Td>{h.action}</Table.Td>
                      <Table.Td>{h.actor}</Table.Td>
                      <Table.Td>
                        <Text size="xs" ff="monospace" lineClamp={2}>
                          {JSON.stringify(h.details)}
                        </Text>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </>
        )}
      </Stack>
    </Drawer>
  );
}

function Row({ label, value }: { label: string; value: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={170} fw={500} c="dimmed">
        {label}
      </Table.Th>
      <Table.Td style={{ wordBreak: 'break-all' }}>{value}</Table.Td>
    </Table.Tr>
  );
}

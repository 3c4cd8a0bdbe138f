import { Badge, Button, Card, Group, Modal, NativeSelect, Stack, Switch, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useState } from 'react';
import { REVOCATION_REASONS } from '../../../shared/ipc/contract/ca.ts';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { call } from '../ipc.ts';
import { useAction, useChannel } from '../hooks.ts';
import { ErrorAlert, Muted, relativeTime } from '../common/common.tsx';
import { sanText } from './CsrSigner.tsx';

export type IssuedCert = ChannelOutput<'ca:certs'>['rows'][number];
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export const REVOCATION_LABELS: Record<RevocationReason, string> = {
  unspecified: 'Unspecified',
  keyCompromise: 'Key compromise',
  cACompromise: 'CA compromise',
  affiliationChanged: 'Affiliation changed',
  superseded: 'Superseded',
  cessationOfOperation: 'Cessation of operation',
  certificateHold: 'Certificate hold',
  removeFromCRL: 'Remove from CRL (delta CRLs only)',
  privilegeWithdrawn: 'Privilege withdrawn',
  aACompromise: 'AA compromise',
};

const STATUS_COLORS: Record<IssuedCert['status'], string> = { valid: 'teal', expired: 'gray', revoked: 'red' };
const LIMIT = 500;

function reasonLabel(reason: string | null): string {
  if (!reason) return '';
  return (REVOCATION_LABELS as Record<string, string>)[reason] ?? reason;
}

/** Issued worker certificates: search, "expiring soon", revoke with an RFC 5280 reason. */
export function CertTable({
  version,
  warningDays,
  onRevoked,
  onMessage,
}: {
  /** Bumped by the page whenever a certificate was issued elsewhere. */
  version: number;
  warningDays: number;
  onRevoked: () => void;
  onMessage: (message: string) => void;
}) {
  const [search, setSearch] = useState('');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [expiring, setExpiring] = useState(false);
  const [revoking, setRevoking] = useState<IssuedCert | null>(null);
  const list = useChannel('ca:certs', {
    limit: LIMIT,
    ...(debounced ? { search: debounced } : {}),
    ...(expiring ? { expiring_within_days: warningDays } : {}),
  });
  const { reload } = list;
  useEffect(() => {
    if (version > 0) reload();
  }, [version, reload]);

  const rows = list.data?.rows ?? [];
  const total = list.data?.total ?? 0;
  const now = Date.now();
  const filtered = Boolean(debounced) || expiring;

  return (
    <Card withBorder component="section" aria-labelledby="certs-title">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id="certs-title">
          Issued certificates
        </Title>
        <Text size="sm" c="dimmed" data-testid="cert-count">
          {list.data ? `${total} ${filtered ? 'matching' : 'issued'}` : ''}
        </Text>
      </Group>
      <Group align="flex-end" mb="sm">
        <TextInput
          label="Search certificates"
          placeholder="node id, serial, subject, SAN or fingerprint"
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={360}
        />
        <Switch
          label={`Expiring soon (within ${warningDays} days)`}
          checked={expiring}
          onChange={(e) => setExpiring(e.currentTarget.checked)}
          mb={8}
        />
        <Button variant="default" mb={2} onClick={reload}>
          Reload
        </Button>
      </Group>
      <ErrorAlert error={list.error} title="Certificates" />
      <Table.ScrollContainer minWidth={900}>
        <Table striped aria-label="Issued certificates" aria-busy={list.loading}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Serial</Table.Th>
              <Table.Th>Node id</Table.Th>
              <Table.Th>Subject</Table.Th>
              <Table.Th>SANs</Table.Th>
              <Table.Th>SHA-256 fingerprint</Table.Th>
              <Table.Th>Not after</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((c) => {
              const notAfter = Date.parse(c.not_after);
              const soon = c.status === 'valid' && notAfter - now < warningDays * 86_400_000;
              return (
                <Table.Tr key={c.serial} data-serial={c.serial} data-status={c.status}>
                  <Table.Td>
                    {/* In full, wrapped: a hover-only tooltip is out of a keyboard's reach. */}
                    <Text size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }} maw="9rem">
                      {c.serial}
                    </Text>
                  </Table.Td>
                  <Table.Td>{c.node_id}</Table.Td>
                  <Table.Td>
                    <Text size="sm">{c.subject}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs">{c.sans.map(sanText).join(', ') || '—'}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }} maw="12rem">
                      {c.fingerprint_sha256}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{new Date(notAfter).toLocaleDateString()}</Text>
                    <Text size="xs" c={soon ? 'orange' : 'dimmed'}>
                      {relativeTime(notAfter / 1000, now / 1000)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      <Badge color={STATUS_COLORS[c.status]} variant="light" data-testid="cert-status">
                        {c.status}
                      </Badge>
                      {soon && (
                        <Badge color="orange" variant="outline">
                          expires soon
                        </Badge>
                      )}
                    </Group>
                    {c.status === 'revoked' && (
                      <Text size="xs" c="dimmed">
                        {reasonLabel(c.revocation_reason)}
                        {c.revoked_at ? ` · ${new Date(c.revoked_at).toLocaleString()}` : ''}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {c.status !== 'revoked' && (
                      <Button size="compact-xs" color="red" variant="light" aria-label={`Revoke certificate ${c.serial} of ${c.node_id}`} onClick={() => setRevoking(c)}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.data && rows.length === 0 && (
        <Muted>{filtered ? 'No certificate matches.' : 'No worker certificates issued yet.'}</Muted>
      )}
      {list.data && total > rows.length && (
        <Muted>
          Showing the first {rows.length} of {total}; narrow the search to see the rest.
        </Muted>
      )}
      {revoking && (
        <CertRevokeDialog
          key={revoking.serial}
          cert={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(cert) => {
            setRevoking(null);
            onMessage(`Revoked ${cert.subject} (serial ${cert.serial}, ${reasonLabel(cert.revocation_reason)}); the CRL was regenerated`);
            reload();
            onRevoked();
          }}
        />
      )}
    </Card>
  );
}

export function CertRevokeDialog({
  cert,
  onClose,
  onRevoked,
}: {
  cert: IssuedCert;
  onClose: () => void;
  onRevoked: (cert: IssuedCert) => void;
}) {
  const [reason, setReason] = useState<RevocationReason>('unspecified');
  const revoke = useAction(async () => {
    const revoked = await call('ca:revoke', { serial: cert.serial, reason });
    onRevoked(revoked);
  });
  return (
    <Modal opened closeButtonProps={{ 'aria-label': 'Close' }} onClose={onClose} title={`Revoke the certificate of ${cert.node_id}`} size="lg">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void revoke.run();
        }}
      >
        <Stack>
          <Text size="sm">
            <b>{cert.subject}</b>, serial <code>{cert.serial}</code>. Revocation cannot be undone: the serial goes into the CRL, which is
            re-signed at once. The worker must enrol again with a new CSR.
          </Text>
          <NativeSelect
            label="Reason (RFC 5280)"
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value as RevocationReason)}
            data={REVOCATION_REASONS.map((r) => ({ value: r, label: REVOCATION_LABELS[r], disabled: r === 'removeFromCRL' }))}
          />
          <ErrorAlert error={revoke.error} title="Not revoked" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={revoke.busy}>
              Revoke certificate
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

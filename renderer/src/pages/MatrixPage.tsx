import { Badge, Card, Code, Group, List, Stack, Table, Text, Title, UnstyledButton } from '@mantine/core';
import { useMemo, useState } from 'react';
import { resourceKindsFor } from '../../../shared/policy/describe.ts';
import { highestLevel } from '../../../shared/policy/matcher.ts';
import type { PermissionLevel } from '../../../shared/policy/scopes.ts';
import { useChannel } from '../hooks.ts';
import { ErrorAlert, Muted, ScopeChip } from '../components/common.tsx';

const HEAT: Record<PermissionLevel, string> = {
  none: 'transparent',
  read: 'var(--mantine-color-teal-light)',
  execute: 'var(--mantine-color-yellow-light)',
  write: 'var(--mantine-color-red-light)',
};

/** Services × resource kinds: each cell the highest level a service's token reaches. */
export function MatrixPage() {
  const list = useChannel('deployments:list', {});
  const [picked, setPicked] = useState<{ row: string; kind: string } | null>(null);
  const rows = useMemo(
    () =>
      (list.data ?? []).flatMap((d) =>
        d.services.map((s) => ({ id: `${d.name}/${s.name}`, scopes: s.policy.access.scopes, socket: s.policy.access.mount_socket })),
      ),
    [list.data],
  );
  const kinds = useMemo(() => {
    const all = resourceKindsFor(rows.flatMap((r) => r.scopes));
    const used = new Set(rows.flatMap((r) => r.scopes.map((s) => s.resource_kind)));
    return all.filter((k) => used.has(k));
  }, [rows]);
  const pickedRow = picked ? rows.find((r) => r.id === picked.row) : undefined;

  return (
    <Stack>
      <ErrorAlert error={list.error} />
      <Group gap="xs">
        <Text size="sm">Legend:</Text>
        {(['read', 'execute', 'write'] as const).map((l) => (
          <Badge key={l} variant="light" color={l === 'read' ? 'teal' : l === 'execute' ? 'yellow' : 'red'}>
            {l}
          </Badge>
        ))}
        <Text size="sm">✱ = every id of the kind (wildcard)</Text>
      </Group>
      {rows.length === 0 ? (
        <Muted>No services yet: import a deployment spec.</Muted>
      ) : (
        <Table withTableBorder withColumnBorders aria-label="Access matrix" stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Service</Table.Th>
              {kinds.map((k) => (
                <Table.Th key={k}>{k}</Table.Th>
              ))}
              <Table.Th>daemon socket</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Th scope="row">{r.id}</Table.Th>
                {kinds.map((k) => {
                  const cell = highestLevel(r.scopes, k);
                  return (
                    <Table.Td key={k} p={0} style={{ background: HEAT[cell.level] }} data-level={cell.level}>
                      <UnstyledButton
                        w="100%"
                        p={6}
                        aria-label={`${r.id} ${k}: ${cell.level}${cell.via_wildcard ? ' on every id' : ''}`}
                        onClick={() => setPicked({ row: r.id, kind: k })}
                      >
                        {cell.level === 'none' ? '·' : `${cell.via_wildcard ? '✱ ' : ''}${cell.level}`}
                      </UnstyledButton>
                    </Table.Td>
                  );
                })}
                <Table.Td style={{ background: r.socket ? 'var(--mantine-color-red-filled)' : undefined, color: r.socket ? 'white' : undefined }}>
                  {r.socket ? 'ADMIN' : '·'}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {picked && pickedRow && (
        <Card withBorder aria-label="Granting scopes">
          <Title order={2} size="h5">
            {picked.row} — {picked.kind}
          </Title>
          {pickedRow.scopes.filter((s) => s.resource_kind === picked.kind).length === 0 ? (
            <Muted>No scope grants anything on {picked.kind}.</Muted>
          ) : (
            <List mt="xs">
              {pickedRow.scopes
                .filter((s) => s.resource_kind === picked.kind)
                .map((s, i) => (
                  <List.Item key={i}>
                    <ScopeChip scope={s} /> <Code>{`${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`}</Code>
                  </List.Item>
                ))}
            </List>
          )}
        </Card>
      )}
    </Stack>
  );
}

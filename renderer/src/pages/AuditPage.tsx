import { Alert, Button, Code, Group, Pagination, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { call } from '../ipc.ts';
import { useAction, useChannel } from '../hooks.ts';
import { ErrorAlert } from '../components/common.tsx';

const PAGE = 50;

export function AuditPage() {
  const [text, setText] = useState('');
  const [action, setAction] = useState('');
  const [page, setPage] = useState(1);
  const list = useChannel('audit:list', {
    limit: PAGE,
    offset: (page - 1) * PAGE,
    ...(text ? { text } : {}),
    ...(action ? { action } : {}),
  });
  const verify = useChannel('audit:verify', {});
  const [saved, setSaved] = useState<string | null>(null);
  const exportLog = useAction(async (format: 'jsonl' | 'csv') => {
    const r = await call('audit:export', { format });
    if (!r.cancelled) setSaved(`Audit log saved to ${r.path}`);
    list.reload();
    verify.reload();
  });

  return (
    <Stack>
      {verify.data &&
        (verify.data.ok ? (
          <Alert color="teal" title="Audit chain verified" role="status" data-testid="chain-status">
            {verify.data.count} entries; every hash links to the one before, and each is authenticated with a key
            held in the vault. Key, CA, CRL and settings records check out.
          </Alert>
        ) : verify.data.brokenAt === null ? (
          <Alert color="yellow" title="Audit log not verified" role="alert" data-testid="chain-status">
            {verify.data.reason}
          </Alert>
        ) : (
          <Alert color="red" title="Audit chain broken" role="alert" data-testid="chain-status">
            Entry {verify.data.brokenAt}: {verify.data.reason}
          </Alert>
        ))}
      <ErrorAlert error={list.error ?? verify.error ?? exportLog.error} />
      {saved && <Alert color="teal">{saved}</Alert>}
      <Group>
        <TextInput label="Search" placeholder="text in any field" value={text} onChange={(e) => (setText(e.currentTarget.value), setPage(1))} />
        <TextInput label="Action" placeholder="e.g. token.revoke" value={action} onChange={(e) => (setAction(e.currentTarget.value), setPage(1))} />
        <Button mt={24} variant="default" onClick={() => (verify.reload(), list.reload())}>
          Verify chain
        </Button>
        <Button mt={24} variant="default" onClick={() => void exportLog.run('jsonl')}>
          Export JSONL
        </Button>
        <Button mt={24} variant="default" onClick={() => void exportLog.run('csv')}>
          Export CSV
        </Button>
      </Group>
      <Table striped aria-label="Audit entries">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>#</Table.Th>
            <Table.Th>Time</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Target</Table.Th>
            <Table.Th>Details</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(list.data?.rows ?? []).map((e) => (
            <Table.Tr key={e.seq}>
              <Table.Td>{e.seq}</Table.Td>
              <Table.Td>{new Date(e.ts).toLocaleString()}</Table.Td>
              <Table.Td>
                {e.actor_user} ({e.actor_kind})
              </Table.Td>
              <Table.Td>
                <Code>{e.action}</Code>
              </Table.Td>
              <Table.Td>{e.target}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace" lineClamp={2}>
                  {JSON.stringify(e.details)}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {list.data && list.data.total > PAGE && (
        <Pagination total={Math.ceil(list.data.total / PAGE)} value={page} onChange={setPage} aria-label="Audit pages" />
      )}
    </Stack>
  );
}

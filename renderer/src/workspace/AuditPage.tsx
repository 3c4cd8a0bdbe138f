import { Alert, Button, Code, Group, Pagination, Stack, Table, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { call } from '../ipc.ts';
import { useAction, useChannel } from '../hooks.ts';
import { ErrorAlert } from '../common/common.tsx';
import { describeActor } from '../../../shared/audit-actor.ts';

const PAGE = 50;

const CONTROL_NAMES = { first: 'First page', previous: 'Previous page', next: 'Next page', last: 'Last page' } as const;

function describeFilters(text: string, action: string): string {
  const parts = [text ? `text “${text}”` : '', action.trim() ? `an action containing “${action.trim()}”` : ''].filter(Boolean);
  return parts.length ? ` with ${parts.join(' and ')}` : '';
}

export function AuditPage() {
  const [text, setText] = useState('');
  const [action, setAction] = useState('');
  const [page, setPage] = useState(1);
  const list = useChannel('audit:list', {
    limit: PAGE,
    offset: (page - 1) * PAGE,
    ...(text ? { text } : {}),
    // Part of the name, like the search box: "token" finds token.issue and token.revoke.
    ...(action.trim() ? { action_contains: action.trim() } : {}),
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
      <Group align="flex-end">
        <TextInput label="Search" placeholder="text in any field" description="any field, any part of it" value={text} onChange={(e) => (setText(e.currentTarget.value), setPage(1))} />
        <TextInput label="Action" placeholder="e.g. token or ca.revoke" description="any part of the action name" value={action} onChange={(e) => (setAction(e.currentTarget.value), setPage(1))} />
        <Button variant="default" onClick={() => (verify.reload(), list.reload())}>
          Verify chain
        </Button>
        <Button variant="default" onClick={() => void exportLog.run('jsonl')}>
          Export JSONL
        </Button>
        <Button variant="default" onClick={() => void exportLog.run('csv')}>
          Export CSV
        </Button>
      </Group>
      <Text size="sm" role="status" data-testid="audit-count">
        {list.data
          ? list.data.total === 0
            ? `No entry matches${describeFilters(text, action)}.`
            : `${list.data.total} ${list.data.total === 1 ? 'entry' : 'entries'}${describeFilters(text, action)}${
                list.data.total > PAGE ? `, page ${page} of ${Math.ceil(list.data.total / PAGE)}` : ''
              }.`
          : ''}
      </Text>
      <Table striped aria-label="Audit entries" layout="fixed">
        <colgroup>
          <col style={{ width: '4rem' }} />
          <col style={{ width: '11rem' }} />
          <col style={{ width: '9rem' }} />
          <col style={{ width: '10rem' }} />
          <col style={{ width: '14rem' }} />
          <col />
        </colgroup>
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
                {describeActor(e)}
              </Table.Td>
              <Table.Td>
                <Code>{e.action}</Code>
              </Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{e.target}</Table.Td>
              <Table.Td>
                {/* Wrapped in full: a detail cut off or running off the page is a detail not audited. */}
                <Text size="xs" ff="monospace" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid="audit-details">
                  {JSON.stringify(e.details, null, 1).replace(/\n\s*/g, ' ')}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {list.data && list.data.total > PAGE && (
        <Pagination
          total={Math.ceil(list.data.total / PAGE)}
          value={page}
          onChange={setPage}
          withEdges
          aria-label="Audit pages"
          getControlProps={(control) => ({ 'aria-label': CONTROL_NAMES[control] })}
          getItemProps={(n) => ({ 'aria-label': `Page ${n}`, 'aria-current': n === page ? 'page' : undefined })}
        />
      )}
    </Stack>
  );
}

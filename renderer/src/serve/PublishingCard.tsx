import { Anchor, Badge, Button, Card, Group, NumberInput, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';
import { ErrorAlert, Muted } from '../common/common.tsx';

/**
 * Settings → Publishing: `castellan serve` inside the app. Off until started, loopback only;
 * shows the URLs verifiers use, the status and how many requests it served.
 */
export function PublishingCard() {
  const status = useChannel('serve:status', {});
  const [port, setPort] = useState(8080);
  const toggle = useAction(async (start: boolean) => {
    await (start ? call('serve:start', { host: '127.0.0.1', port }) : call('serve:stop', {}));
    status.reload();
  });
  const s = status.data;
  const { reload } = status;
  // While running, refresh the request count every few seconds.
  useEffect(() => {
    if (!s?.running) return undefined;
    const timer = setInterval(reload, 3000);
    return () => clearInterval(timer);
  }, [s?.running, reload]);

  return (
    <Card component="section" withBorder maw={720} aria-labelledby="publishing-title">
      <Stack>
        <Group justify="space-between">
          <Title order={2} size="h4" id="publishing-title">
            Publishing
          </Title>
          {s && (
            <Badge color={s.running ? 'green' : 'gray'} variant="light" aria-label="Publishing status">
              {s.running ? 'Running' : 'Stopped'}
            </Badge>
          )}
        </Group>
        <Text size="sm">
          Serves the JWKS, the signed revocation list, the CRL, OCSP and token introspection to verifiers on this
          machine (loopback only). To serve other machines, run <code>castellan serve</code> with TLS.
        </Text>
        <ErrorAlert error={status.error ?? toggle.error} title="Publishing" />
        {s && !s.running && (
          <Group align="end">
            <NumberInput
              label="Port on 127.0.0.1"
              min={0}
              max={65535}
              value={port}
              onChange={(v) => setPort(Number(v))}
              w={180}
            />
            <Button onClick={() => void toggle.run(true)} loading={toggle.busy}>
              Start publishing
            </Button>
          </Group>
        )}
        {s?.running && (
          <>
            <Group>
              <Text size="sm" aria-label="Requests served">
                {s.requests} request{s.requests === 1 ? '' : 's'} served since{' '}
                {s.started_at ? new Date(s.started_at).toLocaleString() : '—'}
              </Text>
              <Button color="red" variant="light" onClick={() => void toggle.run(false)} loading={toggle.busy}>
                Stop publishing
              </Button>
            </Group>
            <Table aria-label="Published URLs" withRowBorders={false} verticalSpacing={2}>
              <Table.Tbody>
                {s.endpoints.map((e) => (
                  <Table.Tr key={e.name}>
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {e.name}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Anchor size="sm" ff="monospace" href={e.url} target="_blank" rel="noreferrer">
                        {e.url}
                      </Anchor>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </>
        )}
        {s && (
          <Muted>
            Public base URL for new worker certificates: {s.public_base_url === '' ? 'not set' : s.public_base_url}.
            Attempt binding: {s.attempt_binding ? 'on' : 'off'}. Change both with <code>castellan serve settings</code>.
          </Muted>
        )}
      </Stack>
    </Card>
  );
}

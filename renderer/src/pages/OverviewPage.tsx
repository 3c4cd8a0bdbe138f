import { Alert, Card, Code, SimpleGrid, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { call, errorMessage } from '../ipc.ts';

export function OverviewPage() {
  const [info, setInfo] = useState<ChannelOutput<'app:info'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call('app:info', {}).then(setInfo, (err: unknown) => setError(errorMessage(err)));
  }, []);

  if (error) return <Alert color="red" title="Could not read app info">{error}</Alert>;
  if (!info) return <Text c="dimmed">Loading…</Text>;
  return (
    <Stack>
      <Card withBorder aria-label="Application">
        <SimpleGrid cols={2} spacing="xs">
          <Text fw={600}>Version</Text>
          <Text data-testid="app-version">{info.appVersion}</Text>
          <Text fw={600}>Workspace</Text>
          <Code data-testid="workspace-path">{info.workspacePath}</Code>
          <Text fw={600}>Node</Text>
          <Text data-testid="node-version">{info.versions.node}</Text>
          <Text fw={600}>Electron</Text>
          <Text>{info.versions.electron}</Text>
          <Text fw={600}>Chromium</Text>
          <Text>{info.versions.chrome}</Text>
        </SimpleGrid>
      </Card>
    </Stack>
  );
}

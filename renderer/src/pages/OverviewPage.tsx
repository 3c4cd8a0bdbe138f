import { Card, Code, Group, List, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import { useChannel } from '../hooks.ts';
import { ErrorAlert, Muted, relativeTime, SeverityBadge } from '../components/common.tsx';

function Stat({ label, value, testId }: { label: string; value: number | string | null; testId: string }) {
  return (
    <Card withBorder aria-label={`${label} count`}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value ?? '—'}
      </Text>
    </Card>
  );
}

export function OverviewPage({ settings }: { settings: Settings }) {
  const info = useChannel('app:info', {});
  const deployments = useChannel('deployments:list', {});
  const findings = useChannel('policy:findings', {});
  const stats = useChannel('tokens:stats', { expiring_within_secs: settings.token_warning_hours * 3600 });
  const certs = useChannel('ca:certs', { limit: 20, offset: 0, expiring_within_days: settings.cert_warning_days });
  const allCerts = useChannel('ca:certs', { limit: 1, offset: 0 });
  const ca = useChannel('ca:show', {});
  const audit = useChannel('audit:list', { limit: 8, offset: 0 });

  const services = (deployments.data ?? []).reduce((n, d) => n + d.services.length, 0);
  const caExpiresIn = ca.data ? (Date.parse(ca.data.not_after) - Date.now()) / 86_400_000 : null;

  return (
    <Stack>
      <ErrorAlert error={info.error ?? deployments.error} />
      <SimpleGrid cols={{ base: 2, md: 6 }}>
        <Stat label="Deployments" value={deployments.data?.length ?? null} testId="count-deployments" />
        <Stat label="Services" value={deployments.data ? services : null} testId="count-services" />
        <Stat label="Active tokens" value={stats.data?.active ?? null} testId="count-active-tokens" />
        <Stat label="Revoked tokens" value={stats.data?.revoked ?? null} testId="count-revoked-tokens" />
        <Stat label="Issued certificates" value={allCerts.data?.total ?? null} testId="count-certificates" />
        <Stat label="Risk findings" value={findings.data?.length ?? null} testId="count-findings" />
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Card withBorder aria-label="Risk findings">
          <Title order={2} size="h4" mb="xs">
            Risk findings
          </Title>
          {findings.error && <Muted>{findings.error}</Muted>}
          {findings.data?.length === 0 && <Muted>No findings.</Muted>}
          <List spacing={4} size="sm">
            {(findings.data ?? [])
              .filter((f) => f.severity !== 'low')
              .slice(0, 12)
              .map((f, i) => (
                <List.Item key={i} icon={<SeverityBadge severity={f.severity} />}>
                  <Text span fw={600} size="sm">
                    {f.deployment}/{f.service}
                  </Text>{' '}
                  {f.title}
                </List.Item>
              ))}
          </List>
        </Card>

        <Card withBorder aria-label="Expiring soon">
          <Title order={2} size="h4" mb="xs">
            Expiring soon
          </Title>
          <Stack gap={4}>
            {ca.data && caExpiresIn !== null && caExpiresIn < settings.ca_warning_days && (
              <Text size="sm" c="red">
                The worker CA expires {relativeTime(Date.parse(ca.data.not_after) / 1000)}.
              </Text>
            )}
            {ca.data && caExpiresIn !== null && caExpiresIn >= settings.ca_warning_days && (
              <Text size="sm">Worker CA valid until {new Date(ca.data.not_after).toLocaleDateString()}.</Text>
            )}
            {(stats.data?.expiring_soon ?? []).slice(0, 6).map((t) => (
              <Text size="sm" key={t.id}>
                token <Code>{t.subject}</Code> expires {relativeTime(t.expires_at)}
              </Text>
            ))}
            {(certs.data?.rows ?? []).filter((c) => c.status === 'valid').slice(0, 6).map((c) => (
              <Text size="sm" key={c.serial}>
                certificate <Code>{c.subject}</Code> expires {relativeTime(Date.parse(c.not_after) / 1000)}
              </Text>
            ))}
            {!stats.data?.expiring_soon.length && !certs.data?.rows.length && <Muted>Nothing expires within the warning windows.</Muted>}
          </Stack>
        </Card>
      </SimpleGrid>

      <Card withBorder aria-label="Recent audit entries">
        <Title order={2} size="h4" mb="xs">
          Recent audit entries
        </Title>
        <Table>
          <Table.Tbody>
            {(audit.data?.rows ?? []).map((e) => (
              <Table.Tr key={e.seq}>
                <Table.Td>{new Date(e.ts).toLocaleString()}</Table.Td>
                <Table.Td>
                  <Code>{e.action}</Code>
                </Table.Td>
                <Table.Td>{e.target}</Table.Td>
                <Table.Td>
                  {e.actor_user} ({e.actor_kind})
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>

      {info.data && (
        <Card withBorder aria-label="Application">
          <Group gap="xl">
            <Text size="sm">
              Castellan <span data-testid="app-version">{info.data.appVersion}</span>
            </Text>
            <Text size="sm">
              Workspace <Code data-testid="workspace-path">{info.data.workspacePath}</Code>
            </Text>
            <Text size="sm">
              Node <span data-testid="node-version">{info.data.versions.node}</span> · Electron {info.data.versions.electron} · Chromium{' '}
              {info.data.versions.chrome}
            </Text>
          </Group>
        </Card>
      )}
    </Stack>
  );
}

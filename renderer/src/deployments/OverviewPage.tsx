import { Anchor, Box, Button, Card, Code, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { countBySeverity, FINDING_SEVERITIES, rankFindings } from '../../../shared/policy/findings.ts';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import { useChannel } from '../hooks.ts';
import { ErrorAlert, Muted, relativeTime, SeverityBadge } from '../common/common.tsx';
import { describeActor } from '../../../shared/audit-actor.ts';

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

/** How many findings the card shows before "Show all". */
export const FINDINGS_PREVIEW = 10;

type Findings = ChannelOutput<'policy:findings'>;

/** Every finding, worst first across all services; the first few shown, the rest one click away. */
function RiskFindings({ findings, error }: { findings: Findings | null; error: string | null }) {
  const [showAll, setShowAll] = useState(false);
  const ranked = findings ? rankFindings(findings) : [];
  const counts = countBySeverity(ranked);
  const shown = showAll ? ranked : ranked.slice(0, FINDINGS_PREVIEW);
  const hidden = ranked.slice(shown.length);
  const hiddenLow = hidden.filter((f) => f.severity === 'low').length;
  return (
    <Card withBorder component="section" aria-label="Risk findings">
      <Title order={2} size="h4" mb={4}>
        Risk findings
      </Title>
      {error && <Muted>{error}</Muted>}
      {findings && (
        <Text size="sm" mb="xs" data-testid="findings-summary">
          {ranked.length === 0
            ? 'No findings.'
            : `${ranked.length} ${ranked.length === 1 ? 'finding' : 'findings'}: ${FINDING_SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ')}.`}
        </Text>
      )}
      {shown.length > 0 && (
        <Stack component="ol" gap={6} aria-label="Findings, worst first" m={0} p={0} style={{ listStyle: 'none' }}>
          {shown.map((f, i) => (
            <Group component="li" key={`${f.deployment}/${f.service}/${f.code}/${i}`} gap="xs" wrap="nowrap" align="flex-start" data-severity={f.severity}>
              {/* A column as wide as the widest word, so titles line up. */}
              <Box miw="5.5rem">
                <SeverityBadge severity={f.severity} />
              </Box>
              <Text size="sm">
                <Anchor href={`#/deployments?service=${encodeURIComponent(`${f.deployment}/${f.service}`)}`} fw={600} size="sm">
                  {f.deployment}/{f.service}
                </Anchor>{' '}
                {f.title}
              </Text>
            </Group>
          ))}
        </Stack>
      )}
      {ranked.length > FINDINGS_PREVIEW && (
        <Group mt="sm">
          <Button variant="default" size="xs" onClick={() => setShowAll((v) => !v)} aria-expanded={showAll}>
            {showAll
              ? `Show the worst ${FINDINGS_PREVIEW} only`
              : `Show all ${ranked.length} findings (${hidden.length} more${hiddenLow ? `, ${hiddenLow} low` : ''})`}
          </Button>
        </Group>
      )}
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
        <RiskFindings findings={findings.data} error={findings.error} />

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
                  {describeActor(e)}
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

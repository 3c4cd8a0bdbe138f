import { Card, Group, List, Stack, Text, Title } from '@mantine/core';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { describeScopes, formatTtl } from '../../../shared/policy/describe.ts';
import { DaemonSocketMark, RiskMark, ScopeChipsCompact, Tag } from '../tokens/TokenScopes.tsx';
import { TtlScale } from './TtlScale.tsx';

type Policy = ChannelOutput<'policy:get'>;

/** What a service's containers' tokens may do, at a glance. */
export function PolicyCard({ policy }: { policy: Policy }) {
  const { access } = policy;
  return (
    <Card withBorder aria-label={`Policy of ${policy.deployment}/${policy.service}`} data-testid="policy-card">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2} size="h4">
            {policy.deployment}/{policy.service}
          </Title>
          <Group gap={6}>
            {access.mount_socket && <DaemonSocketMark label="full daemon admin" />}
            {access.docker_socket && <Tag tint="orange">docker socket</Tag>}
            {access.scopes_source !== 'label' && (
              <Tag
                title={
                  access.scopes_source === 'default'
                    ? 'no api-scopes label: ZLayer’s defaults'
                    : 'no valid api-scopes entry: the daemon fell back to the defaults'
                }
              >
                {access.scopes_source === 'default' ? 'default scopes' : 'defaults (fallback)'}
              </Tag>
            )}
          </Group>
        </Group>
        <ScopeChipsCompact scopes={access.scopes} all />
        <Text size="sm" data-testid="scopes-in-words">
          {describeScopes(access.scopes)}
        </Text>
        <div>
          <Text size="sm" fw={600}>
            Token lifetime:{' '}
            <span data-testid="ttl">
              {access.ttl_secs_exact === String(access.ttl_secs)
                ? formatTtl(access.ttl_secs)
                : `${access.ttl_secs_exact} s (as the daemon reads it)`}
            </span>
          </Text>
          <TtlScale secs={access.ttl_secs} label="Lifetime" />
        </div>
        {policy.findings.length > 0 && (
          <Stack gap={4}>
            <Text size="sm" fw={600}>
              Findings
            </Text>
            <List size="sm" spacing={4}>
              {policy.findings.map((f, i) => (
                <List.Item key={i}>
                  {/* The severity in full, inline: a badge in the icon slot was cut to "C…". */}
                  <RiskMark risk={f.severity} />{' '}
                  <Text span fw={600} size="sm">
                    {f.title}
                  </Text>{' '}
                  <Text span size="sm">
                    {f.detail}
                  </Text>
                </List.Item>
              ))}
            </List>
          </Stack>
        )}
      </Stack>
    </Card>
  );
}

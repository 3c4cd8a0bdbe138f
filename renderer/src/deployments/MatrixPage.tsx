import { Alert, Badge, Button, Card, Group, List, Stack, Table, Text, Title, UnstyledButton } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import { describeScope, resourceKindsFor } from '../../../shared/policy/describe.ts';
import { highestLevel } from '../../../shared/policy/matcher.ts';
import type { PermissionLevel } from '../../../shared/policy/scopes.ts';
import { ErrorAlert, Muted } from '../common/common.tsx';
import { RevokeDialog } from '../tokens/RevokeDialog.tsx';
import { shortJti } from '../tokens/TokenBits.tsx';
import { ScopeChipsCompact, scopeText, TtlLeftBar, widestFirst } from '../tokens/TokenScopes.tsx';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';

const HEAT: Record<PermissionLevel, string> = {
  none: 'transparent',
  read: 'var(--mantine-color-teal-light)',
  execute: 'var(--mantine-color-yellow-light)',
  write: 'var(--mantine-color-red-light)',
};

interface Picked {
  deployment: string;
  service: string;
  kind: string;
  level: PermissionLevel;
}

const LIVE_LIMIT = 200;

/**
 * The live tokens that hold one cell's access: active tokens of the service with a scope of the
 * kind at the cell's level or higher (the main process filters: `grants`), and a bulk revoke of
 * exactly that set.
 */
function LiveTokens({ picked }: { picked: Picked }) {
  const filter = useMemo(
    () => ({
      status: 'active' as const,
      deployment: picked.deployment,
      service: picked.service,
      grants: `${picked.kind}:${picked.level}`,
    }),
    [picked],
  );
  const list = useChannel('tokens:list', {
    filter,
    sort: 'issued_at',
    direction: 'desc',
    limit: LIVE_LIMIT,
    offset: 0,
  });
  const [bulk, setBulk] = useState<number | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const revokeButton = useRef<HTMLButtonElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  /** After the dialog: back to the button, or to the heading once nothing is left to revoke. */
  const refocus = (left: boolean) => (left ? revokeButton.current : heading.current)?.focus();
  const dryRun = useAction(async () => {
    const { status: _status, ...selectors } = filter;
    const answer = await call('tokens:revokeBulk', { filter: selectors, reason: 'other', dry_run: true });
    setBulk(answer.count);
  });
  const now = Date.now() / 1000;
  const total = list.data?.total ?? null;
  const what = `${picked.level} on ${picked.kind}`;

  return (
    <Stack gap="xs" role="region" aria-label="Live tokens with this access">
      <Group justify="space-between">
        <Title order={3} size="h5" ref={heading} tabIndex={-1}>
          Live tokens that hold {what}
        </Title>
        <Button
          ref={revokeButton}
          color="red"
          variant="light"
          size="xs"
          disabled={!total}
          loading={dryRun.busy}
          onClick={() => void dryRun.run()}
        >
          {total ? `Revoke all ${total.toLocaleString('en-US')}…` : 'Revoke all…'}
        </Button>
      </Group>
      <ErrorAlert error={list.error ?? dryRun.error} />
      {message && (
        <Alert color="teal" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={() => setMessage(null)}>
          {message}
        </Alert>
      )}
      <Text size="sm" data-testid="live-token-total" aria-live="polite">
        {total === null
          ? 'Loading tokens…'
          : `${total.toLocaleString('en-US')} live ${total === 1 ? 'token' : 'tokens'} of ${picked.deployment}/${picked.service}`}
        {total !== null && total > LIVE_LIMIT ? ` (the newest ${LIVE_LIMIT} listed)` : ''}
      </Text>
      {list.data && list.data.rows.length > 0 && (
        <Table aria-label="Live tokens" withTableBorder>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Token</Table.Th>
              <Table.Th>Container</Table.Th>
              <Table.Th>Scopes</Table.Th>
              <Table.Th>Expires</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.rows.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td ff="monospace" title={r.jti ?? 'no jti'}>
                  {shortJti(r.jti)}
                </Table.Td>
                <Table.Td>{r.container}</Table.Td>
                <Table.Td>
                  <ScopeChipsCompact scopes={r.scopes} daemonSocket={r.daemon_socket} />
                </Table.Td>
                <Table.Td>
                  <TtlLeftBar record={r} now={now} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {bulk !== null && (
        <RevokeDialog
          title={`Revoke the live tokens holding ${what}`}
          confirmLabel={
            bulk === 0
              ? 'Nothing to revoke'
              : `Revoke ${bulk.toLocaleString('en-US')} ${bulk === 1 ? 'token' : 'tokens'}`
          }
          disabled={bulk === 0}
          onClose={() => {
            setBulk(null);
            refocus(true);
          }}
          onConfirm={async (reason) => {
            const { status: _status, ...selectors } = filter;
            const answer = await call('tokens:revokeBulk', { filter: selectors, reason, dry_run: false });
            setMessage(
              `Revoked ${answer.count.toLocaleString('en-US')} ${answer.count === 1 ? 'token' : 'tokens'} (${reason}).`,
            );
            setBulk(null);
            list.reload();
            refocus(answer.count < (total ?? 0));
          }}
        >
          <Text size="sm" data-testid="matrix-dry-run">
            Dry run: {bulk.toLocaleString('en-US')} active {bulk === 1 ? 'token' : 'tokens'} of {picked.deployment}/
            {picked.service} {bulk === 1 ? 'holds' : 'hold'} {what} or higher. Nothing has been revoked yet.
          </Text>
          {list.data?.rows.some((r) => r.jti === null) && (
            <Text size="sm">Tokens minted without a jti cannot be revoked; they can only expire.</Text>
          )}
        </RevokeDialog>
      )}
      {list.data && list.data.rows.length > 0 && (
        <Text size="xs">A revoke here applies to every live token of the service that holds this access.</Text>
      )}
    </Stack>
  );
}

/** Services × resource kinds: each cell the highest level a service's token reaches. */
export function MatrixPage() {
  const list = useChannel('deployments:list', {});
  const [picked, setPicked] = useState<Picked | null>(null);
  const rows = useMemo(
    () =>
      (list.data ?? []).flatMap((d) =>
        d.services.map((s) => ({
          id: `${d.name}/${s.name}`,
          deployment: d.name,
          service: s.name,
          scopes: s.policy.access.scopes,
          socket: s.policy.access.mount_socket,
        })),
      ),
    [list.data],
  );
  const kinds = useMemo(() => {
    const all = resourceKindsFor(rows.flatMap((r) => r.scopes));
    const used = new Set(rows.flatMap((r) => r.scopes.map((s) => s.resource_kind)));
    return all.filter((k) => used.has(k));
  }, [rows]);
  const pickedRow = picked
    ? rows.find((r) => r.deployment === picked.deployment && r.service === picked.service)
    : undefined;
  const granting = useMemo(() => {
    if (!picked || !pickedRow) return [];
    // Each scope once, even when a label repeats it.
    const seen = new Set<string>();
    return widestFirst(pickedRow.scopes.filter((s) => s.resource_kind === picked.kind)).filter((s) => {
      const key = scopeText(s);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }, [picked, pickedRow]);
  const detail = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (picked) detail.current?.scrollIntoView?.({ block: 'nearest' });
  }, [picked]);

  return (
    <Stack>
      <ErrorAlert error={list.error} />
      <Group gap="xs">
        <Text size="sm">Legend:</Text>
        {(['read', 'execute', 'write'] as const).map((l) => (
          <Badge
            key={l}
            variant="outline"
            color="gray"
            style={{ background: HEAT[l], color: 'var(--mantine-color-text)' }}
          >
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
                  const selected =
                    picked?.deployment === r.deployment && picked.service === r.service && picked.kind === k;
                  return (
                    <Table.Td
                      key={k}
                      p={0}
                      style={{
                        background: HEAT[cell.level],
                        outline: selected ? '3px solid var(--mantine-color-text)' : undefined,
                        outlineOffset: -3,
                      }}
                      data-level={cell.level}
                      data-selected={selected ? 'true' : undefined}
                    >
                      <UnstyledButton
                        w="100%"
                        p={6}
                        aria-pressed={selected}
                        aria-label={`${r.id} ${k}: ${cell.level}${cell.via_wildcard ? ' on every id' : ''}`}
                        onClick={() =>
                          setPicked({ deployment: r.deployment, service: r.service, kind: k, level: cell.level })
                        }
                        style={{ fontWeight: selected ? 700 : undefined }}
                      >
                        {cell.level === 'none' ? '·' : `${cell.via_wildcard ? '✱ ' : ''}${cell.level}`}
                      </UnstyledButton>
                    </Table.Td>
                  );
                })}
                <Table.Td
                  style={{
                    background: r.socket ? 'var(--mantine-color-red-light)' : undefined,
                    fontWeight: r.socket ? 700 : undefined,
                  }}
                >
                  {r.socket ? 'ADMIN' : '·'}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {picked && pickedRow && (
        <Card withBorder ref={detail}>
          <Stack gap="sm">
            <Title order={2} size="h4">
              {pickedRow.id} — {picked.kind}
            </Title>
            <div role="region" aria-label="Granting scopes">
              {granting.length === 0 ? (
                <Muted>No scope grants anything on {picked.kind}.</Muted>
              ) : (
                <List>
                  {granting.map((s) => (
                    <List.Item key={scopeText(s)}>
                      <Text span ff="monospace" fw={600}>
                        {scopeText(s)}
                      </Text>{' '}
                      <Text span size="sm">
                        ({describeScope(s)})
                      </Text>
                    </List.Item>
                  ))}
                </List>
              )}
            </div>
            {picked.level !== 'none' && (
              <LiveTokens key={`${pickedRow.id}/${picked.kind}/${picked.level}`} picked={picked} />
            )}
          </Stack>
        </Card>
      )}
    </Stack>
  );
}

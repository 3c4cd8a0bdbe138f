import { Alert, Button, Group, NativeSelect, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { lazy, Suspense, useCallback, useMemo, useState } from 'react';
import { TOKEN_STATUSES } from '../../../shared/ipc/contract/tokens-lists.ts';
import {
  CAPABILITY_LABELS,
  TOKEN_CAPABILITIES,
  type TokenCapability,
  type TokenRisk,
} from '../../../shared/policy/token-risk.ts';
import { ErrorAlert } from '../common/common.tsx';
import { RevokeDialog } from './RevokeDialog.tsx';
import {
  describeFilter,
  tokenLabel,
  type TokenFilter,
  type TokenRecord,
  type TokenStatus,
} from './TokenBits.tsx';
import { TokenTable, useTokenWindow, type SortColumn, type TokenQuery } from './TokenTable.tsx';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';
import { useReloadOnChange } from '../changes.ts';

// Shown on demand: kept out of the chunk that paints the first rows.
const MintDialog = lazy(() => import('./MintDialog.tsx').then((m) => ({ default: m.MintDialog })));
const TokenDrawer = lazy(() => import('./TokenDrawer.tsx').then((m) => ({ default: m.TokenDrawer })));

export function TokensPage() {
  const deployments = useChannel('deployments:list', {});
  const [status, setStatus] = useState<TokenStatus | ''>('');
  const [deployment, setDeployment] = useState('');
  const [service, setService] = useState('');
  const [text, setText] = useState('');
  const [capability, setCapability] = useState<TokenCapability | ''>('');
  const [risk, setRisk] = useState<TokenRisk | ''>('');
  const [debouncedText] = useDebouncedValue(text.trim(), 30);
  const [sort, setSort] = useState<{ sort: SortColumn; direction: 'asc' | 'desc' }>({
    sort: 'issued_at',
    direction: 'desc',
  });

  const filter = useMemo<TokenFilter>(
    () => ({
      ...(status ? { status } : {}),
      ...(deployment ? { deployment } : {}),
      ...(service ? { service } : {}),
      ...(debouncedText ? { text: debouncedText } : {}),
      ...(capability ? { capability } : {}),
      ...(risk ? { risk } : {}),
    }),
    [status, deployment, service, debouncedText, capability, risk],
  );
  const query = useMemo<TokenQuery>(() => ({ filter, ...sort }), [filter, sort]);
  const win = useTokenWindow(query);
  // A revoke or mint elsewhere (the CLI, another admin's console) shows without a reload.
  useReloadOnChange(['tokens:list'], win.reload);

  const [minting, setMinting] = useState(false);
  const [revoking, setRevoking] = useState<TokenRecord | null>(null);
  const [detailsId, setDetailsId] = useState<number | null>(null);
  const [detailsVersion, setDetailsVersion] = useState(0);
  const [bulk, setBulk] = useState<{ filter: TokenFilter; count: number } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const dryRun = useAction(async () => {
    const answer = await call('tokens:revokeBulk', { filter, reason: 'other', dry_run: true });
    setBulk({ filter, count: answer.count });
  });

  const onDetails = useCallback((r: TokenRecord) => setDetailsId(r.id), []);
  const onRevoke = useCallback((r: TokenRecord) => setRevoking(r), []);
  const onSort = useCallback((s: SortColumn, direction: 'asc' | 'desc') => setSort({ sort: s, direction }), []);

  const allServices = useMemo(() => {
    const ds = deployments.data ?? [];
    const chosen = ds.find((d) => d.name === deployment);
    const names = (chosen ? [chosen] : ds).flatMap((d) => d.services.map((s) => s.name));
    return [...new Set(names)].sort();
  }, [deployments.data, deployment]);

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Button onClick={() => setMinting(true)}>Mint token…</Button>
          <Button color="red" variant="light" loading={dryRun.busy} onClick={() => void dryRun.run()}>
            Revoke matching…
          </Button>
          <Button variant="default" onClick={win.reload}>
            Reload
          </Button>
        </Group>
        <Text size="sm" c="dimmed" data-testid="token-total" aria-live="polite">
          {win.total === null
            ? 'Loading tokens…'
            : `${win.total.toLocaleString('en-US')} ${win.total === 1 ? 'token' : 'tokens'}`}
        </Text>
      </Group>
      <Group role="search" aria-label="Token filters" align="flex-end">
        <NativeSelect
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value as TokenStatus | '')}
          data={[{ value: '', label: 'Any status' }, ...TOKEN_STATUSES.map((s) => ({ value: s, label: s }))]}
        />
        <NativeSelect
          label="Deployment"
          value={deployment}
          onChange={(e) => {
            setDeployment(e.currentTarget.value);
            setService('');
          }}
          data={[{ value: '', label: 'Any deployment' }, ...(deployments.data ?? []).map((d) => d.name)]}
        />
        <NativeSelect
          label="Service"
          value={service}
          onChange={(e) => setService(e.currentTarget.value)}
          data={[{ value: '', label: 'Any service' }, ...allServices]}
        />
        <NativeSelect
          label="Capability"
          value={capability}
          onChange={(e) => setCapability(e.currentTarget.value as TokenCapability | '')}
          data={[
            { value: '', label: 'Any capability' },
            ...TOKEN_CAPABILITIES.map((c) => ({ value: c, label: CAPABILITY_LABELS[c] })),
          ]}
        />
        <NativeSelect
          label="Risk"
          value={risk}
          onChange={(e) => setRisk(e.currentTarget.value as TokenRisk | '')}
          data={[
            { value: '', label: 'Any risk' },
            { value: 'critical', label: 'critical' },
            { value: 'high', label: 'high or critical' },
            { value: 'medium', label: 'medium or worse' },
          ]}
        />
        <TextInput
          label="Search"
          placeholder="jti, subject or container"
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          maxLength={200}
          w={220}
        />
        {(status || deployment || service || text || capability || risk) && (
          <Button
            variant="subtle"
            onClick={() => {
              setStatus('');
              setDeployment('');
              setService('');
              setText('');
              setCapability('');
              setRisk('');
            }}
          >
            Clear filters
          </Button>
        )}
      </Group>
      <ErrorAlert error={win.error ?? dryRun.error ?? deployments.error} />
      {message && (
        <Alert color="teal" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={() => setMessage(null)}>
          {message}
        </Alert>
      )}
      <TokenTable window={win} query={query} onSort={onSort} onDetails={onDetails} onRevoke={onRevoke} />

      {minting && (
        <Suspense fallback={null}>
          <MintDialog onClose={() => setMinting(false)} onMinted={win.reload} />
        </Suspense>
      )}

      {revoking && revoking.jti && (
        <RevokeDialog
          key={revoking.id}
          title={`Revoke token ${tokenLabel(revoking)}`}
          confirmLabel="Revoke token"
          onClose={() => setRevoking(null)}
          onConfirm={async (reason) => {
            const updated = await call('tokens:revoke', { jti: revoking.jti!, reason });
            win.update(updated);
            setDetailsVersion((v) => v + 1);
            setMessage(`Revoked token ${tokenLabel(updated)} (${reason}).`);
            setRevoking(null);
          }}
        >
          <Text size="sm">
            {revoking.subject}: {revoking.deployment}/{revoking.service}, container {revoking.container}. The daemon
            refuses it once it loads the next revocation list.
          </Text>
        </RevokeDialog>
      )}

      {bulk && (
        <RevokeDialog
          title="Revoke every matching token"
          confirmLabel={
            bulk.count === 0
              ? 'Nothing to revoke'
              : `Revoke ${bulk.count.toLocaleString('en-US')} ${bulk.count === 1 ? 'token' : 'tokens'}`
          }
          disabled={bulk.count === 0}
          onClose={() => setBulk(null)}
          onConfirm={async (reason) => {
            const answer = await call('tokens:revokeBulk', { filter: bulk.filter, reason, dry_run: false });
            setMessage(
              `Revoked ${answer.count.toLocaleString('en-US')} ${answer.count === 1 ? 'token' : 'tokens'} (${reason}).`,
            );
            setBulk(null);
            setDetailsVersion((v) => v + 1);
            win.reload();
          }}
        >
          <Text size="sm" data-testid="bulk-dry-run">
            Dry run: {bulk.count.toLocaleString('en-US')} active {bulk.count === 1 ? 'token matches' : 'tokens match'}{' '}
            {describeFilter(bulk.filter)}. Nothing has been revoked yet.
          </Text>
          {Object.keys(bulk.filter).length === 0 && bulk.count > 0 && (
            <Alert color="red" title="No filter">
              This revokes every active token in the ledger.
            </Alert>
          )}
        </RevokeDialog>
      )}

      {detailsId !== null && (
        <Suspense fallback={null}>
          <TokenDrawer
            id={detailsId}
            version={detailsVersion}
            onClose={() => setDetailsId(null)}
            onRevoke={setRevoking}
            onChanged={win.reload}
          />
        </Suspense>
      )}
    </Stack>
  );
}

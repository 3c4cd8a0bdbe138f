import { Button, Checkbox, Group, Modal, NativeSelect, Progress, Stack, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { PROFILES } from '../../../shared/ipc/contract/tokens-lists.ts';
import { describeScopes, formatTtl } from '../../../shared/policy/describe.ts';
import { useAction, useChannel, useProgress } from '../hooks.ts';
import { call } from '../ipc.ts';
import { ErrorAlert, Muted, relativeTime, ScopeChips } from '../common/common.tsx';
import { PROFILE_LABELS, shortJti } from './TokenBits.tsx';
import { TokenReveal } from './TokenReveal.tsx';

type Profile = (typeof PROFILES)[number];

/** What the dialog shows after minting. The secret lives here only while the dialog is open. */
type Result =
  | { kind: 'one'; token: string; subject: string; jti: string | null; expires_at: number }
  | { kind: 'batch'; lines: string; count: number };

/**
 * Mint one token, or one per replica. Mount it only while open: unmounting drops the
 * minted token with the rest of the dialog's state.
 */
export function MintDialog({ onClose, onMinted }: { onClose: () => void; onMinted: () => void }) {
  const deployments = useChannel('deployments:list', {});
  const [deployment, setDeployment] = useState('');
  const [service, setService] = useState('');
  const [container, setContainer] = useState('');
  const [containerTouched, setContainerTouched] = useState(false);
  const [profile, setProfile] = useState<Profile>('zlayer');
  const [ttl, setTtl] = useState('');
  const [force, setForce] = useState(false);
  const [noJti, setNoJti] = useState(false);
  const [batchList, setBatchList] = useState('');
  const [result, setResult] = useState<Result | null>(null);
  const progress = useProgress();

  const current = deployments.data?.find((d) => d.name === deployment);
  const svc = current?.services.find((s) => s.name === service);
  const ttlSecs = ttl.trim() === '' ? undefined : Number(ttl);
  const ttlInvalid = ttlSecs !== undefined && !(Number.isInteger(ttlSecs) && ttlSecs > 0);
  const overPolicy = ttlSecs !== undefined && svc !== undefined && ttlSecs > svc.policy.access.ttl_secs;
  // The workspace's maximum caps every mint, forced or not (the main process enforces it).
  const maxTtl = useChannel('workspace:settings', {}).data?.max_token_ttl_secs;
  const overMax = maxTtl !== undefined && (ttlSecs ?? svc?.policy.access.ttl_secs ?? 0) > maxTtl;

  const chooseService = (name: string) => {
    setService(name);
    if (!containerTouched) setContainer(name ? `${name}-0` : '');
  };

  const mintOne = useAction(async () => {
    const minted = await call('tokens:mint', {
      deployment,
      service,
      container: container.trim(),
      profile,
      ...(ttlSecs !== undefined ? { ttl_secs: ttlSecs } : {}),
      force,
      no_jti: noJti,
    });
    setResult({
      kind: 'one',
      token: minted.token,
      subject: minted.record.subject,
      jti: minted.record.jti,
      expires_at: minted.record.expires_at,
    });
    onMinted();
  });
  const mintBatch = useAction(async () => {
    const containers = batchList.split(/[\s,]+/).filter(Boolean);
    const minted = await call('tokens:mintBatch', {
      deployment,
      service,
      ...(containers.length ? { containers } : {}),
      profile,
      ...(ttlSecs !== undefined ? { ttl_secs: ttlSecs } : {}),
    });
    setResult({
      kind: 'batch',
      count: minted.length,
      lines: minted.map((m) => `${m.record.container} ${m.token}`).join('\n'),
    });
    onMinted();
  });
  const busy = mintOne.busy || mintBatch.busy;
  const ready = deployment !== '' && service !== '' && !ttlInvalid && !busy;

  return (
    <Modal
      opened
      closeButtonProps={{ 'aria-label': 'Close' }}
      onClose={onClose}
      title={result ? (result.kind === 'one' ? 'Token minted' : 'Tokens minted') : 'Mint a container token'}
      size="lg"
      closeOnClickOutside={result === null}
    >
      {result ? (
        <Stack>
          {result.kind === 'one' ? (
            <>
              <Text size="sm">
                Token {shortJti(result.jti)} for <b>{result.subject}</b>, expires {relativeTime(result.expires_at)}.
              </Text>
              <TokenReveal secret={result.token} label="New token" />
            </>
          ) : (
            <>
              <Text size="sm">Minted {result.count} tokens, one per replica.</Text>
              <TokenReveal secret={result.lines} label="New tokens (container, space, token; one per line)" />
            </>
          )}
          <Group justify="flex-end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (ready && container.trim()) void mintOne.run();
          }}
        >
          <Stack>
            <ErrorAlert error={deployments.error} title="Deployments unavailable" />
            <Group grow>
              <NativeSelect
                label="Deployment"
                value={deployment}
                onChange={(e) => {
                  setDeployment(e.currentTarget.value);
                  chooseService('');
                }}
                data={[{ value: '', label: 'Choose a deployment…' }, ...(deployments.data ?? []).map((d) => d.name)]}
              />
              <NativeSelect
                label="Service"
                value={service}
                disabled={!current}
                onChange={(e) => chooseService(e.currentTarget.value)}
                data={[{ value: '', label: 'Choose a service…' }, ...(current?.services ?? []).map((s) => s.name)]}
              />
            </Group>
            {deployments.data?.length === 0 && <Muted>No deployments yet: import a ZLayer spec first.</Muted>}
            {svc && (
              <Stack gap={4} aria-label="Policy of the chosen service">
                <ScopeChips scopes={svc.policy.access.scopes} />
                <Text size="sm">
                  {describeScopes(svc.policy.access.scopes)}. Policy TTL {formatTtl(svc.policy.access.ttl_secs)}
                  {svc.replicas !== null ? `; ${svc.replicas} replicas` : ''}.
                </Text>
              </Stack>
            )}
            <Group grow align="flex-start">
              <TextInput
                label="Container id"
                value={container}
                onChange={(e) => {
                  setContainer(e.currentTarget.value);
                  setContainerTouched(true);
                }}
                placeholder="web-0"
              />
              <NativeSelect
                label="Profile"
                value={profile}
                onChange={(e) => setProfile(e.currentTarget.value as Profile)}
                data={PROFILES.map((p) => ({ value: p, label: PROFILE_LABELS[p] ?? p }))}
              />
              <TextInput
                label="TTL in seconds (optional)"
                inputMode="numeric"
                value={ttl}
                onChange={(e) => setTtl(e.currentTarget.value)}
                error={
                  ttlInvalid
                    ? 'a whole number of seconds above 0'
                    : overMax
                      ? ttlSecs === undefined
                        ? `the policy’s ${formatTtl(svc?.policy.access.ttl_secs ?? 0)} is longer than this workspace’s maximum of ${formatTtl(maxTtl)}: ask for a shorter TTL`
                        : `longer than this workspace’s maximum of ${formatTtl(maxTtl)}: refused, forced or not`
                      : undefined
                }
                description={maxTtl !== undefined ? `at most ${formatTtl(maxTtl)} (the workspace maximum)` : undefined}
                placeholder={svc ? String(svc.policy.access.ttl_secs) : 'policy default'}
              />
            </Group>
            <Checkbox
              label="Force a TTL longer than the policy allows"
              description={
                overPolicy && !force
                  ? `This TTL exceeds the policy’s ${formatTtl(svc?.policy.access.ttl_secs ?? 0)} and is refused unless forced. Forcing is recorded in the audit log.`
                  : 'A TTL above the service’s policy is refused unless forced; forcing is recorded in the audit log.'
              }
              checked={force}
              onChange={(e) => setForce(e.currentTarget.checked)}
            />
            <Checkbox
              label="Mint without a jti"
              description="A token without a jti cannot be revoked on its own, only stopped by withdrawing its key (rotate it as compromised, or force-retire it). Use it only for consumers that refuse the claim."
              checked={noJti}
              onChange={(e) => setNoJti(e.currentTarget.checked)}
            />
            <TextInput
              label="Containers for a batch (optional)"
              description={
                svc && svc.replicas === null
                  ? 'The spec does not fix this service’s replica count: list the containers to mint for, separated by commas or spaces.'
                  : 'Leave empty to mint one token per replica (<service>-0, <service>-1, …), or list containers separated by commas or spaces.'
              }
              value={batchList}
              onChange={(e) => setBatchList(e.currentTarget.value)}
              placeholder={service ? `${service}-0, ${service}-1` : ''}
            />
            <ErrorAlert error={mintOne.error ?? mintBatch.error} title="Not minted" />
            {mintBatch.busy && progress && (
              <div
                role="progressbar"
                aria-label="Batch mint progress"
                aria-valuenow={progress.done}
                aria-valuemax={progress.total}
              >
                <Text size="xs">
                  {progress.label} ({progress.done}/{progress.total})
                </Text>
                <Progress value={progress.total ? (100 * progress.done) / progress.total : 0} />
              </div>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button
                variant="light"
                disabled={!ready}
                loading={mintBatch.busy}
                onClick={() => void mintBatch.run()}
                title="One token per replica of the service, in one transaction"
              >
                {batchList.trim()
                  ? 'Mint for the listed containers'
                  : svc?.replicas
                    ? `Mint for all ${svc.replicas} replicas`
                    : 'Mint for all replicas'}
              </Button>
              <Button type="submit" disabled={!ready || container.trim() === ''} loading={mintOne.busy}>
                Mint token
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}

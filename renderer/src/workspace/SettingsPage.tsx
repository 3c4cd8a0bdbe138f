import { Button, Card, NumberInput, PasswordInput, SegmentedControl, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import { call } from '../ipc.ts';
import { useAction, useChannel } from '../hooks.ts';
import { formatTtl } from '../../../shared/policy/describe.ts';
import { DAY_SECS } from '../../../shared/workspace-settings.ts';
import { ErrorAlert } from '../common/common.tsx';
import { DatabaseCard } from './DatabaseCard.tsx';

export function SettingsPage({ settings, onChange }: { settings: Settings; onChange: (s: Settings) => void }) {
  const [draft, setDraft] = useState(settings);
  const save = useAction(async (patch: Partial<Settings>) => onChange(await call('settings:set', patch)));
  return (
    <Stack maw={560}>
    <Card withBorder>
      <Stack>
        <ErrorAlert error={save.error} />
        <div>
          <Text size="sm" fw={600} mb={4}>
            Theme
          </Text>
          <SegmentedControl
            aria-label="Theme"
            value={settings.theme}
            onChange={(v) => void save.run({ theme: v as Settings['theme'] })}
            data={[
              { label: 'Light', value: 'light' },
              { label: 'Dark', value: 'dark' },
              { label: 'System', value: 'system' },
            ]}
          />
        </div>
        <NumberInput label="CRL validity (days until nextUpdate)" min={1} max={365} value={draft.crl_validity_days} onChange={(v) => setDraft({ ...draft, crl_validity_days: Number(v) })} />
        <NumberInput label="Warn when a token expires within (hours)" min={1} value={draft.token_warning_hours} onChange={(v) => setDraft({ ...draft, token_warning_hours: Number(v) })} />
        <NumberInput label="Warn when a worker certificate expires within (days)" min={1} value={draft.cert_warning_days} onChange={(v) => setDraft({ ...draft, cert_warning_days: Number(v) })} />
        <NumberInput label="Warn when the CA expires within (days)" min={1} value={draft.ca_warning_days} onChange={(v) => setDraft({ ...draft, ca_warning_days: Number(v) })} />
        <Button
          onClick={() =>
            void save.run({
              crl_validity_days: draft.crl_validity_days,
              token_warning_hours: draft.token_warning_hours,
              cert_warning_days: draft.cert_warning_days,
              ca_warning_days: draft.ca_warning_days,
            })
          }
          loading={save.busy}
        >
          Save settings
        </Button>
      </Stack>
    </Card>
    <WorkspaceSecurityCard />
    <DatabaseCard />
    </Stack>
  );
}

/**
 * The workspace's own security settings (stored in the workspace, the same for the CLI):
 * the maximum lifetime of every minted token. Saving needs the current passphrase, since a
 * longer maximum loosens policy; the change is audited.
 */
function WorkspaceSecurityCard() {
  const current = useChannel('workspace:settings', {});
  const [days, setDays] = useState<number | string>('');
  const [passphrase, setPassphrase] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const maxSecs = current.data?.max_token_ttl_secs ?? null;
  const draftSecs = typeof days === 'number' ? Math.round(days * DAY_SECS) : null;
  const save = useAction(async () => {
    if (draftSecs === null) return;
    const after = await call('workspace:setSettings', {
      patch: { max_token_ttl_secs: draftSecs },
      reauth: { passphrase },
    });
    setPassphrase('');
    setDays('');
    setSaved(`The maximum token lifetime is now ${formatTtl(after.max_token_ttl_secs)}.`);
    current.reload();
  });
  return (
    <Card withBorder component="section" aria-labelledby="workspace-security">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(null);
          void save.run();
        }}
      >
        <Stack>
          <Title order={2} size="h4" id="workspace-security">
            Workspace security
          </Title>
          <ErrorAlert error={current.error ?? save.error} />
          {saved && (
            <Text size="sm" role="status">
              {saved}
            </Text>
          )}
          <Text size="sm" data-testid="max-token-ttl">
            Maximum token lifetime: {maxSecs === null ? '…' : `${formatTtl(maxSecs)} (${maxSecs} s)`}. No token is
            minted to live longer, forced or not.
          </Text>
          <NumberInput
            label="New maximum token lifetime (days)"
            description="From 1 minute to 365 days; decimals allowed (0.5 = 12 h)."
            min={60 / DAY_SECS}
            max={365}
            decimalScale={4}
            value={days}
            onChange={setDays}
          />
          <PasswordInput
            label="Current passphrase"
            description="Changing a workspace security setting needs the passphrase again; it is recorded in the audit log."
            value={passphrase}
            onChange={(e) => setPassphrase(e.currentTarget.value)}
            autoComplete="current-password"
          />
          <Button type="submit" loading={save.busy} disabled={draftSecs === null || passphrase === ''}>
            Save maximum lifetime
          </Button>
        </Stack>
      </form>
    </Card>
  );
}

import { Button, Card, NumberInput, SegmentedControl, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import { call } from '../ipc.ts';
import { useAction } from '../hooks.ts';
import { ErrorAlert } from '../components/common.tsx';

export function SettingsPage({ settings, onChange }: { settings: Settings; onChange: (s: Settings) => void }) {
  const [draft, setDraft] = useState(settings);
  const save = useAction(async (patch: Partial<Settings>) => onChange(await call('settings:set', patch)));
  return (
    <Card withBorder maw={560}>
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
  );
}

import { Alert, Button, Card, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { databaseUrlProblem } from '../../../shared/database-url.ts';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { ErrorAlert } from '../common/common.tsx';
import { ReauthFields, useReauth } from '../common/Reauth.tsx';
import { useAction, useChannel } from '../hooks.ts';
import { call } from '../ipc.ts';

type DatabaseStatus = ChannelOutput<'workspace:database'>;

const ENGINE_NAMES = { sqlite: 'Embedded file (SQLite)', postgres: 'PostgreSQL' } as const;
const SOURCE_NAMES = {
  env: 'the CASTELLAN_DATABASE_URL environment variable',
  preference: 'this setting',
  default: 'the default (no database chosen)',
} as const;

/**
 * Settings → Database (issue 14): which database this console's workspace lives in — the embedded
 * file, or a PostgreSQL database the team shares — and where that choice came from. A change is
 * saved for the next start; it needs the current passphrase (it switches the authority the console
 * talks to), or a system dialog when this workspace has no vault to check it against. A URL never
 * holds a password: the page says so as the admin types, and the main side refuses it too.
 */
export function DatabaseCard() {
  const status = useChannel('workspace:database', {});
  const vault = useChannel('vault:status', {});
  const reauth = useReauth();
  const [url, setUrl] = useState('');
  const [prefilled, setPrefilled] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const s = status.data;

  // The saved URL fills the field once, when it is first known.
  useEffect(() => {
    if (prefilled || s === null) return;
    if (s.preference !== null) setUrl(s.preference);
    setPrefilled(true);
  }, [s, prefilled]);

  // No passphrase to check when this workspace has no vault, or cannot be opened: a system dialog asks instead.
  const confirmsNatively = vault.error !== null || (vault.data !== null && !vault.data.initialized);
  const credential = () => (confirmsNatively ? {} : { reauth: reauth.take() });
  const ready = confirmsNatively || reauth.ready;
  const problem = url.trim() === '' ? null : databaseUrlProblem(url);
  const usable = url.trim() !== '' && problem === null;

  const act = useAction(async (what: 'test' | 'save' | 'embedded') => {
    setMessage(null);
    if (what === 'test') {
      const answer = await call('workspace:testDatabase', { url, ...credential() });
      setMessage(`Connected: ${answer.description} runs PostgreSQL ${answer.server_version}. Nothing was saved.`);
      return;
    }
    const next: DatabaseStatus = await call('workspace:setDatabase', { url: what === 'save' ? url : null, ...credential() });
    if (what === 'embedded') setUrl('');
    setMessage(
      next.restart_needed
        ? `Saved. Castellan opens ${next.next.description} at the next start; restart the app to switch.`
        : `Saved. Castellan keeps using ${next.active.description}.`,
    );
    status.reload();
  });

  return (
    <Card withBorder component="section" aria-labelledby="database-title">
      <Stack>
        <Title order={2} size="h4" id="database-title">
          Database
        </Title>
        <Text size="sm">
          Where this console&apos;s workspace lives: the embedded file on this computer, or a PostgreSQL database
          several admins share (team mode). A change takes effect the next time Castellan starts.
        </Text>
        <ErrorAlert error={status.error} title="Database" />
        {s && (
          <Table aria-label="Current database" withRowBorders={false} verticalSpacing={4}>
            <Table.Tbody>
              <Table.Tr>
                <Table.Th scope="row" w={120}>
                  Engine
                </Table.Th>
                <Table.Td data-testid="database-engine">{ENGINE_NAMES[s.active.engine]}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th scope="row">Database</Table.Th>
                <Table.Td data-testid="database-description" style={{ overflowWrap: 'anywhere' }}>
                  {s.active.description}
                </Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th scope="row">Chosen by</Table.Th>
                <Table.Td data-testid="database-source">{SOURCE_NAMES[s.active.source]}</Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
        )}
        {s?.restart_needed && (
          <Alert color="blue" title="Takes effect at the next start">
            <Text size="sm">
              The next start opens {s.next.description} ({ENGINE_NAMES[s.next.engine]}). Restart Castellan to switch;
              until then this console keeps using the database above.
            </Text>
          </Alert>
        )}
        {s?.preference_problem && (
          <Alert color="red" title="The saved database cannot be used" role="alert">
            {s.preference_problem}. Enter the URL again, or use the embedded file.
          </Alert>
        )}
        {s?.env_locked && (
          <Text size="sm" data-testid="database-env-locked">
            CASTELLAN_DATABASE_URL is set for this app, and it wins over this setting, so the database cannot be
            changed here. Unset it and restart Castellan to choose the database here.
          </Text>
        )}
        {s && !s.env_locked && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (usable && ready) void act.run('save');
            }}
          >
            <Stack>
              <TextInput
                label="PostgreSQL URL"
                description="postgres://user@host:port/database?sslmode=verify-full. No password: Castellan does not save one; put it in ~/.pgpass or the PGPASSWORD environment variable."
                placeholder="postgres://castellan@db.example:5432/castellan"
                value={url}
                onChange={(e) => {
                  setUrl(e.currentTarget.value);
                  setMessage(null);
                }}
                error={problem}
                spellCheck={false}
                autoComplete="off"
              />
              {confirmsNatively ? (
                <Text size="sm">
                  There is no vault passphrase to check here, so you confirm a change in a system dialog.
                </Text>
              ) : (
                <ReauthFields state={reauth} />
              )}
              <ErrorAlert error={act.error} title="Database" />
              {message && (
                <Text size="sm" role="status">
                  {message}
                </Text>
              )}
              <Group>
                <Button
                  variant="default"
                  onClick={() => void act.run('test')}
                  disabled={!usable || !ready || act.busy}
                >
                  Test connection
                </Button>
                <Button type="submit" loading={act.busy} disabled={!usable || !ready}>
                  Save
                </Button>
                <Button
                  variant="default"
                  onClick={() => void act.run('embedded')}
                  disabled={!ready || act.busy || s.next.source === 'default'}
                >
                  Use the embedded file
                </Button>
              </Group>
            </Stack>
          </form>
        )}
      </Stack>
    </Card>
  );
}

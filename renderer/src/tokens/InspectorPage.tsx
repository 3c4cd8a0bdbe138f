import { Alert, Button, Grid, Group, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import type { VERDICTS } from '../../../shared/ipc/contract/tokens.ts';
import { ErrorAlert, relativeTime, ScopeChips } from '../common/common.tsx';
import { RevokeDialog } from './RevokeDialog.tsx';
import { JsonBlock, PROFILE_LABELS, tokenLabel, TokenStatusBadge } from './TokenBits.tsx';
import { useAction } from '../hooks.ts';
import { call } from '../ipc.ts';

type Inspection = ChannelOutput<'tokens:inspect'>;
type Verdict = (typeof VERDICTS)[number];

const VERDICT_WORDS: Record<Verdict, string> = {
  valid: 'Valid',
  expired: 'Expired',
  revoked: 'Revoked',
  bad_signature: 'Bad signature',
  unknown_key: 'Unknown key',
  malformed: 'Malformed',
  not_issued_here: 'Not issued here',
  forged: 'Forged',
  compromised_key: 'Compromised key',
};
const VERDICT_COLORS: Record<Verdict, string> = {
  valid: 'teal',
  expired: 'gray',
  revoked: 'red',
  bad_signature: 'red',
  unknown_key: 'orange',
  malformed: 'orange',
  not_issued_here: 'yellow',
  forged: 'red',
  compromised_key: 'red',
};

/**
 * Verdicts reached before a signature was verified: the token's claims are only what it says of
 * itself, which anyone could have written, so the page never states them as facts.
 */
export const UNVERIFIED_VERDICTS: ReadonlySet<Verdict> = new Set(['bad_signature', 'unknown_key', 'malformed']);

export function InspectorPage() {
  const [token, setToken] = useState('');
  const [result, setResult] = useState<Inspection | null>(null);
  const [revoking, setRevoking] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const inspect = useAction(async (value: string) => {
    setResult(await call('tokens:inspect', { token: value }));
  });

  const record = result?.record ?? null;
  const unverified = result !== null && UNVERIFIED_VERDICTS.has(result.verdict);
  const canRevoke = record !== null && record.status !== 'revoked' && record.jti !== null;

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setMessage(null);
          void inspect.run(token.trim());
        }}
      >
        <Stack>
          <Textarea
            label="Token"
            description="Paste a container token (a JWT). It is checked here, against this workspace’s keys and ledger, and never stored."
            value={token}
            onChange={(e) => setToken(e.currentTarget.value)}
            autosize
            minRows={3}
            maxRows={10}
            spellCheck={false}
            autoComplete="off"
            styles={{
              input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12, wordBreak: 'break-all' },
            }}
          />
          <Group>
            <Button type="submit" disabled={token.trim() === ''} loading={inspect.busy}>
              Inspect
            </Button>
            <Button
              variant="default"
              onClick={() => {
                setToken('');
                setResult(null);
                setMessage(null);
              }}
            >
              Clear
            </Button>
          </Group>
        </Stack>
      </form>
      <ErrorAlert error={inspect.error} title="Could not inspect" />
      {message && (
        <Alert color="teal" role="status">
          {message}
        </Alert>
      )}
      {result && (
        <>
          {/* The verdict is announced with its label: "Verdict: Bad signature", then the reason. */}
          <Alert
            color={VERDICT_COLORS[result.verdict]}
            title={`Verdict: ${VERDICT_WORDS[result.verdict]}`}
            role={result.verdict === 'valid' ? 'status' : 'alert'}
            data-testid="verdict"
            data-verdict={result.verdict}
            data-focus-anchor="verdict"
          >
            <Text size="sm">{result.reason}</Text>
            {canRevoke && (
              <Button mt="sm" color="red" size="xs" onClick={() => setRevoking(true)}>
                Revoke
              </Button>
            )}
          </Alert>
          <Title order={2} size="h4">
            {unverified ? 'What the token claims (unverified)' : 'Explanation'}
          </Title>
          {unverified && (
            <Text size="sm" fw={600} data-testid="unverified-note">
              The signature was not verified, so nothing the token says about itself is established: anyone can write these claims. Do
              not act on them; treat the token as forged.
            </Text>
          )}
          <Stack gap={6} data-verified={unverified ? 'false' : 'true'} aria-label={unverified ? 'Unverified claims' : 'Verified claims'} role="group">
            <ScopeChips scopes={result.scopes} />
            <Text size="sm" aria-label={unverified ? 'Claimed scopes in words (unverified)' : 'Scopes in words'}>
              {unverified ? `Unverified: the token says it ${result.scopes_in_words === 'no scopes' ? 'has no scopes' : result.scopes_in_words}.` : result.scopes_in_words}
            </Text>
            <Text size="sm" c="dimmed">
              {unverified
                ? `${result.profile ? `Claims profile ${PROFILE_LABELS[result.profile] ?? result.profile}` : 'Profile unknown'}${result.key_id ? `, names key ${result.key_id}` : ''} (unverified).`
                : `${result.profile ? `Profile ${PROFILE_LABELS[result.profile] ?? result.profile}` : 'Profile unknown'}${result.key_id ? `, signed by key ${result.key_id}` : ''}.`}
            </Text>
          </Stack>
          {record && (
            <Table
              aria-label={unverified ? 'Ledger record of the jti the token claims' : 'Ledger record'}
              withRowBorders={false}
              verticalSpacing={2}
            >
              {unverified && (
                <caption style={{ textAlign: 'left', captionSide: 'top' }}>
                  <Text size="sm" span>
                    The ledger holds a token with the jti this one claims. That record is real; whether this token is that one is not.
                  </Text>
                </caption>
              )}
              <Table.Tbody>
                <Table.Tr>
                  <Table.Th w={160}>Ledger status</Table.Th>
                  <Table.Td>
                    <TokenStatusBadge status={record.status} />
                    {record.revoke_reason ? ` ${record.revoke_reason}` : ''}
                  </Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Issued to</Table.Th>
                  <Table.Td>
                    {record.subject}: {record.deployment}/{record.service}, container {record.container}
                  </Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Issued</Table.Th>
                  <Table.Td>{relativeTime(record.issued_at)}</Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Expires</Table.Th>
                  <Table.Td>{relativeTime(record.expires_at)}</Table.Td>
                </Table.Tr>
              </Table.Tbody>
            </Table>
          )}
          <Grid>
            <Grid.Col span={{ base: 12, md: 5 }}>
              <Title order={3} size="h5" mb={4}>
                Header
              </Title>
              {result.header === null ? (
                <Text c="dimmed">Not decodable.</Text>
              ) : (
                <JsonBlock value={result.header} label="Decoded header" />
              )}
            </Grid.Col>
            <Grid.Col span={{ base: 12, md: 7 }}>
              <Title order={3} size="h5" mb={4}>
                {unverified ? 'Claims (unverified)' : 'Claims'}
              </Title>
              {result.claims === null ? (
                <Text c="dimmed">Not decodable.</Text>
              ) : (
                <JsonBlock value={result.claims} label={unverified ? 'Decoded claims (unverified)' : 'Decoded claims'} />
              )}
            </Grid.Col>
          </Grid>
        </>
      )}
      {revoking && record?.jti && (
        <RevokeDialog
          title={`Revoke token ${tokenLabel(record)}`}
          confirmLabel="Revoke token"
          defaultReason="leaked"
          onClose={() => setRevoking(false)}
          onConfirm={async (reason) => {
            await call('tokens:revoke', { jti: record.jti!, reason });
            setRevoking(false);
            setMessage(`Revoked token ${tokenLabel(record)} (${reason}).`);
            await inspect.run(token.trim());
          }}
        >
          <Text size="sm">
            {record.subject}: {record.deployment}/{record.service}, container {record.container}.
          </Text>
        </RevokeDialog>
      )}
    </Stack>
  );
}

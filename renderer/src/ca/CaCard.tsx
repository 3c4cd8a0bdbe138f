import { Alert, Badge, Button, Card, Code, Group, Modal, Progress, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { BUNDLE_FORMATS } from '../../../shared/ipc/contract/ca.ts';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { call } from '../ipc.ts';
import { useAction } from '../hooks.ts';
import { ErrorAlert, Muted, relativeTime } from '../common/common.tsx';
import { ReauthFields, useReauth } from '../common/Reauth.tsx';

export type CaInfo = NonNullable<ChannelOutput<'ca:show'>>;
type BundleFormat = (typeof BUNDLE_FORMATS)[number];

const DAY_MS = 86_400_000;

export const BUNDLE_LABELS: Record<BundleFormat, string> = {
  pem: 'PEM',
  der: 'DER',
  p7b: 'PKCS#7 (PEM)',
  'p7b-der': 'PKCS#7 (DER)',
  json: 'JSON',
};

/** How far the CA is through its validity, and how urgent that is. */
export function caValidity(ca: Pick<CaInfo, 'not_before' | 'not_after'>, warningDays: number, now = Date.now()) {
  const start = Date.parse(ca.not_before);
  const end = Date.parse(ca.not_after);
  const span = Math.max(end - start, 1);
  const elapsed = Math.min(100, Math.max(0, ((now - start) / span) * 100));
  const daysLeft = Math.floor((end - now) / DAY_MS);
  const color = now >= end || daysLeft < 30 ? 'red' : daysLeft < warningDays ? 'yellow' : 'teal';
  const label =
    now >= end
      ? `CA validity: expired ${relativeTime(end / 1000, now / 1000)}`
      : `CA validity: ${Math.round(elapsed)}% elapsed, ${daysLeft} days left`;
  return { elapsed, daysLeft, color, label };
}

function Field({ label, children, mono = false }: { label: string; children: React.ReactNode; mono?: boolean }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" ff={mono ? 'monospace' : undefined} style={{ wordBreak: 'break-all' }} data-field={label}>
        {children}
      </Text>
    </div>
  );
}

/** The worker CA: create or import it, see it, export its bundle (and, deliberately, its key). */
export function CaCard({
  ca,
  loading,
  warningDays,
  onChanged,
  onMessage,
}: {
  ca: CaInfo | null;
  loading: boolean;
  warningDays: number;
  onChanged: () => void;
  onMessage: (message: string) => void;
}) {
  const [confirmZlayer, setConfirmZlayer] = useState(false);

  const create = useAction(async () => {
    const created = await call('ca:init', {});
    onMessage(`Created the worker CA ${created.subject}`);
    onChanged();
  });
  const importCa = useAction(async () => {
    const result = await call('ca:importDialog', {});
    if (result.cancelled || !result.ca) return;
    onMessage(`Imported the worker CA ${result.ca.subject}`);
    onChanged();
  });
  const exportBundle = useAction(async (format: BundleFormat) => {
    const result = await call('ca:exportBundle', { format });
    if (!result.cancelled) onMessage(`Saved the CA bundle (${BUNDLE_LABELS[format]}) to ${result.path}`);
  });

  const error = create.error ?? importCa.error ?? exportBundle.error;

  return (
    <Card withBorder component="section" aria-labelledby="ca-title">
      <Title order={2} size="h4" id="ca-title" mb="sm">
        Worker CA
      </Title>
      <ErrorAlert error={error} title="Worker CA" />
      {!ca ? (
        <Stack gap="sm">
          <Muted>
            {loading
              ? 'Loading the worker CA…'
              : 'There is no worker CA yet. Create one (ECDSA P-256, ten years) or import the worker_ca.crt and worker_ca.key of an existing ZLayer cluster.'}
          </Muted>
          {!loading && (
            <Group>
              <Button onClick={() => void create.run()} loading={create.busy} disabled={importCa.busy}>
                Create CA
              </Button>
              <Button variant="default" onClick={() => void importCa.run()} loading={importCa.busy} disabled={create.busy}>
                Import CA…
              </Button>
            </Group>
          )}
        </Stack>
      ) : (
        <CaDetails ca={ca} warningDays={warningDays} />
      )}
      {ca && (
        <Stack gap="xs" mt="md">
          <Text size="sm" fw={500} id="ca-bundle-title">
            CA bundle
          </Text>
          <Group gap="xs" role="group" aria-labelledby="ca-bundle-title">
            {BUNDLE_FORMATS.map((format) => (
              <Button
                key={format}
                variant="default"
                size="xs"
                aria-label={`Export CA bundle as ${BUNDLE_LABELS[format]}`}
                loading={exportBundle.busy}
                onClick={() => void exportBundle.run(format)}
              >
                {BUNDLE_LABELS[format]}
              </Button>
            ))}
            <Button size="xs" color="orange" variant="light" onClick={() => setConfirmZlayer(true)}>
              Export ZLayer files…
            </Button>
          </Group>
          <Muted>The bundle holds the CA certificate only; workers and clients use it to verify leaves.</Muted>
        </Stack>
      )}
      {confirmZlayer && (
        <ExportZlayerDialog
          onClose={() => setConfirmZlayer(false)}
          onSaved={(dir) => onMessage(`Wrote worker_ca.crt and worker_ca.key to ${dir}`)}
        />
      )}
    </Card>
  );
}

/** Confirmation, with re-authentication, before the CA private key is written to disk. */
function ExportZlayerDialog({ onClose, onSaved }: { onClose: () => void; onSaved: (dir: string) => void }) {
  const reauth = useReauth();
  const exportZlayer = useAction(async () => {
    const result = await call('ca:exportZlayer', { confirm: true, reauth: reauth.take() });
    onClose();
    if (!result.cancelled && result.path) onSaved(result.path);
  });
  return (
    <Modal opened closeButtonProps={{ 'aria-label': 'Close' }} onClose={onClose} title="Export the ZLayer CA files">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void exportZlayer.run();
        }}
      >
        <Stack>
          <Alert color="orange" title="This writes the CA private key">
            <Text size="sm">
              Castellan writes <Code>worker_ca.crt</Code> (mode 0644) and <Code>worker_ca.key</Code> (mode 0600) into the
              folder you choose. Anyone who reads <Code>worker_ca.key</Code> can issue worker certificates the whole
              cluster trusts.
            </Text>
          </Alert>
          <ReauthFields state={reauth} />
          <ErrorAlert error={exportZlayer.error} title="Not exported" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" color="orange" loading={exportZlayer.busy} disabled={!reauth.ready}>
              Write the CA key and certificate…
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function CaDetails({ ca, warningDays }: { ca: CaInfo; warningDays: number }) {
  const validity = caValidity(ca, warningDays);
  return (
    <Stack gap="sm" aria-label="CA details">
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="xs">
        <Field label="Subject">{ca.subject}</Field>
        <Field label="Key type">{ca.key_type}</Field>
        <Field label="SHA-256 fingerprint" mono>
          {ca.fingerprint_sha256}
        </Field>
        <Field label="Serial" mono>
          {ca.serial}
        </Field>
        <Field label="Origin">
          <Badge variant="light" color={ca.imported ? 'grape' : 'indigo'} mr={6}>
            {ca.imported ? 'imported' : 'created'}
          </Badge>
          {new Date(ca.created_at).toLocaleString()}
        </Field>
        <Field label="Valid">
          {new Date(ca.not_before).toLocaleDateString()} → {new Date(ca.not_after).toLocaleDateString()} (
          {relativeTime(Date.parse(ca.not_after) / 1000)})
        </Field>
      </SimpleGrid>
      <div>
        <Group justify="space-between" mb={4}>
          <Text size="xs" c="dimmed">
            Validity
          </Text>
          <Text size="xs" c={validity.color === 'teal' ? 'dimmed' : validity.color} data-testid="ca-days-left">
            {validity.daysLeft < 0 ? 'expired' : `${validity.daysLeft} days left`}
          </Text>
        </Group>
        <Progress.Root
          size="lg"
          role="progressbar"
          aria-label={validity.label}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(validity.elapsed)}
          aria-valuetext={validity.label.replace(/^CA validity: /, '')}
          data-color={validity.color}
        >
          {/* At least a sliver, so a brand-new CA still shows its colour. */}
          <Progress.Section value={Math.max(validity.elapsed, 1)} color={validity.color} withAria={false} />
        </Progress.Root>
      </div>
    </Stack>
  );
}

/** The CRL: re-signed by main on every revocation; exported on demand. */
export function CaCrlCard({
  hasCa,
  validityDays,
  revokedThisSession,
  progress,
  onMessage,
}: {
  hasCa: boolean;
  validityDays: number;
  /** When the page last revoked a certificate (the CRL was regenerated then). */
  revokedThisSession: Date | null;
  progress: { label: string; done: number; total: number } | null;
  onMessage: (message: string) => void;
}) {
  const exportCrl = useAction(async (format: 'pem' | 'der') => {
    const result = await call('ca:exportCrl', { format });
    if (!result.cancelled) onMessage(`Saved the CRL (${format.toUpperCase()}) to ${result.path}`);
  });
  return (
    <Card withBorder component="section" aria-labelledby="crl-title">
      <Title order={2} size="h4" id="crl-title" mb="sm">
        Certificate revocation list
      </Title>
      <Stack gap="xs">
        <Muted>
          The CA re-signs the CRL on every revocation, so an exported CRL is always current. Each one is valid for {validityDays} days
          (nextUpdate); export it again before then, or after revoking, and publish it where workers fetch it.
        </Muted>
        {revokedThisSession && (
          <Text size="sm" data-testid="crl-regenerated">
            Regenerated at {revokedThisSession.toLocaleTimeString()} after the last revocation.
          </Text>
        )}
        {progress && (
          <div>
            <Text size="xs">
              {progress.label} ({progress.done}/{progress.total})
            </Text>
            <Progress value={progress.total ? (100 * progress.done) / progress.total : 0} aria-label={`CA work: ${progress.label}`} />
          </div>
        )}
        <Group gap="xs">
          <Button size="xs" variant="default" disabled={!hasCa} loading={exportCrl.busy} onClick={() => void exportCrl.run('pem')}>
            Export CRL as PEM
          </Button>
          <Button size="xs" variant="default" disabled={!hasCa} loading={exportCrl.busy} onClick={() => void exportCrl.run('der')}>
            Export CRL as DER
          </Button>
        </Group>
        {!hasCa && <Muted>There is no CRL until there is a worker CA.</Muted>}
        <ErrorAlert error={exportCrl.error} title="CRL not exported" />
      </Stack>
    </Card>
  );
}

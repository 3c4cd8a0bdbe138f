import { Alert, Grid, Stack } from '@mantine/core';
import { useCallback, useState } from 'react';
import { DEFAULT_SETTINGS } from '../../../shared/ipc/contract/settings.ts';
import { CaCard, CaCrlCard } from './CaCard.tsx';
import { CertTable } from './CertTable.tsx';
import { CsrSigner } from './CsrSigner.tsx';
import { ErrorAlert } from '../common/common.tsx';
import { PublishedAt } from '../common/PublishedAt.tsx';
import { useChannel, useProgress } from '../hooks.ts';
import { useReloadOnChange } from '../changes.ts';

/** Progress events that belong to this page's work (CA, certificates, CRL). */
const CA_TASK = /\b(ca|crl|cert|csr|revoc)/i;

export function WorkersPage() {
  const ca = useChannel('ca:show', {});
  const settings = useChannel('settings:get', {});
  const progress = useProgress();
  const [message, setMessage] = useState<string | null>(null);
  const [certsVersion, setCertsVersion] = useState(0);
  const [lastRevocation, setLastRevocation] = useState<Date | null>(null);
  const [signerVersion, setSignerVersion] = useState(0);

  const prefs = settings.data ?? DEFAULT_SETTINGS;
  const { reload: reloadCa } = ca;
  const onCaChanged = useCallback(() => {
    reloadCa();
    setCertsVersion((v) => v + 1);
  }, [reloadCa]);
  const onIssued = useCallback(() => setCertsVersion((v) => v + 1), []);
  const onRevoked = useCallback(() => {
    setLastRevocation(new Date());
    // Every panel that shows a certificate asks again, so none shows a revoked one as issued.
    setSignerVersion((v) => v + 1);
  }, []);
  // A certificate revoked elsewhere (the CLI, another admin): the issued panel asks again too.
  useReloadOnChange(['ca:certs'], () => setSignerVersion((v) => v + 1));

  const hasCa = Boolean(ca.data);
  const caProgress = progress && CA_TASK.test(progress.task) ? progress : null;

  return (
    <Stack>
      <ErrorAlert error={ca.error} title="Worker CA unavailable" />
      <PublishedAt what="CRL and OCSP responder" paths={[{ name: 'CRL', path: '/crl' }, { name: 'OCSP', path: '/ocsp' }]} />
      {message && (
        <Alert color="teal" role="status" withCloseButton closeButtonLabel="Dismiss" onClose={() => setMessage(null)}>
          {message}
        </Alert>
      )}
      <Grid>
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <Stack>
            <CaCard ca={ca.data} loading={ca.loading && !ca.data && !ca.error} warningDays={prefs.ca_warning_days} onChanged={onCaChanged} onMessage={setMessage} />
            <CaCrlCard
              hasCa={hasCa}
              validityDays={prefs.crl_validity_days}
              revokedThisSession={lastRevocation}
              progress={caProgress}
              onMessage={setMessage}
            />
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 6 }}>
          <CsrSigner hasCa={hasCa} certsVersion={signerVersion} onIssued={onIssued} onMessage={setMessage} />
        </Grid.Col>
      </Grid>
      <CertTable version={certsVersion} warningDays={prefs.cert_warning_days} onRevoked={onRevoked} onMessage={setMessage} />
    </Stack>
  );
}

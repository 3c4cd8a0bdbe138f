import {
  Alert,
  Badge,
  Button,
  Card,
  FileButton,
  Group,
  List,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useEffect, useState, type DragEvent } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { call } from '../ipc.ts';
import { useAction } from '../hooks.ts';
import { ErrorAlert, Muted, relativeTime } from '../common/common.tsx';

type Preview = ChannelOutput<'ca:previewCsr'>;
type Signed = ChannelOutput<'ca:sign'>;
type San = Preview['sans'][number];
type SanVerdict = Preview['san_verdicts'][number];
type IssuedCert = ChannelOutput<'ca:certs'>['rows'][number];

/** RFC 5280 reason names in words (CertTable has the same list; importing it from there would be circular). */
const REVOCATION_TEXT: Record<string, string> = {
  unspecified: 'unspecified',
  keyCompromise: 'key compromise',
  cACompromise: 'CA compromise',
  affiliationChanged: 'affiliation changed',
  superseded: 'superseded',
  cessationOfOperation: 'cessation of operation',
  certificateHold: 'certificate hold',
  privilegeWithdrawn: 'privilege withdrawn',
  aACompromise: 'AA compromise',
};

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** The contract's limit on the CSR string. */
const MAX_CSR_CHARS = 64 * 1024;
const LEAF_ORGANIZATION = 'ZLayer Worker';
/** The most any workspace allows (its own csr_max_leaf_days, 90 by default, is checked by main). */
const MAX_LEAF_DAYS = 397;

/** Why a node id is unusable in `CN=worker-<node id>`, or null (mirrors the main-side check). */
export function nodeIdProblem(nodeId: string): string | null {
  if (nodeId.length === 0) return 'Enter the worker’s node id';
  if (nodeId.length > 64) return `Too long: ${nodeId.length} characters, at most 64`;
  if (!NODE_ID.test(nodeId)) return 'Use only A–Z, a–z, 0–9, ".", "_" and "-"';
  return null;
}

export function sanText(san: San): string {
  const prefix = { dns: 'DNS', ip: 'IP', email: 'email', uri: 'URI' }[san.type];
  return `${prefix}:${san.value}`;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** A dropped file as the contract wants it: PEM text as-is, anything else as base64 of its bytes. */
export async function csrFromFile(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length === 0) throw new Error(`${file.name} is empty`);
  let text: string | null = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  const csr = text !== null && text.trimStart().startsWith('-----BEGIN') ? text : toBase64(bytes);
  if (csr.length > MAX_CSR_CHARS) throw new Error(`${file.name} is too large for a certificate request (${bytes.length} bytes)`);
  return csr;
}

/** Drop or paste a worker's CSR, check what it asks for, and sign it for one node id. */
export function CsrSigner({
  hasCa,
  certsVersion = 0,
  onIssued,
  onMessage,
}: {
  hasCa: boolean;
  /** Bumped by the page whenever a certificate changed elsewhere (a revocation in the table). */
  certsVersion?: number;
  onIssued: () => void;
  onMessage: (message: string) => void;
}) {
  const [dragging, setDragging] = useState(false);
  const [pasted, setPasted] = useState('');
  const [csr, setCsr] = useState<{ text: string; source: string } | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [nodeId, setNodeId] = useState('');
  const [nodeTouched, setNodeTouched] = useState(false);
  const [days, setDays] = useState<number | string>(90);
  const [issued, setIssued] = useState<Signed | null>(null);
  // What the ledger says of the issued certificate now: it may have been revoked since.
  const [current, setCurrent] = useState<IssuedCert | null>(null);
  const issuedSerial = issued?.certificate.serial ?? null;
  useEffect(() => {
    if (!issuedSerial) return;
    let live = true;
    call('ca:certs', { search: issuedSerial, limit: 10, offset: 0 }).then(
      (r) => {
        if (live) setCurrent(r.rows.find((c) => c.serial === issuedSerial) ?? null);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [issuedSerial, certsVersion]);
  const revoked = current !== null && current.serial === issuedSerial && current.status === 'revoked' ? current : null;

  const load = useAction(async (read: () => Promise<string>, source: string) => {
    setPreview(null);
    setCsr(null);
    const text = await read();
    const result = await call('ca:previewCsr', nodeIdProblem(nodeId) ? { csr: text } : { csr: text, node_id: nodeId });
    setCsr({ text, source });
    setPreview(result);
    setIssued(null);
  });
  // worker-* names are judged against the node id: judge the CSR again whenever a valid one is typed.
  useEffect(() => {
    if (!csr || nodeIdProblem(nodeId)) return;
    let current = true;
    call('ca:previewCsr', { csr: csr.text, node_id: nodeId }).then(
      (result) => {
        if (current) setPreview(result);
      },
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [csr, nodeId]);
  const sign = useAction(async () => {
    if (!csr) return;
    const result = await call('ca:sign', { csr: csr.text, node_id: nodeId, days: Number(days) });
    setIssued(result);
    setCurrent(null);
    onMessage(`Issued ${result.certificate.subject} (serial ${result.certificate.serial})`);
    onIssued();
  });
  const save = useAction(async (format: 'pem' | 'der' | 'json') => {
    if (!issued) return;
    const result = await call('ca:saveCertificate', { serial: issued.certificate.serial, format });
    if (!result.cancelled) onMessage(`Saved the certificate of ${issued.certificate.node_id} (${format.toUpperCase()}) to ${result.path}`);
  });

  const readFile = (file: File) => void load.run(() => csrFromFile(file), file.name);
  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) readFile(file);
  };

  const idProblem = nodeIdProblem(nodeId);
  const daysNumber = Number(days);
  const daysProblem =
    Number.isInteger(daysNumber) && daysNumber >= 1 && daysNumber <= MAX_LEAF_DAYS ? null : `Use 1 to ${MAX_LEAF_DAYS} days`;
  const canSign = hasCa && preview?.acceptable === true && !idProblem && !daysProblem;
  const newSubject = `CN=worker-${idProblem ? '<node id>' : nodeId}, O=${LEAF_ORGANIZATION}`;

  return (
    <Card withBorder component="section" aria-labelledby="csr-title">
      <Title order={2} size="h4" id="csr-title" mb="sm">
        Sign a worker CSR
      </Title>
      <Stack gap="sm">
        {!hasCa && <Muted>Create or import the worker CA before signing; previews work without it.</Muted>}
        <Paper
          withBorder
          p="md"
          role="region"
          aria-label="Drop a worker CSR here"
          style={{ borderStyle: 'dashed' }}
          bg={dragging ? 'var(--mantine-color-blue-light)' : undefined}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <Group justify="space-between">
            <Muted>Drop a worker’s certificate request here (PEM or DER).</Muted>
            <FileButton onChange={(f) => f && readFile(f)} accept=".csr,.pem,.der,.req,application/pkcs10">
              {(props) => (
                <Button {...props} variant="default" size="xs">
                  Choose CSR file…
                </Button>
              )}
            </FileButton>
          </Group>
        </Paper>
        <Textarea
          label="Or paste a CSR"
          placeholder="-----BEGIN CERTIFICATE REQUEST-----"
          autosize
          minRows={2}
          maxRows={8}
          styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
          value={pasted}
          onChange={(e) => setPasted(e.currentTarget.value)}
        />
        <Group>
          <Button variant="default" disabled={!pasted.trim()} loading={load.busy} onClick={() => void load.run(async () => pasted.trim(), 'pasted text')}>
            Preview CSR
          </Button>
        </Group>
        <ErrorAlert error={load.error} title="Not a usable CSR" />
        {preview && csr && (
          <CsrPreview preview={preview} source={csr.source} newSubject={newSubject} />
        )}
        {preview && csr && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setNodeTouched(true);
              if (canSign) void sign.run();
            }}
          >
            <Group align="flex-start">
              <TextInput
                label="Node id"
                description="1–64 of A–Z a–z 0–9 . _ -"
                value={nodeId}
                onChange={(e) => {
                  setNodeId(e.currentTarget.value);
                  setNodeTouched(true);
                }}
                error={nodeTouched ? idProblem : null}
                required
                w={260}
              />
              <NumberInput label="Validity (days)" description="up to the workspace maximum (90 unless raised); never past the CA" value={days} onChange={setDays} min={1} max={MAX_LEAF_DAYS} allowDecimal={false} error={daysProblem} w={220} />
            </Group>
            <Group mt="sm">
              <Button type="submit" disabled={!canSign} loading={sign.busy}>
                Sign certificate
              </Button>
              {!hasCa && <Muted>Signing needs the worker CA.</Muted>}
            </Group>
          </form>
        )}
        <ErrorAlert error={sign.error} title="Not signed" />
        {issued && (
          <Paper withBorder p="sm" role="region" aria-label="Issued certificate" data-status={revoked ? 'revoked' : 'issued'}>
            <Stack gap="xs">
              <Group gap="xs">
                <Badge color={revoked ? 'red' : 'teal'} variant={revoked ? 'filled' : 'light'} data-testid="issued-status">
                  {revoked ? 'revoked' : 'issued'}
                </Badge>
                <Text fw={500}>{issued.certificate.subject}</Text>
              </Group>
              {revoked && (
                <Text size="sm" role="status" data-testid="issued-revoked">
                  Revoked{revoked.revocation_reason ? ` (${REVOCATION_TEXT[revoked.revocation_reason] ?? revoked.revocation_reason})` : ''}
                  {revoked.revoked_at ? ` at ${new Date(revoked.revoked_at).toLocaleString()}` : ''}; it is on the CRL, so there is
                  nothing here to hand to the worker. It must enrol again with a new CSR.
                </Text>
              )}
              <SimpleGrid cols={{ base: 1, md: 3 }} spacing="xs">
                <div>
                  <Text size="xs" c="dimmed">
                    Serial
                  </Text>
                  <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }} data-testid="issued-serial">
                    {issued.certificate.serial}
                  </Text>
                </div>
                <div>
                  <Text size="xs" c="dimmed">
                    Subject
                  </Text>
                  <Text size="sm" data-testid="issued-subject">
                    {issued.certificate.subject}
                  </Text>
                </div>
                <div>
                  <Text size="xs" c="dimmed">
                    Not after
                  </Text>
                  <Text size="sm">
                    {new Date(issued.certificate.not_after).toLocaleString()} ({relativeTime(Date.parse(issued.certificate.not_after) / 1000)})
                  </Text>
                </div>
              </SimpleGrid>
              {!revoked && (
                <Group gap="xs">
                  <Button size="xs" variant="default" loading={save.busy} onClick={() => void save.run('pem')}>
                    Save PEM
                  </Button>
                  <Button size="xs" variant="default" loading={save.busy} onClick={() => void save.run('der')}>
                    Save DER
                  </Button>
                  <Button size="xs" variant="default" loading={save.busy} onClick={() => void save.run('json')}>
                    Save registration JSON
                  </Button>
                </Group>
              )}
              <ErrorAlert error={save.error} title="Not saved" />
            </Stack>
          </Paper>
        )}
      </Stack>
    </Card>
  );
}

function CsrPreview({ preview, source, newSubject }: { preview: Preview; source: string; newSubject: string }) {
  return (
    <Paper withBorder p="sm" role="region" aria-label="CSR preview">
      <Stack gap="xs">
        <Group gap="xs">
          <Text fw={500}>Request from {source}</Text>
          <Badge color={preview.acceptable ? 'teal' : 'red'} variant="light">
            {preview.acceptable ? 'acceptable' : 'refused'}
          </Badge>
        </Group>
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="xs">
          <div>
            <Text size="xs" c="dimmed">
              Key
            </Text>
            <Text size="sm" data-testid="csr-key">
              {preview.key_type}
              {preview.key_size ? ` (${preview.key_size} bits)` : ''}
            </Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">
              Signature
            </Text>
            <Badge color={preview.signature_valid ? 'teal' : 'red'} variant="light" data-testid="csr-signature">
              {preview.signature_valid ? 'signature valid' : 'signature invalid'}
            </Badge>
          </div>
          <div>
            <Text size="xs" c="dimmed">
              Requested subject
            </Text>
            <Text size="sm" data-testid="csr-subject">
              {preview.requested_subject || '(empty)'}
            </Text>
          </div>
          <div>
            <Text size="xs" c="dimmed">
              Subject alternative names
            </Text>
            {preview.san_verdicts.length ? (
              <List size="sm" aria-label="Requested SANs" data-testid="csr-sans" listStyleType="none">
                {preview.san_verdicts.map((v, i) => (
                  <SanVerdictItem key={`${i}:${v.type}:${v.value}`} verdict={v} />
                ))}
              </List>
            ) : (
              <Text size="sm" c="dimmed" data-testid="csr-sans">
                none
              </Text>
            )}
          </div>
        </SimpleGrid>
        <Text size="sm" data-testid="subject-note">
          {preview.requested_subject ? (
            <>
              The requested subject will be replaced by <b>{newSubject}</b>.
            </>
          ) : (
            <>
              The certificate will say <b>{newSubject}</b>.
            </>
          )}{' '}
          Only the public key and the DNS/IP names are taken from the request.
        </Text>
        {preview.problems.length > 0 && (
          <Alert color="red" title="The CA will not sign this request">
            <List size="sm">
              {preview.problems.map((p) => (
                <List.Item key={p}>{p}</List.Item>
              ))}
            </List>
          </Alert>
        )}
      </Stack>
    </Paper>
  );
}

/** One requested name with the workspace SAN policy's verdict, and the rule when it is refused. */
function SanVerdictItem({ verdict }: { verdict: SanVerdict }) {
  return (
    <List.Item data-testid="san-verdict" data-allowed={verdict.allowed ? 'yes' : 'no'}>
      <Group gap={6} wrap="nowrap" align="flex-start">
        <Badge color={verdict.allowed ? 'teal' : 'red'} variant="light" style={{ flexShrink: 0 }}>
          {verdict.allowed ? 'allowed' : 'refused'}
        </Badge>
        <div>
          <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
            {sanText(verdict)}
          </Text>
          {verdict.rule && (
            <Text size="xs" c="red.9" data-testid="san-rule">
              {verdict.rule}
            </Text>
          )}
        </div>
      </Group>
    </List.Item>
  );
}

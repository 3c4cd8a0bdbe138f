import {
  ActionIcon,
  Alert,
  Button,
  Checkbox,
  Code,
  Grid,
  Group,
  List,
  Modal,
  NativeSelect,
  SegmentedControl,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useMemo, useState } from 'react';
import { KNOWN_RESOURCE_KINDS } from '../../../shared/policy/describe.ts';
import { resolveContainerAccess } from '../../../shared/policy/labels.ts';
import {
  DEFAULT_CONTAINER_TOKEN_TTL_SECS,
  LABEL_API_SCOPES,
  LABEL_API_TOKEN_TTL,
  LABEL_DAEMON_SOCKET,
  LABEL_DOCKER_SOCKET,
  POLICY_LABELS,
  formatScope,
  type PermissionLevel,
} from '../../../shared/policy/scopes.ts';
import { SEVERITY_COLORS } from '../common/common.tsx';
import {
  accessDiff,
  newKey,
  scopeRowProblems,
  scopeRowsOf,
  scopesValueOf,
  TTL_UNITS,
  ttlDraftOf,
  ttlSecsOf,
  type IdMode,
  type ScopeRow,
  type TtlDraft,
  type TtlUnit,
} from './policy-model.ts';
import { Tag } from '../tokens/TokenScopes.tsx';
import { TtlScale } from './TtlScale.tsx';

interface Row {
  key: string;
  value: string;
}

function toRows(labels: Record<string, string>): Row[] {
  return Object.entries(labels).map(([key, value]) => ({ key, value }));
}

/** Raw form: one `key=value` per line; the first '=' splits, so values may contain '='. */
export function rowsToRaw(rows: Row[]): string {
  return rows.map((r) => `${r.key}=${r.value}`).join('\n');
}

export function rawToRows(raw: string): { rows: Row[]; problems: string[] } {
  const rows: Row[] = [];
  const problems: string[] = [];
  raw.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push(`line ${i + 1}: expected key=value`);
      return;
    }
    rows.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1) });
  });
  return { rows, problems };
}

function rowsToLabels(rows: Row[]): { labels: Record<string, string>; problems: string[] } {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  for (const r of rows) {
    if (r.key.trim() === '') {
      problems.push('a label has an empty key');
      continue;
    }
    if (/\s/.test(r.key)) problems.push(`label key "${r.key}" contains whitespace`);
    if (r.key in labels) problems.push(`label "${r.key}" appears twice`);
    labels[r.key] = r.value;
  }
  return { labels, problems };
}

/** The value of `key` in the rows (the last one wins, as in the label map). */
function valueIn(rows: Row[], key: string): string | undefined {
  let value: string | undefined;
  for (const r of rows) if (r.key === key) value = r.value;
  return value;
}

/** The rows with `key` set to `value` (in place, or appended), or removed when `value` is undefined. */
function withLabel(rows: Row[], key: string, value: string | undefined): Row[] {
  if (value === undefined) return rows.filter((r) => r.key !== key);
  return rows.some((r) => r.key === key)
    ? rows.map((r) => (r.key === key ? { ...r, value } : r))
    : [...rows, { key, value }];
}

const CUSTOM = '__custom__';
const LEVELS: PermissionLevel[] = ['read', 'execute', 'write'];

const DAEMON_RISK =
  'Critical: bind-mounts the host daemon socket, which treats every caller as admin. The container can do anything the daemon can, whatever its scopes say.';
const DOCKER_RISK =
  "Medium: mounts a Docker Engine API socket that acts as the container's token. It can do only what the scopes allow, but container or image write lets the workload create containers and build or push images.";

function ScopeRowEditor({
  row,
  index,
  deployment,
  customKind,
  onChange,
  onCustomKind,
  onRemove,
}: {
  row: ScopeRow;
  index: number;
  deployment: string;
  customKind: boolean;
  onChange: (row: ScopeRow) => void;
  onCustomKind: (custom: boolean) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  if (row.invalid !== undefined) {
    return (
      <Table.Tr data-testid="scope-row">
        <Table.Td colSpan={3}>
          <Text size="sm">
            <Tag tint="red">skipped</Tag>
            The daemon skips <Code>{row.invalid}</Code>: it is not <Code>kind:id:level</Code>.
          </Text>
        </Table.Td>
        <Table.Td>
          <ActionIcon variant="subtle" color="red" aria-label={`Remove scope ${n}`} onClick={onRemove}>
            ✕
          </ActionIcon>
        </Table.Td>
      </Table.Tr>
    );
  }
  const known = (KNOWN_RESOURCE_KINDS as readonly string[]).includes(row.kind);
  const custom = customKind || (!known && row.kind !== '');
  return (
    <Table.Tr data-testid="scope-row">
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          <NativeSelect
            aria-label={`Kind of scope ${n}`}
            value={custom ? CUSTOM : row.kind}
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (v === CUSTOM) {
                onCustomKind(true);
                onChange({ ...row, kind: '' });
              } else {
                onCustomKind(false);
                onChange({ ...row, kind: v });
              }
            }}
            data={[
              ...(row.kind === '' && !custom ? [{ value: '', label: 'Choose…' }] : []),
              ...KNOWN_RESOURCE_KINDS.map((k) => ({ value: k, label: k })),
              { value: CUSTOM, label: 'custom…' },
            ]}
          />
          {custom && (
            <TextInput
              aria-label={`Custom kind of scope ${n}`}
              placeholder="kind"
              value={row.kind}
              onChange={(e) => onChange({ ...row, kind: e.currentTarget.value })}
              w={120}
            />
          )}
        </Group>
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          <NativeSelect
            aria-label={`Id of scope ${n}`}
            value={row.idMode}
            onChange={(e) => onChange({ ...row, idMode: e.currentTarget.value as IdMode })}
            data={[
              { value: 'own', label: `this deployment (${deployment})` },
              { value: 'any', label: 'every id (*)' },
              { value: 'named', label: 'a named id…' },
            ]}
          />
          {row.idMode === 'named' && (
            <TextInput
              aria-label={`Named id of scope ${n}`}
              placeholder="id"
              value={row.id}
              onChange={(e) => onChange({ ...row, id: e.currentTarget.value })}
              w={130}
            />
          )}
        </Group>
      </Table.Td>
      <Table.Td>
        <NativeSelect
          aria-label={`Level of scope ${n}`}
          value={row.level}
          onChange={(e) => onChange({ ...row, level: e.currentTarget.value as PermissionLevel })}
          data={(row.level === 'none' ? (['none', ...LEVELS] as PermissionLevel[]) : LEVELS).map((l) => ({
            value: l,
            label: l,
          }))}
        />
      </Table.Td>
      <Table.Td>
        <ActionIcon variant="subtle" color="red" aria-label={`Remove scope ${n}`} onClick={onRemove}>
          ✕
        </ActionIcon>
      </Table.Td>
    </Table.Tr>
  );
}

export interface LabelEditorProps {
  deployment: string;
  service: string;
  labels: Record<string, string>;
  saving: boolean;
  onSave: (labels: Record<string, string>) => void;
}

/**
 * The policy editor: scopes as rows of pickers, the lifetime with units on a scale, the two
 * sockets as switches with their risk, the service's other labels, and the raw `key=value` view.
 * All of them edit one state, the label text, which is exactly what the daemon parses: the
 * structured controls write it through the daemon's grammar (policy-model.ts), and the daemon's
 * own resolution (shared/policy/labels.ts) runs live on it. Before saving, the review shows what
 * the change grants and removes beside the text diff. The main process re-validates on save.
 */
export function LabelEditor({ deployment, service, labels, saving, onSave }: LabelEditorProps) {
  const [rows, setRows] = useState<Row[]>(() => toRows(labels));
  const [mode, setMode] = useState<'structured' | 'raw'>('structured');
  const [raw, setRaw] = useState(() => rowsToRaw(toRows(labels)));
  const [rawProblems, setRawProblems] = useState<string[]>([]);
  const [reviewing, setReviewing] = useState(false);
  const [scopeRows, setScopeRows] = useState<ScopeRow[]>(() =>
    labels[LABEL_API_SCOPES] === undefined ? [] : scopeRowsOf(labels[LABEL_API_SCOPES], deployment),
  );
  const [customKinds, setCustomKinds] = useState<Set<number>>(() => new Set());
  const [ttlDraft, setTtlDraft] = useState<TtlDraft>(() => ttlDraftOf(labels[LABEL_API_TOKEN_TTL]));
  const [ttlTouched, setTtlTouched] = useState(false);

  const { labels: draft, problems } = rowsToLabels(rows);
  const access = useMemo(() => resolveContainerAccess(deployment, draft), [deployment, draft]);
  const before = useMemo(() => resolveContainerAccess(deployment, labels), [deployment, labels]);
  const changes = useMemo(() => {
    const keys = [...new Set([...Object.keys(labels), ...Object.keys(draft)])].sort();
    return keys.filter((k) => labels[k] !== draft[k]).map((k) => ({ key: k, before: labels[k], after: draft[k] }));
  }, [labels, draft]);
  const diff = useMemo(() => accessDiff(before, access), [before, access]);
  const ttlSecs = ttlSecsOf(ttlDraft);
  const editorProblems = [
    ...scopeRowProblems(scopeRows),
    ...(ttlTouched && draft[LABEL_API_TOKEN_TTL] !== undefined && ttlSecs === null
      ? ['Token lifetime: enter a whole number above 0']
      : []),
  ];
  const blocked = problems.length > 0 || rawProblems.length > 0 || editorProblems.length > 0;

  /** A change from the raw view or the other labels: the structured views follow the text. */
  const resync = (next: Row[]) => {
    const scopes = valueIn(next, LABEL_API_SCOPES);
    if (scopes !== valueIn(rows, LABEL_API_SCOPES)) {
      setScopeRows(scopes === undefined ? [] : scopeRowsOf(scopes, deployment));
      setCustomKinds(new Set());
    }
    const ttl = valueIn(next, LABEL_API_TOKEN_TTL);
    if (ttl !== valueIn(rows, LABEL_API_TOKEN_TTL)) {
      setTtlDraft(ttlDraftOf(ttl));
      setTtlTouched(false);
    }
  };
  const updateRows = (next: Row[]) => {
    resync(next);
    setRows(next);
    setRaw(rowsToRaw(next));
  };
  const updateRaw = (text: string) => {
    setRaw(text);
    const parsed = rawToRows(text);
    setRawProblems(parsed.problems);
    resync(parsed.rows);
    setRows(parsed.rows);
  };
  /** A change from a structured control: it writes the label, and keeps its own draft. */
  const setLabel = (key: string, value: string | undefined) => {
    const next = withLabel(rows, key, value);
    setRows(next);
    setRaw(rowsToRaw(next));
  };
  const updateScopes = (next: ScopeRow[]) => {
    setScopeRows(next);
    // Without entries the label would be blank, which the daemon ignores: no label, the defaults.
    setLabel(LABEL_API_SCOPES, next.length === 0 ? undefined : scopesValueOf(next, deployment));
  };
  const updateTtl = (next: TtlDraft) => {
    setTtlDraft(next);
    setTtlTouched(true);
    const secs = ttlSecsOf(next);
    if (secs !== null) setLabel(LABEL_API_TOKEN_TTL, String(secs));
  };
  const setSwitch = (key: string, on: boolean) => {
    // Off removes a label the service did not have, so switching back and forth changes nothing.
    setLabel(key, on ? 'true' : labels[key] === undefined ? undefined : 'false');
  };

  const scopesLabel = draft[LABEL_API_SCOPES];
  const ttlLabel = draft[LABEL_API_TOKEN_TTL];
  const otherRows = rows
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => !(POLICY_LABELS as readonly string[]).includes(r.key));

  return (
    <Stack gap="sm" data-testid="policy-editor">
      <Group justify="space-between">
        <Title order={2} size="h4">
          Labels of {service}
        </Title>
        <SegmentedControl
          aria-label="Label editor view"
          value={mode}
          onChange={(v) => setMode(v as 'structured' | 'raw')}
          data={[
            { label: 'Structured', value: 'structured' },
            { label: 'Raw', value: 'raw' },
          ]}
        />
      </Group>
      {mode === 'structured' ? (
        <Stack gap="md">
          <section aria-labelledby="policy-scopes">
            <Title order={3} size="h5" id="policy-scopes">
              Scopes <Code>{LABEL_API_SCOPES}</Code>
            </Title>
            {scopesLabel === undefined ? (
              <Stack gap={4} mt={4}>
                <Text size="sm">
                  No scopes label: the daemon applies ZLayer&apos;s defaults,{' '}
                  {access.scopes.map((s) => (
                    <Code key={formatScope(s)}>{formatScope(s)}</Code>
                  ))}{' '}
                  (write on every container and image).
                </Text>
                <Group>
                  <Button
                    variant="light"
                    size="xs"
                    onClick={() => updateScopes(scopeRowsOf(access.scopes.map(formatScope).join(', '), deployment))}
                  >
                    Set explicit scopes
                  </Button>
                </Group>
              </Stack>
            ) : (
              <Table withRowBorders={false} aria-label="Scopes">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Kind</Table.Th>
                    <Table.Th>Id</Table.Th>
                    <Table.Th>Level</Table.Th>
                    <Table.Th>
                      <VisuallyHidden>Remove</VisuallyHidden>
                    </Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {scopeRows.map((row, i) => (
                    <ScopeRowEditor
                      key={row.key}
                      row={row}
                      index={i}
                      deployment={deployment}
                      customKind={customKinds.has(row.key)}
                      onCustomKind={(custom) =>
                        setCustomKinds((set) => {
                          const next = new Set(set);
                          if (custom) next.add(row.key);
                          else next.delete(row.key);
                          return next;
                        })
                      }
                      onChange={(changed) => updateScopes(scopeRows.map((r) => (r.key === row.key ? changed : r)))}
                      onRemove={() => updateScopes(scopeRows.filter((r) => r.key !== row.key))}
                    />
                  ))}
                </Table.Tbody>
              </Table>
            )}
            {scopesLabel !== undefined && (
              <Group mt={4}>
                <Button
                  variant="light"
                  size="xs"
                  onClick={() =>
                    updateScopes([
                      ...scopeRows,
                      { key: newKey(), kind: 'deployment', idMode: 'own', id: '', level: 'read' },
                    ])
                  }
                >
                  Add scope
                </Button>
                <Button variant="subtle" size="xs" onClick={() => updateScopes([])}>
                  Use ZLayer&apos;s defaults
                </Button>
              </Group>
            )}
          </section>

          <section aria-labelledby="policy-ttl">
            <Title order={3} size="h5" id="policy-ttl">
              Token lifetime <Code>{LABEL_API_TOKEN_TTL}</Code>
            </Title>
            <Checkbox
              mt={4}
              label={`Use the daemon's default (${DEFAULT_CONTAINER_TOKEN_TTL_SECS / 3600} h)`}
              checked={ttlLabel === undefined}
              onChange={(e) => {
                if (e.currentTarget.checked) {
                  setTtlTouched(false);
                  setLabel(LABEL_API_TOKEN_TTL, undefined);
                } else {
                  const start: TtlDraft = ttlSecs === null ? { amount: '24', unit: 'h' } : ttlDraft;
                  setTtlDraft(start);
                  setTtlTouched(false);
                  setLabel(LABEL_API_TOKEN_TTL, String(ttlSecsOf(start) ?? DEFAULT_CONTAINER_TOKEN_TTL_SECS));
                }
              }}
            />
            {ttlLabel !== undefined && (
              <Group mt={6} align="flex-end">
                <TextInput
                  label="Lifetime"
                  inputMode="numeric"
                  value={ttlDraft.amount}
                  onChange={(e) => updateTtl({ ...ttlDraft, amount: e.currentTarget.value.trim() })}
                  w={110}
                />
                <NativeSelect
                  label="Unit"
                  value={ttlDraft.unit}
                  onChange={(e) => updateTtl({ ...ttlDraft, unit: e.currentTarget.value as TtlUnit })}
                  data={TTL_UNITS.map((u) => ({ value: u.unit, label: u.label }))}
                />
                {ttlSecsOf(ttlDraftOf(ttlLabel)) === null && !ttlTouched && (
                  <Text size="sm">
                    The label holds <Code>{ttlLabel}</Code>, which the daemon ignores (it uses 24 h): enter a lifetime.
                  </Text>
                )}
              </Group>
            )}
            <TtlScale secs={access.ttl_secs} label="The daemon mints for" />
          </section>

          <section aria-labelledby="policy-sockets">
            <Title order={3} size="h5" id="policy-sockets">
              Sockets
            </Title>
            <Stack gap="xs" mt={4}>
              <Group wrap="nowrap" align="flex-start">
                <Switch
                  label="Daemon socket"
                  checked={access.mount_socket}
                  onChange={(e) => setSwitch(LABEL_DAEMON_SOCKET, e.currentTarget.checked)}
                  aria-describedby="daemon-socket-risk"
                  miw={170}
                />
                <Text size="sm" id="daemon-socket-risk">
                  <Code>{LABEL_DAEMON_SOCKET}</Code> {DAEMON_RISK}
                </Text>
              </Group>
              <Group wrap="nowrap" align="flex-start">
                <Switch
                  label="Docker socket"
                  checked={access.docker_socket === true}
                  onChange={(e) => setSwitch(LABEL_DOCKER_SOCKET, e.currentTarget.checked)}
                  aria-describedby="docker-socket-risk"
                  miw={170}
                />
                <Text size="sm" id="docker-socket-risk">
                  <Code>{LABEL_DOCKER_SOCKET}</Code> {DOCKER_RISK}
                </Text>
              </Group>
            </Stack>
          </section>

          <section aria-labelledby="policy-other">
            <Title order={3} size="h5" id="policy-other">
              Other labels
            </Title>
            {otherRows.length > 0 && (
              <Table withRowBorders={false}>
                <Table.Tbody>
                  {otherRows.map(({ r: row, i }) => (
                    <Table.Tr key={i}>
                      <Table.Td w="40%">
                        <TextInput
                          aria-label={`Label key ${i + 1}`}
                          value={row.key}
                          onChange={(e) =>
                            updateRows(rows.map((r, j) => (j === i ? { ...r, key: e.currentTarget.value } : r)))
                          }
                        />
                      </Table.Td>
                      <Table.Td>
                        <TextInput
                          aria-label={`Value of ${row.key || `label ${i + 1}`}`}
                          value={row.value}
                          onChange={(e) =>
                            updateRows(rows.map((r, j) => (j === i ? { ...r, value: e.currentTarget.value } : r)))
                          }
                        />
                      </Table.Td>
                      <Table.Td w={40}>
                        <ActionIcon
                          variant="subtle"
                          color="red"
                          aria-label={`Remove ${row.key || `label ${i + 1}`}`}
                          onClick={() => updateRows(rows.filter((_, j) => j !== i))}
                        >
                          ✕
                        </ActionIcon>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            <Button mt={4} variant="light" size="xs" onClick={() => updateRows([...rows, { key: '', value: '' }])}>
              Add label
            </Button>
          </section>
        </Stack>
      ) : (
        <Textarea
          label="Raw labels"
          description="One key=value per line: exactly the text the daemon reads."
          autosize
          minRows={4}
          styles={{ input: { fontFamily: 'monospace' } }}
          value={raw}
          onChange={(e) => updateRaw(e.currentTarget.value)}
        />
      )}
      <Group>
        <Button onClick={() => setReviewing(true)} disabled={changes.length === 0 || blocked} loading={saving}>
          Review and save
        </Button>
        {changes.length > 0 && <Text size="sm">{changes.length} unsaved change(s)</Text>}
      </Group>

      <Stack gap={4} aria-label="Diagnostics" role="region">
        <Text fw={600} size="sm">
          Diagnostics
        </Text>
        {[...rawProblems, ...problems, ...editorProblems].map((p) => (
          <Text key={p} c="red.9" size="sm" data-testid="editor-problem">
            {p}
          </Text>
        ))}
        {access.diagnostics.length === 0 &&
        problems.length === 0 &&
        rawProblems.length === 0 &&
        editorProblems.length === 0 ? (
          <Text size="sm" data-testid="no-diagnostics">
            No diagnostics: the daemon reads every label as written.
          </Text>
        ) : (
          <List size="sm" spacing={2}>
            {access.diagnostics.map((d, i) => (
              <List.Item key={i} data-testid="diagnostic">
                <Tag tint={SEVERITY_COLORS[d.severity]}>{d.severity}</Tag>
                <Code>{d.label}</Code> {d.message}
              </List.Item>
            ))}
          </List>
        )}
      </Stack>

      <Modal
        opened={reviewing}
        onClose={() => setReviewing(false)}
        title={`Save labels of ${deployment}/${service}?`}
        size="xl"
        closeButtonProps={{ 'aria-label': 'Close' }}
      >
        <Grid>
          <Grid.Col span={{ base: 12, sm: 5 }}>
            <Stack gap="xs" role="region" aria-label="Access changes">
              <Text fw={700} size="sm">
                What the change grants
              </Text>
              {diff.grants.length === 0 ? (
                <Text size="sm">Nothing new.</Text>
              ) : (
                <List size="sm" data-testid="access-grants">
                  {diff.grants.map((g) => (
                    <List.Item key={g}>{g}</List.Item>
                  ))}
                </List>
              )}
              <Text fw={700} size="sm">
                What it removes
              </Text>
              {diff.removes.length === 0 ? (
                <Text size="sm">Nothing.</Text>
              ) : (
                <List size="sm" data-testid="access-removes">
                  {diff.removes.map((g) => (
                    <List.Item key={g}>{g}</List.Item>
                  ))}
                </List>
              )}
              {diff.other.map((o) => (
                <Text size="sm" key={o}>
                  {o}
                </Text>
              ))}
              {access.mount_socket && (
                <Alert color="red" title="Full daemon admin">
                  The daemon socket stays or becomes mounted: the container can do anything the daemon can.
                </Alert>
              )}
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, sm: 7 }}>
            <Table aria-label="Label changes">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Label</Table.Th>
                  <Table.Th>Before</Table.Th>
                  <Table.Th>After</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {changes.map((c) => (
                  <Table.Tr key={c.key}>
                    <Table.Td>
                      <Code>{c.key}</Code>
                    </Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>
                      <del>{c.before ?? '(absent)'}</del>
                    </Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>
                      <ins>{c.after ?? '(removed)'}</ins>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Grid.Col>
        </Grid>
        <Group justify="flex-end" mt="md">
          <Button variant="default" onClick={() => setReviewing(false)}>
            Cancel
          </Button>
          <Button
            onClick={() => {
              setReviewing(false);
              onSave(draft);
            }}
          >
            Save labels
          </Button>
        </Group>
      </Modal>
    </Stack>
  );
}

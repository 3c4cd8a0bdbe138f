import { ActionIcon, Badge, Button, Code, Group, List, Modal, SegmentedControl, Stack, Table, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import { resolveContainerAccess } from '../../../shared/policy/labels.ts';
import { SEVERITY_COLORS } from './common.tsx';

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

export interface LabelEditorProps {
  deployment: string;
  service: string;
  labels: Record<string, string>;
  saving: boolean;
  onSave: (labels: Record<string, string>) => void;
}

/**
 * Structured and raw views of one service's labels, kept in sync, with the daemon's own
 * resolution run live (the shared policy code) and a diff before saving. The main process
 * re-validates on save: it stays authoritative.
 */
export function LabelEditor({ deployment, service, labels, saving, onSave }: LabelEditorProps) {
  const [rows, setRows] = useState<Row[]>(() => toRows(labels));
  const [mode, setMode] = useState<'structured' | 'raw'>('structured');
  const [raw, setRaw] = useState(() => rowsToRaw(toRows(labels)));
  const [rawProblems, setRawProblems] = useState<string[]>([]);
  const [reviewing, setReviewing] = useState(false);

  const { labels: draft, problems } = rowsToLabels(rows);
  const access = useMemo(() => resolveContainerAccess(deployment, draft), [deployment, draft]);
  const changes = useMemo(() => {
    const keys = [...new Set([...Object.keys(labels), ...Object.keys(draft)])].sort();
    return keys.filter((k) => labels[k] !== draft[k]).map((k) => ({ key: k, before: labels[k], after: draft[k] }));
  }, [labels, draft]);
  const blocked = problems.length > 0 || rawProblems.length > 0;

  const updateRows = (next: Row[]) => {
    setRows(next);
    setRaw(rowsToRaw(next));
  };
  const updateRaw = (text: string) => {
    setRaw(text);
    const parsed = rawToRows(text);
    setRawProblems(parsed.problems);
    setRows(parsed.rows);
  };

  return (
    <Stack gap="sm" aria-label={`Labels of ${service}`}>
      <Group justify="space-between">
        <Title order={2} size="h4">Labels</Title>
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
        <Table withRowBorders={false}>
          <Table.Tbody>
            {rows.map((row, i) => (
              <Table.Tr key={i}>
                <Table.Td w="40%">
                  <TextInput
                    aria-label={`Label key ${i + 1}`}
                    value={row.key}
                    onChange={(e) => updateRows(rows.map((r, j) => (j === i ? { ...r, key: e.currentTarget.value } : r)))}
                  />
                </Table.Td>
                <Table.Td>
                  <TextInput
                    aria-label={`Value of ${row.key || `label ${i + 1}`}`}
                    value={row.value}
                    onChange={(e) => updateRows(rows.map((r, j) => (j === i ? { ...r, value: e.currentTarget.value } : r)))}
                  />
                </Table.Td>
                <Table.Td w={40}>
                  <ActionIcon variant="subtle" color="red" aria-label={`Remove ${row.key || `label ${i + 1}`}`} onClick={() => updateRows(rows.filter((_, j) => j !== i))}>
                    ✕
                  </ActionIcon>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : (
        <Textarea
          aria-label="Raw labels"
          autosize
          minRows={4}
          styles={{ input: { fontFamily: 'monospace' } }}
          value={raw}
          onChange={(e) => updateRaw(e.currentTarget.value)}
        />
      )}
      <Group>
        {mode === 'structured' && (
          <Button variant="light" onClick={() => updateRows([...rows, { key: '', value: '' }])}>
            Add label
          </Button>
        )}
        <Button onClick={() => setReviewing(true)} disabled={changes.length === 0 || blocked} loading={saving}>
          Review and save
        </Button>
        {changes.length > 0 && <Text size="sm" c="dimmed">{changes.length} unsaved change(s)</Text>}
      </Group>

      <Stack gap={4} aria-label="Diagnostics" role="region">
        <Text fw={600} size="sm">
          Diagnostics
        </Text>
        {[...rawProblems, ...problems].map((p) => (
          <Text key={p} c="red" size="sm">
            {p}
          </Text>
        ))}
        {access.diagnostics.length === 0 && problems.length === 0 && rawProblems.length === 0 ? (
          <Text size="sm" c="teal" data-testid="no-diagnostics">
            No diagnostics: the daemon reads every label as written.
          </Text>
        ) : (
          <List size="sm" spacing={2}>
            {access.diagnostics.map((d, i) => (
              <List.Item key={i} data-testid="diagnostic">
                <Badge size="xs" color={SEVERITY_COLORS[d.severity]} mr={6}>
                  {d.severity}
                </Badge>
                <Code>{d.label}</Code> {d.message}
              </List.Item>
            ))}
          </List>
        )}
      </Stack>

      <Modal opened={reviewing} onClose={() => setReviewing(false)} title={`Save labels of ${deployment}/${service}?`} size="lg">
        <Stack>
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
                  <Table.Td c="red">{c.before ?? '(absent)'}</Table.Td>
                  <Table.Td c="teal">{c.after ?? '(removed)'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group justify="flex-end">
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
        </Stack>
      </Modal>
    </Stack>
  );
}

import { Alert, Badge, Button, Grid, Group, NavLink, Paper, ScrollArea, Stack, Text } from '@mantine/core';
import { useCallback, useEffect, useState, type DragEvent, type KeyboardEvent } from 'react';
import { call } from '../ipc.ts';
import { useAction, useChannel } from '../hooks.ts';
import { ErrorAlert, Muted } from '../common/common.tsx';
import { LabelEditor } from './LabelEditor.tsx';
import { PolicyCard } from './PolicyCard.tsx';

function hashParams(): URLSearchParams {
  return new URLSearchParams(window.location.hash.split('?')[1] ?? '');
}

/** `#/deployments?service=<deployment>/<service>` selects that service. */
function selectionFromHash(): { deployment: string; service: string } | null {
  const value = hashParams().get('service');
  const slash = value ? value.indexOf('/') : -1;
  if (!value || slash <= 0) return null;
  return { deployment: value.slice(0, slash), service: value.slice(slash + 1) };
}

/** The tree row the address names (`?service=` or `?deployment=`), as a selector. */
function focusTargetFromHash(): string | null {
  const service = hashParams().get('service');
  if (service) return `[data-service="${CSS.escape(service)}"]`;
  const deployment = hashParams().get('deployment');
  return deployment ? `[data-deployment="${CSS.escape(deployment)}"]` : null;
}

export function DeploymentsPage() {
  const list = useChannel('deployments:list', {});
  const [selected, setSelected] = useState<{ deployment: string; service: string } | null>(selectionFromHash);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const toggle = (name: string) =>
    setCollapsed((c) => {
      const next = new Set(c);
      if (!next.delete(name)) next.add(name);
      return next;
    });
  const select = useCallback((s: { deployment: string; service: string }) => {
    setSelected(s);
    // The choice lives in the address, so the command palette (and Back) can jump to a service.
    const hash = `#/deployments?service=${encodeURIComponent(`${s.deployment}/${s.service}`)}`;
    if (window.location.hash !== hash) window.history.replaceState(null, '', hash);
  }, []);
  // A jump (command palette, a finding's link) names a row: open its deployment and focus it.
  const [focusTarget, setFocusTarget] = useState<string | null>(focusTargetFromHash);
  useEffect(() => {
    const onHash = () => {
      const fromHash = selectionFromHash();
      if (fromHash) setSelected(fromHash);
      setFocusTarget(focusTargetFromHash());
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const [message, setMessage] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  const importDialog = useAction(async () => {
    const result = await call('deployments:importDialog', { replace: false, folder: false });
    if (!result.cancelled) setMessage(`Imported ${result.imported.join(', ')}`);
    list.reload();
  });
  const importDropped = useAction(async (files: File[]) => {
    const texts = await Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() })));
    const result = await call('deployments:importTexts', { files: texts, replace: false });
    setMessage(`Imported ${result.imported.join(', ')}`);
    list.reload();
  });
  const exportSpec = useAction(async (name: string) => {
    const result = await call('deployments:export', { name });
    if (!result.cancelled) setMessage(`Saved ${name} to ${result.path}`);
  });
  // The editor works from the labels it opened with. When another admin or the CLI changes them
  // meanwhile (a pushed change reloads the list), the new labels are offered, not imposed: the
  // edits in progress stay until the admin chooses to load them.
  const [editorBase, setEditorBase] = useState<{ id: string; labels: Record<string, string> } | null>(null);
  const save = useAction(async (labels: Record<string, string>) => {
    if (!selected) return;
    const saved = await call('policy:setLabels', { ...selected, labels });
    setEditorBase({ id: `${selected.deployment}/${selected.service}`, labels: saved.labels });
    setMessage(`Saved labels of ${selected.deployment}/${selected.service}`);
    list.reload();
  });

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragging(false);
    const files = [...e.dataTransfer.files].filter((f) => /\.ya?ml$/i.test(f.name));
    if (files.length) void importDropped.run(files);
  };

  const deployments = list.data ?? [];

  // Besides Tab: ↑/↓ move between the rows of the tree, ← goes to (or closes) a deployment,
  // → opens one, Home/End jump to the first and last row.
  const onTreeKey = (e: KeyboardEvent<HTMLElement>) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    // The rows shown: every deployment, and the services of the open ones (even mid-animation).
    const rows = [...e.currentTarget.querySelectorAll<HTMLElement>('button[data-deployment], button[data-service]')].filter((b) => {
      const service = b.getAttribute('data-service');
      return service === null || !collapsed.has(service.split('/')[0]!);
    });
    const at = rows.indexOf(document.activeElement as HTMLElement);
    if (at < 0) return;
    const row = rows[at]!;
    const deployment = row.getAttribute('data-deployment');
    let next: HTMLElement | undefined;
    if (e.key === 'ArrowDown') next = rows[at + 1];
    else if (e.key === 'ArrowUp') next = rows[at - 1];
    else if (e.key === 'Home') next = rows[0];
    else if (e.key === 'End') next = rows[rows.length - 1];
    else if (e.key === 'ArrowRight' && deployment !== null && collapsed.has(deployment)) toggle(deployment);
    else if (e.key === 'ArrowLeft' && deployment !== null && !collapsed.has(deployment)) toggle(deployment);
    else if (e.key === 'ArrowLeft' && deployment === null) {
      const owner = row.getAttribute('data-service')?.split('/')[0];
      next = rows.find((r) => r.getAttribute('data-deployment') === owner);
    } else return;
    e.preventDefault();
    next?.focus();
  };
  useEffect(() => {
    if (!focusTarget || !list.data) return;
    const name = hashParams().get('deployment') ?? selectionFromHash()?.deployment;
    if (name && collapsed.has(name)) {
      setCollapsed((c) => new Set([...c].filter((n) => n !== name)));
      return;
    }
    const el = document.querySelector<HTMLElement>(focusTarget);
    if (el) {
      el.focus();
      setFocusTarget(null);
    }
  }, [focusTarget, list.data, collapsed]);
  const current = selected
    ? deployments.find((d) => d.name === selected.deployment)?.services.find((s) => s.name === selected.service)
    : undefined;
  const error = list.error ?? importDialog.error ?? importDropped.error ?? exportSpec.error ?? save.error;
  const currentId = selected ? `${selected.deployment}/${selected.service}` : null;
  const liveLabels = current?.policy.labels;
  useEffect(() => {
    if (currentId !== null && liveLabels !== undefined && editorBase?.id !== currentId) {
      setEditorBase({ id: currentId, labels: liveLabels });
    }
  }, [currentId, liveLabels, editorBase]);
  const baseLabels = editorBase !== null && editorBase.id === currentId ? editorBase.labels : liveLabels;
  // Not while the list reloads after our own save: the answer on screen is the one before it.
  const changedElsewhere = !list.loading && baseLabels !== undefined && liveLabels !== undefined && !sameLabels(baseLabels, liveLabels);

  return (
    <Stack>
      <Group>
        <Button onClick={() => void importDialog.run()} loading={importDialog.busy}>
          Import specs…
        </Button>
        {selected && (
          <Button variant="default" onClick={() => void exportSpec.run(selected.deployment)}>
            Export {selected.deployment}
          </Button>
        )}
      </Group>
      <ErrorAlert error={error} />
      {message && !error && (
        <Alert color="teal" role="status" withCloseButton onClose={() => setMessage(null)}>
          {message}
        </Alert>
      )}
      <Paper
        withBorder
        p="sm"
        role="region"
        aria-label="Drop ZLayer specs here"
        bg={dragging ? 'var(--mantine-color-blue-light)' : undefined}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <Muted>Drop .yaml deployment specs here to import them (all or nothing).</Muted>
      </Paper>
      <Grid>
        <Grid.Col span={3}>
          <ScrollArea h="70vh">
            <nav aria-label="Deployments and services" onKeyDown={onTreeKey}>
              {deployments.length === 0 && !list.loading && <Muted>No deployments yet. Import a ZLayer spec.</Muted>}
              {deployments.map((d) => {
                const open = !collapsed.has(d.name);
                return (
                  // A button, not a bare <a>: every row of the tree is reachable with Tab and toggles with Enter/Space.
                  <NavLink
                    key={d.name}
                    component="button"
                    label={d.name}
                    description={`${d.services.length} services`}
                    opened={open}
                    onChange={() => toggle(d.name)}
                    aria-expanded={open}
                    childrenOffset={12}
                    data-deployment={d.name}
                  >
                    {d.services.map((s) => {
                      const worst = s.policy.findings[0]?.severity;
                      const active = selected?.deployment === d.name && selected.service === s.name;
                      const diagnostics = s.policy.access.diagnostics.filter((x) => x.severity !== 'info').length;
                      return (
                        // The badges sit beside the button, not in it, so its name holds its visible label;
                        // what they say is in the name too.
                        <div key={s.name} style={{ position: 'relative' }}>
                          <NavLink
                            component="button"
                            aria-label={[
                              `${d.name}/${s.name}`,
                              diagnostics > 0 ? `${diagnostics} diagnostics` : '',
                              worst ? `${s.policy.findings.length} findings, worst ${worst}` : '',
                            ]
                              .filter(Boolean)
                              .join(', ')}
                            label={s.name}
                            active={active}
                            aria-current={active ? 'true' : undefined}
                            data-service={`${d.name}/${s.name}`}
                            onClick={() => select({ deployment: d.name, service: s.name })}
                            pr={72}
                          />
                          <Group
                            gap={4}
                            aria-hidden="true"
                            style={{ position: 'absolute', right: 8, top: '50%', transform: 'translateY(-50%)', pointerEvents: 'none' }}
                          >
                            {diagnostics > 0 && (
                              <Badge size="xs" color="orange">
                                diag
                              </Badge>
                            )}
                            {worst && (
                              <Badge size="xs" color={worst === 'critical' ? 'red' : worst === 'high' ? 'orange' : 'gray'}>
                                {s.policy.findings.length}
                              </Badge>
                            )}
                          </Group>
                        </div>
                      );
                    })}
                  </NavLink>
                );
              })}
            </nav>
          </ScrollArea>
        </Grid.Col>
        <Grid.Col span={9}>
          {current && selected ? (
            <Stack>
              <PolicyCard policy={current.policy} />
              {changedElsewhere && (
                <Alert color="yellow" title="Changed elsewhere" data-testid="labels-changed-elsewhere">
                  <Text size="sm" mb="xs">
                    The labels of {selected.deployment}/{selected.service} were changed by another admin or the CLI while
                    you had them open. Saving now would replace that change.
                  </Text>
                  <Button size="xs" variant="default" onClick={() => currentId !== null && liveLabels && setEditorBase({ id: currentId, labels: liveLabels })}>
                    Load the new labels (discards your unsaved edits)
                  </Button>
                </Alert>
              )}
              <Paper withBorder p="md" data-focus-anchor="label-editor">
                <LabelEditor
                  key={`${selected.deployment}/${selected.service}/${JSON.stringify(baseLabels ?? current.policy.labels)}`}
                  deployment={selected.deployment}
                  service={selected.service}
                  labels={baseLabels ?? current.policy.labels}
                  saving={save.busy}
                  onSave={(labels) => void save.run(labels)}
                />
              </Paper>
            </Stack>
          ) : (
            <Text c="dimmed">Choose a service to see its token policy.</Text>
          )}
        </Grid.Col>
      </Grid>
    </Stack>
  );
}

/** Same keys and values, whatever their order. */
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

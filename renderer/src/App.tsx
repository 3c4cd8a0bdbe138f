import { AppShell, Badge, Group, MantineProvider, NavLink, Progress, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { lazy, Suspense, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { ChannelOutput } from '../../shared/ipc/contract.ts';
import type { Settings } from '../../shared/ipc/contract/settings.ts';
import { DEFAULT_SETTINGS } from '../../shared/ipc/contract/settings-defaults.ts';
import { CommandPalette } from './common/CommandPalette.tsx';
import { PublishingCard } from './serve/PublishingCard.tsx';
import { VaultGate } from './workspace/VaultGate.tsx';
import { installFocusReturn } from './focus-return.ts';
import { useProgress } from './hooks.ts';
import { call } from './ipc.ts';
import { cssVariablesResolver, theme } from './theme.ts';
import { PAGE_LOADERS, warmPage } from './warm.ts';

// One chunk per page, loaded when first shown (and warmed as soon as it is navigated to).
const AuditPage = lazy(() => PAGE_LOADERS.audit().then((m) => ({ default: m.AuditPage })));
const DeploymentsPage = lazy(() => PAGE_LOADERS.deployments().then((m) => ({ default: m.DeploymentsPage })));
const InspectorPage = lazy(() => PAGE_LOADERS.inspector().then((m) => ({ default: m.InspectorPage })));
const KeysPage = lazy(() => PAGE_LOADERS.keys().then((m) => ({ default: m.KeysPage })));
const MatrixPage = lazy(() => PAGE_LOADERS.matrix().then((m) => ({ default: m.MatrixPage })));
const OverviewPage = lazy(() => PAGE_LOADERS.overview().then((m) => ({ default: m.OverviewPage })));
const SettingsPage = lazy(() => PAGE_LOADERS.settings().then((m) => ({ default: m.SettingsPage })));
const TokensPage = lazy(() => PAGE_LOADERS.tokens().then((m) => ({ default: m.TokensPage })));
const WorkersPage = lazy(() => PAGE_LOADERS.workers().then((m) => ({ default: m.WorkersPage })));


type VaultStatus = ChannelOutput<'vault:status'>;

export interface PageContext {
  settings: Settings;
  setSettings: (s: Settings) => void;
  vault: VaultStatus | null;
  setVault: (s: VaultStatus) => void;
  navigate: (id: string) => void;
}

export interface PageDef {
  id: string;
  label: string;
  render: (ctx: PageContext) => ReactNode;
}

export const PAGES: PageDef[] = [
  { id: 'overview', label: 'Overview', render: (c) => <OverviewPage settings={c.settings} /> },
  { id: 'deployments', label: 'Deployments', render: () => <DeploymentsPage /> },
  { id: 'matrix', label: 'Access matrix', render: () => <MatrixPage /> },
  { id: 'tokens', label: 'Tokens', render: () => <TokensPage /> },
  { id: 'inspector', label: 'Inspector', render: () => <InspectorPage /> },
  { id: 'workers', label: 'Workers & CA', render: () => <WorkersPage /> },
  { id: 'keys', label: 'Keys', render: (c) => <KeysPage vault={c.vault} onVaultChange={c.setVault} /> },
  { id: 'audit', label: 'Audit', render: () => <AuditPage /> },
  {
    id: 'settings',
    label: 'Settings',
    render: (c) => (
      <Stack>
        <SettingsPage settings={c.settings} onChange={c.setSettings} />
        <PublishingCard />
      </Stack>
    ),
  },
];

function pageFromHash(): string {
  const id = window.location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return PAGES.some((p) => p.id === id) ? id : 'overview';
}

warmPage(pageFromHash());

export function App() {
  const [pageId, setPageId] = useState(pageFromHash);
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  const [vault, setVault] = useState<VaultStatus | null>(null);
  const progress = useProgress();

  useEffect(() => installFocusReturn(), []);
  useEffect(() => {
    const onHash = () => {
      warmPage(pageFromHash());
      setPageId(pageFromHash());
    };
    window.addEventListener('hashchange', onHash);
    call('settings:get', {}).then(setSettings, () => undefined);
    call('vault:status', {}).then(setVault, () => undefined);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const navigate = useCallback((id: string) => {
    window.location.hash = `#/${id}`;
  }, []);

  const page = PAGES.find((p) => p.id === pageId) ?? PAGES[0]!;
  const ctx: PageContext = { settings, setSettings, vault, setVault, navigate };

  return (
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver} defaultColorScheme="auto" forceColorScheme={settings.theme === 'system' ? undefined : settings.theme}>
      <AppShell header={{ height: 52 }} navbar={{ width: 220, breakpoint: 0 }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between">
            <Text fw={700} size="lg" component="span">
              Castellan
            </Text>
            <Group gap="xs">
              <CommandPalette pages={PAGES} />
              {vault && (
                <Badge color={vault.unlocked ? 'teal' : 'yellow'} variant="light" data-testid="vault-badge">
                  {vault.initialized ? (vault.unlocked ? 'vault unlocked' : 'vault locked') : 'no vault'}
                </Badge>
              )}
              <Badge variant="light">credential authority</Badge>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" aria-label="Pages">
          <ScrollArea>
            <nav>
              {PAGES.map((p) => (
                <NavLink key={p.id} href={`#/${p.id}`} label={p.label} active={p.id === page.id} aria-current={p.id === page.id ? 'page' : undefined} />
              ))}
            </nav>
          </ScrollArea>
        </AppShell.Navbar>
        <AppShell.Main>
          {progress && (
            <div role="progressbar" aria-label={progress.label} aria-valuenow={progress.done} aria-valuemax={progress.total}>
              <Text size="xs">
                {progress.label} ({progress.done}/{progress.total})
              </Text>
              <Progress value={progress.total ? (100 * progress.done) / progress.total : 0} mb="sm" />
            </div>
          )}
          <VaultGate status={vault} onChange={setVault} />
          <Title order={1} size="h2" mb="md">
            {page.label}
          </Title>
          <Suspense fallback={<Text size="sm">Loading {page.label}…</Text>}>{page.render(ctx)}</Suspense>
        </AppShell.Main>
      </AppShell>
    </MantineProvider>
  );
}

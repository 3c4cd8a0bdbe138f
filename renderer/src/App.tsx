import { AppShell, Badge, Group, MantineProvider, NavLink, Progress, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { Suspense, useCallback, useEffect, useState, type ComponentType, type ReactNode } from 'react';
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
import { usePageModule, warmPage, type PageId, type PageModule } from './warm.ts';

// One chunk per page, loaded when first shown (and warmed as soon as it is navigated to).
const AuditPage = fromChunk('audit', (m) => m.AuditPage);
const DeploymentsPage = fromChunk('deployments', (m) => m.DeploymentsPage);
const InspectorPage = fromChunk('inspector', (m) => m.InspectorPage);
const KeysPage = fromChunk('keys', (m) => m.KeysPage);
const MatrixPage = fromChunk('matrix', (m) => m.MatrixPage);
const OverviewPage = fromChunk('overview', (m) => m.OverviewPage);
const SettingsPage = fromChunk('settings', (m) => m.SettingsPage);
const TokensPage = fromChunk('tokens', (m) => m.TokensPage);
const WorkersPage = fromChunk('workers', (m) => m.WorkersPage);

/** A page's component from its chunk; "Loading <page>…" until the chunk has loaded (usePageModule). */
function fromChunk<K extends PageId, P extends object>(id: K, pick: (m: PageModule<K>) => ComponentType<P>) {
  return function PageFromChunk(props: P) {
    const module = usePageModule(id);
    if (module === undefined) {
      return <Text size="sm">Loading {PAGES.find((p) => p.id === id)?.label ?? id}…</Text>;
    }
    const Page = pick(module);
    return <Page {...props} />;
  };
}

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

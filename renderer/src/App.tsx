import { AppShell, Badge, Group, MantineProvider, NavLink, ScrollArea, Text, Title, createTheme } from '@mantine/core';
import { useEffect, useState, type ReactNode } from 'react';
import { OverviewPage } from './pages/OverviewPage.tsx';

const theme = createTheme({ primaryColor: 'indigo', defaultRadius: 'sm' });

export interface PageDef {
  id: string;
  label: string;
  render: () => ReactNode;
}

function Placeholder({ title }: { title: string }) {
  return (
    <Text c="dimmed" role="status">
      {title} arrives with its issue.
    </Text>
  );
}

export const PAGES: PageDef[] = [
  { id: 'overview', label: 'Overview', render: () => <OverviewPage /> },
  { id: 'deployments', label: 'Deployments', render: () => <Placeholder title="Deployments" /> },
  { id: 'matrix', label: 'Access matrix', render: () => <Placeholder title="Access matrix" /> },
  { id: 'tokens', label: 'Tokens', render: () => <Placeholder title="Tokens" /> },
  { id: 'inspector', label: 'Inspector', render: () => <Placeholder title="Inspector" /> },
  { id: 'workers', label: 'Workers & CA', render: () => <Placeholder title="Workers & CA" /> },
  { id: 'keys', label: 'Keys', render: () => <Placeholder title="Keys" /> },
  { id: 'audit', label: 'Audit', render: () => <Placeholder title="Audit" /> },
  { id: 'settings', label: 'Settings', render: () => <Placeholder title="Settings" /> },
];

function pageFromHash(): string {
  const id = window.location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? id : 'overview';
}

export function App() {
  const [pageId, setPageId] = useState(pageFromHash);
  useEffect(() => {
    const onHash = () => setPageId(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const page = PAGES.find((p) => p.id === pageId) ?? PAGES[0]!;

  return (
    <MantineProvider theme={theme} defaultColorScheme="auto">
      <AppShell header={{ height: 52 }} navbar={{ width: 220, breakpoint: 0 }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between">
            <Title order={3}>Castellan</Title>
            <Badge variant="light">credential authority</Badge>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" aria-label="Pages">
          <ScrollArea>
            <nav>
              {PAGES.map((p) => (
                <NavLink
                  key={p.id}
                  href={`#/${p.id}`}
                  label={p.label}
                  active={p.id === page.id}
                  aria-current={p.id === page.id ? 'page' : undefined}
                />
              ))}
            </nav>
          </ScrollArea>
        </AppShell.Navbar>
        <AppShell.Main>
          <Title order={2} mb="md">
            {page.label}
          </Title>
          {page.render()}
        </AppShell.Main>
      </AppShell>
    </MantineProvider>
  );
}

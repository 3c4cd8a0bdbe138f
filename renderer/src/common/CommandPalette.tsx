/**
 * The command palette (Ctrl+K or ⌘K): jump to any page, deployment, service, token (by jti prefix
 * or container) or certificate (by node id, serial or subject). Also owns the `/` shortcut, which
 * focuses the page's search box.
 *
 * Keyboard: type to filter, ↑/↓ to move, Enter to go, Escape to close. The input is an ARIA
 * combobox whose options are announced through aria-activedescendant.
 */
import { Badge, Button, Group, Kbd, Modal, Stack, Text, TextInput, UnstyledButton } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ChannelOutput } from '../../../shared/ipc/contract.ts';
import { focusHandled, focusPageHeading } from '../focus-return.ts';
import { call } from '../ipc.ts';
import { fillPageSearch, focusPageSearch, isEditable } from '../page-search.ts';
import { shortJti } from '../tokens/jti.ts';

export interface PaletteItem {
  id: string;
  kind: 'page' | 'deployment' | 'service' | 'token' | 'certificate';
  label: string;
  detail?: string;
  run: () => void;
}

const KIND_LABELS: Record<PaletteItem['kind'], string> = {
  page: 'Page',
  deployment: 'Deployment',
  service: 'Service',
  token: 'Token',
  certificate: 'Certificate',
};

/** Results per remote kind (tokens, certificates). */
const REMOTE_LIMIT = 8;
const MAX_ITEMS = 40;

type Deployments = ChannelOutput<'deployments:list'>;
type TokenRows = ChannelOutput<'tokens:list'>['rows'];
type CertRows = ChannelOutput<'ca:certs'>['rows'];

/**
 * Goes to `hash` and, once that page shows (its h1 is the page's label), runs `focus`, or puts
 * focus on the h1 when there is none.
 */
function go(hash: string, focus: () => void = focusPageHeading): void {
  focusHandled();
  const pageId = hash.replace(/^#\/?/, '').split('?')[0];
  window.location.hash = hash;
  const deadline = Date.now() + 3000;
  const attempt = () => {
    const label = document.querySelector(`a[href="#/${pageId}"]`)?.textContent?.trim();
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1 && label && h1.textContent?.trim() === label) {
      focus();
      return;
    }
    if (Date.now() < deadline) requestAnimationFrame(attempt);
  };
  attempt();
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export function CommandPalette({ pages }: { pages: readonly { id: string; label: string }[] }) {
  const [opened, setOpened] = useState(false);
  const [jumping, setJumping] = useState(false);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [deployments, setDeployments] = useState<Deployments>([]);
  const [tokens, setTokens] = useState<TokenRows>([]);
  const [certs, setCerts] = useState<CertRows>([]);
  const [debounced] = useDebouncedValue(query.trim(), 120);
  const listId = useId();
  const listRef = useRef<HTMLDivElement>(null);

  const open = useCallback(() => {
    // Reset only here: Mantine returns focus whenever returnFocus turns true on a closed modal.
    setJumping(false);
    setQuery('');
    setActive(0);
    setOpened(true);
  }, []);

  // Ctrl/⌘+K anywhere; `/` outside text fields focuses the page's search.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        open();
        return;
      }
      if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !isEditable(e.target)) {
        if (document.querySelector('[role="dialog"]')) return;
        if (focusPageSearch()) e.preventDefault();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);

  useEffect(() => {
    if (!opened) return;
    call('deployments:list', {}).then(setDeployments, () => setDeployments([]));
  }, [opened]);

  useEffect(() => {
    if (!opened || debounced.length < 2) {
      setTokens([]);
      setCerts([]);
      return;
    }
    let live = true;
    call('tokens:list', { filter: { text: debounced }, limit: REMOTE_LIMIT, offset: 0, sort: 'issued_at', direction: 'desc' }).then(
      (r) => live && setTokens(r.rows),
      () => live && setTokens([]),
    );
    call('ca:certs', { search: debounced, limit: REMOTE_LIMIT, offset: 0 }).then(
      (r) => live && setCerts(r.rows),
      () => live && setCerts([]),
    );
    return () => {
      live = false;
    };
  }, [opened, debounced]);

  const items = useMemo<PaletteItem[]>(() => {
    const q = query.trim().toLowerCase();
    const matches = (...texts: string[]) => q === '' || texts.some((t) => t.toLowerCase().includes(q));
    const out: PaletteItem[] = [];
    for (const p of pages) {
      if (matches(p.label, p.id)) out.push({ id: `page:${p.id}`, kind: 'page', label: p.label, run: () => go(`#/${p.id}`) });
    }
    for (const d of deployments) {
      if (matches(d.name)) {
        out.push({
          id: `deployment:${d.name}`,
          kind: 'deployment',
          label: d.name,
          detail: `${d.services.length} services`,
          // DeploymentsPage focuses the row named in the address.
          run: () => go(`#/deployments?deployment=${encodeURIComponent(d.name)}`, () => undefined),
        });
      }
      for (const s of d.services) {
        const full = `${d.name}/${s.name}`;
        if (q !== '' && matches(full)) {
          out.push({ id: `service:${full}`, kind: 'service', label: full, run: () => go(`#/deployments?service=${encodeURIComponent(full)}`, () => undefined) });
        }
      }
    }
    // Tokens and certificates come from main, already filtered by the query.
    if (q.length >= 2) {
      for (const t of tokens) {
        const key = t.jti ?? String(t.id);
        out.push({
          id: `token:${t.id}`,
          kind: 'token',
          label: `${shortJti(t.jti)} (${t.container})`,
          detail: `${t.deployment}/${t.service}, ${t.status}`,
          run: () => go('#/tokens', () => void fillPageSearch(key)),
        });
      }
      for (const c of certs) {
        out.push({
          id: `certificate:${c.serial}`,
          kind: 'certificate',
          label: `${c.node_id} (${c.serial.slice(0, 12)}${c.serial.length > 12 ? '…' : ''})`,
          detail: `${c.subject}, ${c.status}`,
          run: () => go('#/workers', () => void fillPageSearch(c.serial)),
        });
      }
    }
    return out.slice(0, MAX_ITEMS);
  }, [query, pages, deployments, tokens, certs]);

  const current = Math.min(active, Math.max(items.length - 1, 0));
  const optionId = (i: number) => `${listId}-option-${i}`;

  useEffect(() => {
    listRef.current?.querySelector(`[id="${optionId(current)}"]`)?.scrollIntoView({ block: 'nearest' });
  });

  const choose = (item: PaletteItem | undefined) => {
    if (!item) return;
    setJumping(true);
    setOpened(false);
    // Once the modal is gone, so neither its focus trap nor its focus return undoes the jump.
    const deadline = Date.now() + 1500;
    const later = () => {
      if (document.querySelector('[role="dialog"]') && Date.now() < deadline) {
        requestAnimationFrame(later);
        return;
      }
      item.run();
    };
    requestAnimationFrame(later);
  };

  return (
    <>
      <Button variant="default" size="xs" onClick={open} aria-keyshortcuts={isMac ? 'Meta+K' : 'Control+K'}>
        Go to…{' '}
        <Kbd size="xs" ml={6}>
          {isMac ? '⌘K' : 'Ctrl+K'}
        </Kbd>
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} returnFocus={!jumping} title="Go to" size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack gap="xs">
          <TextInput
            label="Search pages, deployments, services, tokens and certificates"
            placeholder="page name, deployment/service, jti prefix, container, node id or serial"
            value={query}
            data-autofocus
            onChange={(e) => {
              setQuery(e.currentTarget.value);
              setActive(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown') {
                e.preventDefault();
                setActive((i) => Math.min(i + 1, items.length - 1));
              } else if (e.key === 'ArrowUp') {
                e.preventDefault();
                setActive((i) => Math.max(i - 1, 0));
              } else if (e.key === 'Home' && e.ctrlKey) {
                setActive(0);
              } else if (e.key === 'Enter') {
                e.preventDefault();
                choose(items[current]);
              }
            }}
            role="combobox"
            aria-expanded={items.length > 0}
            aria-controls={listId}
            aria-autocomplete="list"
            aria-activedescendant={items.length ? optionId(current) : undefined}
            autoComplete="off"
            spellCheck={false}
          />
          <Text size="sm" c="dimmed" aria-live="polite" data-testid="palette-count">
            {items.length === 0 ? 'Nothing matches.' : `${items.length} ${items.length === 1 ? 'result' : 'results'}; ↑ ↓ to choose, Enter to go.`}
          </Text>
          <div
            id={listId}
            role="listbox"
            aria-label="Results"
            ref={listRef}
            style={{ maxHeight: 360, overflowY: 'auto' }}
          >
            {items.map((item, i) => (
              <UnstyledButton
                component="div"
                key={item.id}
                id={optionId(i)}
                role="option"
                aria-selected={i === current}
                data-kind={item.kind}
                tabIndex={-1}
                onMouseMove={() => setActive(i)}
                onClick={() => choose(item)}
                px="sm"
                py={6}
                w="100%"
                style={{
                  display: 'block',
                  borderRadius: 4,
                  background: i === current ? 'var(--mantine-primary-color-light)' : undefined,
                  outline: i === current ? '2px solid var(--mantine-primary-color-filled)' : undefined,
                  outlineOffset: -2,
                }}
              >
                <Group gap="xs" wrap="nowrap">
                  <Badge variant="light" color="gray" size="sm">
                    {KIND_LABELS[item.kind]}
                  </Badge>
                  <Text size="sm" fw={500}>
                    {item.label}
                  </Text>
                  {item.detail && (
                    <Text size="sm" c="dimmed">
                      {item.detail}
                    </Text>
                  )}
                </Group>
              </UnstyledButton>
            ))}
          </div>
        </Stack>
      </Modal>
    </>
  );
}

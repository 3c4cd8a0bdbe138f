import { Anchor, Text } from '@mantine/core';
import { useChannel } from '../hooks.ts';

/**
 * Where this page's documents are published: the running server's URLs (Settings →
 * Publishing), or a line saying they are not published and how to publish them.
 */
export function PublishedAt({ what, paths }: { what: string; paths: { name: string; path: string }[] }) {
  const status = useChannel('serve:status', {});
  const s = status.data;
  if (!s) return null;
  if (!s.running || s.url === null) {
    return (
      <Text size="sm" c="dimmed" aria-label={`Where the ${what} is published`}>
        The {what} is not being served: start it under Settings → Publishing, or run <code>castellan serve</code>.
        {s.public_base_url !== '' && ` New worker certificates point verifiers at ${s.public_base_url}.`}
      </Text>
    );
  }
  return (
    <Text size="sm" aria-label={`Where the ${what} is published`}>
      Published at{' '}
      {paths.map((p, i) => (
        <span key={p.path}>
          {i > 0 && ', '}
          {p.name}{' '}
          <Anchor ff="monospace" size="sm" href={`${s.url}${p.path}`} target="_blank" rel="noreferrer">
            {`${s.url}${p.path}`}
          </Anchor>
        </span>
      ))}
      .
    </Text>
  );
}

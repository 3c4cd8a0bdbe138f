import { Text } from '@mantine/core';

export function TokensPage() {
  return (
    <Text c="dimmed" role="status">
      This page arrives with its issue.
    </Text>
  );
}

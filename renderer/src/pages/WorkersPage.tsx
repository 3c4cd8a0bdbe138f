import { Text } from '@mantine/core';

export function WorkersPage() {
  return (
    <Text c="dimmed" role="status">
      This page arrives with its issue.
    </Text>
  );
}

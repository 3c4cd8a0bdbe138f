import { Text } from '@mantine/core';

export function InspectorPage() {
  return (
    <Text c="dimmed" role="status">
      This page arrives with its issue.
    </Text>
  );
}

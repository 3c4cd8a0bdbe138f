import { Button, Group, Modal, Radio, Stack } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { REVOKE_REASONS } from '../../../shared/ipc/contract/tokens-lists.ts';
import { useAction } from '../hooks.ts';
import { ErrorAlert } from '../common/common.tsx';
import { REASON_LABELS, type RevokeReason } from './TokenBits.tsx';

/**
 * Confirm a revocation with its reason. Render it only while it is wanted (the caller
 * mounts it with a key per target), so every opening starts from the default reason.
 */
export function RevokeDialog({
  title,
  children,
  confirmLabel,
  defaultReason = 'other',
  disabled = false,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  defaultReason?: RevokeReason;
  disabled?: boolean;
  onConfirm: (reason: RevokeReason) => Promise<void>;
  onClose: () => void;
}) {
  const [reason, setReason] = useState<RevokeReason>(defaultReason);
  const confirm = useAction(onConfirm);
  return (
    <Modal opened closeButtonProps={{ 'aria-label': 'Close' }} onClose={onClose} title={title} size="lg">
      <Stack>
        {children}
        <Radio.Group label="Reason" value={reason} onChange={(v) => setReason(v as RevokeReason)} required>
          <Group mt={6}>
            {REVOKE_REASONS.map((r) => (
              <Radio key={r} value={r} label={REASON_LABELS[r]} />
            ))}
          </Group>
        </Radio.Group>
        <ErrorAlert error={confirm.error} title="Not revoked" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color="red" loading={confirm.busy} disabled={disabled} onClick={() => void confirm.run(reason)}>
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

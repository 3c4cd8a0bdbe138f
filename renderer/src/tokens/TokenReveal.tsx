import { Alert, Button, Group, Text, Textarea } from '@mantine/core';
import { useState } from 'react';
import { errorMessage } from '../ipc.ts';

/** How long a copied token may stay on the clipboard. */
export const CLIPBOARD_CLEAR_MS = 60_000;

let clearTimer: ReturnType<typeof setTimeout> | undefined;

/** SHA-256 of a string in hex, or null where Web Crypto is unavailable. */
async function fingerprint(text: string): Promise<string | null> {
  try {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  } catch {
    return null;
  }
}

/**
 * After CLIPBOARD_CLEAR_MS, empty the clipboard if it still holds the secret. Only a
 * fingerprint is kept until then, never the secret. When reading the clipboard is refused
 * (or no fingerprint could be made), clear it unconditionally.
 */
function scheduleClipboardClear(print: string | null): void {
  clearTimeout(clearTimer);
  clearTimer = setTimeout(() => {
    void (async () => {
      let current: string | null = null;
      try {
        current = await navigator.clipboard.readText();
      } catch {
        current = null;
      }
      if (current !== null && print !== null) {
        if (current === '' || (await fingerprint(current)) !== print) return;
      }
      try {
        await navigator.clipboard.writeText('');
      } catch {
        // Nothing more can be done without focus; the timer is not retried with the secret.
      }
    })();
  }, CLIPBOARD_CLEAR_MS);
}

/** Copy a secret and arrange for it to leave the clipboard after a minute. */
export async function copySecret(secret: string): Promise<void> {
  await navigator.clipboard.writeText(secret);
  scheduleClipboardClear(await fingerprint(secret));
}

/**
 * Shows a freshly minted secret once, read-only, with a Copy button. The caller drops the
 * secret from its state when the surrounding dialog closes.
 */
export function TokenReveal({ secret, label, description }: { secret: string; label: string; description?: string }) {
  const [copied, setCopied] = useState<string>('idle'); // 'idle', 'copied' or a failure message;
  return (
    <>
      <Alert color="yellow" title="Shown once" role="note">
        Copy it now: Castellan keeps only a hash of it, and it disappears when you close this.
      </Alert>
      <Textarea
        label={label}
        description={description}
        value={secret}
        readOnly
        autosize
        minRows={3}
        maxRows={12}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 12, wordBreak: 'break-all' } }}
        onFocus={(e) => e.currentTarget.select()}
        data-secret="true"
      />
      <Group>
        <Button
          variant="light"
          onClick={() => {
            copySecret(secret).then(
              () => setCopied('copied'),
              (err: unknown) => setCopied(`Copy failed: ${errorMessage(err)}. Select the text and copy it by hand.`),
            );
          }}
        >
          {copied === 'copied' ? 'Copied' : 'Copy'}
        </Button>
        <Text size="sm" role="status" c={copied === 'idle' || copied === 'copied' ? 'dimmed' : 'red'}>
          {copied === 'copied'
            ? `Copied to the clipboard; it is cleared in ${CLIPBOARD_CLEAR_MS / 1000} s.`
            : copied === 'idle'
              ? ''
              : copied}
        </Text>
      </Group>
    </>
  );
}

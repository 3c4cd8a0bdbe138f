import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Flags that keep Chromium quiet on machines with no network beyond the package registries. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Debian's chromium, or a path from CASTELLAN_CHROMIUM, or Playwright's own browser where installed. */
export function chromiumExecutable(): string {
  const candidates = [
    process.env.CASTELLAN_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    safeBundledPath(),
  ].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (tried ${candidates.join(', ')}); install Debian's chromium or set CASTELLAN_CHROMIUM`,
    );
  }
  return found;
}

function safeBundledPath(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumExecutable(), headless: true, args: CHROMIUM_ARGS });
}

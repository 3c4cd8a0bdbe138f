/**
 * Another admin, for the tests of pushed changes: the CLI in a process of its own on the same
 * workspace (file, or PostgreSQL database on that pass), unlocking with a vault slot of its own; and a mark that tells whether a page
 * changed without being reloaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { testDatabaseFor } from './services.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));

/** The other admin's passphrase; give them a slot with `vault.addPassphraseSlot(OTHER_ADMIN_PASSPHRASE, 'bob')`. */
export const OTHER_ADMIN_PASSPHRASE = 'bob, the other admin';

/** Runs `castellan ARGS` as the other admin on the workspace in `dir`; fails the test unless it exits 0. */
export function asOtherAdmin(dir: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, CASTELLAN_DATA_DIR: dir, PP: OTHER_ADMIN_PASSPHRASE };
  // On the PostgreSQL pass the workspace of `dir` is a schema on the test cluster (services.ts).
  const database = testDatabaseFor(dir);
  if (database !== undefined) env.CASTELLAN_DATABASE_URL = database;
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], { env, input: '', encoding: 'utf8' });
  assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Marks the document: a reload would lose the mark. */
export async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
}

/** Whether the page still shows the document `markDocument` marked. */
export async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

/**
 * Issue 11, point 3, as the attacks the review reproduced:
 * - a forced TTL had no upper bound: `ttl_secs` near 2^53 was accepted from the renderer,
 *   and `mint --ttl 315360000 --force` minted a 10-year token;
 * - `tokens list` / `show` then failed with RangeError whenever such a row was on the page;
 * - a `zlayer.io/api-token-ttl` of 18446744073709551615 was shown clamped to 2^53-1.
 * The workspace's `max_token_ttl_secs` caps every mint, exp stays within what every reader
 * can show, every stored row lists and shows, and label TTLs are carried exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '../../shared/ipc/envelope.ts';
import { LABEL_API_TOKEN_TTL } from '../../shared/policy/scopes.ts';
import { MAX_SHOWN_UNIX_SECS } from '../../shared/time.ts';
import { DAY_SECS } from '../../shared/workspace-settings.ts';
import { servicePolicy, setLabel } from '../../electron/core/deployments/deployments.ts';
import { mintBatch, mintToken } from '../../electron/core/tokens/minting.ts';
import { exportRevocationList } from '../../electron/core/tokens/revocation.ts';
import { nowSecs } from '../../electron/core/tokens/signing-keys.ts';
import { getToken, listTokens, tokenStats } from '../../electron/core/tokens/token-ledger.ts';
import { readWorkspaceSettings, updateWorkspaceSettings } from '../../electron/core/workspace/workspace-settings.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { SAMPLES_DIR, TEST_PASSPHRASE } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';
import { isError, tokenWorkspace } from '../harness/tokens.ts';

const ORIGIN = 'castellan://app';
const SENDER = { url: `${ORIGIN}/index.html`, isMainFrame: true };
const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const TEN_YEARS = 315_360_000;

function router(ws: Workspace) {
  const r = testRouter(testServices(ws))(ORIGIN);
  return async <T>(channel: string, input: unknown): Promise<Envelope<T>> =>
    (await r.dispatch(channel, SENDER, input, () => undefined)) as Envelope<T>;
}

const counts = (ws: Workspace) => ({
  tokens: (ws.db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n,
  audit: (ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n,
});

test('max_token_ttl_secs caps every mint, forced or not, with a clear error and nothing written', async () => {
  const ws = await tokenWorkspace(['zlayer']);
  assert.equal(readWorkspaceSettings(ws).max_token_ttl_secs, 30 * DAY_SECS);
  const before = counts(ws);
  assert.throws(
    () =>
      mintToken(ws, {
        deployment: 'storefront',
        service: 'web',
        container: 'web-0',
        ttlSecs: TEN_YEARS,
        force: true,
        noJti: true,
      }),
    isError(
      'INVALID_INPUT',
      /a TTL of 315360000 s .* \(forced\), longer than this workspace's maximum token lifetime of 2592000 s .*max_token_ttl_secs.*forced or not/,
    ),
  );
  assert.throws(
    () =>
      mintToken(ws, {
        deployment: 'storefront',
        service: 'web',
        container: 'web-0',
        ttlSecs: 2 ** 53 - 2 ** 32,
        force: true,
      }),
    isError('INVALID_INPUT', /maximum token lifetime/),
  );
  assert.deepEqual(counts(ws), before, 'a refused mint writes nothing');

  // Up to the cap, a forced TTL still mints (and is still recorded as forced).
  const atCap = mintToken(ws, {
    deployment: 'storefront',
    service: 'web',
    container: 'web-0',
    ttlSecs: 30 * DAY_SECS,
    force: true,
  });
  assert.equal(atCap.record.expires_at - atCap.record.issued_at, 30 * DAY_SECS);
  assert.equal(atCap.record.forced_ttl, true);

  // Lowered below the policy's own TTL (web: 24 h), the policy TTL is refused too; a shorter ask mints.
  updateWorkspaceSettings(ws, { max_token_ttl_secs: 3600 });
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1' }),
    isError('INVALID_INPUT', /the policy of storefront\/web asks for 86400 s .*maximum token lifetime of 3600 s/),
  );
  assert.throws(
    () => mintBatch(ws, { deployment: 'storefront', service: 'web', containers: ['a', 'b'] }),
    isError('INVALID_INPUT', /maximum token lifetime/),
  );
  assert.equal(
    mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-1', ttlSecs: 3600 }).record.forced_ttl,
    false,
  );
  ws.close();
});

test('an exp beyond what the ledger and the console can show (year 9999) is refused at mint', async () => {
  const ws = await tokenWorkspace(['zlayer']);
  const before = counts(ws);
  assert.throws(
    () =>
      mintToken(ws, {
        deployment: 'storefront',
        service: 'web',
        container: 'web-0',
        ttlSecs: 3600,
        now: MAX_SHOWN_UNIX_SECS - 60,
      }),
    isError('INVALID_INPUT', /would expire at \d+ s since the epoch, after 9999-12-31T23:59:59Z/),
  );
  assert.deepEqual(counts(ws), before);
  ws.close();
});

test('over IPC: the renderer’s ttl_secs near 2^53 is refused; workspace:setSettings needs reauth and is audited', async () => {
  const ws = await tokenWorkspace(['zlayer']);
  const call = router(ws);
  const huge = await call('tokens:mint', {
    deployment: 'storefront',
    service: 'web',
    container: 'web-0',
    ttl_secs: Number.MAX_SAFE_INTEGER - 2_000_000_000,
    force: true,
  });
  assert.equal(huge.ok, false);
  assert.match((huge as { error: { message: string } }).error.message, /maximum token lifetime/);

  const got = await call<{ max_token_ttl_secs: number }>('workspace:settings', {});
  assert.ok(got.ok);
  assert.equal(got.data.max_token_ttl_secs, 30 * DAY_SECS);

  const noReauth = await call('workspace:setSettings', { patch: { max_token_ttl_secs: 365 * DAY_SECS } });
  assert.equal(noReauth.ok, false);
  const wrong = await call('workspace:setSettings', {
    patch: { max_token_ttl_secs: 365 * DAY_SECS },
    reauth: { passphrase: 'not it' },
  });
  assert.equal(wrong.ok, false);
  assert.equal((wrong as { error: { code: string } }).error.code, 'BAD_REQUEST');
  const outOfBounds = await call('workspace:setSettings', {
    patch: { max_token_ttl_secs: 366 * DAY_SECS },
    reauth: { passphrase: TEST_PASSPHRASE },
  });
  assert.equal(outOfBounds.ok, false);
  assert.equal(readWorkspaceSettings(ws).max_token_ttl_secs, 30 * DAY_SECS, 'nothing changed');

  const set = await call<{ max_token_ttl_secs: number }>('workspace:setSettings', {
    patch: { max_token_ttl_secs: 7 * DAY_SECS },
    reauth: { passphrase: TEST_PASSPHRASE },
  });
  assert.ok(set.ok, JSON.stringify(set));
  assert.equal(set.data.max_token_ttl_secs, 7 * DAY_SECS);
  const entry = ws.audit.list({ action: 'workspace.settings', limit: 5 }).rows[0];
  assert.deepEqual(entry?.details.changes, [
    { setting: 'max_token_ttl_secs', before: 30 * DAY_SECS, after: 7 * DAY_SECS },
  ]);
  assert.ok(!JSON.stringify(set).includes(TEST_PASSPHRASE));
  ws.close();
});

/** Rows no mint writes, as someone with the file (or another tool) could store them. */
function seedExtremeRows(ws: Workspace): { id: number; stored: string }[] {
  const key = (ws.db.prepare("SELECT id FROM signing_keys WHERE state = 'active' LIMIT 1").get() as { id: string }).id;
  const insert = ws.db.prepare(
    `INSERT INTO tokens (jti, subject, deployment, service, container, profile, key_id, kid, scopes, issued_at, expires_at,
       revoked_at, token_sha256) VALUES (?, 'container:web:x', 'storefront', 'web', ?, 'zlayer', ?, NULL, '[]', ?, ?, ?, ?)`,
  );
  const now = nowSecs();
  const rows: [string, bigint | number, bigint | number | null][] = [
    ['near 2^53', 2 ** 53 - 1, null],
    ['2^53 + 1', 2n ** 53n + 1n, null],
    ['2^62', 2n ** 62n, null],
    ['int64 max', 2n ** 63n - 1n, 2n ** 63n - 1n],
    ['beyond Date (1e300)', 1e300, null],
    ['negative', -5, null],
  ];
  return rows.map(([name, exp, revoked], i) => {
    const info = insert.run(`extreme-${i}`, `x-${i}`, key, now, exp, revoked, `sha-extreme-${i}`);
    return { id: Number(info.lastInsertRowid), stored: name };
  });
}

test('rows with extreme exp (2^53, 2^62, int64 max, 1e300, negative) list and show via core, the IPC router and the CLI', async () => {
  const dir = tempDir();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CASTELLAN_DATA_DIR: path.join(dir, 'ws'),
    PP: 'cli passphrase for ttl',
  };
  delete env.NODE_TEST_CONTEXT;
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, '--passphrase-env', 'PP', ...args], { env, encoding: 'utf8' });
  const ok = (args: string[]) => {
    const r = run(args);
    assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  ok(['init']);
  ok(['deployments', 'import', SAMPLES_DIR]);
  ok(['keys', 'create', '--profile', 'zlayer']);
  ok(['keys', 'create', '--profile', 'ed25519']);
  ok(['mint', 'storefront', 'web', 'web-0']);

  const { Workspace } = await import('../../electron/core/workspace/workspace.ts');
  const ws = Workspace.open(path.join(dir, 'ws'), { actor: { user: 'tester', kind: 'cli' } });
  const seeded = seedExtremeRows(ws);

  // Core.
  const page = listTokens(ws, { limit: 100 });
  assert.equal(page.total, 1 + seeded.length);
  for (const { id, stored } of seeded) {
    const row = page.rows.find((r) => r.id === id);
    assert.ok(row, stored);
    assert.ok(
      Number.isSafeInteger(row.expires_at) && row.expires_at >= 0 && row.expires_at <= MAX_SHOWN_UNIX_SECS,
      stored,
    );
    const detail = getToken(ws, id);
    assert.equal(detail.record.id, id);
  }
  const far = page.rows.find((r) => r.id === seeded[2]!.id)!;
  assert.deepEqual([far.expires_at, far.status], [MAX_SHOWN_UNIX_SECS, 'active']);
  assert.equal(page.rows.find((r) => r.id === seeded[5]!.id)!.status, 'expired');
  for (const sort of ['expires_at', 'issued_at', 'revoked_at'] as const) {
    assert.equal(listTokens(ws, { sort, direction: 'asc' }).rows.length, 1 + seeded.length);
  }
  tokenStats(ws, 10 ** 15);

  // The IPC router (whose output schemas demand whole, safe numbers).
  ws.vault.unlockWithPassphrase(env.PP!);
  const call = router(ws);
  const list = await call<{ rows: { id: number; expires_at: number }[]; total: number }>('tokens:list', { limit: 100 });
  assert.ok(list.ok, JSON.stringify(list));
  assert.equal(list.data.total, 1 + seeded.length);
  for (const { id, stored } of seeded) {
    const got = await call('tokens:get', { id });
    assert.ok(got.ok, `${stored}: ${JSON.stringify(got)}`);
  }
  const stats = await call('tokens:stats', { expiring_within_secs: 10 ** 12 });
  assert.ok(stats.ok, JSON.stringify(stats));
  // The signed revocation list lists the revoked int64-max row (as year 9999) instead of failing.
  const revocations = exportRevocationList(ws);
  assert.deepEqual(
    revocations.list.entries.find((e) => e.jti === 'extreme-3'),
    { jti: 'extreme-3', exp: MAX_SHOWN_UNIX_SECS },
  );
  ws.close();

  // The CLI.
  const text = ok(['tokens', 'list']).stdout;
  assert.match(text, /7 of 7 token\(s\)/);
  assert.match(text, /expires 9999-12-31T23:59:59Z/);
  assert.equal(JSON.parse(ok(['tokens', 'list', '--json']).stdout).total, 7);
  for (const { id } of seeded) {
    assert.match(ok(['tokens', 'show', `#${id}`]).stdout, new RegExp(`^#${id} `));
    ok(['tokens', 'show', `#${id}`, '--json']);
  }
});

test('CLI: mint --ttl 315360000 --force is refused; settings get/set max_token_ttl_secs (passphrase, audited)', () => {
  const dir = tempDir();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CASTELLAN_DATA_DIR: path.join(dir, 'ws'),
    PP: 'cli passphrase for settings',
    WRONG: 'not the passphrase',
  };
  delete env.NODE_TEST_CONTEXT;
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  const ok = (args: string[]) => {
    const r = run(['--passphrase-env', 'PP', ...args]);
    assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  ok(['init']);
  ok(['deployments', 'import', SAMPLES_DIR]);
  ok(['keys', 'create', '--profile', 'zlayer']);

  const refused = run([
    '--passphrase-env',
    'PP',
    'mint',
    'storefront',
    'web',
    'web-0',
    '--ttl',
    String(TEN_YEARS),
    '--force',
    '--no-jti',
  ]);
  assert.equal(refused.status, 2);
  assert.equal(refused.stdout, '', 'no token printed');
  assert.match(refused.stderr, /maximum token lifetime of 2592000 s \(30 d, setting max_token_ttl_secs\)/);
  assert.equal(JSON.parse(ok(['tokens', 'list', '--json']).stdout).total, 0);

  assert.match(ok(['settings', 'get']).stdout, /^max_token_ttl_secs = 2592000 /m);
  assert.deepEqual(JSON.parse(ok(['settings', 'get', 'max_token_ttl_secs', '--json']).stdout), {
    max_token_ttl_secs: 2592000,
  });
  const unknown = run(['settings', 'get', 'max_ttl']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown workspace setting "max_ttl"; the settings are max_token_ttl_secs/);
  const notNumber = run(['--passphrase-env', 'PP', 'settings', 'set', 'max_token_ttl_secs', '10d']);
  assert.equal(notNumber.status, 1);
  const tooBig = run(['--passphrase-env', 'PP', 'settings', 'set', 'max_token_ttl_secs', String(400 * DAY_SECS)]);
  assert.equal(tooBig.status, 2);
  assert.match(tooBig.stderr, /max_token_ttl_secs/);
  const wrong = run(['--passphrase-env', 'WRONG', 'settings', 'set', 'max_token_ttl_secs', String(TEN_YEARS / 10)]);
  assert.equal(wrong.status, 2);
  assert.match(ok(['settings', 'get']).stdout, /^max_token_ttl_secs = 2592000 /m, 'nothing changed');

  assert.match(
    ok(['settings', 'set', 'max_token_ttl_secs', String(TEN_YEARS / 10)]).stdout,
    /max_token_ttl_secs: 2592000 .* -> 31536000 /,
  );
  const minted = ok(['mint', 'storefront', 'web', 'web-0', '--ttl', String(TEN_YEARS / 10), '--force', '--json']);
  const record = (JSON.parse(minted.stdout) as { record: { expires_at: number; issued_at: number } }).record;
  assert.equal(record.expires_at - record.issued_at, TEN_YEARS / 10);
  const audit = ok(['audit', 'export', '--format', 'jsonl'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { action: string; details: { changes?: unknown } });
  assert.deepEqual(audit.find((e) => e.action === 'workspace.settings')?.details.changes, [
    { setting: 'max_token_ttl_secs', before: 2592000, after: 31536000 },
  ]);

  // A label TTL the daemon reads as u64::MAX is shown exactly, as text and as JSON.
  ok(['policy', 'set-label', 'storefront', 'web', LABEL_API_TOKEN_TTL, '18446744073709551615']);
  assert.match(ok(['policy', 'show', 'storefront', 'web']).stdout, /^ {2}ttl: +18446744073709551615 s /m);
  const shown = JSON.parse(ok(['policy', 'show', 'storefront', 'web', '--json']).stdout) as {
    ttl_secs_exact: string;
    diagnostics: { code: string }[];
  };
  assert.equal(shown.ttl_secs_exact, '18446744073709551615');
  assert.ok(shown.diagnostics.some((d) => d.code === 'ttl-too-large'));
});

test('a label TTL of u64::MAX is carried exactly (policy show --json, policy:get), with the diagnostic', async () => {
  const ws = await tokenWorkspace(['zlayer']);
  setLabel(ws, 'storefront', 'web', LABEL_API_TOKEN_TTL, '18446744073709551615');
  const policy = servicePolicy(ws, 'storefront', 'web');
  assert.equal(policy.access.ttl_secs_exact, '18446744073709551615');
  assert.equal(policy.access.ttl_secs, Number.MAX_SAFE_INTEGER);
  assert.equal(policy.access.diagnostics[0]?.code, 'ttl-too-large');
  const call = router(ws);
  const got = await call<{ access: { ttl_secs_exact: string } }>('policy:get', {
    deployment: 'storefront',
    service: 'web',
  });
  assert.ok(got.ok, JSON.stringify(got));
  assert.equal(got.data.access.ttl_secs_exact, '18446744073709551615');
  // Such a policy mints nothing: it is far beyond the workspace's maximum.
  assert.throws(
    () => mintToken(ws, { deployment: 'storefront', service: 'web', container: 'web-0' }),
    isError('INVALID_INPUT', /maximum token lifetime/),
  );
  ws.close();
});

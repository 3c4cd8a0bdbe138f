/**
 * The token CLI end to end, each command a real child process on a real
 * workspace: init, import the samples, keys, mint, list, revoke, inspect,
 * exports, refresh, imports. Usage errors exit 1, domain errors exit 2 with
 * the reason on stderr, and no secret ever appears in what the CLI prints
 * except the minted token itself, once, on stdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { tempDir } from '../harness/services.ts';

const CLI = fileURLToPath(new URL('../../electron/cli/castellan.ts', import.meta.url));
const PY_SCRIPT = fileURLToPath(new URL('./python/verify_jwt.py', import.meta.url));
const PASSPHRASE = 'a passphrase for the token CLI test';

type Run = { status: number | null; stdout: string; stderr: string };

function cliIn(dir: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, CASTELLAN_DATA_DIR: path.join(dir, 'ws'), PP: PASSPHRASE };
  delete env.NODE_TEST_CONTEXT;
  delete env.CASTELLAN_DEBUG;
  const run = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      env: { ...env, ...options.env },
      input: options.input ?? '',
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** Runs with the passphrase from $PP and expects exit 0. */
  const ok = (args: string[], options: { input?: string } = {}): Run => {
    const r = run(['--passphrase-env', 'PP', ...args], options);
    assert.equal(r.status, 0, `castellan ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r;
  };
  return { run, ok };
}

function py(request: Record<string, unknown>): { ok: boolean; [k: string]: unknown } {
  const r = spawnSync('/usr/bin/python3', [PY_SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { ok: boolean };
}

function prepared(): { dir: string; cli: ReturnType<typeof cliIn> } {
  const dir = tempDir();
  const cli = cliIn(dir);
  cli.ok(['init']);
  cli.ok(['deployments', 'import', SAMPLES_DIR]);
  return { dir, cli };
}

function assertNoSecret(r: Run, secrets: string[]): void {
  for (const s of secrets) {
    assert.equal(r.stderr.includes(s), false, 'a secret reached stderr');
  }
}

test('init, import, keys, mint, list, revoke, inspect, export jwks and revocations', async () => {
  const { dir, cli } = prepared();
  assert.match(
    cli.ok(['keys', 'create', '--profile', 'zlayer']).stdout,
    /created zlayer-[0-9a-f]+ +zlayer +HS256 active/,
  );
  cli.ok(['keys', 'create', '--profile', 'ed25519']);

  const mint = cli.ok(['mint', 'storefront', 'web', 'web-0']);
  const token = mint.stdout.trim();
  assert.equal(mint.stdout, `${token}\n`, 'stdout holds the token and nothing else');
  assert.match(token, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
  assert.match(mint.stderr, /minted zlayer token for container:web:web-0 \(storefront\), ledger #1, jti [0-9a-f-]{36}/);
  assert.equal(mint.stderr.includes(token), false);

  const ed = JSON.parse(cli.ok(['mint', 'storefront', 'web', 'web-1', '--profile', 'ed25519', '--json']).stdout) as {
    token: string;
    record: { jti: string; kid: string };
  };

  const list = cli.ok(['tokens', 'list', '--json']);
  const page = JSON.parse(list.stdout) as { total: number; rows: { jti: string; container: string; status: string }[] };
  assert.equal(page.total, 2);
  assert.deepEqual(
    page.rows.map((r) => [r.container, r.status]),
    [
      ['web-1', 'active'],
      ['web-0', 'active'],
    ],
  );
  assert.equal(
    list.stdout.includes(token) || list.stdout.includes(ed.token),
    false,
    'the ledger listing holds no token',
  );
  const jti = page.rows[1]!.jti;

  const valid = cli.run(['--passphrase-env', 'PP', 'inspect', '-'], { input: `${token}\n` });
  assert.equal(valid.status, 0, valid.stderr);
  assert.match(valid.stdout, /^verdict: valid$/m);
  assert.match(
    valid.stdout,
    /^scopes: +may read deployment storefront; may write any container; may write any image$/m,
  );

  assert.match(cli.ok(['revoke', jti, '--reason', 'leaked']).stdout, new RegExp(`revoked #1 +revoked ${jti}`));
  const revoked = cli.run(['--passphrase-env', 'PP', 'inspect', '-'], { input: token });
  assert.equal(revoked.status, 2, 'a verdict other than valid exits 2');
  assert.match(revoked.stdout, /^verdict: revoked$/m);
  assert.match(revoked.stdout, /^reason: +revoked at .*: leaked$/m);
  assert.equal(revoked.stderr, 'castellan: the token is not valid: revoked\n');
  // An ed25519 token needs the vault too: its key record is authenticated with a key held there
  // (without a passphrase the CLI asks for one); with it, it inspects, and as JSON.
  const edLocked = cli.run(['inspect', '-', '--json'], { input: ed.token });
  assert.equal(edLocked.status, 2);
  assert.match(edLocked.stderr, /a secret is needed: pass --passphrase-env VAR/);
  const edInspect = cli.run(['--passphrase-env', 'PP', 'inspect', '-', '--json'], { input: ed.token });
  assert.equal(edInspect.status, 0, edInspect.stderr);
  assert.equal((JSON.parse(edInspect.stdout) as { verdict: string }).verdict, 'valid');

  const jwksFile = path.join(dir, 'jwks.json');
  const rlFile = path.join(dir, 'revocations.jwt');
  cli.ok(['export', 'jwks', '--out', jwksFile]);
  const rl = cli.ok(['export', 'revocations', '--out', rlFile]);
  assert.match(rl.stderr, /revocation list #1: 1 entry, signed by ed25519-/);
  const jwks = JSON.parse(fs.readFileSync(jwksFile, 'utf8')) as { keys: { kid: string }[] };
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    [ed.record.kid],
  );
  const { payload } = await jwtVerify(fs.readFileSync(rlFile, 'utf8'), createLocalJWKSet(jwks as never), {
    typ: 'castellan-revocations+jwt',
  });
  assert.deepEqual(
    (payload as { seq: number; entries: { jti: string }[] }).entries.map((e) => e.jti),
    [jti],
  );
  assert.equal(JSON.parse(cli.ok(['export', 'jwks']).stdout).keys.length, 1, 'stdout without --out');
  const second = cli.ok(['export', 'revocations']);
  assert.match(second.stderr, /revocation list #2/);

  // The daemon (PyJWT) accepts the CLI's zlayer token with the exported secret file.
  const keyFile = path.join(dir, 'jwt_secret_zlayer.key');
  const exported = cli.ok(['keys', 'export-zlayer-secret', '--out', keyFile]);
  assert.match(exported.stdout, /mode 0600/);
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const secret = py({ op: 'key_file_secret', path: keyFile }).secret as string;
  assert.equal(py({ op: 'decode_hs256', token, secret }).ok, true);

  const keys = cli.ok(['keys', 'list']);
  assert.match(keys.stdout, /tokens: 0 active, 0 expired, 1 revoked/);
  assert.match(cli.ok(['audit', 'verify']).stdout, /audit chain OK/);
  for (const r of [mint, list, valid, revoked, rl, exported, keys]) assertNoSecret(r, [PASSPHRASE, secret]);
});

test('mint-batch, a compromised rotation with the exact revoke hint, bulk revoke, refresh', () => {
  const { cli } = prepared();
  cli.ok(['keys', 'create', '--profile', 'zlayer']);
  const batch = cli.ok(['mint-batch', 'storefront', 'worker']);
  const lines = batch.stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split('\t')[0]),
    ['worker-0', 'worker-1', 'worker-2'],
  );
  assert.match(batch.stderr, /^minting 3\/3$/m);
  assert.match(batch.stderr, /minted 3 token\(s\) for storefront\/worker/);
  const listed = cli.ok(['mint-batch', 'ci-runners', 'runner', '--containers', 'build-a,build-b', '--json']);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { container: string }[]).map((m) => m.container),
    ['build-a', 'build-b'],
  );
  const fromFile = cli.ok(['mint-batch', 'ci-runners', 'runner', '--containers-file', '-'], {
    input: 'build-c\nbuild-d\n',
  });
  assert.equal(fromFile.stdout.trim().split('\n').length, 2);

  const keys = JSON.parse(cli.ok(['keys', 'list', '--json']).stdout) as { id: string }[];
  const oldKey = keys[0]!.id;
  const rotate = cli.ok(['keys', 'rotate', '--profile', 'zlayer', '--compromised']);
  assert.match(rotate.stdout, new RegExp(`^7 active token\\(s\\) signed by ${oldKey} are at risk\\.$`, 'm'));
  assert.match(
    rotate.stdout,
    new RegExp(`^to revoke them: castellan revoke --key ${oldKey} --reason key_compromise --dry-run$`, 'm'),
  );

  const dry = cli.ok(['revoke', '--key', oldKey, '--reason', 'key_compromise', '--dry-run']);
  assert.equal(dry.stdout, 'dry run: 7 active token(s) would be revoked (key_compromise); nothing was changed\n');
  const svc = cli.ok(['revoke', '--service', 'storefront/worker', '--reason', 'decommissioned', '--json']);
  assert.deepEqual(JSON.parse(svc.stdout), { count: 3, dry_run: false, unrevocable: 0 });
  assert.equal(
    cli.ok(['revoke', '--deployment', 'ci-runners', '--reason', 'other']).stdout,
    'revoked 4 token(s) (other)\n',
  );

  const runnerList = JSON.parse(
    cli.ok(['tokens', 'list', '--status', 'revoked', '--deployment', 'storefront', '--service', 'worker', '--json'])
      .stdout,
  ) as {
    total: number;
    rows: { jti: string }[];
  };
  assert.equal(runnerList.total, 3);
  const fresh = cli.ok(['mint', 'storefront', 'web', 'web-0']);
  const freshJti = (
    JSON.parse(cli.ok(['tokens', 'list', '--status', 'active', '--json']).stdout) as { rows: { jti: string }[] }
  ).rows[0]!.jti;
  const refreshed = cli.ok(['refresh', freshJti]);
  assert.notEqual(refreshed.stdout.trim(), fresh.stdout.trim());
  assert.match(refreshed.stdout.trim(), /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
  const old = cli.run(['--passphrase-env', 'PP', 'inspect', '-'], { input: fresh.stdout });
  assert.equal(old.status, 2);
  assert.match(old.stdout, /superseded/);
  assert.equal(
    cli.run(['--passphrase-env', 'PP', 'inspect', refreshed.stdout.trim()]).status,
    0,
    'TOKEN as an argument works too',
  );
  const shown = JSON.parse(cli.ok(['tokens', 'show', '#1', '--json']).stdout) as { history: { action: string }[] };
  assert.deepEqual(
    shown.history.map((h) => h.action),
    ['token.mint_batch', 'token.mint', 'token.revoke_bulk'],
  );
});

test('importing the daemon secret from its file or a literal env var; forced TTL and no-jti mints', () => {
  const { dir, cli } = prepared();
  const keyFile = path.join(dir, 'jwt_secret_zlayer.key');
  fs.writeFileSync(keyFile, Buffer.alloc(64, 0xc3));
  const imported = cli.ok(['keys', 'import-zlayer-secret', keyFile]);
  assert.match(imported.stdout, /imported zlayer-[0-9a-f]+ +zlayer +HS256 active/);
  const secretHex = Buffer.alloc(64, 0xc3).toString('hex');
  assert.equal(imported.stdout.includes(secretHex), false);

  const forced = cli.ok(['mint', 'storefront', 'worker', 'worker-0', '--ttl', '7200', '--force', '--json']);
  const f = JSON.parse(forced.stdout) as {
    token: string;
    record: { forced_ttl: boolean; expires_at: number; issued_at: number };
  };
  assert.deepEqual([f.record.forced_ttl, f.record.expires_at - f.record.issued_at], [true, 7200]);
  assert.equal(py({ op: 'decode_hs256', token: f.token, secret: secretHex }).ok, true);
  const noJti = cli.ok(['mint', 'storefront', 'web', 'web-0', '--no-jti']);
  assert.match(noJti.stderr, /NO jti: it cannot be revoked, only expire/);
  const claims = JSON.parse(Buffer.from(noJti.stdout.trim().split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  assert.equal(Object.hasOwn(claims, 'jti'), false);

  const literal = 'literal-secret-from-the-environment-0123456789';
  const lit = cli.run(['--passphrase-env', 'PP', 'keys', 'import-zlayer-secret', '--literal-env', 'ZSECRET'], {
    env: { ZSECRET: literal },
  });
  assert.equal(lit.status, 0, lit.stderr);
  assert.equal(lit.stdout.includes(literal), false);
  const again = cli.run(['--passphrase-env', 'PP', 'keys', 'import-zlayer-secret', '--literal-env', 'ZSECRET'], {
    env: { ZSECRET: literal },
  });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already held by key/);
  assert.equal(again.stderr.includes(literal), false);
  // A literal secret has no key-file form.
  const out = path.join(dir, 'out.key');
  const exp = cli.run(['--passphrase-env', 'PP', 'keys', 'export-zlayer-secret', '--out', out]);
  assert.equal(exp.status, 2);
  assert.match(exp.stderr, /literal secret has no file form/);
  assert.equal(fs.existsSync(out), false);

  const config = cli.ok(['keys', 'config', '--issuer', 'https://ca.example', '--json']);
  assert.deepEqual(JSON.parse(config.stdout), { issuer: 'https://ca.example', audience: 'zlayer-api' });
});

test('usage errors exit 1, domain errors exit 2 with the reason on stderr and no secret in it', () => {
  const { dir, cli } = prepared();
  cli.ok(['keys', 'create', '--profile', 'zlayer']);
  const token = cli.ok(['mint', 'storefront', 'web', 'web-0']).stdout.trim();
  const keyFile = path.join(dir, 'jwt_secret_zlayer.key');
  cli.ok(['keys', 'export-zlayer-secret', '--out', keyFile]);
  const secret = fs.readFileSync(keyFile).toString('hex');
  const secrets = [PASSPHRASE, secret, token, token.split('.')[2]!];
  const p = ['--passphrase-env', 'PP'];

  const usage: string[][] = [
    ['mint', 'storefront', 'web'],
    ['mint', 'storefront', 'web', 'web-0', '--ttl', 'soon'],
    ['mint', 'storefront', 'web', 'web-0', '--profile', 'rs256'],
    ['mint', 'storefront', 'web', 'web-0', '--bogus'],
    ['mint-batch', 'storefront', 'worker', '--containers', 'a', '--containers-file', 'f'],
    ['revoke', 'some-jti'],
    ['revoke', 'some-jti', '--reason', 'bored'],
    ['revoke', 'some-jti', '--service', 'storefront/web', '--reason', 'leaked'],
    ['revoke', '--service', 'storefront', '--reason', 'leaked'],
    ['keys', 'create'],
    ['keys', 'export-zlayer-secret'],
    ['keys', 'import-zlayer-secret'],
    ['tokens', 'list', '--status', 'valid'],
    ['inspect'],
  ];
  for (const args of usage) {
    const r = cli.run([...p, ...args]);
    assert.equal(r.status, 1, `castellan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^castellan: .*\nusage: castellan /, args.join(' '));
    assertNoSecret(r, secrets);
  }

  const domain: [string[], RegExp, string?][] = [
    [
      ['revoke', '33333333-3333-4333-8333-333333333333', '--reason', 'leaked'],
      /no token with jti "33333333-3333-4333-8333-333333333333" in the ledger/,
    ],
    [['revoke', token, '--reason', 'leaked'], /no token with jti \(the given value\)/],
    [['mint', 'storefront', 'nope', 'x'], /deployment "storefront" has no service "nope"/],
    [['mint', 'storefront', 'worker', 'worker-0', '--ttl', '99999'], /longer than the 3600 s/],
    [['mint-batch', 'ci-runners', 'runner'], /list the containers explicitly/],
    [['keys', 'create', '--profile', 'zlayer'], /already has an active key/],
    [['export', 'revocations'], /no active ed25519 or es256 key/],
    [['keys', 'import-zlayer-secret', path.join(dir, 'missing.key')], /no such file/],
    [
      ['revoke', '--deployment', 'storefront', '--reason', 'leaked', '--service', 'storefront/'],
      /DEPLOYMENT\/SERVICE/,
      'usage',
    ],
  ];
  for (const [args, message, kind] of domain) {
    const r = cli.run([...p, ...args]);
    assert.equal(r.status, kind === 'usage' ? 1 : 2, `castellan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assertNoSecret(r, secrets);
  }

  // Locked: no passphrase source (stdin is not a terminal), and a wrong passphrase.
  const noPass = cli.run(['mint', 'storefront', 'web', 'web-1']);
  assert.equal(noPass.status, 2);
  assert.match(noPass.stderr, /a secret is needed: pass --passphrase-env VAR/);
  const wrong = cli.run(['--passphrase-env', 'WRONG', 'mint', 'storefront', 'web', 'web-1'], {
    env: { WRONG: 'not the passphrase at all' },
  });
  assert.equal(wrong.status, 2);
  assert.equal(wrong.stderr.includes('not the passphrase at all'), false);
  // Inspecting garbage is a verdict (malformed), exit 2.
  const garbage = cli.run(['inspect', '-'], { input: 'not-a-token' });
  assert.equal(garbage.status, 2);
  assert.match(garbage.stdout, /^verdict: malformed$/m);
  // An HS256 token without a passphrase source cannot be checked: the reason says how to unlock.
  const locked = cli.run(['inspect', '-'], { input: token });
  assert.equal(locked.status, 2);
  assert.match(locked.stderr, /a secret is needed/);
  assertNoSecret(locked, secrets);

  // Nothing above minted, revoked or changed a key.
  const page = JSON.parse(cli.ok(['tokens', 'list', '--json']).stdout) as { total: number; rows: { status: string }[] };
  assert.deepEqual([page.total, page.rows[0]!.status], [1, 'active']);
  assert.equal((JSON.parse(cli.ok(['keys', 'list', '--json']).stdout) as unknown[]).length, 1);
});

test('one token id form: tokens show, revoke and refresh take a jti, a unique prefix of one, or #N', async () => {
  const { dir, cli } = prepared();
  cli.ok(['keys', 'create', '--profile', 'zlayer']);
  cli.ok(['mint-batch', 'storefront', 'worker', '--containers', 'w-0,w-1,w-2']);
  type Row = { id: number; jti: string; container: string; status: string; replaced_by: string | null };
  const rows = () => (JSON.parse(cli.ok(['tokens', 'list', '--json', '--asc']).stdout) as { rows: Row[] }).rows;
  const [first, second, third] = rows() as [Row, Row, Row];

  // The full jti, a prefix, and #N name the same record.
  const byJti = JSON.parse(cli.run(['tokens', 'show', first.jti, '--json']).stdout) as { record: Row };
  const byPrefix = JSON.parse(cli.run(['tokens', 'show', first.jti.slice(0, 8), '--json']).stdout) as { record: Row };
  const byNumber = JSON.parse(cli.run(['tokens', 'show', `#${first.id}`, '--json']).stdout) as { record: Row };
  assert.deepEqual([byJti.record.jti, byPrefix.record.jti, byNumber.record.jti], [first.jti, first.jti, first.jti]);

  // revoke by prefix, refresh by #N.
  assert.match(cli.run(['revoke', second.jti.slice(0, 10), '--reason', 'leaked']).stdout, new RegExp(`revoked #${second.id} +revoked ${second.jti}`));
  const refreshed = cli.ok(['refresh', `#${third.id}`]);
  assert.match(refreshed.stdout, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/);
  const after = rows();
  assert.deepEqual(
    after.map((r) => [r.container, r.status]),
    [
      ['w-0', 'active'],
      ['w-1', 'revoked'],
      ['w-2', 'revoked'],
      ['w-2', 'active'],
    ],
  );

  // Bad ids: each a specific error, nothing changes. Two jtis made to share a prefix (the ledger
  // file edited directly, as someone with the workspace could) make that prefix ambiguous.
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(path.join(dir, 'ws', 'castellan.db'));
  db.prepare('UPDATE tokens SET jti = ? WHERE id = ?').run(`abcd1234-${first.jti.slice(9)}`, first.id);
  db.prepare('UPDATE tokens SET jti = ? WHERE id = ?').run(`abcd5678-${second.jti.slice(9)}`, second.id);
  db.close();
  const cases: [string[], RegExp][] = [
    [['tokens', 'show', 'abcd'], /^castellan: "abcd" is ambiguous: 2 tokens have a jti starting with it; give more characters, the whole jti, or #N\n$/],
    [['revoke', 'abcd', '--reason', 'leaked'], /"abcd" is ambiguous: 2 tokens/],
    [['tokens', 'show', 'abc'], /give at least 4 characters of a jti, or #N/],
    [['tokens', 'show', '#0'], /#N takes a ledger number/],
    [['tokens', 'show', '#99'], /no token #99 in the ledger/],
    [['tokens', 'show', 'ffffffff-none'], /no token with jti "ffffffff-none" in the ledger, nor one whose jti starts with it/],
    [['refresh', 'abcd5678'], /was already revoked \(leaked\)/],
  ];
  for (const [args, message] of cases) {
    const r = cli.run(['--passphrase-env', 'PP', ...args]);
    assert.equal(r.status, 2, `castellan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(
    rows().map((r) => r.status),
    after.map((r) => r.status),
  );
  // The unambiguous longer prefix still works.
  assert.equal((JSON.parse(cli.run(['tokens', 'show', 'abcd1', '--json']).stdout) as { record: Row }).record.id, first.id);
});

test('refusals that need no key come before the passphrase: no active key, no service, a TTL beyond policy', () => {
  const { cli } = prepared();
  // No --passphrase-env and stdin is not a terminal: had the CLI tried to unlock, it would say
  // "a secret is needed". It names the real problem instead, without unlocking anything.
  const cases: [string[], RegExp][] = [
    [['mint', 'storefront', 'web', 'web-0'], /^castellan: there is no active zlayer key: import the daemon’s secret/],
    [['mint', 'storefront', 'web', 'web-0', '--profile', 'ed25519'], /^castellan: there is no active ed25519 key: create one/],
    [['mint-batch', 'storefront', 'worker', '--containers', 'a,b'], /^castellan: there is no active zlayer key/],
    [['mint', 'storefront', 'nope', 'x'], /^castellan: deployment "storefront" has no service "nope"/],
    [['mint', 'storefront', 'worker', 'worker-0', '--ttl', '99999'], /longer than the 3600 s/],
    [['keys', 'export-zlayer-secret', '--out', 'never.key'], /^castellan: there is no active zlayer key/],
    [['export', 'revocations'], /^castellan: the revocation list is signed with an asymmetric key, and there is no active ed25519 or es256 key/],
  ];
  const check = ([args, message]: [string[], RegExp]) => {
    const r = cli.run(args);
    assert.equal(r.status, 2, `castellan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /secret is needed|passphrase/i);
  };
  cases.forEach(check);
  cli.ok(['keys', 'create', '--profile', 'es256']);
  check([['keys', 'create', '--profile', 'es256'], /^castellan: profile es256 already has an active key \(es256-[0-9a-f]+\); rotate it to replace it/]);
});

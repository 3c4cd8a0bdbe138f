/**
 * The headless CLI, run as a real child process (`node electron/cli/castellan.ts …`) against
 * real workspaces in temp folders. The CLI uses full-strength scrypt, so only a handful of
 * commands here unlock the vault; the rest copy a prepared workspace instead of re-creating it.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Audit } from '../../electron/core/workspace/audit.ts';
import { tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'electron/cli/castellan.ts');
// The samples ship in the clone (samples/); tests never read the design folder beside it.
const SAMPLES = path.join(REPO, 'samples');

const PASSPHRASE = 'correct horse battery staple 7';
const SECOND_PASSPHRASE = 'a second, different passphrase 8';
const WRONG_PASSPHRASE = 'this is not the passphrase 9';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with piped (non-TTY) stdin and a clean environment. */
function cli(args: string[], opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Nothing of the test runner's own Castellan settings, and no inherited test-runner context.
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  env.P = PASSPHRASE;
  env.Q = SECOND_PASSPHRASE;
  env.WRONG = WRONG_PASSPHRASE;
  if (opts.dataDir !== undefined) env.CASTELLAN_DATA_DIR = opts.dataDir;
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

/** Asserts the exit code, showing the output when it is not the expected one. */
async function expectExit(pending: Promise<Run>, code: number): Promise<Run> {
  const run = await pending;
  assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

async function json<T = unknown>(pending: Promise<Run>): Promise<T> {
  const run = await expectExit(pending, 0);
  return JSON.parse(run.stdout) as T;
}

function assertNoSecretIn(run: Run): void {
  for (const secret of [PASSPHRASE, SECOND_PASSPHRASE, WRONG_PASSPHRASE]) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), 'a passphrase was printed');
  }
}

/**
 * What a workspace holds, read in this process straight from its database file (cheaper than
 * another CLI run); the audit chain must verify.
 */
function stateOf(dataDir: string): { audit: number; slots: number; deployments: string[] } {
  const db = new DatabaseSync(path.join(dataDir, 'castellan.db'));
  try {
    const result = new Audit(db, { user: 'test', kind: 'cli' }).verify();
    assert.ok(result.ok, JSON.stringify(result));
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      audit: result.count,
      slots: count('SELECT count(*) AS n FROM vault_slots'),
      deployments: (db.prepare('SELECT name FROM deployments ORDER BY name').all() as { name: string }[]).map(
        (r) => r.name,
      ),
    };
  } finally {
    db.close();
  }
}

function auditCount(dataDir: string): number {
  return stateOf(dataDir).audit;
}

interface PolicyJson {
  scopes: { resource_kind: string; resource_id: string | null; level: string }[];
  ttl_secs: number;
  mount_socket: boolean;
  diagnostics: { label: string; code: string; message: string }[];
  findings: { severity: string; deployment: string; service: string; code: string }[];
}

function policy(dataDir: string, deployment: string, service: string): Promise<PolicyJson> {
  return json<PolicyJson>(cli(['policy', 'show', deployment, service, '--json'], { dataDir }));
}

function scopeStrings(p: PolicyJson): string[] {
  return p.scopes.map((s) => `${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`);
}

// The tests are independent (each works on its own folder), so they run side by side.
describe('castellan CLI', { concurrency: 2 }, () => {
  /** An initialised workspace holding both samples, prepared once; tests work on copies. */
  let prepared = '';

  before(async () => {
    prepared = path.join(tempDir('castellan-cli-'), 'ws');
    await expectExit(cli(['init', '--passphrase-env', 'P'], { dataDir: prepared }), 0);
    await expectExit(cli(['deployments', 'import', SAMPLES], { dataDir: prepared }), 0);
  });

  /** A private copy of the prepared workspace (closed, so the database file is complete). */
  function workspaceCopy(): string {
    const dir = path.join(tempDir('castellan-cli-'), 'ws');
    fs.cpSync(prepared, dir, { recursive: true });
    return dir;
  }

  // ---------------------------------------------------------------------------
  // init and the workspace folder
  // ---------------------------------------------------------------------------

  test('init creates a private workspace (folder 0700, database 0600); a second init is refused', async () => {
    const dataDir = path.join(tempDir('castellan-cli-'), 'new-ws');
    const run = await expectExit(cli(['init', '--passphrase-env', 'P'], { dataDir }), 0);
    assert.equal(run.stdout, `initialised workspace ${dataDir}\n`);
    assertNoSecretIn(run);
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dataDir, 'castellan.db')).mode & 0o777, 0o600);

    const again = await expectExit(cli(['init', '--passphrase-env', 'P'], { dataDir }), 2);
    assert.equal(again.stderr, `castellan: the workspace at ${dataDir} is already initialised\n`);
    assert.equal(again.stdout, '');
    assert.deepEqual(stateOf(dataDir), { audit: 1, slots: 1, deployments: [] });
  });

  test('init with piped stdin and no --passphrase-env refuses instead of reading a secret from the pipe', async () => {
    const dataDir = path.join(tempDir('castellan-cli-'), 'ws');
    const run = await expectExit(cli(['init'], { dataDir }), 2);
    assert.match(run.stderr, /a secret is needed: pass --passphrase-env VAR/);
    assert.equal(stateOf(dataDir).slots, 0);
  });

  test('--data-dir wins over CASTELLAN_DATA_DIR', async () => {
    const dataDir = workspaceCopy();
    const envDir = path.join(tempDir('castellan-cli-'), 'from-env');
    const list = await json<{ name: string }[]>(
      cli(['deployments', 'list', '--json', '--data-dir', dataDir], { dataDir: envDir }),
    );
    assert.deepEqual(
      list.map((d) => d.name),
      ['ci-runners', 'storefront'],
    );
    assert.equal(fs.existsSync(envDir), false, 'the CASTELLAN_DATA_DIR workspace was never created');
  });

  // ---------------------------------------------------------------------------
  // deployments
  // ---------------------------------------------------------------------------

  test('deployments import of the samples folder, then list --json shows both with their services and labels', async () => {
    const dataDir = path.join(tempDir('castellan-cli-'), 'ws');
    const run = await expectExit(cli(['deployments', 'import', SAMPLES], { dataDir }), 0);
    assert.equal(run.stdout, 'imported 2 deployment(s): ci-runners, storefront\n');
    assert.equal(run.stderr, '', 'two specs print no progress lines');

    const list = await json<
      { name: string; source_file: string; services: { name: string; labels: Record<string, string> }[] }[]
    >(cli(['deployments', 'list', '--json'], { dataDir }));
    assert.deepEqual(
      list.map((d) => [d.name, d.source_file, d.services.map((s) => s.name)]),
      [
        ['ci-runners', path.join(SAMPLES, 'ci-runners.yaml'), ['janitor', 'runner']],
        ['storefront', path.join(SAMPLES, 'storefront.yaml'), ['cache', 'web', 'worker']],
      ],
    );
    assert.deepEqual(list[1]!.services[2]!.labels, {
      'zlayer.io/api-scopes': 'deployment:storefront:read',
      'zlayer.io/api-token-ttl': '3600',
    });

    const text = (await expectExit(cli(['deployments', 'list'], { dataDir }), 0)).stdout;
    assert.match(text, /^ci-runners {2}\(2 services, from .*ci-runners\.yaml\)$/m);
    assert.match(text, /^ {4}zlayer\.io\/daemon-socket=true$/m);
    assert.equal(auditCount(dataDir), 2);
  });

  test('re-importing an existing deployment exits 2 with CONFLICT and imports nothing; --replace replaces', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const run = await expectExit(cli(['deployments', 'import', path.join(SAMPLES, 'storefront.yaml')], { dataDir }), 2);
    assert.match(
      run.stderr,
      /^castellan: deployment "storefront" .*already exists in this workspace.*nothing was imported\n$/,
    );
    assert.equal(auditCount(dataDir), count);

    const replaced = await expectExit(
      cli(['deployments', 'import', '--replace', path.join(SAMPLES, 'storefront.yaml')], { dataDir }),
      0,
    );
    assert.equal(replaced.stdout, 'imported 1 deployment(s): storefront\n');
    assert.equal(auditCount(dataDir), count + 1);
  });

  test('importing a missing path or a bad spec exits 2 with the reason, and nothing changes', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const missing = path.join(tempDir(), 'nope');
    assert.equal(
      (await expectExit(cli(['deployments', 'import', missing], { dataDir }), 2)).stderr,
      `castellan: ${missing}: no such file or folder\n`,
    );

    const folder = tempDir('castellan-specs-');
    fs.writeFileSync(path.join(folder, 'a.yaml'), 'deployment: alpha\nservices:\n  web: {}\n');
    fs.writeFileSync(
      path.join(folder, 'b.yaml'),
      'deployment: beta\nservices:\n  web:\n    labels:\n      zlayer.io/api-token-ttl: 3600\n',
    );
    const bad = await expectExit(cli(['deployments', 'import', folder], { dataDir }), 2);
    assert.match(bad.stderr, /b\.yaml:5:32: label "zlayer\.io\/api-token-ttl" must be a string, got a number/);
    assert.deepEqual(stateOf(dataDir).deployments, ['ci-runners', 'storefront']);
    assert.equal(auditCount(dataDir), count);
  });

  test('deployments export --out gives the sample back byte for byte; to stdout as well', async () => {
    const dataDir = workspaceCopy();
    const out = path.join(tempDir(), 'storefront.yaml');
    const run = await expectExit(cli(['deployments', 'export', 'storefront', '--out', out], { dataDir }), 0);
    assert.equal(run.stdout, '');
    assert.deepEqual(fs.readFileSync(out), fs.readFileSync(path.join(SAMPLES, 'storefront.yaml')));
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['storefront.yaml'], 'no temp file is left beside it');
    const stdout = (await expectExit(cli(['deployments', 'export', 'ci-runners'], { dataDir }), 0)).stdout;
    assert.equal(stdout, fs.readFileSync(path.join(SAMPLES, 'ci-runners.yaml'), 'utf8'));
  });

  test('an export to a folder that does not exist exits 2 with a clear message and audits nothing', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const out = path.join(tempDir(), 'missing-folder', 'storefront.yaml');
    const run = await expectExit(cli(['deployments', 'export', 'storefront', '--out', out], { dataDir }), 2);
    assert.equal(run.stderr, `castellan: cannot write ${out}: its folder does not exist\n`);
    assert.equal(auditCount(dataDir), count);
    const unknown = await expectExit(cli(['deployments', 'export', 'nope'], { dataDir }), 2);
    assert.equal(unknown.stderr, 'castellan: no deployment "nope" in this workspace\n');
    assert.equal(auditCount(dataDir), count);
  });

  // ---------------------------------------------------------------------------
  // policy
  // ---------------------------------------------------------------------------

  test('policy show --json for ci-runners/janitor: scopes, ttl, socket, diagnostics and findings', async () => {
    const dataDir = workspaceCopy();
    const p = await policy(dataDir, 'ci-runners', 'janitor');
    for (const key of ['scopes', 'ttl_secs', 'mount_socket', 'diagnostics', 'findings']) {
      assert.ok(Object.hasOwn(p, key), `missing ${key}`);
    }
    for (const scope of p.scopes)
      assert.deepEqual(Object.keys(scope).sort(), ['level', 'resource_id', 'resource_kind']);
    assert.deepEqual(p.scopes, [
      { resource_kind: 'container', resource_id: null, level: 'write' },
      { resource_kind: 'image', resource_id: null, level: 'read' },
    ]);
    assert.equal(p.ttl_secs, 86400);
    assert.equal(p.mount_socket, false);
    assert.deepEqual(
      p.diagnostics.map((d) => [d.label, d.code]),
      [
        ['zlayer.io/api-scopes', 'scope-too-few-segments'],
        ['zlayer.io/api-token-ttl', 'ttl-not-a-number'],
      ],
    );
    assert.ok(Array.isArray(p.findings));
  });

  test('policy show for ci-runners/runner: the daemon socket, a week and the four scopes', async () => {
    const dataDir = workspaceCopy();
    const p = await policy(dataDir, 'ci-runners', 'runner');
    assert.equal(p.mount_socket, true);
    assert.equal(p.ttl_secs, 604800);
    assert.deepEqual(scopeStrings(p), ['deployment:*:write', 'job:build:execute', 'image:*:write', 'secret:ci:read']);
    assert.ok(p.findings.some((f) => f.severity === 'critical' && f.code === 'daemon-socket'));
  });

  test('policy set-label fixes the janitor TTL; unset-label removes a label; both are audited', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const set = await expectExit(
      cli(['policy', 'set-label', 'ci-runners', 'janitor', 'zlayer.io/api-token-ttl', '3600'], { dataDir }),
      0,
    );
    assert.match(set.stdout, /ttl: +3600 s/);
    let p = await policy(dataDir, 'ci-runners', 'janitor');
    assert.equal(p.ttl_secs, 3600);
    assert.ok(!p.diagnostics.some((d) => d.label === 'zlayer.io/api-token-ttl'), JSON.stringify(p.diagnostics));
    assert.ok(
      p.diagnostics.some((d) => d.code === 'scope-too-few-segments'),
      'the scopes diagnostic stays',
    );
    assert.match(
      (await expectExit(cli(['deployments', 'export', 'ci-runners'], { dataDir }), 0)).stdout,
      /\n {6}zlayer\.io\/api-token-ttl: "3600"\n/,
    );

    await expectExit(cli(['policy', 'unset-label', 'ci-runners', 'janitor', 'zlayer.io/api-scopes'], { dataDir }), 0);
    p = await policy(dataDir, 'ci-runners', 'janitor');
    assert.deepEqual(scopeStrings(p), ['deployment:ci-runners:read', 'container:*:write', 'image:*:write']);
    assert.deepEqual(p.diagnostics, []);
    // set-label, export, unset-label
    assert.equal(auditCount(dataDir), count + 3);
  });

  test('policy edits of unknown things exit 2 and change nothing', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const cases: [string[], string][] = [
      [['policy', 'set-label', 'nope', 'web', 'k', 'v'], 'castellan: no deployment "nope" in this workspace\n'],
      [
        ['policy', 'set-label', 'storefront', 'nope', 'k', 'v'],
        'castellan: deployment "storefront" has no service "nope"\n',
      ],
      [
        ['policy', 'unset-label', 'storefront', 'web', 'zlayer.io/api-scopes'],
        'castellan: service storefront/web has no label "zlayer.io/api-scopes"\n',
      ],
    ];
    for (const [args, stderr] of cases) {
      const run = await expectExit(cli(args, { dataDir }), 2);
      assert.equal(run.stderr, stderr, args.join(' '));
    }
    assert.equal(auditCount(dataDir), count);
  });

  test('policy findings --json flags ci-runners/runner as critical', async () => {
    const dataDir = workspaceCopy();
    const findings = await json<PolicyJson['findings']>(cli(['policy', 'findings', '--json'], { dataDir }));
    assert.ok(
      findings.some(
        (f) =>
          f.severity === 'critical' &&
          f.deployment === 'ci-runners' &&
          f.service === 'runner' &&
          f.code === 'daemon-socket',
      ),
      JSON.stringify(findings),
    );
    assert.ok(
      !findings.some((f) => f.deployment === 'storefront' && f.service === 'worker'),
      'the narrowed worker has no findings',
    );
  });

  // ---------------------------------------------------------------------------
  // audit
  // ---------------------------------------------------------------------------

  test('audit verify unlocks, authenticates the entries written while locked, and counts them', async () => {
    const dataDir = workspaceCopy();
    const run = await expectExit(cli(['--passphrase-env', 'P', 'audit', 'verify'], { dataDir }), 0);
    // init + two imports (written without a passphrase: sealed by this unlock)
    assert.equal(run.stdout, 'audit chain OK: 3 entries, all authenticated; records OK\n');
    // Without the passphrase nothing can be authenticated: it asks for one rather than say OK.
    const locked = await expectExit(cli(['audit', 'verify'], { dataDir }), 2);
    assert.match(locked.stderr, /a secret is needed: pass --passphrase-env VAR/);
  });

  test('audit list: newest first, who/what/when per line, filters, JSON, and bad options refused', async () => {
    const dataDir = workspaceCopy();
    const all = await json<{ total: number; rows: { seq: number; action: string; actor_user: string; actor_host?: string }[] }>(
      cli(['audit', 'list', '--json', '--limit', '1000'], { dataDir }),
    );
    assert.ok(all.total >= 3, `init and the imports: ${all.total}`);
    assert.deepEqual(
      all.rows.map((r) => r.seq),
      [...all.rows.map((r) => r.seq)].sort((a, b) => b - a),
      'newest first',
    );
    const text = (await expectExit(cli(['audit', 'list', '--limit', '2'], { dataDir }), 0)).stdout.trimEnd().split('\n');
    assert.equal(text.length, 3);
    assert.match(text[0]!, new RegExp(`^#${all.rows[0]!.seq}  \\S+  .+ \\((?:cli|app)\\)  ${all.rows[0]!.action.replaceAll('.', '\\.')}  `));
    assert.equal(text[2], `2 of ${all.total} entries`);
    const imports = await json<{ rows: { action: string }[] }>(cli(['audit', 'list', '--action', 'DEPLOYMENT', '--json'], { dataDir }));
    assert.ok(imports.rows.length > 0 && imports.rows.every((r) => r.action.startsWith('deployment.')));
    const byActor = await json<{ total: number }>(cli(['audit', 'list', '--actor', all.rows[0]!.actor_user, '--json'], { dataDir }));
    assert.equal(byActor.total, all.rows.filter((r) => r.actor_user === all.rows[0]!.actor_user).length);
    const nobody = await json<{ total: number }>(cli(['audit', 'list', '--actor', 'nobody-at-all', '--json'], { dataDir }));
    assert.equal(nobody.total, 0);

    const zero = await expectExit(cli(['audit', 'list', '--limit', '0'], { dataDir }), 1);
    assert.match(zero.stderr, /--limit must be a whole number from 1 to 10000, not "0"/);
    const since = await cli(['audit', 'list', '--since', 'last tuesday'], { dataDir });
    assert.notEqual(since.code, 0);
    assert.match(since.stderr, /since must be a date, e.g. 2026-01-31T00:00:00Z/);
  });

  test('audit export as CSV and as JSONL: header, one line per entry, the export itself included', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);

    const csv = (await expectExit(cli(['--passphrase-env', 'P', 'audit', 'export', '--format', 'csv'], { dataDir }), 0))
      .stdout;
    const rows = csv.split('\r\n');
    assert.equal(rows.pop(), '', 'the CSV ends with CRLF');
    assert.equal(rows[0], 'seq,ts,actor_user,actor_kind,action,target,details,prev_hash,hash,actor_admin,actor_host');
    // header, the entries, the export itself, and the signed checkpoint row last
    assert.equal(rows.length, 1 + count + 1 + 1);
    assert.match(rows.at(-2)!, new RegExp(`^${count + 1},[^,]+,[^,]+,cli,audit\\.export,audit,`));
    assert.match(rows.at(-1)!, new RegExp(`^checkpoint,[^,]+,,,audit\\.checkpoint,audit,"\\{""count"":${count + 1},`));

    const out = path.join(tempDir(), 'audit.jsonl');
    await expectExit(cli(['--passphrase-env', 'P', 'audit', 'export', '--format', 'jsonl', '--out', out], { dataDir }), 0);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const lines = fs.readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    const checkpoint = (JSON.parse(lines.pop()!) as { checkpoint: { count: number; head: string } }).checkpoint;
    assert.equal(checkpoint.count, count + 2);
    const entries = lines.map((l) => JSON.parse(l) as { seq: number; action: string; details: unknown });
    assert.deepEqual(
      entries.map((e) => e.seq),
      Array.from({ length: count + 2 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      entries.map((e) => e.action),
      ['vault.initialize', 'deployment.import', 'deployment.import', 'audit.export', 'audit.export'],
    );
    assert.equal(checkpoint.head, (entries.at(-1) as unknown as { hash: string }).hash);
    assert.equal(auditCount(dataDir), count + 2);
    // A later log extends the export's checkpoint.
    const against = await expectExit(cli(['--passphrase-env', 'P', 'audit', 'verify', '--against', out], { dataDir }), 0);
    assert.match(against.stdout, new RegExp(`extends the checkpoint of .* \\(${count + 2} entries\\)`));
  });

  test('audit export with a bad or missing --format is a usage error (exit 1) and appends nothing', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const xml = await expectExit(cli(['audit', 'export', '--format', 'xml'], { dataDir }), 1);
    assert.equal(
      xml.stderr,
      'castellan: --format must be jsonl or csv, not "xml"\nusage: castellan audit export --format jsonl|csv [--out FILE]\n',
    );
    assert.equal(xml.stdout, '');
    const none = await expectExit(cli(['audit', 'export'], { dataDir }), 1);
    assert.match(none.stderr, /^castellan: --format is required: jsonl or csv\n/);
    assert.equal(auditCount(dataDir), count);
  });

  // ---------------------------------------------------------------------------
  // usage errors
  // ---------------------------------------------------------------------------

  test('usage errors exit 1 with a clear message and never open the workspace', async () => {
    const dataDir = path.join(tempDir('castellan-cli-'), 'never-created');
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^castellan: unknown command "frobnicate"\nrun "castellan help" for the list of commands\n$/],
      [['polcy', 'show', 'a', 'b'], /^castellan: unknown command "polcy show"; did you mean "policy show"\?\n/],
      [['tokens'], /^castellan: "tokens" needs a subcommand: tokens list, tokens show\n/],
      [[], /^castellan \S+: the Castellan credential authority, headless\n/],
      [
        ['policy', 'show', 'ci-runners'],
        /^castellan: expected 2 argument\(s\), got 1\nusage: castellan policy show DEPLOYMENT SERVICE \[--json\]\n$/,
      ],
      [['deployments', 'list', '--bogus'], /^castellan: Unknown option '--bogus'/],
      [['vault', 'remove-slot', 'abc'], /^castellan: "abc" is not a slot id/],
    ];
    for (const [args, stderr] of cases) {
      const run = await expectExit(cli(args, { dataDir }), 1);
      assert.match(run.stderr, stderr, args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
    }
    assert.equal(fs.existsSync(dataDir), false);
  });

  // ---------------------------------------------------------------------------
  // the vault and secrets
  // ---------------------------------------------------------------------------

  test('vault slots lists the one passphrase slot', async () => {
    const dataDir = workspaceCopy();
    const text = (await expectExit(cli(['vault', 'slots'], { dataDir }), 0)).stdout;
    assert.match(text, /^vault: initialised\n {2}#1 {2}passphrase /);
    const status = await json<{ initialized: boolean; unlocked: boolean; slots: { id: number; kind: string }[] }>(
      cli(['vault', 'slots', '--json'], { dataDir }),
    );
    assert.deepEqual(
      status.slots.map((s) => [s.id, s.kind]),
      [[1, 'passphrase']],
    );
    assert.equal(status.unlocked, false);
  });

  test('vault add-passphrase with the right passphrase adds a second slot', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const run = await expectExit(
      cli(['vault', 'add-passphrase', '--passphrase-env', 'P', '--new-passphrase-env', 'Q'], { dataDir }),
      0,
    );
    assert.match(run.stdout, /^added passphrase slot #2 /);
    assertNoSecretIn(run);
    const status = await json<{ slots: { kind: string }[] }>(cli(['vault', 'slots', '--json'], { dataDir }));
    assert.deepEqual(
      status.slots.map((s) => s.kind),
      ['passphrase', 'passphrase'],
    );
    assert.ok(auditCount(dataDir) > count, 'the new slot is audited');
  });

  test('vault add-passphrase with a wrong passphrase exits 2 and adds no slot', async () => {
    const dataDir = workspaceCopy();
    const count = auditCount(dataDir);
    const run = await expectExit(
      cli(['vault', 'add-passphrase', '--passphrase-env', 'WRONG', '--new-passphrase-env', 'Q'], { dataDir }),
      2,
    );
    assert.equal(run.stderr, 'castellan: wrong passphrase\n');
    assertNoSecretIn(run);
    const status = await json<{ slots: unknown[] }>(cli(['vault', 'slots', '--json'], { dataDir }));
    assert.equal(status.slots.length, 1);
    // The only entry added is the failed attempt itself (kind, source, count; never the passphrase).
    assert.equal(auditCount(dataDir), count + 1);
    const db = new DatabaseSync(path.join(dataDir, 'castellan.db'));
    try {
      const last = db.prepare('SELECT action, actor_kind, details FROM audit ORDER BY seq DESC LIMIT 1').get() as {
        action: string;
        actor_kind: string;
        details: string;
      };
      assert.deepEqual([last.action, last.actor_kind], ['vault.unlock.failed', 'cli']);
      assert.deepEqual(JSON.parse(last.details), { kind: 'passphrase', source: 'cli', failures: 1, retry_after_s: 0 });
    } finally {
      db.close();
    }
  });

  test('--passphrase-env naming an unset variable exits 2, naming the variable and no value', async () => {
    const dataDir = workspaceCopy();
    const run = await expectExit(
      cli(['vault', 'add-passphrase', '--passphrase-env', 'UNSET_VAR', '--new-passphrase-env', 'Q'], { dataDir }),
      2,
    );
    assert.equal(
      run.stderr,
      'castellan: --passphrase-env names UNSET_VAR, but that environment variable is empty or unset\n',
    );
    assertNoSecretIn(run);
    // The same for the new passphrase, with the current one right.
    const next = await expectExit(
      cli(['vault', 'add-passphrase', '--passphrase-env', 'P', '--new-passphrase-env', 'ALSO_UNSET'], { dataDir }),
      2,
    );
    assert.equal(
      next.stderr,
      'castellan: --new-passphrase-env names ALSO_UNSET, but that environment variable is empty or unset\n',
    );
    assertNoSecretIn(next);
    assert.equal(stateOf(dataDir).slots, 1);
  });
});

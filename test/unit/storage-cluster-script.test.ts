/**
 * scripts/pg-test-cluster.sh run -- CMD: the command gets a working cluster URL, and afterwards
 * nothing is left (no server, no data or socket folder) whether it passed, failed or was killed;
 * the wrapper exits with the command's status. Needs PostgreSQL's initdb on this machine (the
 * script installs it with apt-get as root, which a unit test should not do); without it the
 * tests report why they did not run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(REPO, 'scripts/pg-test-cluster.sh');
const TMP = path.join(REPO, '.tmp');

function hasPostgres(): boolean {
  if (spawnSync('sh', ['-c', 'command -v initdb && command -v pg_ctl'], { stdio: 'ignore' }).status === 0) return true;
  try {
    return fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return false;
  }
}

const SKIP = hasPostgres()
  ? false
  : 'NOT RUN: PostgreSQL (initdb, pg_ctl) is not installed here; scripts/pg-test-cluster.sh installs it as root';

/** The cluster folders the script has made in .tmp/ (other runs' included: compare before/after). */
function clusterFolders(): Set<string> {
  fs.mkdirSync(TMP, { recursive: true });
  return new Set(fs.readdirSync(TMP).filter((n) => /^pg-[A-Za-z0-9]{6}$/.test(n)));
}

function socketOf(url: string): string {
  const host = new URL(url).searchParams.get('host');
  assert.ok(host, `no socket folder in ${url}`);
  return host;
}

test("run -- CMD gives CMD a live cluster, removes it afterwards and exits with CMD's status", { skip: SKIP }, () => {
  const before = clusterFolders();
  const r = spawnSync(
    SCRIPT,
    [
      'run',
      '--',
      'sh',
      '-c',
      'test -S "${CASTELLAN_TEST_DATABASE_URL#*host=}/.s.PGSQL.5432" || exit 99; echo "$CASTELLAN_TEST_DATABASE_URL"; exit 7',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 7, `stderr: ${r.stderr}`);
  const url = r.stdout.trim();
  assert.match(url, /^postgres:\/\/castellan@localhost\/castellan\?host=\/\S+$/);
  assert.ok(socketOf(url).length <= 92, 'the socket path fits in sun_path');
  assert.equal(fs.existsSync(socketOf(url)), false, 'the socket folder is removed');
  assert.deepEqual(
    [...clusterFolders()].filter((n) => !before.has(n)),
    [],
    'the data folder is removed',
  );
});

test('a killed run still stops the server and removes its folders', { skip: SKIP }, async () => {
  const before = clusterFolders();
  const child = spawn(SCRIPT, ['run', '--', 'sh', '-c', 'echo "$CASTELLAN_TEST_DATABASE_URL"; exec sleep 300'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`the wrapper exited (${code}) before the command started`)));
  });
  const dataDirs = [...clusterFolders()].filter((n) => !before.has(n));
  assert.equal(dataDirs.length, 1, 'one cluster folder while it runs');
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'the wrapper dies of the signal it got');
  assert.equal(fs.existsSync(socketOf(url)), false, 'the socket folder is removed');
  assert.equal(fs.existsSync(path.join(TMP, dataDirs[0]!)), false, 'the data folder is removed');
});

test('run without a command is refused with its usage', () => {
  const r = spawnSync(SCRIPT, ['run', '--'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /usage: pg-test-cluster.sh run -- COMMAND/);
  const bad = spawnSync(SCRIPT, ['bogus'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /usage: pg-test-cluster.sh start \| stop \| url \| run/);
});

const isRoot = process.getuid?.() === 0;
const canDropToNobody =
  isRoot && spawnSync('sh', ['-c', 'command -v runuser && id nobody'], { stdio: 'ignore' }).status === 0;
const SKIP_NOBODY =
  SKIP ||
  (canDropToNobody ? false : 'NOT RUN: needs root with runuser and a `nobody` user to run the script as a normal user');

test(
  'as a normal user the script runs the cluster as that user (and a long checkout path gets a short socket folder)',
  { skip: SKIP_NOBODY },
  () => {
    // A checkout owned by `nobody`, deep enough that its .tmp/ socket path would not fit.
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-nobody-'));
    try {
      const checkout = path.join(base, 'x'.repeat(60), 'repo');
      fs.mkdirSync(path.join(checkout, 'scripts'), { recursive: true });
      fs.copyFileSync(SCRIPT, path.join(checkout, 'scripts/pg-test-cluster.sh'));
      fs.chmodSync(path.join(checkout, 'scripts/pg-test-cluster.sh'), 0o755);
      spawnSync('chown', ['-R', 'nobody', base]);
      // Every folder above the checkout must be searchable by nobody (mkdtemp makes them 0700).
      for (let dir = base; dir !== REPO && dir.startsWith(REPO); dir = path.dirname(dir)) fs.chmodSync(dir, 0o755);
      const r = spawnSync(
        'runuser',
        [
          '-u',
          'nobody',
          '--',
          path.join(checkout, 'scripts/pg-test-cluster.sh'),
          'run',
          '--',
          'sh',
          '-c',
          'id -un; echo "$CASTELLAN_TEST_DATABASE_URL"; stat -c %U "${CASTELLAN_TEST_DATABASE_URL#*host=}/.s.PGSQL.5432"',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const [user, url, socketOwner] = r.stdout.trim().split('\n');
      assert.equal(user, 'nobody');
      assert.equal(socketOwner, 'nobody', 'the server runs as the calling user');
      const socketDir = socketOf(url ?? '');
      assert.match(socketDir, /^\/tmp\/cpg\.\w{6}$/, 'the too-long path fell back to a short mktemp folder');
      assert.equal(fs.existsSync(socketDir), false, 'the short socket folder is removed');
      assert.deepEqual(fs.readdirSync(path.join(checkout, '.tmp')), [], 'nothing left in the checkout');
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  },
);

test(
  'start prints the URL and refuses a second cluster; url repeats it; stop removes everything',
  { skip: SKIP },
  (t) => {
    const state = path.join(TMP, 'pg-cluster.env');
    if (fs.existsSync(state)) {
      t.skip('NOT RUN: a cluster started with `scripts/pg-test-cluster.sh start` is running in this checkout');
      return;
    }
    const before = clusterFolders();
    const started = spawnSync(SCRIPT, ['start'], { encoding: 'utf8' });
    try {
      assert.equal(started.status, 0, started.stderr);
      const url = started.stdout.trim();
      assert.match(url, /^postgres:\/\/castellan@localhost\/castellan\?host=\/\S+$/);
      assert.ok(fs.existsSync(path.join(socketOf(url), '.s.PGSQL.5432')), 'the server listens on the socket');
      assert.equal(spawnSync(SCRIPT, ['url'], { encoding: 'utf8' }).stdout.trim(), url);
      const again = spawnSync(SCRIPT, ['start'], { encoding: 'utf8' });
      assert.equal(again.status, 1);
      assert.match(again.stderr, /a cluster is already running: postgres:\/\/\S+ \(stop it first\)/);
      const stopped = spawnSync(SCRIPT, ['stop'], { encoding: 'utf8' });
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.equal(fs.existsSync(socketOf(url)), false, 'the socket folder is removed');
      assert.equal(fs.existsSync(state), false, 'the state file is removed');
      assert.deepEqual(
        [...clusterFolders()].filter((n) => !before.has(n)),
        [],
        'the data folder is removed',
      );
      assert.match(spawnSync(SCRIPT, ['url'], { encoding: 'utf8' }).stderr, /no cluster is running/);
    } finally {
      if (fs.existsSync(state)) spawnSync(SCRIPT, ['stop']);
    }
  },
);

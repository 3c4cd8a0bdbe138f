/**
 * `castellan backup` and `castellan restore`, as real CLI processes on real workspaces.
 *
 * The backups are taken while another CLI process mints in a loop (mint-batch after mint-batch,
 * each its own process and transaction), so each copy is cut at whatever moment the minting has
 * reached. Every backup must still be a whole, consistent workspace: its audit chain verifies,
 * and its ledger and its audit log agree token for token. Then a backup is restored and used.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Audit } from '../../electron/core/workspace/audit.ts';
import { SAMPLES_DIR } from '../harness/seed.ts';
import { tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'electron/cli/castellan.ts');
const PASSPHRASE = 'a passphrase for the backup test 3';

type Run = { status: number | null; stdout: string; stderr: string };

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) e[k] = v;
  return { ...e, P: PASSPHRASE };
}

function cli(args: string[], input = ''): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: env(), input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input = ''): Run {
  const r = cli(args, input);
  assert.equal(r.status, 0, `castellan ${args.join(' ')}: ${r.stderr}`);
  return r;
}

function tokenCount(dbFile: string): number {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * A workspace database is consistent when its audit chain verifies and every ledger row has
 * exactly one `token.mint` entry with the same jti and SHA-256 (and no entry lacks its row).
 */
function assertConsistent(dbFile: string): { tokens: number; jtis: Set<string> } {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    const verified = new Audit(db, { user: 'test', kind: 'cli' }).verify();
    assert.ok(verified.ok, `${path.basename(dbFile)}: ${JSON.stringify(verified)}`);
    const rows = db.prepare('SELECT jti, token_sha256 FROM tokens ORDER BY id').all() as {
      jti: string;
      token_sha256: string;
    }[];
    const mints = (
      db.prepare("SELECT details FROM audit WHERE action = 'token.mint' ORDER BY seq").all() as { details: string }[]
    ).map((r) => JSON.parse(r.details) as { jti: string; sha256: string });
    assert.equal(
      mints.length,
      rows.length,
      `${path.basename(dbFile)}: ${rows.length} ledger rows, ${mints.length} mint entries`,
    );
    const audited = new Map(mints.map((m) => [m.jti, m.sha256]));
    for (const row of rows)
      assert.equal(audited.get(row.jti), row.token_sha256, `token ${row.jti} and its mint entry agree`);
    return { tokens: rows.length, jtis: new Set(rows.map((r) => r.jti)) };
  } finally {
    db.close();
  }
}

describe('backup while another process mints, then restore', () => {
  let root = '';
  let ws = '';
  let minter: ChildProcess | null = null;
  let minted = '';
  const backups: string[] = [];

  function stopMinter(): Promise<void> {
    const child = minter;
    minter = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      process.kill(-child.pid!, 'SIGTERM');
    });
  }

  before(async () => {
    root = tempDir('castellan-backup-');
    ws = path.join(root, 'ws');
    ok(['--data-dir', ws, 'init', '--passphrase-env', 'P']);
    ok(['--data-dir', ws, 'deployments', 'import', SAMPLES_DIR]);
    ok(['--data-dir', ws, '--passphrase-env', 'P', 'keys', 'create', '--profile', 'zlayer']);

    // The minter: a shell loop of real CLI processes, each minting a batch of 200 tokens in one
    // transaction. Its own process group, so stopping it stops the CLI it is running too.
    const script =
      'i=0; while :; do seq -f "b$i-%g" 1 200 | "$NODE" "$CLI" --data-dir "$WS" --passphrase-env P ' +
      'mint-batch storefront web --containers-file - || exit 1; i=$((i+1)); done';
    minter = spawn('bash', ['-c', script], {
      env: { ...env(), NODE: process.execPath, CLI, WS: ws },
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    minter.stdout!.setEncoding('utf8').on('data', (d: string) => (minted += d));

    // Three backups, each once the ledger has grown since the one before, the minter running throughout.
    const dbFile = path.join(ws, 'castellan.db');
    let last = 0;
    for (let n = 1; n <= 3; n++) {
      while (tokenCount(dbFile) <= last) await new Promise((r) => setTimeout(r, 100));
      const out = path.join(root, `backup-${n}.db`);
      const r = cli(['--data-dir', ws, 'backup', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `^backed up ${ws} to ${out} \\(\\d+ bytes, \\d+ tokens, audit chain of \\d+ entries verified\\)\\n$`,
        ),
      );
      backups.push(out);
      last = tokenCount(out);
    }
    await stopMinter();
  });

  after(stopMinter);

  test('every backup opens, its audit chain verifies, and its ledger and audit agree token for token', () => {
    const counts = backups.map((b) => assertConsistent(b).tokens);
    assert.ok(counts[0]! > 0, 'the first backup holds tokens');
    assert.ok(counts[0]! < counts[1]! && counts[1]! < counts[2]!, `each backup later than the one before: ${counts}`);
    for (const b of backups) assert.equal(fs.statSync(b).mode & 0o777, 0o600, 'a backup holds sealed keys: 0600');
    for (const b of backups) assert.equal(fs.existsSync(`${b}-wal`), false, 'a backup is one file');
    // The live workspace kept going, and recorded each backup in its own audit log.
    const live = assertConsistent(path.join(ws, 'castellan.db'));
    assert.ok(live.tokens >= counts[2]!);
    const db = new DatabaseSync(path.join(ws, 'castellan.db'), { readOnly: true });
    const entries = db.prepare("SELECT details FROM audit WHERE action = 'workspace.backup' ORDER BY seq").all() as {
      details: string;
    }[];
    db.close();
    assert.deepEqual(
      entries.map((e) => (JSON.parse(e.details) as { file: string }).file),
      backups,
    );
  });

  test('restore into a new folder; the restored workspace verifies and a token from the backup is valid', () => {
    const target = path.join(root, 'restored');
    const backup = backups[1]!;
    const { tokens, jtis } = assertConsistent(backup);
    const r = ok(['--data-dir', target, 'restore', backup]);
    assert.equal(
      r.stdout,
      `restored ${target} from ${backup} (${tokens} tokens, audit chain of ${auditCount(backup) + 1} entries verified)\n`,
    );
    const restored = assertConsistent(path.join(target, 'castellan.db'));
    assert.deepEqual(restored.jtis, jtis);
    // Verifying authenticates the entries and records, so it unlocks the vault.
    assert.match(
      ok(['--data-dir', target, '--passphrase-env', 'P', 'audit', 'verify']).stdout,
      /^audit chain OK: \d+ entries, all authenticated; records OK/,
    );
    const list = JSON.parse(ok(['--data-dir', target, 'tokens', 'list', '--json', '--limit', '1']).stdout) as {
      total: number;
    };
    assert.equal(list.total, tokens);

    // A token the minter printed that the backup holds: valid in the restored workspace.
    const lines = minted.split('\n').filter((l) => l.includes('\t'));
    const first = lines[0]!.split('\t')[1]!;
    const inspected = cli(['--data-dir', target, '--passphrase-env', 'P', 'inspect', '-'], first);
    assert.equal(inspected.status, 0, inspected.stderr);
    assert.match(inspected.stdout, /^verdict: valid$/m);
    const db = new DatabaseSync(path.join(target, 'castellan.db'), { readOnly: true });
    const last = db.prepare('SELECT action, details FROM audit ORDER BY seq DESC LIMIT 1').get() as {
      action: string;
      details: string;
    };
    db.close();
    assert.equal(last.action, 'workspace.restore');
    assert.equal((JSON.parse(last.details) as { from: string }).from, backup);
  });

  test('restore over an existing workspace: refused without --force, refused while open, then replaces it and keeps the old one', () => {
    const target = path.join(root, 'existing');
    ok(['--data-dir', target, 'restore', backups[0]!]);
    const dbFile = path.join(target, 'castellan.db');
    const before = fs.readFileSync(dbFile);

    const noForce = cli(['--data-dir', target, 'restore', backups[2]!]);
    assert.equal(noForce.status, 2);
    assert.match(noForce.stderr, /^castellan: a workspace already exists at .*; restore --force replaces it/);
    assert.deepEqual(fs.readFileSync(dbFile), before);

    // Another process with the workspace open (here: this one, as the app would hold it).
    const holder = new DatabaseSync(dbFile);
    holder.exec('PRAGMA journal_mode = WAL');
    holder.prepare('SELECT count(*) FROM tokens').get();
    try {
      const busy = cli(['--data-dir', target, 'restore', '--force', backups[2]!]);
      assert.equal(busy.status, 2);
      assert.match(busy.stderr, /is in use by another process \(the app, a CLI or a server\); close it and try again/);
    } finally {
      holder.close();
    }
    assert.equal(tokenCount(dbFile), tokenCount(backups[0]!));

    const forced = ok(['--data-dir', target, 'restore', '--force', backups[2]!]);
    const kept = /the replaced database is kept as (.+)\n$/.exec(forced.stdout)?.[1];
    assert.ok(kept && fs.existsSync(kept), forced.stdout);
    assert.equal(tokenCount(kept), tokenCount(backups[0]!), 'the old database is kept whole');
    assert.equal(tokenCount(dbFile), tokenCount(backups[2]!));
    assertConsistent(dbFile);
  });

  test('bad backups are refused with a clear reason and change nothing', () => {
    const bad = path.join(root, 'bad');
    fs.mkdirSync(bad);
    const garbage = path.join(bad, 'garbage.db');
    fs.writeFileSync(garbage, 'this is not a database at all, just some text long enough');
    const truncated = path.join(bad, 'truncated.db');
    const whole = fs.readFileSync(backups[0]!);
    fs.writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const tampered = path.join(bad, 'tampered.db');
    fs.copyFileSync(backups[0]!, tampered);
    const db = new DatabaseSync(tampered);
    // The append-only triggers are no obstacle to someone who can write the file.
    for (const { name } of db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")
      .all() as { name: string }[]) {
      db.exec(`DROP TRIGGER "${name}"`);
    }
    db.prepare(
      "UPDATE audit SET details = json_set(details, '$.subject', 'container:web:forged') WHERE action = 'token.mint' AND seq = (SELECT min(seq) FROM audit WHERE action = 'token.mint')",
    ).run();
    const seq = (db.prepare("SELECT min(seq) AS s FROM audit WHERE action = 'token.mint'").get() as { s: number }).s;
    db.close();
    const plainSqlite = path.join(bad, 'plain.db');
    const plain = new DatabaseSync(plainSqlite);
    plain.exec('CREATE TABLE t (x)');
    plain.close();

    const target = path.join(root, 'never');
    const cases: [string, RegExp][] = [
      [garbage, /^castellan: .*garbage\.db is not a Castellan backup \(not an SQLite database\)\n$/],
      [truncated, /^castellan: .*truncated\.db (is damaged|cannot be read as a Castellan backup)/],
      [tampered, new RegExp(`^castellan: .*tampered\\.db: its audit chain is broken at entry ${seq}: `)],
      [plainSqlite, /^castellan: .*plain\.db is an SQLite database but not a Castellan workspace\n$/],
      [path.join(bad, 'missing.db'), /^castellan: cannot read .*missing\.db: no such file\n$/],
    ];
    for (const [file, message] of cases) {
      const r = cli(['--data-dir', target, 'restore', file]);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(fs.existsSync(target), false, `${path.basename(file)}: no workspace folder is left behind`);
    }
    // Nor over an existing workspace, even with --force.
    const existing = path.join(root, 'restored');
    const before = fs.readFileSync(path.join(existing, 'castellan.db'));
    assert.equal(cli(['--data-dir', existing, 'restore', '--force', tampered]).status, 2);
    assert.deepEqual(fs.readFileSync(path.join(existing, 'castellan.db')), before);
    assert.deepEqual(
      fs.readdirSync(existing).filter((f) => f.includes('restore')),
      [],
      'no staging or kept file',
    );
  });

  test('backup refuses an existing file, a missing workspace, and stdout', () => {
    const existing = path.join(root, 'taken.db');
    fs.writeFileSync(existing, 'keep me');
    const r = cli(['--data-dir', ws, 'backup', '--out', existing]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /taken\.db already exists; a backup never overwrites a file/);
    assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');

    const none = path.join(root, 'no-such-workspace');
    const missing = cli(['--data-dir', none, 'backup', '--out', path.join(root, 'x.db')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /there is no workspace at .* to back up/);
    assert.equal(fs.existsSync(none), false);
    assert.equal(fs.existsSync(path.join(root, 'x.db')), false);

    assert.equal(cli(['--data-dir', ws, 'backup']).status, 1);
    assert.equal(cli(['--data-dir', ws, 'backup', '--out', '-']).status, 1);
    const inside = cli(['--data-dir', ws, 'backup', '--out', path.join(ws, 'copy.db')]);
    assert.equal(inside.status, 2);
    assert.match(inside.stderr, /write the backup outside the workspace folder/);
  });
});

function auditCount(dbFile: string): number {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CastellanError } from '../../shared/errors.ts';
import type { Actor } from '../../electron/core/workspace/actor.ts';
import { auditEntryHash, canonicalJson } from '../../electron/core/workspace/audit.ts';
import type { AuditDetails, AuditEntry } from '../../electron/core/workspace/audit.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const APP: Actor = { user: 'alice', kind: 'app' };
const CLI: Actor = { user: 'bob', kind: 'cli' };

function openWorkspace(actor: Actor = APP, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-'))): Workspace {
  return Workspace.open(dir, { actor });
}

function expectError(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CastellanError, `expected a CastellanError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

function append(ws: Workspace, action: string, target: string, details: AuditDetails = {}): AuditEntry {
  return ws.transaction(() => ws.audit.append({ action, target, details }));
}

function appendTen(ws: Workspace): void {
  for (let i = 1; i <= 10; i++) append(ws, 'test.event', `item:${i}`, { n: i });
}

function auditRows(ws: Workspace): Record<string, unknown>[] {
  return ws.db.prepare('SELECT * FROM audit ORDER BY seq').all() as Record<string, unknown>[];
}

/** An attacker with the file can drop our guard triggers; the chain must still catch them. */
function dropGuards(ws: Workspace): void {
  ws.db.exec('DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete;');
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A small RFC 4180 reader, so the export is checked by parsing, not by string matching. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else {
      field += c;
    }
    i += 1;
  }
  assert.equal(field, '', 'the CSV must end with CRLF');
  return records;
}

test('canonicalJson sorts keys at every depth and adds no whitespace', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } }),
    '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
  );
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.equal(canonicalJson([]), '[]');
  assert.equal(canonicalJson({}), '{}');
  assert.equal(canonicalJson('line\n"quoted" é \u2028'), JSON.stringify('line\n"quoted" é \u2028'));
  assert.equal(canonicalJson({ B: 1, a: 2, _: 3 }), '{"B":1,"_":3,"a":2}');
  assert.equal(canonicalJson(1e21), '1e+21');
  assert.equal(canonicalJson(-0.5), '-0.5');
});

test('canonicalJson refuses values JSON cannot carry faithfully', () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  for (const bad of [
    undefined,
    [undefined],
    { a: Number.NaN },
    { a: Number.POSITIVE_INFINITY },
    { a: new Date(0) },
    { a: () => 1 },
    { a: 1n },
    new Map(),
  ]) {
    assert.throws(() => canonicalJson(bad), expectError('INTERNAL'), `should refuse ${String(bad)}`);
  }
});

test('entries chain from 64 zeros, count up from 1, and hash their canonical form', () => {
  const ws = openWorkspace();
  try {
    const first = append(ws, 'vault.initialize', 'vault', { slot: 1 });
    const second = append(ws, 'token.issue', 'deployment:shop', { service: 'web', count: 2 });
    assert.equal(first.seq, 1);
    assert.equal(first.prev_hash, '0'.repeat(64));
    assert.equal(second.seq, 2);
    assert.equal(second.prev_hash, first.hash);
    assert.match(first.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(first.actor_user, 'alice');
    assert.equal(first.actor_kind, 'app');

    const expected = sha256(
      `{"action":"token.issue","actor_host":${JSON.stringify(os.hostname())},"actor_kind":"app","actor_user":"alice","details":{"count":2,"service":"web"},` +
        `"prev_hash":"${first.hash}","seq":2,"target":"deployment:shop","ts":"${second.ts}"}`,
    );
    assert.equal(second.hash, expected);

    const stored = auditRows(ws)[1]!;
    assert.equal(stored.details, '{"count":2,"service":"web"}');
    assert.equal(stored.hash, expected);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 2 });
  } finally {
    ws.close();
  }
});

test('append outside a transaction is refused', () => {
  const ws = openWorkspace();
  try {
    assert.throws(
      () => ws.audit.append({ action: 'x', target: 'y', details: {} }),
      expectError('INTERNAL', /transaction/),
    );
    assert.equal(auditRows(ws).length, 0);
  } finally {
    ws.close();
  }
});

test('details that could hold a secret are refused and nothing is written', () => {
  const ws = openWorkspace();
  try {
    const cases: AuditDetails[] = [
      { token: 'abc' },
      { jwt_secret: 'abc' },
      { passphrase: 'correct horse' },
      { nested: { private_key: 'x' } },
      { list: [{ key_material: 'x' }] },
      { refreshToken: 'x' },
      { password: 'x' },
      { note: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----' },
      { note: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' },
    ];
    for (const details of cases) {
      assert.throws(
        () => append(ws, 'test.secret', 'x', details),
        expectError('INTERNAL', /never hold secrets/),
        JSON.stringify(details),
      );
    }
    assert.equal(auditRows(ws).length, 0);
    assert.equal(ws.db.prepare("SELECT count(*) AS n FROM meta WHERE key LIKE 'audit_%'").get()!.n, 0);
  } finally {
    ws.close();
  }
});

test('empty action or target, or non-object details, are refused', () => {
  const ws = openWorkspace();
  try {
    assert.throws(() => append(ws, '', 'x'), expectError('INTERNAL', /action/));
    assert.throws(() => append(ws, 'x', ' '), expectError('INTERNAL', /target/));
    assert.throws(() => append(ws, 'x', 'y', [] as unknown as AuditDetails), expectError('INTERNAL', /object/));
    assert.equal(auditRows(ws).length, 0);
  } finally {
    ws.close();
  }
});

test('our own code cannot rewrite or delete an entry by accident', () => {
  const ws = openWorkspace();
  try {
    appendTen(ws);
    assert.throws(() => ws.db.exec("UPDATE audit SET target = 'x' WHERE seq = 3"), /append-only/);
    assert.throws(() => ws.db.exec('DELETE FROM audit WHERE seq = 3'), /append-only/);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 10 });
  } finally {
    ws.close();
  }
});

test('editing entry 6 is reported as broken at 6', () => {
  const ws = openWorkspace();
  try {
    appendTen(ws);
    dropGuards(ws);
    ws.db.exec(`UPDATE audit SET details = '{"n":666}' WHERE seq = 6`);
    const result = ws.audit.verify();
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.brokenAt, 6);
    assert.equal(result.count, 10);
    assert.match(result.reason, /entry 6 was altered/);
  } finally {
    ws.close();
  }
});

test('editing other fields of an entry, or re-spelling its details, is caught at that entry', () => {
  for (const [column, value] of [
    ['ts', '2020-01-01T00:00:00.000Z'],
    ['actor_user', 'mallory'],
    ['action', 'other'],
    ['target', 'item:x'],
    ['details', '{ "n": 4 }'],
  ] as const) {
    const ws = openWorkspace();
    try {
      appendTen(ws);
      dropGuards(ws);
      ws.db.prepare(`UPDATE audit SET ${column} = ? WHERE seq = 4`).run(value);
      const result = ws.audit.verify();
      assert.ok(!result.ok, column);
      assert.equal(result.brokenAt, 4, column);
    } finally {
      ws.close();
    }
  }
});

test('an entry rewritten with a fresh hash breaks the link from the next one', () => {
  const ws = openWorkspace();
  try {
    appendTen(ws);
    dropGuards(ws);
    const row = auditRows(ws)[5]!;
    const forged = {
      seq: 6,
      ts: row.ts,
      actor_user: row.actor_user,
      actor_kind: row.actor_kind,
      actor_host: row.actor_host,
      action: row.action,
      target: row.target,
      details: { n: 666 },
      prev_hash: row.prev_hash,
    };
    ws.db
      .prepare('UPDATE audit SET details = ?, hash = ? WHERE seq = 6')
      .run('{"n":666}', sha256(canonicalJson(forged)));
    const result = ws.audit.verify();
    assert.ok(!result.ok);
    assert.equal(result.brokenAt, 7);
    assert.match(result.reason, /entry 7 does not link to entry 6/);
  } finally {
    ws.close();
  }
});

test('a deleted entry is reported missing at its own number', () => {
  const ws = openWorkspace();
  try {
    appendTen(ws);
    dropGuards(ws);
    ws.db.exec('DELETE FROM audit WHERE seq = 6');
    const result = ws.audit.verify();
    assert.ok(!result.ok);
    assert.equal(result.brokenAt, 6);
    assert.equal(result.count, 9);
    assert.match(result.reason, /entry 6 is missing: entry 7 comes after entry 5/);
  } finally {
    ws.close();
  }
});

test('deleting the first entry, or the last ones, is caught too', () => {
  const first = openWorkspace();
  try {
    appendTen(first);
    dropGuards(first);
    first.db.exec('DELETE FROM audit WHERE seq = 1');
    const result = first.audit.verify();
    assert.ok(!result.ok);
    assert.equal(result.brokenAt, 1);
  } finally {
    first.close();
  }
  const tail = openWorkspace();
  try {
    appendTen(tail);
    dropGuards(tail);
    tail.db.exec('DELETE FROM audit WHERE seq >= 9');
    const result = tail.audit.verify();
    assert.ok(!result.ok);
    assert.equal(result.brokenAt, 9);
    assert.match(result.reason, /entries 9 to 10 are missing from the end/);
  } finally {
    tail.close();
  }
});

test('list filters by action, target, actor, text and time, and pages newest first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-'));
  const app = openWorkspace(APP, dir);
  const cli = openWorkspace(CLI, dir);
  try {
    append(app, 'vault.initialize', 'vault', { slot: 1 });
    append(cli, 'token.issue', 'deployment:shop', { service: 'web' });
    append(cli, 'token.revoke', 'deployment:shop', { reason: '100%_done' });
    append(app, 'token.issue', 'deployment:blog', { service: 'api' });

    const all = app.audit.list({ limit: 10 });
    assert.equal(all.total, 4);
    assert.deepEqual(
      all.rows.map((r) => r.seq),
      [4, 3, 2, 1],
    );
    assert.deepEqual(all.rows[0]!.details, { service: 'api' });

    assert.deepEqual(
      app.audit.list({ action: 'token.issue', limit: 10 }).rows.map((r) => r.seq),
      [4, 2],
    );
    assert.deepEqual(
      app.audit.list({ target: 'deployment:shop', limit: 10 }).rows.map((r) => r.seq),
      [3, 2],
    );
    assert.deepEqual(
      app.audit.list({ actor: 'bob', limit: 10 }).rows.map((r) => r.seq),
      [3, 2],
    );
    assert.deepEqual(
      app.audit.list({ text: 'API', limit: 10 }).rows.map((r) => r.seq),
      [4],
    );
    // % and _ are literal in a text search, not wildcards.
    assert.deepEqual(
      app.audit.list({ text: '0%_d', limit: 10 }).rows.map((r) => r.seq),
      [3],
    );
    assert.deepEqual(
      app.audit.list({ text: '%', limit: 10 }).rows.map((r) => r.seq),
      [3],
    );
    assert.deepEqual(
      app.audit.list({ actor: 'bob', action: 'token.issue', limit: 10 }).rows.map((r) => r.seq),
      [2],
    );
    // The Action filter of the page: part of the name, any case, as the search box matches.
    assert.deepEqual(
      app.audit.list({ action_contains: 'token', limit: 10 }).rows.map((r) => r.seq),
      [4, 3, 2],
    );
    assert.deepEqual(
      app.audit.list({ action_contains: 'REVO', limit: 10 }).rows.map((r) => r.seq),
      [3],
    );
    assert.equal(app.audit.list({ action_contains: '_', limit: 10 }).total, 0, '_ is literal, not a wildcard');
    assert.equal(app.audit.list({ action_contains: 'token', limit: 1 }).total, 3);
    assert.equal(app.audit.list({ action_contains: '', limit: 10 }).total, 4);

    const page = app.audit.list({ limit: 2, offset: 1 });
    assert.equal(page.total, 4);
    assert.deepEqual(
      page.rows.map((r) => r.seq),
      [3, 2],
    );

    const ts3 = all.rows.find((r) => r.seq === 3)!.ts;
    const fromThree = app.audit.list({ since: ts3, limit: 10 }).rows.map((r) => r.seq);
    assert.ok(fromThree.includes(3) && fromThree.includes(4));
    assert.ok(app.audit.list({ until: ts3, limit: 10 }).rows.every((r) => r.ts < ts3));
    assert.deepEqual(app.audit.list({ since: '2999-01-01T00:00:00Z', limit: 10 }), { rows: [], total: 0 });
    assert.equal(app.audit.list({ until: '2000-01-01', limit: 10 }).total, 0);
  } finally {
    app.close();
    cli.close();
  }
});

test('list refuses a bad limit, offset or date', () => {
  const ws = openWorkspace();
  try {
    append(ws, 'a', 'b');
    for (const query of [{ limit: 0 }, { limit: 1.5 }, { limit: 10_001 }, { limit: 10, offset: -1 }]) {
      assert.throws(() => ws.audit.list(query), expectError('INVALID_INPUT'), JSON.stringify(query));
    }
    assert.throws(() => ws.audit.list({ limit: 10, since: 'yesterday-ish' }), expectError('INVALID_INPUT', /since/));
    assert.throws(() => ws.audit.list({ limit: 10, until: 'nope' }), expectError('INVALID_INPUT', /until/));
  } finally {
    ws.close();
  }
});

test('JSONL export has one canonical entry per line that re-hashes to its hash', () => {
  const ws = openWorkspace();
  try {
    assert.equal(ws.audit.exportJsonl(), '');
    append(ws, 'vault.initialize', 'vault', { slot: 1 });
    append(ws, 'deployment.import', 'deployment:shop', { file: 'shop.yaml', services: ['web', 'db'] });
    const text = ws.audit.exportJsonl();
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    let prev = '0'.repeat(64);
    lines.forEach((line, i) => {
      const entry = JSON.parse(line) as AuditEntry;
      assert.equal(line, canonicalJson(entry));
      assert.equal(entry.seq, i + 1);
      assert.equal(entry.prev_hash, prev);
      const { hash, ...body } = entry;
      assert.equal(sha256(canonicalJson(body)), hash);
      prev = hash;
    });
    const second = JSON.parse(lines[1]!) as AuditEntry;
    assert.deepEqual(second.details, { file: 'shop.yaml', services: ['web', 'db'] });
    assert.equal(second.target, 'deployment:shop');
    assert.equal(second.actor_user, 'alice');
  } finally {
    ws.close();
  }
});

test('CSV export has a header, CRLF rows, RFC 4180 quoting and inert formulas', () => {
  const ws = openWorkspace();
  try {
    append(ws, 'deployment.import', 'deployment:"shop", the big one\r\nsecond line', { note: 'line1\nline2' });
    append(ws, 'deployment.import', '=HYPERLINK("http://x")', {});
    const text = ws.audit.exportCsv();
    assert.ok(text.startsWith('seq,ts,actor_user,actor_kind,action,target,details,prev_hash,hash,actor_admin,actor_host\r\n'));
    assert.ok(text.includes('"deployment:""shop"", the big one\r\nsecond line"'));
    const records = parseCsv(text);
    assert.equal(records.length, 3);
    assert.deepEqual(records[0], [
      'seq',
      'ts',
      'actor_user',
      'actor_kind',
      'action',
      'target',
      'details',
      'prev_hash',
      'hash',
      'actor_admin',
      'actor_host',
    ]);
    const rows = auditRows(ws);
    const first = records[1]!;
    assert.deepEqual(first, [
      '1',
      String(rows[0]!.ts),
      'alice',
      'app',
      'deployment.import',
      'deployment:"shop", the big one\r\nsecond line',
      '{"note":"line1\\nline2"}',
      '0'.repeat(64),
      String(rows[0]!.hash),
      '',
      String(rows[0]!.actor_host),
    ]);
    assert.equal(records[2]![5], `'=HYPERLINK("http://x")`);
    assert.equal(records[2]![8], rows[1]!.hash);
  } finally {
    ws.close();
  }
});

// --- The head of the chain is kept per transaction (audit.ts, Workspace.transaction) ---

function metaHead(ws: Workspace): { seq: string | undefined; hash: string | undefined } {
  const value = (key: string) =>
    (ws.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  return { seq: value('audit_head_seq'), hash: value('audit_head_hash') };
}

test('append hashes exactly as auditEntryHash does, whatever the details hold', () => {
  const ws = openWorkspace({ user: 'zoë "quoted" \u2028', kind: 'cli' });
  try {
    const details: AuditDetails[] = [
      {},
      { b: 1, a: [true, null, { z: 'x', y: -0.5 }], c: 'line\n"é" \u2028 \ud83d\ude00' },
      { nested: { deeper: { deepest: [1e21, 0, -3] } }, skipped: undefined },
      { B: 'upper before lower', _: 'underscore', a: '' },
    ];
    for (const [i, d] of details.entries()) {
      const entry = append(ws, `test.hash.${i}`, `target:"${i}"\t\u00fc`, d);
      const { hash, ...body } = entry;
      assert.equal(hash, auditEntryHash(body), `entry ${entry.seq}`);
      assert.equal(hash, sha256(canonicalJson(body)), `entry ${entry.seq}`);
    }
    assert.deepEqual(ws.audit.verify(), { ok: true, count: details.length });
  } finally {
    ws.close();
  }
});

test('many entries in one transaction chain correctly, and the head is written once, at commit', () => {
  const ws = openWorkspace();
  try {
    append(ws, 'test.before', 'x');
    const before = metaHead(ws);
    assert.equal(before.seq, '1');
    const entries = ws.transaction(() => {
      const made: AuditEntry[] = [];
      for (let i = 0; i < 25; i++)
        made.push(ws.audit.append({ action: 'test.many', target: `item:${i}`, details: { i } }));
      // Not written per entry: meta still names the committed head until COMMIT...
      assert.deepEqual(metaHead(ws), before);
      // ...but verify() inside the transaction sees the head the transaction will commit.
      assert.deepEqual(ws.audit.verify(), { ok: true, count: 26 });
      return made;
    });
    entries.forEach((e, i) => {
      assert.equal(e.seq, i + 2);
      assert.equal(e.prev_hash, i === 0 ? before.hash : entries[i - 1]!.hash);
    });
    assert.deepEqual(metaHead(ws), { seq: '26', hash: entries[24]!.hash });
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 26 });
  } finally {
    ws.close();
  }
});

test('a rolled-back savepoint takes its entries off the cached head; the chain stays whole', () => {
  const ws = openWorkspace();
  try {
    const [a, c] = ws.transaction(() => {
      const first = ws.audit.append({ action: 'test.a', target: 'a' });
      assert.throws(() =>
        ws.transaction(() => {
          ws.audit.append({ action: 'test.b', target: 'b' });
          ws.transaction(() => ws.audit.append({ action: 'test.b2', target: 'b2' }));
          throw new Error('inner fails');
        }),
      );
      // A savepoint that commits keeps its entry.
      ws.transaction(() => ws.audit.append({ action: 'test.c', target: 'c' }));
      const last = ws.audit.append({ action: 'test.d', target: 'd' });
      return [first, last];
    });
    assert.equal(a.seq, 1);
    assert.equal(c.seq, 3);
    assert.deepEqual(
      auditRows(ws).map((r) => r.action),
      ['test.a', 'test.c', 'test.d'],
    );
    assert.deepEqual(metaHead(ws), { seq: '3', hash: c.hash });
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 3 });

    // A savepoint rolled back before anything was appended in the transaction.
    ws.transaction(() => {
      assert.throws(() =>
        ws.transaction(() => {
          ws.audit.append({ action: 'test.e', target: 'e' });
          throw new Error('fails');
        }),
      );
      ws.audit.append({ action: 'test.f', target: 'f' });
    });
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 4 });
    assert.equal(metaHead(ws).seq, '4');
  } finally {
    ws.close();
  }
});

test('after a rollback the next transaction continues from the committed head', () => {
  const ws = openWorkspace();
  try {
    append(ws, 'test.one', 'x');
    assert.throws(() =>
      ws.transaction(() => {
        ws.audit.append({ action: 'test.lost', target: 'x' });
        ws.audit.append({ action: 'test.lost', target: 'y' });
        throw new Error('boom');
      }),
    );
    const next = append(ws, 'test.two', 'x');
    assert.equal(next.seq, 2);
    assert.equal(next.prev_hash, auditRows(ws)[0]!.hash);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 2 });
  } finally {
    ws.close();
  }
});

test('entries another process appended between our transactions are chained onto, not overwritten', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castellan-'));
  const app = openWorkspace(APP, dir);
  const cli = openWorkspace(CLI, dir);
  try {
    for (let i = 0; i < 3; i++) {
      app.transaction(() => {
        app.audit.append({ action: 'test.app', target: `a:${i}` });
        app.audit.append({ action: 'test.app', target: `b:${i}` });
      });
      append(cli, 'test.cli', `c:${i}`);
    }
    assert.deepEqual(app.audit.verify(), { ok: true, count: 9 });
    assert.deepEqual(cli.audit.verify(), { ok: true, count: 9 });
    assert.deepEqual(
      auditRows(app).map((r) => r.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  } finally {
    app.close();
    cli.close();
  }
});

test('a transaction the workspace does not manage still gets the head written with each entry', () => {
  const ws = openWorkspace();
  try {
    append(ws, 'test.managed', 'x');
    ws.db.exec('BEGIN IMMEDIATE');
    const first = ws.audit.append({ action: 'test.raw', target: 'y' });
    assert.deepEqual(metaHead(ws), { seq: '2', hash: first.hash });
    const second = ws.audit.append({ action: 'test.raw', target: 'z' });
    assert.equal(second.prev_hash, first.hash);
    ws.db.exec('COMMIT');
    assert.deepEqual(metaHead(ws), { seq: '3', hash: second.hash });
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 3 });
    assert.equal(append(ws, 'test.managed', 'x').seq, 4);
    assert.deepEqual(ws.audit.verify(), { ok: true, count: 4 });
  } finally {
    ws.close();
  }
});

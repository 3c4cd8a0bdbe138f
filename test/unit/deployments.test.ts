/**
 * The deployments store, in process, against a real workspace (SQLite file in a temp folder)
 * and the ZLayer sample specs in the repository's samples/ folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CastellanError } from '../../shared/errors.ts';
import { formatScope } from '../../shared/policy/scopes.ts';
import type { ServicePolicy } from '../../electron/core/deployments/deployments.ts';
import {
  allPolicies,
  exportDeployment,
  getService,
  importDeployments,
  listDeployments,
  readSpecFiles,
  servicePolicy,
  setLabel,
  setLabels,
  unsetLabel,
} from '../../electron/core/deployments/deployments.ts';
import type { Workspace } from '../../electron/core/workspace/workspace.ts';
import { openTestWorkspace, tempDir } from '../harness/services.ts';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const CI_RUNNERS_FILE = path.join(SAMPLES, 'ci-runners.yaml');
const STOREFRONT_FILE = path.join(SAMPLES, 'storefront.yaml');

const RUNNER_LABELS = {
  'zlayer.io/api-scopes': 'deployment:*:write, job:build:execute, image:write, secret:ci:read',
  'zlayer.io/api-token-ttl': '604800',
  'zlayer.io/daemon-socket': 'true',
  'zlayer.io/docker-socket': 'true',
};
const JANITOR_LABELS = {
  'zlayer.io/api-scopes': 'container::write, garbage, image:*:READ',
  'zlayer.io/api-token-ttl': 'not-a-number',
  'zlayer.io/daemon-socket': 'no',
};
const JANITOR_FIXED = {
  'zlayer.io/api-scopes': 'container:ci-runners:write, image:*:read',
  'zlayer.io/api-token-ttl': '7200',
  'zlayer.io/daemon-socket': 'false',
};

/** A workspace holding the two samples, imported as one folder. */
function sampleWorkspace(): Workspace {
  const ws = openTestWorkspace();
  const names = importDeployments(ws, readSpecFiles(SAMPLES));
  assert.deepEqual(names, ['ci-runners', 'storefront']);
  return ws;
}

/** Everything the store may change: both tables in full, plus the audit log's size and head. */
function snapshot(ws: Workspace) {
  return {
    deployments: ws.db.prepare('SELECT * FROM deployments ORDER BY name').all(),
    services: ws.db.prepare('SELECT * FROM services ORDER BY deployment, name').all(),
    audit: ws.db
      .prepare(
        'SELECT count(*) AS n, max(seq) AS head, (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1) AS hash FROM audit',
      )
      .get(),
  };
}

function auditCount(ws: Workspace): number {
  return (ws.db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
}

function lastAudit(ws: Workspace): { action: string; target: string; details: unknown } {
  const row = ws.db.prepare('SELECT action, target, details FROM audit ORDER BY seq DESC LIMIT 1').get() as {
    action: string;
    target: string;
    details: string;
  };
  return { action: row.action, target: row.target, details: JSON.parse(row.details) };
}

function assertChainOk(ws: Workspace, count: number): void {
  assert.deepEqual(ws.audit.verify(), { ok: true, count });
}

function expectError(code: string, message: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof CastellanError, `expected a CastellanError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function scopesOf(p: ServicePolicy): string[] {
  return p.access.scopes.map(formatScope);
}

/** Writes `files` (name → text) into a new temp folder and returns it. */
function specFolder(files: Record<string, string>): string {
  const dir = tempDir('castellan-specs-');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function spec(name: string, labels: Record<string, string> = {}): string {
  const lines = Object.entries(labels).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}\n`);
  return `version: v1\ndeployment: ${name}\nservices:\n  app:\n    rtype: service\n    image:\n      name: busybox:latest\n${lines.length > 0 ? `    labels:\n${lines.join('')}` : ''}`;
}

/** Runs `fn`, which must throw `code`/`message`, and checks that nothing in the workspace moved. */
function assertRefusedUnchanged(ws: Workspace, fn: () => unknown, code: string, message: RegExp): void {
  const before = snapshot(ws);
  assert.throws(fn, expectError(code, message));
  assert.deepEqual(snapshot(ws), before);
  assert.equal(ws.audit.verify().ok, true);
}

// ---------------------------------------------------------------------------
// Importing the samples and reading them back
// ---------------------------------------------------------------------------

test('a folder import brings in both samples with every service and its labels, one audit entry each', () => {
  const ws = sampleWorkspace();
  try {
    const list = listDeployments(ws);
    assert.deepEqual(
      list.map((d) => [d.name, d.source_file]),
      [
        ['ci-runners', CI_RUNNERS_FILE],
        ['storefront', STOREFRONT_FILE],
      ],
    );
    const services = list.flatMap((d) => d.services.map((s) => ({ ...s })));
    assert.deepEqual(services, [
      { deployment: 'ci-runners', name: 'janitor', rtype: 'cron', replicas: null, labels: JANITOR_LABELS },
      { deployment: 'ci-runners', name: 'runner', rtype: 'job', replicas: null, labels: RUNNER_LABELS },
      { deployment: 'storefront', name: 'cache', rtype: 'service', replicas: 1, labels: {} },
      { deployment: 'storefront', name: 'web', rtype: 'service', replicas: 2, labels: { 'zlayer.team': 'commerce' } },
      {
        deployment: 'storefront',
        name: 'worker',
        rtype: 'service',
        replicas: 3,
        labels: { 'zlayer.io/api-scopes': 'deployment:storefront:read', 'zlayer.io/api-token-ttl': '3600' },
      },
    ]);
    for (const d of list) assert.ok(!Number.isNaN(Date.parse(d.imported_at)), d.imported_at);

    const entries = ws.db.prepare('SELECT action, target, details FROM audit ORDER BY seq').all() as {
      action: string;
      target: string;
      details: string;
    }[];
    assert.deepEqual(
      entries.map((e) => [e.action, e.target, JSON.parse(e.details)]),
      [
        ['deployment.import', 'deployment:ci-runners', { file: CI_RUNNERS_FILE, services: ['runner', 'janitor'] }],
        ['deployment.import', 'deployment:storefront', { file: STOREFRONT_FILE, services: ['web', 'worker', 'cache'] }],
      ],
    );
    assertChainOk(ws, 2);
  } finally {
    ws.close();
  }
});

test('a freshly imported spec exports byte for byte as it was read', () => {
  const ws = sampleWorkspace();
  try {
    assert.equal(exportDeployment(ws, 'storefront'), fs.readFileSync(STOREFRONT_FILE, 'utf8'));
    assert.equal(exportDeployment(ws, 'ci-runners'), fs.readFileSync(CI_RUNNERS_FILE, 'utf8'));
    assert.equal(lastAudit(ws).action, 'deployment.export');
    assertChainOk(ws, 4);
  } finally {
    ws.close();
  }
});

test('ci-runners/runner: four label scopes, a week-long token and the daemon socket', () => {
  const ws = sampleWorkspace();
  try {
    const p = servicePolicy(ws, 'ci-runners', 'runner');
    assert.deepEqual(scopesOf(p), ['deployment:*:write', 'job:build:execute', 'image:*:write', 'secret:ci:read']);
    assert.deepEqual(p.access.scopes[2], { resource_kind: 'image', resource_id: null, level: 'write' });
    assert.equal(p.access.ttl_secs, 604800);
    assert.equal(p.access.mount_socket, true);
    assert.equal(p.access.docker_socket, true);
    assert.equal(p.access.scopes_source, 'label');
    assert.deepEqual(p.access.diagnostics, []);
    assert.ok(p.findings.some((f) => f.severity === 'critical' && f.code === 'daemon-socket'));
    assert.ok(p.findings.some((f) => f.code === 'long-ttl'));
  } finally {
    ws.close();
  }
});

test('ci-runners/janitor: the garbage entry is skipped, the TTL falls back, two scopes remain', () => {
  const ws = sampleWorkspace();
  try {
    const p = servicePolicy(ws, 'ci-runners', 'janitor');
    assert.deepEqual(scopesOf(p), ['container:*:write', 'image:*:read']);
    assert.equal(p.access.ttl_secs, 86400);
    assert.equal(p.access.mount_socket, false);
    const garbage = p.access.diagnostics.find((d) => d.entry === 'garbage');
    assert.ok(garbage, JSON.stringify(p.access.diagnostics));
    assert.equal(garbage.label, 'zlayer.io/api-scopes');
    assert.equal(garbage.code, 'scope-too-few-segments');
    const ttl = p.access.diagnostics.find((d) => d.label === 'zlayer.io/api-token-ttl');
    assert.ok(ttl, JSON.stringify(p.access.diagnostics));
    assert.equal(ttl.code, 'ttl-not-a-number');
    assert.match(ttl.message, /86400/);
    assert.equal(p.access.diagnostics.length, 2);
  } finally {
    ws.close();
  }
});

test('storefront/worker is narrowed to reading its deployment for an hour; web gets the defaults', () => {
  const ws = sampleWorkspace();
  try {
    const worker = servicePolicy(ws, 'storefront', 'worker');
    assert.deepEqual(scopesOf(worker), ['deployment:storefront:read']);
    assert.equal(worker.access.ttl_secs, 3600);
    assert.equal(worker.access.mount_socket, false);
    assert.deepEqual(worker.access.diagnostics, []);

    const web = servicePolicy(ws, 'storefront', 'web');
    assert.deepEqual(scopesOf(web), ['deployment:storefront:read', 'container:*:write', 'image:*:write']);
    assert.equal(web.access.scopes_source, 'default');
    assert.equal(web.access.ttl_secs, 86400);
    assert.equal(web.access.mount_socket, false);
    assert.deepEqual(web.access.diagnostics, []);
    assert.deepEqual(web.labels, { 'zlayer.team': 'commerce' });
  } finally {
    ws.close();
  }
});

test('allPolicies covers every service of every deployment', () => {
  const ws = sampleWorkspace();
  try {
    assert.deepEqual(
      allPolicies(ws).map((p) => `${p.deployment}/${p.service}`),
      ['ci-runners/janitor', 'ci-runners/runner', 'storefront/cache', 'storefront/web', 'storefront/worker'],
    );
  } finally {
    ws.close();
  }
});

test('a sub-folder named like a spec is skipped by a folder import, not read as a file', () => {
  const dir = specFolder({ 'one.yaml': spec('alpha') });
  fs.mkdirSync(path.join(dir, 'nested.yaml'));
  const files = readSpecFiles(dir);
  assert.deepEqual(
    files.map((f) => f.file),
    [path.join(dir, 'one.yaml')],
  );
});

test('a relative path is recorded as the absolute file it named', () => {
  const dir = specFolder({ 'one.yml': spec('alpha') });
  const relative = path.relative(process.cwd(), path.join(dir, 'one.yml'));
  assert.ok(!path.isAbsolute(relative));
  assert.deepEqual(
    readSpecFiles(relative).map((f) => f.file),
    [path.join(dir, 'one.yml')],
  );
});

// ---------------------------------------------------------------------------
// Label edits
// ---------------------------------------------------------------------------

test('fixing the janitor labels clears its diagnostics, and the export differs only in those label lines', () => {
  const ws = sampleWorkspace();
  try {
    const original = fs.readFileSync(CI_RUNNERS_FILE, 'utf8');
    const p = setLabels(ws, 'ci-runners', 'janitor', JANITOR_FIXED);
    assert.deepEqual(p.access.diagnostics, []);
    assert.deepEqual(scopesOf(p), ['container:ci-runners:write', 'image:*:read']);
    assert.equal(p.access.ttl_secs, 7200);
    // What the store now reads back agrees with what setLabels returned.
    assert.deepEqual(servicePolicy(ws, 'ci-runners', 'janitor').access, p.access);
    assert.deepEqual({ ...getService(ws, 'ci-runners', 'janitor').labels }, JANITOR_FIXED);

    const exported = exportDeployment(ws, 'ci-runners');
    const before = original.split('\n');
    const after = exported.split('\n');
    assert.equal(after.length, before.length);
    const changed = before.flatMap((line, i) => (line === after[i] ? [] : [i]));
    const janitorLabelLines = Object.keys(JANITOR_LABELS).map((k) =>
      before.findIndex((l) => l.startsWith(`      ${k}: "${JANITOR_LABELS[k as keyof typeof JANITOR_LABELS]}`)),
    );
    assert.ok(
      janitorLabelLines.every((i) => i > before.indexOf('  janitor:')),
      'the janitor label lines come after "janitor:"',
    );
    assert.deepEqual(changed, janitorLabelLines);
    for (const i of changed) {
      const key = Object.keys(JANITOR_FIXED).find((k) => after[i]!.startsWith(`      ${k}: `));
      assert.ok(key, after[i]);
      assert.equal(after[i], `      ${key}: ${JSON.stringify(JANITOR_FIXED[key as keyof typeof JANITOR_FIXED])}`);
    }
    // The operator's comments stay.
    assert.ok(
      exported.startsWith(
        '# Build runners need to drive the daemon: broad scopes, a week-long token\n# and the admin socket.',
      ),
    );

    // The exported text imports (elsewhere) to the new labels.
    const other = openTestWorkspace();
    try {
      importDeployments(other, [{ file: 'exported.yaml', text: exported }]);
      assert.deepEqual({ ...getService(other, 'ci-runners', 'janitor').labels }, JANITOR_FIXED);
      assert.deepEqual({ ...getService(other, 'ci-runners', 'runner').labels }, RUNNER_LABELS);
      assert.equal(exportDeployment(other, 'ci-runners'), exported);
    } finally {
      other.close();
    }
  } finally {
    ws.close();
  }
});

test('setting zlayer.io/api-token-ttl alone works and is audited with the before and after values', () => {
  // The audit refuses detail keys that look like secrets ("token"); a label name is not one.
  const ws = sampleWorkspace();
  try {
    const p = setLabel(ws, 'ci-runners', 'janitor', 'zlayer.io/api-token-ttl', '3600');
    assert.equal(p.access.ttl_secs, 3600);
    assert.ok(!p.access.diagnostics.some((d) => d.label === 'zlayer.io/api-token-ttl'));
    assert.ok(
      p.access.diagnostics.some((d) => d.entry === 'garbage'),
      'the untouched scopes label keeps its diagnostic',
    );
    assert.deepEqual(lastAudit(ws), {
      action: 'policy.labels.set',
      target: 'service:ci-runners/janitor',
      details: { changes: [{ label: 'zlayer.io/api-token-ttl', before: 'not-a-number', after: '3600' }] },
    });
    assertChainOk(ws, 3);
    assert.match(exportDeployment(ws, 'ci-runners'), /\n {6}zlayer\.io\/api-token-ttl: "3600"\n/);
  } finally {
    ws.close();
  }
});

test('every label edit appends one audit entry and the chain keeps verifying', () => {
  const ws = sampleWorkspace();
  try {
    setLabel(ws, 'storefront', 'cache', 'zlayer.io/api-scopes', 'container:cache:read');
    assert.equal(auditCount(ws), 3);
    assert.deepEqual(lastAudit(ws).details, {
      changes: [{ label: 'zlayer.io/api-scopes', before: null, after: 'container:cache:read' }],
    });
    assert.deepEqual(scopesOf(servicePolicy(ws, 'storefront', 'cache')), ['container:cache:read']);

    unsetLabel(ws, 'storefront', 'worker', 'zlayer.io/api-token-ttl');
    assert.equal(auditCount(ws), 4);
    assert.deepEqual(lastAudit(ws).details, {
      changes: [{ label: 'zlayer.io/api-token-ttl', before: '3600', after: null }],
    });
    assert.equal(servicePolicy(ws, 'storefront', 'worker').access.ttl_secs, 86400);
    assert.doesNotMatch(exportDeployment(ws, 'storefront'), /api-token-ttl/);

    setLabels(ws, 'ci-runners', 'runner', {});
    assert.deepEqual({ ...getService(ws, 'ci-runners', 'runner').labels }, {});
    assert.equal(servicePolicy(ws, 'ci-runners', 'runner').access.mount_socket, false);
    // 4 + export + the runner edit
    assertChainOk(ws, 6);
  } finally {
    ws.close();
  }
});

test('setLabel on an unknown deployment is NOT_FOUND and changes nothing', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(ws, () => setLabel(ws, 'nope', 'web', 'a', 'b'), 'NOT_FOUND', /no deployment "nope"/);
    assertRefusedUnchanged(ws, () => setLabels(ws, 'nope', 'web', {}), 'NOT_FOUND', /no deployment "nope"/);
  } finally {
    ws.close();
  }
});

test('setLabel on an unknown service is NOT_FOUND and changes nothing', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(
      ws,
      () => setLabel(ws, 'storefront', 'nope', 'a', 'b'),
      'NOT_FOUND',
      /deployment "storefront" has no service "nope"/,
    );
  } finally {
    ws.close();
  }
});

test('unsetLabel of a label the service does not have is NOT_FOUND and changes nothing', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(
      ws,
      () => unsetLabel(ws, 'storefront', 'web', 'zlayer.io/api-scopes'),
      'NOT_FOUND',
      /storefront\/web has no label "zlayer\.io\/api-scopes"/,
    );
  } finally {
    ws.close();
  }
});

test('a label key with whitespace is refused and changes nothing', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(
      ws,
      () => setLabel(ws, 'storefront', 'web', 'bad key', 'x'),
      'INVALID_INPUT',
      /label key "bad key" is invalid/,
    );
  } finally {
    ws.close();
  }
});

test('exporting an unknown deployment is NOT_FOUND and appends nothing', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(ws, () => exportDeployment(ws, 'nope'), 'NOT_FOUND', /no deployment "nope"/);
  } finally {
    ws.close();
  }
});

// ---------------------------------------------------------------------------
// Bad imports: a specific error, and nothing imported
// ---------------------------------------------------------------------------

test('bad YAML syntax is refused with file:line:column and nothing is imported', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({
      'broken.yaml': 'version: v1\ndeployment: broken\nservices:\n  web:\n    labels: {a: "b"\n',
    });
    const file = path.join(dir, 'broken.yaml');
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'INVALID_INPUT',
      new RegExp(`^${escapeRe(file)}:\\d+:\\d+: YAML syntax error`),
    );
  } finally {
    ws.close();
  }
});

test('a spec without "deployment" is refused and nothing is imported', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({ 'nameless.yaml': 'version: v1\nservices:\n  web:\n    rtype: service\n' });
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'INVALID_INPUT',
      new RegExp(`^${escapeRe(path.join(dir, 'nameless.yaml'))}:1:1: missing required field "deployment"`),
    );
  } finally {
    ws.close();
  }
});

test('an unquoted number as a label value is refused (with the fix named) and nothing is imported', () => {
  const ws = sampleWorkspace();
  try {
    const text =
      'version: v1\ndeployment: numbers\nservices:\n  web:\n    labels:\n      zlayer.io/api-token-ttl: 3600\n';
    const dir = specFolder({ 'numbers.yaml': text });
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'INVALID_INPUT',
      /numbers\.yaml:6:32: label "zlayer\.io\/api-token-ttl" must be a string, got a number \(quote it: "3600"\)/,
    );
  } finally {
    ws.close();
  }
});

test('two files naming the same deployment are refused together', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({ 'a.yaml': spec('twin'), 'b.yaml': spec('twin') });
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'INVALID_INPUT',
      /b\.yaml:2:13: deployment "twin" is already defined in .*a\.yaml:2:13/,
    );
    assert.ok(!listDeployments(ws).some((d) => d.name === 'twin'));
  } finally {
    ws.close();
  }
});

test('re-importing an existing deployment without replace is a CONFLICT and nothing is imported', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(STOREFRONT_FILE)),
      'CONFLICT',
      /deployment "storefront" .* already exists in this workspace, imported from .*storefront\.yaml; nothing was imported/,
    );
    // A new deployment in the same batch as the conflicting one is not imported either.
    const dir = specFolder({ 'a-new.yaml': spec('brand-new'), 'b-old.yaml': fs.readFileSync(STOREFRONT_FILE, 'utf8') });
    assertRefusedUnchanged(ws, () => importDeployments(ws, readSpecFiles(dir)), 'CONFLICT', /"storefront"/);
  } finally {
    ws.close();
  }
});

test('when the 3rd of 3 files is bad, the first two are not imported either', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({
      '1-alpha.yaml': spec('alpha'),
      '2-beta.yaml': spec('beta'),
      '3-gamma.yaml': 'version: v1\ndeployment: gamma\nservices: [unclosed\n',
    });
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'INVALID_INPUT',
      /3-gamma\.yaml:\d+:\d+: /,
    );
    assert.deepEqual(
      listDeployments(ws).map((d) => d.name),
      ['ci-runners', 'storefront'],
    );
  } finally {
    ws.close();
  }
});

test('a failure inside the import transaction, after rows were written, rolls every row back', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({ '1.yaml': spec('alpha'), '2.yaml': spec('beta'), '3.yaml': spec('gamma') });
    const before = snapshot(ws);
    const seen: number[] = [];
    assert.throws(
      () =>
        importDeployments(ws, readSpecFiles(dir), {
          onProgress: (done) => {
            seen.push(done);
            if (done === 2) throw new CastellanError('CANCELLED', 'stopped by the caller');
          },
        }),
      expectError('CANCELLED', /stopped by the caller/),
    );
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(snapshot(ws), before);
    assertChainOk(ws, 2);
  } finally {
    ws.close();
  }
});

test('an empty folder is refused', () => {
  const ws = sampleWorkspace();
  try {
    const dir = specFolder({ 'README.md': '# not a spec\n' });
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(dir)),
      'NOT_FOUND',
      /no \.yaml or \.yml files in this folder/,
    );
  } finally {
    ws.close();
  }
});

test('a missing path is refused', () => {
  const ws = sampleWorkspace();
  try {
    const missing = path.join(tempDir(), 'does-not-exist');
    assertRefusedUnchanged(
      ws,
      () => importDeployments(ws, readSpecFiles(missing)),
      'NOT_FOUND',
      new RegExp(`^${escapeRe(missing)}: no such file or folder$`),
    );
  } finally {
    ws.close();
  }
});

test('an empty batch is refused', () => {
  const ws = sampleWorkspace();
  try {
    assertRefusedUnchanged(ws, () => importDeployments(ws, []), 'INVALID_INPUT', /no deployment specs to import/);
  } finally {
    ws.close();
  }
});

test('replace: true replaces the spec and its services, keeps imported_at and is audited as a replace', () => {
  const ws = sampleWorkspace();
  try {
    const [before] = listDeployments(ws).filter((d) => d.name === 'storefront');
    setLabel(ws, 'storefront', 'web', 'zlayer.team', 'edited');
    const text = [
      '# storefront, slimmed down',
      'version: v1',
      'deployment: storefront',
      'services:',
      '  web:',
      '    rtype: service',
      '    image:',
      '      name: ghcr.io/example/storefront-web:2.5.0',
      '    labels:',
      '      zlayer.io/api-token-ttl: "600"',
      '',
    ].join('\n');
    const names = importDeployments(ws, [{ file: '/elsewhere/storefront.yaml', text }], { replace: true });
    assert.deepEqual(names, ['storefront']);
    const [after] = listDeployments(ws).filter((d) => d.name === 'storefront');
    assert.ok(before && after);
    assert.equal(after.source_file, '/elsewhere/storefront.yaml');
    assert.equal(after.imported_at, before.imported_at);
    assert.deepEqual(
      after.services.map((s) => [s.name, { ...s.labels }]),
      [['web', { 'zlayer.io/api-token-ttl': '600' }]],
    );
    assert.equal(exportDeployment(ws, 'storefront'), text);
    assert.throws(() => getService(ws, 'storefront', 'worker'), expectError('NOT_FOUND', /has no service "worker"/));
    const replace = ws.db.prepare("SELECT target FROM audit WHERE action = 'deployment.replace'").all() as {
      target: string;
    }[];
    assert.deepEqual(
      replace.map((r) => r.target),
      ['deployment:storefront'],
    );
    // ci-runners is untouched.
    assert.deepEqual({ ...getService(ws, 'ci-runners', 'runner').labels }, RUNNER_LABELS);
    assertChainOk(ws, 5);
  } finally {
    ws.close();
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CastellanError } from '../../shared/errors.ts';
import {
  DEPLOYMENT_SPEC_TOP_LEVEL_FIELDS,
  SpecError,
  parseDeploymentSpec,
  parseDeploymentSpecs,
  setServiceLabel,
  setServiceLabels,
  unsetServiceLabel,
} from '../../electron/core/deployments/deployment-spec.ts';

/** Fixtures under test/fixtures/specs, and the repository's ZLayer samples under samples/. */
function fixture(name: string): string {
  return readFileSync(
    new URL(name.startsWith('samples/') ? `../../${name}` : `../fixtures/specs/${name}`, import.meta.url),
    'utf8',
  );
}

const STOREFRONT = fixture('samples/storefront.yaml');
const CI_RUNNERS = fixture('samples/ci-runners.yaml');
const AWKWARD = fixture('awkward.yaml');

const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;

/** The lines that differ between two texts, after trimming the common leading and trailing lines. */
function changedLines(before: string, after: string): { first: number; removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return { first: p + 1, removed: a.slice(p, a.length - s), added: b.slice(p, b.length - s) };
}

function labelsOf(text: string, service: string): Record<string, string> {
  const svc = parseDeploymentSpec(text, 'check.yaml').services.find((s) => s.name === service);
  assert.ok(svc, `service ${service} exists`);
  return svc.labels;
}

function assertSpecError(fn: () => unknown, file: string, line: number, column: number, detail: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    assert.ok(err instanceof CastellanError);
    assert.equal(err.code, 'INVALID_INPUT');
    assert.equal(err.message, `${file}:${line}:${column}: ${detail}`);
    assert.deepEqual([err.file, err.line, err.column, err.detail], [file, line, column, detail]);
    return true;
  });
}

function assertCastellanError(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CastellanError, `expected a CastellanError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('parseDeploymentSpec reads the samples', () => {
  test('the shipped samples are byte-identical to the ZLayer originals (a formatter must not touch fixtures)', () => {
    const sha256 = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');
    assert.equal(sha256(STOREFRONT), '1dbc553541bb10a9a799abd782ab1a0e8e01018d0a2beeb7af6865f985d0ead4');
    assert.equal(sha256(CI_RUNNERS), 'ae7917bf7562991f0c62f3624f4f191eca646ac0c4995f32c2007d9d3e9a7eac');
  });

  test('storefront: name, version, services in file order, scale and labels', () => {
    const spec = parseDeploymentSpec(STOREFRONT, 'storefront.yaml');
    assert.equal(spec.deployment, 'storefront');
    assert.equal(spec.version, 'v1');
    assert.equal(spec.source, STOREFRONT);
    assert.deepEqual(spec.services, [
      {
        name: 'web',
        rtype: 'service',
        replicas: 2,
        scaleMode: 'adaptive',
        image: 'ghcr.io/example/storefront-web:2.4.1',
        labels: { 'zlayer.team': 'commerce' },
      },
      {
        name: 'worker',
        rtype: 'service',
        replicas: 3,
        scaleMode: 'fixed',
        image: 'ghcr.io/example/storefront-worker:2.4.1',
        labels: { 'zlayer.io/api-scopes': 'deployment:storefront:read', 'zlayer.io/api-token-ttl': '3600' },
      },
      { name: 'cache', rtype: 'service', replicas: 1, scaleMode: 'fixed', image: 'redis:7-alpine', labels: {} },
    ]);
  });

  test('ci-runners: manual scale and a service without scale have no replica count', () => {
    const spec = parseDeploymentSpec(CI_RUNNERS, 'ci-runners.yaml');
    assert.equal(spec.deployment, 'ci-runners');
    const [runner, janitor] = spec.services;
    assert.deepEqual(
      [runner?.name, runner?.rtype, runner?.scaleMode, runner?.replicas],
      ['runner', 'job', 'manual', null],
    );
    assert.deepEqual(
      [janitor?.name, janitor?.rtype, janitor?.scaleMode, janitor?.replicas],
      ['janitor', 'cron', null, null],
    );
    assert.deepEqual(janitor?.labels, {
      'zlayer.io/api-scopes': 'container::write, garbage, image:*:READ',
      'zlayer.io/api-token-ttl': 'not-a-number',
      'zlayer.io/daemon-socket': 'no',
    });
    assert.equal(runner?.labels['zlayer.io/daemon-socket'], 'true');
  });

  test('awkward fixture: flow and block labels, quoted keys, nested "labels" elsewhere ignored', () => {
    const spec = parseDeploymentSpec(AWKWARD, 'awkward.yaml');
    assert.equal(spec.version, 'v1');
    assert.deepEqual(
      spec.services.map((s) => [s.name, s.image, s.labels]),
      [
        ['web', 'nginx:alpine', { 'zlayer.team': 'platform', 'zlayer.io/api-token-ttl': '900' }],
        [
          'api',
          'ghcr.io/example/api:1.0',
          {
            'zlayer.io/api-scopes': 'deployment:awkward-shop:read, image:api:read',
            'zlayer.io/api-token-ttl': '3600',
            owner: 'payments',
            'cost-centre': 'cc-42',
          },
        ],
        ['batch', 'ghcr.io/example/batch:2', {}],
      ],
    );
  });

  test("every top-level field of ZLayer's DeploymentSpec is accepted", () => {
    assert.deepEqual(
      [...DEPLOYMENT_SPEC_TOP_LEVEL_FIELDS],
      ['version', 'deployment', 'services', 'externals', 'tunnels', 'api'],
    );
    const spec = parseDeploymentSpec(fixture('all-top-level-fields.yaml'), 'all.yaml');
    assert.equal(spec.deployment, 'everything');
    assert.deepEqual(
      spec.services.map((s) => s.name),
      ['web'],
    );
  });

  test('YAML 1.2 reading: bare `no` and `!!str 3600` are strings; an alias to a string is its string', () => {
    const text = lines(
      'deployment: shop',
      'services:',
      '  web:',
      '    labels:',
      '      a: no',
      '      b: !!str 3600',
      '      c: &scope deployment:shop:read',
      '      d: *scope',
    );
    assert.deepEqual(parseDeploymentSpec(text, 'x.yaml').services[0]?.labels, {
      a: 'no',
      b: '3600',
      c: 'deployment:shop:read',
      d: 'deployment:shop:read',
    });
  });

  test('version is optional; image may be a bare string; names are case as written', () => {
    const spec = parseDeploymentSpec(lines('deployment: Shop-01', 'services:', '  web: {image: nginx}'), 'x.yaml');
    assert.equal(spec.version, null);
    assert.equal(spec.deployment, 'Shop-01');
    assert.equal(spec.services[0]?.image, 'nginx');
  });

  test('a label key "__proto__" stays an ordinary key', () => {
    const spec = parseDeploymentSpec(
      lines('deployment: shop', 'services:', '  web:', '    labels: {__proto__: x}'),
      'x.yaml',
    );
    const labels = spec.services[0]?.labels ?? {};
    assert.deepEqual(Object.keys(labels), ['__proto__']);
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  });
});

describe('parseDeploymentSpec refuses bad specs with file:line:column', () => {
  test('YAML syntax error: tab indentation', () => {
    const text = lines('version: v1', 'deployment: shop', 'services:', '\tweb: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'tabs.yaml'),
      'tabs.yaml',
      4,
      1,
      'YAML syntax error: Tabs are not allowed as indentation',
    );
  });

  test('YAML syntax error: a nested mapping in a compact value', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    image: nginx: alpine');
    assertSpecError(
      () => parseDeploymentSpec(text, 'compact.yaml'),
      'compact.yaml',
      4,
      12,
      'YAML syntax error: Nested mappings are not allowed in compact mappings',
    );
  });

  test('more than one YAML document', () => {
    const text = lines('deployment: one', 'services: {}', '---', 'deployment: two', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'two-docs.yaml'),
      'two-docs.yaml',
      3,
      1,
      'the file holds more than one YAML document; a deployment spec is exactly one document',
    );
  });

  test('top level is a list', () => {
    const text = lines('# a list, not a spec', '- deployment: shop');
    assertSpecError(
      () => parseDeploymentSpec(text, 'list.yaml'),
      'list.yaml',
      2,
      1,
      'the top level must be a mapping with "deployment" and "services", got a list',
    );
  });

  test('top level is a scalar', () => {
    assertSpecError(
      () => parseDeploymentSpec('just words\n', 'words.yaml'),
      'words.yaml',
      1,
      1,
      'the top level must be a mapping with "deployment" and "services", got a string',
    );
  });

  test('empty file, and a file of comments only', () => {
    const detail = 'the file is empty; a deployment spec is a mapping with "deployment" and "services"';
    assertSpecError(() => parseDeploymentSpec('', 'empty.yaml'), 'empty.yaml', 1, 1, detail);
    assertSpecError(() => parseDeploymentSpec('# nothing yet\n', 'comments.yaml'), 'comments.yaml', 1, 1, detail);
  });

  test('missing deployment points at the top-level mapping', () => {
    const text = lines('# header', 'version: v1', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'nodep.yaml'),
      'nodep.yaml',
      2,
      1,
      'missing required field "deployment" (the deployment name)',
    );
  });

  test('deployment is a number', () => {
    const text = lines('version: v1', 'deployment: 1234', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'num.yaml'),
      'num.yaml',
      2,
      13,
      '"deployment" must be a string, got a number (quote it: "1234")',
    );
  });

  test('deployment is a mapping', () => {
    const text = lines('deployment:', '  name: shop', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'map.yaml'),
      'map.yaml',
      2,
      3,
      '"deployment" must be a string, got a mapping',
    );
  });

  test('deployment has no value', () => {
    const text = lines('deployment:', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'novalue.yaml'),
      'novalue.yaml',
      1,
      1,
      '"deployment" must be a string, got an empty value (write "" for an empty string)',
    );
  });

  test('deployment is an empty string', () => {
    const text = lines('deployment: ""', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'blank.yaml'),
      'blank.yaml',
      1,
      13,
      '"deployment" must not be empty',
    );
  });

  test('deployment name too short', () => {
    const text = lines('deployment: ab', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'short.yaml'),
      'short.yaml',
      1,
      13,
      'deployment name "ab" must be 3-63 characters long (it is 2)',
    );
  });

  test('deployment name too long', () => {
    const name = 'a'.repeat(64);
    const text = lines(`deployment: ${name}`, 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'long.yaml'),
      'long.yaml',
      1,
      13,
      `deployment name "${name}" must be 3-63 characters long (it is 64)`,
    );
  });

  test('deployment name starting with a hyphen', () => {
    const text = lines('deployment: "-shop"', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'hyphen.yaml'),
      'hyphen.yaml',
      1,
      13,
      'deployment name "-shop" must start with a letter or digit',
    );
  });

  test('deployment name with an underscore', () => {
    const text = lines('deployment: my_shop', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'underscore.yaml'),
      'underscore.yaml',
      1,
      13,
      'deployment name "my_shop" contains "_"; only letters, digits and \'-\' are allowed',
    );
  });

  test('version is a number', () => {
    const text = lines('version: 1', 'deployment: shop', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'ver.yaml'),
      'ver.yaml',
      1,
      10,
      '"version" must be a string, got a number (quote it: "1")',
    );
  });

  test('services missing', () => {
    const text = lines('version: v1', 'deployment: shop');
    assertSpecError(
      () => parseDeploymentSpec(text, 'nosvc.yaml'),
      'nosvc.yaml',
      1,
      1,
      'missing required field "services" (a mapping of service name to service spec)',
    );
  });

  test('services is a list', () => {
    const text = lines('deployment: shop', 'services:', '  - web');
    assertSpecError(
      () => parseDeploymentSpec(text, 'svclist.yaml'),
      'svclist.yaml',
      3,
      3,
      '"services" must be a mapping of service name to service spec, got a list',
    );
  });

  test('services has no value', () => {
    const text = lines('deployment: shop', 'services:');
    assertSpecError(
      () => parseDeploymentSpec(text, 'svcempty.yaml'),
      'svcempty.yaml',
      2,
      1,
      '"services" must be a mapping of service name to service spec, got an empty value',
    );
  });

  test('a service that is a string', () => {
    const text = lines('deployment: shop', 'services:', '  web: nginx');
    assertSpecError(
      () => parseDeploymentSpec(text, 'svcstr.yaml'),
      'svcstr.yaml',
      3,
      8,
      'service "web" must be a mapping, got a string',
    );
  });

  test('a service with no value', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '  db: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'svcnull.yaml'),
      'svcnull.yaml',
      3,
      3,
      'service "web" must be a mapping, got an empty value',
    );
  });

  test('a service name that is not a string', () => {
    const text = lines('deployment: shop', 'services:', '  42: {image: {name: x}}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'svcnum.yaml'),
      'svcnum.yaml',
      3,
      3,
      'service name key must be a string, got a number (quote it: "42")',
    );
  });

  test('labels is a list', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      - a=b');
    assertSpecError(
      () => parseDeploymentSpec(text, 'lbllist.yaml'),
      'lbllist.yaml',
      5,
      7,
      '"labels" of service "web" must be a mapping of string to string, got a list',
    );
  });

  test('labels is a string', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels: team=a');
    assertSpecError(
      () => parseDeploymentSpec(text, 'lblstr.yaml'),
      'lblstr.yaml',
      4,
      13,
      '"labels" of service "web" must be a mapping of string to string, got a string',
    );
  });

  test('labels has no value', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '    rtype: service');
    assertSpecError(
      () => parseDeploymentSpec(text, 'lblnull.yaml'),
      'lblnull.yaml',
      4,
      5,
      '"labels" of service "web" must be a mapping of string to string, got an empty value',
    );
  });

  test('label value is a number (the unquoted TTL mistake)', () => {
    const text = STOREFRONT.replace('zlayer.io/api-token-ttl: "3600"', 'zlayer.io/api-token-ttl: 3600');
    assertSpecError(
      () => parseDeploymentSpec(text, 'storefront.yaml'),
      'storefront.yaml',
      33,
      32,
      'label "zlayer.io/api-token-ttl" must be a string, got a number (quote it: "3600")',
    );
  });

  test('label value is a boolean', () => {
    const text = CI_RUNNERS.replace('zlayer.io/daemon-socket: "true"', 'zlayer.io/daemon-socket: true');
    assertSpecError(
      () => parseDeploymentSpec(text, 'ci-runners.yaml'),
      'ci-runners.yaml',
      16,
      32,
      'label "zlayer.io/daemon-socket" must be a string, got a boolean (quote it: "true")',
    );
  });

  test('label value is null (~)', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels: {owner: ~}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'tilde.yaml'),
      'tilde.yaml',
      4,
      21,
      'label "owner" must be a string, got null (quote it: "~")',
    );
  });

  test('label value is empty', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      owner:', '      team: a');
    assertSpecError(
      () => parseDeploymentSpec(text, 'emptyval.yaml'),
      'emptyval.yaml',
      5,
      7,
      'label "owner" must be a string, got an empty value (write "" for an empty string)',
    );
  });

  test('label value is a nested mapping', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      owner:', '        team: a');
    assertSpecError(
      () => parseDeploymentSpec(text, 'nested.yaml'),
      'nested.yaml',
      6,
      9,
      'label "owner" must be a string, got a mapping',
    );
  });

  test('label value is a list', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels: {owners: [a, b]}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'seq.yaml'),
      'seq.yaml',
      4,
      22,
      'label "owners" must be a string, got a list',
    );
  });

  test('label key with whitespace', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      "team name": a');
    assertSpecError(
      () => parseDeploymentSpec(text, 'keyspace.yaml'),
      'keyspace.yaml',
      5,
      7,
      'label key "team name" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('label key empty', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels: {"": a}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'keyempty.yaml'),
      'keyempty.yaml',
      4,
      14,
      'label key "" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('label key with a control character', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      "a\\x01b": c');
    assertSpecError(
      () => parseDeploymentSpec(text, 'keyctl.yaml'),
      'keyctl.yaml',
      5,
      7,
      'label key "a\\u0001b" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('label key that is not a string', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      8080: http');
    assertSpecError(
      () => parseDeploymentSpec(text, 'keynum.yaml'),
      'keynum.yaml',
      5,
      7,
      'label key must be a string, got a number (quote it: "8080")',
    );
  });

  test('duplicate top-level key', () => {
    const text = lines('deployment: shop', 'services: {}', 'deployment: shop2');
    assertSpecError(
      () => parseDeploymentSpec(text, 'dup.yaml'),
      'dup.yaml',
      3,
      1,
      'duplicate key "deployment": a key may appear only once in a mapping',
    );
  });

  test('duplicate label key, once quoted and once plain', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels:', '      owner: a', '      "owner": b');
    assertSpecError(
      () => parseDeploymentSpec(text, 'duplbl.yaml'),
      'duplbl.yaml',
      6,
      7,
      'duplicate key "owner": a key may appear only once in a mapping',
    );
  });

  test('unknown top-level field', () => {
    const text = lines('version: v1', 'deployment: shop', 'kind: Deployment', 'services: {}');
    assertSpecError(
      () => parseDeploymentSpec(text, 'kind.yaml'),
      'kind.yaml',
      3,
      1,
      'unknown top-level field "kind"; a ZLayer deployment spec has only version, deployment, services, externals, tunnels, api',
    );
  });

  test('a service field placed at the top level is unknown there', () => {
    const text = lines('deployment: shop', 'services: {}', 'endpoints: []');
    assertSpecError(
      () => parseDeploymentSpec(text, 'misplaced.yaml'),
      'misplaced.yaml',
      3,
      1,
      'unknown top-level field "endpoints"; a ZLayer deployment spec has only version, deployment, services, externals, tunnels, api',
    );
  });

  test('an alias to an undefined anchor', () => {
    const text = lines('deployment: shop', 'services:', '  web:', '    labels: *common');
    assertSpecError(
      () => parseDeploymentSpec(text, 'alias.yaml'),
      'alias.yaml',
      4,
      13,
      'alias "*common" refers to an anchor that is not defined before it',
    );
  });
});

describe('parseDeploymentSpecs', () => {
  test('returns every spec, in order', () => {
    const specs = parseDeploymentSpecs([
      { file: 'storefront.yaml', text: STOREFRONT },
      { file: 'ci-runners.yaml', text: CI_RUNNERS },
    ]);
    assert.deepEqual(
      specs.map((s) => s.deployment),
      ['storefront', 'ci-runners'],
    );
    assert.deepEqual(parseDeploymentSpecs([]), []);
  });

  test('a duplicate deployment name names both files, located at the second', () => {
    const copy = lines('# the same shop again', 'version: v1', 'deployment: storefront', 'services: {}');
    assertSpecError(
      () =>
        parseDeploymentSpecs([
          { file: 'storefront.yaml', text: STOREFRONT },
          { file: 'ci-runners.yaml', text: CI_RUNNERS },
          { file: 'copy.yaml', text: copy },
        ]),
      'copy.yaml',
      3,
      13,
      'deployment "storefront" is already defined in storefront.yaml:4:13; a deployment can be imported only once',
    );
  });

  test("one bad file fails the whole batch with that file's error", () => {
    const bad = lines('deployment: broken', 'services: [web]');
    assertSpecError(
      () =>
        parseDeploymentSpecs([
          { file: 'storefront.yaml', text: STOREFRONT },
          { file: 'broken.yaml', text: bad },
          { file: 'ci-runners.yaml', text: CI_RUNNERS },
        ]),
      'broken.yaml',
      2,
      11,
      '"services" must be a mapping of service name to service spec, got a list',
    );
  });
});

describe('setServiceLabels on the samples', () => {
  test('identical labels give back the identical text for every service', () => {
    for (const text of [
      STOREFRONT,
      CI_RUNNERS,
      AWKWARD,
      fixture('flow-style.yaml'),
      fixture('multiline-flow-labels.yaml'),
      fixture('block-scalar-labels.yaml'),
    ]) {
      for (const svc of parseDeploymentSpec(text, 'x.yaml').services) {
        assert.equal(setServiceLabels(text, svc.name, { ...svc.labels }), text, svc.name);
      }
    }
  });

  test('ci-runners: janitor gets fixed labels; only its label lines change', () => {
    const labels = {
      'zlayer.io/api-scopes': 'container:janitor:write, image:ci-janitor:read',
      'zlayer.io/api-token-ttl': '3600',
      'zlayer.io/daemon-socket': 'false',
    };
    const out = setServiceLabels(CI_RUNNERS, 'janitor', labels);
    assert.deepEqual(changedLines(CI_RUNNERS, out), {
      first: 23,
      removed: [
        '      zlayer.io/api-scopes: "container::write, garbage, image:*:READ"',
        '      zlayer.io/api-token-ttl: "not-a-number"',
        '      zlayer.io/daemon-socket: "no"',
      ],
      added: [
        '      zlayer.io/api-scopes: "container:janitor:write, image:ci-janitor:read"',
        '      zlayer.io/api-token-ttl: "3600"',
        '      zlayer.io/daemon-socket: "false"',
      ],
    });
    assert.ok(
      out.startsWith(
        '# Build runners need to drive the daemon: broad scopes, a week-long token\n# and the admin socket.',
      ),
    );
    assert.deepEqual(labelsOf(out, 'janitor'), labels);
    assert.deepEqual(labelsOf(out, 'runner'), labelsOf(CI_RUNNERS, 'runner'));
    assert.equal(setServiceLabels(out, 'janitor', labels), out);
  });

  test('ci-runners: adding and dropping janitor labels', () => {
    const out = setServiceLabels(CI_RUNNERS, 'janitor', {
      'zlayer.io/api-scopes': 'container::write, garbage, image:*:READ',
      'zlayer.io/api-token-ttl': '900',
      'zlayer.team': 'ci',
    });
    assert.deepEqual(changedLines(CI_RUNNERS, out), {
      first: 24,
      removed: ['      zlayer.io/api-token-ttl: "not-a-number"', '      zlayer.io/daemon-socket: "no"'],
      added: ['      zlayer.io/api-token-ttl: "900"', '      zlayer.team: "ci"'],
    });
  });

  test('storefront: a service without labels gets a block after its last field', () => {
    const out = setServiceLabels(STOREFRONT, 'cache', { 'zlayer.io/api-token-ttl': '60', 'zlayer.team': 'commerce' });
    assert.equal(out, `${STOREFRONT}    labels:\n      zlayer.io/api-token-ttl: "60"\n      zlayer.team: commerce\n`);
    assert.deepEqual(labelsOf(out, 'cache'), { 'zlayer.io/api-token-ttl': '60', 'zlayer.team': 'commerce' });
  });

  test('storefront: removing every label of a block mapping leaves `labels: {}`', () => {
    const out = setServiceLabels(STOREFRONT, 'worker', {});
    assert.deepEqual(changedLines(STOREFRONT, out), {
      first: 31,
      removed: [
        '    labels:',
        '      zlayer.io/api-scopes: "deployment:storefront:read"',
        '      zlayer.io/api-token-ttl: "3600"',
      ],
      added: ['    labels: {}'],
    });
    assert.deepEqual(labelsOf(out, 'worker'), {});
  });

  test('storefront: a plain value stays plain, and becomes double-quoted when it must', () => {
    const plain = setServiceLabel(STOREFRONT, 'web', 'zlayer.team', 'payments');
    assert.deepEqual(changedLines(STOREFRONT, plain).added, ['      zlayer.team: payments']);
    const needsQuotes = setServiceLabel(STOREFRONT, 'web', 'zlayer.team', 'yes');
    assert.deepEqual(changedLines(STOREFRONT, needsQuotes).added, ['      zlayer.team: "yes"']);
    assert.equal(labelsOf(needsQuotes, 'web')['zlayer.team'], 'yes');
  });
});

describe('setServiceLabels on awkward specs', () => {
  test('flow labels: a value changes in place, the rest of the line stays', () => {
    const out = setServiceLabel(AWKWARD, 'web', 'zlayer.io/api-token-ttl', '1800');
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 11,
      removed: ['    labels: {zlayer.team: platform, "zlayer.io/api-token-ttl": "900"}'],
      added: ['    labels: {zlayer.team: platform, "zlayer.io/api-token-ttl": "1800"}'],
    });
  });

  test('flow labels: add and remove rewrite only the flow mapping', () => {
    const out = setServiceLabels(AWKWARD, 'web', {
      'zlayer.team': 'platform',
      'zlayer.io/api-scopes': 'deployment:awkward-shop:read',
    });
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 11,
      removed: ['    labels: {zlayer.team: platform, "zlayer.io/api-token-ttl": "900"}'],
      added: ['    labels: {zlayer.team: platform, zlayer.io/api-scopes: "deployment:awkward-shop:read"}'],
    });
    assert.equal(setServiceLabels(AWKWARD, 'web', {}).split('\n')[10], '    labels: {}');
  });

  test('block labels: a quoted key, single quotes and a trailing comment survive a value change', () => {
    const out = setServiceLabels(AWKWARD, 'api', {
      'zlayer.io/api-scopes': "deployment:awkward-shop:write, it's",
      'zlayer.io/api-token-ttl': '7200',
      owner: 'payments',
      'cost-centre': 'cc-42',
    });
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 24,
      removed: [
        '      "zlayer.io/api-scopes": \'deployment:awkward-shop:read, image:api:read\'',
        '      zlayer.io/api-token-ttl: "3600"   # one hour',
      ],
      added: [
        "      \"zlayer.io/api-scopes\": 'deployment:awkward-shop:write, it''s'",
        '      zlayer.io/api-token-ttl: "7200"   # one hour',
      ],
    });
    assert.equal(labelsOf(out, 'api')['zlayer.io/api-scopes'], "deployment:awkward-shop:write, it's");
  });

  test('block labels: a single-quoted value that needs escapes becomes double-quoted', () => {
    const out = setServiceLabel(AWKWARD, 'api', 'cost-centre', 'line one\nline two');
    assert.deepEqual(changedLines(AWKWARD, out).added, ['      cost-centre: "line one\\nline two"']);
    assert.equal(labelsOf(out, 'api')['cost-centre'], 'line one\nline two');
  });

  test('block labels: removing one removes only its line, comments and blank lines stay', () => {
    const out = unsetServiceLabel(AWKWARD, 'api', 'owner');
    assert.deepEqual(changedLines(AWKWARD, out), { first: 26, removed: ['      owner: payments'], added: [] });
  });

  test('block labels: a new label is appended after the last one, before the comment that follows', () => {
    const out = setServiceLabel(AWKWARD, 'api', 'zlayer.io/daemon-socket', 'false');
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 30,
      removed: [],
      added: ["      zlayer.io/daemon-socket: 'false'"],
    });
    assert.equal(out.split('\n')[30], '    # after the labels block');
  });

  test('block labels: removing all keeps the key as `labels: {}` and keeps the comments', () => {
    const out = setServiceLabels(AWKWARD, 'api', {});
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 22,
      removed: [
        '    labels:',
        '      # who may call the daemon',
        '      "zlayer.io/api-scopes": \'deployment:awkward-shop:read, image:api:read\'',
        '      zlayer.io/api-token-ttl: "3600"   # one hour',
        '      owner: payments',
        '',
        '      # kept for the audit trail',
        "      cost-centre: 'cc-42'",
      ],
      added: ['    labels: {}', '      # who may call the daemon', '', '      # kept for the audit trail'],
    });
    assert.deepEqual(labelsOf(out, 'api'), {});
  });

  test('a service without labels, before a trailing comment: the comment stays last', () => {
    const out = setServiceLabels(AWKWARD, 'batch', { 'zlayer.io/api-token-ttl': '60' });
    assert.deepEqual(changedLines(AWKWARD, out), {
      first: 44,
      removed: [],
      added: ['    labels:', '      zlayer.io/api-token-ttl: "60"'],
    });
    assert.ok(
      out.endsWith(
        '      mode: manual\n    labels:\n      zlayer.io/api-token-ttl: "60"\n# trailing comment at the end of the file\n',
      ),
    );
  });

  test('unknown fields (endpoints, node_selector with its own labels, health) come back unchanged', () => {
    const out = setServiceLabels(AWKWARD, 'api', { owner: 'x' });
    for (const needle of [
      '    endpoints: [{name: http, protocol: http, port: 80, expose: public}]',
      '    node_selector:\n      labels: {disk: ssd}',
      '    health:\n      check: {type: http, url: "http://localhost:8080/healthz"}',
    ]) {
      assert.ok(out.includes(needle), needle);
    }
    // Everything outside lines 24-29 (api's first label through its last) is identical.
    const { first, removed, added } = changedLines(AWKWARD, out);
    assert.deepEqual([first, first + removed.length - 1], [24, 29]);
    assert.deepEqual(added, ['      owner: x', '', '      # kept for the audit trail']);
  });

  test('CRLF line endings are kept, and new lines get CRLF too', () => {
    const crlf = AWKWARD.replace(/\n/g, '\r\n');
    const edit = (t: string): string =>
      setServiceLabels(
        setServiceLabels(setServiceLabels(t, 'api', { owner: 'billing', added: 'x' }), 'batch', { a: 'b' }),
        'web',
        { 'zlayer.team': 'core' },
      );
    const out = edit(crlf);
    assert.equal(out, edit(AWKWARD).replace(/\n/g, '\r\n'));
    assert.doesNotMatch(out, /[^\r]\n/);
    assert.deepEqual(labelsOf(out, 'api'), { owner: 'billing', added: 'x' });
  });

  test('a whole file in flow style stays flow style', () => {
    const flow = fixture('flow-style.yaml');
    assert.equal(
      setServiceLabels(flow, 'web', { a: 'B', c: 'd' }),
      '{version: v1, deployment: flow-style, services: {web: {image: {name: nginx}, labels: {a: B, c: d}}, db: {image: {name: postgres}, scale: {mode: fixed, replicas: 1}}}}\n',
    );
    assert.equal(
      setServiceLabel(flow, 'db', 'port', '5432'),
      '{version: v1, deployment: flow-style, services: {web: {image: {name: nginx}, labels: {a: b}}, db: {image: {name: postgres}, scale: {mode: fixed, replicas: 1}, labels: {port: "5432"}}}}\n',
    );
  });

  test('a multi-line flow mapping keeps its layout and trailing comma', () => {
    const text = fixture('multiline-flow-labels.yaml');
    const added = setServiceLabel(text, 'web', 'owner', 'me');
    assert.deepEqual(changedLines(text, added), { first: 9, removed: [], added: ['      owner: "me",'] });
    const removed = unsetServiceLabel(text, 'web', 'zlayer.team');
    assert.deepEqual(changedLines(text, removed), { first: 7, removed: ['      zlayer.team: platform,'], added: [] });
  });

  test('block scalar and tagged values are replaced on their own lines', () => {
    const text = fixture('block-scalar-labels.yaml');
    const out = setServiceLabels(text, 'web', { note: 'one line', tag: '7200', motto: 'plain words here' });
    assert.deepEqual(changedLines(text, out), {
      first: 8,
      removed: ['      note: |', '        first line', '        second line', '      tag: !!str 3600'],
      added: ['      note: "one line"', '      tag: !!str "7200"'],
    });
    const dropped = unsetServiceLabel(text, 'web', 'note');
    assert.deepEqual(changedLines(text, dropped), {
      first: 8,
      removed: ['      note: |', '        first line', '        second line'],
      added: [],
    });
  });

  test('a file without a final newline keeps not having one', () => {
    const text =
      'deployment: no-newline\nservices:\n  web:\n    image:\n      name: nginx\n    labels:\n      a: b # last';
    assert.equal(setServiceLabel(text, 'web', 'c', 'd'), `${text}\n      c: d`);
    const bare = 'deployment: no-newline\nservices:\n  web:\n    image:\n      name: nginx';
    assert.equal(setServiceLabel(bare, 'web', 'c', 'd'), `${bare}\n    labels:\n      c: d`);
  });

  test('`labels: {}` in a block service grows into a block mapping; the comment stays', () => {
    const text = lines(
      'deployment: shop',
      'services:',
      '  web:',
      '    labels: {}   # none yet',
      '    image:',
      '      name: nginx',
    );
    assert.equal(
      setServiceLabels(text, 'web', { a: 'b', c: '1' }),
      lines(
        'deployment: shop',
        'services:',
        '  web:',
        '    labels:   # none yet',
        '      a: b',
        '      c: "1"',
        '    image:',
        '      name: nginx',
      ),
    );
  });

  test('indentation follows the file (4-space steps)', () => {
    const text = lines('deployment: shop', 'services:', '    web:', '        image:', '            name: nginx');
    assert.equal(setServiceLabel(text, 'web', 'a', 'b'), `${text}        labels:\n            a: b\n`);
  });
});

describe('label values and keys are always written as strings', () => {
  const TRICKY = [
    '3600',
    'true',
    'no',
    'yes',
    'on',
    'off',
    'y',
    '~',
    'null',
    'Null',
    '',
    '0x10',
    '0o10',
    '1e3',
    '1_000',
    '12:30',
    '2001-12-14',
    '.inf',
    '.NaN',
    '-1',
    'a: b',
    'a #b',
    '#x',
    '-x',
    '- x',
    '?x',
    '@x',
    '`x',
    '*x',
    '&x',
    '!x',
    '%x',
    '|',
    '>',
    '[x]',
    '{x}',
    'a,b',
    "'q'",
    '"dq"',
    'multi\nline',
    'tab\tx',
    ' lead',
    'trail ',
    'back\\slash',
    '\u0085',
    '\u007f',
    '\u2028',
    'é ünïcödé',
    'deployment:shop:read',
    'plain words',
  ];

  for (const [style, base] of [
    ['block', lines('deployment: shop', 'services:', '  web:', '    labels:', '      k: v')],
    ['flow', lines('deployment: shop', 'services:', '  web:', '    labels: {k: v}')],
  ] as const) {
    test(`${style} labels: tricky values read back exactly, under YAML 1.2 and 1.1`, () => {
      const labels: Record<string, string> = {};
      TRICKY.forEach((v, i) => (labels[`k${i}`] = v));
      const out = setServiceLabels(base, 'web', labels);
      assert.deepEqual(labelsOf(out, 'web'), labels);
      const yaml11 = parseDocument(out, { version: '1.1' }).toJS() as {
        services: { web: { labels: Record<string, unknown> } };
      };
      assert.deepEqual(yaml11.services.web.labels, labels);
    });
  }

  test('values YAML would read as something else are quoted', () => {
    const out = setServiceLabels(lines('deployment: shop', 'services:', '  web:', '    labels:', '      k: v'), 'web', {
      ttl: '3600',
      flag: 'true',
      no: 'no',
      nil: '~',
      hex: '0x10',
      exp: '1e3',
      colon: 'a: b',
      hash: 'a #b',
    });
    assert.ok(
      out.endsWith(
        lines(
          '      ttl: "3600"',
          '      flag: "true"',
          '      "no": "no"',
          '      nil: "~"',
          '      hex: "0x10"',
          '      exp: "1e3"',
          '      colon: "a: b"',
          '      hash: "a #b"',
        ),
      ),
      out,
    );
  });

  test('keys YAML would read as something else are quoted', () => {
    const out = setServiceLabels(lines('deployment: shop', 'services:', '  web:', '    image: {name: x}'), 'web', {
      '1': 'a',
      true: 'b',
      'a:b': 'c',
      '-x': 'd',
      'zlayer.io/api-scopes': 'e',
    });
    assert.ok(
      out.includes('      "1": a\n      "true": b\n      "a:b": c\n      "-x": d\n      zlayer.io/api-scopes: e\n'),
      out,
    );
    assert.deepEqual(Object.keys(labelsOf(out, 'web')), ['1', 'true', 'a:b', '-x', 'zlayer.io/api-scopes']);
  });
});

describe('setServiceLabel and unsetServiceLabel', () => {
  test('setServiceLabel changes an existing label in place and appends a new one', () => {
    const changed = setServiceLabel(STOREFRONT, 'worker', 'zlayer.io/api-token-ttl', '7200');
    assert.deepEqual(changedLines(STOREFRONT, changed), {
      first: 33,
      removed: ['      zlayer.io/api-token-ttl: "3600"'],
      added: ['      zlayer.io/api-token-ttl: "7200"'],
    });
    const appended = setServiceLabel(STOREFRONT, 'worker', 'zlayer.team', 'commerce');
    assert.deepEqual(changedLines(STOREFRONT, appended), {
      first: 34,
      removed: [],
      added: ['      zlayer.team: "commerce"'],
    });
  });

  test('unsetServiceLabel removes one line; unsetting a missing label changes nothing', () => {
    const out = unsetServiceLabel(STOREFRONT, 'worker', 'zlayer.io/api-scopes');
    assert.deepEqual(changedLines(STOREFRONT, out), {
      first: 32,
      removed: ['      zlayer.io/api-scopes: "deployment:storefront:read"'],
      added: [],
    });
    assert.equal(unsetServiceLabel(STOREFRONT, 'worker', 'zlayer.io/not-there'), STOREFRONT);
  });
});

describe('label editing refuses what it cannot do safely', () => {
  test('an unknown service', () => {
    assertCastellanError(
      () => setServiceLabels(STOREFRONT, 'db', {}),
      'NOT_FOUND',
      'service "db" is not defined in deployment "storefront" (services: web, worker, cache)',
    );
  });

  test('a label key with whitespace', () => {
    assertCastellanError(
      () => setServiceLabel(STOREFRONT, 'web', 'team name', 'x'),
      'INVALID_INPUT',
      'label key "team name" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('an empty label key', () => {
    assertCastellanError(
      () => setServiceLabels(STOREFRONT, 'web', { '': 'x' }),
      'INVALID_INPUT',
      'label key "" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('a label key with a control character', () => {
    assertCastellanError(
      () => unsetServiceLabel(STOREFRONT, 'web', 'a\u0000b'),
      'INVALID_INPUT',
      'label key "a\\u0000b" is invalid: a label key must be non-empty and contain no whitespace or control characters',
    );
  });

  test('a label value that is not a string', () => {
    assertCastellanError(
      () => setServiceLabels(STOREFRONT, 'web', { ttl: 3600 } as unknown as Record<string, string>),
      'INVALID_INPUT',
      'label "ttl" must have a string value, got number',
    );
  });

  test('labels that are not an object', () => {
    assertCastellanError(
      () => setServiceLabels(STOREFRONT, 'web', ['a'] as unknown as Record<string, string>),
      'INVALID_INPUT',
      'labels must be an object mapping label keys to string values',
    );
  });

  test('a source that is not a valid spec', () => {
    assertSpecError(
      () => setServiceLabels(lines('deployment: shop', 'services:', '  web:', '    labels: {ttl: 3600}'), 'web', {}),
      '<spec>',
      4,
      19,
      'label "ttl" must be a string, got a number (quote it: "3600")',
    );
  });

  test('labels shared through an alias', () => {
    const text = lines(
      'deployment: shop',
      'services:',
      '  web:',
      '    labels: &common {team: a}',
      '  api:',
      '    labels: *common',
    );
    assertCastellanError(
      () => setServiceLabel(text, 'api', 'team', 'b'),
      'UNSUPPORTED',
      /"labels" is written as an alias \(\*common\)/,
    );
    assertCastellanError(
      () => setServiceLabel(text, 'web', 'team', 'b'),
      'UNSUPPORTED',
      /"labels" carries an anchor \(&common\)/,
    );
    assert.equal(setServiceLabel(text, 'web', 'team', 'a'), text);
  });

  test('a multi-line flow mapping with comments inside', () => {
    const text = lines(
      'deployment: shop',
      'services:',
      '  web:',
      '    labels: {',
      '      a: b, # first',
      '      c: d',
      '    }',
    );
    assertCastellanError(
      () => setServiceLabel(text, 'web', 'e', 'f'),
      'UNSUPPORTED',
      /multi-line flow mapping with comments inside/,
    );
    assert.deepEqual(labelsOf(setServiceLabel(text, 'web', 'a', 'z'), 'web'), { a: 'z', c: 'd' });
  });
});

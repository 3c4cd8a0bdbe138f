import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  LABEL_API_SCOPES,
  LABEL_API_TOKEN_TTL,
  LABEL_DAEMON_SOCKET,
  LABEL_DOCKER_SOCKET,
  describeScope,
  describeScopes,
  countBySeverity,
  findingsFor,
  formatTtl,
  rankFindings,
  resolveContainerAccess,
  tokenScope,
  type Finding,
} from '../../shared/policy/index.ts';

function audit(deployment: string, labels: Record<string, string>): Finding[] {
  return findingsFor(deployment, 'svc', resolveContainerAccess(deployment, labels));
}

function summary(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.code}`);
}

describe('findings', () => {
  test('ci-runners / runner (sample): socket, write beyond, secret, long TTL', () => {
    const findings = findingsFor(
      'ci-runners',
      'runner',
      resolveContainerAccess('ci-runners', {
        [LABEL_API_SCOPES]: 'deployment:*:write, job:build:execute, image:write, secret:ci:read',
        [LABEL_API_TOKEN_TTL]: '604800',
        [LABEL_DAEMON_SOCKET]: 'true',
        [LABEL_DOCKER_SOCKET]: 'true',
      }),
    );
    assert.deepEqual(summary(findings), [
      'critical daemon-socket',
      'high wildcard-write',
      'high write-beyond-deployment',
      'medium secret-access',
      'medium long-ttl',
      'medium docker-socket',
    ]);
    for (const f of findings) {
      assert.equal(f.deployment, 'ci-runners');
      assert.equal(f.service, 'runner');
    }
    assert.match(findings[0]!.title, /full daemon admin/);
    // deployment:*:write is one finding (reaching beyond the deployment), not two.
    assert.deepEqual(
      findings.filter((f) => /every deployment/.test(f.title)).map((f) => f.code),
      ['write-beyond-deployment'],
    );
    assert.deepEqual(
      findings.filter((f) => f.code === 'wildcard-write').map((f) => f.title),
      ['Write on every image'],
    );
    assert.match(findings.find((f) => f.code === 'long-ttl')!.title, /7 d/);
    assert.match(findings.find((f) => f.code === 'secret-access')!.title, /secret ci/);
  });

  test('the untouched default policy is rated by what it grants: wildcard write on containers and images is high', () => {
    const findings = audit('storefront', { 'zlayer.team': 'commerce' });
    assert.deepEqual(summary(findings), ['high wildcard-write', 'high wildcard-write']);
    assert.deepEqual(
      findings.map((f) => f.title),
      ['Write on every container (implicit ZLayer default)', 'Write on every image (implicit ZLayer default)'],
    );
    for (const f of findings) {
      assert.match(f.detail, /no api-scopes label is set/);
      assert.match(f.detail, /container:\*:write, image:\*:write/);
    }
  });

  test('defaults reached by falling back are high too and say why', () => {
    const findings = audit('d', { [LABEL_API_SCOPES]: 'garbage::::' });
    assert.deepEqual(summary(findings), ['high wildcard-write', 'high wildcard-write']);
    assert.match(findings[0]!.detail, /no valid entry/);
  });

  test('rankFindings orders many services worst first, and countBySeverity counts every one', () => {
    const medium = audit('a', { [LABEL_API_SCOPES]: 'deployment:a:read', [LABEL_API_TOKEN_TTL]: '604800' });
    const critical = audit('z', { [LABEL_API_SCOPES]: 'deployment:z:read', [LABEL_DAEMON_SOCKET]: 'true' });
    const low = audit('b', { [LABEL_API_SCOPES]: 'deployment:b:read', [LABEL_API_TOKEN_TTL]: '10' });
    const ranked = rankFindings([...low, ...medium, ...critical]);
    assert.deepEqual(
      ranked.map((f) => `${f.severity} ${f.deployment}`),
      ['critical z', 'medium a', 'low b'],
    );
    assert.deepEqual(countBySeverity(ranked), { critical: 1, high: 0, medium: 1, low: 1 });
    assert.deepEqual(rankFindings([]), []);
  });

  test('the same wildcard written explicitly is high', () => {
    assert.deepEqual(summary(audit('d', { [LABEL_API_SCOPES]: 'container:*:write' })), ['high wildcard-write']);
  });

  test('storefront / worker (sample) is clean', () => {
    assert.deepEqual(
      audit('storefront', {
        [LABEL_API_SCOPES]: 'deployment:storefront:read',
        [LABEL_API_TOKEN_TTL]: '3600',
      }),
      [],
    );
  });

  test('ci-runners / janitor (sample): explicit wildcard write on containers', () => {
    assert.deepEqual(
      summary(
        audit('ci-runners', {
          [LABEL_API_SCOPES]: 'container::write, garbage, image:*:READ',
          [LABEL_API_TOKEN_TTL]: 'not-a-number',
          [LABEL_DAEMON_SOCKET]: 'no',
        }),
      ),
      ['high wildcard-write'],
    );
  });

  test('write on the own deployment stays inside it', () => {
    assert.deepEqual(audit('shop', { [LABEL_API_SCOPES]: 'deployment:shop:write' }), []);
  });

  test('write on another named deployment reaches beyond', () => {
    const [f, ...rest] = audit('shop', { [LABEL_API_SCOPES]: 'deployment:billing:write' });
    assert.equal(rest.length, 0);
    assert.equal(f?.code, 'write-beyond-deployment');
    assert.equal(f?.severity, 'high');
    assert.match(f?.title ?? '', /billing/);
  });

  test('read or execute on other deployments is not write', () => {
    assert.deepEqual(audit('shop', { [LABEL_API_SCOPES]: 'deployment:*:read, deployment:billing:execute' }), []);
  });

  const secrets: Array<[string, string[]]> = [
    ['secret:db:read', ['medium secret-access']],
    ['secret:db:execute', ['medium secret-access']],
    ['secret:db:write', ['high secret-access']],
    ['secret:*:read', ['high secret-access']],
    ['secret:*:write', ['high wildcard-write', 'high secret-access']],
    ['secret:db:none', []],
  ];
  for (const [scopes, expected] of secrets) {
    test(`secret access: ${scopes}`, () => {
      assert.deepEqual(summary(audit('d', { [LABEL_API_SCOPES]: scopes })), expected);
    });
  }

  const ttls: Array<[string, string[]]> = [
    ['604800', ['medium long-ttl']], // exactly 7 days: flagged, as the sample asks
    ['604799', []],
    ['299', ['low short-ttl']],
    ['300', []],
    ['1', ['low short-ttl']],
    ['18446744073709551615', ['medium long-ttl']],
  ];
  for (const [ttl, expected] of ttls) {
    test(`TTL ${ttl}`, () => {
      const labels = { [LABEL_API_SCOPES]: 'deployment:d:read', [LABEL_API_TOKEN_TTL]: ttl };
      assert.deepEqual(summary(audit('d', labels)), expected);
    });
  }

  test('docker socket: medium when the token can drive containers or images, else low', () => {
    const base = { [LABEL_DOCKER_SOCKET]: 'yes' };
    assert.deepEqual(summary(audit('d', { ...base, [LABEL_API_SCOPES]: 'deployment:d:read, image:app:write' })), [
      'medium docker-socket',
    ]);
    const [low] = audit('d', { ...base, [LABEL_API_SCOPES]: 'deployment:d:read' });
    assert.equal(low?.severity, 'low');
    assert.match(low?.detail ?? '', /authenticated as the container's token/);
    assert.deepEqual(audit('d', { [LABEL_DOCKER_SOCKET]: 'false', [LABEL_API_SCOPES]: 'deployment:d:read' }), []);
  });

  test('daemon socket alone is critical', () => {
    const [f] = audit('d', { [LABEL_DAEMON_SOCKET]: '1', [LABEL_API_SCOPES]: 'deployment:d:read' });
    assert.equal(f?.code, 'daemon-socket');
    assert.equal(f?.severity, 'critical');
  });
});

describe('words', () => {
  test('describeScope', () => {
    assert.equal(describeScope(tokenScope('container', null, 'write')), 'may write any container');
    assert.equal(describeScope(tokenScope('deployment', 'storefront', 'read')), 'may read deployment storefront');
    assert.equal(describeScope(tokenScope('job', 'build', 'execute')), 'may execute job build');
    assert.equal(describeScope(tokenScope('secret', null, 'none')), 'no access to any secret');
    assert.equal(describeScope(tokenScope('secret', 'db', 'none')), 'no access to secret db');
  });

  test('describeScopes', () => {
    assert.equal(
      describeScopes([tokenScope('container', null, 'write'), tokenScope('deployment', 'storefront', 'read')]),
      'may write any container; may read deployment storefront',
    );
    assert.equal(describeScopes([]), 'no scopes');
  });

  const ttls: Array<[number, string]> = [
    [0, '0 s'],
    [1, '1 s'],
    [59, '59 s'],
    [90, '1 min 30 s'],
    [3600, '1 h'],
    [86_400, '1 d'],
    [93_600, '1 d 2 h'],
    [604_800, '7 d'],
    [93_784, '1 d 2 h 3 min 4 s'],
    [-5, '-5 s'],
    [1.5, '1.5 s'],
  ];
  for (const [secs, expected] of ttls) {
    test(`formatTtl(${secs})`, () => assert.equal(formatTtl(secs), expected));
  }
});

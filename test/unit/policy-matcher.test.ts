import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  KNOWN_RESOURCE_KINDS,
  PERMISSION_LEVELS,
  defaultScopesFor,
  grantingScopes,
  grants,
  grantsWithRoles,
  highestLevel,
  levelAtLeast,
  levelRank,
  resourceKindsFor,
  tokenScope,
  type PermissionLevel,
} from '../../shared/policy/index.ts';

describe('permission levels', () => {
  test('none < read < execute < write', () => {
    assert.deepEqual(PERMISSION_LEVELS.map(levelRank), [0, 1, 2, 3]);
  });

  test('a level implies every lower one and nothing higher', () => {
    for (const have of PERMISSION_LEVELS) {
      for (const required of PERMISSION_LEVELS) {
        assert.equal(
          levelAtLeast(have, required),
          PERMISSION_LEVELS.indexOf(have) >= PERMISSION_LEVELS.indexOf(required),
          `${have} ≥ ${required}`,
        );
      }
    }
    assert.equal(levelAtLeast('execute', 'read'), true);
    assert.equal(levelAtLeast('read', 'execute'), false);
  });
});

describe('grants', () => {
  const scopes = [
    tokenScope('deployment', 'shop', 'read'),
    tokenScope('job', 'build', 'execute'),
    tokenScope('image', null, 'write'),
    tokenScope('secret', null, 'none'),
  ];
  // [kind, id, required, expected]
  const table: Array<[string, string | null, PermissionLevel, boolean]> = [
    ['deployment', 'shop', 'read', true],
    ['deployment', 'shop', 'none', true],
    ['deployment', 'shop', 'execute', false],
    ['deployment', 'shop', 'write', false],
    ['deployment', 'other', 'read', false],
    ['deployment', 'Shop', 'read', false], // ids compare exactly
    ['deployment', null, 'read', false], // a kind-wide request needs a wildcard
    ['Deployment', 'shop', 'read', false], // kinds compare exactly
    ['job', 'build', 'read', true],
    ['job', 'build', 'execute', true],
    ['job', 'build', 'write', false],
    ['image', 'anything', 'write', true],
    ['image', null, 'write', true],
    ['image', 'x', 'read', true],
    ['secret', 'db', 'read', false], // a none scope grants nothing
    ['secret', 'db', 'none', true],
    ['container', 'c1', 'read', false],
  ];
  for (const [kind, id, required, expected] of table) {
    test(`${kind}:${id ?? '(any)'} at ${required} → ${expected}`, () => {
      assert.equal(grants(scopes, kind, id, required), expected);
    });
  }

  test('no scopes grant nothing', () => {
    assert.equal(grants([], 'deployment', 'x', 'none'), false);
  });

  test('grantingScopes names every scope that grants on its own', () => {
    const overlapping = [
      tokenScope('deployment', 'shop', 'write'),
      tokenScope('deployment', null, 'read'),
      tokenScope('deployment', 'other', 'write'),
      tokenScope('deployment', null, 'none'),
    ];
    assert.deepEqual(grantingScopes(overlapping, 'deployment', 'shop', 'read'), [overlapping[0], overlapping[1]]);
    assert.deepEqual(grantingScopes(overlapping, 'deployment', 'shop', 'write'), [overlapping[0]]);
    assert.deepEqual(grantingScopes(overlapping, 'deployment', 'x', 'write'), []);
  });

  test('admin bypasses scopes; container grants nothing by itself', () => {
    assert.equal(grantsWithRoles(['admin'], [], 'secret', 'db', 'write'), true);
    assert.equal(grantsWithRoles(['container'], [], 'secret', 'db', 'read'), false);
    assert.equal(grantsWithRoles(['container'], defaultScopesFor('shop'), 'deployment', 'shop', 'read'), true);
    assert.equal(grantsWithRoles(['Admin'], [], 'secret', 'db', 'read'), false);
  });
});

describe('highestLevel (access matrix)', () => {
  const scopes = [
    tokenScope('deployment', 'shop', 'write'),
    tokenScope('deployment', null, 'read'),
    tokenScope('image', null, 'write'),
    tokenScope('image', 'base', 'read'),
    tokenScope('job', 'build', 'execute'),
    tokenScope('secret', null, 'none'),
  ];

  test('for a whole kind', () => {
    assert.deepEqual(highestLevel(scopes, 'deployment'), {
      level: 'write',
      via_wildcard: false,
      wildcard_level: 'read',
    });
    assert.deepEqual(highestLevel(scopes, 'image'), {
      level: 'write',
      via_wildcard: true,
      wildcard_level: 'write',
    });
    assert.deepEqual(highestLevel(scopes, 'job'), {
      level: 'execute',
      via_wildcard: false,
      wildcard_level: 'none',
    });
    assert.deepEqual(highestLevel(scopes, 'secret'), {
      level: 'none',
      via_wildcard: false,
      wildcard_level: 'none',
    });
    assert.deepEqual(highestLevel(scopes, 'node'), {
      level: 'none',
      via_wildcard: false,
      wildcard_level: 'none',
    });
  });

  test('for one id', () => {
    assert.equal(highestLevel(scopes, 'deployment', 'shop').level, 'write');
    assert.deepEqual(highestLevel(scopes, 'deployment', 'other'), {
      level: 'read',
      via_wildcard: true,
      wildcard_level: 'read',
    });
    assert.equal(highestLevel(scopes, 'job', 'deploy').level, 'none');
    assert.equal(highestLevel(scopes, 'deployment', null).level, 'read');
  });

  test('agrees with grants for every level', () => {
    for (const [kind, id] of [
      ['deployment', 'shop'],
      ['deployment', 'other'],
      ['image', 'base'],
      ['job', 'build'],
      ['job', 'x'],
      ['secret', 's'],
    ] as const) {
      const { level } = highestLevel(scopes, kind, id);
      for (const required of PERMISSION_LEVELS.slice(1)) {
        assert.equal(grants(scopes, kind, id, required), levelAtLeast(level, required), `${kind}:${id} ${required}`);
      }
    }
  });
});

describe('resource kinds', () => {
  test('known kinds come first, then the unknown ones seen, sorted and once each', () => {
    const kinds = resourceKindsFor([
      tokenScope('zeta', null, 'read'),
      tokenScope('deployment', 'x', 'read'),
      tokenScope('alpha', 'a', 'read'),
      tokenScope('zeta', 'z', 'write'),
    ]);
    assert.deepEqual(kinds, [...KNOWN_RESOURCE_KINDS, 'alpha', 'zeta']);
  });

  test('the standard matrix kinds are all known', () => {
    for (const kind of [
      'deployment',
      'service',
      'container',
      'image',
      'job',
      'cron',
      'secret',
      'node',
      'volume',
      'network',
    ]) {
      assert.ok((KNOWN_RESOURCE_KINDS as readonly string[]).includes(kind), kind);
    }
  });
});

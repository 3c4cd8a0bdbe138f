import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  DEFAULT_CONTAINER_TOKEN_TTL_SECS,
  LABEL_API_SCOPES,
  LABEL_API_TOKEN_TTL,
  LABEL_DAEMON_SOCKET,
  LABEL_DOCKER_SOCKET,
  PermissionLevelSchema,
  TokenScopeSchema,
  asciiLowercase,
  defaultScopesFor,
  parseRustU64,
  resolveContainerAccess,
  rustTrim,
  tokenScope,
  validateLabels,
  type ContainerAccess,
  type Diagnostic,
  type TokenScope,
} from '../../shared/policy/index.ts';

const DAY = 86_400;

/** `kind:id:level` with `*` for a wildcard, to keep expected scope lists readable. */
function short(scopes: TokenScope[]): string[] {
  return scopes.map((s) => `${s.resource_kind}:${s.resource_id ?? '*'}:${s.level}`);
}

function codes(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => d.code);
}

// Ports of every test in the reference's `mod tests` (zlayer_agent/auth.rs), same
// inputs, same assertions.
describe('reference tests (auth.rs mod tests)', () => {
  test('default_access_includes_docker_scopes', () => {
    const access = resolveContainerAccess('myapp', {});
    assert.ok(
      access.scopes.some((s) => s.resource_kind === 'deployment' && s.resource_id === 'myapp' && s.level === 'read'),
    );
    assert.ok(
      access.scopes.some((s) => s.resource_kind === 'container' && s.resource_id === null && s.level === 'write'),
    );
    assert.ok(access.scopes.some((s) => s.resource_kind === 'image' && s.resource_id === null && s.level === 'write'));
    assert.equal(access.ttl_secs, DEFAULT_CONTAINER_TOKEN_TTL_SECS);
    assert.equal(access.mount_socket, false);
  });

  test('explicit_scopes_replace_defaults', () => {
    const access = resolveContainerAccess('foo', { [LABEL_API_SCOPES]: 'deployment:foo:read' });
    assert.equal(access.scopes.length, 1);
    assert.equal(access.scopes[0]?.resource_kind, 'deployment');
  });

  test('labels_override_scopes_ttl_and_socket', () => {
    const access = resolveContainerAccess('foo', {
      [LABEL_API_SCOPES]: 'deployment:foo:write, job:build:execute, container:*:read',
      [LABEL_API_TOKEN_TTL]: '3600',
      [LABEL_DAEMON_SOCKET]: 'true',
    });
    assert.equal(access.scopes.length, 3);
    assert.equal(access.scopes[0]?.level, 'write');
    assert.equal(access.scopes[1]?.resource_kind, 'job');
    assert.equal(access.scopes[1]?.resource_id, 'build');
    assert.equal(access.scopes[2]?.resource_id, null); // wildcard
    assert.equal(access.ttl_secs, 3600);
    assert.equal(access.mount_socket, true);
  });

  test('malformed_scopes_fall_back_to_default', () => {
    const access = resolveContainerAccess('d', { [LABEL_API_SCOPES]: 'garbage::::' });
    assert.deepEqual(access.scopes, defaultScopesFor('d'));
  });

  test('invalid_ttl_falls_back_to_default', () => {
    const access = resolveContainerAccess('d', { [LABEL_API_TOKEN_TTL]: 'notanumber' });
    assert.equal(access.ttl_secs, DEFAULT_CONTAINER_TOKEN_TTL_SECS);
  });
});

describe('scope shape', () => {
  test('default scopes, in token key order', () => {
    assert.equal(
      JSON.stringify(defaultScopesFor('my-app')),
      '[{"resource_kind":"deployment","resource_id":"my-app","level":"read"},' +
        '{"resource_kind":"container","resource_id":null,"level":"write"},' +
        '{"resource_kind":"image","resource_id":null,"level":"write"}]',
    );
  });

  test('parsed scopes serialise in token key order too', () => {
    const access = resolveContainerAccess('x', { [LABEL_API_SCOPES]: 'job:build:EXECUTE' });
    assert.equal(JSON.stringify(access.scopes), '[{"resource_kind":"job","resource_id":"build","level":"execute"}]');
  });

  test('zod schemas accept the token shape and refuse anything else', () => {
    const scope = tokenScope('image', null, 'write');
    assert.deepEqual(TokenScopeSchema.parse(scope), scope);
    assert.equal(
      JSON.stringify(TokenScopeSchema.parse({ level: 'read', resource_id: 'a', resource_kind: 'k' })),
      '{"resource_kind":"k","resource_id":"a","level":"read"}',
    );
    assert.equal(TokenScopeSchema.safeParse({ ...scope, extra: 1 }).success, false);
    assert.equal(TokenScopeSchema.safeParse({ ...scope, level: 'admin' }).success, false);
    assert.equal(TokenScopeSchema.safeParse({ ...scope, resource_kind: '' }).success, false);
    assert.equal(TokenScopeSchema.safeParse({ resource_kind: 'k', level: 'read' }).success, false);
    assert.equal(PermissionLevelSchema.safeParse('Write').success, false);
    assert.equal(PermissionLevelSchema.parse('execute'), 'execute');
  });
});

describe('rustTrim matches Rust str::trim (Unicode White_Space)', () => {
  // [name, character, Rust trims it, JavaScript trims it]
  const table: Array<[string, string, boolean, boolean]> = [
    ['U+FEFF BOM', '\uFEFF', false, true],
    ['U+0085 NEL', '\u0085', true, false],
    ['U+00A0 NBSP', '\u00A0', true, true],
    ['U+180E MONGOLIAN VOWEL SEPARATOR', '\u180E', false, false],
    ['U+200B ZERO WIDTH SPACE', '\u200B', false, false],
    ['U+001C FILE SEPARATOR', '\u001C', false, false],
    ['U+1680 OGHAM SPACE MARK', '\u1680', true, true],
    ['U+2007 FIGURE SPACE', '\u2007', true, true],
    ['U+2028 LINE SEPARATOR', '\u2028', true, true],
    ['U+3000 IDEOGRAPHIC SPACE', '\u3000', true, true],
    ['U+000B VERTICAL TAB', '\u000B', true, true],
  ];
  for (const [name, ch, rust, js] of table) {
    test(name, () => {
      const padded = `${ch}${ch}x y${ch}`;
      assert.equal(rustTrim(padded), rust ? 'x y' : padded);
      assert.equal(padded.trim() === 'x y', js, 'the JavaScript behaviour this guards against');
    });
  }

  test('keeps inner white space and empties an all-space string', () => {
    assert.equal(rustTrim(' \t a \u00A0 b \n'), 'a \u00A0 b');
    assert.equal(rustTrim('\u0085\u00A0 \u3000'), '');
    assert.equal(rustTrim(''), '');
  });
});

test('asciiLowercase touches A-Z only', () => {
  assert.equal(asciiLowercase('WRITE'), 'write');
  assert.equal(asciiLowercase('\u212A'), '\u212A', 'KELVIN SIGN stays (JS toLowerCase gives "k")');
  assert.equal('\u212A'.toLowerCase(), 'k');
  assert.equal(asciiLowercase('KÉLVIN'), 'kÉlvin');
  assert.equal(asciiLowercase('WR\u0130TE'), 'wr\u0130te');
});

describe('parseRustU64 matches u64::from_str', () => {
  const table: Array<[string, bigint | 'empty' | 'invalid-digit' | 'overflow']> = [
    ['0', 0n],
    ['5', 5n],
    ['+5', 5n],
    ['007', 7n],
    ['18446744073709551615', 18446744073709551615n],
    ['000000000000000000000018446744073709551615', 18446744073709551615n],
    ['18446744073709551616', 'overflow'],
    ['99999999999999999999999', 'overflow'],
    ['', 'empty'],
    ['+', 'invalid-digit'],
    ['-', 'invalid-digit'],
    ['-0', 'invalid-digit'],
    ['-1', 'invalid-digit'],
    ['++1', 'invalid-digit'],
    ['+-1', 'invalid-digit'],
    [' 1', 'invalid-digit'],
    ['1 0', 'invalid-digit'],
    ['1_000', 'invalid-digit'],
    ['1e3', 'invalid-digit'],
    ['1.0', 'invalid-digit'],
    ['0x10', 'invalid-digit'],
    ['\u0663', 'invalid-digit'], // ARABIC-INDIC DIGIT THREE
    ['\uFF11', 'invalid-digit'], // FULLWIDTH DIGIT ONE
  ];
  for (const [input, expected] of table) {
    test(JSON.stringify(input), () => {
      const result = parseRustU64(input);
      assert.deepEqual(
        result,
        typeof expected === 'bigint' ? { ok: true, value: expected } : { ok: false, error: expected },
      );
    });
  }
});

// Every expectation below was also checked against the reference's parse logic
// compiled with rustc 1.95 (a differential run over 200 000 generated label sets
// found no difference).
describe('resolution edge cases', () => {
  type Row = {
    name: string;
    labels: Record<string, string>;
    scopes?: string[];
    ttl?: number;
    socket?: boolean;
    source?: ContainerAccess['scopes_source'];
    diagnostics?: string[];
  };
  const DEFAULTS = ['deployment:dep:read', 'container:*:write', 'image:*:write'];
  const rows: Row[] = [
    // TTL
    { name: "TTL '+5'", labels: { [LABEL_API_TOKEN_TTL]: '+5' }, ttl: 5, diagnostics: [] },
    { name: "TTL ' 3600 '", labels: { [LABEL_API_TOKEN_TTL]: ' 3600 ' }, ttl: 3600, diagnostics: [] },
    { name: 'TTL NBSP-padded', labels: { [LABEL_API_TOKEN_TTL]: '\u00A060\u00A0' }, ttl: 60 },
    { name: 'TTL NEL-padded', labels: { [LABEL_API_TOKEN_TTL]: '\u008560\u0085' }, ttl: 60 },
    {
      name: 'TTL BOM-prefixed',
      labels: { [LABEL_API_TOKEN_TTL]: '\uFEFF60' },
      ttl: DAY,
      diagnostics: ['ttl-not-a-number'],
    },
    { name: "TTL '0'", labels: { [LABEL_API_TOKEN_TTL]: '0' }, ttl: DAY, diagnostics: ['ttl-zero'] },
    { name: "TTL '+0'", labels: { [LABEL_API_TOKEN_TTL]: '+0' }, ttl: DAY, diagnostics: ['ttl-zero'] },
    { name: "TTL '-1'", labels: { [LABEL_API_TOKEN_TTL]: '-1' }, ttl: DAY, diagnostics: ['ttl-negative'] },
    { name: "TTL '-0'", labels: { [LABEL_API_TOKEN_TTL]: '-0' }, ttl: DAY, diagnostics: ['ttl-negative'] },
    {
      name: 'TTL u64::MAX',
      labels: { [LABEL_API_TOKEN_TTL]: '18446744073709551615' },
      ttl: Number.MAX_SAFE_INTEGER,
      diagnostics: ['ttl-too-large'],
    },
    {
      name: 'TTL 2^53 + 1',
      labels: { [LABEL_API_TOKEN_TTL]: '9007199254740993' },
      ttl: Number.MAX_SAFE_INTEGER,
      diagnostics: ['ttl-too-large'],
    },
    {
      name: 'TTL 2^53 - 1',
      labels: { [LABEL_API_TOKEN_TTL]: '9007199254740991' },
      ttl: Number.MAX_SAFE_INTEGER,
      diagnostics: [],
    },
    {
      name: 'TTL u64::MAX + 1',
      labels: { [LABEL_API_TOKEN_TTL]: '18446744073709551616' },
      ttl: DAY,
      diagnostics: ['ttl-overflow'],
    },
    { name: "TTL '1_000'", labels: { [LABEL_API_TOKEN_TTL]: '1_000' }, ttl: DAY, diagnostics: ['ttl-not-a-number'] },
    {
      name: "TTL '٣' (Arabic-Indic three)",
      labels: { [LABEL_API_TOKEN_TTL]: '\u0663' },
      ttl: DAY,
      diagnostics: ['ttl-not-a-number'],
    },
    { name: "TTL '1h'", labels: { [LABEL_API_TOKEN_TTL]: '1h' }, ttl: DAY, diagnostics: ['ttl-not-a-number'] },
    { name: 'TTL empty', labels: { [LABEL_API_TOKEN_TTL]: '' }, ttl: DAY, diagnostics: ['ttl-empty'] },
    { name: 'TTL spaces only', labels: { [LABEL_API_TOKEN_TTL]: ' \u3000 ' }, ttl: DAY, diagnostics: ['ttl-empty'] },
    // Scopes
    {
      name: "'container::write' is a wildcard",
      labels: { [LABEL_API_SCOPES]: 'container::write' },
      scopes: ['container:*:write'],
      source: 'label',
      diagnostics: [],
    },
    {
      name: "'image:*:READ'",
      labels: { [LABEL_API_SCOPES]: 'image:*:READ' },
      scopes: ['image:*:read'],
      diagnostics: [],
    },
    {
      name: 'mixed-case levels',
      labels: { [LABEL_API_SCOPES]: 'job:a:eXeCuTe,job:b:None' },
      scopes: ['job:a:execute', 'job:b:none'],
      diagnostics: ['scope-none-level'],
    },
    {
      name: "'a:b:c:d' malformed",
      labels: { [LABEL_API_SCOPES]: 'a:b:c:d' },
      scopes: DEFAULTS,
      source: 'default-fallback',
      diagnostics: ['scope-too-many-segments', 'scopes-no-valid-entry'],
    },
    {
      name: "':read' malformed",
      labels: { [LABEL_API_SCOPES]: ':read' },
      scopes: DEFAULTS,
      source: 'default-fallback',
      diagnostics: ['scope-empty-kind', 'scopes-no-valid-entry'],
    },
    {
      name: "'::read' malformed",
      labels: { [LABEL_API_SCOPES]: '::read' },
      scopes: DEFAULTS,
      diagnostics: ['scope-empty-kind', 'scopes-no-valid-entry'],
    },
    {
      name: "'image' alone malformed",
      labels: { [LABEL_API_SCOPES]: 'image' },
      scopes: DEFAULTS,
      diagnostics: ['scope-too-few-segments', 'scopes-no-valid-entry'],
    },
    {
      name: 'unknown level',
      labels: { [LABEL_API_SCOPES]: 'image:*:admin' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: 'trailing comma',
      labels: { [LABEL_API_SCOPES]: 'image:read,' },
      scopes: ['image:*:read'],
      source: 'label',
      diagnostics: ['scope-empty-entry'],
    },
    {
      name: 'whitespace-only label',
      labels: { [LABEL_API_SCOPES]: ' \t\u00A0\u0085 ' },
      scopes: DEFAULTS,
      source: 'default',
      diagnostics: ['scopes-blank'],
    },
    {
      name: 'empty label',
      labels: { [LABEL_API_SCOPES]: '' },
      scopes: DEFAULTS,
      source: 'default',
      diagnostics: ['scopes-blank'],
    },
    {
      name: 'BOM-only label is not blank to Rust',
      labels: { [LABEL_API_SCOPES]: '\uFEFF' },
      scopes: DEFAULTS,
      source: 'default-fallback',
      diagnostics: ['scope-too-few-segments', 'scopes-no-valid-entry'],
    },
    {
      name: 'BOM before an entry sticks to the kind',
      labels: { [LABEL_API_SCOPES]: '\uFEFFimage:read' },
      scopes: ['\uFEFFimage:*:read'],
      diagnostics: ['scope-invisible-character'],
    },
    {
      name: 'BOM after an entry spoils the level',
      labels: { [LABEL_API_SCOPES]: 'image:read\uFEFF' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: 'NEL and NBSP around entries are trimmed',
      labels: { [LABEL_API_SCOPES]: '\u0085image:read\u00A0,\u00A0job:x:write\u0085' },
      scopes: ['image:*:read', 'job:x:write'],
      diagnostics: [],
    },
    {
      name: 'U+180E around an entry is kept',
      labels: { [LABEL_API_SCOPES]: '\u180Eimage:read' },
      scopes: ['\u180Eimage:*:read'],
      diagnostics: ['scope-invisible-character'],
    },
    {
      name: 'U+200B after an entry spoils the level',
      labels: { [LABEL_API_SCOPES]: 'image:read\u200B' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: 'space before the level is not trimmed',
      labels: { [LABEL_API_SCOPES]: 'image: read' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: 'space inside the kind is kept',
      labels: { [LABEL_API_SCOPES]: 'image :read' },
      scopes: ['image :*:read'],
      diagnostics: ['scope-whitespace'],
    },
    {
      name: 'the id is not trimmed',
      labels: { [LABEL_API_SCOPES]: 'deployment: foo :read' },
      scopes: ['deployment: foo :read'],
      diagnostics: ['scope-whitespace'],
    },
    {
      name: "id ' ' is not a wildcard",
      labels: { [LABEL_API_SCOPES]: 'container: :write' },
      scopes: ['container: :write'],
      diagnostics: ['scope-whitespace'],
    },
    {
      name: "'KÉLVIN'-style level: KELVIN SIGN is not K",
      labels: { [LABEL_API_SCOPES]: 'a:\u212Aread' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: "dotted capital I is not I: 'WR\u0130TE'",
      labels: { [LABEL_API_SCOPES]: 'a:WR\u0130TE' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: "dotless i is not i: 'wr\u0131te'",
      labels: { [LABEL_API_SCOPES]: 'a:wr\u0131te' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: 'fullwidth level',
      labels: { [LABEL_API_SCOPES]: 'a:\uFF32\uFF25\uFF21\uFF24' },
      scopes: DEFAULTS,
      diagnostics: ['scope-unknown-level', 'scopes-no-valid-entry'],
    },
    {
      name: "kind '*' is literal",
      labels: { [LABEL_API_SCOPES]: '*:read' },
      scopes: ['*:*:read'],
      diagnostics: ['scope-wildcard-kind'],
    },
    {
      name: 'good entries survive bad ones',
      labels: { [LABEL_API_SCOPES]: 'x, job:build:execute,,image:*:bogus' },
      scopes: ['job:build:execute'],
      source: 'label',
      diagnostics: ['scope-too-few-segments', 'scope-empty-entry', 'scope-unknown-level'],
    },
    {
      name: 'repeats are kept, and noted',
      labels: { [LABEL_API_SCOPES]: 'image:read,image:*:read,image::WRITE' },
      scopes: ['image:*:read', 'image:*:read', 'image:*:write'],
      diagnostics: ['scope-repeated', 'scope-repeated'],
    },
    // Daemon socket
    { name: "socket ' YES '", labels: { [LABEL_DAEMON_SOCKET]: ' YES ' }, socket: true, diagnostics: [] },
    { name: "socket '1'", labels: { [LABEL_DAEMON_SOCKET]: '1' }, socket: true, diagnostics: [] },
    { name: "socket 'True' NEL-padded", labels: { [LABEL_DAEMON_SOCKET]: '\u0085True\u0085' }, socket: true },
    {
      name: "socket BOM 'true'",
      labels: { [LABEL_DAEMON_SOCKET]: '\uFEFFtrue' },
      socket: false,
      diagnostics: ['socket-unrecognised'],
    },
    {
      name: "socket 'on'",
      labels: { [LABEL_DAEMON_SOCKET]: 'on' },
      socket: false,
      diagnostics: ['socket-unrecognised'],
    },
    {
      name: "socket 'enabled'",
      labels: { [LABEL_DAEMON_SOCKET]: 'enabled' },
      socket: false,
      diagnostics: ['socket-unrecognised'],
    },
    {
      name: "socket 'ye\u017F' (long s uppercases to S in JS)",
      labels: { [LABEL_DAEMON_SOCKET]: 'ye\u017F' },
      socket: false,
      diagnostics: ['socket-unrecognised'],
    },
    { name: "socket 'off'", labels: { [LABEL_DAEMON_SOCKET]: 'off' }, socket: false, diagnostics: [] },
    { name: "socket 'FALSE'", labels: { [LABEL_DAEMON_SOCKET]: 'FALSE' }, socket: false, diagnostics: [] },
    { name: "socket '0'", labels: { [LABEL_DAEMON_SOCKET]: '0' }, socket: false, diagnostics: [] },
    { name: "socket 'no'", labels: { [LABEL_DAEMON_SOCKET]: 'no' }, socket: false, diagnostics: [] },
    // Label names are matched exactly
    {
      name: 'misspelt label name is ignored',
      labels: { 'zlayer.io/Daemon_Socket': 'true' },
      socket: false,
      diagnostics: ['label-misspelt'],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const access = resolveContainerAccess('dep', row.labels);
      if (row.scopes) assert.deepEqual(short(access.scopes), row.scopes);
      if (row.ttl !== undefined) assert.equal(access.ttl_secs, row.ttl);
      if (row.socket !== undefined) assert.equal(access.mount_socket, row.socket);
      if (row.source) assert.equal(access.scopes_source, row.source);
      if (row.diagnostics) assert.deepEqual(codes(access.diagnostics), row.diagnostics);
    });
  }
});

describe('diagnostics', () => {
  test('each malformed entry is reported with its position and reason', () => {
    const diagnostics = validateLabels('d', {
      [LABEL_API_SCOPES]: 'image:read, garbage ,,a:b:c:d,:read,job:x:admin',
    });
    assert.deepEqual(
      diagnostics.map(({ code, entry, index, severity }) => ({ code, entry, index, severity })),
      [
        { code: 'scope-too-few-segments', entry: 'garbage', index: 1, severity: 'error' },
        { code: 'scope-empty-entry', entry: '', index: 2, severity: 'warning' },
        { code: 'scope-too-many-segments', entry: 'a:b:c:d', index: 3, severity: 'error' },
        { code: 'scope-empty-kind', entry: ':read', index: 4, severity: 'error' },
        { code: 'scope-unknown-level', entry: 'job:x:admin', index: 5, severity: 'error' },
      ],
    );
    for (const d of diagnostics) assert.equal(d.label, LABEL_API_SCOPES);
    const unknown = diagnostics.at(-1)?.message ?? '';
    assert.match(unknown, /'admin'/);
    assert.match(unknown, /none, read, execute, write/);
  });

  test('no valid entry says the defaults apply', () => {
    const [, last] = validateLabels('d', { [LABEL_API_SCOPES]: 'garbage::::' });
    assert.equal(last?.code, 'scopes-no-valid-entry');
    assert.equal(last?.severity, 'error');
    assert.match(last?.message ?? '', /no valid entry: defaults applied/);
  });

  test('TTL fallbacks say why', () => {
    const why = (value: string): string => validateLabels('d', { [LABEL_API_TOKEN_TTL]: value })[0]?.message ?? '';
    assert.match(why('abc'), /not a number/);
    assert.match(why('0'), /0 is not allowed/);
    assert.match(why('-5'), /negative/);
    assert.match(why('18446744073709551616'), /larger than the maximum 18446744073709551615/);
    assert.match(why(''), /empty/);
    for (const v of ['abc', '0', '-5', '']) assert.match(why(v), /default of 86400 s/);
  });

  test('a TTL beyond 2^53 is carried exactly (ttl_secs_exact), clamped only for arithmetic, and explained', () => {
    const access = resolveContainerAccess('d', { [LABEL_API_TOKEN_TTL]: '18446744073709551615' });
    assert.equal(access.ttl_secs, Number.MAX_SAFE_INTEGER);
    assert.equal(access.ttl_secs_exact, '18446744073709551615', 'not 9007199254740991');
    assert.equal(resolveContainerAccess('d', { [LABEL_API_TOKEN_TTL]: ' +9007199254740993 ' }).ttl_secs_exact, '9007199254740993');
    assert.equal(resolveContainerAccess('d', { [LABEL_API_TOKEN_TTL]: '3600' }).ttl_secs_exact, '3600');
    assert.equal(resolveContainerAccess('d', { [LABEL_API_TOKEN_TTL]: 'abc' }).ttl_secs_exact, '86400');
    assert.equal(resolveContainerAccess('d', {}).ttl_secs_exact, '86400');
    const [d] = access.diagnostics;
    assert.equal(d?.severity, 'error');
    assert.match(d?.message ?? '', /18446744073709551615 s/, 'carries the exact value');
    assert.match(d?.message ?? '', /overflows and the daemon panics/);
  });

  test('an unrecognised socket value is read as off, and says so', () => {
    const [d] = validateLabels('d', { [LABEL_DAEMON_SOCKET]: 'on' });
    assert.equal(d?.label, LABEL_DAEMON_SOCKET);
    assert.match(d?.message ?? '', /the daemon treats this as off/);
  });

  test('none levels and repeats are info, not errors', () => {
    const diagnostics = validateLabels('d', {
      [LABEL_API_SCOPES]: 'secret:*:none, image:read, image:*:write',
    });
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.severity, d.index]),
      [
        ['scope-none-level', 'info', 0],
        ['scope-repeated', 'info', 2],
      ],
    );
    assert.match(diagnostics[1]?.message ?? '', /both read and write/);
  });

  test('clean labels produce no diagnostics', () => {
    assert.deepEqual(
      validateLabels('shop', {
        [LABEL_API_SCOPES]: 'deployment:shop:read, image:*:write',
        [LABEL_API_TOKEN_TTL]: '3600',
        [LABEL_DAEMON_SOCKET]: 'false',
        [LABEL_DOCKER_SOCKET]: 'true',
        'zlayer.team': 'commerce',
      }),
      [],
    );
  });

  test('validateLabels returns exactly the resolution diagnostics', () => {
    const labels = { [LABEL_API_SCOPES]: 'a:b:c:d', [LABEL_API_TOKEN_TTL]: 'x', [LABEL_DAEMON_SOCKET]: 'on' };
    assert.deepEqual(validateLabels('d', labels), resolveContainerAccess('d', labels).diagnostics);
  });

  test('inherited object keys are not labels', () => {
    const labels = Object.create({ [LABEL_DAEMON_SOCKET]: 'true' }) as Record<string, string>;
    assert.equal(resolveContainerAccess('d', labels).mount_socket, false);
  });
});

describe('docker socket (not parsed by the reference; daemon-socket grammar)', () => {
  const table: Array<[string | undefined, boolean | null, number]> = [
    [undefined, null, 0],
    ['true', true, 0],
    [' Yes ', true, 0],
    ['0', false, 0],
    ['off', false, 0],
    ['enabled', false, 1],
  ];
  for (const [value, expected, diagnosticCount] of table) {
    test(String(value), () => {
      const labels: Record<string, string> = value === undefined ? {} : { [LABEL_DOCKER_SOCKET]: value };
      const access = resolveContainerAccess('d', labels);
      assert.equal(access.docker_socket, expected);
      assert.equal(access.mount_socket, false, 'never touches the daemon socket');
      assert.equal(access.diagnostics.length, diagnosticCount);
    });
  }
});

// Label values copied from /work/shared/samples/ci-runners.yaml and storefront.yaml.
describe('sample deployments', () => {
  test('ci-runners / runner', () => {
    const access = resolveContainerAccess('ci-runners', {
      [LABEL_API_SCOPES]: 'deployment:*:write, job:build:execute, image:write, secret:ci:read',
      [LABEL_API_TOKEN_TTL]: '604800',
      [LABEL_DAEMON_SOCKET]: 'true',
      [LABEL_DOCKER_SOCKET]: 'true',
    });
    assert.deepEqual(short(access.scopes), [
      'deployment:*:write',
      'job:build:execute',
      'image:*:write',
      'secret:ci:read',
    ]);
    assert.equal(access.ttl_secs, 604_800);
    assert.equal(access.mount_socket, true);
    assert.equal(access.docker_socket, true);
    assert.equal(access.scopes_source, 'label');
    assert.deepEqual(access.diagnostics, []);
  });

  test('ci-runners / janitor', () => {
    const access = resolveContainerAccess('ci-runners', {
      [LABEL_API_SCOPES]: 'container::write, garbage, image:*:READ',
      [LABEL_API_TOKEN_TTL]: 'not-a-number',
      [LABEL_DAEMON_SOCKET]: 'no',
    });
    assert.deepEqual(short(access.scopes), ['container:*:write', 'image:*:read']);
    assert.equal(access.ttl_secs, 86_400);
    assert.equal(access.mount_socket, false);
    assert.equal(access.docker_socket, null);
    assert.deepEqual(
      access.diagnostics.map(({ label, code, entry }) => ({ label, code, entry })),
      [
        { label: LABEL_API_SCOPES, code: 'scope-too-few-segments', entry: 'garbage' },
        { label: LABEL_API_TOKEN_TTL, code: 'ttl-not-a-number', entry: undefined },
      ],
    );
  });

  test('storefront / worker', () => {
    const access = resolveContainerAccess('storefront', {
      [LABEL_API_SCOPES]: 'deployment:storefront:read',
      [LABEL_API_TOKEN_TTL]: '3600',
    });
    assert.deepEqual(short(access.scopes), ['deployment:storefront:read']);
    assert.equal(access.ttl_secs, 3600);
    assert.equal(access.mount_socket, false);
    assert.deepEqual(access.diagnostics, []);
  });

  for (const [service, labels] of [
    ['web', { 'zlayer.team': 'commerce' }],
    ['cache', {}],
  ] as const) {
    test(`storefront / ${service} uses the defaults`, () => {
      const access = resolveContainerAccess('storefront', labels);
      assert.deepEqual(access.scopes, defaultScopesFor('storefront'));
      assert.equal(access.ttl_secs, 86_400);
      assert.equal(access.mount_socket, false);
      assert.equal(access.scopes_source, 'default');
      assert.deepEqual(access.diagnostics, []);
    });
  }
});

/**
 * The `castellan` launcher at the repository root, as a user runs it from a shell: the pinned
 * Node, the bundled CLI, stdout holding only the command's output (a token, JSON) so pipes and
 * redirections work; help on stdout, wrapped at 100 columns, naming every flag and whether the
 * vault must be unlocked; --version; the nearest command for a typo; control characters from
 * untrusted fields escaped.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { COMMANDS } from '../../electron/cli/commands/index.ts';
import { tempDir } from '../harness/services.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const LAUNCHER = path.join(REPO, 'castellan');
const PASSPHRASE = 'a passphrase for the launcher test 5';
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

type Run = { status: number | null; stdout: string; stderr: string };

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CASTELLAN_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  // The system's PATH, without the test runner's node first: the launcher must find its own.
  env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.includes('.tools')).join(path.delimiter);
  return { ...env, P: PASSPHRASE, ...extra };
}

function castellan(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(LAUNCHER, args, { env: cleanEnv(options.env), input: options.input ?? '', encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A shell script, run from `cwd` with the launcher's folder on PATH, as the README's lines are. */
function shell(script: string, cwd: string): Run {
  const env = cleanEnv();
  env.PATH = `${REPO}${path.delimiter}${env.PATH}`;
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function columns(line: string): number {
  return [...line].length;
}

describe('the castellan launcher', () => {
  before(() => {
    // The first run may build the bundle (stderr); everything below runs the built one.
    const first = castellan(['--version']);
    assert.equal(first.status, 0, first.stderr);
  });

  test('--version and version print the version on stdout, exit 0, and nothing else', () => {
    for (const args of [['--version'], ['-V'], ['version']]) {
      const r = castellan(args);
      assert.deepEqual([r.status, r.stdout, r.stderr], [0, `castellan ${VERSION}\n`, ''], args.join(' '));
    }
  });

  test('--help, -h and help print every command on stdout, exit 0, within 100 columns', () => {
    const outputs = ['--help', '-h', 'help'].map((a) => castellan([a]));
    for (const r of outputs) {
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, outputs[0]!.stdout);
    }
    const text = outputs[0]!.stdout;
    for (const c of COMMANDS) assert.match(text, new RegExp(`^  ${c.path.join(' ')}( |$)`, 'm'), c.path.join(' '));
    for (const line of text.split('\n')) assert.ok(columns(line) <= 100, `${columns(line)} columns: ${line}`);
  });

  test('help COMMAND and COMMAND --help: usage, every flag, whether the vault must be unlocked', () => {
    for (const c of COMMANDS) {
      const name = c.path.join(' ');
      const r = castellan(['help', ...c.path]);
      assert.equal(r.status, 0, name);
      assert.equal(r.stderr, '', name);
      assert.equal(castellan([...c.path, '--help']).stdout, r.stdout, `${name} --help`);
      assert.match(r.stdout, new RegExp(`^usage: castellan ${name}`), name);
      for (const flag of Object.keys(c.options ?? {})) assert.match(r.stdout, new RegExp(`^  --${flag}\\b`, 'm'), `${name} --${flag}`);
      assert.match(r.stdout, /^Vault: (not needed|must be unlocked|unlocked only when|creates it)/m, name);
      for (const line of r.stdout.split('\n')) assert.ok(columns(line) <= 100, `${name}: ${columns(line)} columns: ${line}`);
    }
    assert.match(castellan(['help', 'mint']).stdout, /^Vault: must be unlocked/m);
    assert.match(castellan(['help', 'tokens', 'list']).stdout, /^Vault: not needed/m);
    assert.match(castellan(['help', 'ca', 'bundle']).stdout, /p7b: a\s+PKCS#7 certs-only\s+bundle, PEM/);
  });

  test('a typo gets the nearest command; a group word lists its commands; exit 1, nothing on stdout', () => {
    const cases: [string[], RegExp][] = [
      [['tokns', 'list'], /^castellan: unknown command "tokns list"; did you mean "tokens list"\?\n/],
      [['mnt', 'a', 'b', 'c'], /^castellan: unknown command "mnt a"; did you mean "mint"\?\n/],
      [['help', 'revokee'], /^castellan: unknown command "revokee"; did you mean "revoke"\?\n/],
      [['ca'], /^castellan: "ca" needs a subcommand: ca init, ca import/],
      [['zzzzzzzz'], /^castellan: unknown command "zzzzzzzz"\nrun "castellan help"/],
    ];
    for (const [args, message] of cases) {
      const r = castellan(args);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  test('from a shell: mint > tok, inspect - < tok says valid; --json pipes into python3 -m json.tool', () => {
    const dir = tempDir('castellan-launcher-');
    const script = [
      'castellan --data-dir ws init --passphrase-env P',
      'castellan --data-dir ws deployments import "$SAMPLES"',
      'castellan --data-dir ws --passphrase-env P keys create --profile zlayer > /dev/null',
      'castellan --data-dir ws --passphrase-env P mint storefront web web-1 > tok',
      'castellan --data-dir ws --passphrase-env P inspect - < tok',
      'castellan --data-dir ws policy findings --json | python3 -m json.tool > findings.json',
      'castellan --data-dir ws tokens list --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\'total\'])"',
    ].join('\n');
    const r = shell(`SAMPLES=${JSON.stringify(path.join(REPO, 'samples'))}\n${script}`, dir);
    assert.equal(r.status, 0, r.stderr);
    const token = fs.readFileSync(path.join(dir, 'tok'), 'utf8');
    assert.match(token, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+\n$/, 'tok holds the token and nothing else');
    assert.match(r.stdout, /^verdict: valid$/m);
    assert.match(r.stdout, /^1$/m);
    const findings = JSON.parse(fs.readFileSync(path.join(dir, 'findings.json'), 'utf8')) as { code: string }[];
    assert.ok(findings.length > 0 && findings.every((f) => typeof f.code === 'string'));
    assert.equal(r.stdout.includes(token.trim()), false, 'the token went to the file only');
    assert.equal(r.stderr.includes(PASSPHRASE), false);
  });

  test('control characters in spec labels are escaped in terminal output, JSON keeps the value', () => {
    const dir = tempDir('castellan-launcher-');
    const spec = path.join(dir, 'evil.yaml');
    fs.writeFileSync(
      spec,
      'version: v1\ndeployment: evil\nservices:\n  web:\n    rtype: service\n    image:\n      name: ghcr.io/x/y:1\n' +
        '    labels:\n      zlayer.team: "red\\e[31mX\\nfake: line\\u202e"\n',
    );
    const ws = path.join(dir, 'ws');
    assert.equal(castellan(['--data-dir', ws, 'deployments', 'import', spec]).status, 0);
    const text = castellan(['--data-dir', ws, 'deployments', 'list']);
    assert.equal(text.status, 0, text.stderr);
    assert.ok(text.stdout.includes('zlayer.team=red\\x1b[31mX\\nfake: line\\u202e\n'), text.stdout);
    assert.doesNotMatch(text.stdout, /[\u001b\u202e]/); // eslint-disable-line no-control-regex
    const json = JSON.parse(castellan(['--data-dir', ws, 'deployments', 'list', '--json']).stdout) as {
      services: { labels: Record<string, string> }[];
    }[];
    assert.equal(json[0]!.services[0]!.labels['zlayer.team'], 'red\u001b[31mX\nfake: line\u202e');
  });

  test('the build prints nothing on stdout', () => {
    const env = cleanEnv();
    env.PATH = `${path.join(REPO, '.tools/node24/node_modules/.bin')}${path.delimiter}${env.PATH}`;
    const r = spawnSync('node', [path.join(REPO, 'scripts/build-cli.ts')], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^castellan: built the CLI into out\/cli\/ in \d+ ms\n$/);
    assert.ok(fs.statSync(path.join(REPO, 'out/cli/main.mjs')).size > 0);
  });
});

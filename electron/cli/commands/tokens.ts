/**
 * CLI verbs for signing keys and container tokens.
 *
 * A minted token is printed once, on stdout, and nowhere else (details go to
 * stderr so `TOKEN=$(castellan mint …)` captures only the token). `mint-batch`
 * prints progress to stderr while its single transaction runs and prints the
 * tokens only after it has committed.
 *
 * `inspect` prints the verdict and exits 0 only for `valid`; any other verdict
 * exits 2 (the verdict is on stdout, a one-line summary on stderr). Prefer
 * `inspect -` with the token on stdin: argv is visible to other local users.
 */
import { CastellanError, isCastellanError } from '../../../shared/errors.ts';
import { REVOKE_REASONS, TOKEN_SORT_COLUMNS, TOKEN_STATUSES } from '../../../shared/ipc/contract/tokens.ts';
import { describeScopes, formatTtl } from '../../../shared/policy/index.ts';
import { isoFromUnixSecs } from '../../../shared/time.ts';
import { mintBatch, mintToken, type Minted } from '../../core/tokens/minting.ts';
import {
  exportRevocationList,
  refreshToken,
  revokeBulk,
  revokeToken,
  type RevokeReason,
} from '../../core/tokens/revocation.ts';
import {
  createKey,
  exportJwks,
  exportZlayerSecretFile,
  forceRetireKey,
  getTokenConfig,
  importZlayerSecret,
  keyExposure,
  listKeys,
  readZlayerKeyFile,
  rotateKey,
  setTokenConfig,
  type SigningKeyInfo,
} from '../../core/tokens/signing-keys.ts';
import { getToken, listTokens, resolveTokenRef, type TokenFilter, type TokenRecord } from '../../core/tokens/token-ledger.ts';
import { inspectWithLedger, type TokenInspection } from '../../core/tokens/token-inspection.ts';
import { isProfile, PROFILES, type Profile } from '../../core/tokens/key-material.ts';
import { UsageError, type Command, type CommandContext } from '../cli.ts';
import { safe } from '../help.ts';
import { readInput, writeOutput } from '../io.ts';
import { assertActiveKey, assertMintable, assertNoActiveKey, assertRefreshable, assertRevocationSigner } from '../prechecks.ts';
import { str } from '../options.ts';

function profileOption(ctx: CommandContext, required: boolean): Profile | undefined {
  const p = str(ctx, 'profile');
  if (p === undefined) {
    if (required) throw new UsageError('--profile is required');
    return undefined;
  }
  if (!isProfile(p)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}`);
  return p;
}

function wholeOption(ctx: CommandContext, name: string, min: number): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) {
    throw new UsageError(`--${name} must be a whole number, ${min} or more`);
  }
  return Number(v);
}

function reasonOption(ctx: CommandContext): RevokeReason {
  const r = str(ctx, 'reason');
  if (r === undefined) throw new UsageError(`--reason is required (${REVOKE_REASONS.join(', ')})`);
  if (!(REVOKE_REASONS as readonly string[]).includes(r)) {
    throw new UsageError(`--reason must be one of ${REVOKE_REASONS.join(', ')}`);
  }
  return r as RevokeReason;
}

// Never throws, whatever a row or a pasted token holds (a far exp is printed as a number).
const when = (secs: number): string => isoFromUnixSecs(secs);

function keyLine(k: SigningKeyInfo): string {
  const flags = [k.state, k.compromised ? 'COMPROMISED' : null].filter(Boolean).join(', ');
  return (
    `${k.id}  ${k.profile.padEnd(7)} ${k.alg.padEnd(5)} ${flags.padEnd(24)} ` +
    `tokens: ${k.tokens.active} active, ${k.tokens.expired} expired, ${k.tokens.revoked} revoked` +
    `${k.kid ? `  kid ${k.kid}` : ''}`
  );
}

function tokenLine(t: TokenRecord): string {
  return (
    `#${t.id}  ${t.status.padEnd(7)} ${t.jti ?? '(no jti)'}  ${safe(t.deployment)}/${safe(t.service)}  ${safe(t.container)}  ` +
    `${t.profile}  expires ${when(t.expires_at)}${t.revoke_reason ? `  (${safe(t.revoke_reason)})` : ''}`
  );
}

/** The token on stdout (once), the record on stderr; or both as JSON on stdout. */
function printMinted(ctx: CommandContext, minted: Minted): void {
  if (ctx.values.json) return ctx.printJson(minted);
  const r = minted.record;
  ctx.io.stderr(
    `minted ${r.profile} token for ${r.subject} (${r.deployment}), ledger #${r.id}, ` +
      `${r.jti ? `jti ${r.jti}` : 'NO jti: it cannot be revoked, only expire'}, ` +
      `expires ${when(r.expires_at)} (${formatTtl(r.expires_at - r.issued_at)})${r.forced_ttl ? ', TTL FORCED beyond the policy' : ''}\n` +
      `scopes: ${describeScopes(r.scopes)}\n`,
  );
  ctx.print(minted.token);
}

function printInspection(ctx: CommandContext, i: TokenInspection): void {
  ctx.print(`verdict: ${i.verdict}`);
  ctx.print(`reason:  ${safe(i.reason)}`);
  if (i.key_id) ctx.print(`key:     ${i.key_id} (${i.profile})`);
  if (i.claims) {
    const c = i.claims as Record<string, unknown>;
    if (typeof c.sub === 'string') ctx.print(`subject: ${safe(c.sub)}`);
    if (typeof c.jti === 'string') ctx.print(`jti:     ${safe(c.jti)}`);
    if (typeof c.exp === 'number') ctx.print(`expires: ${when(c.exp)}`);
  }
  ctx.print(`scopes:  ${i.scopes_in_words}`);
  if (i.record)
    ctx.print(
      `ledger:  #${i.record.id} ${i.record.status}${i.record.revoke_reason ? ` (${safe(i.record.revoke_reason)})` : ''}`,
    );
}

/** `--containers a,b,c` or `--containers-file FILE|-` (one id per line). */
async function containersOption(ctx: CommandContext): Promise<string[] | undefined> {
  const list = str(ctx, 'containers');
  const file = str(ctx, 'containers-file');
  if (list !== undefined && file !== undefined)
    throw new UsageError('give --containers or --containers-file, not both');
  if (list !== undefined)
    return list
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
  if (file !== undefined) {
    const text = (await readInput(ctx.io, file)).toString('utf8');
    return text
      .split(/\r?\n/)
      .map((c) => c.trim())
      .filter((c) => c !== '');
  }
  return undefined;
}

export const tokenCommands: Command[] = [
  {
    path: ['keys', 'list'],
    usage: 'keys list [--json]',
    summary: 'signing keys with their state and token counts',
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const keys = listKeys(ctx.workspace());
      if (ctx.values.json) return ctx.printJson(keys);
      if (keys.length === 0)
        ctx.print('no signing keys yet: keys create --profile P, or keys import-zlayer-secret FILE');
      for (const k of keys) ctx.print(keyLine(k));
    },
  },
  {
    path: ['keys', 'create'],
    usage: 'keys create --profile zlayer|ed25519|es256 [--json]',
    summary: 'create the active signing key of a profile',
    options: { profile: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      const profile = profileOption(ctx, true)!;
      assertNoActiveKey(ctx.workspace(), profile);
      const key = await createKey(await ctx.unlocked(), profile);
      if (ctx.values.json) return ctx.printJson(key);
      ctx.print(`created ${keyLine(key)}`);
      if (profile === 'zlayer')
        ctx.print('give the daemon this secret: keys export-zlayer-secret --out jwt_secret_zlayer.key');
    },
  },
  {
    path: ['keys', 'rotate'],
    usage: 'keys rotate --profile P [--compromised] [--json]',
    summary: 'make a new active key; the old one verifies until its tokens expire',
    options: { profile: { type: 'string' }, compromised: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(ctx) {
      const profile = profileOption(ctx, true)!;
      const compromised = Boolean(ctx.values.compromised);
      const result = await rotateKey(await ctx.unlocked(), profile, { compromised });
      if (ctx.values.json) return ctx.printJson(result);
      ctx.print(`new active key: ${keyLine(result.key)}`);
      if (result.previous) ctx.print(`previous key:   ${keyLine(result.previous)}`);
      if (compromised && result.previous) {
        ctx.print(`${result.tokens_at_risk} active token(s) signed by ${result.previous.id} are at risk.`);
        if (result.tokens_at_risk > 0) {
          ctx.print(`to revoke them: castellan revoke --key ${result.previous.id} --reason key_compromise --dry-run`);
          ctx.print('(then run it again without --dry-run)');
        }
      }
    },
  },
  {
    path: ['keys', 'import-zlayer-secret'],
    usage: 'keys import-zlayer-secret FILE | --literal-env VAR',
    summary: 'import the daemon’s jwt_secret_zlayer.key, or a literal --jwt-secret from an env var (--allow-weak)',
    positionals: [0, 1],
    options: { 'literal-env': { type: 'string' }, 'allow-weak': { type: 'boolean' }, json: { type: 'boolean' } },
    async run(ctx) {
      const literalEnv = str(ctx, 'literal-env');
      if ((ctx.args.length === 1) === (literalEnv !== undefined)) {
        throw new UsageError('give either a key FILE or --literal-env VAR');
      }
      const ws = await ctx.reauthenticated();
      let key: SigningKeyInfo;
      if (literalEnv !== undefined) {
        const literal = await ctx.secret('literal-env', 'ZLayer JWT secret: ');
        key = importZlayerSecret(ws, { literal, allowWeak: Boolean(ctx.values['allow-weak']) });
      } else {
        const bytes = await readZlayerKeyFile(ctx.args[0]!);
        try {
          key = importZlayerSecret(ws, { keyFile: bytes });
        } finally {
          bytes.fill(0);
        }
      }
      if (ctx.values.json) return ctx.printJson(key);
      ctx.print(`imported ${keyLine(key)}`);
    },
  },
  {
    path: ['keys', 'export-zlayer-secret'],
    usage: 'keys export-zlayer-secret --out FILE',
    summary: 'write the active ZLayer secret as the daemon’s jwt_secret_zlayer.key (mode 0600)',
    options: { out: { type: 'string' } },
    async run(ctx) {
      const out = str(ctx, 'out');
      if (out === undefined || out === '-')
        throw new UsageError('--out FILE is required (the secret is never printed)');
      assertActiveKey(ctx.workspace(), 'zlayer');
      const { key_id } = await exportZlayerSecretFile(await ctx.reauthenticated(), out);
      ctx.print(`wrote the secret of ${key_id} to ${out} (mode 0600)`);
    },
  },
  {
    path: ['keys', 'config'],
    usage: 'keys config [--issuer X] [--audience Y] [--json]',
    summary: 'show or set the issuer and audience of ed25519/es256 tokens',
    options: { issuer: { type: 'string' }, audience: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      const issuer = str(ctx, 'issuer');
      const audience = str(ctx, 'audience');
      // Setting them re-authenticates the record with a key held in the vault: unlock for a change.
      const ws = issuer === undefined && audience === undefined ? ctx.workspace() : await ctx.unlocked();
      const config =
        issuer === undefined && audience === undefined ? getTokenConfig(ws) : setTokenConfig(ws, { issuer, audience });
      if (ctx.values.json) return ctx.printJson(config);
      ctx.print(`issuer:   ${config.issuer}\naudience: ${config.audience}`);
    },
  },
  {
    path: ['mint'],
    usage: 'mint DEPLOYMENT SERVICE CONTAINER [--profile P] [--ttl S] [--force] [--no-jti] [--attempt N]',
    summary: 'mint one container token, printed once on stdout (--json: with its record)',
    positionals: 3,
    options: {
      profile: { type: 'string' },
      ttl: { type: 'string' },
      force: { type: 'boolean' },
      'no-jti': { type: 'boolean' },
      // The replica's create attempt (attempt binding: supersedes the container's earlier attempts).
      attempt: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(ctx) {
      const [deployment, service, container] = ctx.args as [string, string, string];
      const profile = profileOption(ctx, false);
      const ttlSecs = wholeOption(ctx, 'ttl', 1);
      // Refused before the passphrase is asked for: no service, no active key, a TTL beyond the policy.
      assertMintable(ctx.workspace(), { deployment, service, profile, ttlSecs, force: Boolean(ctx.values.force) });
      const attempt = wholeOption(ctx, 'attempt', 1);
      const ws = await ctx.unlocked();
      printMinted(
        ctx,
        mintToken(ws, {
          deployment,
          service,
          container,
          profile,
          ttlSecs,
          force: Boolean(ctx.values.force),
          noJti: Boolean(ctx.values['no-jti']),
          ...(attempt !== undefined ? { attempt } : {}),
        }),
      );
    },
  },
  {
    path: ['mint-batch'],
    usage: 'mint-batch DEPLOYMENT SERVICE [--containers a,b | --containers-file F] [--profile P]',
    summary:
      'mint for every replica (<service>-<n>) or the listed containers, in one transaction (also --ttl S, --json)',
    positionals: 2,
    options: {
      containers: { type: 'string' },
      'containers-file': { type: 'string' },
      profile: { type: 'string' },
      ttl: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(ctx) {
      const [deployment, service] = ctx.args as [string, string];
      const profile = profileOption(ctx, false);
      const ttlSecs = wholeOption(ctx, 'ttl', 1);
      const containers = await containersOption(ctx);
      assertMintable(ctx.workspace(), { deployment, service, profile, ttlSecs });
      const ws = await ctx.unlocked();
      const minted = mintBatch(ws, {
        deployment,
        service,
        containers,
        profile,
        ttlSecs,
        // Inside the transaction: nothing is committed yet, so no token is printed yet.
        onProgress: (done, total) => ctx.io.stderr(`minting ${done}/${total}\n`),
      });
      // Committed: now, and only now, the tokens may leave.
      if (ctx.values.json) {
        return ctx.printJson(minted.map((m) => ({ container: m.record.container, jti: m.record.jti, token: m.token })));
      }
      ctx.io.stderr(`minted ${minted.length} token(s) for ${deployment}/${service}\n`);
      const lines: string[] = [];
      for (const m of minted) {
        lines.push(`${safe(m.record.container)}\t${m.token}\n`);
        if (lines.length === 256) ctx.io.stdout(lines.splice(0).join(''));
      }
      if (lines.length > 0) ctx.io.stdout(lines.join(''));
    },
  },
  {
    path: ['tokens', 'list'],
    usage: 'tokens list [--status S] [--deployment D] [--service S] [--key ID] [--json]',
    summary:
      'page through the ledger, newest first (also --container, --profile, --text, --sort COL, --asc, --limit, --offset)',
    options: {
      status: { type: 'string' },
      deployment: { type: 'string' },
      service: { type: 'string' },
      container: { type: 'string' },
      key: { type: 'string' },
      profile: { type: 'string' },
      text: { type: 'string' },
      sort: { type: 'string' },
      asc: { type: 'boolean' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      json: { type: 'boolean' },
    },
    run(ctx) {
      const status = str(ctx, 'status');
      if (status !== undefined && !(TOKEN_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`--status must be one of ${TOKEN_STATUSES.join(', ')}`);
      }
      const sort = str(ctx, 'sort');
      if (sort !== undefined && !(TOKEN_SORT_COLUMNS as readonly string[]).includes(sort)) {
        throw new UsageError(`--sort must be one of ${TOKEN_SORT_COLUMNS.join(', ')}`);
      }
      const filter: TokenFilter = {
        status: status as TokenFilter['status'],
        deployment: str(ctx, 'deployment'),
        service: str(ctx, 'service'),
        container: str(ctx, 'container'),
        key_id: str(ctx, 'key'),
        profile: profileOption(ctx, false),
        text: str(ctx, 'text'),
      };
      const page = listTokens(ctx.workspace(), {
        filter,
        sort: sort as (typeof TOKEN_SORT_COLUMNS)[number] | undefined,
        direction: ctx.values.asc ? 'asc' : 'desc',
        limit: wholeOption(ctx, 'limit', 1),
        offset: wholeOption(ctx, 'offset', 0),
      });
      if (ctx.values.json) return ctx.printJson(page);
      for (const t of page.rows) ctx.print(tokenLine(t));
      ctx.print(`${page.rows.length} of ${page.total} token(s)`);
    },
  },
  {
    path: ['tokens', 'show'],
    usage: 'tokens show JTI|PREFIX|#N [--json]',
    summary: 'one ledger record with its claims and history; a jti, a unique prefix of one, or #N (ledger number)',
    positionals: 1,
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const ws = ctx.workspace();
      const detail = getToken(ws, resolveTokenRef(ws, ctx.args[0]!).id);
      if (ctx.values.json) return ctx.printJson(detail);
      ctx.print(tokenLine(detail.record));
      ctx.print(`scopes: ${detail.scopes_in_words}`);
      ctx.print(`claims: ${JSON.stringify(detail.claims)}`);
      for (const h of detail.history) ctx.print(`  ${h.ts}  ${h.action}  by ${safe(h.actor)}`);
    },
  },
  {
    path: ['revoke'],
    usage: 'revoke JTI|PREFIX|#N | --service DEPLOYMENT/SERVICE | --deployment D | --key ID  --reason R',
    summary: `revoke one token (a jti, a unique prefix of one, or #N), or every active one of a service, deployment or key (--dry-run counts first); --reason ${REVOKE_REASONS.join('|')}`,
    positionals: [0, 1],
    options: {
      reason: { type: 'string' },
      service: { type: 'string' },
      deployment: { type: 'string' },
      key: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    run(ctx) {
      const reason = reasonOption(ctx);
      const service = str(ctx, 'service');
      const deployment = str(ctx, 'deployment');
      const key = str(ctx, 'key');
      const bulk = service !== undefined || deployment !== undefined || key !== undefined;
      if (ctx.args.length === 1 && bulk) throw new UsageError('give a JTI or a bulk filter, not both');
      if (ctx.args.length === 0 && !bulk) throw new UsageError('give a JTI, or --service, --deployment or --key');
      if (ctx.args.length === 1) {
        if (ctx.values['dry-run']) throw new UsageError('--dry-run applies to a bulk revoke');
        const ws = ctx.workspace();
        const row = resolveTokenRef(ws, ctx.args[0]!);
        if (row.jti === null) {
          throw new CastellanError('INVALID_INPUT', `token #${row.id} was minted without a jti: it cannot be revoked, only expire`);
        }
        const record = revokeToken(ws, row.jti, reason);
        if (ctx.values.json) return ctx.printJson(record);
        ctx.print(`revoked ${tokenLine(record)}`);
        return;
      }
      const filter: TokenFilter = {};
      if (service !== undefined) {
        const slash = service.indexOf('/');
        if (slash <= 0 || slash === service.length - 1) throw new UsageError('--service takes DEPLOYMENT/SERVICE');
        if (deployment !== undefined && deployment !== service.slice(0, slash)) {
          throw new UsageError('--deployment disagrees with the deployment in --service');
        }
        filter.deployment = service.slice(0, slash);
        filter.service = service.slice(slash + 1);
      } else if (deployment !== undefined) {
        filter.deployment = deployment;
      }
      if (key !== undefined) filter.key_id = key;
      const dryRun = Boolean(ctx.values['dry-run']);
      const result = revokeBulk(ctx.workspace(), { filter, reason, dryRun });
      if (ctx.values.json) return ctx.printJson(result);
      ctx.print(
        dryRun
          ? `dry run: ${result.count} active token(s) would be revoked (${reason}); nothing was changed`
          : `revoked ${result.count} token(s) (${reason})`,
      );
      if (result.unrevocable > 0) {
        ctx.print(
          `${result.unrevocable} matching token(s) were minted without a jti: they cannot be revoked and stay valid until they expire`,
        );
      }
    },
  },
  {
    path: ['refresh'],
    usage: 'refresh JTI|PREFIX|#N [--json]',
    summary: 'mint a replacement (printed once), then revoke the old token as superseded',
    positionals: 1,
    options: { json: { type: 'boolean' } },
    async run(ctx) {
      const row = resolveTokenRef(ctx.workspace(), ctx.args[0]!);
      assertRefreshable(ctx.workspace(), row);
      const ws = await ctx.unlocked();
      printMinted(ctx, refreshToken(ws, row.jti!));
    },
  },
  {
    path: ['inspect'],
    usage: 'inspect TOKEN|- [--json]',
    summary: 'verify a token against this workspace; exit 0 only when valid (prefer "-" and stdin)',
    positionals: 1,
    options: { json: { type: 'boolean' } },
    async run(ctx) {
      const arg = ctx.args[0]!;
      const token = arg === '-' ? (await readInput(ctx.io, '-')).toString('utf8') : arg;
      let inspection: TokenInspection;
      try {
        inspection = inspectWithLedger(ctx.workspace(), token);
      } catch (err) {
        // An HS256 token needs the sealed daemon secret: unlock (flag or prompt) and try again.
        if (!isCastellanError(err) || err.code !== 'LOCKED') throw err;
        inspection = inspectWithLedger(await ctx.unlocked(), token);
      }
      if (ctx.values.json) ctx.printJson(inspection);
      else printInspection(ctx, inspection);
      if (inspection.verdict !== 'valid') {
        throw new CastellanError('BAD_REQUEST', `the token is not valid: ${inspection.verdict}`);
      }
    },
  },
  {
    path: ['export', 'jwks'],
    usage: 'export jwks [--out FILE]',
    summary: 'the JWKS of the ed25519/es256 keys (public keys only; unlocks to check the key records)',
    options: { out: { type: 'string' } },
    async run(ctx) {
      const out = str(ctx, 'out');
      // Key records are authenticated with a key in the vault: never publish one unchecked.
      writeOutput(ctx.io, out, exportJwks(await ctx.unlocked()).json, 0o644);
      if (out !== undefined && out !== '-') ctx.io.stderr(`wrote ${out}\n`);
    },
  },
  {
    path: ['export', 'revocations'],
    usage: 'export revocations [--out FILE]',
    summary: 'the signed revocation list for verifiers (a JWS; increments its sequence number)',
    options: { out: { type: 'string' } },
    async run(ctx) {
      const out = str(ctx, 'out');
      assertRevocationSigner(ctx.workspace());
      const signed = exportRevocationList(await ctx.unlocked());
      if (out === undefined || out === '-') {
        ctx.print(signed.jws);
      } else {
        writeOutput(ctx.io, out, signed.jws, 0o644);
        ctx.io.stderr(`wrote ${out}\n`);
      }
      ctx.io.stderr(
        `revocation list #${signed.list.seq}: ${signed.list.entries.length} entr${signed.list.entries.length === 1 ? 'y' : 'ies'}, signed by ${signed.key_id}\n`,
      );
    },
  },
  {
    path: ['keys', 'exposure'],
    usage: 'keys exposure KEY_ID [--json]',
    summary: 'which active tokens of a key can be revoked, which cannot (no jti), and until when they are usable',
    positionals: 1,
    options: { json: { type: 'boolean' } },
    run(ctx) {
      const exposure = keyExposure(ctx.workspace(), ctx.args[0]!);
      if (ctx.values.json) return ctx.printJson(exposure);
      ctx.print(keyLine(exposure.key));
      ctx.print(
        `${exposure.revocable} active token(s) can be revoked` +
          (exposure.revocable_until === null ? '' : ` (the last expires ${when(exposure.revocable_until)})`) +
          (exposure.revocable > 0 ? `: castellan revoke --key ${exposure.key.id} --reason key_compromise` : ''),
      );
      ctx.print(
        `${exposure.unrevocable} active token(s) have no jti and cannot be revoked` +
          (exposure.unrevocable_until === null ? '' : `; they stay usable until ${when(exposure.unrevocable_until)}`) +
          (exposure.unrevocable > 0 && exposure.key.state !== 'retired'
            ? ` unless the key is retired: castellan keys retire ${exposure.key.id} --force`
            : ''),
      );
      for (const t of exposure.unrevocable_tokens) ctx.print(`  ${tokenLine(t)}`);
    },
  },
  {
    path: ['keys', 'retire'],
    usage: 'keys retire KEY_ID --force [--json]',
    summary: 'retire any key now, whatever its tokens (asks for the passphrase again; audited)',
    positionals: 1,
    options: { force: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(ctx) {
      if (!ctx.values.force) {
        throw new UsageError(
          'retiring a key by hand needs --force (keys retire on their own once every token they signed is revoked or expired)',
        );
      }
      const { ws, passphrase } = await ctx.reauthentication();
      const key = await forceRetireKey(ws, ctx.args[0]!, { passphrase });
      if (ctx.values.json) return ctx.printJson(key);
      ctx.print(`retired ${keyLine(key)}`);
      ctx.print('it is no longer published in the JWKS, and the inspector accepts none of its tokens');
    },
  },
];

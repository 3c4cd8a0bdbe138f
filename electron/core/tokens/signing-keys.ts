/**
 * Signing keys on top of the workspace: private material sealed in the vault
 * (`vault.seal(bytes, 'signing_key:<id>')`), public JWKs in the clear, and the
 * key lifecycle.
 *
 * Lifecycle: `active` (signs; at most one per profile, enforced by a unique
 * partial index) → `verify-only` (after a rotation or an import replaced it; it
 * still verifies the tokens it signed and stays in the JWKS) → `retired` (once no
 * token it signed can be accepted any more: every one is revoked or expired
 * beyond the daemon's 60 s leeway). Retirement is lazy: `retireSpentKeys` runs
 * whenever keys are listed or used, so nothing needs a timer.
 *
 * A key rotated as compromised is flagged and stays verify-only: the caller is
 * told how many active tokens it signed so it can offer the bulk revoke by
 * `key_id`; once those are revoked the key retires on the next use. It leaves
 * the JWKS at once and is never published again (whoever stole it can sign
 * anything a verifier would accept with it), and the inspector judges every
 * token it signed `compromised_key`. `keyExposure` tells the admin which of its
 * tokens can still be revoked and which cannot (minted without a jti), and
 * until when those stay usable against a verifier that still trusts the key.
 *
 * `forceRetireKey` retires any key at once, whatever its tokens (an active key
 * too: its profile then has no signing key until one is created). It is the
 * admin's last resort, so it needs the current passphrase (or keychain slot) in
 * the same request, and it is audited with what it cut off.
 *
 * Issuer and audience for the ed25519/es256 profiles live in `meta` (`issuer`,
 * `audience`), defaulting to `castellan` and `zlayer-api`. zlayer tokens always
 * use the daemon's fixed `iss: "zlayer"` and no audience (COMPAT.md).
 *
 * Every create, rotate, import, export and retirement writes one audit entry in
 * the same transaction as the change; no entry ever holds key material.
 */
import { createPrivateKey, createPublicKey, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { CastellanError } from '../../../shared/errors.ts';
import { CLOCK_LEEWAY_SECS, type KeyRecord } from './inspect.ts';
import { buildJwks, type Jwks } from './jwks.ts';
import {
  assertKeyFitsProfile,
  createVerifyKey,
  generateKeyMaterial,
  isProfile,
  PROFILE_ALG,
  PROFILES,
  type KeyState,
  type Profile,
  type PublicJwk,
} from './key-material.ts';
import { createTokenSigner, type TokenSigner } from './sign.ts';
import {
  writeSecretFileAtomic,
  ZLAYER_KEY_FILE_NAME,
  zlayerHmacKeyBytes,
  zlayerKeyFileBytes,
  zlayerSecretFromKeyFile,
  zlayerSecretFromLiteral,
} from './zlayer-secret.ts';
import type { Reauthentication } from '../workspace/vault.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { recordOf, TOKEN_COLUMNS, tokenRows, type TokenRecord } from './token-ledger.ts';

export const DEFAULT_ISSUER = 'castellan';
export const DEFAULT_AUDIENCE = 'zlayer-api';
/** A key file is 64 bytes; anything much larger is not one, so refuse before reading it all. */
export const MAX_ZLAYER_KEY_FILE_BYTES = 4096;

export type TokenConfig = { issuer: string; audience: string };

/** One key as the contract shows it (`signingKeySchema`). */
export type SigningKeyInfo = {
  id: string;
  profile: Profile;
  alg: string;
  kid: string | null;
  state: KeyState;
  compromised: boolean;
  created_at: string;
  rotated_at: string | null;
  retired_at: string | null;
  tokens: { active: number; expired: number; revoked: number };
};

export type SigningKeyRow = {
  id: string;
  profile: Profile;
  alg: string;
  kid: string | null;
  state: KeyState;
  public_jwk: string | null;
  sealed_private: Uint8Array;
  compromised: number;
  created_at: string;
  rotated_at: string | null;
  retired_at: string | null;
};

export const nowSecs = (): number => Math.floor(Date.now() / 1000);

const sealLabel = (id: string): string => `signing_key:${id}`;
const keyTarget = (id: string): string => `key:${id}`;
/** Its name in record-integrity.ts. */
const keyRecord = (id: string): `signing_key:${string}` => `signing_key:${id}`;

function requireProfile(profile: unknown): Profile {
  if (!isProfile(profile)) {
    throw new CastellanError(
      'INVALID_INPUT',
      `profile must be one of ${PROFILES.join(', ')}, not "${String(profile).slice(0, 40)}"`,
    );
  }
  return profile;
}

// ---------------------------------------------------------------------------
// Issuer and audience

const NO_CONTROL = /^[^\p{Cc}\s][^\p{Cc}]*$/u;

function metaValue(ws: Workspace, key: string): string | null {
  const row = ws.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value ?? null;
}

function setMeta(ws: Workspace, key: string, value: string): void {
  ws.db
    .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    .run(key, value);
}

/** The workspace's issuer and audience for ed25519/es256 tokens. */
export function getTokenConfig(ws: Workspace): TokenConfig {
  ws.integrity.assert('token_config', 'sign or verify tokens with it');
  return {
    issuer: metaValue(ws, 'issuer') ?? DEFAULT_ISSUER,
    audience: metaValue(ws, 'audience') ?? DEFAULT_AUDIENCE,
  };
}

/**
 * Changes the issuer and/or audience. Tokens already minted keep the values they
 * were minted with (the ledger records them), but the inspector judges every
 * ed25519/es256 token against the current values, as a verifier pinning them would.
 */
export function setTokenConfig(ws: Workspace, patch: Partial<TokenConfig>): TokenConfig {
  for (const [what, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      value.length > 256 ||
      !NO_CONTROL.test(value) ||
      value.trim() !== value
    ) {
      throw new CastellanError(
        'INVALID_INPUT',
        `${what} must be 1 to 256 characters without control characters or surrounding spaces`,
      );
    }
    if (value === 'zlayer' && what === 'issuer') {
      throw new CastellanError(
        'INVALID_INPUT',
        'the issuer "zlayer" belongs to the daemon’s own HS256 tokens; choose another',
      );
    }
  }
  return ws.transaction(() => {
    const before = getTokenConfig(ws);
    const after = { issuer: patch.issuer ?? before.issuer, audience: patch.audience ?? before.audience };
    setMeta(ws, 'issuer', after.issuer);
    setMeta(ws, 'audience', after.audience);
    ws.integrity.seal('token_config');
    ws.audit.append({ action: 'tokens.config', target: 'tokens', details: { before, after } });
    return after;
  });
}

// ---------------------------------------------------------------------------
// Rows

const KEY_COLUMNS =
  'id, profile, alg, kid, state, public_jwk, sealed_private, compromised, created_at, rotated_at, retired_at';

function keyRows(ws: Workspace): SigningKeyRow[] {
  return ws.db
    .prepare(`SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY created_at, id`)
    .all() as unknown as SigningKeyRow[];
}

function keyRow(ws: Workspace, id: string): SigningKeyRow | null {
  return (
    (ws.db.prepare(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE id = ?`).get(id) as SigningKeyRow | undefined) ?? null
  );
}

function activeRow(ws: Workspace, profile: Profile): SigningKeyRow | null {
  return (
    (ws.db.prepare(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE profile = ? AND state = 'active'`).get(profile) as
      SigningKeyRow | undefined) ?? null
  );
}

/** Token counts of one key by derived status; each is a range on tokens_key_status. */
function tokenCounts(ws: Workspace, id: string, now: number): SigningKeyInfo['tokens'] {
  const n = (sql: string, ...params: (string | number)[]): number =>
    (ws.db.prepare(`SELECT count(*) AS n FROM tokens WHERE key_id = ? AND ${sql}`).get(id, ...params) as { n: number })
      .n;
  return {
    active: n('revoked_at IS NULL AND expires_at >= ?', now),
    expired: n('revoked_at IS NULL AND expires_at < ?', now),
    revoked: n('revoked_at IS NOT NULL'),
  };
}

function infoOf(ws: Workspace, row: SigningKeyRow, now: number): SigningKeyInfo {
  return {
    id: row.id,
    profile: row.profile,
    alg: row.alg,
    kid: row.kid,
    state: row.state,
    compromised: row.compromised === 1,
    created_at: row.created_at,
    rotated_at: row.rotated_at,
    retired_at: row.retired_at,
    tokens: tokenCounts(ws, row.id, now),
  };
}

function newKeyId(profile: Profile): string {
  return `${profile}-${randomBytes(5).toString('hex')}`;
}

function insertKey(
  ws: Workspace,
  input: { id: string; profile: Profile; kid: string | null; publicJwk: PublicJwk | null; secret: Uint8Array },
): void {
  const sealed = ws.vault.seal(input.secret, sealLabel(input.id));
  ws.db
    .prepare(
      `INSERT INTO signing_keys (id, profile, alg, kid, state, public_jwk, sealed_private, compromised, created_at)
       VALUES (?, ?, ?, ?, 'active', ?, ?, 0, ?)`,
    )
    .run(
      input.id,
      input.profile,
      PROFILE_ALG[input.profile],
      input.kid,
      input.publicJwk === null ? null : JSON.stringify(input.publicJwk),
      sealed,
      new Date().toISOString(),
    );
  ws.integrity.seal(keyRecord(input.id), 'signing_keys');
}

/** Demotes the active key of a profile to verify-only; returns its id, or null if there was none. */
function demoteActive(ws: Workspace, profile: Profile, compromised: boolean): string | null {
  const old = activeRow(ws, profile);
  if (old === null) return null;
  // A key whose record fails its check can still be rotated away from; it stays failed.
  ws.integrity.change(keyRecord(old.id), () =>
    ws.db
      .prepare(
        `UPDATE signing_keys SET state = 'verify-only', rotated_at = ?, compromised = ${ws.engine.dialect.greatest('compromised', '?')} WHERE id = ?`,
      )
      .run(new Date().toISOString(), compromised ? 1 : 0, old.id),
  );
  return old.id;
}

// ---------------------------------------------------------------------------
// Lifecycle

/**
 * Retires every verify-only key none of whose tokens can still be accepted
 * (each is revoked, or expired beyond the 60 s leeway). Cheap when there is
 * nothing to do: a read first, and a write transaction only for candidates.
 */
export function retireSpentKeys(ws: Workspace, now: number = nowSecs()): string[] {
  const spentSql = `SELECT id, profile FROM signing_keys k WHERE state = 'verify-only' AND NOT EXISTS (
      SELECT 1 FROM tokens t WHERE t.key_id = k.id AND t.revoked_at IS NULL AND t.expires_at >= ?)`;
  const threshold = now - CLOCK_LEEWAY_SECS;
  if ((ws.db.prepare(spentSql).all(threshold) as unknown[]).length === 0) return [];
  return ws.transaction(() => {
    // Another process may have retired (or minted) meanwhile: decide again under the write lock.
    const spent = ws.db.prepare(spentSql).all(threshold) as { id: string; profile: Profile }[];
    const retire = ws.db.prepare(`UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE id = ?`);
    for (const key of spent) {
      // Retiring only takes power away, so it also runs while locked (record-integrity.ts accepts
      // it until the next unlock re-MACs the row); with the vault unlocked it is re-MAC'd here.
      if (ws.vault.unlocked) ws.integrity.change(keyRecord(key.id), () => retire.run(new Date().toISOString(), key.id));
      else retire.run(new Date().toISOString(), key.id);
      ws.audit.append({
        action: 'key.retire',
        target: keyTarget(key.id),
        details: { profile: key.profile, why: 'every token it signed is revoked or expired' },
      });
    }
    return spent.map((k) => k.id);
  });
}

/** Every key with its token counts, oldest first. Retires spent keys first. */
export function listKeys(ws: Workspace, now: number = nowSecs()): SigningKeyInfo[] {
  retireSpentKeys(ws, now);
  return keyRows(ws).map((row) => infoOf(ws, row, now));
}

export function getKey(ws: Workspace, id: string, now: number = nowSecs()): SigningKeyInfo {
  const row = keyRow(ws, id);
  if (row === null)
    throw new CastellanError('NOT_FOUND', `no signing key "${String(id).slice(0, 64)}" in this workspace`);
  return infoOf(ws, row, now);
}

/** Creates the first active key of a profile. CONFLICT if one is active already (rotate instead). */
export async function createKey(ws: Workspace, profile: Profile): Promise<SigningKeyInfo> {
  requireProfile(profile);
  ws.vault.requireUnlocked();
  const existing = activeRow(ws, profile);
  if (existing !== null) {
    throw new CastellanError(
      'CONFLICT',
      `profile ${profile} already has an active key (${existing.id}); rotate it to replace it`,
    );
  }
  const material = await generateKeyMaterial(profile);
  try {
    const id = newKeyId(profile);
    ws.transaction(() => {
      // Checked again under the write lock: another process may have created one meanwhile.
      const raced = activeRow(ws, profile);
      if (raced !== null) {
        throw new CastellanError(
          'CONFLICT',
          `profile ${profile} already has an active key (${raced.id}); rotate it to replace it`,
        );
      }
      insertKey(ws, {
        id,
        profile,
        kid: material.kid ?? null,
        publicJwk: material.publicJwk ?? null,
        secret: material.secret,
      });
      ws.audit.append({
        action: 'key.create',
        target: keyTarget(id),
        details: { profile, alg: material.alg, kid: material.kid ?? null, origin: 'generated' },
      });
    });
    return getKey(ws, id);
  } finally {
    material.secret.fill(0);
  }
}

export type RotationResult = {
  key: SigningKeyInfo;
  previous: SigningKeyInfo | null;
  /** Active tokens the previous key signed, reported when it was rotated as compromised (else 0). */
  tokens_at_risk: number;
};

/**
 * Makes a fresh active key for the profile; the previous active key becomes
 * verify-only (and flagged when `compromised`). With no previous key this is a create.
 */
export async function rotateKey(
  ws: Workspace,
  profile: Profile,
  options: { compromised?: boolean; now?: number } = {},
): Promise<RotationResult> {
  requireProfile(profile);
  ws.vault.requireUnlocked();
  const compromised = options.compromised === true;
  const now = options.now ?? nowSecs();
  const material = await generateKeyMaterial(profile);
  try {
    const id = newKeyId(profile);
    const { previousId, atRisk } = ws.transaction(() => {
      const previousId = demoteActive(ws, profile, compromised);
      insertKey(ws, {
        id,
        profile,
        kid: material.kid ?? null,
        publicJwk: material.publicJwk ?? null,
        secret: material.secret,
      });
      const atRisk = previousId !== null && compromised ? tokenCounts(ws, previousId, now).active : 0;
      ws.audit.append({
        action: 'key.rotate',
        target: keyTarget(id),
        details: {
          profile,
          alg: material.alg,
          kid: material.kid ?? null,
          previous: previousId,
          compromised,
          at_risk: atRisk,
        },
      });
      return { previousId, atRisk };
    });
    return {
      key: getKey(ws, id, now),
      previous: previousId === null ? null : getKey(ws, previousId, now),
      tokens_at_risk: atRisk,
    };
  } finally {
    material.secret.fill(0);
  }
}

export type ZlayerSecretSource = { keyFile: Uint8Array } | { literal: string; allowWeak?: boolean };

/**
 * Imports the daemon's JWT secret, from the bytes of `jwt_secret_zlayer.key` or
 * as the literal `--jwt-secret` string. It becomes the active zlayer key; a
 * previous active zlayer key becomes verify-only. Importing a secret this
 * workspace already holds is a CONFLICT (nothing changes).
 */
export function importZlayerSecret(ws: Workspace, source: ZlayerSecretSource): SigningKeyInfo {
  ws.vault.requireUnlocked();
  const origin = 'keyFile' in source ? 'key-file' : 'literal';
  const secretString =
    'keyFile' in source
      ? zlayerSecretFromKeyFile(source.keyFile)
      : zlayerSecretFromLiteral(source.literal, { allowWeak: source.allowWeak === true });
  const secret = zlayerHmacKeyBytes(secretString);
  try {
    const id = newKeyId('zlayer');
    ws.transaction(() => {
      for (const row of keyRows(ws).filter((r) => r.profile === 'zlayer')) {
        const held = ws.vault.unseal(row.sealed_private, sealLabel(row.id));
        try {
          if (held.byteLength === secret.byteLength && timingSafeEqual(held, secret)) {
            throw new CastellanError(
              'CONFLICT',
              `this ZLayer secret is already held by key ${row.id} (${row.state}); nothing was imported`,
            );
          }
        } finally {
          held.fill(0);
        }
      }
      const replaced = demoteActive(ws, 'zlayer', false);
      insertKey(ws, { id, profile: 'zlayer', kid: null, publicJwk: null, secret });
      ws.audit.append({
        action: 'key.import',
        target: keyTarget(id),
        details: { profile: 'zlayer', alg: 'HS256', origin, replaced },
      });
    });
    return getKey(ws, id);
  } finally {
    secret.fill(0);
  }
}

/** Reads a key file for import, refusing anything too large to be one before reading it. */
export async function readZlayerKeyFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CastellanError(
      'NOT_FOUND',
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read error')}`,
    );
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_ZLAYER_KEY_FILE_BYTES) {
      throw new CastellanError(
        'INVALID_INPUT',
        `${path} holds ${size} bytes; ${ZLAYER_KEY_FILE_NAME} holds exactly 64`,
      );
    }
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/**
 * Writes the active zlayer key in the daemon's `jwt_secret_zlayer.key` format
 * (the 64 raw bytes, mode 0600, temp file + rename). Only a secret that came
 * from a key file (or was generated here) has that form; a literal secret is
 * UNSUPPORTED. The export is audited after the file is in place; if the audit
 * entry cannot be written the file is removed again, so no export goes unrecorded.
 */
export async function exportZlayerSecretFile(ws: Workspace, path: string): Promise<{ key_id: string; path: string }> {
  ws.vault.requireUnlocked();
  const row = activeRow(ws, 'zlayer');
  if (row === null) {
    throw new CastellanError('NOT_FOUND', 'there is no active zlayer key to export; create or import one first');
  }
  const held = ws.vault.unseal(row.sealed_private, sealLabel(row.id));
  let fileBytes: Uint8Array;
  try {
    fileBytes = zlayerKeyFileBytes(Buffer.from(held).toString('latin1'));
  } finally {
    held.fill(0);
  }
  try {
    await writeSecretFileAtomic(path, fileBytes, 0o600);
  } finally {
    fileBytes.fill(0);
  }
  try {
    ws.transaction(() =>
      ws.audit.append({
        action: 'key.export_zlayer',
        target: keyTarget(row.id),
        details: { profile: 'zlayer', path, format: ZLAYER_KEY_FILE_NAME },
      }),
    );
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return { key_id: row.id, path };
}

// ---------------------------------------------------------------------------
// Use

export type ActiveSigner = {
  key: { id: string; profile: Profile; alg: string; kid: string | null };
  signer: TokenSigner;
};

/** A private KeyObject for a sealed key; the unsealed bytes are zeroed before returning. */
function unsealedKeyObject(ws: Workspace, row: SigningKeyRow): KeyObject {
  const bytes = ws.vault.unseal(row.sealed_private, sealLabel(row.id));
  try {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let key: KeyObject;
    if (row.profile === 'zlayer') {
      key = createSecretKey(view);
    } else {
      try {
        key = createPrivateKey({ key: view, format: 'der', type: 'pkcs8' });
      } catch {
        throw new CastellanError('INTEGRITY', `the stored private key of ${row.id} is not valid PKCS#8`);
      }
    }
    assertKeyFitsProfile(row.profile, key, row.profile === 'zlayer' ? 'verify' : 'sign');
    return key;
  } finally {
    bytes.fill(0);
  }
}

/** The active key of a profile, ready to sign. LOCKED while the vault is locked. */
export function activeSigner(ws: Workspace, profile: Profile): ActiveSigner {
  requireProfile(profile);
  ws.vault.requireUnlocked();
  const row = activeRow(ws, profile);
  if (row === null) {
    throw new CastellanError(
      'NOT_FOUND',
      profile === 'zlayer'
        ? 'there is no active zlayer key: import the daemon’s secret (keys import-zlayer-secret) or create one'
        : `there is no active ${profile} key: create one (keys create --profile ${profile})`,
    );
  }
  ws.integrity.assert(keyRecord(row.id), 'sign with it');
  const signer = createTokenSigner(profile, unsealedKeyObject(ws, row), row.kid ?? undefined);
  return { key: { id: row.id, profile: row.profile, alg: row.alg, kid: row.kid }, signer };
}

/** The key that signs revocation lists: the active ed25519 key, else the active es256 key. */
export function revocationListSigner(ws: Workspace): {
  id: string;
  profile: 'ed25519' | 'es256';
  kid: string;
  key: KeyObject;
} {
  const row = activeRow(ws, 'ed25519') ?? activeRow(ws, 'es256');
  if (row === null || row.kid === null) {
    throw new CastellanError(
      'NOT_FOUND',
      'the revocation list is signed with an asymmetric key, and there is no active ed25519 or es256 key; create one (keys create --profile ed25519)',
    );
  }
  ws.vault.requireUnlocked();
  ws.integrity.assert(keyRecord(row.id), 'sign a revocation list with it');
  return { id: row.id, profile: row.profile as 'ed25519' | 'es256', kid: row.kid, key: unsealedKeyObject(ws, row) };
}

/**
 * Verify keys for the inspector. Asymmetric keys come from their public JWKs
 * (no unlock needed); zlayer keys are HMAC secrets, so `hmacKeys()` unseals
 * them and throws LOCKED while the vault is locked; it is only called for an
 * HS256 token without a kid.
 */
export function verifyKeys(ws: Workspace): {
  findKeyByKid(kid: string): KeyRecord | null;
  hmacKeys(): KeyRecord[];
} {
  const rows = keyRows(ws);
  const record = (row: SigningKeyRow, verify: KeyObject): KeyRecord => ({
    id: row.id,
    profile: row.profile,
    alg: PROFILE_ALG[row.profile],
    state: row.state,
    kid: row.kid,
    compromised: row.compromised !== 0,
    verify,
  });
  return {
    findKeyByKid(kid) {
      const row = rows.find((r) => r.kid === kid && r.profile !== 'zlayer');
      if (row === undefined) return null;
      // A public key swapped in the file must not make a forged token "signed by us": the record
      // is checked, which needs the vault unlocked.
      ws.integrity.assertStrict(keyRecord(row.id), 'verify tokens with it');
      if (row.public_jwk === null) throw new CastellanError('INTEGRITY', `key ${row.id} has no public JWK`);
      return record(row, createVerifyKey(row.profile, JSON.parse(row.public_jwk) as PublicJwk));
    },
    hmacKeys() {
      // A compromised key is kept even when retired, so its tokens are named compromised_key.
      const hmac = rows.filter((r) => r.profile === 'zlayer' && (r.state !== 'retired' || r.compromised !== 0));
      if (hmac.length === 0) return [];
      if (!ws.vault.unlocked) {
        throw new CastellanError(
          'LOCKED',
          'this is an HS256 (zlayer) token, and its key is the daemon secret sealed in the vault; unlock the workspace to check it',
        );
      }
      return hmac.map((row) => {
        ws.integrity.assert(keyRecord(row.id), 'verify tokens with it');
        return record(row, unsealedKeyObject(ws, row));
      });
    },
  };
}

/** The JWKS of every non-retired, uncompromised asymmetric key (never an HMAC secret). */
export function workspaceJwks(ws: Workspace, now: number = nowSecs()): Jwks {
  retireSpentKeys(ws, now);
  const rows = keyRows(ws);
  // Never publish a key record that fails its check (or one that cannot be checked: locked).
  ws.integrity.assertStrict('signing_keys', 'publish the JWKS');
  for (const row of rows) if (row.state !== 'retired') ws.integrity.assertStrict(keyRecord(row.id), 'publish it');
  return buildJwks(
    rows.map((row) => ({
      profile: row.profile,
      state: row.state,
      compromised: row.compromised !== 0,
      publicJwk: row.public_jwk === null ? null : (JSON.parse(row.public_jwk) as PublicJwk),
    })),
  );
}

/** The JWKS as the file verifiers fetch, with the export audited. */
export function exportJwks(ws: Workspace, now: number = nowSecs()): { jwks: Jwks; json: string } {
  const jwks = workspaceJwks(ws, now);
  ws.transaction(() =>
    ws.audit.append({ action: 'keys.export_jwks', target: 'keys', details: { kids: jwks.keys.map((k) => k.kid) } }),
  );
  return { jwks, json: `${JSON.stringify(jwks, null, 2)}\n` };
}

// ---------------------------------------------------------------------------
// Withdrawing a key

/** How many tokens of a key a verifier could still accept, and what the admin can do about them. */
export type KeyExposure = {
  key: SigningKeyInfo;
  /** Active tokens with a jti: the bulk revoke by key covers them. */
  revocable: number;
  /** Active tokens minted without a jti: no verifier can be told to refuse them. */
  unrevocable: number;
  /** The latest expiry (unix seconds) among the revocable / unrevocable ones, or null. */
  revocable_until: number | null;
  unrevocable_until: number | null;
  /** The longest-lived of each kind (at most EXPOSURE_LIST each), latest expiry first. */
  revocable_tokens: TokenRecord[];
  unrevocable_tokens: TokenRecord[];
};

export const EXPOSURE_LIST = 50;

export function keyExposure(ws: Workspace, id: string, now: number = nowSecs()): KeyExposure {
  const key = getKey(ws, id, now);
  const side = (withJti: boolean) => {
    const where = `key_id = ? AND revoked_at IS NULL AND expires_at >= ? AND jti IS ${withJti ? 'NOT ' : ''}NULL`;
    const agg = ws.db.prepare(`SELECT count(*) AS n FROM tokens WHERE ${where}`).get(id, now) as { n: number };
    const rows = tokenRows(
      ws.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE ${where} ORDER BY expires_at DESC, id DESC LIMIT ?`),
      id,
      now,
      EXPOSURE_LIST,
    );
    // Ordered by expiry, latest first: the first row's (clamped) expiry is the latest.
    return { n: agg.n, until: rows[0]?.expires_at ?? null, rows: rows.map((r) => recordOf(r, now)) };
  };
  const yes = side(true);
  const no = side(false);
  return {
    key,
    revocable: yes.n,
    unrevocable: no.n,
    revocable_until: yes.until,
    unrevocable_until: no.until,
    revocable_tokens: yes.rows,
    unrevocable_tokens: no.rows,
  };
}

/**
 * Retires a key now, whatever state it is in and whatever its tokens: it leaves the
 * JWKS, and every token it signed stops being accepted by the inspector (retired,
 * or compromised_key when flagged). Re-authenticates first (the passphrase or the
 * keychain slot, from the same request); nothing changes when that fails. Retiring
 * a retired key is a CONFLICT. Audited with what the retirement cut off.
 */
export async function forceRetireKey(
  ws: Workspace,
  id: string,
  reauth: Reauthentication,
  now: number = nowSecs(),
): Promise<SigningKeyInfo> {
  ws.vault.requireUnlocked();
  if (typeof id !== 'string' || id.length === 0 || id.length > 100) {
    throw new CastellanError('INVALID_INPUT', 'a key id is required');
  }
  if (keyRow(ws, id) === null) {
    throw new CastellanError('NOT_FOUND', `no signing key "${id.slice(0, 64)}" in this workspace`);
  }
  await ws.vault.reauthenticate(reauth);
  ws.transaction(() => {
    // Read again under the write lock: another process may have changed it meanwhile.
    const row = keyRow(ws, id);
    if (row === null) throw new CastellanError('NOT_FOUND', `no signing key "${id.slice(0, 64)}" in this workspace`);
    if (row.state === 'retired') {
      throw new CastellanError('CONFLICT', `key ${id} is already retired (since ${row.retired_at ?? 'unknown'})`);
    }
    const exposure = keyExposure(ws, id, now);
    // The key's record MAC moves with it (record-integrity.ts): only code that changes a record re-MACs it.
    ws.integrity.change(keyRecord(id), () =>
      ws.db
        .prepare(`UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE id = ?`)
        .run(new Date().toISOString(), id),
    );
    ws.audit.append({
      action: 'key.retire',
      target: keyTarget(id),
      details: {
        profile: row.profile,
        why: 'forced by an admin',
        forced: true,
        previous_state: row.state,
        compromised: row.compromised !== 0,
        still_active: exposure.revocable + exposure.unrevocable,
        unrevocable: exposure.unrevocable,
      },
    });
  });
  return getKey(ws, id, now);
}

// ---------------------------------------------------------------------------
// Checking a copy (`castellan migrate`)

/**
 * Opens every stored signing key with this workspace's vault — retired ones too — and says which
 * do not: a key that does not unseal (wrong vault, bytes changed on the way), is not a key of its
 * profile, or (ed25519/es256) whose public half is not its stored public JWK. Empty when all
 * hold. The unsealed bytes are zeroed at once. Needs the vault unlocked.
 */
export function keyUnsealProblems(ws: Workspace): string[] {
  ws.vault.requireUnlocked();
  const problems: string[] = [];
  for (const row of keyRows(ws)) {
    let key: KeyObject;
    try {
      key = unsealedKeyObject(ws, row);
    } catch (err) {
      problems.push(`signing key ${row.id} does not unseal: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    if (row.profile === 'zlayer') continue;
    const stored = row.public_jwk === null ? null : (JSON.parse(row.public_jwk) as { x?: string; y?: string });
    const actual = createPublicKey(key).export({ format: 'jwk' }) as { x?: string; y?: string };
    if (stored === null || stored.x !== actual.x || stored.y !== actual.y) {
      problems.push(`signing key ${row.id} unseals, but its private key does not match its stored public key`);
    }
  }
  return problems;
}

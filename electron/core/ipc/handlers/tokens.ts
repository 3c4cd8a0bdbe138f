/**
 * IPC handlers for keys:* and tokens:*. Each is a thin call into one domain
 * function; the router parses input and output against the contract, so a
 * minted token crosses IPC only in the tokens:mint / mintBatch / refresh answers
 * (the only schemas with a `token` member), and key material never does.
 */
import { CastellanError } from '../../../../shared/errors.ts';
import type { Dialogs } from '../dialogs.ts';
import { writeFileAtomic } from '../../workspace/files.ts';
import type { HandlerContext, HandlerMap } from '../ipc-router.ts';
import { mintBatch, mintToken } from '../../tokens/minting.ts';
import { exportRevocationList, refreshToken, revokeBulk, revokeToken } from '../../tokens/revocation.ts';
import {
  createKey,
  exportJwks,
  exportZlayerSecretFile,
  forceRetireKey,
  importZlayerSecret,
  keyExposure,
  listKeys,
  readZlayerKeyFile,
  rotateKey,
} from '../../tokens/signing-keys.ts';
import { getToken, listTokens, tokenStats } from '../../tokens/token-ledger.ts';
import { inspectWithLedger } from '../../tokens/token-inspection.ts';
import { ZLAYER_KEY_FILE_NAME } from '../../tokens/zlayer-secret.ts';
import type { Workspace } from '../../workspace/workspace.ts';
import { reauthenticateRequest } from './reauth.ts';

const KEY_FILE_FILTER = [{ name: 'ZLayer JWT secret', extensions: ['key'] }];
const JSON_FILTER = [{ name: 'JSON Web Key Set', extensions: ['json'] }];
const JWS_FILTER = [{ name: 'Signed revocation list (JWS)', extensions: ['jwt', 'jws'] }];

function mintProgress(ctx: HandlerContext) {
  return (done: number, total: number) =>
    ctx.emit('progress', { task: 'mint', label: `minted ${done} of ${total}`, done, total });
}

export function tokenHandlers(workspace: () => Workspace, dialogs: Dialogs): HandlerMap {
  return {
    'keys:list': () => listKeys(workspace()),
    'keys:create': ({ profile }) => createKey(workspace(), profile),
    'keys:rotate': ({ profile, compromised }) => rotateKey(workspace(), profile, { compromised }),

    // Importing or exporting the HS256 secret re-authenticates (the request carries the current
    // passphrase or uses the keychain slot), before any dialog opens.
    'keys:importZlayerSecretDialog': async ({ reauth }) => {
      const ws = workspace();
      // Refuse before asking for a file the vault could not seal.
      ws.vault.requireUnlocked();
      await reauthenticateRequest(ws, dialogs, reauth, 'import a ZLayer JWT secret as the active HS256 key');
      const chosen = await dialogs.openFiles({
        title: `Import the daemon’s ${ZLAYER_KEY_FILE_NAME}`,
        filters: KEY_FILE_FILTER,
        multiple: false,
      });
      if (!chosen || chosen.length === 0) return { cancelled: true, key: null };
      if (chosen.length > 1) throw new CastellanError('INVALID_INPUT', 'choose one key file');
      const bytes = await readZlayerKeyFile(chosen[0]!);
      try {
        return { cancelled: false, key: importZlayerSecret(ws, { keyFile: bytes }) };
      } finally {
        bytes.fill(0);
      }
    },
    'keys:importZlayerSecret': async ({ secret, reauth }) => {
      const ws = workspace();
      await reauthenticateRequest(ws, dialogs, reauth, 'import a ZLayer JWT secret as the active HS256 key');
      return importZlayerSecret(ws, { literal: secret });
    },

    'keys:exportZlayerSecret': async ({ reauth }) => {
      const ws = workspace();
      ws.vault.requireUnlocked();
      await reauthenticateRequest(ws, dialogs, reauth, 'export the ZLayer JWT secret to a file');
      const file = await dialogs.saveFile({
        title: 'Export the ZLayer JWT secret (keep it private)',
        defaultName: ZLAYER_KEY_FILE_NAME,
        filters: KEY_FILE_FILTER,
      });
      if (!file) return { cancelled: true, path: null };
      await exportZlayerSecretFile(ws, file);
      return { cancelled: false, path: file };
    },

    'keys:exportJwks': async () => {
      const file = await dialogs.saveFile({ title: 'Export the JWKS', defaultName: 'jwks.json', filters: JSON_FILTER });
      if (!file) return { cancelled: true, path: null };
      writeFileAtomic(file, exportJwks(workspace()).json, 0o644);
      return { cancelled: false, path: file };
    },

    'tokens:mint': ({ deployment, service, container, profile, ttl_secs, force, no_jti }) =>
      mintToken(workspace(), { deployment, service, container, profile, ttlSecs: ttl_secs, force, noJti: no_jti }),

    'tokens:mintBatch': ({ deployment, service, containers, profile, ttl_secs }, ctx) =>
      mintBatch(workspace(), {
        deployment,
        service,
        containers,
        profile,
        ttlSecs: ttl_secs,
        onProgress: mintProgress(ctx),
      }),

    'tokens:list': (query) => listTokens(workspace(), query),
    'tokens:get': ({ id }) => getToken(workspace(), id),
    'tokens:revoke': ({ jti, reason }) => revokeToken(workspace(), jti, reason),
    'tokens:revokeBulk': ({ filter, reason, dry_run }) => {
      const { count, dry_run: dryRun } = revokeBulk(workspace(), { filter, reason, dryRun: dry_run });
      return { count, dry_run: dryRun };
    },
    'tokens:refresh': ({ jti }) => refreshToken(workspace(), jti),
    'tokens:inspect': ({ token }) => inspectWithLedger(workspace(), token),

    'tokens:exportRevocations': async () => {
      const ws = workspace();
      ws.vault.requireUnlocked();
      const file = await dialogs.saveFile({
        title: 'Export the signed revocation list',
        defaultName: 'castellan-revocations.jwt',
        filters: JWS_FILTER,
      });
      if (!file) return { cancelled: true, path: null };
      writeFileAtomic(file, exportRevocationList(ws).jws, 0o644);
      return { cancelled: false, path: file };
    },

    'tokens:stats': ({ expiring_within_secs }) => tokenStats(workspace(), expiring_within_secs),

    'keys:exposure': ({ id }) => keyExposure(workspace(), id),
    // forceRetireKey re-authenticates before anything changes; a keychain credential also needs the
    // admin's yes in a native dialog (reauth.ts), which the core cannot ask for.
    'keys:retire': async ({ id, reauth }) => {
      const ws = workspace();
      if ('keychain' in reauth) await reauthenticateRequest(ws, dialogs, reauth, `force-retire signing key ${id}`);
      return forceRetireKey(ws, id, reauth);
    },
  };
}

/**
 * Re-authentication for IPC requests that hand out or replace key material. The request carries
 * the current passphrase, checked against a vault slot (audited and throttled on failure), or asks
 * for the OS keychain slot. The keychain opens without the admin typing anything, so a compromised
 * renderer could send `{ keychain: true }` as easily as the admin: a keychain re-authentication
 * therefore also needs the admin's "yes" in a native dialog, which the page cannot click.
 */
import { CastellanError } from '../../../../shared/errors.ts';
import type { Dialogs } from '../dialogs.ts';
import type { Reauthentication } from '../../workspace/vault.ts';
import type { Workspace } from '../../workspace/workspace.ts';

export async function reauthenticateRequest(
  ws: Workspace,
  dialogs: Dialogs,
  credential: Reauthentication,
  what: string,
): Promise<void> {
  // The keychain slot is checked first, so the admin is never asked to confirm something that will fail.
  await ws.vault.reauthenticate(credential);
  if (!('keychain' in credential)) return;
  if (dialogs.confirm === undefined) {
    throw new CastellanError(
      'UNSUPPORTED',
      'this process cannot ask for a native confirmation, so the OS keychain cannot re-authenticate here; give the current passphrase',
    );
  }
  const yes = await dialogs.confirm({
    title: 'Castellan: confirm with the OS keychain',
    message: `Allow Castellan to ${what}?`,
    detail: 'The request re-authenticates with the OS keychain instead of the vault passphrase. If you did not just ask for this, choose Cancel.',
    confirmLabel: 'Allow',
  });
  if (!yes) throw new CastellanError('CANCELLED', `not confirmed: Castellan did not ${what}`);
}

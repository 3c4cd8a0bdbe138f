/**
 * IPC handlers for ca:*. Each is a thin call into ca-store.ts or certificate-inventory.ts;
 * files are chosen in native dialogs (the page never names a path). The router checks every
 * answer against the contract, whose CA schemas have no member that could carry key material.
 * Whatever would be refused anyway (no CA, locked vault, unknown serial) is refused before a
 * dialog opens, so the admin never picks a file for nothing.
 */
import fs from 'node:fs';
import { CastellanError } from '../../../../shared/errors.ts';
import type { CaBundleFormat } from '../../ca/ca-bundle.ts';
import {
  crlNeedsRefresh,
  exportCaBundle,
  exportCaZlayer,
  exportCrl,
  importCa,
  initCa,
  refuseExisting,
  requireCaCert,
  showCa,
  ZLAYER_CA_CERT_FILE,
  writeError,
  ZLAYER_CA_KEY_FILE,
} from '../../ca/ca-store.ts';
import {
  certificateFileName,
  csrFromText,
  exportCertificate,
  getCertificate,
  listCertificates,
  revokeCertificate,
  signCsr,
} from '../../ca/certificate-inventory.ts';
import type { CertificateFormat } from '../../ca/certificate-inventory.ts';
import { csrPreviewAnswer, previewCsr } from '../../ca/csr.ts';
import type { Dialogs, FileFilter } from '../dialogs.ts';
import { writeFileAtomic } from '../../workspace/files.ts';
import type { HandlerMap } from '../ipc-router.ts';
import type { SettingsStore } from '../../workspace/settings.ts';
import type { Workspace } from '../../workspace/workspace.ts';
import { readWorkspaceSettings } from '../../workspace/workspace-settings.ts';
import { reauthenticateRequest } from './reauth.ts';

const MAX_IMPORT_FILE_BYTES = 1024 * 1024;

const CERT_FILTER: FileFilter[] = [{ name: 'PEM certificate', extensions: ['crt', 'pem', 'cer'] }];
const KEY_FILTER: FileFilter[] = [{ name: 'PEM private key', extensions: ['key', 'pem'] }];

const BUNDLE_FILES: Record<CaBundleFormat, { name: string; filter: FileFilter }> = {
  pem: { name: ZLAYER_CA_CERT_FILE, filter: { name: 'PEM certificate', extensions: ['crt', 'pem'] } },
  der: { name: 'worker_ca.der', filter: { name: 'DER certificate', extensions: ['der', 'cer'] } },
  p7b: { name: 'worker_ca.p7b', filter: { name: 'PKCS#7 certificate bundle (PEM)', extensions: ['p7b', 'p7c', 'pem'] } },
  'p7b-der': { name: 'worker_ca.p7b', filter: { name: 'PKCS#7 certificate bundle (DER)', extensions: ['p7b', 'p7c', 'der'] } },
  json: { name: 'worker_ca_chain.json', filter: { name: 'ZLayer CA chain (JSON)', extensions: ['json'] } },
};

const CERTIFICATE_FILTERS: Record<CertificateFormat, FileFilter> = {
  pem: { name: 'PEM certificate', extensions: ['crt', 'pem'] },
  der: { name: 'DER certificate', extensions: ['der', 'cer'] },
  json: { name: 'ZLayer registration bundle (JSON)', extensions: ['json'] },
};

function readImportFile(file: string, what: string): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new CastellanError('NOT_FOUND', `cannot read the ${what} ${file}: no such file`);
  }
  if (!stat.isFile()) throw new CastellanError('INVALID_INPUT', `the ${what} ${file} is not a file`);
  if (stat.size > MAX_IMPORT_FILE_BYTES) {
    throw new CastellanError('INVALID_INPUT', `the ${what} ${file} is ${stat.size} bytes; a PEM ${what} is far smaller`);
  }
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CastellanError('INVALID_INPUT', `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
}

/** Write an exported file atomically (0644: everything saved here is public). */
function saveTo(file: string): (data: string | Uint8Array) => void {
  return (data) => {
    try {
      writeFileAtomic(file, data, 0o644);
    } catch (err) {
      throw writeError(err, file);
    }
  };
}

function one(chosen: string[], what: string): string {
  if (chosen.length > 1) throw new CastellanError('INVALID_INPUT', `choose one ${what} file`);
  return chosen[0]!;
}

function requireCaFirst(ws: Workspace): void {
  requireCaCert(ws);
}

export function caHandlers(workspace: () => Workspace, dialogs: Dialogs, settings: SettingsStore): HandlerMap {
  const crlTiming = () => ({ validityDays: settings.get().crl_validity_days });

  return {
    'ca:show': () => showCa(workspace()),

    'ca:init': () => initCa(workspace(), crlTiming()),

    'ca:importDialog': async () => {
      const ws = workspace();
      refuseExisting(ws);
      ws.vault.requireUnlocked();
      const certChosen = await dialogs.openFiles({
        title: `Import the worker CA: 1 of 2, the certificate (${ZLAYER_CA_CERT_FILE})`,
        filters: CERT_FILTER,
        multiple: false,
      });
      if (!certChosen || certChosen.length === 0) return { cancelled: true, ca: null };
      const keyChosen = await dialogs.openFiles({
        title: `Import the worker CA: 2 of 2, its private key (${ZLAYER_CA_KEY_FILE})`,
        filters: KEY_FILTER,
        multiple: false,
      });
      if (!keyChosen || keyChosen.length === 0) return { cancelled: true, ca: null };
      const cert = readImportFile(one(certChosen, 'certificate'), 'certificate');
      const key = readImportFile(one(keyChosen, 'key'), 'key');
      try {
        return { cancelled: false, ca: await importCa(ws, cert, key, crlTiming()) };
      } finally {
        key.fill(0);
      }
    },

    'ca:exportZlayer': async ({ confirm, reauth }) => {
      const ws = workspace();
      requireCaFirst(ws);
      ws.vault.requireUnlocked();
      // The CA private key leaves the vault: the request must re-authenticate, before the dialog.
      await reauthenticateRequest(ws, dialogs, reauth, 'write the worker CA private key to disk');
      const chosen = await dialogs.openFiles({
        title: `Choose the folder for ${ZLAYER_CA_CERT_FILE} and ${ZLAYER_CA_KEY_FILE} (the key is written 0600)`,
        filters: [],
        folder: true,
      });
      if (!chosen || chosen.length === 0) return { cancelled: true, path: null };
      const done = await exportCaZlayer(ws, one(chosen, 'folder'), { confirm });
      return { cancelled: false, path: done.dir };
    },

    'ca:previewCsr': async ({ csr, node_id }) => {
      const sanPolicy = readWorkspaceSettings(workspace());
      return csrPreviewAnswer(await previewCsr(csrFromText(csr), { sanPolicy, nodeId: node_id }));
    },

    'ca:sign': async ({ csr, node_id, days }) => {
      const signed = await signCsr(workspace(), { csr: csrFromText(csr), nodeId: node_id, days });
      return { certificate: signed.certificate, leaf_pem: signed.leafPem };
    },

    'ca:saveCertificate': async ({ serial, format }) => {
      const ws = workspace();
      const cert = getCertificate(ws, serial);
      const file = await dialogs.saveFile({
        title: `Save the certificate of worker-${cert.node_id}`,
        defaultName: certificateFileName(cert, format),
        filters: [CERTIFICATE_FILTERS[format]],
      });
      if (!file) return { cancelled: true, path: null };
      exportCertificate(ws, cert.serial, format, saveTo(file));
      return { cancelled: false, path: file };
    },

    'ca:certs': ({ search, expiring_within_days, limit, offset }) =>
      listCertificates(workspace(), { search, expiringWithinDays: expiring_within_days, limit, offset }),

    'ca:revoke': ({ serial, reason }) => revokeCertificate(workspace(), { serial, reason }, crlTiming()),

    'ca:exportCrl': async ({ format }) => {
      const ws = workspace();
      // A CRL past its nextUpdate is re-signed on export: refuse before the dialog if that cannot happen.
      if (crlNeedsRefresh(ws)) ws.vault.requireUnlocked();
      const file = await dialogs.saveFile({
        title: 'Save the worker CA revocation list',
        defaultName: format === 'pem' ? 'worker_ca.crl.pem' : 'worker_ca.crl',
        filters: [
          format === 'pem'
            ? { name: 'PEM CRL (X509 CRL)', extensions: ['pem', 'crl'] }
            : { name: 'DER CRL', extensions: ['crl', 'der'] },
        ],
      });
      if (!file) return { cancelled: true, path: null };
      await exportCrl(ws, format, saveTo(file), crlTiming());
      return { cancelled: false, path: file };
    },

    'ca:exportBundle': async ({ format }) => {
      const ws = workspace();
      requireCaFirst(ws);
      const { name, filter } = BUNDLE_FILES[format];
      const file = await dialogs.saveFile({ title: `Save the worker CA bundle (${format})`, defaultName: name, filters: [filter] });
      if (!file) return { cancelled: true, path: null };
      exportCaBundle(ws, format, saveTo(file));
      return { cancelled: false, path: file };
    },
  };
}

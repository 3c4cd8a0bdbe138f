import path from 'node:path';
import { CastellanError } from '../../../../shared/errors.ts';
import {
  allPolicies,
  exportDeployment,
  importDeployments,
  listDeployments,
  policyOf,
  readSpecFiles,
  servicePolicy,
  setLabels,
} from '../../deployments/deployments.ts';
import { rankFindings } from '../../../../shared/policy/findings.ts';
import type { Dialogs } from '../dialogs.ts';
import { writeFileAtomic } from '../../workspace/files.ts';
import type { HandlerContext, HandlerMap } from '../ipc-router.ts';
import type { Workspace } from '../../workspace/workspace.ts';

const YAML_FILTER = [{ name: 'ZLayer deployment spec', extensions: ['yaml', 'yml'] }];

function progress(ctx: HandlerContext, task: string) {
  return (done: number, total: number, name: string) =>
    ctx.emit('progress', { task, label: `imported ${name}`, done, total });
}

export function deploymentHandlers(workspace: () => Workspace, dialogs: Dialogs): HandlerMap {
  return {
    'deployments:list': () =>
      listDeployments(workspace()).map((d) => ({
        ...d,
        services: d.services.map((s) => ({ name: s.name, rtype: s.rtype, replicas: s.replicas, policy: policyOf(s) })),
      })),

    'deployments:importDialog': async ({ replace, folder }, ctx) => {
      const chosen = await dialogs.openFiles({
        title: folder ? 'Import every spec of a folder' : 'Import deployment specs',
        filters: YAML_FILTER,
        multiple: true,
        folder,
      });
      if (!chosen || chosen.length === 0) return { cancelled: true, imported: [] };
      const files = chosen.flatMap((p) => readSpecFiles(p));
      return { cancelled: false, imported: importDeployments(workspace(), files, { replace, onProgress: progress(ctx, 'import') }) };
    },

    'deployments:importTexts': ({ files, replace }, ctx) => {
      // Only a base name travels from the page; it names the file in errors.
      const specs = files.map((f) => ({ file: path.basename(f.name), text: f.text }));
      return { cancelled: false, imported: importDeployments(workspace(), specs, { replace, onProgress: progress(ctx, 'import') }) };
    },

    'deployments:export': async ({ name }) => {
      const ws = workspace();
      if (!ws.db.prepare('SELECT 1 FROM deployments WHERE name = ?').get(name)) {
        throw new CastellanError('NOT_FOUND', `no deployment "${name}" in this workspace`);
      }
      const file = await dialogs.saveFile({ title: `Export ${name}`, defaultName: `${name}.yaml`, filters: YAML_FILTER });
      if (!file) return { cancelled: true, path: null };
      // 0600: a spec's env may hold secrets.
      writeFileAtomic(file, exportDeployment(ws, name), 0o600);
      return { cancelled: false, path: file };
    },

    'policy:get': ({ deployment, service }) => servicePolicy(workspace(), deployment, service),
    'policy:setLabels': ({ deployment, service, labels }) => setLabels(workspace(), deployment, service, labels),
    'policy:findings': () => rankFindings(allPolicies(workspace()).flatMap((p) => p.findings)),
  };
}

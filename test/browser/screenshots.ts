/**
 * `npm run screenshots`: every page of the console, light and dark, from the test harness
 * (built renderer, real preload, real router, a seeded temp workspace) into docs/screenshots/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openApp } from '../harness/app-harness.ts';
import { launchChromium } from '../harness/chromium.ts';
import { REPO_ROOT } from '../harness/renderer-server.ts';
import { seedDemoCa, seedDemoWorkspace } from '../harness/seed.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';

const OUT = path.join(REPO_ROOT, 'docs/screenshots');
const PAGES = ['overview', 'deployments', 'matrix', 'tokens', 'inspector', 'workers', 'keys', 'audit', 'settings'];

// Outside the test runner the vault takes its full-strength scrypt cost, as the app does.
const services = testServices(Workspace.open(path.join(tempDir(), 'workspace'), { actor: { user: 'admin', kind: 'app' } }));
const { token } = await seedDemoWorkspace(services.ws);
await seedDemoCa(services.ws);
fs.mkdirSync(OUT, { recursive: true });
const browser = await launchChromium();
try {
  for (const scheme of ['light', 'dark'] as const) {
    const app = await openApp(browser, { router: testRouter(services), colorScheme: scheme, viewport: { width: 1440, height: 900 } });
    try {
      for (const page of PAGES) {
        await app.page.goto(`${app.origin}/index.html#/${page}`);
        await app.page.getByRole('heading', { level: 1 }).first().waitFor();
        if (page === 'deployments') {
          await app.page.getByRole('button', { name: 'ci-runners/janitor' }).click();
        }
        if (page === 'matrix') {
          await app.page.getByRole('button', { name: /ci-runners\/runner deployment/ }).click();
        }
        if (page === 'inspector') {
          await app.page.getByRole('textbox').first().fill(token);
          await app.page.getByRole('button', { name: /inspect/i }).first().click();
        }
        await app.page.waitForLoadState('networkidle');
        await app.page.waitForTimeout(400);
        const file = path.join(OUT, `${page}-${scheme}.png`);
        await app.page.screenshot({ path: file, fullPage: false });
        console.log(`wrote ${path.relative(REPO_ROOT, file)}`);
      }
    } finally {
      await app.close();
    }
  }
} finally {
  await browser.close();
  services.ws.close();
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { listCertificates } from '../../electron/core/ca/certificate-inventory.ts';
import { launchChromium } from '../harness/chromium.ts';
import { openApp } from '../harness/app-harness.ts';
import { tempDir, testRouter, testServices } from '../harness/services.ts';

/** A fresh key and CSR made by OpenSSL, as a worker would make them. */
function opensslCsr(dir: string, keyArgs: string[], subject: string, extra: string[] = []): Buffer {
  execFileSync('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', 'k.pem', '-out', 'req.pem', '-subj', subject, ...extra], {
    cwd: dir,
    stdio: 'pipe',
  });
  return fs.readFileSync(path.join(dir, 'req.pem'));
}

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Dispatch a synthetic drop of one file on the CSR drop zone. */
async function dropCsr(page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.getByRole('region', { name: 'Drop a worker CSR here' }).evaluate(
    (el, file) => {
      const raw = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([raw], file.name));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { name, base64: bytes.toString('base64') },
  );
}

/** Serials compared the way OpenSSL prints them: uppercase hex, no sign octet. */
function serialKey(hex: string): string {
  return hex.replace(/[^0-9a-f]/gi, '').replace(/^(00)+(?=[0-9a-f])/i, '').toUpperCase();
}

describe('workers & CA journey in Chromium', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('create the CA → sign an OpenSSL CSR → verify the leaf → revoke it → the CRL lists it as key compromise', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/workers' });
    const { page } = app;
    const work = tempDir('castellan-workers-');
    try {
      // No CA yet: create it through the page.
      await page.getByRole('button', { name: 'Create CA' }).click();
      await page.getByRole('status').filter({ hasText: 'Created the worker CA' }).waitFor();
      const caSection = page.getByRole('region', { name: 'Worker CA', exact: true });
      const validity = caSection.getByRole('progressbar', { name: /^CA validity: / });
      await validity.waitFor();
      assert.match((await validity.getAttribute('aria-label')) ?? '', /% elapsed, \d+ days left/);
      assert.match((await caSection.textContent()) ?? '', /CN=ZLayer Worker CA/);
      assert.match((await caSection.textContent()) ?? '', /created/);
      assert.equal(await page.getByRole('button', { name: 'Create CA' }).count(), 0, 'create gives way to the CA details');

      // The explicit confirmation in front of the CA key export; cancelling writes nothing.
      await caSection.getByRole('button', { name: 'Export ZLayer files…' }).click();
      const zlayer = page.getByRole('dialog', { name: 'Export the ZLayer CA files' });
      await zlayer.getByText('This writes the CA private key').waitFor();
      await zlayer.getByRole('button', { name: 'Cancel' }).click();
      await zlayer.waitFor({ state: 'detached' });
      assert.ok(!app.calls.includes('ca:exportZlayer'));

      // Writing the CA key re-authenticates: the current passphrase goes with the request.
      await caSection.getByRole('button', { name: 'Export ZLayer files…' }).click();
      const write = zlayer.getByRole('button', { name: 'Write the CA key and certificate…' });
      assert.equal(await write.isDisabled(), true, 'nothing is sent without the current passphrase');
      const zlayerDir = path.join(work, 'zlayer');
      fs.mkdirSync(zlayerDir);
      services.dialogs.opens.push([zlayerDir]);
      await zlayer.getByLabel('Current passphrase').fill('correct horse battery');
      await write.click();
      await page.getByRole('status').filter({ hasText: `Wrote worker_ca.crt and worker_ca.key to ${zlayerDir}` }).waitFor();
      assert.equal(fs.statSync(path.join(zlayerDir, 'worker_ca.key')).mode & 0o777, 0o600);

      // The CA bundle as PEM, through the page's export.
      const caPem = path.join(work, 'ca.pem');
      services.dialogs.saves.push(caPem);
      await caSection.getByRole('button', { name: 'Export CA bundle as PEM' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved the CA bundle (PEM)' }).waitFor();
      assert.match(fs.readFileSync(caPem, 'utf8'), /^-----BEGIN CERTIFICATE-----/);

      // A worker's CSR, made by OpenSSL, dropped on the page.
      const csr = opensslCsr(work, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=admin', [
        '-addext',
        'subjectAltName=DNS:node-1.example',
      ]);
      await dropCsr(page, 'req.pem', csr);
      const preview = page.getByRole('region', { name: 'CSR preview' });
      await preview.waitFor();
      assert.match((await preview.getByTestId('csr-key').textContent()) ?? '', /P-256/);
      assert.equal(await preview.getByTestId('csr-subject').textContent(), 'CN=admin');
      assert.match((await preview.getByTestId('csr-sans').textContent()) ?? '', /DNS:node-1\.example/);
      assert.equal(await preview.getByTestId('csr-signature').textContent(), 'signature valid');
      assert.match((await preview.getByTestId('subject-note').textContent()) ?? '', /replaced by CN=worker-<node id>, O=ZLayer Worker/);

      // The node id is checked as it is typed.
      const nodeId = page.getByRole('textbox', { name: 'Node id' });
      const sign = page.getByRole('button', { name: 'Sign certificate' });
      await nodeId.fill('node 1/evil');
      await page.getByText('Use only A–Z, a–z, 0–9, ".", "_" and "-"').waitFor();
      assert.equal(await sign.isDisabled(), true);
      await nodeId.fill('node-1');
      await preview.getByTestId('subject-note').filter({ hasText: 'CN=worker-node-1, O=ZLayer Worker' }).waitFor();
      assert.equal(await page.getByRole('textbox', { name: 'Validity (days)' }).inputValue(), '90');
      await sign.click();

      const issued = page.getByRole('region', { name: 'Issued certificate', exact: true });
      await issued.waitFor();
      assert.match((await issued.getByTestId('issued-subject').textContent()) ?? '', /^CN=worker-node-1, O=ZLayer Worker$/);
      const serial = ((await issued.getByTestId('issued-serial').textContent()) ?? '').trim();
      assert.match(serial, /^[0-9a-f]+$/i);

      // Save the leaf as PEM and let OpenSSL check it against the exported bundle.
      const leafPem = path.join(work, 'leaf.pem');
      services.dialogs.saves.push(leafPem);
      await issued.getByRole('button', { name: 'Save PEM' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved the certificate of node-1 (PEM)' }).waitFor();
      const verified = openssl(['verify', '-CAfile', caPem, leafPem]);
      assert.equal(verified.status, 0, verified.out);
      assert.match(verified.out, /: OK/);
      const leafText = openssl(['x509', '-in', leafPem, '-noout', '-subject', '-ext', 'subjectAltName']).out;
      assert.match(leafText, /CN\s*=\s*worker-node-1/);
      assert.match(leafText, /DNS:node-1\.example/);

      // The issued-certificates table lists it; revoke it from its row as a key compromise.
      const table = page.getByRole('table', { name: 'Issued certificates' });
      const row = table.locator(`tr[data-serial="${serial}"]`);
      await row.getByTestId('cert-status').filter({ hasText: 'valid' }).waitFor();
      assert.match((await row.textContent()) ?? '', /node-1.*CN=worker-node-1.*DNS:node-1\.example/);

      // Search and the "expiring soon" filter go to main; a 90-day leaf is not expiring within 14 days.
      const search = page.getByRole('textbox', { name: 'Search certificates' });
      await search.fill('no-such-node');
      await page.getByText('No certificate matches.').waitFor();
      await search.fill('node-1.example');
      await row.waitFor();
      await page.getByRole('switch', { name: /Expiring soon/ }).check();
      await page.getByText('No certificate matches.').waitFor();
      await page.getByRole('switch', { name: /Expiring soon/ }).uncheck();
      await search.fill('');
      await row.waitFor();

      await row.getByRole('button', { name: /^Revoke/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke the certificate of node-1' });
      await dialog.getByRole('combobox', { name: 'Reason (RFC 5280)' }).selectOption('keyCompromise');
      await dialog.getByRole('button', { name: 'Revoke certificate' }).click();
      await dialog.waitFor({ state: 'detached' });
      await row.getByTestId('cert-status').filter({ hasText: 'revoked' }).waitFor();
      await page.getByRole('status').filter({ hasText: 'the CRL was regenerated' }).waitFor();
      assert.equal(await row.getByRole('button', { name: /^Revoke/ }).count(), 0, 'a revoked certificate offers no second revoke');
      await page.getByTestId('crl-regenerated').waitFor();
      // The issued panel follows at once: revoked, with its reason, and nothing left to save.
      await issued.getByTestId('issued-status').filter({ hasText: 'revoked' }).waitFor();
      assert.equal(await issued.getAttribute('data-status'), 'revoked');
      assert.match((await issued.getByTestId('issued-revoked').textContent()) ?? '', /^Revoked \(key compromise\)/);
      assert.equal(await issued.getByRole('button', { name: /^Save/ }).count(), 0, 'a revoked certificate offers no save');
      assert.equal(await issued.getByText('issued', { exact: true }).count(), 0);
      const stored = listCertificates(services.ws).rows;
      assert.deepEqual(
        stored.map((c) => [c.serial, c.status, c.revocation_reason]),
        [[serial, 'revoked', 'keyCompromise']],
      );

      // Export the CRL as PEM: signed by the CA, listing the serial as a key compromise.
      const crlPem = path.join(work, 'crl.pem');
      services.dialogs.saves.push(crlPem);
      await page.getByRole('button', { name: 'Export CRL as PEM' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved the CRL (PEM)' }).waitFor();
      const crlCheck = openssl(['crl', '-in', crlPem, '-CAfile', caPem, '-noout']);
      assert.equal(crlCheck.status, 0, crlCheck.out);
      assert.match(crlCheck.out, /verify OK/);
      const crlText = openssl(['crl', '-in', crlPem, '-noout', '-text']).out;
      assert.ok(crlText.toUpperCase().includes(`SERIAL NUMBER: ${serialKey(serial)}`), crlText);
      assert.match(crlText, /Key Compromise/);
      const revokedCheck = openssl(['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPem, leafPem]);
      assert.notEqual(revokedCheck.status, 0);
      assert.match(revokedCheck.out, /certificate revoked/);
    } finally {
      await app.close();
    }
  });

  test('a garbage file is refused readably and a weak CSR is previewed with its problems; nothing is issued', async () => {
    const services = testServices();
    services.ws.vault.initialize('correct horse battery');
    const app = await openApp(browser, { router: testRouter(services), hash: '#/workers' });
    const { page } = app;
    const work = tempDir('castellan-workers-');
    try {
      await page.getByRole('button', { name: 'Create CA' }).click();
      await page.getByRole('region', { name: 'Worker CA', exact: true }).getByRole('progressbar', { name: /^CA validity: / }).waitFor();

      await dropCsr(page, 'garbage.csr', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37, 0x42]));
      const alert = page.getByRole('alert').filter({ hasText: 'Not a usable CSR' });
      await alert.waitFor();
      const text = (await alert.textContent()) ?? '';
      assert.match(text, /certificate request|CSR|DER|PKCS/i);
      assert.doesNotMatch(text, /\bat \S+:\d+:\d+/, 'no stack trace');
      assert.equal(await page.getByRole('region', { name: 'CSR preview' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Sign certificate' }).count(), 0);

      // A PEM that is not a CSR at all, pasted.
      await page.getByRole('textbox', { name: 'Or paste a CSR' }).fill('-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n');
      await page.getByRole('button', { name: 'Preview CSR' }).click();
      await alert.waitFor();
      assert.equal(await page.getByRole('region', { name: 'CSR preview' }).count(), 0);

      // A CSR the CA refuses (RSA below 2048 bits), dropped as DER: previewed, its problem listed, Sign stays off.
      opensslCsr(work, ['-newkey', 'rsa:1024'], '/CN=weak');
      execFileSync('openssl', ['req', '-in', 'req.pem', '-outform', 'DER', '-out', 'req.der'], { cwd: work, stdio: 'pipe' });
      await dropCsr(page, 'req.der', fs.readFileSync(path.join(work, 'req.der')));
      const preview = page.getByRole('region', { name: 'CSR preview' });
      await preview.waitFor();
      assert.match((await preview.getByTestId('csr-key').textContent()) ?? '', /RSA.*1024/);
      const problems = preview.getByRole('alert', { name: 'The CA will not sign this request' });
      assert.match((await problems.textContent()) ?? '', /2048|RSA/);
      await page.getByRole('textbox', { name: 'Node id' }).fill('node-2');
      assert.equal(await page.getByRole('button', { name: 'Sign certificate' }).isDisabled(), true);

      // A CSR asking for names a worker must not carry: each name shows its verdict and the rule.
      const risky = opensslCsr(work, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=x', [
        '-addext',
        'subjectAltName=DNS:node-2.example,DNS:localhost,IP:127.0.0.1,IP:0.0.0.0,DNS:worker-other,DNS:worker-node-2',
      ]);
      await dropCsr(page, 'risky.pem', risky);
      const verdicts = preview.getByTestId('san-verdict');
      await verdicts.filter({ hasText: 'DNS:worker-node-2' }).filter({ hasText: 'allowed' }).waitFor();
      assert.equal(await verdicts.count(), 6);
      const verdictOf = async (name: string) => {
        const item = verdicts.filter({ hasText: name });
        return [await item.getAttribute('data-allowed'), ((await item.getByTestId('san-rule').allTextContents())[0] ?? '').trim()];
      };
      assert.deepEqual(await verdictOf('DNS:node-2.example'), ['yes', '']);
      const [localAllowed, localRule] = await verdictOf('DNS:localhost');
      assert.equal(localAllowed, 'no');
      assert.match(localRule!, /localhost is every machine's own name \(workspace setting csr_allow_local_sans is off\)/);
      assert.match((await verdictOf('IP:127.0.0.1'))[1]!, /loopback address/);
      assert.match((await verdictOf('IP:0.0.0.0'))[1]!, /unspecified address/);
      assert.match((await verdictOf('DNS:worker-other'))[1]!, /names another worker \(this certificate is for worker-node-2/);
      assert.match((await preview.getByRole('alert', { name: 'The CA will not sign this request' }).textContent()) ?? '', /DNS:localhost is refused/);
      assert.equal(await page.getByRole('button', { name: 'Sign certificate' }).isDisabled(), true);

      await page.getByRole('button', { name: 'Reload', exact: true }).click();
      await page.getByText('No worker certificates issued yet.').waitFor();
      assert.ok(!app.calls.includes('ca:sign'), 'nothing was signed');
      assert.equal(await page.getByRole('table', { name: 'Issued certificates' }).locator('tbody tr').count(), 0);
      assert.equal(listCertificates(services.ws).total, 0);
    } finally {
      await app.close();
    }
  });
});

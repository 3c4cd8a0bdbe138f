/**
 * What the benchmarks need from the machine, installed when missing, and the machine's
 * description for latest.json.
 *
 * - Python's `cryptography` on /usr/bin/python3 (the peer of items 5 and 6): Debian's
 *   python3-cryptography, through apt-get (with sudo when not root).
 * - Chromium (item 7): Debian's chromium, the same way, unless the harness finds one already.
 * - The built renderer (item 7): `electron-vite build` when out/ is missing or older than the
 *   renderer, shared or preload sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptInstall(packages: string[], log: (line: string) => void): void {
  const sudo = isRoot() ? [] : ['sudo', '-n'];
  const run = (args: string[]): void => {
    const [cmd, ...rest] = [...sudo, ...args];
    log(`  $ ${[cmd, ...rest].join(' ')}`);
    const r = spawnSync(cmd!, rest, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`${[cmd, ...rest].join(' ')} failed (exit ${r.status ?? r.signal})`);
  };
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
}

export function pythonCryptographyVersion(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import cryptography; print(cryptography.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Makes sure the Python peer can run; returns the cryptography version. */
export function ensurePythonPeer(log: (line: string) => void): string {
  const found = pythonCryptographyVersion();
  if (found !== null) return found;
  log(`python3 cannot import cryptography: installing Debian's python3-cryptography`);
  aptInstall(fs.existsSync(PYTHON) ? ['python3-cryptography'] : ['python3', 'python3-cryptography'], log);
  const after = pythonCryptographyVersion();
  if (after === null) throw new Error('python3-cryptography was installed but `import cryptography` still fails');
  return after;
}

const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Makes sure a Chromium exists for the harness (CASTELLAN_CHROMIUM, Debian's, or Playwright's). */
export async function ensureChromium(log: (line: string) => void): Promise<string> {
  const { chromiumExecutable } = await import('../../test/harness/chromium.ts');
  try {
    return chromiumExecutable();
  } catch {
    log("no Chromium found: installing Debian's chromium");
    aptInstall(['chromium'], log);
    const found = CHROMIUM_PATHS.find((p) => fs.existsSync(p));
    if (!found) throw new Error('chromium was installed but is not at /usr/bin/chromium');
    return found;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the app (electron-vite) when out/renderer is missing or older than its sources. */
export function ensureRendererBuild(log: (line: string) => void): 'fresh' | 'built' {
  const index = path.join(REPO_ROOT, 'out', 'renderer', 'index.html');
  const preload = path.join(REPO_ROOT, 'out', 'preload', 'index.cjs');
  const sources = Math.max(
    newestMtime(path.join(REPO_ROOT, 'renderer')),
    newestMtime(path.join(REPO_ROOT, 'shared')),
    newestMtime(path.join(REPO_ROOT, 'electron', 'preload')),
  );
  const built = fs.existsSync(index) && fs.existsSync(preload) ? Math.min(fs.statSync(index).mtimeMs, fs.statSync(preload).mtimeMs) : 0;
  if (built > 0 && built >= sources) return 'fresh';
  log(built === 0 ? 'out/renderer is missing: building the app (electron-vite build)' : 'out/ is older than the sources: rebuilding (electron-vite build)');
  const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'electron-vite');
  execFileSync(bin, ['build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return 'built';
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    date: new Date().toISOString(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/**
 * Loaded with `--import` by the test runner (package.json). Every temp folder a test run makes
 * lands in one run folder inside the repository's git-ignored `.tmp/`, and that folder is
 * removed when the runner exits — after a passing run, a failing one, or Ctrl-C — so no test
 * leaves `castellan-*` folders behind, even one that failed before its own clean-up ran.
 *
 * `os.tmpdir()` reads TMPDIR on every call, and the test files, the CLI processes they spawn
 * and Chromium all inherit it from the runner.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../../.tmp');
fs.mkdirSync(root, { recursive: true });
const runDir = fs.mkdtempSync(path.join(root, 'run-'));
process.env.TMPDIR = runDir;
process.env.TMP = runDir;
process.env.TEMP = runDir;

function sweep(): void {
  fs.rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
}
process.on('exit', sweep);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    sweep();
    process.kill(process.pid, signal);
  });
}

/**
 * A user's clone has nothing beside it: no test, bench or script may name a path outside the
 * repository (the design folder that lies beside a developer's checkout included), and the
 * test runner keeps every temp folder inside the repository's `.tmp/`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCANNED = ['test', 'bench', 'scripts', '.ci'];
const TEXT = /\.(ts|tsx|js|mjs|cjs|py|sh|json|yaml|yml)$|^run$|^start$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'results') out.push(...filesUnder(full));
    } else if (TEXT.test(entry.name)) out.push(full);
  }
  return out;
}

const inside = (p: string): boolean => p === REPO || p.startsWith(REPO + path.sep);

/** Absolute paths into folders a clone never has, and relative paths that climb out of the repo. */
export function outsidePaths(file: string, text: string, exists: (p: string) => boolean = fs.existsSync): string[] {
  const found: string[] = [];
  // Lines that only spell a path for a virtual file (lint fixtures) say so with this marker.
  const lines = text.split('\n').filter((line) => !line.includes('self-contained: virtual path'));
  for (const line of lines) {
    for (const m of line.matchAll(/["'`](\/work\/[^"'`\s]*)/g)) found.push(m[1] ?? '');
    for (const m of line.matchAll(/["'`]((?:\.\.\/)+[^"'`\s]*|\.\.)["'`]/g)) {
      const literal = m[1] ?? '';
      // Relative to the file (import.meta.dirname, new URL) or to the repository (path.resolve(REPO, …)):
      // the second only counts where it names something that exists beside the checkout.
      const fromFile = path.resolve(path.dirname(file), literal);
      const fromRepo = path.resolve(REPO, literal);
      const named = literal.split('/').some((seg) => seg !== '..' && seg !== '');
      if (!inside(fromFile) || (named && !inside(fromRepo) && exists(fromRepo))) found.push(literal);
    }
  }
  return found;
}

test('no test, bench or script names a path outside the repository', () => {
  const offenders: string[] = [];
  for (const top of SCANNED) {
    const dir = path.join(REPO, top);
    if (!fs.existsSync(dir)) continue;
    for (const file of filesUnder(dir)) {
      if (file === import.meta.filename) continue;
      for (const p of outsidePaths(file, fs.readFileSync(file, 'utf8'))) {
        offenders.push(`${path.relative(REPO, file)}: ${p}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test('the guard catches both kinds of outside path', () => {
  const here = path.join(REPO, 'test/unit/x.test.ts');
  assert.deepEqual(outsidePaths(here, "const a = '/work/shared/samples';"), ['/work/shared/samples']);
  assert.deepEqual(outsidePaths(here, "path.resolve(dir, '../../../shared/samples')"), ['../../../shared/samples']);
  assert.deepEqual(outsidePaths(here, "import x from '../../shared/errors.ts';"), []);
  // path.resolve(REPO, '../shared/samples') climbs out of the repository where that folder exists.
  assert.deepEqual(
    outsidePaths(here, "path.resolve(REPO, '../shared/samples')", () => true),
    ['../shared/samples'],
  );
  assert.deepEqual(
    outsidePaths(here, "path.resolve(REPO, '../shared/samples')", () => false),
    [],
  );
});

test('temp folders of a test run live inside the repository', () => {
  const tmp = fs.realpathSync(os.tmpdir());
  assert.ok(tmp.startsWith(fs.realpathSync(REPO) + path.sep), `os.tmpdir() is ${tmp}`);
});

/**
 * axe-core in the harness's Chromium. The app's CSP allows scripts from the app itself only, so a
 * <script> tag with axe (page.addScriptTag) is refused; the source is evaluated instead, through
 * the DevTools protocol, which the CSP does not govern.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { AxeResults, ImpactValue, Result, RunOptions } from 'axe-core';
import { REPO_ROOT } from './renderer-server.ts';

let source: string | null = null;

function axeSource(): string {
  source ??= fs.readFileSync(path.join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  return source;
}

/** Puts `window.axe` into the page (again after every navigation that reloads the document). */
export async function injectAxe(page: Page): Promise<void> {
  const present = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (present) return;
  await page.evaluate(axeSource());
}

export interface AxeViolation {
  id: string;
  impact: ImpactValue | null | undefined;
  help: string;
  helpUrl: string;
  nodes: { target: string; summary: string }[];
}

const RANK: Record<string, number> = { minor: 0, moderate: 1, serious: 2, critical: 3 };

/**
 * Runs axe on the whole document (or `selector`) with the WCAG A/AA rules and the best-practice
 * ones, and returns the violations at `minImpact` or worse.
 */
export async function runAxe(
  page: Page,
  { minImpact = 'serious', selector }: { minImpact?: ImpactValue; selector?: string } = {},
): Promise<AxeViolation[]> {
  await injectAxe(page);
  const options: RunOptions = {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    resultTypes: ['violations'],
  };
  const results = await page.evaluate(
    async ([sel, opts]) => {
      const axe = (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<unknown> } }).axe;
      return JSON.stringify(await axe.run(sel ? { include: [sel] } : document, opts));
    },
    [selector ?? null, options] as const,
  );
  const parsed = JSON.parse(results) as AxeResults;
  return parsed.violations
    .filter((v: Result) => RANK[v.impact ?? 'minor']! >= RANK[minImpact ?? 'serious']!)
    .map((v: Result) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
    }));
}

/** A readable listing of violations, for an assertion message. */
export function formatViolations(where: string, violations: AxeViolation[]): string {
  if (violations.length === 0) return `${where}: no violations`;
  const lines = [`${where}: ${violations.length} rule(s) failed`];
  for (const v of violations) {
    lines.push(`  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} element(s))`);
    for (const n of v.nodes.slice(0, 8)) {
      lines.push(`    ${n.target}`);
      for (const s of n.summary.split('\n').slice(0, 4)) lines.push(`      ${s}`);
    }
  }
  return lines.join('\n');
}

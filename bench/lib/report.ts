/** One line of the benchmark table, and the table itself. */

/** NOT RUN: a tool the benchmark needs is missing (the notes say which); never a figure. */
export type Verdict = 'met' | 'MISSED' | 'info' | 'CRASHED' | 'NOT RUN';

export interface Row {
  /** Item number and what was measured, e.g. "1 mint zlayer". */
  item: string;
  /** The figure as measured (median or percentile, as the label says). */
  value: number;
  unit: string;
  /** Human form of the figure, e.g. "41,200 tokens/s". */
  figure: string;
  /** What it is compared with: a peer measured in the same run, or a fixed limit. */
  comparedWith: string;
  /** figure / peer where there is a peer; figure / limit for fixed limits. */
  ratio: number | null;
  /** The target as text: "≥ 0.50×", "< 5 ms". */
  target: string;
  verdict: Verdict;
  /** Anything a reader needs to interpret the line (sizes, runs, spread). */
  notes?: string;
  /** Raw data behind the figure, written to latest.json only. */
  data?: Record<string, unknown>;
}

export function verdict(pass: boolean): Verdict {
  return pass ? 'met' : 'MISSED';
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** `item | figure | compared with | ratio/limit | result`, as aligned plain text. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['item', 'figure', 'compared with', 'ratio/limit', 'result'];
  const cells = rows.map((r) => [
    r.item,
    r.figure,
    r.comparedWith,
    r.ratio === null ? r.target : `${r.ratio.toFixed(2)}× (${r.target})`,
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max([...h].length, ...cells.map((c) => [...c[i]!].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => pad(x, widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}

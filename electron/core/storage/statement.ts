/**
 * Prepared-style statements: SQL written once with `?` placeholders, translated once per
 * dialect (PostgreSQL numbers them: `$1`, `$2`, ...) and cached, then run with parameters.
 * SQLite keeps the prepared `StatementSync` per text (node-sqlite-kysely.ts); PostgreSQL runs
 * them through the extended protocol, so a parameter is never spliced into the SQL text.
 */

declare const rowType: unique symbol;

export interface Statement<R> {
  /** The SQL as written, with `?` placeholders. */
  readonly text: string;
  /** The same SQL with `$n` placeholders, for PostgreSQL. */
  readonly numbered: string;
  /** How many parameters it takes. */
  readonly parameterCount: number;
  /** Type-level only: the row type the statement returns. */
  readonly [rowType]?: R;
}

const cache = new Map<string, Statement<unknown>>();

/** A statement for `text` (cached: calling it again with the same text returns the same one). */
export function statement<R = Record<string, unknown>>(text: string): Statement<R> {
  let st = cache.get(text);
  if (st === undefined) {
    const { numbered, count } = numberPlaceholders(text);
    st = Object.freeze({ text, numbered, parameterCount: count });
    cache.set(text, st);
  }
  return st as Statement<R>;
}

/**
 * Rewrites each `?` outside quotes and comments as `$1`, `$2`, ... . Quoted strings ('...'),
 * quoted identifiers ("..."), dollar-quoted bodies ($tag$...$tag$), line and block comments are
 * copied untouched, so `LIKE '?'` or a plpgsql body stays as written.
 */
export function numberPlaceholders(text: string): { numbered: string; count: number } {
  let out = '';
  let count = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "'" || c === '"') {
      const end = closingQuote(text, i, c);
      out += text.slice(i, end);
      i = end;
    } else if (c === '-' && next === '-') {
      const nl = text.indexOf('\n', i);
      const end = nl === -1 ? text.length : nl;
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close === -1 ? text.length : close + 2;
      out += text.slice(i, end);
      i = end;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(text.slice(i))) {
      const tag = (/^\$[A-Za-z_]*\$/.exec(text.slice(i)) as RegExpExecArray)[0];
      const close = text.indexOf(tag, i + tag.length);
      const end = close === -1 ? text.length : close + tag.length;
      out += text.slice(i, end);
      i = end;
    } else if (c === '?') {
      out += `$${++count}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return { numbered: out, count };
}

/** Index just past the quote that closes the one at `start` (a doubled quote is an escape). */
function closingQuote(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return text.length;
}

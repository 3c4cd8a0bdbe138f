/**
 * ZLayer deployment specs (COMPAT.md, "ZLayer deployment spec (YAML)").
 *
 * Castellan reads a little of a spec (the deployment name, each service's type,
 * image, scale and labels) and edits exactly one thing: a service's `labels`
 * mapping, where the token policy lives. Everything else in the file belongs to
 * the operator and must come back byte for byte, comments and quoting included.
 *
 * Why splicing and not `doc.toString()`: the yaml Document API keeps comments,
 * but re-stringifying a document normalises indentation, flow collections,
 * quoting and blank lines elsewhere in the file. So edits are computed as text
 * splices at the source ranges the parser reports (`node.range`), confined to the
 * labels mapping (or, when a service has none, one inserted `labels` block), and
 * every result is re-parsed and compared before it is returned.
 *
 * Decisions (each confirmed against ZLayer's `zlayer-types` crate,
 * `src/spec/types.rs` and `src/spec/validate.rs`, where a source exists):
 * - Top-level fields: ZLayer's `DeploymentSpec` is `deny_unknown_fields` with
 *   `version`, `deployment`, `services`, `externals`, `tunnels` and `api`; any
 *   other top-level key is refused here too. Unknown fields *inside* a service are
 *   kept untouched and not judged (ZLayer adds service fields often).
 * - Deployment names follow ZLayer's `validate_deployment_name`: 3-63 ASCII
 *   letters, digits and '-', starting with a letter or digit. (Upper case is
 *   accepted because ZLayer accepts it.) Duplicate names across a batch are
 *   compared exactly, as ZLayer keys deployments by the name string.
 * - `version` is optional (`null` when absent) but must be a string when present;
 *   `services` is required (a spec without services gives Castellan nothing to do).
 * - Values are read with YAML 1.2 (the yaml library's default, and what ZLayer's
 *   serde_yaml reads), so an unquoted `no` is the string "no". Written label
 *   values are quoted whenever YAML 1.1 *or* 1.2 could read them as anything but
 *   that string ("3600", "true", "no", "~", "0x10", "1e3", …).
 * - Removing every label from a block mapping leaves `labels: {}` (the key, its
 *   comments and its position stay; ZLayer reads it as no labels). Adding to an
 *   empty `labels: {}` in a block-style service writes a block mapping.
 * - Labels written as YAML aliases or carrying anchors are refused for editing
 *   (an edit would silently change, or break, the other places sharing them), and
 *   so is a multi-line flow `labels: { … }` with comments inside it.
 */
import { isDeepStrictEqual } from 'node:util';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair, Scalar, YAMLError, YAMLMap } from 'yaml';
import { CastellanError } from '../../../shared/errors.ts';

export interface ParsedService {
  name: string;
  rtype: string | null;
  /** fixed: `replicas`; adaptive: `min`; manual or absent: null. */
  replicas: number | null;
  scaleMode: string | null;
  /** `image.name` (or `image` when written as a bare string). */
  image: string | null;
  labels: Record<string, string>;
}

export interface ParsedSpec {
  deployment: string;
  version: string | null;
  services: ParsedService[];
  /** The text the spec was parsed from, unchanged. */
  source: string;
}

/** The top-level fields of ZLayer's `DeploymentSpec` (`#[serde(deny_unknown_fields)]`). */
export const DEPLOYMENT_SPEC_TOP_LEVEL_FIELDS = [
  'version',
  'deployment',
  'services',
  'externals',
  'tunnels',
  'api',
] as const;

/** ZLayer's `validate_deployment_name`: 3-63 of [A-Za-z0-9-], first character alphanumeric. */
export const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{2,62}$/;

/** Non-empty, no whitespace (Unicode included) and no control characters. */
const LABEL_KEY_PATTERN = /^[^\s\p{Cc}]+$/u;

/** The file name in errors about a source handed to the label editors (they take no file name). */
const EDITOR_SOURCE_NAME = '<spec>';

/** An invalid spec, located: `file`, 1-based `line` and `column`, and the message without them in `detail`. */
export class SpecError extends CastellanError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly detail: string;
  constructor(file: string, line: number, column: number, detail: string) {
    super('INVALID_INPUT', `${file}:${line}:${column}: ${detail}`);
    this.name = 'SpecError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

interface LabelEntry {
  key: string;
  value: string;
  keyNode: Scalar;
  /** As written: a scalar, or an alias to one. */
  valueNode: Node;
}

interface ServiceModel {
  name: string;
  keyNode: Scalar;
  /** As written (possibly an alias). */
  valueNode: Node;
  map: YAMLMap;
  labelsKeyNode: Scalar | null;
  /** As written (possibly an alias); null when the service has no `labels` key. */
  labelsNode: Node | null;
  labelsMap: YAMLMap | null;
  labels: LabelEntry[];
}

interface SpecModel {
  file: string;
  text: string;
  doc: Document;
  lc: LineCounter;
  /** Offset of the `deployment` value, for duplicate-name errors. */
  deploymentAt: number;
  services: ServiceModel[];
  spec: ParsedSpec;
}

interface Ctx {
  file: string;
  text: string;
  doc: Document;
  lc: LineCounter;
}

function fail(ctx: Ctx, offset: number, detail: string): never {
  const { line, col } = ctx.lc.linePos(offset);
  throw new SpecError(ctx.file, line, col, detail);
}

function rangeOf(node: Node): [number, number, number] {
  const r = node.range;
  if (!r) throw new CastellanError('INTERNAL', 'a parsed YAML node has no source range');
  return r;
}

/** An empty plain value (`key:` followed by nothing) has a zero-width range; errors point at its key instead. */
function locate(node: Node | null, fallback: number): number {
  if (node === null) return fallback;
  const [start, end] = rangeOf(node);
  return start === end ? fallback : start;
}

function deref(ctx: Ctx, node: unknown): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const target = node.resolve(ctx.doc);
    if (!target)
      fail(ctx, rangeOf(node)[0], `alias "*${node.source}" refers to an anchor that is not defined before it`);
    return target;
  }
  return node as Node;
}

function describe(node: Node | null): string {
  if (node === null) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) {
      const [start, end] = rangeOf(node);
      return start === end ? 'an empty value' : 'null';
    }
    if (typeof v === 'string') return 'a string';
    if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
    if (typeof v === 'boolean') return 'a boolean';
    return `a ${node.tag ?? typeof v} value`;
  }
  return 'an unsupported YAML node';
}

/** How to say a non-string scalar as a string: quote exactly what was written. */
function quoteHint(ctx: Ctx, node: Node | null): string {
  if (node === null || !isScalar(node)) return '';
  const [start, end] = rangeOf(node);
  if (start === end) return ' (write "" for an empty string)';
  const written = ctx.text.slice(start, end);
  return written.includes('\n') ? '' : ` (quote it: ${JSON.stringify(written)})`;
}

function stringValue(node: Node | null): string | null {
  return node !== null && isScalar(node) && typeof node.value === 'string' ? node.value : null;
}

/** A mapping key as a string, or a located error; `what` names the mapping ("top-level", "label", …). */
function keyOf(ctx: Ctx, pair: Pair, what: string, fallback: number): { key: string; keyNode: Scalar } {
  const k = pair.key as Node | null;
  if (k !== null && isScalar(k) && typeof k.value === 'string') return { key: k.value, keyNode: k };
  const at = k !== null ? rangeOf(k)[0] : locate(pair.value as Node | null, fallback);
  if (k !== null && isAlias(k)) fail(ctx, at, `${what} key must be a string, got an alias (*${k.source})`);
  fail(ctx, at, `${what} key must be a string, got ${describe(k)}${quoteHint(ctx, k)}`);
}

function yamlFailure(ctx: Ctx, err: YAMLError): never {
  const at = err.pos[0];
  if (err.code === 'MULTIPLE_DOCS') {
    fail(ctx, at, 'the file holds more than one YAML document; a deployment spec is exactly one document');
  }
  if (err.code === 'DUPLICATE_KEY') {
    const rest = ctx.text.slice(at).split(/\r?\n/, 1)[0] ?? '';
    const quoted = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')/.exec(rest)?.[1];
    const shown =
      quoted ?? JSON.stringify(/^(.*?)\s*:(?:\s|$)/.exec(rest)?.[1] ?? ctx.text.slice(err.pos[0], err.pos[1]));
    fail(ctx, at, `duplicate key ${shown}: a key may appear only once in a mapping`);
  }
  fail(ctx, at, `YAML syntax error: ${err.message}`);
}

function checkDeploymentName(ctx: Ctx, name: string, at: number): void {
  if (name.length === 0) fail(ctx, at, '"deployment" must not be empty');
  if (DEPLOYMENT_NAME_PATTERN.test(name)) return;
  const shown = JSON.stringify(name);
  if (name.length < 3 || name.length > 63) {
    fail(ctx, at, `deployment name ${shown} must be 3-63 characters long (it is ${name.length})`);
  }
  if (!/^[A-Za-z0-9]/.test(name)) fail(ctx, at, `deployment name ${shown} must start with a letter or digit`);
  const bad = [...name].find((c) => !/[A-Za-z0-9-]/.test(c)) ?? '';
  fail(ctx, at, `deployment name ${shown} contains ${JSON.stringify(bad)}; only letters, digits and '-' are allowed`);
}

function labelKeyProblem(key: string): string | null {
  return LABEL_KEY_PATTERN.test(key)
    ? null
    : `label key ${JSON.stringify(key)} is invalid: a label key must be non-empty and contain no whitespace or control characters`;
}

/** A record whose own keys are exactly `entries` (defineProperty, so a key like "__proto__" stays a key). */
function recordOf(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

function readService(ctx: Ctx, pair: Pair, servicesAt: number): ServiceModel {
  const { key: name, keyNode } = keyOf(ctx, pair, 'service name', servicesAt);
  const valueNode = (pair.value as Node | null) ?? null;
  const map = deref(ctx, valueNode);
  if (map === null || !isMap(map)) {
    fail(ctx, locate(valueNode, rangeOf(keyNode)[0]), `service "${name}" must be a mapping, got ${describe(map)}`);
  }
  const svc: ServiceModel = {
    name,
    keyNode,
    valueNode: valueNode as Node,
    map,
    labelsKeyNode: null,
    labelsNode: null,
    labelsMap: null,
    labels: [],
  };
  for (const p of map.items) {
    const { key, keyNode: fieldKey } = keyOf(ctx, p, `service "${name}" field`, rangeOf(map)[0]);
    if (key !== 'labels') continue;
    const raw = (p.value as Node | null) ?? null;
    const labels = deref(ctx, raw);
    if (labels === null || !isMap(labels)) {
      fail(
        ctx,
        locate(raw, rangeOf(fieldKey)[0]),
        `"labels" of service "${name}" must be a mapping of string to string, got ${describe(labels)}`,
      );
    }
    svc.labelsKeyNode = fieldKey;
    svc.labelsNode = raw;
    svc.labelsMap = labels;
    for (const lp of labels.items) {
      const { key: labelKey, keyNode: labelKeyNode } = keyOf(ctx, lp, 'label', rangeOf(labels)[0]);
      const problem = labelKeyProblem(labelKey);
      if (problem) fail(ctx, rangeOf(labelKeyNode)[0], problem);
      const rawValue = (lp.value as Node | null) ?? null;
      const value = deref(ctx, rawValue);
      const text = stringValue(value);
      if (text === null) {
        const at = locate(rawValue, rangeOf(labelKeyNode)[0]);
        fail(
          ctx,
          at,
          `label ${JSON.stringify(labelKey)} must be a string, got ${describe(value)}${quoteHint(ctx, value)}`,
        );
      }
      svc.labels.push({ key: labelKey, value: text, keyNode: labelKeyNode, valueNode: rawValue as Node });
    }
  }
  return svc;
}

function summarise(ctx: Ctx, svc: ServiceModel): ParsedService {
  let rtype: string | null = null;
  let image: string | null = null;
  let scaleMode: string | null = null;
  let replicas: number | null = null;
  for (const p of svc.map.items) {
    const key = (p.key as Scalar).value as string;
    const value = deref(ctx, p.value);
    if (key === 'rtype') rtype = stringValue(value);
    if (key === 'image') {
      if (value !== null && isMap(value)) {
        const name = value.items.find((i) => isScalar(i.key) && i.key.value === 'name');
        image = name ? stringValue(deref(ctx, name.value)) : null;
      } else {
        image = stringValue(value);
      }
    }
    if (key === 'scale' && value !== null && isMap(value)) {
      const field = (f: string): Node | null => {
        const hit = value.items.find((i) => isScalar(i.key) && i.key.value === f);
        return hit ? deref(ctx, hit.value) : null;
      };
      scaleMode = stringValue(field('mode'));
      const count = scaleMode === 'fixed' ? field('replicas') : scaleMode === 'adaptive' ? field('min') : null;
      const n = count !== null && isScalar(count) ? count.value : null;
      replicas = typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
    }
  }
  return {
    name: svc.name,
    rtype,
    replicas,
    scaleMode,
    image,
    labels: recordOf(svc.labels.map((l) => [l.key, l.value])),
  };
}

function loadSpec(text: string, file: string): SpecModel {
  if (typeof text !== 'string') throw new CastellanError('INVALID_INPUT', `${file}: the spec text must be a string`);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const ctx: Ctx = { file, text, doc, lc };
  const firstError = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (firstError) yamlFailure(ctx, firstError);

  const rootRaw = (doc.contents as Node | null) ?? null;
  if (
    rootRaw === null ||
    (isScalar(rootRaw) && rootRaw.value === null && rangeOf(rootRaw)[0] === rangeOf(rootRaw)[1])
  ) {
    fail(ctx, 0, 'the file is empty; a deployment spec is a mapping with "deployment" and "services"');
  }
  const root = deref(ctx, rootRaw);
  if (root === null || !isMap(root)) {
    fail(
      ctx,
      rangeOf(rootRaw)[0],
      `the top level must be a mapping with "deployment" and "services", got ${describe(root)}`,
    );
  }
  const rootAt = root.items[0]?.key ? rangeOf(root.items[0].key as Node)[0] : rangeOf(root)[0];

  const fields = new Map<string, { keyNode: Scalar; value: Node | null }>();
  for (const p of root.items) {
    const { key, keyNode } = keyOf(ctx, p, 'top-level', rootAt);
    if (!(DEPLOYMENT_SPEC_TOP_LEVEL_FIELDS as readonly string[]).includes(key)) {
      fail(
        ctx,
        rangeOf(keyNode)[0],
        `unknown top-level field ${JSON.stringify(key)}; a ZLayer deployment spec has only ${DEPLOYMENT_SPEC_TOP_LEVEL_FIELDS.join(', ')}`,
      );
    }
    fields.set(key, { keyNode, value: (p.value as Node | null) ?? null });
  }

  const dep = fields.get('deployment');
  if (!dep) fail(ctx, rootAt, 'missing required field "deployment" (the deployment name)');
  const depValue = deref(ctx, dep.value);
  const deploymentAt = locate(dep.value, rangeOf(dep.keyNode)[0]);
  const deployment = stringValue(depValue);
  if (deployment === null)
    fail(ctx, deploymentAt, `"deployment" must be a string, got ${describe(depValue)}${quoteHint(ctx, depValue)}`);
  checkDeploymentName(ctx, deployment, deploymentAt);

  let version: string | null = null;
  const ver = fields.get('version');
  if (ver) {
    const value = deref(ctx, ver.value);
    version = stringValue(value);
    if (version === null) {
      fail(
        ctx,
        locate(ver.value, rangeOf(ver.keyNode)[0]),
        `"version" must be a string, got ${describe(value)}${quoteHint(ctx, value)}`,
      );
    }
  }

  const svcField = fields.get('services');
  if (!svcField) fail(ctx, rootAt, 'missing required field "services" (a mapping of service name to service spec)');
  const servicesMap = deref(ctx, svcField.value);
  const servicesAt = locate(svcField.value, rangeOf(svcField.keyNode)[0]);
  if (servicesMap === null || !isMap(servicesMap)) {
    fail(ctx, servicesAt, `"services" must be a mapping of service name to service spec, got ${describe(servicesMap)}`);
  }
  const services = servicesMap.items.map((p) => readService(ctx, p, servicesAt));

  return {
    file,
    text,
    doc,
    lc,
    deploymentAt,
    services,
    spec: { deployment, version, services: services.map((s) => summarise(ctx, s)), source: text },
  };
}

/** Parses and validates one ZLayer deployment spec. Throws a located `SpecError` on any problem. */
export function parseDeploymentSpec(text: string, file: string): ParsedSpec {
  return loadSpec(text, file).spec;
}

/**
 * Parses a batch all-or-nothing: every file is validated before anything is
 * returned, and two files naming the same deployment are refused (the error
 * points at the second file's name and says where the first one is).
 */
export function parseDeploymentSpecs(files: ReadonlyArray<{ file: string; text: string }>): ParsedSpec[] {
  const models = files.map(({ file, text }) => loadSpec(text, file));
  const seen = new Map<string, SpecModel>();
  for (const m of models) {
    const first = seen.get(m.spec.deployment);
    if (first) {
      const at = first.lc.linePos(first.deploymentAt);
      fail(
        m,
        m.deploymentAt,
        `deployment ${JSON.stringify(m.spec.deployment)} is already defined in ${first.file}:${at.line}:${at.col}; a deployment can be imported only once`,
      );
    }
    seen.set(m.spec.deployment, m);
  }
  return models.map((m) => m.spec);
}

// ---------------------------------------------------------------------------
// Writing scalars
// ---------------------------------------------------------------------------

type QuoteStyle = 'plain' | 'single' | 'double';

/** Plain candidates: no indicator first, nothing that ends a plain scalar early. The YAML check below decides. */
const PLAIN_CANDIDATE = /^[A-Za-z0-9_./][A-Za-z0-9_./@+=:~ -]*$/;
/** Characters a single-quoted scalar may hold on one line (printable, no line breaks, no BOM). */
const SINGLE_QUOTABLE = /^[\t\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]*$/u;

/** True when YAML 1.2 and YAML 1.1 both read `text`, written plain, as exactly that string. */
function readsBackAsString(text: string): boolean {
  for (const version of ['1.2', '1.1'] as const) {
    const doc = parseDocument(text, { version });
    const node = doc.contents as Node | null;
    if (doc.errors.length > 0 || doc.warnings.length > 0 || node === null || !isScalar(node)) return false;
    if (node.type !== 'PLAIN' || node.value !== text) return false;
  }
  return true;
}

function isPlainSafe(text: string, inFlow: boolean): boolean {
  if (!PLAIN_CANDIDATE.test(text) || text.endsWith(' ') || text.endsWith(':') || text.includes(': ')) return false;
  if (inFlow && text.includes(':')) return false;
  return readsBackAsString(text);
}

function doubleQuoted(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0xfeff ||
      (c >= 0xd800 && c <= 0xdfff) ||
      c === 0xfffe ||
      c === 0xffff
    ) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** A label value as YAML that always reads back as the string: `style` when it can, double quotes otherwise. */
function scalarText(text: string, style: QuoteStyle, inFlow: boolean): string {
  if (style === 'plain' && isPlainSafe(text, inFlow)) return text;
  if (style === 'single' && SINGLE_QUOTABLE.test(text)) return `'${text.replaceAll("'", "''")}'`;
  return doubleQuoted(text);
}

/** A label key: plain only when it holds no ':' at all (stricter than YAML needs, so it never reads as a nested key). */
function keyText(key: string): string {
  return isPlainSafe(key, true) ? key : doubleQuoted(key);
}

function styleOf(node: Node): QuoteStyle {
  if (!isScalar(node)) return 'double';
  if (node.type === 'PLAIN') return 'plain';
  if (node.type === 'QUOTE_SINGLE') return 'single';
  return 'double';
}

/** New labels follow the quoting of the last existing label when it is quoted. */
function styleForNew(existing: readonly LabelEntry[]): QuoteStyle {
  const last = existing[existing.length - 1]?.valueNode;
  if (last && isScalar(last) && last.type === 'QUOTE_SINGLE') return 'single';
  if (last && isScalar(last) && last.type === 'QUOTE_DOUBLE') return 'double';
  return 'plain';
}

// ---------------------------------------------------------------------------
// Splicing
// ---------------------------------------------------------------------------

interface Edit {
  start: number;
  end: number;
  text: string;
}

function unsupported(detail: string): never {
  throw new CastellanError('UNSUPPORTED', detail);
}

function lineStart(src: string, pos: number): number {
  return src.lastIndexOf('\n', pos - 1) + 1;
}

/** The offset just past the line break ending the line that `pos` is on (or that `pos` just ended). */
function lineEndAfter(src: string, pos: number): number {
  if (pos > 0 && src[pos - 1] === '\n') return pos;
  const nl = src.indexOf('\n', pos);
  return nl === -1 ? src.length : nl + 1;
}

function onlySpacesBefore(src: string, pos: number): boolean {
  return /^[ ]*$/.test(src.slice(lineStart(src, pos), pos));
}

/** The indentation of a block mapping key that starts its line; anything else is not ours to guess at. */
function indentOf(src: string, pos: number, what: string): string {
  if (!onlySpacesBefore(src, pos))
    unsupported(`${what} does not start its own line, so Castellan cannot edit it without rewriting other text`);
  return src.slice(lineStart(src, pos), pos);
}

/** The line break to write after `pos`: the one ending the previous line, else the file's. */
function lineBreakAt(src: string, pos: number): string {
  if (pos > 0 && src[pos - 1] === '\n') return pos > 1 && src[pos - 2] === '\r' ? '\r\n' : '\n';
  return src.includes('\r\n') ? '\r\n' : '\n';
}

function insertLines(src: string, at: number, lines: readonly string[]): Edit {
  const eol = lineBreakAt(src, at);
  const text =
    at === src.length && src.length > 0 && !src.endsWith('\n')
      ? eol + lines.join(eol)
      : lines.map((l) => l + eol).join('');
  return { start: at, end: at, text };
}

/** Where a node's own text ends (block collections' ranges also cover trailing comments, which this skips). */
function contentEnd(node: unknown, fallback: number): number {
  if (node === null || node === undefined) return fallback;
  const n = node as Node;
  if ((isMap(n) || isSeq(n)) && !n.flow) {
    const last = n.items[n.items.length - 1];
    if (last === undefined) return rangeOf(n)[1];
    if (isMap(n)) {
      const pair = last as Pair;
      return contentEnd(pair.value, contentEnd(pair.key, rangeOf(n)[1]));
    }
    return contentEnd(last, rangeOf(n)[1]);
  }
  return rangeOf(n)[1];
}

function entryEnd(entry: LabelEntry): number {
  return contentEnd(entry.valueNode, rangeOf(entry.keyNode)[1]);
}

/** Offset of the ':' that follows a simple mapping key. */
function colonAfter(src: string, key: Scalar): number {
  const end = rangeOf(key)[1];
  const m = /^[ \t]*:/.exec(src.slice(end));
  if (!m)
    unsupported('the "labels" key is written in a form Castellan cannot edit in place (an explicit "? labels" key)');
  return end + m[0].length - 1;
}

function applyEdits(src: string, edits: readonly Edit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = src;
  let limit = Number.POSITIVE_INFINITY;
  for (const e of sorted) {
    if (e.end > limit) throw new CastellanError('INTERNAL', 'overlapping label edits');
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    limit = e.start;
  }
  return out;
}

/** Replaces a label's value in place, keeping its quoting style when the new value allows it. */
function replaceValue(src: string, entry: LabelEntry, value: string, inFlow: boolean): Edit {
  const [start, rawEnd] = rangeOf(entry.valueNode);
  let end = rawEnd;
  // A block scalar's range runs through its final line break(s); those stay.
  while (end > start && /[\s]/.test(src[end - 1] ?? '')) end--;
  return { start, end, text: scalarText(value, styleOf(entry.valueNode), inFlow) };
}

/** The indentation step of the file around a service: its fields' column minus its name's column. */
function indentStep(src: string, svc: ServiceModel): number {
  const first = svc.map.items[0]?.key as Node | undefined;
  if (!first || svc.map.flow) return 2;
  const nameCol = rangeOf(svc.keyNode)[0] - lineStart(src, rangeOf(svc.keyNode)[0]);
  const fieldCol = rangeOf(first)[0] - lineStart(src, rangeOf(first)[0]);
  return fieldCol > nameCol ? fieldCol - nameCol : 2;
}

function assertEditable(svc: ServiceModel): void {
  const refuse = (what: string): never =>
    unsupported(
      `the labels of service "${svc.name}" cannot be edited in place: ${what}, which other parts of the file may share; edit the YAML by hand`,
    );
  if (isAlias(svc.valueNode)) refuse(`the service is written as an alias (*${svc.valueNode.source})`);
  if (svc.map.anchor) refuse(`the service carries an anchor (&${svc.map.anchor})`);
  if (svc.labelsNode && isAlias(svc.labelsNode)) refuse(`"labels" is written as an alias (*${svc.labelsNode.source})`);
  if (svc.labelsMap?.anchor) refuse(`"labels" carries an anchor (&${svc.labelsMap.anchor})`);
  for (const l of svc.labels) {
    if (isAlias(l.valueNode)) refuse(`label "${l.key}" is written as an alias (*${l.valueNode.source})`);
    if (l.valueNode.anchor || l.keyNode.anchor) refuse(`label "${l.key}" carries an anchor`);
  }
}

type Entries = ReadonlyArray<readonly [string, string]>;

function planNewLabelsKey(src: string, svc: ServiceModel, desired: Entries): Edit[] {
  const map = svc.map;
  const [ms] = rangeOf(map);
  if (map.flow) {
    const body = `labels: {${desired.map(([k, v]) => `${keyText(k)}: ${scalarText(v, 'plain', true)}`).join(', ')}}`;
    const last = map.items[map.items.length - 1];
    if (!last) {
      if (src[ms] !== '{') unsupported(`service "${svc.name}" is written in a form Castellan cannot extend in place`);
      return [{ start: ms + 1, end: ms + 1, text: body }];
    }
    const end = contentEnd(last.value, contentEnd(last.key, rangeOf(map)[1]));
    return [{ start: end, end, text: `, ${body}` }];
  }
  const firstKey = map.items[0]?.key as Node;
  const indent = indentOf(src, rangeOf(firstKey)[0], `service "${svc.name}"`);
  const step = ' '.repeat(indentStep(src, svc));
  const last = map.items[map.items.length - 1] as Pair;
  const at = lineEndAfter(src, contentEnd(last.value, contentEnd(last.key, rangeOf(map)[1])));
  const lines = [
    `${indent}labels:`,
    ...desired.map(([k, v]) => `${indent}${step}${keyText(k)}: ${scalarText(v, 'plain', false)}`),
  ];
  return [insertLines(src, at, lines)];
}

interface Diff {
  changed: LabelEntry[];
  removed: LabelEntry[];
  added: Array<readonly [string, string]>;
  want: Map<string, string>;
}

function planBlockLabels(src: string, svc: ServiceModel, d: Diff): Edit[] {
  const existing = svc.labels;
  const edits: Edit[] = d.changed.map((e) => replaceValue(src, e, d.want.get(e.key) as string, false));
  const first = existing[0];
  const last = existing[existing.length - 1];
  if (!first || !last || !svc.labelsKeyNode) throw new CastellanError('INTERNAL', 'a block mapping without entries');
  for (const e of d.removed) {
    const start = rangeOf(e.keyNode)[0];
    indentOf(src, start, `label "${e.key}" of service "${svc.name}"`);
    edits.push({ start: lineStart(src, start), end: lineEndAfter(src, entryEnd(e)), text: '' });
  }
  if (d.added.length > 0) {
    const indent = indentOf(src, rangeOf(first.keyNode)[0], `the labels of service "${svc.name}"`);
    const style = styleForNew(existing);
    const lines = d.added.map(([k, v]) => `${indent}${keyText(k)}: ${scalarText(v, style, false)}`);
    edits.push(insertLines(src, lineEndAfter(src, entryEnd(last)), lines));
  } else if (d.removed.length === existing.length) {
    // An empty block mapping cannot be written; say "no labels" explicitly and keep the key.
    const colon = colonAfter(src, svc.labelsKeyNode);
    edits.push({ start: colon + 1, end: colon + 1, text: ' {}' });
  }
  return edits;
}

function planFlowLabels(src: string, svc: ServiceModel, d: Diff): Edit[] {
  const map = svc.labelsMap as YAMLMap;
  const existing = svc.labels;
  if (d.removed.length === 0 && d.added.length === 0) {
    return d.changed.map((e) => replaceValue(src, e, d.want.get(e.key) as string, true));
  }
  const [ms, me] = rangeOf(map);
  if (src[ms] !== '{' || src[me - 1] !== '}')
    unsupported(`the "labels" of service "${svc.name}" are written in a form Castellan cannot edit in place`);

  // `labels: {}` in a block-style service grows into a block mapping, as a new labels key would.
  if (existing.length === 0 && !svc.map.flow && svc.labelsKeyNode) {
    let start = ms;
    while (start > 0 && (src[start - 1] === ' ' || src[start - 1] === '\t')) start--;
    if (src[start - 1] === ':') {
      const fieldKey = svc.map.items[0]?.key as Node;
      const indent = indentOf(src, rangeOf(fieldKey)[0], `service "${svc.name}"`) + ' '.repeat(indentStep(src, svc));
      const lines = d.added.map(([k, v]) => `${indent}${keyText(k)}: ${scalarText(v, 'plain', false)}`);
      return [{ start, end: me, text: '' }, insertLines(src, lineEndAfter(src, me), lines)];
    }
  }

  const multiLine = src.slice(ms, me).includes('\n');
  if (multiLine) {
    let gaps = src.slice(ms, me);
    for (const e of [...existing].reverse()) {
      const s = rangeOf(e.keyNode)[0] - ms;
      gaps = gaps.slice(0, s) + gaps.slice(entryEnd(e) - ms);
    }
    if (gaps.includes('#')) {
      unsupported(
        `the "labels" of service "${svc.name}" are a multi-line flow mapping with comments inside; Castellan cannot add or remove labels there without losing them (rewrite it in block style)`,
      );
    }
  }

  const items: string[] = [];
  for (const e of existing) {
    const want = d.want.get(e.key);
    if (want === undefined) continue;
    const ks = rangeOf(e.keyNode)[0];
    const [vs] = rangeOf(e.valueNode);
    items.push(
      want === e.value ? src.slice(ks, entryEnd(e)) : src.slice(ks, vs) + scalarText(want, styleOf(e.valueNode), true),
    );
  }
  const style = styleForNew(existing);
  for (const [k, v] of d.added) items.push(`${keyText(k)}: ${scalarText(v, style, true)}`);

  let text = '{}';
  if (items.length > 0) {
    const first = existing[0];
    const last = existing[existing.length - 1];
    const tail = last ? src.slice(entryEnd(last), me - 1) : '';
    const trailingComma = tail.includes(',') ? ',' : '';
    if (!multiLine) {
      const lead = first ? src.slice(ms + 1, rangeOf(first.keyNode)[0]) : '';
      const padL = /^\s*$/.test(lead) ? lead : '';
      const padR = /\s*$/.exec(tail)?.[0] ?? '';
      text = `{${padL}${items.join(', ')}${trailingComma}${padR}}`;
    } else {
      const eol = lineBreakAt(src, lineEndAfter(src, ms));
      const firstStart = first ? rangeOf(first.keyNode)[0] : -1;
      const labelsKey = svc.labelsKeyNode ? rangeOf(svc.labelsKeyNode)[0] : ms;
      const itemIndent =
        first && onlySpacesBefore(src, firstStart)
          ? src.slice(lineStart(src, firstStart), firstStart)
          : src.slice(lineStart(src, labelsKey), labelsKey).replace(/[^ ]/g, ' ') + ' '.repeat(indentStep(src, svc));
      const closeAt = me - 1;
      const close = onlySpacesBefore(src, closeAt) ? `${eol}${src.slice(lineStart(src, closeAt), closeAt)}}` : '}';
      text = `{${eol}${items.map((t) => itemIndent + t).join(`,${eol}`)}${trailingComma}${close}`;
    }
  }
  return [{ start: ms, end: me, text }];
}

function findService(model: SpecModel, service: string): ServiceModel {
  if (typeof service !== 'string') throw new CastellanError('INVALID_INPUT', 'the service name must be a string');
  const svc = model.services.find((s) => s.name === service);
  if (!svc) {
    const known = model.services.map((s) => s.name).join(', ') || 'none';
    throw new CastellanError(
      'NOT_FOUND',
      `service ${JSON.stringify(service)} is not defined in deployment "${model.spec.deployment}" (services: ${known})`,
    );
  }
  return svc;
}

function checkedEntries(labels: unknown): Array<readonly [string, string]> {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new CastellanError('INVALID_INPUT', 'labels must be an object mapping label keys to string values');
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  for (const [k, v] of entries) checkLabel(k, v);
  return entries as Array<[string, string]>;
}

function checkLabel(key: unknown, value: unknown): void {
  if (typeof key !== 'string') throw new CastellanError('INVALID_INPUT', 'a label key must be a string');
  const problem = labelKeyProblem(key);
  if (problem) throw new CastellanError('INVALID_INPUT', problem);
  if (typeof value !== 'string') {
    throw new CastellanError(
      'INVALID_INPUT',
      `label ${JSON.stringify(key)} must have a string value, got ${value === null ? 'null' : typeof value}`,
    );
  }
}

function withoutLabels(model: SpecModel, service: string): unknown {
  const js = model.doc.toJS() as { services: Record<string, Record<string, unknown>> };
  const svc = js.services[service];
  if (svc) delete svc['labels'];
  return js;
}

/** Re-reads the result: the service must hold exactly the intended labels, and nothing else may differ. */
function verifyEdit(before: SpecModel, service: string, expected: Entries, out: string): void {
  let after: SpecModel;
  try {
    after = loadSpec(out, EDITOR_SOURCE_NAME);
  } catch (err) {
    throw new CastellanError(
      'INTERNAL',
      `editing the labels of service "${service}" produced a spec that does not parse (${(err as Error).message}); nothing was changed`,
    );
  }
  const got = after.services.find((s) => s.name === service)?.labels.map((l) => [l.key, l.value]);
  if (
    !isDeepStrictEqual(
      got,
      expected.map(([k, v]) => [k, v]),
    )
  ) {
    throw new CastellanError(
      'INTERNAL',
      `editing the labels of service "${service}" did not produce the intended labels; nothing was changed`,
    );
  }
  let same: boolean;
  try {
    same = isDeepStrictEqual(withoutLabels(before, service), withoutLabels(after, service));
  } catch (err) {
    throw new CastellanError(
      'INTERNAL',
      `could not compare the spec before and after editing the labels of service "${service}" (${(err as Error).message}); nothing was changed`,
    );
  }
  if (!same) {
    throw new CastellanError(
      'INTERNAL',
      `editing the labels of service "${service}" would have changed other parts of the spec; nothing was changed`,
    );
  }
}

function editServiceLabels(source: string, service: string, desired: Entries): string {
  const model = loadSpec(source, EDITOR_SOURCE_NAME);
  const svc = findService(model, service);
  const want = new Map(desired);
  const have = new Set(svc.labels.map((l) => l.key));
  const d: Diff = {
    changed: svc.labels.filter((l) => want.has(l.key) && want.get(l.key) !== l.value),
    removed: svc.labels.filter((l) => !want.has(l.key)),
    added: desired.filter(([k]) => !have.has(k)),
    want,
  };
  if (d.changed.length + d.removed.length + d.added.length === 0) return source;
  assertEditable(svc);

  let edits: Edit[];
  if (svc.labelsMap === null) edits = planNewLabelsKey(source, svc, desired);
  else if (svc.labelsMap.flow) edits = planFlowLabels(source, svc, d);
  else edits = planBlockLabels(source, svc, d);

  const out = applyEdits(source, edits);
  const expected = [
    ...svc.labels.filter((l) => want.has(l.key)).map((l) => [l.key, want.get(l.key) as string] as const),
    ...d.added,
  ];
  verifyEdit(model, service, expected, out);
  return out;
}

/**
 * Returns `source` with the labels of `service` set to exactly `labels`, and no
 * other byte changed: existing labels keep their place and quoting (a value that
 * needs quotes gets double quotes), new ones are appended, removed ones lose only
 * their lines. With nothing to change, returns `source` itself.
 */
export function setServiceLabels(source: string, service: string, labels: Record<string, string>): string {
  return editServiceLabels(source, service, checkedEntries(labels));
}

/** Sets one label of `service`, keeping the others. */
export function setServiceLabel(source: string, service: string, key: string, value: string): string {
  checkLabel(key, value);
  const svc = findService(loadSpec(source, EDITOR_SOURCE_NAME), service);
  const entries: Array<readonly [string, string]> = svc.labels.map((l) => [l.key, l.key === key ? value : l.value]);
  if (!svc.labels.some((l) => l.key === key)) entries.push([key, value]);
  return editServiceLabels(source, service, entries);
}

/** Removes one label of `service`; removing a label it does not have returns `source` unchanged. */
export function unsetServiceLabel(source: string, service: string, key: string): string {
  checkLabel(key, '');
  const svc = findService(loadSpec(source, EDITOR_SOURCE_NAME), service);
  return editServiceLabels(
    source,
    service,
    svc.labels.filter((l) => l.key !== key).map((l) => [l.key, l.value]),
  );
}

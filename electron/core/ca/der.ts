/**
 * A small DER reader and writer: just enough ASN.1 for certificates, CSRs, CRLs and PKCS#7.
 *
 * Why hand-written: @peculiar/x509 2.x builds an object tree per CRL entry and took about
 * 12 s for a 10,000-entry CRL on this machine (100,000 did not finish in minutes); the CRL
 * must be built in well under a second at 100k. The library also cannot load without a
 * Reflect-metadata polyfill, which is not a dependency of this project. So the worker CA
 * writes its DER here and signs with node:crypto; openssl, Node's X509Certificate and
 * @peculiar/x509 check the output in the tests.
 *
 * Scope: definite lengths only, single-byte tags only (every tag X.509 uses), lengths up to
 * 2^32 − 1. The reader returns offsets into the caller's buffer so nothing is copied.
 */
import { CastellanError } from '../../../shared/errors.ts';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag of a context-specific constructed ([n] EXPLICIT, or IMPLICIT of a constructed type). */
export function contextConstructed(n: number): number {
  return 0xa0 | n;
}

/** Tag of a context-specific primitive ([n] IMPLICIT of a primitive type). */
export function contextPrimitive(n: number): number {
  return 0x80 | n;
}

// ───────────────────────────── reader ─────────────────────────────

/** One TLV inside a buffer: `start` is the tag byte, `[contentStart, end)` the value. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function malformed(what: string, offset: number): CastellanError {
  return new CastellanError('INVALID_INPUT', `malformed DER: ${what} at offset ${offset}`);
}

/** Read the TLV starting at `offset`; it must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) throw malformed('truncated element', offset);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tag', offset);
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw malformed('indefinite length', offset);
  } else {
    const count = first & 0x7f;
    if (count > 4) throw malformed('length too large', offset);
    if (pos + count > limit) throw malformed('truncated length', offset);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
  }
  const end = pos + length;
  if (end > limit) throw malformed('element runs past its container', offset);
  return { tag, start: offset, contentStart: pos, end };
}

/** Read exactly one TLV spanning the whole buffer (no trailing bytes). */
export function readWhole(buf: Uint8Array): Tlv {
  const tlv = readTlv(buf, 0, buf.length);
  if (tlv.end !== buf.length) throw malformed('trailing bytes after the element', tlv.end);
  return tlv;
}

/** The elements inside a constructed TLV. */
export function readChildren(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Throw unless the TLV carries the expected tag. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new CastellanError('INVALID_INPUT', `malformed DER: missing ${what}`);
  if (tlv.tag !== tag) {
    throw malformed(`${what} has tag 0x${tlv.tag.toString(16)}, expected 0x${tag.toString(16)}`, tlv.start);
  }
  return tlv;
}

/** The value bytes of a TLV (a view, not a copy). */
export function contentOf(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.contentStart, tlv.end);
}

/** The whole encoding of a TLV, tag and length included (a view, not a copy). */
export function encodingOf(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.start, tlv.end);
}

/** Whether two byte strings are equal (not constant-time: for public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Dotted form of an OBJECT IDENTIFIER's value bytes. */
export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new CastellanError('INVALID_INPUT', 'malformed DER: empty OBJECT IDENTIFIER');
  // Arcs are summed as plain numbers while they stay exact (every OID X.509 uses does) and as
  // bigint only beyond 2^46: bigint arithmetic made this a visible cost of reading each CSR.
  const arcs: (number | bigint)[] = [];
  let value: number | bigint = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (typeof value === 'number' && value < 2 ** 46) value = value * 128 + (b & 0x7f);
    else value = (BigInt(value) << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new CastellanError('INVALID_INPUT', 'malformed DER: truncated OBJECT IDENTIFIER');
    }
  }
  const first = arcs[0]!;
  let head: string;
  if (typeof first === 'number') head = first < 40 ? `0.${first}` : first < 80 ? `1.${first - 40}` : `2.${first - 80}`;
  else head = `2.${first - 80n}`;
  let dotted = head;
  for (let i = 1; i < arcs.length; i++) dotted += `.${arcs[i]!}`;
  return dotted;
}

/** Value bytes of an INTEGER as unsigned lowercase hex without leading zeros ("0" for zero). */
export function integerHex(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i)).toString('hex') || '0';
}

// ───────────────────────────── writer ─────────────────────────────

/** Bytes taken by the tag and length octets of an element whose value is `length` bytes. */
export function headerSize(length: number): number {
  if (length < 0x80) return 2;
  if (length < 0x100) return 3;
  if (length < 0x10000) return 4;
  if (length < 0x1000000) return 5;
  return 6;
}

/** Write a tag and definite length at `pos`; returns the position after them. */
export function writeHeader(out: Uint8Array, pos: number, tag: number, length: number): number {
  out[pos++] = tag;
  if (length < 0x80) {
    out[pos++] = length;
    return pos;
  }
  const size = headerSize(length) - 2;
  out[pos++] = 0x80 | size;
  for (let shift = (size - 1) * 8; shift >= 0; shift -= 8) out[pos++] = (length / 2 ** shift) & 0xff;
  return pos;
}

/** Concatenate byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(headerSize(length) + length);
  let pos = writeHeader(out, 0, tag, length);
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function sequence(...parts: Uint8Array[]): Uint8Array {
  return tlv(TAG.SEQUENCE, ...parts);
}

/** A SET OF; DER wants the members sorted by their encodings. */
export function setOf(...parts: Uint8Array[]): Uint8Array {
  const sorted = [...parts].sort((a, b) => Buffer.compare(a, b));
  return tlv(TAG.SET, ...sorted);
}

/** [n] EXPLICIT wrapper. */
export function explicit(n: number, ...parts: Uint8Array[]): Uint8Array {
  return tlv(contextConstructed(n), ...parts);
}

/** INTEGER from unsigned big-endian magnitude bytes (leading zeros trimmed, sign octet added). */
export function integerFromUnsigned(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.length === 0 ? new Uint8Array([0]) : magnitude.subarray(i);
  const pad = (trimmed[0]! & 0x80) !== 0;
  return pad ? tlv(TAG.INTEGER, new Uint8Array([0]), trimmed) : tlv(TAG.INTEGER, trimmed);
}

/** INTEGER from a non-negative bigint. */
export function integerFromBigInt(value: bigint): Uint8Array {
  if (value < 0n) throw new RangeError('integerFromBigInt: negative values are not supported');
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return integerFromUnsigned(Buffer.from(hex, 'hex'));
}

/** INTEGER from a small non-negative number (version fields). */
export function smallInteger(value: number): Uint8Array {
  return integerFromBigInt(BigInt(value));
}

export function enumerated(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new RangeError('enumerated: 0..127 only');
  return new Uint8Array([TAG.ENUMERATED, 1, value]);
}

export function booleanValue(value: boolean): Uint8Array {
  return new Uint8Array([TAG.BOOLEAN, 1, value ? 0xff : 0x00]);
}

export function nullValue(): Uint8Array {
  return new Uint8Array([TAG.NULL, 0]);
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** BIT STRING of whole bytes (no unused bits). */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, new Uint8Array([0]), bytes);
}

/**
 * BIT STRING for a named-bit list (keyUsage): `bits` are bit numbers (0 = most significant
 * bit of the first octet). DER drops trailing zero bits and records how many are unused.
 */
export function namedBitString(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return new Uint8Array([TAG.BIT_STRING, 1, 0]);
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest & 7);
  return tlv(TAG.BIT_STRING, new Uint8Array([unused]), bytes);
}

export function utf8String(text: string): Uint8Array {
  return tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));
}

export function ia5String(text: string): Uint8Array {
  return tlv(TAG.IA5_STRING, Buffer.from(text, 'latin1'));
}

/** Encodings already computed by `oid`, by dotted form (the writers use a few dozen OIDs, over and over). */
const oidEncodings = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Uint8Array {
  let encoded = oidEncodings.get(dotted);
  if (encoded === undefined) {
    encoded = encodeOid(dotted);
    if (oidEncodings.size < 1024) oidEncodings.set(dotted, encoded);
  }
  // A copy: callers own what they are given and may write into it.
  return encoded.slice();
}

function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RangeError(`oid: "${dotted}" needs at least two arcs`);
  const body: number[] = [];
  const push = (value: bigint): void => {
    const chunk: number[] = [Number(value & 0x7fn)];
    for (let v = value >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG.OID, new Uint8Array(body));
}

// ───────────────────────────── time ─────────────────────────────

const UTC_TIME_FROM = Date.UTC(1950, 0, 1);
const UTC_TIME_UNTIL = Date.UTC(2050, 0, 1);

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for years 1950–2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) otherwise; seconds precision, always Zulu. Returns the element's size.
 */
export function timeSize(ms: number): number {
  return ms >= UTC_TIME_FROM && ms < UTC_TIME_UNTIL ? 15 : 17;
}

function put2(out: Uint8Array, pos: number, n: number): void {
  out[pos] = 0x30 + ((n / 10) | 0);
  out[pos + 1] = 0x30 + (n % 10);
}

/**
 * Write a Time at `pos`; returns the position after it. The calendar fields come from integer
 * arithmetic (H. Hinnant's civil_from_days) rather than a Date object per call: the CRL writer
 * calls this once per revoked certificate.
 */
export function writeTime(out: Uint8Array, pos: number, ms: number): number {
  const secs = Math.floor(ms / 1000);
  const days = Math.floor(secs / 86_400);
  let rem = secs - days * 86_400;
  const hour = (rem / 3600) | 0;
  rem -= hour * 3600;
  const minute = (rem / 60) | 0;
  const second = rem - minute * 60;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) throw new RangeError(`writeTime: year ${year} cannot be encoded`);
  if (year >= 1950 && year < 2050) {
    out[pos++] = TAG.UTC_TIME;
    out[pos++] = 13;
    put2(out, pos, year % 100);
    pos += 2;
  } else {
    out[pos++] = TAG.GENERALIZED_TIME;
    out[pos++] = 15;
    put2(out, pos, (year / 100) | 0);
    put2(out, pos + 2, year % 100);
    pos += 4;
  }
  put2(out, pos, month);
  put2(out, pos + 2, day);
  put2(out, pos + 4, hour);
  put2(out, pos + 6, minute);
  put2(out, pos + 8, second);
  out[pos + 10] = 0x5a; // 'Z'
  return pos + 11;
}

/** A Time element for `date` (sub-second part dropped). */
export function time(date: Date): Uint8Array {
  const ms = date.getTime();
  const out = new Uint8Array(timeSize(ms));
  writeTime(out, 0, ms);
  return out;
}

/** Decode a UTCTime or GeneralizedTime element (Zulu, whole seconds, as DER requires). */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const text = Buffer.from(contentOf(buf, t)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    year = Number(m[1]);
  } else {
    throw malformed(`unreadable time "${text}"`, t.start);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  return date;
}

// ───────────────────────────── PEM ─────────────────────────────

/** PEM armour with 64-character lines and a trailing newline. */
export function pemEncode(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  label: string;
  /** RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) present: the block is a legacy encrypted key. */
  hasHeaders: boolean;
  der: Uint8Array;
}

/** Every PEM block in `text`, in order. Text outside blocks is ignored; a block with bad base64 throws. */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const label = m[1]!;
    if (m[3] !== label) {
      throw new CastellanError('INVALID_INPUT', `PEM block BEGIN ${label} is closed by END ${m[3]}`);
    }
    let body = m[2]!;
    const hasHeaders = /^[A-Za-z-]+:/m.test(body);
    if (hasHeaders) body = body.replace(/^[\s\S]*?\r?\n\r?\n/, '');
    if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) {
      throw new CastellanError('INVALID_INPUT', `PEM block ${label} contains characters that are not base64`);
    }
    const der = new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
    if (der.length === 0) throw new CastellanError('INVALID_INPUT', `PEM block ${label} is empty`);
    out.push({ label, hasHeaders, der });
  }
  return out;
}

// ───────────────────────────── distinguished names ─────────────────────────────

const NAME_ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'G',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
};

function decodeDirectoryString(buf: Uint8Array, t: Tlv): string | null {
  const bytes = contentOf(buf, t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
      return Buffer.from(bytes).toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
      return Buffer.from(bytes).toString('latin1');
    case TAG.BMP_STRING:
      return bytes.length % 2 ? null : Buffer.from(bytes).swap16().toString('utf16le');
    case TAG.UNIVERSAL_STRING: {
      let s = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        s += String.fromCodePoint(
          ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0,
        );
      }
      return s;
    }
    default:
      return null;
  }
}

/** RFC 4514 escaping of one attribute value. */
function escapeNameValue(value: string): string {
  let s = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`);
  // Control characters (everything outside space..tilde and non-ASCII) as \XX.
  s = s.replace(/[^ -~\u0080-\uffff]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (s.startsWith('#') || s.startsWith(' ')) s = `\\${s}`;
  if (s.endsWith(' ') && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

/**
 * A Name (DER) as text in encoding order, the way openssl and the admin read it:
 * `CN=ZLayer Worker CA, O=ZLayer`. Values are RFC 4514-escaped; unknown attribute types
 * print as their OID, and non-string values as `#` + hex of their encoding.
 */
export function formatName(nameDer: Uint8Array): string {
  const root = expectTag(readWhole(nameDer), TAG.SEQUENCE, 'Name');
  const rdns: string[] = [];
  for (const rdn of readChildren(nameDer, root)) {
    expectTag(rdn, TAG.SET, 'RelativeDistinguishedName');
    const parts: string[] = [];
    for (const atv of readChildren(nameDer, rdn)) {
      const [type, value] = readChildren(nameDer, expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      const typeOid = decodeOid(contentOf(nameDer, expectTag(type, TAG.OID, 'attribute type')));
      if (!value) throw new CastellanError('INVALID_INPUT', 'malformed DER: attribute without a value');
      const text = decodeDirectoryString(nameDer, value);
      const shown =
        text === null ? `#${Buffer.from(encodingOf(nameDer, value)).toString('hex')}` : escapeNameValue(text);
      parts.push(`${NAME_ATTRIBUTES[typeOid] ?? typeOid}=${shown}`);
    }
    rdns.push(parts.join('+'));
  }
  return rdns.join(', ');
}

/** A Name (DER) of single-valued RDNs, each value a UTF8String, in the order given. */
export function encodeName(attributes: readonly (readonly [typeOid: string, value: string])[]): Uint8Array {
  return sequence(...attributes.map(([type, value]) => setOf(sequence(oid(type), utf8String(value)))));
}

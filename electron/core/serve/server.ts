/**
 * `castellan serve`: the HTTP(S) server that carries revocations to verifiers. Read-only toward
 * the workspace — no admin operation is reachable over HTTP; the only writes it makes are the
 * ones publishing implies (a re-signed revocation list or CRL, each audited as an export) and
 * the per-token introspection counters (written once a second from a worker thread with its own
 * connection, counter-writer.ts, so no request waits on an fsync or another process's lock).
 *
 *   GET  /healthz                  liveness, vault/CA state (no secrets)
 *   GET  /.well-known/jwks.json    the verification keys (ETag, Cache-Control)
 *   GET  /revocations              the signed revocation list (JWS)
 *   GET  /crl, /crl.pem            the worker CA's CRL: DER (application/pkix-crl), PEM via
 *                                  `Accept: application/x-pem-file` or /crl.pem
 *   POST /ocsp, GET /ocsp/{b64}    RFC 6960 OCSP for the worker CA
 *   POST /introspect               RFC 7662 introspection, for authenticated verifier clients
 *                                  (Basic client id + secret, or over TLS a worker certificate)
 *
 * Why node:http and not fastify or hono: the server has six fixed routes, needs the raw request
 * bytes (OCSP), exact control of body limits and of the one constant failure body, and must run
 * inside the Electron main process as well as headless; node:http does all of that with no new
 * dependency, and each of those concerns is a few lines below rather than a plugin to audit.
 *
 * Serving safely: plain HTTP only on a loopback address (anything else needs TLS: a certificate
 * and key the admin provides); request bodies capped (413); per-client token-bucket rate limits
 * (429) — by verifier client id once authenticated, else by remote address; header, request and
 * idle timeouts; an access log of method, route, status, client id and duration, never a token,
 * secret, query string or OCSP request.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CastellanError, isCastellanError } from '../../../shared/errors.ts';
import type { TLSSocket } from 'node:tls';
import { crlData, hasCa, requireCaCert, withOpenedCa } from '../ca/ca-store.ts';
import { pemEncode } from '../ca/der.ts';
import { nowSecs } from '../tokens/signing-keys.ts';
import { fingerprintSha256, issueOcspResponder, type OpenedCa } from '../ca/worker-ca.ts';
import type { Workspace } from '../workspace/workspace.ts';
import { authenticateVerifierClient } from './clients.ts';
import { CounterWriter } from './counter-writer.ts';
import { INACTIVE_BODY, IntrospectionCounter, Introspector } from './introspect.ts';
import {
  INTERNAL_ERROR,
  OCSP_RESPONSE_TYPE,
  OcspResponder,
  TRY_LATER,
  UNAUTHORIZED,
  type OcspSigner,
} from './ocsp.ts';
import { Publications } from './publications.ts';
import { revokedSetMismatch } from '../ca/crl-publisher.ts';
import { revocationMismatch } from '../tokens/revocation-integrity.ts';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_RATE_PER_SEC = 200;
export const DEFAULT_RATE_BURST = 400;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const FLUSH_INTERVAL_MS = 1_000;

export type AccessLogEntry = {
  ts: string;
  method: string;
  path: string;
  status: number;
  client: string | null;
  ms: number;
};

export type ServeOptions = {
  workspace: Workspace;
  /** Default 127.0.0.1. Any non-loopback address requires `tls`. */
  host?: string;
  /** Default 8443 with TLS, 8080 without; 0 picks a free port. */
  port?: number;
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  maxBodyBytes?: number;
  /** Requests per second per client, and the burst allowed; ratePerSec 0 disables the limit. */
  ratePerSec?: number;
  rateBurst?: number;
  ocspValiditySecs?: number;
  /**
   * Sign OCSP answers with a delegated responder (a short-lived certificate with
   * id-kp-OCSPSigning the CA issues at first use, audited, key in memory only) instead of
   * the CA key itself.
   */
  ocspDelegated?: boolean;
  accessLog?: (entry: AccessLogEntry) => void;
};

export type ServeStats = { started_at: string; requests: number; by_route: Record<string, number> };

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** Token buckets per key; idle buckets are dropped so the map cannot grow without bound. */
class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(rate: number, burst: number) {
    this.#rate = rate;
    this.#burst = Math.max(1, burst);
  }

  take(key: string, nowMs: number): boolean {
    if (this.#rate <= 0) return true;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size > 10_000) this.#prune(nowMs);
      b = { tokens: this.#burst, at: nowMs };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + ((nowMs - b.at) / 1000) * this.#rate);
    b.at = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  #prune(nowMs: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((nowMs - b.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(k);
    }
  }
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const FORM_PAIR = /^[A-Za-z0-9._~*+%-]+=[A-Za-z0-9._~*+%!'()-]*$/;

/** An application/x-www-form-urlencoded body, strictly: null if any pair is malformed. */
export function parseForm(body: string): Map<string, string[]> | null {
  const out = new Map<string, string[]>();
  if (body === '') return out;
  for (const pair of body.split('&')) {
    if (!FORM_PAIR.test(pair)) return null;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
      value = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return null;
    }
    const list = out.get(name) ?? [];
    list.push(value);
    out.set(name, list);
  }
  return out;
}

/** client id and secret from `Authorization: Basic …` (RFC 6749 §2.3.1: each form-urlencoded). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  if (header === undefined) return null;
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header.trim());
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return null;
  }
}

type Reply = {
  status: number;
  type?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  client?: string | null;
  close?: boolean;
};

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  type: 'application/json',
  body: `${JSON.stringify(value)}\n`,
  headers,
});

export class CastellanServer {
  readonly #ws: Workspace;
  readonly #server: http.Server;
  readonly #host: string;
  readonly #port: number;
  readonly #tls: boolean;
  readonly #maxBody: number;
  readonly #limiter: RateLimiter;
  readonly #publications: Publications;
  readonly #counter = new IntrospectionCounter();
  readonly #introspector: Introspector;
  readonly #unsubscribeLock: () => void;
  readonly #log: ((entry: AccessLogEntry) => void) | null;
  readonly #ocspValiditySecs: number | undefined;
  readonly #ocspDelegated: boolean;
  #ocsp: { ca: OpenedCa; responder: OcspResponder; renewAt: number } | null = null;
  #ocspBuilding: Promise<OcspResponder> | null = null;
  #flushTimer: NodeJS.Timeout | null = null;
  #writer: CounterWriter | null = null;
  #url: string | null = null;
  readonly #stats: ServeStats = { started_at: new Date().toISOString(), requests: 0, by_route: {} };

  constructor(options: ServeOptions) {
    this.#ws = options.workspace;
    this.#host = options.host ?? '127.0.0.1';
    this.#tls = options.tls !== undefined;
    if (!this.#tls && !isLoopbackHost(this.#host)) {
      throw new CastellanError(
        'INVALID_INPUT',
        `serving on ${this.#host} needs TLS: plain HTTP is allowed on loopback only; give a certificate and key (--tls-cert, --tls-key)`,
      );
    }
    this.#port = options.port ?? (this.#tls ? 8443 : 8080);
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535) {
      throw new CastellanError('INVALID_INPUT', `port ${String(options.port)} is not a TCP port (0-65535)`);
    }
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#limiter = new RateLimiter(options.ratePerSec ?? DEFAULT_RATE_PER_SEC, options.rateBurst ?? DEFAULT_RATE_BURST);
    this.#publications = new Publications(this.#ws);
    this.#log = options.accessLog ?? null;
    this.#ocspValiditySecs = options.ocspValiditySecs;
    this.#ocspDelegated = options.ocspDelegated === true;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.#handle(req, res);
    };
    if (options.tls) {
      // Verifiers may also authenticate to /introspect with a worker certificate (mTLS): the
      // handshake asks for one, checks it against the worker CA, and never requires it.
      const ca = hasCa(this.#ws) ? [pemEncode(requireCaCert(this.#ws), 'CERTIFICATE')] : undefined;
      try {
        this.#server = https.createServer(
          {
            cert: Buffer.from(options.tls.cert),
            key: Buffer.from(options.tls.key),
            ...(ca ? { ca, requestCert: true, rejectUnauthorized: false } : {}),
          },
          handler,
        );
      } catch {
        throw new CastellanError('INVALID_INPUT', 'the TLS certificate and key could not be loaded (PEM expected, and they must match)');
      }
    } else {
      this.#server = http.createServer(handler);
    }
    this.#server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.#server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Last: these subscribe to the vault's lock, which a constructor that threw would leak.
    this.#introspector = new Introspector(this.#ws);
    this.#unsubscribeLock = this.#ws.vault.onLock(() => {
      this.#ocsp = null;
    });
  }

  async listen(): Promise<string> {
    // A revocation undone in the file would have this server vouch for a leaked token or
    // certificate: refuse to start, naming it (`castellan audit verify` checks everything).
    const undone = revocationMismatch(this.#ws) ?? revokedSetMismatch(this.#ws);
    if (undone !== null) {
      throw new CastellanError('INTEGRITY', `${undone}; castellan serve will not answer verifiers from this workspace`);
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new CastellanError(
            'CONFLICT',
            err.code === 'EADDRINUSE'
              ? `port ${this.#port} on ${this.#host} is already in use`
              : `cannot listen on ${this.#host}:${this.#port} (${err.code ?? 'error'})`,
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const addr = this.#server.address() as AddressInfo;
    const host = net.isIPv6(addr.address) ? `[${addr.address}]` : addr.address;
    this.#url = `${this.#tls ? 'https' : 'http'}://${host}:${addr.port}`;
    try {
      // The writer's own connection is to the SQLite file; on PostgreSQL the upserts are plain
      // autocommit statements that never wait on the file's write lock.
      this.#writer = this.#ws.shared ? null : new CounterWriter(this.#ws.dbPath);
    } catch {
      // No worker threads here: the counts are written on this thread, as before.
      this.#writer = null;
    }
    this.#flushTimer = setInterval(() => void this.#flushCounts(), FLUSH_INTERVAL_MS);
    this.#flushTimer.unref();
    return this.#url;
  }

  /** Through the writer's thread when it works, else on this one. */
  async #flushCounts(): Promise<void> {
    if (this.#ws.closed) return;
    const writer = this.#writer;
    if (writer !== null && writer.usable) {
      await this.#counter.flushTo(writer);
      // A batch handed over before the writer failed is back in the counter: written below.
      if (writer.usable) return;
    }
    await this.#counter.settled();
    if (!this.#ws.closed) this.#counter.flush(this.#ws);
  }

  get url(): string | null {
    return this.#url;
  }

  get stats(): ServeStats {
    return { ...this.#stats, by_route: { ...this.#stats.by_route } };
  }

  /** Stops accepting, lets in-flight requests finish, then writes the pending introspection counts. */
  async close(): Promise<void> {
    if (this.#flushTimer !== null) clearInterval(this.#flushTimer);
    this.#flushTimer = null;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
    this.#introspector.dispose();
    this.#unsubscribeLock();
    this.#ocsp = null;
    await this.#counter.settled();
    if (!this.#ws.closed) this.#counter.flush(this.#ws);
    await this.#writer?.close();
    this.#writer = null;
  }

  /**
   * Writes pending introspection counts now (the server does it every second); resolves once
   * they, and any batch already in flight, are committed.
   */
  async flushIntrospectionCounts(): Promise<void> {
    await this.#counter.settled();
    if (!this.#ws.closed) this.#counter.flush(this.#ws);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const route = rawPath.startsWith('/ocsp/') ? '/ocsp/{request}' : rawPath;
    let reply: Reply;
    try {
      reply = await this.#route(req, method, rawPath);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        reply = json(413, { error: 'request_too_large', max_bytes: this.#maxBody }, {});
        reply.close = true;
      } else if (isCastellanError(err) && (err.code === 'LOCKED' || err.code === 'NOT_FOUND')) {
        reply = json(503, { error: 'unavailable', reason: err.message });
      } else {
        reply = json(500, { error: 'internal_error' });
      }
    }
    const headers: Record<string, string> = {
      'X-Content-Type-Options': 'nosniff',
      ...(reply.type ? { 'Content-Type': reply.type } : {}),
      ...(reply.headers ?? {}),
    };
    if (reply.close) headers.Connection = 'close';
    const body = reply.body ?? '';
    headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(reply.status, headers);
    res.end(method === 'HEAD' ? undefined : body);
    if (reply.close) res.on('finish', () => req.socket.destroy());
    this.#stats.requests += 1;
    this.#stats.by_route[route] = (this.#stats.by_route[route] ?? 0) + 1;
    // No access log (the app, the bench): no entry is built, no clock formatted.
    this.#log?.({
      ts: new Date().toISOString(),
      method,
      path: route.length > 64 ? `${route.slice(0, 61)}...` : route,
      status: reply.status,
      client: reply.client ?? null,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  }

  #remote(req: http.IncomingMessage): string {
    return `addr:${req.socket.remoteAddress ?? '?'}`;
  }

  async #route(req: http.IncomingMessage, method: string, path: string): Promise<Reply> {
    const isGet = method === 'GET' || method === 'HEAD';
    const allow = (methods: string): Reply => json(405, { error: 'method_not_allowed' }, { Allow: methods });
    const limited = (key: string): Reply | null =>
      this.#limiter.take(key, Date.now()) ? null : json(429, { error: 'rate_limited' }, { 'Retry-After': '1' });

    if (path === '/introspect') {
      if (method !== 'POST') return allow('POST');
      return this.#introspect(req);
    }
    const tooMany = limited(this.#remote(req));
    if (tooMany) return tooMany;

    if (path === '/healthz') {
      if (!isGet) return allow('GET, HEAD');
      return json(200, { status: 'ok', vault: this.#ws.vault.unlocked ? 'unlocked' : 'locked', ca: hasCa(this.#ws) }, {
        'Cache-Control': 'no-store',
      });
    }
    if (path === '/.well-known/jwks.json') {
      if (!isGet) return allow('GET, HEAD');
      const pub = this.#publications.jwks(nowSecs());
      if (req.headers['if-none-match'] === pub.etag) return { status: 304, headers: { ETag: pub.etag } };
      return {
        status: 200,
        type: 'application/jwk-set+json',
        body: pub.body,
        headers: { ETag: pub.etag, 'Cache-Control': 'public, max-age=60' },
      };
    }
    if (path === '/revocations') {
      if (!isGet) return allow('GET, HEAD');
      const pub = this.#publications.revocations(nowSecs());
      if (req.headers['if-none-match'] === pub.etag) return { status: 304, headers: { ETag: pub.etag } };
      return {
        status: 200,
        type: 'application/jwt',
        body: pub.body,
        headers: { ETag: pub.etag, 'Cache-Control': 'no-cache' },
      };
    }
    if (path === '/crl' || path === '/crl.pem') {
      if (!isGet) return allow('GET, HEAD');
      const crl = await this.#publications.crl(new Date());
      const accept = req.headers.accept ?? '';
      const pem = path === '/crl.pem' || /application\/x-pem-file|application\/pem-certificate-chain/i.test(accept);
      const etag = `"crl-${crl.crlNumber.toString()}${pem ? '-pem' : ''}"`;
      const headers = {
        ETag: etag,
        'Cache-Control': 'no-cache',
        'Last-Modified': crl.thisUpdate.toUTCString(),
        Expires: crl.nextUpdate.toUTCString(),
      };
      if (req.headers['if-none-match'] === etag) return { status: 304, headers };
      return pem
        ? { status: 200, type: 'application/x-pem-file', body: crlData(crl, 'pem'), headers }
        : { status: 200, type: 'application/pkix-crl', body: crlData(crl, 'der'), headers };
    }
    if (path === '/ocsp' || path.startsWith('/ocsp/')) {
      let der: Uint8Array | null;
      if (path === '/ocsp') {
        if (method !== 'POST') return allow('POST');
        der = await readBody(req, this.#maxBody);
      } else {
        if (!isGet) return allow('GET');
        der = decodeOcspPath(path.slice('/ocsp/'.length));
      }
      return this.#ocspReply(der ?? new Uint8Array(0));
    }
    return json(404, { error: 'not_found' });
  }

  async #ocspReply(der: Uint8Array): Promise<Reply> {
    const ocsp = (body: Uint8Array): Reply => ({
      status: 200,
      type: OCSP_RESPONSE_TYPE,
      body,
      headers: { 'Cache-Control': 'no-store' },
    });
    if (!this.#ws.vault.unlocked) {
      if (!hasCa(this.#ws)) return ocsp(UNAUTHORIZED);
      return ocsp(TRY_LATER);
    }
    // A workspace's CA is never replaced (ca-store.ts), and the responder is dropped when the
    // vault locks: while both hold, the built responder is used without re-reading the CA row.
    const built = this.#ocsp;
    if (built !== null && Date.now() < built.renewAt) return ocsp(built.responder.respond(der).der);
    if (!hasCa(this.#ws)) return ocsp(UNAUTHORIZED);
    try {
      const responder = await withOpenedCa(this.#ws, (ca) => {
        const current = this.#ocsp;
        if (current !== null && current.ca === ca && Date.now() < current.renewAt) return current.responder;
        this.#ocspBuilding ??= this.#buildResponder(ca).finally(() => {
          this.#ocspBuilding = null;
        });
        return this.#ocspBuilding;
      });
      return ocsp(responder.respond(der).der);
    } catch {
      return ocsp(INTERNAL_ERROR);
    }
  }

  /** The responder for this CA: signing with the CA key, or with a delegated certificate. */
  async #buildResponder(ca: OpenedCa): Promise<OcspResponder> {
    let signer: OcspSigner = { key: ca.key, subjectPublicKey: ca.cert.subjectPublicKey };
    let renewAt = Number.POSITIVE_INFINITY;
    if (this.#ocspDelegated) {
      const issued = await issueOcspResponder(ca);
      this.#ws.transaction(() =>
        this.#ws.audit.append({
          action: 'serve.ocsp_responder_issue',
          target: 'ca',
          details: { serial: issued.serial, not_after: issued.notAfter.toISOString(), fingerprint_sha256: fingerprintSha256(issued.certDer) },
        }),
      );
      signer = { key: issued.key, subjectPublicKey: issued.subjectPublicKey, delegatedCertDer: issued.certDer };
      // Renewed with a quarter of its life left, so no answer is signed by a certificate about to lapse.
      renewAt = issued.notAfter.getTime() - (issued.notAfter.getTime() - Date.now()) / 4;
    }
    const responder = new OcspResponder(this.#ws.db, { cert: ca.cert }, signer, this.#ocspValiditySecs);
    this.#ocsp = { ca, responder, renewAt };
    return responder;
  }

  /**
   * `worker:<node id>` when the TLS peer presented a certificate the worker CA issued (the
   * handshake verified the chain) that the inventory holds, unrevoked and unexpired — read per
   * request, so revoking the worker certificate locks it out on the next request.
   */
  #workerClient(req: http.IncomingMessage): string | null {
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return null;
    const peer = socket.getPeerCertificate();
    if (!peer || typeof peer.serialNumber !== 'string') return null;
    const serial = peer.serialNumber.toLowerCase().replace(/^0+/, '');
    const row = this.#ws.db
      .prepare('SELECT node_id, revoked_at, not_after FROM certificates WHERE serial = ?')
      .get(serial) as { node_id: string; revoked_at: string | null; not_after: string } | undefined;
    if (row === undefined || row.revoked_at !== null || Date.parse(row.not_after) <= Date.now()) return null;
    return `worker:${row.node_id}`;
  }

  async #introspect(req: http.IncomingMessage): Promise<Reply> {
    const body = await readBody(req, this.#maxBody);
    const creds = basicCredentials(req.headers.authorization);
    const clientId =
      creds === null ? this.#workerClient(req) : authenticateVerifierClient(this.#ws, creds.id, creds.secret);
    if (clientId === null) {
      // Failed authentication is limited by address, so guessing secrets is slow.
      if (!this.#limiter.take(this.#remote(req), Date.now())) {
        return json(429, { error: 'rate_limited' }, { 'Retry-After': '1' });
      }
      return json(401, { error: 'invalid_client' }, { 'WWW-Authenticate': 'Basic realm="castellan introspection"' });
    }
    if (!this.#limiter.take(`client:${clientId}`, Date.now())) {
      return { ...json(429, { error: 'rate_limited' }, { 'Retry-After': '1' }), client: clientId };
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const form = type === 'application/x-www-form-urlencoded' ? parseForm(body.toString('latin1')) : null;
    const tokens = form?.get('token');
    const hints = form?.get('token_type_hint');
    if (form === null || tokens === undefined || tokens.length !== 1 || tokens[0] === '' || (hints !== undefined && hints.length > 1)) {
      return {
        ...json(400, { error: 'invalid_request', error_description: 'a form-encoded body with exactly one token parameter is required' }),
        client: clientId,
      };
    }
    const now = nowSecs();
    const result = this.#introspector.introspect(tokens[0]!, now);
    if (result.tokenId !== null) this.#counter.note(result.tokenId, now);
    const headers = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
    if (!result.active) return { status: 200, type: 'application/json', body: INACTIVE_BODY, headers, client: clientId };
    return { status: 200, type: 'application/json', body: JSON.stringify(result.body), headers, client: clientId };
  }
}

/** The request of `GET /ocsp/{base64}` (RFC 6960 appendix A.1: URL-encoded base64 of the DER). */
function decodeOcspPath(segment: string): Uint8Array | null {
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    return null;
  }
  if (text.length === 0 || text.length > 8192 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export async function startServer(options: ServeOptions): Promise<CastellanServer> {
  const server = new CastellanServer(options);
  await server.listen();
  return server;
}

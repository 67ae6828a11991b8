import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newRequestId, runWithRequestId, type Logger } from '../log.js';
import { metricsOf } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { compressResponse } from './compression.js';
import { isAbort, matchRoute, sendJson, type AppServices, type Route } from './router.js';

export interface HttpServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Something riding on the server's upgrade requests (graphql-ws): closed before the server. */
export interface Upgrades {
  close(): Promise<void>;
}

export interface HttpListener {
  server: http.Server;
  /** Where it listens, as http://address:port. */
  url: string;
}

/**
 * Opens the port before any route exists: the port (PORT=0 picks one) is part of the public
 * URL that pages and the API hand out, and routes are built knowing it.
 */
export async function listenHttp(host: string, port: number, timeouts: { headersMs: number; requestMs: number }): Promise<HttpListener> {
  // A client that sends its headers or body slowly would hold a socket for minutes (Node checks
  // only every 30 s by default, against a 5-minute request timeout): 408 and close past the limits.
  const requestMs = Math.max(timeouts.requestMs, timeouts.headersMs);
  const server = http.createServer({
    headersTimeout: timeouts.headersMs,
    requestTimeout: requestMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeouts.headersMs / 4))),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` };
}

/**
 * The router: answers requests on the listener with the routes the app and its modules declare,
 * with a request id on every answer (X-Request-Id, see `requestIdOf`) that every log line of the
 * request carries, one log line per request, the route's own headers, the body rules of its kind,
 * and compression by Accept-Encoding where it pays (compression.ts). With `tracing`, each request
 * is a span (continuing the caller's trace from its traceparent header) that ends with the answer.
 * `attach` mounts what rides on upgrade requests (graphql-ws) and is closed first on close.
 */
export function serveRoutes(
  listener: HttpListener,
  options: { routes: readonly Route[]; services: AppServices; log: Logger; maxBodyBytes: number; attach?: (server: http.Server) => Upgrades; tracing?: Tracing | null },
): HttpServer {
  const { routes, services, log, maxBodyBytes } = options;
  const { server } = listener;
  const tracing = options.tracing ?? null;
  const metrics = metricsOf(services.db);
  const routeLabels = new Map<Route, string>(routes.map((route) => [route, routeLabelOf(route.path)]));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    let routeLabel = 'unmatched';
    if (metrics) {
      // 'close' also comes for answers cut short (a client that left an SSE stream).
      res.once('close', () => {
        const method = KNOWN_METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
        metrics.httpRequests.inc({ method, route: routeLabel, status: String(res.statusCode) });
        metrics.httpDuration.observe({ method, route: routeLabel }, (performance.now() - started) / 1000);
      });
    }
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const labelRoute = (route: Route) => void (routeLabel = routeLabels.get(route)!);
    if (!tracing) return void runWithRequestId(requestId, () => handle(req, res, requestId, labelRoute));
    const span = tracing.startSpan(req.method ?? 'HTTP', {
      kind: 'server',
      parentHeaders: req.headers,
      attributes: { 'http.request.method': req.method, 'url.path': (req.url ?? '/').split('?')[0]!.slice(0, 500), 'intake.request_id': requestId },
    });
    res.once('close', () => {
      span.setAttributes({ 'http.response.status_code': res.statusCode });
      if (res.statusCode >= 500) span.fail(new Error(`HTTP ${res.statusCode}`));
      span.end();
    });
    runWithRequestId(requestId, () => tracing.withSpan(span, () => handle(req, res, requestId, (route) => {
      labelRoute(route);
      const pattern = typeof route.path === 'string' ? route.path : route.path.source;
      span.updateName(`${req.method} ${pattern}`);
      span.setAttributes({ 'http.route': pattern });
    })));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, onRoute: (route: Route) => void) {
    const started = performance.now();
    compressResponse(req, res);
    const path = (req.url ?? '/').split('?')[0]!;
    res.on('finish', () => {
      log.info('request', { requestId, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    try {
      const found = matchRoute(routes, req.method ?? 'GET', path);
      if (!found) return sendJson(res, 404, { error: 'Not found' });
      const { route, params } = found;
      onRoute(route);
      for (const [name, value] of Object.entries(route.headers ?? {})) res.setHeader(name, value);
      if (!found.methodAllowed) {
        res.setHeader('allow', route.methods === 'any' ? '' : route.methods.join(', '));
        return sendJson(res, 405, { error: `Method ${req.method} is not allowed here.` });
      }
      let body: Buffer | null = null;
      if (route.body === 'buffered') {
        if (!bodyWithinLimit(req, res, maxBodyBytes)) return;
        if (req.method === 'POST') {
          body = await readBody(req, maxBodyBytes);
          if (!body) return sendJson(res, 413, { errors: [{ message: `Request body exceeds the limit of ${maxBodyBytes} bytes.` }] });
        }
      }
      await route.handle(req, res, { ...services, params, requestId, body });
    } catch (err) {
      if (isAbort(err)) return log.info('request aborted by the client', { requestId, method: req.method, path });
      log.error('request failed', { requestId, err });
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal error' });
      else res.destroy();
    }
  }
  const upgrades = options.attach?.(server);
  return {
    url: listener.url,
    server,
    async close() {
      // Open SSE streams and sockets would keep close() waiting: end them first.
      await upgrades?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** What an X-Request-Id sent by a client or a proxy may be: what proxies and tracers make (UUIDs, hex, `Root=1-…`). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:;=+/@-]{8,128}$/;

/**
 * The request's id: the one a proxy in front (or the client) sent in X-Request-Id, so the
 * operator follows one id through both logs, when it is 8–128 characters of letters, digits and
 * `._:;=+/@-`; else a new UUID. Anything else (spaces, quotes, control characters, a megabyte)
 * is replaced, never cut or cleaned: a log line must not carry what a client chose to inject.
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : newRequestId();
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** A route's path as a metrics label: the path itself, or its pattern with each capture as `:param`. */
export function routeLabelOf(path: string | RegExp): string {
  if (typeof path === 'string') return path;
  return path.source
    .replace(/^\^|\$$/g, '')
    .replace(/\([^()]*\)/g, ':param')
    .replace(/\\(.)/g, '$1');
}

/** Bodies must declare their length, and stay within the limit; Node then enforces it while reading. */
function bodyWithinLimit(req: http.IncomingMessage, res: http.ServerResponse, max: number): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return true;
  const length = Number(req.headers['content-length']);
  if (req.headers['content-length'] === undefined || !Number.isFinite(length)) {
    if (req.headers['transfer-encoding'] === undefined) return true;
    sendJson(res, 411, { errors: [{ message: 'Send a Content-Length header with the request body.' }] });
    return false;
  }
  if (length > max) {
    sendJson(res, 413, { errors: [{ message: `Request body of ${length} bytes exceeds the limit of ${max} bytes.` }] });
    req.resume();
    return false;
  }
  return true;
}

/** The whole request body, or null past `max` bytes. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData).resume();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

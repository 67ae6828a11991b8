import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { metricsOf } from '../observability/metrics.js';
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
 * with a request id on every answer (X-Request-Id, taken from the request when it has one), one
 * log line per request, the route's own headers, the body rules of its kind, and compression by
 * Accept-Encoding where it pays (compression.ts).
 * `attach` mounts what rides on upgrade requests (graphql-ws) and is closed first on close.
 */
export function serveRoutes(
  listener: HttpListener,
  options: { routes: readonly Route[]; services: AppServices; log: Logger; maxBodyBytes: number; attach?: (server: http.Server) => Upgrades },
): HttpServer {
  const { routes, services, log, maxBodyBytes } = options;
  const { server } = listener;
  const metrics = metricsOf(services.db);
  const routeLabels = new Map<Route, string>(routes.map((route) => [route, routeLabelOf(route.path)]));
  server.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
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
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 100) : randomUUID();
    res.setHeader('x-request-id', requestId);
    compressResponse(req, res);
    const path = (req.url ?? '/').split('?')[0]!;
    res.on('finish', () => {
      log.info('request', { requestId, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    try {
      const found = matchRoute(routes, req.method ?? 'GET', path);
      if (!found) return sendJson(res, 404, { error: 'Not found' });
      const { route, params } = found;
      routeLabel = routeLabels.get(route)!;
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
  });
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

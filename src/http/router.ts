import type http from 'node:http';
import type { Authenticator } from '../auth/service.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Logger } from '../log.js';
import type { MessageOrigin } from '../tickets/tables.js';
import { clientAddressOf } from './client-address.js';

/** What a route handler may use: the app's database handle (with its hooks) and services. */
export interface AppServices {
  db: Db;
  config: Config;
  events: EventHub;
  auth: Authenticator;
  log: Logger;
  /** Base of the links this app hands out: PUBLIC_URL, or the address it listens on. */
  publicUrl: string;
}

export interface RouteContext extends AppServices {
  /** The path pattern's capture groups. */
  params: string[];
  requestId: string;
  /** The request body of a `buffered` route's POST (bounded by MAX_BODY_BYTES), else null. */
  body: Buffer | null;
}

/**
 * An HTTP route a capability declares in its module. The router sets `headers` on every answer
 * of the route (its CSP, framing, CORS and caching rules), so a handler cannot forget them.
 */
export interface Route {
  /** Methods it answers (`any`: every method, the route decides); others get 405. */
  methods: readonly string[] | 'any';
  /** The path (no query string): a string, or a pattern anchored with ^…$ whose capture groups become `params`. */
  path: string | RegExp;
  headers?: Readonly<Record<string, string>>;
  /**
   * How its body is read: `none` (not read), `buffered` (Content-Length required, at most
   * MAX_BODY_BYTES, read by the router before the handler runs) or `streamed` (the handler
   * reads it with limits of its own, as the form pages do).
   */
  body?: 'none' | 'buffered' | 'streamed';
  handle(req: http.IncomingMessage, res: http.ServerResponse, context: RouteContext): Promise<void> | void;
}

/** The route for a path, with its captures; `methodAllowed` false when only the method differs. */
export function matchRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: string[]; methodAllowed: boolean } | null {
  let pathOnly: { route: Route; params: string[] } | null = null;
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.methods === 'any' || route.methods.includes(method)) return { route, params, methodAllowed: true };
    pathOnly ??= { route, params };
  }
  return pathOnly && { ...pathOnly, methodAllowed: false };
}

function matchPath(pattern: string | RegExp, path: string): string[] | null {
  if (typeof pattern === 'string') return pattern === path ? [] : null;
  const match = pattern.exec(path);
  return match && match[0] === path ? match.slice(1).map((group) => group ?? '') : null;
}

/** Who sent a request, as public submissions record it (headers cut to a sane length). */
export function clientOf(req: http.IncomingMessage, config: Pick<Config, 'trustedProxies'>): MessageOrigin {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value.slice(0, 500) : null;
  };
  return { clientAddress: clientAddressOf(req, config.trustedProxies), userAgent: header('user-agent'), referer: header('referer'), language: header('accept-language') };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

export function sendHtml(res: http.ServerResponse, status: number, html: string) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(html);
}

/** The error of a request its client aborted: the connection reset mid-body, or the request's signal. */
export function isAbort(err: unknown): boolean {
  const error = err as { code?: unknown; name?: unknown } | undefined;
  return error?.code === 'ECONNRESET' || error?.name === 'AbortError';
}

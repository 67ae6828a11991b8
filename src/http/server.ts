import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { getOperationAST, getVariableValues, type ExecutionArgs } from 'graphql';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import { isStaff } from '../auth/principal.js';
import type { Authenticator } from '../auth/service.js';
import type { Config } from '../config.js';
import { checkDatabase, type Database } from '../db/client.js';
import type { EventHub } from '../events/hub.js';
import type { Context } from '../graphql/context.js';
import { useSchemaHiding } from '../graphql/introspection.js';
import { useQueryLimits } from '../graphql/limits.js';
import { schema } from '../graphql/schema.js';
import { UserInputError } from '../errors.js';
import { findAttachment } from '../tickets/message-rows.js';
import { renderFormPage, renderIndexPage, renderRefusedPage, renderSuccessPage } from '../webform/page.js';
import { languageOf } from '../text/public-pages.js';
import { countFormSubmission, MAX_FILE_BYTES, publicFormBySlug, publishedForms, submitWebsiteForm } from '../webform/service.js';
import type { Logger } from '../log.js';
import { clientAddressOf } from './client-address.js';
import { readFormBody, type FormBodyLimits } from './form-body.js';
import { attachGraphqlWebSocket } from './websocket.js';
import { GRAPHIQL_OPTIONS, renderIntakeGraphiQL } from './graphiql.js';

export interface HttpServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

interface Deps {
  config: Config;
  database: Database;
  events: EventHub;
  auth: Authenticator;
  log: Logger;
}

const GRAPHQL_PATH = '/graphql';

/** A query whose variables graphql-js accepts: safe to run through graphql-jit. */
function isCompilableQuery(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'query') return false;
  return !getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}).errors;
}

export async function startHttpServer({ config, database, events, auth, log }: Deps): Promise<HttpServer> {
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // The HTTP server bounds bodies itself (Content-Length required, at most maxBodyBytes, read
    // before Yoga sees the request); Yoga's own limit would wrap every body in another stream.
    maxRequestBodySize: false,
    // Internal errors reach clients as "Unexpected error." with no stack or SQL.
    maskedErrors: { isDev: false },
    logging: {
      debug: (...args) => log.debug(String(args[0]), { details: args.slice(1) }),
      info: (...args) => log.info(String(args[0]), { details: args.slice(1) }),
      warn: (...args) => log.warn(String(args[0]), { details: args.slice(1) }),
      error: (...args) => {
        const err = args.find((a) => a instanceof Error);
        // A client that goes away mid-request is routine, not a fault of ours.
        (isAbort(err) ? log.info : log.error)(String(args[0]).slice(0, 1000), { err, details: args.filter((a) => !(a instanceof Error)) });
      },
    },
    cors: (request) => corsFor(request, config.corsOrigins),
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL: renderIntakeGraphiQL,
    plugins: [
      // A simple (non-preflighted) request must carry a header a browser form cannot send.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      useQueryLimits(),
      useSchemaHiding({
        hideFromAnonymous: !config.anonymousIntrospection,
        isStaff: async (request) => isStaff(await auth.fromAuthorization(request.headers.get('authorization'))),
      }),
      // Queries run compiled (once per document) into plain functions: a list of tickets costs a
      // fraction of graphql-js's per-field interpretation. Mutations and subscriptions, and any
      // operation with invalid variables, stay on graphql-js, whose errors name the input path.
      useGraphQlJit({}, { enableIf: isCompilableQuery }),
    ],
    context: async (
      initial: YogaInitialContext & { connectionParams?: Record<string, unknown>; upgradeHeaders?: http.IncomingHttpHeaders; req?: http.IncomingMessage },
    ) => {
      const fromSocket = initial.connectionParams?.Authorization ?? initial.connectionParams?.authorization ?? initial.upgradeHeaders?.authorization;
      const header = typeof fromSocket === 'string' ? fromSocket : initial.request?.headers.get('authorization');
      const client = initial.req ? clientOf(initial.req, config) : { clientAddress: null, userAgent: null, referer: null, language: null };
      return { db: database.db, config, events, principal: await auth.fromAuthorization(header), auth, client };
    },
  });

  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 100) : randomUUID();
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    res.on('finish', () => {
      log.info('request', { requestId, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) });
    });
    try {
      if (path === GRAPHQL_PATH) {
        if (!bodyWithinLimit(req, res, config.maxBodyBytes)) return;
        if (req.method === 'POST') {
          // Read here, bounded by the Content-Length checked above: Yoga then parses a buffer
          // instead of piping every request body through a stream of its own.
          const body = await readBody(req, config.maxBodyBytes);
          if (!body) return sendJson(res, 413, { errors: [{ message: `Request body exceeds the limit of ${config.maxBodyBytes} bytes.` }] });
          if (body.length > 0) Object.assign(req, { body });
        }
        await yoga.requestListener(req, res);
        return;
      }
      if (path === '/healthz') return await health(res);
      if (path === '/') {
        res.writeHead(302, { location: GRAPHQL_PATH }).end();
        return;
      }
      if (path === '/support' || path === '/support/') return await supportIndex(req, res);
      const support = /^\/support\/([a-z0-9._-]{1,80})$/.exec(path ?? '');
      if (support) return await supportPage(req, res, support[1]!);
      const attachment = /^\/attachments\/(\d{1,10})$/.exec(path ?? '');
      if (attachment && req.method === 'GET') return await downloadAttachment(req, res, Number(attachment[1]));
      sendJson(res, 404, { error: 'Not found' });
    } catch (err) {
      if (isAbort(err)) return log.info('request aborted by the client', { requestId, method: req.method, path });
      log.error('request failed', { requestId, err });
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal error' });
      else res.destroy();
    }
  });

  async function supportIndex(req: http.IncomingMessage, res: http.ServerResponse) {
    const forms = await publishedForms(database.db);
    sendHtml(res, 200, renderIndexPage(forms.map(({ team, form }) => ({ name: team.name, slug: form.slug, title: form.title })), languageOf(req.headers['accept-language'])));
  }

  /** The public form page: GET shows it, POST submits it and shows errors beside their fields. */
  async function supportPage(req: http.IncomingMessage, res: http.ServerResponse, slug: string) {
    const lang = languageOf(req.headers['accept-language']);
    const found = await publicFormBySlug(database.db, slug);
    if (!found) return sendHtml(res, 404, '<!doctype html><title>Not found</title><h1>Not found</h1>');
    const action = `/support/${found.form.slug}`;
    if (req.method === 'GET' || req.method === 'HEAD') return sendHtml(res, 200, renderFormPage(found.form, { lang, action }));
    if (req.method !== 'POST') return sendHtml(res, 405, '<!doctype html><title>Method not allowed</title>');
    const origin = clientOf(req, config);
    // Counted before a byte of the body is parsed: a client past its limit costs one counter bump.
    if (!(await countFormSubmission(database.db, config, origin.clientAddress))) return sendHtml(res, 429, renderRefusedPage(found.form, { lang, action, code: 'RATE_LIMITED' }));
    const body = await readFormBody(req, FORM_BODY_LIMITS);
    if (!body.ok) return sendHtml(res, body.status, renderRefusedPage(found.form, { lang, action, code: body.status === 413 ? 'TOO_LARGE' : 'UNREADABLE' }));
    const { values, files } = body;
    try {
      const { ticketNumber } = await submitWebsiteForm(database.db, config, { teamId: found.team.id, values, files, origin, rateLimitCounted: true });
      sendHtml(res, 200, renderSuccessPage(found.form, ticketNumber, lang));
    } catch (error) {
      if (!(error instanceof UserInputError)) throw error;
      const problems = error.errors.map((e) => ({ field: e.field ?? [], code: e.code, message: e.message }));
      sendHtml(res, problems.some((p) => p.code === 'RATE_LIMITED') ? 429 : 422, renderFormPage(found.form, { lang, action, values, problems }));
    }
  }

  /** Attachments are for agents: the same bearer tokens as the API. */
  async function downloadAttachment(req: http.IncomingMessage, res: http.ServerResponse, id: number) {
    const principal = await auth.fromAuthorization(req.headers.authorization);
    if (principal.kind === 'anonymous') return sendJson(res, 401, { error: 'Authentication required: send "Authorization: Bearer <token>".' });
    if (!isStaff(principal)) return sendJson(res, 403, { error: 'Forbidden: attachments need an agent or admin token.' });
    // Ids are int4: a larger number names no attachment (and would be refused by the database).
    const file = id >= 1 && id <= 2_147_483_647 ? await findAttachment(database.db, id) : undefined;
    if (!file) return sendJson(res, 404, { error: 'No attachment has this id.' });
    res.writeHead(200, {
      // Served as a download, never rendered in our origin: an HTML or SVG attachment cannot run script here.
      'content-type': file.contentType.replace(/[^\w.+/-]/g, '') || 'application/octet-stream',
      'content-length': file.data.length,
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.filename)}`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
    res.end(file.data);
  }

  async function health(res: http.ServerResponse) {
    try {
      await checkDatabase(database);
      sendJson(res, 200, { status: 'ok', database: 'ok' });
    } catch (err) {
      log.error('health check failed', { err });
      sendJson(res, 503, { status: 'unavailable', database: 'unreachable' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });

  const webSocket = attachGraphqlWebSocket({ server, path: GRAPHQL_PATH, yoga, config, auth, log });

  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url,
    server,
    async close() {
      // Open SSE streams and sockets would keep close() waiting: end them first.
      await webSocket.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * Browsers may send credentials only from the configured origins (CORS_ORIGINS). Other origins
 * may still call the API without credentials: a bearer token is sent explicitly, never ambiently.
 */
function corsFor(request: Request, allowed: readonly string[]) {
  const origin = request.headers.get('origin');
  return origin !== null && allowed.includes(origin) ? { origin: [origin], credentials: true } : { origin: ['*'], credentials: false };
}

/** The error of a request its client aborted: the connection reset mid-body, or the request's signal. */
function isAbort(err: unknown): boolean {
  const error = err as { code?: unknown; name?: unknown } | undefined;
  return error?.code === 'ECONNRESET' || error?.name === 'AbortError';
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

/** Who sent a request, as public submissions record it (headers cut to a sane length). */
function clientOf(req: http.IncomingMessage, config: Config) {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value.slice(0, 500) : null;
  };
  return { clientAddress: clientAddressOf(req, config.trustedProxies), userAgent: header('user-agent'), referer: header('referer'), language: header('accept-language') };
}

/** A form has at most 50 fields and its longest text is 20 000 characters; files are 10 MB at most. */
const FORM_BODY_LIMITS: FormBodyLimits = {
  maxBytes: 12 * 1024 * 1024,
  maxTextBytes: 1024 * 1024,
  maxParts: 120,
  maxFiles: 50,
  maxFieldBytes: 100 * 1024,
  maxFileBytes: MAX_FILE_BYTES,
};

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

function sendHtml(res: http.ServerResponse, status: number, html: string) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; img-src 'self'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

import type http from 'node:http';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { getOperationAST, getVariableValues, GraphQLError, type ExecutionArgs } from 'graphql';
import { createYoga, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { isStaff, type Principal } from '../auth/principal.js';
import { TokenRefusedError, type Authenticator } from '../auth/service.js';
import { checkDatabase, type Database } from '../db/client.js';
import type { Context } from '../graphql/context.js';
import { useSchemaHiding } from '../graphql/introspection.js';
import { useTracing } from '../graphql/tracing.js';
import type { Tracing } from '../observability/tracing.js';
import { useQueryLimits, useResponseSizeLimit } from '../graphql/limits.js';
import { schema } from '../graphql/schema.js';
import { GRAPHIQL_OPTIONS, renderIntakeGraphiQL } from './graphiql.js';
import { clientOf, isAbort, sendJson, type AppServices, type Route } from './router.js';
import type { Upgrades } from './server.js';
import { useStreamGuards } from './streams.js';
import { attachGraphqlWebSocket } from './websocket.js';
import { visitorCountry as countryOfVisitor } from '../livechat/country.js';
import { chatChannelsOf, originAllowedFor } from '../livechat/http-origins.js';
import { ANONYMOUS } from '../auth/principal.js';
import { useOperationMetrics } from '../observability/graphql-metrics.js';
import { metricsOf } from '../observability/metrics.js';
import type { Readiness } from '../observability/readiness.js';

const GRAPHQL_PATH = '/graphql';

/** A query whose variables graphql-js accepts: safe to run through graphql-jit. */
function isCompilableQuery(args: ExecutionArgs): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'query') return false;
  return !getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {}).errors;
}

/**
 * The API's own routes: /graphql (Yoga: queries and mutations over HTTP, subscriptions over SSE,
 * GraphiQL for browsers), / (to GraphiQL), /healthz and /readyz, and graphql-ws on /graphql's upgrades.
 */
export function apiEndpoint(services: AppServices, database: Database, readiness: Readiness, tracing: Tracing | null = null): { routes: Route[]; attach(server: http.Server): Upgrades } {
  const { config, auth, log } = services;
  const metrics = metricsOf(services.db);
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // The router bounds bodies itself (Content-Length required, at most maxBodyBytes, read
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
    cors: (request, serverContext: unknown) => {
      const req = (serverContext as { req?: http.IncomingMessage } | undefined)?.req;
      const chat = req ? chatCors.get(req) : undefined;
      const origin = request.headers.get('origin');
      // A chat operation's answer is readable only by its channel's allowed origins.
      if (chat != null && origin !== null) return chat.allowed ? { origin: [origin], credentials: false } : false;
      return corsFor(request, config.corsOrigins);
    },
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL: renderIntakeGraphiQL,
    plugins: [
      // First, so it sees every operation and every refusal of the plugins after it.
      ...(metrics ? [useOperationMetrics(metrics)] : []),
      // A simple (non-preflighted) request must carry a header a browser form cannot send.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      useVaryOnOrigin(),
      useQueryLimits(),
      useResponseSizeLimit(config.maxResponseBytes),
      useStreamGuards({ auth, config }),
      useSchemaHiding({
        hideFromAnonymous: !config.anonymousIntrospection,
        isStaff: async (request) => isStaff(await auth.fromAuthorization(request.headers.get('authorization'))),
      }),
      // Queries run compiled (once per document) into plain functions: a list of tickets costs a
      // fraction of graphql-js's per-field interpretation. Mutations and subscriptions, and any
      // operation with invalid variables, stay on graphql-js, whose errors name the input path.
      useGraphQlJit({}, { enableIf: isCompilableQuery }),
      // Spans of operations and their phases, only when tracing is on: nothing in the way otherwise.
      ...(tracing ? [useTracing(tracing)] : []),
    ],
    context: async (
      initial: YogaInitialContext & { connectionParams?: Record<string, unknown>; upgradeHeaders?: http.IncomingHttpHeaders; req?: http.IncomingMessage },
    ): Promise<Context> => {
      const fromSocket = initial.connectionParams?.Authorization ?? initial.connectionParams?.authorization ?? initial.upgradeHeaders?.authorization;
      const header = typeof fromSocket === 'string' ? fromSocket : initial.request?.headers.get('authorization');
      const client = initial.req ? clientOf(initial.req, config) : { clientAddress: null, userAgent: null, referer: null, language: null };
      const countryHeader = config.trustedCountryHeader === null ? undefined : (initial.upgradeHeaders ?? initial.req?.headers)?.[config.trustedCountryHeader];
      let country: string | null | undefined;
      const visitorCountry = () => (country ??= countryOfVisitor(typeof countryHeader === 'string' ? countryHeader : null, client.clientAddress, config.trustedCountryHeader !== null));
      return { db: services.db, config, events: services.events, publicUrl: services.publicUrl, principal: await principalOrUnauthenticated(auth, header), auth, client, visitorCountry };
    },
  });

  /**
   * Requests that run a chat operation (a widget on a customer's site), with whether their Origin
   * may read the answer: decided before Yoga runs, read by its CORS hook.
   */
  const chatCors = new WeakMap<http.IncomingMessage, { allowed: boolean }>();
  const chatOperationOrigin = async (req: http.IncomingMessage, body: Buffer | null, origin: string): Promise<{ allowed: boolean } | null> => {
    const params = graphqlParamsOf(req, body);
    const authorization = req.headers.authorization;
    const principal = authorization ? await auth.fromAuthorization(authorization) : ANONYMOUS;
    const channels = await chatChannelsOf(services.db, { ...params, principal });
    return channels === null ? null : { allowed: originAllowedFor(channels, origin) };
  };

  const routes: Route[] = [
    {
      methods: 'any',
      path: GRAPHQL_PATH,
      body: 'buffered',
      async handle(req, res, { body }) {
        // Read by the router, bounded by the Content-Length it checked: Yoga then parses a
        // buffer instead of piping every request body through a stream of its own.
        if (body && body.length > 0) Object.assign(req, { body });
        const origin = req.headers.origin;
        if (typeof origin === 'string' && req.method !== 'OPTIONS') {
          const chat = await chatOperationOrigin(req, body, origin);
          if (chat) {
            chatCors.set(req, chat);
            res.setHeader('vary', 'Origin');
          }
        }
        await yoga.requestListener(req, res);
      },
    },
    {
      methods: 'any',
      path: '/',
      handle: (_req, res) => void res.writeHead(302, { location: GRAPHQL_PATH }).end(),
    },
    {
      methods: 'any',
      path: '/healthz',
      headers: { 'cache-control': 'no-store' },
      async handle(_req, res) {
        try {
          await checkDatabase(database);
          sendJson(res, 200, { status: 'ok', database: 'ok' });
        } catch (err) {
          log.error('health check failed', { err });
          sendJson(res, 503, { status: 'unavailable', database: 'unreachable' });
        }
      },
    },
    {
      // Whether this instance should get traffic (a load balancer's or Kubernetes' readiness
      // probe); /healthz says only whether the process and its database live.
      methods: ['GET', 'HEAD'],
      path: '/readyz',
      headers: { 'cache-control': 'no-store' },
      async handle(_req, res) {
        const report = await readiness.report();
        if (!report.ready) log.info('not ready', { failing: report.failing, checks: report.checks });
        sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'unready', failing: report.failing, checks: report.checks });
      },
    },
  ];
  return { routes, attach: (server) => attachGraphqlWebSocket({ server, path: GRAPHQL_PATH, yoga, config, auth, log, db: services.db, tracing }) };
}

/** query, variables and operationName of a GraphQL request over GET or a JSON POST; empty when neither. */
function graphqlParamsOf(req: http.IncomingMessage, body: Buffer | null): { query?: string; variables?: Record<string, unknown> | null; operationName?: string | null } {
  try {
    if (req.method === 'GET') {
      const search = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const variables = search.get('variables');
      return { query: search.get('query') ?? undefined, variables: variables ? JSON.parse(variables) : null, operationName: search.get('operationName') };
    }
    if (body && /json/i.test(req.headers['content-type'] ?? '')) {
      const parsed = JSON.parse(body.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && typeof parsed.query === 'string') {
        return { query: parsed.query, variables: parsed.variables && typeof parsed.variables === 'object' ? parsed.variables : null, operationName: typeof parsed.operationName === 'string' ? parsed.operationName : null };
      }
    }
  } catch {
    // Yoga answers a malformed request itself.
  }
  return {};
}

/**
 * Every answer depends on the request's Origin (its CORS headers differ by origin, or are absent
 * without one): `Vary: Origin` on all of them, so no cache hands one origin's answer to another.
 */
function useVaryOnOrigin(): Plugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary');
      if (vary === '*' || vary?.split(',').some((name) => name.trim().toLowerCase() === 'origin')) return;
      response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}

/**
 * A refused token fails the whole request with UNAUTHENTICATED and HTTP 401 (also for SSE): a
 * client with a wrong token must learn it, not be served as anonymous.
 */
async function principalOrUnauthenticated(auth: Authenticator, header: string | null | undefined): Promise<Principal> {
  try {
    return await auth.principalOf(header);
  } catch (error) {
    if (!(error instanceof TokenRefusedError)) throw error;
    throw new GraphQLError(error.message, {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } } },
    });
  }
}

/**
 * Browsers may send credentials only from the configured origins (CORS_ORIGINS). Other origins
 * may still call the API without credentials: a bearer token is sent explicitly, never ambiently.
 */
function corsFor(request: Request, allowed: readonly string[]) {
  const origin = request.headers.get('origin');
  return origin !== null && allowed.includes(origin) ? { origin: [origin], credentials: true } : { origin: ['*'], credentials: false };
}

import type http from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal } from '../auth/principal.js';
import { TokenRefusedError, type Authenticator } from '../auth/service.js';
import type { Config } from '../config.js';
import type { Context } from '../graphql/context.js';
import { newRequestId, runWithRequestId, type Logger } from '../log.js';
import { OPERATION_SPAN } from '../graphql/tracing.js';
import type { SpanHandle, Tracing } from '../observability/tracing.js';
import { clientAddressOf } from './client-address.js';
import type { Db } from '../db/client.js';
import { ANONYMOUS } from '../auth/principal.js';
import { chatChannelsOf, originAllowedFor } from '../livechat/http-origins.js';
import { metricsOf } from '../observability/metrics.js';

/**
 * A Subscription field whose `extensions` carry `{ [PUBLIC_SUBSCRIPTION]: true }` may be used by
 * a socket without a token (a chat visitor waiting for replies, say): while such a subscription
 * is open, the anonymous grace period does not close the socket.
 */
export const PUBLIC_SUBSCRIPTION = 'publicSubscription';

/** Close code for a socket that stayed without a token past its grace: graphql-ws clients do not retry it. */
const ANONYMOUS_CLOSE_CODE = CloseCode.Unauthorized;
/** Close code for a socket whose token was revoked: the same, so clients do not retry with it. */
const REVOKED_CLOSE_CODE = CloseCode.Unauthorized;

interface SocketState {
  clientAddress: string;
  authenticated: boolean;
  /** Ids of open public subscriptions: while there is one, an anonymous socket may stay (made for the first). */
  publicOperations: Set<string> | null;
  graceTimer: NodeJS.Timeout | null;
  answeredPing: boolean;
  /** Stops watching the socket's token for revocation. */
  unwatch: () => void;
}

interface Options {
  server: http.Server;
  path: string;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  config: Config;
  auth: Authenticator;
  log: Logger;
  db: Db;
  tracing?: Tracing | null;
}

/** What onSubscribe hands to execute/subscribe for one operation (graphql-ws passes it as rootValue). */
interface OperationRoot {
  execute(args: unknown): unknown;
  subscribe(args: unknown): unknown;
  requestId: string;
  span: SpanHandle | null;
  /** The operation's name in its document, for its log line (cut: clients choose it). */
  operationName: string | null;
}

function authorizationOf(connectionParams: Readonly<Record<string, unknown>> | undefined, headers: http.IncomingHttpHeaders): string | undefined {
  const fromParams = connectionParams?.Authorization ?? connectionParams?.authorization;
  return typeof fromParams === 'string' ? fromParams : headers.authorization;
}

/** Whether every root field of a subscription operation is marked public. */
function isPublicSubscription(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  const fields = schema.getSubscriptionType()?.getFields();
  if (operation?.operation !== 'subscription' || !fields) return false;
  return operation.selectionSet.selections.every((s) => s.kind === 'Field' && fields[s.name.value]?.extensions?.[PUBLIC_SUBSCRIPTION] === true);
}

/** Message types only a server sends: graphql-ws would throw on them and close with 4500, an internal error. */
const SERVER_ONLY_TYPES = new Set(['next', 'error', 'connection_ack']);
const MAYBE_SERVER_ONLY = /"(?:next|error|connection_ack)"/;

/**
 * Closes a socket whose client sends a message only servers send with 4400 (a bad request, which
 * graphql-ws clients do not retry) before graphql-ws sees it. The socket's `emit` is wrapped
 * because graphql-ws listens to 'message' itself; only messages that may be such a type are parsed.
 */
function refuseServerOnlyMessages(socket: WebSocket): void {
  const emit = socket.emit.bind(socket);
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'message') {
      const text = String(args[0]);
      if (MAYBE_SERVER_ONLY.test(text)) {
        let type: unknown;
        try {
          type = (JSON.parse(text) as { type?: unknown } | null)?.type;
        } catch {
          type = null; // graphql-ws answers unparsable messages with 4400 itself
        }
        if (typeof type === 'string' && SERVER_ONLY_TYPES.has(type)) {
          socket.close(CloseCode.BadRequest, `Invalid message received: clients do not send "${type}"`);
          return true;
        }
      }
    }
    return emit(event, ...args);
  }) as typeof socket.emit;
}

/**
 * graphql-ws on the HTTP server's port, with the caps a public socket needs: operations per
 * socket, sockets per client address, a grace period for sockets without a token, and a ping
 * that drops sockets whose peer went away without closing.
 */
export function attachGraphqlWebSocket({ server, path, yoga, config, auth, log, db, tracing = null }: Options) {
  const metrics = metricsOf(db);
  const states = new WeakMap<WebSocket, SocketState>();
  const socketsPerAddress = new Map<string, number>();

  const wsServer = new WebSocketServer({
    server,
    path,
    maxPayload: config.maxWsPayloadBytes,
    // Large frames (a page of tickets, a schema) are deflated; small ones (acks, pings, most
    // events) go as they are, where compressing costs more than it saves. No context is kept
    // between messages and the window is small, so an idle socket holds little zlib memory.
    // maxPayload still bounds a message after inflating.
    perMessageDeflate: {
      threshold: 1024,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 13,
      zlibDeflateOptions: { memLevel: 7 },
      concurrencyLimit: 10,
    },
    // Refused before the upgrade, so a flood of sockets from one address costs no socket state.
    verifyClient: ({ req }, accept) => {
      const address = clientAddressOf(req, config.trustedProxies) ?? 'unknown';
      if ((socketsPerAddress.get(address) ?? 0) < config.wsMaxSocketsPerClient) return accept(true);
      log.info('websocket refused: too many sockets from one address', { clientAddress: address });
      accept(false, 429, 'Too many open sockets from your address');
    },
  });

  const closeAnonymous = (socket: WebSocket) => socket.close(ANONYMOUS_CLOSE_CODE, 'Authentication required: send a token in the connection parameters');
  const startGrace = (socket: WebSocket, state: SocketState) => {
    if (state.graceTimer) clearTimeout(state.graceTimer);
    state.graceTimer = setTimeout(() => closeAnonymous(socket), config.wsAnonymousGraceMs);
    state.graceTimer.unref();
  };
  const stopGrace = (state: SocketState) => {
    if (state.graceTimer) clearTimeout(state.graceTimer);
    state.graceTimer = null;
  };

  // Registered before graphql-ws's own listener, so every socket has its state when the protocol starts.
  wsServer.on('connection', (socket, req) => {
    refuseServerOnlyMessages(socket);
    const clientAddress = clientAddressOf(req, config.trustedProxies) ?? 'unknown';
    socketsPerAddress.set(clientAddress, (socketsPerAddress.get(clientAddress) ?? 0) + 1);
    const state: SocketState = { clientAddress, authenticated: false, publicOperations: null, graceTimer: null, answeredPing: true, unwatch: () => {} };
    states.set(socket, state);
    metrics?.websocketsOpen.inc();
    startGrace(socket, state);
    socket.on('pong', () => {
      state.answeredPing = true;
    });
    socket.once('close', () => {
      metrics?.websocketsOpen.dec();
      stopGrace(state);
      state.unwatch();
      const left = (socketsPerAddress.get(clientAddress) ?? 1) - 1;
      if (left > 0) socketsPerAddress.set(clientAddress, left);
      else socketsPerAddress.delete(clientAddress);
    });
  });

  const keepalive = setInterval(() => {
    for (const socket of wsServer.clients) {
      const state = states.get(socket);
      if (!state) continue;
      if (!state.answeredPing) {
        log.info('websocket dropped: no answer to ping', { clientAddress: state.clientAddress });
        socket.terminate();
        continue;
      }
      state.answeredPing = false;
      socket.ping();
    }
  }, config.wsPingIntervalMs);
  keepalive.unref();

  /**
   * Runs an operation as part of its request (its id in every log line, its span active), with a
   * log line when it is answered or its stream set up, as HTTP requests have.
   */
  const runOperation = (args: any, phase: 'execute' | 'subscribe'): Promise<any> => {
    const root = args.rootValue as OperationRoot;
    return runWithRequestId(root.requestId, async () => {
      const started = performance.now();
      const run = () => root[phase](args);
      try {
        return await (root.span ? tracing!.withSpan(root.span, run) : run());
      } catch (err) {
        root.span?.fail(err);
        throw err;
      } finally {
        root.span?.end();
        log.info(phase === 'execute' ? 'websocket operation' : 'websocket subscription started', { operationName: root.operationName, ms: Math.round(performance.now() - started) });
      }
    });
  };

  // graphql-ws runs every operation through Yoga's envelop, so auth, limits and masking apply on sockets too.
  const disposable = useServer(
    {
      execute: (args: any) => runOperation(args, 'execute'),
      subscribe: (args: any) => runOperation(args, 'subscribe'),
      onConnect: async (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (!state) return true;
        let principal: Principal;
        try {
          principal = await auth.principalOf(authorizationOf(ctx.connectionParams, ctx.extra.request.headers));
        } catch (error) {
          if (!(error instanceof TokenRefusedError)) throw error;
          // 4401, not graphql-ws's 4403 for `false` (which closes again, without effect): its clients do not retry 4401.
          ctx.extra.socket.close(ANONYMOUS_CLOSE_CODE, `Unauthorized: ${error.reason}`);
          return false;
        }
        // A chat visitor's socket from a browser page: its session's channel must allow the page's origin (else 4403).
        const origin = foreignOrigin(ctx.extra.request.headers);
        if (origin && principal.kind === 'visitor') {
          const channels = await chatChannelsOf(db, { query: null, principal });
          if (channels && !originAllowedFor(channels, origin)) {
            log.info('websocket refused: origin not allowed by the chat channel', { origin: origin.slice(0, 200) });
            return false;
          }
        }
        state.authenticated = principal.kind !== 'anonymous';
        if (state.authenticated) stopGrace(state);
        // Rights end when they are taken away: a revoked token's socket closes, whatever it holds open.
        state.unwatch = auth.watchRevocation(principal, () => ctx.extra.socket.close(REVOKED_CLOSE_CODE, 'Token revoked: connect again with a valid token'));
        return true;
      },
      // Each operation is a request of its own: an id (in its log lines), and a span when tracing.
      onSubscribe: (ctx, id, params) => {
        const requestId = newRequestId();
        const span = tracing?.startSpan('graphql operation', { kind: 'server', attributes: { 'intake.request_id': requestId, 'graphql.transport': 'graphql-ws' } }) ?? null;
        const prepare = async () => {
          try {
            const prepared = await prepareOperation(ctx, id, params, requestId, span);
            if (Array.isArray(prepared)) span?.end();
            return prepared;
          } catch (err) {
            span?.fail(err);
            span?.end();
            throw err;
          }
        };
        return runWithRequestId(requestId, () => (span ? tracing!.withSpan(span, prepare) : prepare()));
      },
      onComplete: (ctx, id) => {
        const state = states.get(ctx.extra.socket);
        if (state?.publicOperations?.delete(id) && state.publicOperations.size === 0 && !state.authenticated) startGrace(ctx.extra.socket, state);
      },
    },
    wsServer,
  );

  async function prepareOperation(ctx: any, id: string, params: any, requestId: string, span: SpanHandle | null): Promise<any> {
    // graphql-ws has already counted this operation among the socket's open ones.
    if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerSocket) {
      return [
        new GraphQLError(`At most ${config.wsMaxSubscriptionsPerSocket} operations may be open on one socket: complete one first, or open another socket.`, {
          extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
        }),
      ];
    }
    const { schema: enveloped, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params,
      connectionParams: ctx.connectionParams,
      upgradeHeaders: ctx.extra.request.headers,
    });
    let document;
    try {
      document = parse(params.query);
    } catch (err) {
      return [err as any];
    }
    const errors = validate(enveloped, document);
    if (errors.length > 0) return errors;
    // A chat operation named by key or id (the anonymous widget's): the channel must allow the page's origin.
    const origin = foreignOrigin(ctx.extra.request.headers);
    if (origin) {
      const channels = await chatChannelsOf(db, { query: document, variables: params.variables, operationName: params.operationName, principal: ANONYMOUS });
      if (channels && !originAllowedFor(channels, origin)) {
        return [new GraphQLError("Forbidden: this page's origin may not use this live chat channel (allowedOrigins).", { extensions: { code: 'FORBIDDEN' } })];
      }
    }
    const state = states.get(ctx.extra.socket);
    if (state && !state.authenticated && isPublicSubscription(enveloped, document, params.operationName)) {
      (state.publicOperations ??= new Set()).add(id);
      stopGrace(state);
    }
    let contextValue;
    try {
      contextValue = await contextFactory();
    } catch (err) {
      // A token refused since the socket opened (UNAUTHENTICATED): an error for this operation.
      if (err instanceof GraphQLError) return [new GraphQLError(err.message, { extensions: { ...err.extensions, http: undefined } })];
      throw err;
    }
    if (span) (contextValue as Record<symbol, unknown>)[OPERATION_SPAN] = span;
    const operationName = getOperationAST(document, params.operationName)?.name?.value.slice(0, 100) ?? null;
    const rootValue: OperationRoot = { execute, subscribe, requestId, span, operationName };
    return {
      schema: enveloped,
      operationName: params.operationName,
      document,
      variableValues: params.variables,
      contextValue,
      rootValue,
    };
  }

  return {
    async close() {
      clearInterval(keepalive);
      for (const client of wsServer.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
    },
  };
}

/**
 * The Origin of a page of another site, which the chat channel must allow; null without one and
 * for Intake's own pages (the direct-link chat, /chat/KEY), served from this very host.
 */
function foreignOrigin(headers: http.IncomingHttpHeaders): string | null {
  const origin = headers.origin;
  if (!origin) return null;
  try {
    return new URL(origin).host === headers.host ? null : origin;
  } catch {
    return origin;
  }
}

import cluster from 'node:cluster';
import { sql } from 'drizzle-orm';
import { composeModules, type AppModule, type ModuleSet } from './app-module.js';
import { Authenticator, countApiTokens, createApiToken } from './auth/service.js';
import type { Config } from './config.js';
import { inTransaction, openDatabase, type Database } from './db/client.js';
import { ADVISORY_LOCKS } from './db/locks.js';
import { migrateDatabase } from './db/migrate.js';
import { EventHub } from './events/hub.js';
import { apiEndpoint } from './http/api.js';
import type { AppServices } from './http/router.js';
import { listenHttp, serveRoutes, type HttpServer } from './http/server.js';
import { startJobs } from './jobs.js';
import { createLogger, type Logger } from './log.js';
import { INTAKE_MODULES } from './modules.js';
import { createAppMetrics, sqlStateClassOf, withMetrics, type AppMetrics } from './observability/metrics.js';
import { answerClusterScrapes, registryFigures, serveMetrics, type MetricsListener } from './observability/metrics-server.js';
import { Readiness } from './observability/readiness.js';
import { startTracing, type Tracing } from './observability/tracing.js';
import { startSmtpServer, type SmtpListener } from './smtp/server.js';
import { countTeams, createTeam } from './teams/service.js';
import { setWebsiteFormPublished } from './webform/service.js';

export interface App {
  config: Config;
  /** Base of the links this app hands out: PUBLIC_URL, or http://localhost:<port it listens on>. */
  publicUrl: string;
  /** Its database; `database.db` carries the modules' write hooks (see ModuleSet.bind). */
  database: Database;
  modules: ModuleSet;
  events: EventHub;
  log: Logger;
  /** OpenTelemetry traces, null unless OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing: Tracing | null;
  http: HttpServer;
  smtp: SmtpListener;
  /** Its figures when METRICS_PORT is set, else null. */
  metrics: AppMetrics | null;
  /** Where its /metrics listener answers (null: metrics off, or a worker whose primary serves them). */
  metricsUrl: string | null;
  readiness: Readiness;
  /** Stops accepting work, ends open streams and closes the database. */
  stop(): Promise<void>;
}

/** PUBLIC_URL, or, without one, the local address of the port the server got. */
export function publicUrlOf(config: Pick<Config, 'publicUrl'>, listeningUrl: string): string {
  return config.publicUrl || `http://localhost:${new URL(listeningUrl).port}`;
}

/**
 * Wires one server instance from its modules (every capability unless told otherwise): database,
 * migrations, event hub with the modules' event types, HTTP router with their routes, graphql-ws,
 * SMTP, and their background jobs. Nothing is registered anywhere else: two apps in one process
 * may run different modules side by side.
 */
export async function startApp(
  config: Config,
  options: { log?: Logger; now?: () => Date; modules?: readonly AppModule[] } = {},
): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const modules = composeModules(options.modules ?? INTAKE_MODULES);
  // Before the database: its statements are spans when tracing is on.
  const tracing = await startTracing(config, log);
  const opened = await openDatabase(config, { tracing });
  // Figures are kept only when they are served: without METRICS_PORT every count is a no-op.
  const metrics = config.metrics.port === null ? null : await createAppMetrics(config.metrics.maxOperations);
  const bound = modules.bind(opened.db);
  const database: Database = { ...opened, db: metrics ? withMetrics(bound, metrics) : bound };
  let stopModules: (() => Promise<void>) | null = null;
  let metricsListener: MetricsListener | null = null;
  try {
    if (opened.opened?.how === 'template') log.info('embedded database created from the migrated template', { dataDir: config.dataDir, template: opened.opened.template });
    if (opened.opened?.how === 'fresh') log.warn('embedded database initialised without the template (slower)', { dataDir: config.dataDir, err: opened.opened.templateError });
    if (opened.opened?.how === 'template') log.info('embedded database created from the migrated template', { dataDir: config.dataDir, template: opened.opened.template });
    if (opened.opened?.how === 'fresh') log.warn('embedded database initialised without the template (slower)', { dataDir: config.dataDir, err: opened.opened.templateError });
    if (await migrateDatabase(opened, config.databaseUrl)) log.info('database migrated');
    if (metrics) instrumentDatabase(metrics, database);
    const events = new EventHub(database, log);
    events.register(...modules.events);
    stopModules = await modules.start({ config, database, events, log, tracing });
    await events.start();
    // With several workers the primary serves everyone's figures; a worker answers its requests.
    if (metrics && config.workers > 1 && cluster.isWorker) await answerClusterScrapes(metrics.registry);
    else if (metrics) metricsListener = await serveMetrics(config.metrics.host, config.metrics.port!, registryFigures(metrics.registry), log);
    const auth = new Authenticator(database.db, config.adminToken, {
      scopeLookups: modules.scopeLookups(database.db),
      cacheMs: config.tokenCacheMs,
      usageFlushMs: config.tokenUsageFlushMs,
      visitorTokenDays: config.liveChat.visitorTokenDays,
      onError: (err) => log.error('recording token use failed', { err }),
    });
    const listener = await listenHttp(config.host, config.port, { headersMs: config.httpHeadersTimeoutMs, requestMs: config.httpRequestTimeoutMs });
    const publicUrl = publicUrlOf(config, listener.url);
    const services: AppServices = { db: database.db, config, events, auth, log, publicUrl };
    const readiness = new Readiness({ database, events, config, checks: modules.readinessChecks });
    const api = apiEndpoint(services, database, readiness, tracing);
    const http = serveRoutes(listener, { routes: [...api.routes, ...modules.routes], services, log, maxBodyBytes: config.maxBodyBytes, attach: api.attach, tracing });
    const smtp = await startSmtpServer({ config, database, log, publicUrl, tracing });
    const jobs = startJobs(modules.jobs, { db: database.db, config, events, log, now: options.now ?? (() => new Date()), tracing });
    readiness.jobs = jobs;
    let stopping: Promise<void> | null = null;
    return {
      config,
      publicUrl,
      database,
      modules,
      events,
      log,
      tracing,
      http,
      smtp,
      metrics,
      metricsUrl: metricsListener?.url ?? null,
      readiness,
      stop: () =>
        (stopping ??= (async () => {
          await Promise.all([http.close(), smtp.close(), jobs.stop(), metricsListener?.close()]);
          await stopModules?.();
          await auth.close();
          await events.stop();
          await database.close();
          await tracing?.shutdown();
        })()),
    };
  } catch (err) {
    await metricsListener?.close();
    await stopModules?.();
    await database.close();
    await tracing?.shutdown();
    throw err;
  }
}

/** Pool figures read at scrape time, and the statements the database refused, by SQLSTATE class. */
function instrumentDatabase(metrics: AppMetrics, database: Database) {
  const { pool } = database;
  metrics.gaugeFromValue('db_pool_connections_max', 'Connections the pool may open (PGlite: its one).', () => pool?.max ?? 1);
  metrics.gaugeFromValue('db_pool_connections_in_use', 'Connections busy with a statement or a transaction (PostgreSQL).', () => (pool ? Math.min(pool.inFlight(), pool.max) : null));
  metrics.gaugeFromValue('db_pool_waiting', 'Statements and transactions waiting for a free connection (PostgreSQL).', () => (pool ? Math.max(0, pool.inFlight() - pool.max) : null));
  pool?.watchErrors((err) => metrics.statementErrors.inc({ class: sqlStateClassOf(err) }));
}

export interface FirstStart {
  team: { name: string; address: string | null } | null;
  adminToken: string | null;
}

/**
 * Makes an empty installation demo-ready: a "Customer Care" team with every channel on (its mail
 * alias, and its website form published) and acknowledgements of new tickets on, and an admin token when none exists and none is
 * configured (returned so it can be printed once). It acts only on an installation without teams,
 * so a later start leaves whatever the admin changed as it is.
 */
export async function prepareFirstStart(app: Pick<App, 'database' | 'config'>): Promise<FirstStart> {
  const { db } = app.database;
  const result: FirstStart = { team: null, adminToken: null };
  const team =
    (await countTeams(db)) > 0
      ? null
      : await inTransaction(db, async (tx) => {
          // Instances starting together on one empty database: one makes the demo, the others find it made.
          await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCKS.firstStart})`);
          if ((await countTeams(tx)) > 0) return null;
          // Every channel on: live chat's team-write hook (on the bound handle) opens its channel.
          const created = await createTeam(tx, app.config, { name: 'Customer Care', useEmailAlias: true, useWebsiteForm: true, useLiveChat: true, acknowledgeNewTickets: true });
          await setWebsiteFormPublished(tx, { teamId: created.id, published: true });
          return created;
        });
  if (team) result.team = { name: team.name, address: team.aliasLocalPart ? `${team.aliasLocalPart}@${team.aliasDomain}` : null };
  if (!app.config.adminToken && (await countApiTokens(db)) === 0) {
    result.adminToken = (await createApiToken(db, { name: 'admin', role: 'ADMIN' })).token;
  }
  return result;
}

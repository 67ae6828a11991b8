import { Authenticator, countApiTokens, createApiToken } from './auth/service.js';
import { sql } from 'drizzle-orm';
import type { Config } from './config.js';
import { inTransaction, openDatabase, type Database } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import { EventHub } from './events/hub.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { liveChatScopeLookups, registerLiveChatHooks, startLiveChat } from './livechat/module.js';
import { createLogger, type Logger } from './log.js';
import { registerSlaHooks, startBreachWatch } from './sla/service.js';
import { startSmtpServer, type SmtpListener } from './smtp/server.js';
import { countTeams, createTeam } from './teams/service.js';
import { ticketCreated, ticketUpdated } from './tickets/events.js';
import { setWebsiteFormPublished } from './webform/service.js';

export interface App {
  config: Config;
  database: Database;
  events: EventHub;
  log: Logger;
  http: HttpServer;
  smtp: SmtpListener;
  /** Stops accepting work, ends open streams and closes the database. */
  stop(): Promise<void>;
}

/** Wires one server instance: database, migrations, event hub, HTTP + WebSocket, SMTP. */
export async function startApp(config: Config, options: { log?: Logger; now?: () => Date } = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  registerSlaHooks();
  registerLiveChatHooks();
  const database = await openDatabase(config);
  try {
    await migrateDatabase(database, config.databaseUrl);
    const events = new EventHub(database, log);
    events.register(ticketCreated, ticketUpdated);
    const stopLiveChat = await startLiveChat({ config, database, events, log });
    await events.start();
    const auth = new Authenticator(database.db, config.adminToken, {
      scopeLookups: liveChatScopeLookups(database.db),
      cacheMs: config.tokenCacheMs,
      usageFlushMs: config.tokenUsageFlushMs,
      onError: (err) => log.error('recording token use failed', { err }),
    });
    const http = await startHttpServer({ config, database, events, auth, log });
    if (!config.publicUrl) config.publicUrl = `http://localhost:${new URL(http.url).port}`;
    const smtp = await startSmtpServer({ config, database, log });
    const stopBreachWatch = startBreachWatch(database.db, config.slaWatchIntervalMs, (err) => log.error('SLA breach watch failed', { err }), options.now);
    let stopping: Promise<void> | null = null;
    return {
      config,
      database,
      events,
      log,
      http,
      smtp,
      stop: () =>
        (stopping ??= (async () => {
          await Promise.all([http.close(), smtp.close(), stopBreachWatch()]);
          await stopLiveChat();
          await auth.close();
          await events.stop();
          await database.close();
        })()),
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

// Any constant will do; it only has to be the same in every instance (migrations and the SLA watch use others).
const FIRST_START_LOCK_KEY = 7_041_972_003;

export interface FirstStart {
  team: { name: string; address: string | null } | null;
  adminToken: string | null;
}

/**
 * Makes an empty installation demo-ready: a "Customer Care" team with every channel on (its mail
 * alias, and its website form published), and an admin token when none exists and none is
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
          await tx.execute(sql`select pg_advisory_xact_lock(${FIRST_START_LOCK_KEY})`);
          if ((await countTeams(tx)) > 0) return null;
          const created = await createTeam(tx, app.config, { name: 'Customer Care', useEmailAlias: true, useWebsiteForm: true });
          await setWebsiteFormPublished(tx, { teamId: created.id, published: true });
          // Live chat (next issue): switch the demo team's chat channel on here, in this transaction.
          return created;
        });
  if (team) result.team = { name: team.name, address: team.aliasLocalPart ? `${team.aliasLocalPart}@${team.aliasDomain}` : null };
  if (!app.config.adminToken && (await countApiTokens(db)) === 0) {
    result.adminToken = (await createApiToken(db, { name: 'admin', role: 'ADMIN' })).token;
  }
  return result;
}

import { Authenticator, countApiTokens, createApiToken } from './auth/service.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import { EventHub } from './events/hub.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { registerLiveChatHooks, startLiveChat } from './livechat/module.js';
import { createLogger, type Logger } from './log.js';
import { registerSlaHooks, startBreachWatch } from './sla/service.js';
import { startSmtpServer, type SmtpListener } from './smtp/server.js';
import { countTeams, createTeam } from './teams/service.js';
import { findListedTicket, TICKET_CREATED, TICKET_UPDATED } from './tickets/service.js';

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
export async function startApp(config: Config, options: { log?: Logger } = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  registerSlaHooks();
  registerLiveChatHooks();
  const database = await openDatabase(config);
  try {
    await migrateDatabase(database, config.databaseUrl);
    const events = new EventHub(database, log);
    // One read per event per instance, stage and customer included, shared by every subscriber.
    events.register(TICKET_CREATED, (id) => findListedTicket(database.db, id));
    events.register(TICKET_UPDATED, (id) => findListedTicket(database.db, id));
    const stopLiveChat = startLiveChat({ config, database, events, log });
    await events.start();
    const auth = new Authenticator(database.db, config.adminToken);
    const http = await startHttpServer({ config, database, events, auth, log });
    if (!config.publicUrl) config.publicUrl = `http://localhost:${new URL(http.url).port}`;
    const smtp = await startSmtpServer({ config, database, log });
    const stopBreachWatch = startBreachWatch(database.db, config.slaWatchIntervalMs, (err) => log.error('SLA breach watch failed', { err }));
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
          await events.stop();
          await database.close();
        })()),
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

export interface FirstStart {
  team: { name: string; address: string | null } | null;
  adminToken: string | null;
}

/**
 * Makes an empty installation demo-ready: a "Customer Care" team, and an admin token when
 * none exists and none is configured (returned so it can be printed once).
 */
export async function prepareFirstStart(app: Pick<App, 'database' | 'config'>): Promise<FirstStart> {
  const { db } = app.database;
  const result: FirstStart = { team: null, adminToken: null };
  if ((await countTeams(db)) === 0) {
    const team = await createTeam(db, app.config, { name: 'Customer Care' });
    result.team = { name: team.name, address: team.aliasLocalPart ? `${team.aliasLocalPart}@${team.aliasDomain}` : null };
  }
  if (!app.config.adminToken && (await countApiTokens(db)) === 0) {
    result.adminToken = (await createApiToken(db, { name: 'admin', role: 'ADMIN' })).token;
  }
  return result;
}

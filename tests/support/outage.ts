import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openPostgres, type Database } from '../../src/db/client.js';
import type { Logger } from '../../src/log.js';
import { createPostgresDatabase, realPostgresUrl, type TestDatabase } from './databases.js';
import { ADMIN_TOKEN } from './server.js';

/**
 * An app on its own PostgreSQL database, with what an outage test needs beside it: an admin
 * connection (from another database, so it can refuse and terminate the app's connections) and a
 * writer connection opened beforehand, through which commits still go during the outage.
 */
export interface OutageHarness {
  database: TestDatabase;
  app: App;
  admin: postgres.Sql;
  writer: Database;
  /** The database's name, for pg_stat_activity and ALTER DATABASE. */
  name: string;
  stop(): Promise<void>;
}

export async function startOutageHarness(options: { log?: Logger } = {}): Promise<OutageHarness> {
  const database = await createPostgresDatabase(realPostgresUrl);
  const name = new URL(database.env.DATABASE_URL!).pathname.slice(1);
  const config = loadConfig({ ...database.env, PORT: '0', HOST: '127.0.0.1', SMTP_PORT: '0', INTAKE_ADMIN_TOKEN: ADMIN_TOKEN, MAIL_DOMAIN: 'intake.test', LOG_LEVEL: 'silent' });
  const app = await startApp(config, { log: options.log });
  const admin = postgres(realPostgresUrl, { max: 1, onnotice: () => {} });
  const writer = openPostgres(database.env.DATABASE_URL!, { max: 1 });
  await writer.rows(sql`select 1`);
  return {
    database,
    app,
    admin,
    writer,
    name,
    async stop() {
      await admin.unsafe(`alter database "${name}" allow_connections true`);
      await writer.close();
      await app.stop();
      await admin.end({ timeout: 1 });
      await database.drop();
    },
  };
}

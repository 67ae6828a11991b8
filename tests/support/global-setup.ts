import { mkdirSync } from 'node:fs';
import postgres from 'postgres';
import { openPostgres } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { ensurePgliteTemplate } from '../../src/db/pglite-template.js';
import { postgresReachable, realPostgresUrl, suitePostgresUrl, TEMPLATE_DB, TEST_DB_PREFIX, tmpRoot, withDatabase } from './databases.js';

/** Builds the migrated templates every test database is cloned from. */
export default async function setup() {
  mkdirSync(tmpRoot, { recursive: true });
  // The template npm start copies on a first start, made here once per PGlite version and set of
  // migrations (a fresh clone makes it on its first run): every embedded test database copies it.
  if (!suitePostgresUrl) await ensurePgliteTemplate();
  // The PostgreSQL template serves the PostgreSQL suite and the multi-instance tests of both suites.
  const withPostgres = suitePostgresUrl !== undefined || (await postgresReachable());
  if (!withPostgres && process.env.CI) throw new Error(`CI runs every test: no PostgreSQL answers at ${realPostgresUrl}`);
  if (withPostgres) {
    const adminUrl = suitePostgresUrl ?? realPostgresUrl;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const stale = await admin`select datname from pg_database where datname like ${TEST_DB_PREFIX + '\\_%'}`;
      for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
      await admin.unsafe(`create database "${TEMPLATE_DB}"`);
    } finally {
      await admin.end({ timeout: 1 });
    }
    const templateUrl = withDatabase(adminUrl, TEMPLATE_DB);
    const database = openPostgres(templateUrl, { max: 1 });
    await migrateDatabase(database, templateUrl);
    await database.close();
  }
}

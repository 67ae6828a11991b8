import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, queryRows, type Database } from '../../src/db/client.js';
import { teams } from '../../src/teams/tables.js';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';

const available = await postgresForTests('PostgreSQL statement tests');

describe.runIf(available)('statements on PostgreSQL', () => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createPostgresDatabase();
    // One connection, so the session whose prepared statements we read is the one that ran the query.
    database = openPostgres(testDatabase.env.DATABASE_URL!, { max: 1 });
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  const prepared = (db: Parameters<typeof queryRows>[0]) =>
    queryRows<{ statement: string }>(db, sql`select statement from pg_prepared_statements`).then((rows) => rows.map((r) => r.statement));

  it('run as named prepared statements, inside transactions too', async () => {
    await database.db.select().from(teams).where(eq(teams.id, -1));
    expect((await prepared(database.db)).some((s) => s.includes('from "teams" where "teams"."id" = $1'))).toBe(true);

    await database.db.transaction(async (tx) => {
      await tx.select({ name: teams.name }).from(teams).where(eq(teams.name, 'nobody'));
      expect((await prepared(tx)).some((s) => s.startsWith('select "name" from "teams" where "teams"."name" = $1'))).toBe(true);
    });
  });
});

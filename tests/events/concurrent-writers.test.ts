import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { defineEvent, encodeCursor, EventHub, publishEvents, type EventEdge } from '../../src/events/hub.js';
import { createLogger } from '../../src/log.js';
import { createPostgresDatabase, postgresForTests, type TestDatabase } from '../support/databases.js';

// Two writers of one event type in open transactions at once need a real PostgreSQL.
const available = await postgresForTests('concurrent event writer tests');

const type = defineEvent({ name: 'test.concurrent', load: async (_db, ids: number[]) => new Map(ids.map((id) => [id, id])) });

/** The next `n` events of a subscription. */
async function take(events: AsyncIterator<EventEdge<number>>, n: number): Promise<EventEdge<number>[]> {
  const got: EventEdge<number>[] = [];
  while (got.length < n) got.push((await events.next()).value);
  return got;
}

describe.runIf(available)('writers of one event type', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let hub: EventHub;

  beforeAll(async () => {
    testDatabase = await createPostgresDatabase();
    database = openPostgres(testDatabase.env.DATABASE_URL!, { max: 4 });
    await migrateDatabase(database, testDatabase.env.DATABASE_URL);
    hub = new EventHub(database, createLogger('silent'));
    hub.register(type);
    await hub.start();
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    await database?.close();
    await testDatabase?.drop();
  });

  it('commit side by side: one still open does not hold up another, and both are delivered once, numbered after commit', async () => {
    const live = (await hub.subscribe(type))[Symbol.asyncIterator]();
    const resuming = (await hub.subscribe(type, { after: encodeCursor(type.name, 0) }))[Symbol.asyncIterator]();
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstPublished!: () => void;
    const published = new Promise<void>((resolve) => (firstPublished = resolve));
    const first = database.db.transaction(async (tx) => {
      await publishEvents(tx, type, new Map([[1, null]]));
      firstPublished();
      await firstMayCommit;
    });
    await published;
    // The second writer commits while the first is still open: no lock of the type stands between them.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local lock_timeout = '2s'`);
      await publishEvents(tx, type, new Map([[2, null]]));
    });
    expect((await take(live, 1)).map((e) => e.node)).toEqual([2]);
    releaseFirst();
    await first;
    const delivered = await take(live, 1);
    expect(delivered.map((e) => e.node)).toEqual([1]);
    // Numbered in the order they committed, with no gap: a subscriber resuming from the start sees the same.
    const replayed = await take(resuming, 2);
    expect(replayed.map((e) => [e.node, e.cursor])).toEqual([
      [2, encodeCursor(type.name, 1)],
      [1, encodeCursor(type.name, 2)],
    ]);
    expect(delivered[0]!.cursor).toBe(encodeCursor(type.name, 2));
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { defineEvent, EventHub, publishEvent, type EventEdge } from '../../src/events/hub.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

let testDatabase: TestDatabase;
let database: Database;
let hub: EventHub;

// A loader that answers only when the test opens its gate.
const { promise: gate, resolve: openGate } = Promise.withResolvers<void>();
const slowType = defineEvent({
  name: 'test.slow',
  load: async (_db, ids: number[]) => {
    await gate;
    return new Map(ids.map((id) => [id, { slow: id }]));
  },
});
const fastType = defineEvent({ name: 'test.fast', load: async (_db, ids: number[]) => new Map(ids.map((id) => [id, { fast: id }])) });

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  database = await openDatabase({ databaseUrl: testDatabase.env.DATABASE_URL, dataDir: testDatabase.env.INTAKE_DATA_DIR });
  await migrateDatabase(database, testDatabase.env.DATABASE_URL);
  hub = new EventHub(database, createLogger('silent'));
  hub.register(slowType, fastType);
  await hub.start();
});
afterAll(async () => {
  openGate();
  await hub?.stop();
  await database?.close();
  await testDatabase?.drop();
});

/** The next value of a subscription, with the types the event type's loader gave it. */
async function next<T>(events: AsyncIterator<EventEdge<T>>) {
  const { value } = await events.next();
  return value.node;
}

it("delivers one type's events while another type's loader is still busy", async () => {
  const slow = (await hub.subscribe(slowType))[Symbol.asyncIterator]();
  const fast = (await hub.subscribe(fastType))[Symbol.asyncIterator]();
  // Asking for the first value starts a live subscription, and it registers at once.
  const slowNext = next(slow);
  const fastNext = next(fast);
  await publishEvent(database.db, slowType, 1, null);
  await publishEvent(database.db, fastType, 2, null);
  const first = await Promise.race([fastNext, slowNext.then(() => 'slow came first')]);
  expect(first).toEqual({ fast: 2 });
  openGate();
  // Typed by the loader: no cast needed to read `slow`.
  expect((await slowNext).slow).toBe(1);
  await slow.return?.();
  await fast.return?.();
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { defineEvent, EventHub, publishEvent, publishEvents, type EventEdge } from '../../src/events/hub.js';
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

it('a subscriber that stops reading loses its own stream, never the others their events', async () => {
  const stalled = (await hub.subscribe(fastType))[Symbol.asyncIterator]();
  const reading = (await hub.subscribe(fastType))[Symbol.asyncIterator]();
  // The first value asked for registers each; the stalled one then never asks again.
  const stalledFirst = stalled.next();
  const received: number[] = [];
  const count = 1100; // past the 1,024 pushes a stream may hold unread
  const readAll = (async () => {
    while (received.length < count) received.push(((await reading.next()).value as EventEdge<{ fast: number }>).node.fast);
  })();
  await publishEvents(database.db, fastType, new Map(Array.from({ length: count }, (_, i) => [i + 1, null])));
  await readAll;
  expect(received).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  await stalledFirst;
  const ending = await (async () => {
    for (;;) await stalled.next();
  })().catch((err) => err);
  expect(ending.extensions.code).toBe('SUBSCRIBER_TOO_SLOW');
  await reading.return?.();
});

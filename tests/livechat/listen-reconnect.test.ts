import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresForTests, realPostgresUrl, type TestDatabase } from '../support/databases.js';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { addOperators, close, createChatTeam, createOperator, goOnline, send, startChat, type Operator } from './support.js';

// Terminating the LISTEN connection needs a real PostgreSQL. CI always has one.
const available = await postgresForTests('live chat LISTEN reconnect tests');

describe.runIf(available)('live chat across a lost LISTEN connection', () => {
  let database: TestDatabase;
  let server: TestServer;
  let admin: postgres.Sql;
  let name: string;
  let channelId: string;
  let ann: Operator;
  let online: Awaited<ReturnType<typeof goOnline>>;

  beforeAll(async () => {
    database = await createPostgresDatabase(realPostgresUrl);
    name = new URL(database.env.DATABASE_URL!).pathname.slice(1);
    server = await startTestServer({ DATABASE_URL: database.env.DATABASE_URL! });
    admin = postgres(realPostgresUrl, { max: 1, onnotice: () => {} });
    ({ channelId } = await createChatTeam(server, 'Reconnect Chat'));
    ann = await createOperator(server, 'Relisten Ann');
    await addOperators(server, channelId, [ann]);
    online = await goOnline(server, channelId, ann);
  }, 60_000);

  afterAll(async () => {
    online?.feed.dispose();
    await server?.stop();
    await admin?.end({ timeout: 1 });
    await database?.drop();
  });

  /** Terminates the instance's LISTEN connections every few ms while `during` runs, and a while after; how many it ended. */
  async function whileListenerFlaps(during: () => Promise<void>): Promise<number> {
    let terminated = 0;
    let done = false;
    const flapping = (async () => {
      const until = Date.now() + 2000;
      while (!done || Date.now() < until) {
        const rows = await admin`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = ${name} and application_name = 'intake-listen'`;
        terminated += rows.filter((r) => r.ok).length;
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await during();
    done = true;
    await flapping;
    return terminated;
  }

  it('a message and a close committed meanwhile reach the streams, with nothing sent after', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Flap' });
    const sessionId = chat.session.id;
    const subscribed = server.app.events.activeSubscriptions();
    const messages = subscribe(server.wsClient(chat.visitorToken), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { cursor node { body } } }`, { id: sessionId });
    const changes = subscribe(server.wsClient(chat.visitorToken), `subscription ($id: ID) { liveChatSessionChanged(sessionId: $id) { id status } }`, { id: sessionId });
    await messages.waitFor(1);
    await waitFor(() => server.app.events.activeSubscriptions() >= subscribed + 2, { what: 'both streams registered' });
    const terminated = await whileListenerFlaps(async () => {
      expect((await send(server, ann.token, { sessionId, body: 'sent while the listener was down' })).userErrors).toEqual([]);
      expect((await close(server, ann.token, sessionId)).userErrors).toEqual([]);
    });
    expect(terminated).toBeGreaterThan(0);
    const bodies = (await messages.waitFor(3)).map((e) => e.chatMessageAdded.node.body);
    expect(bodies).toEqual(['How may I help you?', 'sent while the listener was down', 'Relisten Ann closed the conversation.']);
    // The change stream may have seen the session as it was in between; it ends knowing it closed.
    await changes.waitFor(1);
    const until = Date.now() + 10_000;
    while (changes.events.at(-1)?.liveChatSessionChanged.status !== 'CLOSED' && Date.now() < until) await changes.waitFor(changes.events.length + 1, until - Date.now()).catch(() => {});
    expect(changes.events.at(-1)?.liveChatSessionChanged).toEqual({ id: sessionId, status: 'CLOSED' });
    messages.dispose();
    changes.dispose();
  });

  it('one message committed meanwhile reaches the visitor with nothing at all after it (no later seq to reveal the gap)', async () => {
    const chat = await startChat(server, { channelId, visitorName: 'Flap alone' });
    const sessionId = chat.session.id;
    const subscribed = server.app.events.activeSubscriptions();
    const messages = subscribe(server.wsClient(chat.visitorToken), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { cursor node { body } } }`, { id: sessionId });
    await messages.waitFor(1);
    await waitFor(() => server.app.events.activeSubscriptions() >= subscribed + 1, { what: 'the stream registered' });
    const terminated = await whileListenerFlaps(async () => {
      expect((await send(server, ann.token, { sessionId, body: 'the only one' })).userErrors).toEqual([]);
    });
    expect(terminated).toBeGreaterThan(0);
    expect((await messages.waitFor(2)).map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'the only one']);
    messages.dispose();
  });
});

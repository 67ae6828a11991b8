import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, SESSION_FIELDS, send, startChat, USER_ERRORS, waitUntil } from './support.js';

let server: TestServer;
beforeAll(async () => {
  // Fractions of minutes: idle after 2.4 s, empty sessions removed after 6 s; visitors' and
  // operators' presence refreshed every 200 ms.
  server = await startTestServer({
    LIVECHAT_IDLE_CLOSE_MINUTES: '0.04',
    LIVECHAT_EMPTY_SESSION_MINUTES: '0.1',
    LIVECHAT_SWEEP_INTERVAL_MS: '200',
    LIVECHAT_PRESENCE_HEARTBEAT_MS: '200',
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('idle close and empty-session clean-up', () => {
  it('closes idle sessions with a system message, and removes sessions in which the visitor never wrote', async () => {
    const { channelId } = await createChatTeam(server, 'Sweep Team');
    const ann = await createOperator(server, 'Sweep Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const talked = await startChat(server, { channelId, visitorName: 'Talker' });
    const silent = await startChat(server, { channelId, visitorName: 'Silent' });
    await send(server, talked.visitorToken, { sessionId: talked.session.id, body: 'hello' });

    const status = (token: string, id: string) => request(server, token, `query ($id: ID!) { liveChatSession(id: $id) { status } }`, { id }).then((r) => r.liveChatSession?.status ?? null);
    await waitUntil(() => status(ann.token, talked.session.id), (s) => s === 'CLOSED');
    expect((await bodies(server, talked.visitorToken, talked.session.id)).at(-1)).toBe('The conversation was closed after a period of inactivity.');
    await waitUntil(() => status(ann.token, silent.session.id), (s) => s === null);
    // The session that had a conversation is kept.
    expect(await status(ann.token, talked.session.id)).toBe('CLOSED');
    online.feed.dispose();
  });
});

const statusOf = (id: string) => request(server, undefined as any, `query ($id: ID!) { liveChatSession(id: $id) { status } }`, { id }).then((r) => (r.liveChatSession?.status as string | undefined) ?? null);

describe('waiting is our delay, not the visitor\'s', () => {
  it('a waiting visitor with its chat open is not idle-closed; once gone for the idle period it is; an open stream alone does not save an empty session', async () => {
    const { channelId } = await createChatTeam(server, 'Waiting Team');
    const ann = await createOperator(server, 'Waiting Ann');
    await addOperators(server, channelId, [ann]);
    await request(server, undefined as any, `mutation ($input: UpdateLiveChatChannelInput!) { updateLiveChatChannel(input: $input) { ${USER_ERRORS} } }`, { input: { channelId, maxSessionsPerOperator: 1 } });
    const online = await goOnline(server, channelId, ann);
    const busy = await startChat(server, { channelId, visitorName: 'Busy' });
    const [reading, watching, gone] = [await startChat(server, { channelId, visitorName: 'Reading' }), await startChat(server, { channelId, visitorName: 'Watching' }), await startChat(server, { channelId, visitorName: 'Gone' })];
    expect([busy, reading, watching, gone].map((c) => c.session.status)).toEqual(['OPEN', 'WAITING', 'WAITING', 'WAITING']);
    // Ann stops taking chats: when her session closes, nobody serves the line.
    await request(server, ann.token, `mutation { setOperatorStatus(input: { accepting: false }) { ${USER_ERRORS} } }`);
    // Reading wrote (so its session is not empty) and follows its messages; Watching never
    // wrote and follows its session; Gone has nothing open.
    await send(server, reading.visitorToken, { sessionId: reading.session.id, body: 'Anyone there?' });
    const readingStream = subscribe(server.wsClient(reading.visitorToken), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { node { body } } }`, { id: reading.session.id });
    await readingStream.waitFor(1);
    const watchingStream = subscribe(server.wsClient(watching.visitorToken), `subscription ($id: ID) { liveChatSessionChanged(sessionId: $id) { ${SESSION_FIELDS} } }`, { id: watching.session.id });
    const watchingMessages = subscribe(server.wsClient(watching.visitorToken), `subscription ($id: ID!) { chatMessageAdded(sessionId: $id) { node { body } } }`, { id: watching.session.id });

    await waitUntil(() => statusOf(gone.session.id), (s) => s === 'CLOSED');
    expect((await bodies(server, gone.visitorToken, gone.session.id)).at(-1)).toBe('The conversation was closed after a period of inactivity.');
    // Watching's session is empty: removed after the empty period although its streams are
    // open, and the removal ends them.
    await waitUntil(() => statusOf(watching.session.id), (s) => s === null);
    await waitUntil(
      async () => [watchingStream.completed, watchingMessages.completed],
      (done) => done.every(Boolean),
    );
    // Operators saw it leave their list before it went.
    expect(online.feed.events.map((e: any) => e.liveChatSessionChanged).filter((s: any) => s.id === watching.session.id).at(-1)).toMatchObject({ status: 'CLOSED' });
    // By now Reading's last message is older than the idle period, and its chat is still open.
    expect(await statusOf(reading.session.id)).toBe('WAITING');
    readingStream.dispose();
    await waitUntil(() => statusOf(reading.session.id), (s) => s === 'CLOSED');
    expect((await bodies(server, reading.visitorToken, reading.session.id)).at(-1)).toBe('The conversation was closed after a period of inactivity.');
    online.feed.dispose();
  });

  it('spares a session in which anyone wrote within the empty period', async () => {
    const { channelId } = await createChatTeam(server, 'Spare Team');
    const bob = await createOperator(server, 'Spare Bob');
    await addOperators(server, channelId, [bob]);
    const online = await goOnline(server, channelId, bob);
    const talkedTo = await startChat(server, { channelId, visitorName: 'Talked to' });
    const silent = await startChat(server, { channelId, visitorName: 'Silent' });
    // Bob keeps writing to one visitor (who never answers, about once a second: under the
    // rate limit) until the other session is removed.
    let lastSent = 0;
    await waitUntil(
      async () => {
        if (Date.now() - lastSent >= 1000) {
          lastSent = Date.now();
          const sent = await send(server, bob.token, { sessionId: talkedTo.session.id, body: 'Are you still there?' });
          expect(sent.userErrors).toEqual([]);
        }
        return statusOf(silent.session.id);
      },
      (s) => s === null,
      20_000,
    );
    expect(await statusOf(talkedTo.session.id)).toBe('OPEN');
    online.feed.dispose();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { addOperators, bodies, createChatTeam, createOperator, goOnline, request, send, startChat, waitUntil } from './support.js';

let server: TestServer;
beforeAll(async () => {
  // Fractions of minutes: idle after 2.4 s, empty sessions removed after 6 s.
  server = await startTestServer({ LIVECHAT_IDLE_CLOSE_MINUTES: '0.04', LIVECHAT_EMPTY_SESSION_MINUTES: '0.1', LIVECHAT_SWEEP_INTERVAL_MS: '200' });
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

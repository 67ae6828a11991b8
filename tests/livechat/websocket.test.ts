import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, subscribe, type TestServer } from '../support/server.js';
import { addOperators, createChatTeam, createOperator, goOnline, send, startChat } from './support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ WS_ANONYMOUS_GRACE_MS: '300' });
});
afterAll(async () => {
  await server?.stop();
});

describe('a visitor socket and the anonymous grace period', () => {
  it('keeps a socket holding a visitor token open past the grace that closes an anonymous one', async () => {
    const { channelId } = await createChatTeam(server, 'Socket Team');
    const ann = await createOperator(server, 'Socket Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId, visitorName: 'Lingering' });
    const sessionId = chat.session.id;
    const visitor = subscribe(server.wsClient(chat.visitorToken), `subscription ($sessionId: ID!) { chatMessageAdded(sessionId: $sessionId) { node { body } } }`, { sessionId });
    await visitor.waitFor(1);

    // Opened after the visitor's socket: once it is closed, the visitor's grace would have run out too.
    const anonymousClosed = new Promise<{ code: number }>((resolve) => {
      createClient({ url: server.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {}, on: { closed: (event: any) => resolve({ code: event.code }) } });
    });
    expect(await anonymousClosed).toEqual({ code: 4401 });

    await send(server, ann.token, { sessionId, body: 'Still there?' });
    expect((await visitor.waitFor(2)).map((e) => e.chatMessageAdded.node.body)).toEqual(['How may I help you?', 'Still there?']);
    visitor.dispose();
    online.feed.dispose();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, subscribe, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { waitFor } from '../support/wait.js';
import { addOperators, createChatTeam, createOperator, goOnline, startChat } from '../livechat/support.js';

const CREATED = 'subscription { ticketCreated { node { title } } }';
const MESSAGES = 'subscription ($s: ID!) { chatMessageAdded(sessionId: $s) { node { body } } }';

/**
 * SSE streams have the WebSocket's limits: per client address, per token, and no stream without
 * a token unless it is public. The server trusts 127.0.0.1 as a proxy, so each case picks its
 * client address with X-Forwarded-For.
 */
describe('SSE stream limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SSE_MAX_STREAMS_PER_CLIENT: '3', MAX_SUBSCRIPTIONS_PER_TOKEN: '4', TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const opened = () => server.app.events.activeSubscriptions();

  it('refuses a stream past the per-address cap with 429 and TOO_MANY_SUBSCRIPTIONS, and takes one again once a stream closed', async () => {
    const before = opened();
    const streams = [1, 2, 3].map(() => sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, CREATED, {}, from('203.0.113.10')));
    await waitFor(() => opened() === before + 3, { what: 'three streams' });
    const refused = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, CREATED, {}, from('203.0.113.10'));
    expect((await refused.response).status).toBe(429);
    await refused.ended;
    expect(refused.events).toEqual([{ errors: [expect.objectContaining({ message: expect.stringMatching(/At most 3 event streams/), extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })] }]);
    const other = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, CREATED, {}, from('203.0.113.11'));
    expect((await other.response).status).toBe(200);
    await waitFor(() => opened() === before + 4, { what: 'a stream from another address' });

    await streams[0]!.close();
    await waitFor(() => opened() === before + 3, { what: 'a closed stream released' });
    const again = sseSubscribe(server.graphqlUrl, ADMIN_TOKEN, CREATED, {}, from('203.0.113.10'));
    expect((await again.response).status).toBe(200);
    await Promise.all([...streams, other, again].map((s) => s.close()));
    await waitFor(() => opened() === before, { what: 'every stream closed' });
  });

  it('caps the subscriptions of one token, from any address and over both transports', async () => {
    const { channelId } = await createChatTeam(server, 'Stream Cap');
    const ann = await createOperator(server, 'Stream Ann');
    await addOperators(server, channelId, [ann]);
    const online = await goOnline(server, channelId, ann);
    const chat = await startChat(server, { channelId });
    const variables = { s: chat.session.id };
    const before = opened();
    const streams = [20, 21, 22, 23].map((n) => sseSubscribe(server.graphqlUrl, chat.visitorToken, MESSAGES, variables, from(`198.51.100.${n}`)));
    await waitFor(() => opened() === before + 4, { what: "four streams of the visitor's token" });
    const refused = sseSubscribe(server.graphqlUrl, chat.visitorToken, MESSAGES, variables, from('198.51.100.24'));
    expect((await refused.response).status).toBe(429);
    await refused.ended;
    expect(refused.events).toEqual([{ errors: [expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })] }]);
    const overSocket = subscribe(server.wsClient(chat.visitorToken), MESSAGES, variables);
    await expect(overSocket.waitFor(1)).rejects.toThrow(/TOO_MANY_SUBSCRIPTIONS/);
    await Promise.all(streams.map((s) => s.close()));
    await online.socket.dispose();
  });

  it('ends an SSE stream without a token at once unless it is public', async () => {
    const anonymous = sseSubscribe(server.graphqlUrl, null, CREATED, {}, from('203.0.113.30'));
    await anonymous.ended;
    expect(anonymous.events).toEqual([{ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })] }]);
  });
});
